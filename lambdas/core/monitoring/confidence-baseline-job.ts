/**
 * What the scheduled confidence baseline job (lambdas/confidence-baseline) decides, as plain data:
 * for the version that serves, whether its live baseline is due, over which window to measure it,
 * how the router's per-period series become period aggregates, and the record it leaves.
 *
 * The window starts when the version began serving this time: the later of its record's
 * `servedSince` (its first promotion) and `serving/state.json`'s `updatedAt`, which only a
 * promotion or a rollback writes. A version served again after a rollback is measured from the
 * rollback, not from its first promotion: the router's confidence metrics are version-free, so an
 * earlier window would hold the traffic of the version rolled back from.
 *
 * For the same reason a window holds no canary of a later release: during a canary SageMaker sends
 * part of the live endpoint's traffic to the candidate's fleet, and the router's metrics mix its
 * confidences with the served version's. A canary that did not pass (its record in the run's
 * `canary.json`) restarts the window after it ended, plus `CANDIDATE_SERVED_AFTER_MS` when the
 * canary stage itself put the previous config back (the candidate answers until that update ends);
 * one still running (the live endpoint is not in service on the served config) defers the
 * measurement. A shadow does not mix: "a production variant to take all the inference requests,
 * and a shadow variant to which Amazon SageMaker replicates a percentage of the inference requests"
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ShadowModeConfig.html), so the
 * router's answers, and the confidences it publishes, are the production variant's.
 *
 * The baseline is due `baselineHours` after that start, plus `METRIC_SETTLE_MS` for the router's
 * last datapoints to arrive. When the window has too few usable periods (quiet traffic), the
 * window grows with each run until it has enough or reaches `MAX_WINDOW_MS`.
 *
 * Pure: no SDK, no clock (the time is passed in).
 */
import { z } from 'zod';
import {
  estimateBaseline,
  MIN_BASELINE_PERIODS,
  type BaselineEstimate,
  type PeriodAggregate,
} from './confidence-alarm';
import type { ConfidenceBaselineRecord } from './confidence-baseline';
import type { ServingState } from '../serving/serving-records';

/**
 * How long after a period ends the job waits before reading it. The router publishes through the
 * embedded metric format (log-derived metrics), which reach CloudWatch within a few minutes.
 */
export const METRIC_SETTLE_MS = 5 * 60_000;

/**
 * Longest window read: one-minute datapoints are kept 15 days ("Data points with a period of 60
 * seconds (1-minute) are available for 15 days"):
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
 */
export const MAX_WINDOW_MS = 14 * 24 * 3_600_000;

export interface BaselineJobInput {
  /** `serving/state.json`, or null before the first release. */
  readonly state: ServingState | null;
  /** The served version's baseline record, or null when it has none. */
  readonly record: ConfidenceBaselineRecord | null;
  readonly now: Date;
  readonly baselineHours: number;
  readonly periodSeconds: number;
  /** Canary records of the model (any release); only those overlapping the window matter. @default [] */
  readonly canaries?: readonly CanaryActivity[];
  /**
   * What is updating the live endpoint now (e.g. "Updating to config X"), or null when it is in
   * service on the served version's config. @default null
   */
  readonly liveUpdate?: string | null;
}

export type BaselineJobStep =
  /** No release yet: nothing to measure. */
  | { readonly kind: 'nothing-serves'; readonly why: string }
  /**
   * The served version has no record: a promotion or rollback is between writing the serving
   * state and re-baselining the alarm (it writes the record then), or that step failed and its
   * retry will. The job does not write one: it does not know the eval mean a promotion brings.
   */
  | { readonly kind: 'no-record'; readonly modelVersion: string; readonly why: string }
  /** The record has its baseline: the alarm should be armed on it. */
  | { readonly kind: 'has-baseline'; readonly modelVersion: string; readonly why: string }
  /** The baseline window has not ended: the alarm stays provisional. */
  | {
      readonly kind: 'wait';
      readonly modelVersion: string;
      readonly windowStart: Date;
      readonly due: Date;
      readonly why: string;
    }
  /** Measure over [windowStart, windowEnd), both on period boundaries. */
  | {
      readonly kind: 'measure';
      readonly modelVersion: string;
      readonly windowStart: Date;
      readonly windowEnd: Date;
      readonly why: string;
    };

const HOUR_MS = 3_600_000;

/**
 * How long the candidate may still answer after a failed canary's record: the stage puts the
 * previous config back with a plain UpdateEndpoint (blue/green, all at once: a new fleet is
 * provisioned before traffic shifts, several minutes:
 * https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html).
 */
export const CANDIDATE_SERVED_AFTER_MS = 30 * 60_000;

/** A canary of a later release, from its record: when its candidate took traffic. */
export interface CanaryActivity {
  readonly modelVersion: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  /** `failed`: the stage put the previous config back itself, after `finishedAt`. */
  readonly outcome: 'live' | 'rolled-back' | 'failed';
}

/** Until when a canary's candidate may have answered on the live endpoint. */
export function canaryTrafficEnd(c: CanaryActivity): Date {
  return new Date(c.finishedAt.getTime() + (c.outcome === 'failed' ? CANDIDATE_SERVED_AFTER_MS : 0));
}

/** When the served version began serving this time (see the module comment). */
export function servingStart(state: ServingState, record: ConfidenceBaselineRecord): Date {
  return new Date(Math.max(Date.parse(record.servedSince), Date.parse(state.updatedAt)));
}

export function planBaselineJob(input: BaselineJobInput): BaselineJobStep {
  const { state, record, now } = input;
  if (state === null) return { kind: 'nothing-serves', why: 'no release has been promoted yet' };
  const modelVersion = state.live.modelVersion;
  if (record === null || record.modelVersion !== modelVersion) {
    return {
      kind: 'no-record',
      modelVersion,
      why:
        `${modelVersion} serves but has no confidence baseline record yet: the promotion or rollback that made it ` +
        'serve writes it when it re-baselines the alarm; the next run looks again',
    };
  }
  if (record.baseline !== null) {
    return {
      kind: 'has-baseline',
      modelVersion,
      why: `${modelVersion}'s live baseline was measured over ${record.baseline.windowStart} to ${record.baseline.windowEnd}`,
    };
  }
  const periodMs = input.periodSeconds * 1000;
  const started = servingStart(state, record);
  // A later release's canary mixed its candidate's confidences in: the window starts after it.
  const mixing = (input.canaries ?? [])
    .filter((c) => c.modelVersion !== modelVersion && canaryTrafficEnd(c).getTime() > started.getTime())
    .sort((a, b) => canaryTrafficEnd(a).getTime() - canaryTrafficEnd(b).getTime())
    .at(-1);
  const from = mixing ? new Date(Math.max(started.getTime(), canaryTrafficEnd(mixing).getTime())) : started;
  // Whole periods only: the first one that starts at or after the version began serving.
  const windowStart = new Date(Math.ceil(from.getTime() / periodMs) * periodMs);
  const due = new Date(windowStart.getTime() + input.baselineHours * HOUR_MS + METRIC_SETTLE_MS);
  const restarted = mixing
    ? `; the canary of ${mixing.modelVersion} (${mixing.startedAt.toISOString()} to ${canaryTrafficEnd(mixing).toISOString()}) ` +
      "mixed its candidate's confidences into the router's metrics, so the window starts after it"
    : '';
  if (now.getTime() < due.getTime()) {
    return {
      kind: 'wait',
      modelVersion,
      windowStart,
      due,
      why:
        `${modelVersion} has served since ${started.toISOString()}${restarted}; its ${input.baselineHours}-hour baseline window ` +
        `ends at ${new Date(due.getTime() - METRIC_SETTLE_MS).toISOString()}, so the alarm stays provisional until then`,
    };
  }
  if (input.liveUpdate) {
    return {
      kind: 'wait',
      modelVersion,
      windowStart,
      due,
      why:
        `${modelVersion}'s baseline window has ended, but the live endpoint is not in service on its config (${input.liveUpdate}): ` +
        "a canary would mix its candidate's confidences into the window; the next run looks again",
    };
  }
  const settled = Math.floor((now.getTime() - METRIC_SETTLE_MS) / periodMs) * periodMs;
  const windowEnd = new Date(Math.min(settled, windowStart.getTime() + MAX_WINDOW_MS));
  return {
    kind: 'measure',
    modelVersion,
    windowStart,
    windowEnd,
    why: `${modelVersion}'s baseline window has ended: measuring ${windowStart.toISOString()} to ${windowEnd.toISOString()}`,
  };
}

/** One series of GetMetricData: timestamps (any order) and their values. */
export interface MetricSeries {
  readonly timestamps: readonly Date[];
  readonly values: readonly number[];
}

/**
 * The periods in which all three series have a datapoint (SampleCount and Sum of `Confidence`,
 * Sum of `ConfidenceSquared`), in time order: the estimate's autocorrelation reads them in order.
 */
export function periodsOfSeries(
  count: MetricSeries,
  sum: MetricSeries,
  sumOfSquares: MetricSeries,
): PeriodAggregate[] {
  const byTime = (s: MetricSeries) => {
    const m = new Map<number, number>();
    s.timestamps.forEach((t, i) => {
      const v = s.values[i];
      if (v !== undefined && Number.isFinite(v)) m.set(t.getTime(), v);
    });
    return m;
  };
  const n = byTime(count);
  const s = byTime(sum);
  const q = byTime(sumOfSquares);
  return [...n.keys()]
    .sort((a, b) => a - b)
    .filter((t) => s.has(t) && q.has(t) && n.get(t)! > 0)
    .map((t) => ({ n: n.get(t)!, s: s.get(t)!, q: q.get(t)! }));
}

export interface MeasuredBaseline {
  /** The record to write. */
  readonly record: ConfidenceBaselineRecord;
  /** The estimate, or null when the window had too few usable periods. */
  readonly estimate: BaselineEstimate | null;
  /** One sentence for the log and the summary. */
  readonly said: string;
}

/**
 * The record after a measurement: with its baseline when the window had at least
 * `MIN_BASELINE_PERIODS` periods of `minRequests` requests; else still without one, and
 * `lastAttempt` saying how far it got.
 */
export function measuredRecord(
  record: ConfidenceBaselineRecord,
  periods: readonly PeriodAggregate[],
  window: { readonly start: Date; readonly end: Date },
  minRequests: number,
  now: Date,
  by: string,
): MeasuredBaseline {
  const estimate = estimateBaseline(periods, minRequests);
  const windowStart = window.start.toISOString();
  const windowEnd = window.end.toISOString();
  const base = { ...record, updatedAt: now.toISOString(), updatedBy: by };
  if (estimate) {
    return {
      estimate,
      record: {
        ...base,
        baseline: {
          mean: estimate.mean,
          periodVariance: estimate.periodVariance,
          periods: estimate.periods,
          requests: Math.round(estimate.requests),
          betweenPeriodStdDev: estimate.betweenPeriodStdDev,
          meanStandardError: estimate.meanStandardError,
          windowStart,
          windowEnd,
        },
      },
      said:
        `${record.modelVersion}'s live baseline: mean confidence ${estimate.mean.toFixed(4)}, period-to-period sd ` +
        `${estimate.betweenPeriodStdDev.toFixed(4)}, from ${estimate.periods} periods and ${Math.round(estimate.requests)} requests ` +
        `(${windowStart} to ${windowEnd})`,
    };
  }
  const usable = periods.filter((p) => p.n >= minRequests && p.n >= 2);
  const atLimit = window.end.getTime() - window.start.getTime() >= MAX_WINDOW_MS;
  const requests = Math.round(periods.reduce((a, p) => a + p.n, 0));
  return {
    estimate: null,
    record: {
      ...base,
      lastAttempt: {
        at: now.toISOString(),
        windowStart,
        windowEnd,
        usablePeriods: usable.length,
        neededPeriods: MIN_BASELINE_PERIODS,
        requests,
      },
    },
    said:
      `${record.modelVersion} stays provisional: ${usable.length} of the ${MIN_BASELINE_PERIODS} periods a baseline needs had ` +
      `at least ${minRequests} requests (${requests} requests from ${windowStart} to ${windowEnd}); ` +
      (atLimit
        ? 'the window is at its 14-day limit: the traffic is too low for this rule (docs/statistics.md, "Live detectors")'
        : 'the window grows with each run until it has enough'),
  };
}

const text = (what: string) => z.string({ error: `the ${what}` }).min(1, { error: `the ${what}` });

/** The baseline job's environment: the contract with the construct that deploys it. */
export const confidenceBaselineJobEnvSchema = z.object({
  /** The release settings parameter: the model's `monitoring.confidenceAlarm` (window, nMin, provisional sd). */
  RELEASE_SETTINGS_PARAMETER: text('release settings parameter name'),
  /** Holds `serving/state.json` and the baseline records. */
  ARTIFACTS_BUCKET: text('artifacts bucket name'),
  /** The live endpoint: a baseline is not measured while a release updates it (a canary mixes its traffic in). */
  LIVE_ENDPOINT: text('live endpoint name'),
  /** The live confidence alarm: read for its metrics, rewritten (armed) once the baseline exists. */
  CONFIDENCE_ALARM_NAME: text('confidence alarm name'),
  /** The rollback function's ARN as it appears among that alarm's actions (armed: present). */
  CONFIDENCE_ROLLBACK_ACTION_ARN: z
    .string({ error: "the ARN of the rollback function, as the confidence alarm's action" })
    .startsWith('arn:', {
      error: "the ARN of the rollback function, as the confidence alarm's action (arn:...)",
    }),
});
export type ConfidenceBaselineJobEnv = z.output<typeof confidenceBaselineJobEnvSchema>;
