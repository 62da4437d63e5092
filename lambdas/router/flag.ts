/**
 * The model-version flag as the router sees it: read from AppConfig at most once per cache period,
 * parsed, checked to be this model's, and remembered, failures included.
 *
 * Powertools' AppConfigProvider keeps the configuration session (AppConfig answers an unchanged
 * document with an empty body; the provider hands back the last one) but caches only successes: during
 * an AppConfig outage every request would wait for a failing call. So this module keeps the outcome
 * of each read, good or bad, for the cache period by the router's clock, and asks the provider with
 * `forceFetch` when the period is over.
 *
 * When a read fails (AppConfig unreachable, document invalid or for another model):
 * - with a flag read before, the router keeps serving that one (`stale`): after a rollback the flag
 *   points at the standby endpoint, and an AppConfig blip must not send traffic back to the live one;
 * - without one (a cold start), it serves the stable version on the live endpoint (`unavailable`).
 * Either way it logs one WARN per cache period, not one per request.
 */
import type { AppConfigProvider } from '@aws-lambda-powertools/parameters/appconfig';
import type { Context } from 'aws-lambda';
import { FlagDocumentError, parseFlagDocument, type FlagDocument } from '../core/routing/flags';
import { saltedFlag } from './split';

/** The logger calls the router makes; the Powertools logger fits it. */
export interface RouterLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
  /** Adds the invocation's request id and function details to every line (Powertools). */
  addContext?(context: Context): void;
}

/** The router's clock: wall time for records, a monotonic one for durations and cache ages. */
export interface Clock {
  now(): Date;
  monotonicMs(): number;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
};

interface ReadFlag {
  /** The document as read. */
  readonly flag: FlagDocument;
  /** The same with the model-salted experiment, for `assign` (split.ts). */
  readonly routingFlag: FlagDocument;
}

export type FlagState =
  | (ReadFlag & { readonly status: 'current' })
  /** The last read failed; `flag` is the one read before, at `readAt`. */
  | (ReadFlag & { readonly status: 'stale'; readonly readAt: Date; readonly problem: string })
  /** No flag has been read yet and the last read failed. */
  | { readonly status: 'unavailable'; readonly problem: string };

export type FlagReader = () => Promise<FlagState>;

export interface FlagReaderOptions {
  /** The document's text, or undefined when none is deployed. Throws when it cannot be read. */
  readonly fetchFlag: () => Promise<string | undefined>;
  /** The model this router serves; a flag for another model is refused. */
  readonly model: string;
  /** The configured experiment name; a flag naming another one is served with a warning. */
  readonly experiment: string;
  /** Names the document in messages, e.g. `AppConfig flag ml-platform/prod/document-classifier-flag`. */
  readonly label: string;
  /** What to do when the flag cannot be read, for the messages: which environment, which role. */
  readonly readAdvice: string;
  readonly cacheSeconds: number;
  readonly clock: Clock;
  readonly logger: RouterLogger;
}

/** Flag reads cached per `cacheSeconds`, never throwing: failures come back as `stale` or `unavailable`. */
export function createFlagReader(options: FlagReaderOptions): FlagReader {
  const { clock, logger, label, model, cacheSeconds } = options;
  const maxAgeMs = cacheSeconds * 1000;
  let state: FlagState | undefined;
  let expiresAt = -Infinity;
  let lastGood: (ReadFlag & { readonly readAt: Date; readonly text: string }) | undefined;
  let inflight: Promise<FlagState> | undefined;

  async function refresh(): Promise<FlagState> {
    const previous = state;
    let next: FlagState;
    try {
      const text = await readText();
      // The document read last time (AppConfig answers an unchanged one with an empty body and the
      // provider hands back the last one): it parsed then, so it is not parsed again.
      const same = lastGood !== undefined && lastGood.text === text ? lastGood : undefined;
      const flag = same?.flag ?? parseFlagDocument(text, label);
      if (flag.model !== model) {
        throw new FlagDocumentError(
          `${label} is for model "${flag.model}", but this router serves "${model}"; deploy ${model}'s flag ` +
            'to this configuration profile, or point the router at the right profile (APPCONFIG_PROFILE)',
        );
      }
      if (!same) announce(flag);
      lastGood = {
        flag,
        routingFlag: same?.routingFlag ?? saltedFlag(model, flag),
        readAt: clock.now(),
        text,
      };
      next = { status: 'current', flag: lastGood.flag, routingFlag: lastGood.routingFlag };
      if (previous !== undefined && previous.status !== 'current') {
        logger.info('router: the flag can be read again; routing by it', { flag: label });
      }
    } catch (error) {
      const problem = describeProblem(error);
      if (lastGood) {
        next = {
          status: 'stale',
          flag: lastGood.flag,
          routingFlag: lastGood.routingFlag,
          readAt: lastGood.readAt,
          problem,
        };
        logger.warn(
          `router: cannot refresh the flag; still routing by the flag read at ${lastGood.readAt.toISOString()} ` +
            `and trying again in ${cacheSeconds} s: ${problem}`,
          { flag: label, problem, flagReadAt: lastGood.readAt.toISOString() },
        );
      } else {
        next = { status: 'unavailable', problem };
        logger.warn(
          'router: no flag; serving the stable version on the live endpoint to everyone (model version ' +
            `"unknown", routedBy "flag-unavailable") and trying again in ${cacheSeconds} s: ${problem}`,
          { flag: label, problem },
        );
      }
    }
    state = next;
    expiresAt = clock.monotonicMs() + maxAgeMs;
    return next;
  }

  async function readText(): Promise<string> {
    let text: string | undefined;
    try {
      text = await options.fetchFlag();
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause ?? error;
      throw new FlagReadError(`cannot read the ${label}: ${describeError(cause)}; ${options.readAdvice}`);
    }
    if (text === undefined || text.trim() === '') {
      throw new FlagReadError(`the ${label} is empty: no flag document is deployed; ${options.readAdvice}`);
    }
    return text;
  }

  function announce(flag: FlagDocument): void {
    const { stable, candidate } = flag;
    logger.info('router: flag read', {
      flag: label,
      experiment: flag.experiment,
      killSwitch: flag.killSwitch,
      stable: `${stable.modelVersion} on ${stable.endpoint}`,
      candidate: candidate
        ? `${candidate.modelVersion} on ${candidate.endpoint} at ${candidate.percent}%`
        : null,
      updatedBy: flag.updatedBy,
      updatedAt: flag.updatedAt,
    });
    if (flag.experiment !== options.experiment) {
      logger.warn(
        `router: the flag's experiment "${flag.experiment}" is not the configured one ("${options.experiment}"); ` +
          "users are assigned by the flag's: if that is not intended, deploy the flag again from the model's config",
        { flag: label },
      );
    }
  }

  return () => {
    if (state !== undefined && clock.monotonicMs() < expiresAt) return Promise.resolve(state);
    inflight ??= refresh().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
}

class FlagReadError extends Error {
  override readonly name = 'FlagReadError';
}

function describeProblem(error: unknown): string {
  if (error instanceof FlagReadError || error instanceof FlagDocumentError) return error.message;
  return `unexpected error reading the flag: ${describeError(error)}`;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Reads the flag through Powertools' AppConfigProvider. `RequiredMinimumPollIntervalInSeconds` is
 * the cache period: AppConfig refuses polls more frequent than the session's interval (60 s unless
 * set), and the router polls once per period.
 */
export function appConfigFlagFetcher(
  provider: AppConfigProvider,
  profile: string,
  cacheSeconds: number,
): () => Promise<string | undefined> {
  const decoder = new TextDecoder();
  return async () => {
    const value: unknown = await provider.get(profile, {
      maxAge: cacheSeconds,
      forceFetch: true,
      sdkOptions: { RequiredMinimumPollIntervalInSeconds: cacheSeconds },
    });
    if (value === undefined) return undefined;
    if (value instanceof Uint8Array) return decoder.decode(value);
    return String(value);
  };
}
