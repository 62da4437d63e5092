/**
 * The shadow comparison on matched requests: production and the shadow variant answered the same
 * request (the same `inferenceId` in both variants' data capture), so their difference is measured
 * pair by pair instead of between two crowds.
 *
 * - Agreement: the share of matched, labelled requests with the same label, with Brown, Cai &
 *   DasGupta's modified Wilson interval (Statistical Science 16:101–133, 2001; `binomialInterval`).
 * - Failure rate: shadow minus production share of matched requests whose answer is not a
 *   prediction, with Newcombe's paired square-and-add interval (method 10, Stat Med 1998;17:2635;
 *   `pairedDifferenceInterval`).
 * - Latency: shadow minus production, per request, when the container reports `latencyMs` (data
 *   capture records none): median and p99 of the differences, and a Student t interval for their
 *   mean from {@link DEFAULT_MIN_LATENCY_PAIRS} pairs on ("too few" below).
 *
 * Pure: counts in, JSON-safe objects out. Coverage measured in test/calibration/shadow.test.ts.
 */
import type { CaptureAgreement } from './data-capture';
import { binomialInterval, pairedDifferenceInterval } from '../statistics/gate-stats';
import { meanInterval, type Interval } from '../statistics/stats';

/**
 * Fewest latency pairs for an interval on the mean difference. Per-request latency differences are
 * right-skewed, and a t interval under-covers on skewed data at small n: measured on a difference of
 * 5 ms + Exp(6) − 6, about 94% at 120 pairs and 95% at 245 (docs/statistics.md).
 */
export const DEFAULT_MIN_LATENCY_PAIRS = 100;

/** Agreement on matched requests both variants labelled. */
export interface PairedAgreement extends Interval {
  readonly agreements: number;
  readonly compared: number;
}

/** Shadow minus production failure rate on matched requests. */
export interface PairedFailureDifference extends Interval {
  /** Matched requests. */
  readonly n: number;
  readonly productionFailed: number;
  readonly shadowFailed: number;
}

/** Shadow minus production latency on matched requests, in milliseconds. */
export interface PairedLatencyDifference {
  readonly pairs: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** t interval for the mean difference; null with fewer than `minPairs` pairs (`tooFew` says so). */
  readonly meanInterval: Interval | null;
  readonly tooFew: string | null;
}

/** What the comparison on matched requests found, or why there were none. */
export type PairedComparison =
  | {
      readonly status: 'paired';
      readonly pairedOn: 'inferenceId';
      /** Requests both variants answered. */
      readonly matched: number;
      /** Null when no matched request was labelled by both. */
      readonly agreement: PairedAgreement | null;
      readonly failureRateDifference: PairedFailureDifference;
      /** Null when the answers carry no `latencyMs`; `latencyNote` says so. */
      readonly latency: PairedLatencyDifference | null;
      readonly latencyNote: string | null;
    }
  | {
      readonly status: 'unpaired';
      /** A sentence for people: why nothing was compared pair by pair. */
      readonly reason: string;
    };

/** Options of {@link comparePaired}. */
export interface PairedOptions {
  /** @default 0.95 */
  readonly confidence?: number;
  /** @default DEFAULT_MIN_LATENCY_PAIRS (100) */
  readonly minLatencyPairs?: number;
}

/**
 * The paired comparison of a capture pairing; `unavailable` (why data capture could not be read)
 * gives an unpaired result. A pairing with records on both sides and no match says so plainly.
 */
export function comparePaired(
  pairing: CaptureAgreement | null,
  unavailable: string | null,
  options: PairedOptions = {},
): PairedComparison {
  const confidence = options.confidence ?? 0.95;
  const minPairs = options.minLatencyPairs ?? DEFAULT_MIN_LATENCY_PAIRS;
  if (!Number.isSafeInteger(minPairs) || minPairs < 2) {
    throw new RangeError(
      `comparePaired: minLatencyPairs must be a whole number >= 2, got ${String(minPairs)}`,
    );
  }
  if (unavailable !== null) {
    return {
      status: 'unpaired',
      reason: `data capture could not be read (${unavailable}): nothing was compared request by request`,
    };
  }
  if (pairing === null) {
    return {
      status: 'unpaired',
      reason: 'no data capture was given: nothing was compared request by request',
    };
  }
  const { matched } = pairing;
  if (matched === 0) return { status: 'unpaired', reason: unpairedReason(pairing) };

  const { bothFailed, productionOnly, shadowOnly, neitherFailed } = pairing.failures;
  // pairedDifferenceInterval gives candidate − baseline of a "correct" share; a failure is the
  // complement, so shadow − production failure rate is −(shadow − production success rate).
  const success = pairedDifferenceInterval(
    {
      bothCorrect: neitherFailed,
      candidateOnly: productionOnly,
      baselineOnly: shadowOnly,
      neitherCorrect: bothFailed,
    },
    confidence,
  );
  const failureRateDifference: PairedFailureDifference = {
    // `0 - x`, not `-x`: no -0 in a report that goes through JSON.
    estimate: 0 - success.estimate,
    lower: 0 - success.upper,
    upper: 0 - success.lower,
    n: matched,
    productionFailed: bothFailed + productionOnly,
    shadowFailed: bothFailed + shadowOnly,
  };
  const agreement: PairedAgreement | null =
    pairing.compared > 0
      ? {
          ...binomialInterval(pairing.agreements, pairing.compared, confidence),
          agreements: pairing.agreements,
          compared: pairing.compared,
        }
      : null;

  let latency: PairedLatencyDifference | null = null;
  let latencyNote: string | null = null;
  const l = pairing.latency;
  if (l === null) {
    latencyNote =
      'latency not compared request by request: the answers carry no latencyMs (data capture records no ' +
      'latency); the CloudWatch percentiles compare the two variants as a whole';
  } else {
    const tooFew =
      l.pairs < minPairs
        ? `only ${l.pairs} request${l.pairs === 1 ? '' : 's'} with a latency on both sides, fewer than ${minPairs}: ` +
          'too few for an interval on the mean difference'
        : null;
    latency = {
      pairs: l.pairs,
      medianMs: l.medianMs,
      p99Ms: l.p99Ms,
      meanMs: l.meanMs,
      meanInterval:
        tooFew === null
          ? pick(
              meanInterval(
                { count: l.pairs, mean: l.meanMs, variance: l.sdMs * l.sdMs, stdDev: l.sdMs },
                confidence,
              ),
            )
          : null,
      tooFew,
    };
  }
  return {
    status: 'paired',
    pairedOn: 'inferenceId',
    matched,
    agreement,
    failureRateDifference,
    latency,
    latencyNote,
  };
}

function pick(i: Interval): Interval {
  return { estimate: i.estimate, lower: i.lower, upper: i.upper };
}

/** Why a pairing matched nothing, in the words an operator can act on. */
function unpairedReason(pairing: CaptureAgreement): string {
  const { production: p, shadow: s } = pairing;
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (p.records === 0 && s.records === 0) {
    return 'no data capture records from either variant in the window: nothing was compared request by request; check serving.dataCapture.samplingPercent and that the window had traffic';
  }
  if (p.records === 0 || s.records === 0) {
    const empty = p.records === 0 ? 'production' : 'shadow';
    return (
      `the ${empty} variant has no data capture records in the window (the other has ` +
      `${count(p.records + s.records, 'record')}): nothing was compared request by request` +
      (empty === 'shadow' ? '; check serving.shadow.samplingPercent' : '')
    );
  }
  const parts = [
    `compared nothing: production has ${count(p.records, 'capture record')} and shadow ${s.records}, ` +
      'but no request appears in both with an inferenceId and an answer',
  ];
  if (p.withoutInferenceId + s.withoutInferenceId > 0) {
    parts.push(
      `${p.withoutInferenceId} production and ${s.withoutInferenceId} shadow records carry no inferenceId ` +
        '(the caller sent no InferenceId: requests that bypass the router, or a router older than this platform version)',
    );
  }
  if (p.withoutOutput + s.withoutOutput > 0) {
    parts.push(
      `${p.withoutOutput} production and ${s.withoutOutput} shadow records have no captured answer ` +
        '(data capture must capture Output as well as Input)',
    );
  }
  return `${parts.join('; ')}. Agreement, paired errors and paired latency were NOT compared`;
}
