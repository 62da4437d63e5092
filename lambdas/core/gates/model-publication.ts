/**
 * How a model archive gets from the release's evaluation build to SageMaker, and the checks on
 * the way (docs/security-production-paths.md). The build runs the team's code, so it may only *stage* the
 * archive in the release pipeline's own artifact bucket and *claim* its SHA-256. A platform step
 * (`publish-model`) hashes the staged bytes itself, and copies exactly that object version to a
 * content-addressed key that only it may write. The serving stages check the published object's
 * SHA-256 against the release record before `CreateModel`.
 *
 * Why the archive cannot change under a SageMaker model: SageMaker takes an S3 URL, not a version
 * id, and downloads it again on every scale-out. The URL names the archive's own SHA-256; the one
 * role that may write under it writes only bytes whose SHA-256 is the key; so every version that
 * can ever exist at that key holds the same bytes.
 */
import { z } from 'zod';

/** The claim the evaluation build writes into its output artifact beside eval_report.json. */
export const MODEL_CLAIM_FILE = 'model-claim.json';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, { error: 'a SHA-256 digest: 64 lowercase hex digits' });

export const modelClaimSchema = z.strictObject({
  sha256: sha256Hex,
  bytes: z.number().int().positive(),
  commitId: z.string().regex(/\S/, { error: 'a non-empty string' }),
});
export type ModelClaim = z.output<typeof modelClaimSchema>;

/** Where the release's evaluation build stages the archive, in the release pipeline's artifact bucket. */
export function stagedArchiveKey(executionId: string): string {
  return `model-staging/${executionId}/model.tar.gz`;
}

/** Prefix of every published archive of a model, in the artifacts bucket. */
export function publishedArchivePrefix(model: string): string {
  return `models/${model}/archives/sha256/`;
}

/** The content-addressed key of a published archive. */
export function publishedArchiveKey(model: string, sha256: string): string {
  return `${publishedArchivePrefix(model)}${sha256}.tar.gz`;
}

/** S3 CopyObject copies at most 5 GB in one request. */
export const MAX_COPY_BYTES = 5 * 1024 ** 3;

/** S3 reports checksums base64-encoded; records keep lowercase hex. */
export function base64ToHex(base64: string): string {
  return Buffer.from(base64, 'base64').toString('hex');
}

/** What the publisher found about the staged object. */
export interface StagedArchive {
  readonly location: string;
  readonly bytes: number;
  /** SHA-256 the publisher computed over the object version it read. */
  readonly sha256: string;
}

/**
 * Why the staged archive must not be published, or null when it may be. The claim comes from
 * the build (team code), so every field is checked against what the platform saw itself.
 */
export function publicationProblem(
  claim: ModelClaim,
  commitId: string,
  staged: StagedArchive,
): string | null {
  if (claim.commitId !== commitId) {
    return (
      `the evaluation build claims commit ${claim.commitId}, but this run releases ${commitId}; ` +
      'nothing was published: rerun the release from the start'
    );
  }
  if (staged.bytes > MAX_COPY_BYTES) {
    return (
      `${staged.location} is ${staged.bytes} bytes; the publisher copies archives of at most ${MAX_COPY_BYTES} bytes ` +
      '(one S3 CopyObject): nothing was published'
    );
  }
  if (staged.bytes !== claim.bytes || staged.sha256 !== claim.sha256) {
    return (
      `${staged.location} is not what the evaluation build evaluated: it has ${staged.bytes} bytes with SHA-256 ` +
      `${staged.sha256}, the build recorded ${claim.bytes} bytes with SHA-256 ${claim.sha256}. Something wrote the ` +
      'staged archive after the build; nothing was published: find out what in the bucket’s access logs, then rerun the release'
    );
  }
  return null;
}

/** The parts of a published archive's record the serving stages rely on. */
export interface PublishedRecord {
  readonly sha256: string;
  readonly modelDataUrl: string;
}

/**
 * Why a serving stage must not create a SageMaker model from this record's URL, or null: it must
 * be this model's content-addressed key in the artifacts bucket, for the SHA-256 the record names.
 */
export function archiveUrlProblem(
  record: PublishedRecord,
  expected: { readonly bucket: string; readonly model: string },
): string | null {
  const url = `s3://${expected.bucket}/${publishedArchiveKey(expected.model, record.sha256)}`;
  if (record.modelDataUrl === url) return null;
  return (
    `the release record names the archive ${record.modelDataUrl}, not the published, content-addressed ${url}; ` +
    'only the PublishModel stage writes release archives: rerun the release'
  );
}

/**
 * Why the object at the record's URL is not the archive the record describes, or null. S3 keeps
 * the SHA-256 it computed when the publisher copied the archive (`objectSha256Base64`).
 */
export function archiveChecksumProblem(
  record: PublishedRecord,
  objectSha256Base64: string | undefined,
): string | null {
  if (objectSha256Base64 === undefined) {
    return `${record.modelDataUrl} carries no SHA-256 checksum, so the PublishModel stage did not write it: rerun the release`;
  }
  const actual = base64ToHex(objectSha256Base64);
  if (actual === record.sha256) return null;
  return `${record.modelDataUrl} has SHA-256 ${actual}, but the release record says ${record.sha256}: it is not the archive that was evaluated`;
}
