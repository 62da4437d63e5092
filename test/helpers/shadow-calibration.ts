/**
 * Seeded simulation of a shadow window, through the real pairing and comparison code: requests go
 * to production and (as a copy) to the shadow variant, each variant's data capture samples them
 * independently, some callers send no `InferenceId`, and the report's paired intervals are checked
 * against the truth the simulation drew. test/calibration/shadow.test.ts runs it briefly;
 * bench/shadow-calibration.ts runs it long.
 */
import { countAgreement, type CaptureRecord } from '../../lambdas/core/serving/data-capture';
import type { Random } from '../../lambdas/core/statistics/gate-stats';
import { compareShadow } from '../../lambdas/core/serving/shadow';

/** One simulated window's traffic model. */
export interface ShadowTraffic {
  /** Requests production served in the window. */
  readonly requests: number;
  /** Share of requests copied to the shadow variant (`serving.shadow.samplingPercent` / 100). */
  readonly shadowShare: number;
  /** Each variant's data capture keeps a request with this probability, independently. */
  readonly captureShare: number;
  /** Share of requests that arrive without an InferenceId (callers that bypass the router). */
  readonly withoutIdShare: number;
  /** The true agreement (labels of requests both variants answered with a prediction). */
  readonly agreement: number;
  /** True failure probabilities; `bothFail` is the share failing on both (correlated failures). */
  readonly productionFail: number;
  readonly shadowFail: number;
  readonly bothFail: number;
  /**
   * Per-request latency: production ~ 40 + Exp(mean 10) ms, shadow = production + shift + Exp(mean
   * `shadowExtraMeanMs`) − `shadowExtraMeanMs` (a right-skewed difference with mean `latencyShiftMs`).
   * Latency only enters when `latency` is true (the container reports latencyMs).
   */
  readonly latency: boolean;
  readonly latencyShiftMs: number;
  readonly shadowExtraMeanMs: number;
}

export const DEFAULT_TRAFFIC: ShadowTraffic = {
  requests: 300,
  shadowShare: 1,
  captureShare: 0.8,
  withoutIdShare: 0.05,
  agreement: 0.95,
  productionFail: 0.01,
  shadowFail: 0.02,
  bothFail: 0.005,
  latency: false,
  latencyShiftMs: 5,
  shadowExtraMeanMs: 6,
};

const exponential = (mean: number, random: Random) => -mean * Math.log(1 - random());

/** The capture records of one window. */
export function simulateWindow(t: ShadowTraffic, random: Random): CaptureRecord[] {
  const records: CaptureRecord[] = [];
  let event = 0;
  // Cell probabilities of (production fails, shadow fails).
  const pOnly = t.productionFail - t.bothFail;
  const sOnly = t.shadowFail - t.bothFail;
  for (let i = 0; i < t.requests; i++) {
    const inferenceId = random() < t.withoutIdShare ? undefined : `req-${i}`;
    const u = random();
    const pFails = u < t.bothFail || (u >= t.bothFail && u < t.bothFail + pOnly);
    const sFails = u < t.bothFail || (u >= t.bothFail + pOnly && u < t.bothFail + pOnly + sOnly);
    const productionLabel = random() < 0.5 ? 'invoice' : 'receipt';
    const other = productionLabel === 'invoice' ? 'receipt' : 'invoice';
    const shadowLabel = random() < t.agreement ? productionLabel : other;
    const pLatency = 40 + exponential(10, random);
    const sLatency =
      pLatency + t.latencyShiftMs + exponential(t.shadowExtraMeanMs, random) - t.shadowExtraMeanMs;
    const record = (variant: string, label: string | undefined, latencyMs: number): CaptureRecord => ({
      eventId: `ev-${(event += 1)}`,
      variant,
      outputCaptured: true,
      ...(inferenceId === undefined ? {} : { inferenceId }),
      ...(label === undefined ? {} : { outputLabel: label }),
      ...(t.latency ? { outputLatencyMs: latencyMs } : {}),
    });
    if (random() < t.captureShare)
      records.push(record('live', pFails ? undefined : productionLabel, pLatency));
    if (random() < t.shadowShare && random() < t.captureShare) {
      records.push(record('shadow', sFails ? undefined : shadowLabel, sLatency));
    }
  }
  return records;
}

/** How often each paired interval of the shadow report covered the truth, over `runs` windows. */
export interface PairedCoverage {
  readonly runs: number;
  /** Windows with at least one request labelled by both (the agreement interval exists). */
  readonly agreementRuns: number;
  readonly agreement: number;
  readonly failureDifference: number;
  /** Windows with a mean latency interval (enough pairs). */
  readonly latencyRuns: number;
  readonly latencyMean: number;
}

/**
 * Runs `runs` windows with `agreement` drawn uniformly from [low, high] in each (pointwise coverage
 * of a discrete count oscillates with p; the average over a range is what users meet).
 */
export function pairedCoverage(
  traffic: ShadowTraffic,
  agreementRange: readonly [number, number],
  runs: number,
  random: Random,
): PairedCoverage {
  let agreementRuns = 0;
  let agreementCovered = 0;
  let failureCovered = 0;
  let latencyRuns = 0;
  let latencyCovered = 0;
  for (let r = 0; r < runs; r++) {
    const agreement = agreementRange[0] + (agreementRange[1] - agreementRange[0]) * random();
    const t = { ...traffic, agreement };
    const pairing = countAgreement(simulateWindow(t, random), { production: 'live', shadow: 'shadow' });
    const report = compareShadow({
      production: { invocations: t.requests, errors5xx: 0, errors4xx: 0, latencyMs: null },
      shadow: { invocations: t.requests, errors5xx: 0, errors4xx: 0, latencyMs: null },
      agreement: { agreements: pairing.agreements, compared: pairing.compared },
      capture: { agreement: pairing, error: null },
    });
    const paired = report.paired;
    if (paired.status !== 'paired') continue;
    if (paired.agreement) {
      agreementRuns += 1;
      if (paired.agreement.lower <= agreement && agreement <= paired.agreement.upper) agreementCovered += 1;
    }
    const truth = t.shadowFail - t.productionFail;
    const f = paired.failureRateDifference;
    if (f.lower <= truth && truth <= f.upper) failureCovered += 1;
    if (paired.latency?.meanInterval) {
      latencyRuns += 1;
      const m = paired.latency.meanInterval;
      if (m.lower <= t.latencyShiftMs && t.latencyShiftMs <= m.upper) latencyCovered += 1;
    }
  }
  return {
    runs,
    agreementRuns,
    agreement: agreementCovered / Math.max(1, agreementRuns),
    failureDifference: failureCovered / runs,
    latencyRuns,
    latencyMean: latencyCovered / Math.max(1, latencyRuns),
  };
}
