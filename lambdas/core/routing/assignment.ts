/**
 * Which model version a user gets: a salted, stable hash of (experiment, user id) puts every user
 * in one of 10,000 buckets, and the flag document (flags.ts) says which buckets get the candidate.
 *
 * Why not the common `md5(userId) % 100`:
 * - 100 buckets give 1% steps; a first canary of 0.5% or a split of 12.25% needs finer ones.
 *   10,000 buckets give 0.01%, the flag's resolution. (64 hash bits mod 10,000: bias below 1e-15.)
 * - Without a salt every experiment orders users the same way: the same first 1% try every
 *   candidate, and the assignments of concurrent experiments are perfectly correlated, so one
 *   experiment's effect leaks into the other's comparison. The experiment name as salt makes them
 *   independent, and renaming the experiment reshuffles users on purpose.
 * - SHA-256 instead of MD5: same uniformity, and no scanner or FIPS policy objects to it. The salt
 *   is public; a secret key (HMAC) would only stop users steering their own variant, not a threat here.
 */
import { hash } from 'node:crypto';
import { EXPERIMENT_MAX_LENGTH, EXPERIMENT_PATTERN, type FlagDocument, type FlagEndpoint } from './flags';

/** Buckets of `assign`: one bucket is 0.01% of users, the finest step of `candidate.percent`. */
export const ASSIGNMENT_BUCKETS = 10_000;
/** Longest user id accepted, in UTF-16 code units (JavaScript string length). */
export const MAX_USER_ID_LENGTH = 256;
const MAX_BUCKETS = 2 ** 32;

export type Variant = 'stable' | 'candidate';
/**
 * Why the user got the variant: `kill-switch` (flag's killSwitch is on), `no-candidate` (candidate
 * is null), or `split` (the bucket decided, including at percent 0 and 100).
 */
export type AssignmentReason = 'kill-switch' | 'no-candidate' | 'split';

export interface Assignment {
  readonly variant: Variant;
  readonly modelVersion: string;
  /** Which endpoint serves that version: `live`, or `standby` after a rollback. */
  readonly endpoint: FlagEndpoint;
  /** The user's bucket, 0..9,999, reported even when the split did not decide. */
  readonly bucket: number;
  readonly reason: AssignmentReason;
}

/** Thrown for an unusable user id, experiment name or bucket count; says which and what is allowed. */
export class AssignmentError extends Error {
  override readonly name = 'AssignmentError';
}

/**
 * The user's bucket in `experiment`: the first 8 bytes of SHA-256(experiment + "\0" + userId)
 * as an unsigned big-endian integer, mod `buckets`. Stable across processes, releases and
 * platforms; changing this function reshuffles every user, so its outputs are pinned by tests.
 * Strings are hashed as UTF-8, where a lone surrogate becomes U+FFFD: ids that differ only there
 * share a bucket, which is harmless.
 */
export function bucketOf(experiment: string, userId: string, buckets: number = ASSIGNMENT_BUCKETS): number {
  checkExperiment(experiment);
  checkUserId(userId);
  if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
    throw new AssignmentError(
      `bucketOf: buckets must be a whole number from 1 to ${MAX_BUCKETS}, got ${String(buckets)}`,
    );
  }
  const digest = hash('sha256', `${experiment}\0${userId}`, 'buffer');
  return Number(digest.readBigUInt64BE(0) % BigInt(buckets));
}

/**
 * Assigns a user to the stable or candidate version of a parsed flag. The candidate gets the
 * buckets below percent × 100, so widening the percent only adds users: nobody already in the
 * candidate goes back to stable.
 */
export function assign(flag: FlagDocument, userId: string): Assignment {
  const bucket = bucketOf(flag.experiment, userId);
  const { stable, candidate } = flag;
  const stableAssignment = (reason: AssignmentReason): Assignment => ({
    variant: 'stable',
    modelVersion: stable.modelVersion,
    endpoint: stable.endpoint,
    bucket,
    reason,
  });
  if (flag.killSwitch) return stableAssignment('kill-switch');
  if (candidate === null) return stableAssignment('no-candidate');
  // The flag allows at most 2 decimals; rounding removes float error (11.15 * 100 = 1114.9999999999998).
  if (bucket < Math.round(candidate.percent * 100)) {
    return {
      variant: 'candidate',
      modelVersion: candidate.modelVersion,
      endpoint: candidate.endpoint,
      bucket,
      reason: 'split',
    };
  }
  return stableAssignment('split');
}

function checkUserId(userId: unknown): void {
  if (typeof userId !== 'string') {
    throw new AssignmentError(
      `user id must be a string, got ${userId === null ? 'null' : typeof userId}; ` +
        'send the user id as a string so the user keeps the same variant on every request',
    );
  }
  // The id itself is not shown: it may be personal data, and it may be long.
  if (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    throw new AssignmentError(
      `user id must be 1 to ${MAX_USER_ID_LENGTH} characters, got ${userId.length}; ` +
        'send a non-empty id that stays the same for the user (hash a longer one first)',
    );
  }
}

function checkExperiment(experiment: unknown): void {
  if (
    typeof experiment !== 'string' ||
    experiment.length > EXPERIMENT_MAX_LENGTH ||
    !EXPERIMENT_PATTERN.test(experiment)
  ) {
    throw new AssignmentError(
      `experiment must be a lower-case kebab-case name of at most ${EXPERIMENT_MAX_LENGTH} characters, ` +
        `got ${JSON.stringify(experiment) ?? String(experiment)}; it salts the assignment hash, see the flag document`,
    );
  }
}
