/**
 * The promotion stage's continuation token: what it remembers while it waits for the standby
 * endpoint to come InService with the previous model. Everything else the stage needs it reads
 * again on each invocation, so a token only carries what cannot be read back: when the wait
 * started, and which endpoint and config it waits for.
 */
import { z } from 'zod';
import { CONTINUATION_TOKEN_LIMIT } from './canary';

/** The only token version this code writes and reads. */
export const PROMOTION_TOKEN_VERSION = 1;

/** Marks our tokens, so a token from another action is recognised as foreign, not as corrupt. */
const TOKEN_PREFIX = 'promotion.';

/** What the promotion action remembers between polls of the standby endpoint. */
export interface PromotionWaitState {
  /** The standby endpoint being created or updated. */
  readonly standbyEndpoint: string;
  /** The standby config the wait ends with: the stage continues only when it is in service. */
  readonly standbyConfigName: string;
  /** When the standby refresh started, epoch milliseconds (the handler's clock). */
  readonly startedAtMs: number;
  /** Polls so far. */
  readonly polls: number;
}

const name = z.string().min(1).max(255);
// Short keys, like the canary token: well under CodePipeline's limit.
const wireSchema = z.strictObject({
  v: z.literal(PROMOTION_TOKEN_VERSION),
  e: name,
  c: name,
  s: z.number().int().nonnegative(),
  n: z.number().int().nonnegative(),
});
type Wire = z.infer<typeof wireSchema>;

const WIRE_FIELDS: Readonly<Record<string, string>> = {
  v: 'version',
  e: 'standbyEndpoint',
  c: 'standbyConfigName',
  s: 'startedAtMs',
  n: 'polls',
};

/** Thrown when a promotion continuation token cannot be written or read. */
export class PromotionTokenError extends Error {
  override readonly name = 'PromotionTokenError';
}

/**
 * Writes the wait state as a continuation token: `promotion.` + base64url of compact, versioned
 * JSON. Throws PromotionTokenError when the state is invalid or the token would exceed
 * {@link CONTINUATION_TOKEN_LIMIT} characters.
 */
export function encodePromotionToken(state: PromotionWaitState): string {
  const wire: Wire = {
    v: PROMOTION_TOKEN_VERSION,
    e: state.standbyEndpoint,
    c: state.standbyConfigName,
    s: state.startedAtMs,
    n: state.polls,
  };
  const parsed = wireSchema.safeParse(wire);
  if (!parsed.success) {
    throw new PromotionTokenError(
      `cannot write a promotion continuation token: ${describeIssues(parsed.error.issues)}`,
    );
  }
  const token = TOKEN_PREFIX + Buffer.from(JSON.stringify(parsed.data), 'utf8').toString('base64url');
  if (token.length > CONTINUATION_TOKEN_LIMIT) {
    throw new PromotionTokenError(
      `promotion continuation token is ${token.length} characters, over CodePipeline's limit of ` +
        `${CONTINUATION_TOKEN_LIMIT}; shorten the standby endpoint or config name`,
    );
  }
  return token;
}

/**
 * Reads a token written by {@link encodePromotionToken}. Throws PromotionTokenError saying whether
 * the token is foreign, from another version, or corrupt; every message ends with what to do.
 */
export function decodePromotionToken(token: string): PromotionWaitState {
  if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX)) {
    throw new PromotionTokenError(
      `continuation token ${preview(token)} was not written by the promotion action (expected it to start ` +
        `with "${TOKEN_PREFIX}"); was the action's Lambda function changed mid-run? Retry the stage.`,
    );
  }
  if (token.length > CONTINUATION_TOKEN_LIMIT) {
    throw new PromotionTokenError(
      `promotion continuation token is ${token.length} characters, over the ${CONTINUATION_TOKEN_LIMIT} this ` +
        'action ever writes; it is corrupt. Retry the stage.',
    );
  }
  const body = token.slice(TOKEN_PREFIX.length);
  let raw: unknown;
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new Error('not base64url');
    raw = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new PromotionTokenError(
      `promotion continuation token ${preview(token)} is corrupt (not base64url-encoded JSON). Retry the stage.`,
    );
  }
  const version = raw !== null && typeof raw === 'object' ? (raw as { v?: unknown }).v : undefined;
  if (version !== PROMOTION_TOKEN_VERSION) {
    throw new PromotionTokenError(
      `promotion continuation token has version ${JSON.stringify(version) ?? 'none'}, but this code reads ` +
        `version ${PROMOTION_TOKEN_VERSION}; the action was probably redeployed mid-run. Retry the stage.`,
    );
  }
  const parsed = wireSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PromotionTokenError(
      `promotion continuation token is corrupt: ${describeIssues(parsed.error.issues)}. Retry the stage.`,
    );
  }
  const w = parsed.data;
  return { standbyEndpoint: w.e, standbyConfigName: w.c, startedAtMs: w.s, polls: w.n };
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const [head, ...rest] = i.path.map(String);
      const path = [WIRE_FIELDS[head ?? ''] ?? head ?? '(root)', ...rest].join('.');
      return `${path}: ${i.message}`;
    })
    .join('; ');
}

function preview(token: unknown): string {
  if (typeof token !== 'string') return `of type ${typeof token}`;
  return JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}...` : token);
}
