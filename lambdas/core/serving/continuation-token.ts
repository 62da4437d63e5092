/**
 * The machinery shared by the release actions' continuation tokens: `<action>.` + base64url of
 * compact, versioned JSON checked by a wire schema with short keys. The prefix lets a token from
 * another action be recognised as foreign, not corrupt; the version catches a redeploy mid-run.
 */
import type { z } from 'zod';

/** CodePipeline rejects a longer continuation token. */
export const CONTINUATION_TOKEN_LIMIT = 2048;

/** What one action's token holds, and how its errors read. */
export interface ContinuationTokenOptions<State, Schema extends z.ZodType> {
  /** The action, as people see it in messages (`canary`); the token starts with `<what>.`. */
  readonly what: string;
  /** The only version this code writes and reads: the wire's `v`. */
  readonly version: number;
  /** The wire format, keyed by short names, with `v` the literal {@link version}. */
  readonly wireSchema: Schema;
  /** Maps short wire keys to the state's field names, so messages name the fields people know. */
  readonly fieldNames: Readonly<Record<string, string>>;
  /** The error thrown for every problem. */
  readonly errorClass: new (message: string) => Error;
  /** Ends the too-long message when writing (`shorten the endpoint or config names`). */
  readonly shortenHint: string;
  /**
   * Ends every reading message: what to do.
   * @default - `Retry the stage.`
   */
  readonly retry?: string;
  /**
   * A check the schema does not express, run on the parsed wire before writing; returns the problem.
   * @default - no further check
   */
  readonly checkWire?: (wire: z.output<Schema>) => string | undefined;
  readonly toWire: (state: State) => z.input<Schema>;
  readonly fromWire: (wire: z.output<Schema>) => State;
}

/** Writes and reads one action's continuation tokens. */
export interface ContinuationTokenCodec<State> {
  /** Throws the codec's error when the state is invalid or the token would be too long. */
  readonly encode: (state: State) => string;
  /** Throws the codec's error saying whether the token is foreign, from another version, or corrupt. */
  readonly decode: (token: string) => State;
}

export function continuationTokenCodec<State, Schema extends z.ZodType>(
  options: ContinuationTokenOptions<State, Schema>,
): ContinuationTokenCodec<State> {
  const { what, version, wireSchema, errorClass: TokenError, shortenHint, checkWire } = options;
  const prefix = `${what}.`;
  const retry = options.retry ?? 'Retry the stage.';
  const describeIssues = (issues: readonly z.core.$ZodIssue[]): string =>
    issues
      .map((i) => {
        const [head, ...rest] = i.path.map(String);
        const path = [options.fieldNames[head ?? ''] ?? head ?? '(root)', ...rest].join('.');
        return `${path}: ${i.message}`;
      })
      .join('; ');

  const encode = (state: State): string => {
    const parsed = wireSchema.safeParse(options.toWire(state));
    if (!parsed.success) {
      throw new TokenError(
        `cannot write a ${what} continuation token: ${describeIssues(parsed.error.issues)}`,
      );
    }
    const problem = checkWire?.(parsed.data);
    if (problem !== undefined) {
      throw new TokenError(`cannot write a ${what} continuation token: ${problem}`);
    }
    const token = prefix + Buffer.from(JSON.stringify(parsed.data), 'utf8').toString('base64url');
    if (token.length > CONTINUATION_TOKEN_LIMIT) {
      throw new TokenError(
        `${what} continuation token is ${token.length} characters, over CodePipeline's limit of ` +
          `${CONTINUATION_TOKEN_LIMIT}; ${shortenHint}`,
      );
    }
    return token;
  };

  const decode = (token: string): State => {
    if (typeof token !== 'string' || !token.startsWith(prefix)) {
      throw new TokenError(
        `continuation token ${preview(token)} was not written by the ${what} action (expected it to start with ` +
          `"${prefix}"); was the action's Lambda function changed mid-run? ${retry}`,
      );
    }
    if (token.length > CONTINUATION_TOKEN_LIMIT) {
      throw new TokenError(
        `${what} continuation token is ${token.length} characters, over the ${CONTINUATION_TOKEN_LIMIT} this action ` +
          `ever writes; it is corrupt. ${retry}`,
      );
    }
    const body = token.slice(prefix.length);
    let raw: unknown;
    try {
      if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new Error('not base64url');
      raw = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new TokenError(
        `${what} continuation token ${preview(token)} is corrupt (not base64url-encoded JSON). ${retry}`,
      );
    }
    // Checked before the schema, so a redeploy reads as a version change, not as corruption.
    const found = raw !== null && typeof raw === 'object' ? (raw as { v?: unknown }).v : undefined;
    if (found !== version) {
      throw new TokenError(
        `${what} continuation token has version ${JSON.stringify(found) ?? 'none'}, but this code reads ` +
          `version ${version}; the action was probably redeployed mid-run. ${retry}`,
      );
    }
    const parsed = wireSchema.safeParse(raw);
    if (!parsed.success) {
      throw new TokenError(
        `${what} continuation token is corrupt: ${describeIssues(parsed.error.issues)}. ${retry}`,
      );
    }
    return options.fromWire(parsed.data);
  };

  return { encode, decode };
}

function preview(token: unknown): string {
  if (typeof token !== 'string') return `of type ${typeof token}`;
  return JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}...` : token);
}
