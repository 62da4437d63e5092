/**
 * Seeded simulations that measure the release gates' statistics: interval coverage, false-failure
 * rate and power of the regression gate, false-alarm rate of the drift gate. The calibration tests
 * (test/calibration) run them briefly against the issue's tolerances; bench/calibration.ts runs them
 * long and writes the table in docs/statistics.md. Every number comes from `seededRandom`.
 */
import type { CategoryCounts } from '../../lambdas/core/contracts/records';
import { compareDistributions } from '../../lambdas/core/statistics/drift';
import type { EvalReport, EvalSetMetrics } from '../../lambdas/core/gates/eval-report';
import {
  binomialInterval,
  decideVerdict,
  GATE_INTERVAL_CONFIDENCE,
  marginOutcome,
  pairedDifferenceInterval,
  unpairedDifferenceInterval,
  type InconclusivePolicy,
  type Random,
} from '../../lambdas/core/statistics/gate-stats';
import type { ExampleResult } from '../../lambdas/core/gates/predictions';
import { checkRegression, DEFAULT_REGRESSION_THRESHOLDS } from '../../lambdas/core/gates/regression-gate';
import { wilsonInterval, type Interval } from '../../lambdas/core/statistics/stats';

/**
 * A Binomial(n, p) draw: by inversion of the CDF from 0 (about n·min(p, 1 − p) steps) when
 * (1 − q)^n does not underflow, else as n Bernoulli draws. Exact either way.
 */
export function binomial(n: number, p: number, random: Random): number {
  const q = Math.min(p, 1 - p);
  const logPmf0 = n * Math.log1p(-q);
  if (logPmf0 < -700) {
    let x = 0;
    for (let i = 0; i < n; i++) if (random() < p) x++;
    return x;
  }
  const u = random();
  let pmf = Math.exp(logPmf0);
  let cdf = pmf;
  let x = 0;
  const ratio = q / (1 - q);
  while (u >= cdf && x < n) {
    pmf *= ((n - x) / (x + 1)) * ratio;
    x++;
    cdf += pmf;
  }
  return q === p ? x : n - x;
}

/** Counts of `n` draws from the categorical distribution `probabilities`. */
export function multinomial(n: number, probabilities: readonly number[], random: Random): number[] {
  const counts = probabilities.map(() => 0);
  for (let i = 0; i < n; i++) {
    let u = random();
    let k = 0;
    while (k < probabilities.length - 1 && u >= probabilities[k]) {
      u -= probabilities[k];
      k++;
    }
    counts[k]++;
  }
  return counts;
}

const covers = (interval: Interval, truth: number) => interval.lower <= truth && truth <= interval.upper;

/**
 * Coverage of a one-proportion interval at 95%, with p drawn uniformly from [pLow, pHigh] in each
 * run: the coverage a user meets over that range of true rates (pointwise coverage of any interval
 * for a discrete count oscillates with p; the average is what a range of users experiences).
 */
export function binomialCoverage(
  method: 'modified-wilson' | 'wilson',
  n: number,
  pLow: number,
  pHigh: number,
  runs: number,
  random: Random,
): number {
  let covered = 0;
  for (let r = 0; r < runs; r++) {
    const p = pLow + (pHigh - pLow) * random();
    const x = binomial(n, p, random);
    const interval = method === 'wilson' ? wilsonInterval(x, n) : binomialInterval(x, n);
    if (covers(interval, p)) covered++;
  }
  return covered / runs;
}

/** Coverage at 95% of the unpaired difference (Newcombe hybrid) with unequal n and p2 = p1 + gap. */
export function unpairedCoverage(
  n1: number,
  n2: number,
  pLow: number,
  pHigh: number,
  gap: number,
  runs: number,
  random: Random,
): number {
  let covered = 0;
  for (let r = 0; r < runs; r++) {
    const p1 = pLow + (pHigh - pLow) * random();
    const p2 = p1 + gap;
    const d = unpairedDifferenceInterval(binomial(n1, p1, random), n1, binomial(n2, p2, random), n2, 0.95);
    if (covers(d, p1 - p2)) covered++;
  }
  return covered / runs;
}

/** Cell probabilities of the paired table: both right, candidate only, baseline only, neither. */
export function pairedCells(accuracy: number, discordance: number, drop: number): number[] {
  const candidateOnly = (discordance - drop) / 2;
  const baselineOnly = (discordance + drop) / 2;
  const both = accuracy - baselineOnly;
  return [both, candidateOnly, baselineOnly, 1 - both - candidateOnly - baselineOnly];
}

/** Coverage at 95% of the paired difference (Newcombe paired) for a baseline accuracy and discordance. */
export function pairedCoverage(
  n: number,
  accuracy: number,
  discordance: number,
  drop: number,
  runs: number,
  random: Random,
): number {
  const cells = pairedCells(accuracy, discordance, drop);
  let covered = 0;
  for (let r = 0; r < runs; r++) {
    const [a, b, c, d] = multinomial(n, cells, random);
    const interval = pairedDifferenceInterval({
      bothCorrect: a,
      candidateOnly: b,
      baselineOnly: c,
      neitherCorrect: d,
    });
    if (covers(interval, -drop)) covered++;
  }
  return covered / runs;
}

/** How often the accuracy check fails and how often its interval is inconclusive. */
export interface GateRates {
  readonly fail: number;
  readonly inconclusive: number;
}

/**
 * The accuracy check of the regression gate, as `checkRegression` makes it from per-example results
 * (paired) or from two reports' totals (unpaired), on a candidate truly worse by `drop`.
 */
export function accuracyGateRates(options: {
  readonly n: number;
  readonly accuracy: number;
  readonly discordance: number;
  readonly drop: number;
  readonly margin: number;
  readonly policy: InconclusivePolicy;
  readonly paired: boolean;
  readonly runs: number;
  readonly random: Random;
}): GateRates {
  const { n, accuracy, discordance, drop, margin, policy, paired, runs, random } = options;
  const cells = pairedCells(accuracy, discordance, drop);
  let fail = 0;
  let inconclusive = 0;
  for (let r = 0; r < runs; r++) {
    let interval: Interval;
    if (paired) {
      const [a, b, c, d] = multinomial(n, cells, random);
      interval = pairedDifferenceInterval(
        { bothCorrect: a, candidateOnly: b, baselineOnly: c, neitherCorrect: d },
        GATE_INTERVAL_CONFIDENCE,
      );
    } else {
      // Two independent runs on independent samples: what a gate without per-example results compares.
      const xc = binomial(n, accuracy - drop, random);
      const xb = binomial(n, accuracy, random);
      interval = unpairedDifferenceInterval(xc, n, xb, n, GATE_INTERVAL_CONFIDENCE);
    }
    const worsening = { estimate: -interval.estimate, lower: -interval.upper, upper: -interval.lower };
    const outcome = marginOutcome(worsening, margin);
    if (outcome === 'inconclusive') inconclusive++;
    if (decideVerdict(outcome, worsening.estimate, margin, policy).verdict === 'fail') fail++;
  }
  return { fail: fail / runs, inconclusive: inconclusive / runs };
}

/** A minimal eval set entry whose metrics agree with `rows`. */
function evalSetFrom(rows: readonly ExampleResult[]): EvalSetMetrics {
  const slices: Record<string, [number, number]> = {};
  let correct = 0;
  for (const row of rows) {
    const ok = row.label === row.predicted;
    if (ok) correct++;
    for (const s of row.slices) {
      slices[s] ??= [0, 0];
      slices[s][1]++;
      if (ok) slices[s][0]++;
    }
  }
  return {
    accuracy: correct / rows.length,
    p95LatencyMs: 50,
    costPer1kRequests: 0.4,
    sliceAccuracy: Object.fromEntries(Object.entries(slices).map(([s, [c, t]]) => [s, c / t])),
    confidence: { mean: 0.9, std: 0 },
    rowCount: rows.length,
    datasetMd5: '0'.repeat(32),
    extraMetrics: {},
  };
}

function report(version: string, rows: readonly ExampleResult[]): EvalReport {
  return {
    schemaVersion: 2,
    model: 'm',
    modelVersion: version,
    generatedAt: '2026-12-06T00:00:00Z',
    currency: 'USD',
    evalSets: { golden_set: { ...evalSetFrom(rows), predictionsFile: `${version}.jsonl` } },
  };
}

/**
 * The whole regression gate (`checkRegression`, per-example results on both sides) on two models of
 * the same true accuracy in every slice: how often it fails overall, and the bias-gap check alone.
 */
export function identicalModelsGateRates(options: {
  readonly n: number;
  readonly slices: number;
  readonly accuracy: number;
  readonly discordance: number;
  readonly policy: InconclusivePolicy;
  readonly resamples: number;
  readonly runs: number;
  readonly random: Random;
}): { readonly gate: number; readonly biasGap: number; readonly accuracy: number } {
  const { n, slices, accuracy, discordance, policy, resamples, runs, random } = options;
  const cells = pairedCells(accuracy, discordance, 0);
  let gate = 0;
  let biasGap = 0;
  let accuracyFails = 0;
  for (let r = 0; r < runs; r++) {
    const cand: ExampleResult[] = [];
    const base: ExampleResult[] = [];
    for (let i = 0; i < n; i++) {
      const slice = [`slice=${Math.floor(random() * slices)}`];
      let u = random();
      let k = 0;
      while (k < 3 && u >= cells[k]) {
        u -= cells[k];
        k++;
      }
      const candRight = k === 0 || k === 1;
      const baseRight = k === 0 || k === 2;
      const common = { id: `e${i}`, label: 'a', confidence: 0.9, latencyMs: 50, slices: slice, line: i + 1 };
      cand.push({ ...common, predicted: candRight ? 'a' : 'b' });
      base.push({ ...common, predicted: baseRight ? 'a' : 'b' });
    }
    const result = checkRegression(
      report('cand', cand),
      report('base', base),
      DEFAULT_REGRESSION_THRESHOLDS,
      {
        examples: {
          candidate: new Map([['golden_set', { rows: cand, file: 'cand.jsonl', report: 'cand.json' }]]),
          baseline: new Map([['golden_set', { rows: base, file: 'base.jsonl', report: 'base.json' }]]),
        },
        onInconclusive: policy,
        bootstrapResamples: resamples,
      },
    );
    if (result.verdict === 'fail') gate++;
    if (result.checks.some((c) => c.check === 'biasGap' && c.verdict === 'fail')) biasGap++;
    if (result.checks.some((c) => c.check === 'accuracy' && c.verdict === 'fail')) accuracyFails++;
  }
  return { gate: gate / runs, biasGap: biasGap / runs, accuracy: accuracyFails / runs };
}

/** The 5-class label distribution. */
export const FIVE_CLASSES = [0.4, 0.25, 0.15, 0.12, 0.08];

function countsOf(counts: readonly number[]): CategoryCounts {
  return Object.fromEntries(counts.map((c, i) => [`class${i}`, c]).filter(([, c]) => (c as number) > 0));
}

/**
 * How often the drift gate fails two iid samples of `n` rows each from one distribution, with the
 * significance test (the gate now) or on the distance alone (the gate before).
 */
export function driftFalseAlarmRate(options: {
  readonly n: number;
  readonly shares: readonly number[];
  readonly maxDrift: number;
  readonly rule: 'distance-and-significance' | 'distance-only';
  readonly runs: number;
  readonly random: Random;
}): number {
  const { n, shares, maxDrift, rule, runs, random } = options;
  let fails = 0;
  for (let r = 0; r < runs; r++) {
    const report = compareDistributions(
      's',
      'label',
      countsOf(multinomial(n, shares, random)),
      countsOf(multinomial(n, shares, random)),
      maxDrift,
      0,
      { minRows: 1 },
    );
    if (rule === 'distance-only' ? report.jsDistance > maxDrift : !report.passed) fails++;
  }
  return fails / runs;
}

/** How often the drift gate fails when one class's share truly moves from `from` to `to`. */
export function driftDetectionRate(options: {
  readonly n: number;
  readonly shares: readonly number[];
  readonly shifted: readonly number[];
  readonly maxDrift: number;
  readonly runs: number;
  readonly random: Random;
}): number {
  const { n, shares, shifted, maxDrift, runs, random } = options;
  let fails = 0;
  for (let r = 0; r < runs; r++) {
    const report = compareDistributions(
      's',
      'label',
      countsOf(multinomial(n, shifted, random)),
      countsOf(multinomial(n, shares, random)),
      maxDrift,
      0,
    );
    if (!report.passed) fails++;
  }
  return fails / runs;
}
