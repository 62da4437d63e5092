/**
 * The shadow stage's continuation token: which phase it is in and what it needs to finish, carried
 * between CodePipeline invocations. Written as `shadow.` + base64url of compact, versioned JSON,
 * like the canary's token, so a token from another action is recognised as foreign, not corrupt.
 */
import { z } from 'zod';
import { CONTINUATION_TOKEN_LIMIT } from './canary';

export { CONTINUATION_TOKEN_LIMIT };

/** The only token version this code writes and reads. */
export const SHADOW_TOKEN_VERSION = 1;

const TOKEN_PREFIX = 'shadow.';

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

/**
 * Writes the state as a continuation token. Throws ShadowTokenError when the state is invalid or
 * the token would exceed {@link CONTINUATION_TOKEN_LIMIT} characters.
 */
export function encodeShadowToken(state: ShadowState): string {
  const common = {
    v: SHADOW_TOKEN_VERSION,
    e: state.endpointName,
    p: state.productionConfigName,
    c: state.shadowConfigName,
    s: state.startedAtMs,
    f: state.phaseStartedAtMs,
    n: state.polls,
  };
  const wire =
    state.phase === 'observing'
      ? { ...common, ph: 'o', ws: state.windowStartMs, we: state.windowEndMs }
      : { ...common, ph: PHASE_CODES[state.phase] };
  const parsed = wireSchema.safeParse(wire);
  if (!parsed.success) {
    throw new ShadowTokenError(
      `cannot write a shadow continuation token: ${describeIssues(parsed.error.issues)}`,
    );
  }
  if (parsed.data.ph === 'o' && parsed.data.we < parsed.data.ws) {
    throw new ShadowTokenError(
      'cannot write a shadow continuation token: windowEndMs is before windowStartMs',
    );
  }
  const token = TOKEN_PREFIX + Buffer.from(JSON.stringify(parsed.data), 'utf8').toString('base64url');
  if (token.length > CONTINUATION_TOKEN_LIMIT) {
    throw new ShadowTokenError(
      `shadow continuation token is ${token.length} characters, over CodePipeline's limit of ` +
        `${CONTINUATION_TOKEN_LIMIT}; shorten the endpoint or config names`,
    );
  }
  return token;
}

/**
 * Reads a token written by {@link encodeShadowToken}. Throws ShadowTokenError saying whether the
 * token is foreign, from another version, or corrupt.
 */
export function decodeShadowToken(token: string): ShadowState {
  // A retried stage starts without a token and finds the live endpoint where this run left it.
  const retry = 'Retry the stage: it picks up the live endpoint where this run left it.';
  if (typeof token !== 'string' || !token.startsWith(TOKEN_PREFIX)) {
    throw new ShadowTokenError(
      `continuation token ${preview(token)} was not written by the shadow action (expected it to start with ` +
        `"${TOKEN_PREFIX}"); was the action's Lambda function changed mid-run? ${retry}`,
    );
  }
  if (token.length > CONTINUATION_TOKEN_LIMIT) {
    throw new ShadowTokenError(
      `shadow continuation token is ${token.length} characters, over the ${CONTINUATION_TOKEN_LIMIT} this action ` +
        `ever writes; it is corrupt. ${retry}`,
    );
  }
  const body = token.slice(TOKEN_PREFIX.length);
  let raw: unknown;
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new Error('not base64url');
    raw = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    throw new ShadowTokenError(
      `shadow continuation token ${preview(token)} is corrupt (not base64url-encoded JSON). ${retry}`,
    );
  }
  const version = raw !== null && typeof raw === 'object' ? (raw as { v?: unknown }).v : undefined;
  if (version !== SHADOW_TOKEN_VERSION) {
    throw new ShadowTokenError(
      `shadow continuation token has version ${JSON.stringify(version) ?? 'none'}, but this code reads ` +
        `version ${SHADOW_TOKEN_VERSION}; the action was probably redeployed mid-run. ${retry}`,
    );
  }
  const parsed = wireSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ShadowTokenError(
      `shadow continuation token is corrupt: ${describeIssues(parsed.error.issues)}. ${retry}`,
    );
  }
  const w: Wire = parsed.data;
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
}

const WIRE_FIELDS: Readonly<Record<string, string>> = {
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
};

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
