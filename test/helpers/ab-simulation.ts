/**
 * Seeded simulation of an A/B experiment as the router produces it: a fixed population of users
 * hashed into buckets, each with their own error propensity and typical confidence; every night
 * a share of them come back and send a geometric number of requests (mean 10). The nightly
 * analysis sees the cumulative per-(variant, bucket) totals, exactly what the bucket-totals query
 * returns. Used by test/calibration/ab.test.ts (short) and bench/ab-calibration.ts (long).
 */
import {
  analyseExperiment,
  type BucketTotals,
  type Experiment,
  type ExperimentAnalysis,
} from '../../lambdas/core/routing/ab-experiment';
import { bucketSplitCheck } from '../../lambdas/core/statistics/ab-stats';
import { ASSIGNMENT_BUCKETS } from '../../lambdas/core/routing/assignment';
import type { Random } from '../../lambdas/core/statistics/gate-stats';
import { sampleRatioMismatch } from '../../lambdas/core/statistics/stats';
import { binomial } from './calibration';

export interface TrafficModel {
  /** Requests per minute over the whole model (both variants). */
  readonly requestsPerMinute: number;
  /** Candidate share of buckets, percent. */
  readonly candidatePercent: number;
  /** Mean requests per active user per day (geometric, at least 1). @default 10 */
  readonly requestsPerUser?: number;
  /** Chance that a user of the population is active on a given day. @default 0.5 */
  readonly dailyActiveShare?: number;
  /** Stable's mean error rate per request. @default 0.01 */
  readonly errorRate?: number;
  /** The candidate's error rate as a multiple of stable's (1: A/A). @default 1 */
  readonly candidateErrorFactor?: number;
  /** Mean confidence of stable. @default 0.8 */
  readonly meanConfidence?: number;
  /** Added to the candidate's confidence (0: A/A). @default 0 */
  readonly candidateConfidenceShift?: number;
}

export function experimentFixture(candidatePercent: number): Experiment {
  return {
    name: 'sim',
    candidatePercent,
    stableVersion: 's',
    candidateVersion: 'c',
    flags: ['experiment=sim', 'killSwitch=false', `candidatePercent=${candidatePercent}`],
    after: null,
    firstSeen: '2026-11-01T00:00:00.000Z',
    firstDay: '2026-11-01',
    startedBeforeWindow: false,
  };
}

/** A standard normal draw (Box–Muller). */
function normal(random: Random): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Geometric on 1, 2, … with the given mean. */
function geometric(mean: number, random: Random): number {
  const q = 1 / mean;
  return 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - q));
}

/**
 * Runs one experiment for `nights` nights and calls `look` with the analysis of each night's
 * cumulative totals; stops early when `look` returns true.
 */
export function simulateExperiment(
  model: TrafficModel,
  nights: number,
  random: Random,
  look: (analysis: ExperimentAnalysis, night: number) => boolean | void,
): void {
  const perUser = model.requestsPerUser ?? 10;
  const activeShare = model.dailyActiveShare ?? 0.5;
  const errorRate = model.errorRate ?? 0.01;
  const errorFactor = model.candidateErrorFactor ?? 1;
  const meanConfidence = model.meanConfidence ?? 0.8;
  const shift = model.candidateConfidenceShift ?? 0;
  const population = Math.max(1, Math.round((model.requestsPerMinute * 1440) / perUser / activeShare));
  const candidateBuckets = Math.round(model.candidatePercent * 100);

  const bucket = new Int32Array(population);
  const errorP = new Float64Array(population);
  const confMean = new Float64Array(population);
  for (let u = 0; u < population; u++) {
    bucket[u] = Math.floor(random() * ASSIGNMENT_BUCKETS);
    const candidate = bucket[u] < candidateBuckets;
    // Error propensity: Gamma(2, ½)-distributed multiple of the mean rate, so some users fail often.
    const g = -0.5 * (Math.log(1 - random()) + Math.log(1 - random()));
    errorP[u] = Math.min(1, errorRate * g * (candidate ? errorFactor : 1));
    confMean[u] = Math.min(
      0.99,
      Math.max(0.01, meanConfidence + 0.08 * normal(random) + (candidate ? shift : 0)),
    );
  }
  const n = new Float64Array(ASSIGNMENT_BUCKETS);
  const errors = new Float64Array(ASSIGNMENT_BUCKETS);
  const confN = new Float64Array(ASSIGNMENT_BUCKETS);
  const confSum = new Float64Array(ASSIGNMENT_BUCKETS);
  const experiment = experimentFixture(model.candidatePercent);
  const touched: number[] = [];
  for (let night = 1; night <= nights; night++) {
    for (let u = 0; u < population; u++) {
      if (random() >= activeShare) continue;
      const b = bucket[u];
      const k = geometric(perUser, random);
      const e = binomial(k, errorP[u], random);
      const ok = k - e;
      if (n[b] === 0) touched.push(b);
      n[b] += k;
      errors[b] += e;
      confN[b] += ok;
      // Per-request confidence spread 0.1 around the user's typical confidence.
      if (ok > 0) confSum[b] += ok * confMean[u] + Math.sqrt(ok) * 0.1 * normal(random);
    }
    const rows: BucketTotals[] = [];
    for (const b of touched) {
      rows.push({
        variant: b < candidateBuckets ? 'candidate' : 'stable',
        bucket: b,
        n: n[b],
        errors: errors[b],
        confidenceCount: confN[b],
        confidenceSum: confSum[b],
      });
    }
    if (look(analyseExperiment(rows, { experiment }), night) === true) return;
  }
}

const isWinner = (a: ExperimentAnalysis) =>
  a.comparisons.some((c) => c.verdict === 'candidate-higher' || c.verdict === 'candidate-lower');

/** Share of A/A experiments that show a winner on any metric at any of `nights` nightly looks. */
export function aaSpuriousWinnerRate(
  model: TrafficModel,
  nights: number,
  experiments: number,
  random: Random,
): number {
  let spurious = 0;
  for (let i = 0; i < experiments; i++) {
    let found = false;
    simulateExperiment(
      { ...model, candidateErrorFactor: 1, candidateConfidenceShift: 0 },
      nights,
      random,
      (a) => {
        found = isWinner(a);
        return found;
      },
    );
    if (found) spurious++;
  }
  return spurious / experiments;
}

export interface DetectionResult {
  /** Share of experiments where the error rate was found candidate-higher within `nights`. */
  readonly power: number;
  /** Median night of detection (Infinity when fewer than half detect). */
  readonly medianNight: number;
  /** Median minimum detectable effect of the error-rate difference on the first night. */
  readonly firstNightMde: number;
}

/** Power to find a higher candidate error rate (errorRate → errorRate × factor) within `nights`. */
export function errorRateDetection(
  model: TrafficModel,
  nights: number,
  experiments: number,
  random: Random,
): DetectionResult {
  const nightsToDetect: number[] = [];
  const mdes: number[] = [];
  for (let i = 0; i < experiments; i++) {
    let detectedAt = Infinity;
    simulateExperiment(model, nights, random, (a, night) => {
      const error = a.comparisons.find((c) => c.metric === 'error-rate');
      if (night === 1) mdes.push(error?.minimumDetectableEffect ?? Infinity);
      if (error?.verdict === 'candidate-higher') {
        detectedAt = night;
        return true;
      }
      return false;
    });
    nightsToDetect.push(detectedAt);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  return {
    power: nightsToDetect.filter(Number.isFinite).length / experiments,
    medianNight: median(nightsToDetect),
    firstNightMde: median(mdes),
  };
}

export interface SplitFalseAlarms {
  /** Share of healthy days the bucket check calls broken (p < 0.001). */
  readonly buckets: number;
  /** Share the old request-count chi-square calls broken, for comparison. */
  readonly requests: number;
}

/**
 * False-alarm rate of the split check on healthy days: `users` users hashed uniformly into the
 * 10,000 buckets, each sending a geometric number of requests (mean `requestsPerUser`).
 */
export function splitFalseAlarmRate(
  options: { readonly users: number; readonly candidatePercent: number; readonly requestsPerUser?: number },
  days: number,
  random: Random,
): SplitFalseAlarms {
  const perUser = options.requestsPerUser ?? 10;
  const k = Math.round(options.candidatePercent * 100);
  const active = new Uint8Array(ASSIGNMENT_BUCKETS);
  let bucketAlarms = 0;
  let requestAlarms = 0;
  for (let d = 0; d < days; d++) {
    active.fill(0);
    let requestsCandidate = 0;
    let requestsStable = 0;
    let activeCandidate = 0;
    let activeStable = 0;
    for (let u = 0; u < options.users; u++) {
      const b = Math.floor(random() * ASSIGNMENT_BUCKETS);
      const r = geometric(perUser, random);
      if (b < k) requestsCandidate += r;
      else requestsStable += r;
      if (active[b]) continue;
      active[b] = 1;
      if (b < k) activeCandidate++;
      else activeStable++;
    }
    const check = bucketSplitCheck({
      totalBuckets: ASSIGNMENT_BUCKETS,
      candidateBuckets: k,
      activeStable,
      activeCandidate,
    });
    if (check.pValue < 0.001) bucketAlarms++;
    const old = sampleRatioMismatch(
      [requestsStable, requestsCandidate],
      [100 - options.candidatePercent, options.candidatePercent],
    );
    if (old.pValue < 0.001) requestAlarms++;
  }
  return { buckets: bucketAlarms / days, requests: requestAlarms / days };
}
