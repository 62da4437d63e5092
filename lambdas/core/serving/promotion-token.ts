/**
 * The promotion stage's continuation token: what it remembers while it waits for the standby
 * endpoint to come InService with the previous model. Everything else the stage needs it reads
 * again on each invocation, so a token only carries what cannot be read back: when the wait
 * started, and which endpoint and config it waits for.
 */
import { z } from 'zod';
import { continuationTokenCodec } from './continuation-token';

/** The only token version this code writes and reads. */
export const PROMOTION_TOKEN_VERSION = 1;

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
  /**
   * Set when the token was written because a call failed with a transient error (throttling, a
   * server error, a timeout): how many such failures in a row the stage has retried.
   */
  readonly retries?: number;
  /**
   * False when the token was written before the standby refresh started (a transient failure
   * while reading): the next invocation then starts the refresh rather than continuing one.
   * @default true
   */
  readonly standbyStarted?: boolean;
}

const name = z.string().min(1).max(255);
// Short keys, like the canary token: well under CodePipeline's limit.
const wireSchema = z.strictObject({
  v: z.literal(PROMOTION_TOKEN_VERSION),
  e: name,
  c: name,
  s: z.number().int().nonnegative(),
  n: z.number().int().nonnegative(),
  r: z.number().int().nonnegative().optional(),
  w: z.literal(0).optional(),
});
type Wire = z.infer<typeof wireSchema>;

/** Thrown when a promotion continuation token cannot be written or read. */
export class PromotionTokenError extends Error {
  override readonly name = 'PromotionTokenError';
}

const codec = continuationTokenCodec({
  what: 'promotion',
  version: PROMOTION_TOKEN_VERSION,
  wireSchema,
  fieldNames: {
    v: 'version',
    e: 'standbyEndpoint',
    c: 'standbyConfigName',
    s: 'startedAtMs',
    n: 'polls',
    r: 'retries',
    w: 'standbyStarted',
  },
  errorClass: PromotionTokenError,
  shortenHint: 'shorten the standby endpoint or config name',
  toWire: (state: PromotionWaitState): Wire => ({
    v: PROMOTION_TOKEN_VERSION,
    e: state.standbyEndpoint,
    c: state.standbyConfigName,
    s: state.startedAtMs,
    n: state.polls,
    ...(state.retries === undefined ? {} : { r: state.retries }),
    ...(state.standbyStarted === false ? { w: 0 as const } : {}),
  }),
  fromWire: (w): PromotionWaitState => ({
    standbyEndpoint: w.e,
    standbyConfigName: w.c,
    startedAtMs: w.s,
    polls: w.n,
    ...(w.r === undefined ? {} : { retries: w.r }),
    ...(w.w === 0 ? { standbyStarted: false } : {}),
  }),
});

/**
 * Writes the wait state as a continuation token: `promotion.` + base64url of compact, versioned
 * JSON. Throws PromotionTokenError when the state is invalid or the token would exceed
 * CodePipeline's limit of 2048 characters.
 */
export function encodePromotionToken(state: PromotionWaitState): string {
  return codec.encode(state);
}

/**
 * Reads a token written by {@link encodePromotionToken}. Throws PromotionTokenError saying whether
 * the token is foreign, from another version, or corrupt; every message ends with what to do.
 */
export function decodePromotionToken(token: string): PromotionWaitState {
  return codec.decode(token);
}
