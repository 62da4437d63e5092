/**
 * The shadow stage's continuation token: which phase it is in and what it needs to finish, carried
 * between CodePipeline invocations. Written as `shadow.` + base64url of compact, versioned JSON,
 * like the canary's token, so a token from another action is recognised as foreign, not corrupt.
 */
import { z } from 'zod';
import { CONTINUATION_TOKEN_LIMIT, continuationTokenCodec } from './continuation-token';

export { CONTINUATION_TOKEN_LIMIT };

/** The only token version this code writes and reads. */
export const SHADOW_TOKEN_VERSION = 1;

/**
 * `adding`: the live endpoint is being updated to the shadow config.
 * `observing`: the shadow variant runs; the window ends at `windowEndMs`.
 * `restoring`: the production config is being put back.
 */
export type ShadowPhase = 'adding' | 'observing' | 'restoring';

interface ShadowStateBase {
  /** The live endpoint. */
  readonly endpointName: string;
  /** The config that served before the stage, and that the stage puts back. */
  readonly productionConfigName: string;
  /** This run's config: production unchanged plus the candidate as the shadow variant. */
  readonly shadowConfigName: string;
  /** When the stage asked SageMaker for the shadow config, epoch milliseconds. */
  readonly startedAtMs: number;
  /** When the current phase began, epoch milliseconds. */
  readonly phaseStartedAtMs: number;
  /** Polls in the current phase so far. */
  readonly polls: number;
}

export type ShadowState =
  | (ShadowStateBase & { readonly phase: 'adding' })
  | (ShadowStateBase & {
      readonly phase: 'observing';
      /** The comparison window, epoch milliseconds. */
      readonly windowStartMs: number;
      readonly windowEndMs: number;
    })
  | (ShadowStateBase & { readonly phase: 'restoring' });

const name = z.string().min(1).max(255);
const time = z.number().int().nonnegative();
const common = {
  v: z.literal(SHADOW_TOKEN_VERSION),
  e: name,
  p: name,
  c: name,
  s: time,
  f: time,
  n: z.number().int().nonnegative(),
};
// Short keys keep the token small; the phase is one letter.
const wireSchema = z.discriminatedUnion('ph', [
  z.strictObject({ ...common, ph: z.literal('a') }),
  z.strictObject({ ...common, ph: z.literal('o'), ws: time, we: time }),
  z.strictObject({ ...common, ph: z.literal('r') }),
]);
type Wire = z.infer<typeof wireSchema>;

const PHASE_CODES = { adding: 'a', observing: 'o', restoring: 'r' } as const;

/** Thrown when a continuation token cannot be written or read. */
export class ShadowTokenError extends Error {
  override readonly name = 'ShadowTokenError';
}

const codec = continuationTokenCodec({
  what: 'shadow',
  version: SHADOW_TOKEN_VERSION,
  wireSchema,
  fieldNames: {
    v: 'version',
    ph: 'phase',
    e: 'endpointName',
    p: 'productionConfigName',
    c: 'shadowConfigName',
    s: 'startedAtMs',
    f: 'phaseStartedAtMs',
    n: 'polls',
    ws: 'windowStartMs',
    we: 'windowEndMs',
  },
  errorClass: ShadowTokenError,
  shortenHint: 'shorten the endpoint or config names',
  // A retried stage starts without a token and finds the live endpoint where this run left it.
  retry: 'Retry the stage: it picks up the live endpoint where this run left it.',
  checkWire: (w) => (w.ph === 'o' && w.we < w.ws ? 'windowEndMs is before windowStartMs' : undefined),
  toWire: (state: ShadowState): Wire => {
    const common = {
      v: SHADOW_TOKEN_VERSION,
      e: state.endpointName,
      p: state.productionConfigName,
      c: state.shadowConfigName,
      s: state.startedAtMs,
      f: state.phaseStartedAtMs,
      n: state.polls,
    } as const;
    return state.phase === 'observing'
      ? { ...common, ph: 'o', ws: state.windowStartMs, we: state.windowEndMs }
      : { ...common, ph: PHASE_CODES[state.phase] };
  },
  fromWire: (w: Wire): ShadowState => {
    const base = {
      endpointName: w.e,
      productionConfigName: w.p,
      shadowConfigName: w.c,
      startedAtMs: w.s,
      phaseStartedAtMs: w.f,
      polls: w.n,
    };
    switch (w.ph) {
      case 'a':
        return { ...base, phase: 'adding' };
      case 'o':
        return { ...base, phase: 'observing', windowStartMs: w.ws, windowEndMs: w.we };
      case 'r':
        return { ...base, phase: 'restoring' };
    }
  },
});

/**
 * Writes the state as a continuation token. Throws ShadowTokenError when the state is invalid or
 * the token would exceed {@link CONTINUATION_TOKEN_LIMIT} characters.
 */
export function encodeShadowToken(state: ShadowState): string {
  return codec.encode(state);
}

/**
 * Reads a token written by {@link encodeShadowToken}. Throws ShadowTokenError saying whether the
 * token is foreign, from another version, or corrupt.
 */
export function decodeShadowToken(token: string): ShadowState {
  return codec.decode(token);
}
