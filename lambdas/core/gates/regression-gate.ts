/**
 * The regression gate: the candidate's eval report against the promoted model's (the baseline).
 * One check per gated metric per eval set, each with the numbers, the threshold and a reason a person can
 * act on. It fails closed: anything it cannot compare is a failure with a reason, never a silent pass.
 * The rules, the tolerance and the zero-baseline case are documented in docs/eval-report.md.
 */
import type { RegressionThresholds, Verdict } from '../contracts/records';
import type { EvalReport, EvalSetMetrics } from './eval-report';
import {
  aboutRows,
  decideVerdict,
  DEFAULT_ASSUMED_DISCORDANCE,
  GATE_INTERVAL_CONFIDENCE,
  marginOutcome,
  pairedDifferenceInterval,
  rowsNeededForMargin,
  seededRandom,
  seedFromText,
  unpairedDifferenceInterval,
  type DecidingRule,
  type InconclusivePolicy,
  type MarginOutcome,
} from '../statistics/gate-stats';
import {
  metricDisagreements,
  metricsFromExamples,
  pairExamples,
  type ExampleResult,
  type PairedExamples,
} from './predictions';

/**
 * Thresholds used when config sets none (the source article's values):
 * accuracy may drop by at most 0.02 (absolute), p95 latency and cost per 1k requests may grow by at most
 * 15 % and 10 %, and the bias gap (best minus worst slice accuracy) may grow by at most 0.03 (absolute).
 */
export const DEFAULT_REGRESSION_THRESHOLDS: RegressionThresholds = Object.freeze({
  maxAccuracyDrop: 0.02,
  maxLatencyIncreasePct: 15,
  maxCostIncreasePct: 10,
  maxBiasGapIncrease: 0.03,
});

/**
 * Float noise allowed when comparing with a threshold, in the threshold's unit (fraction or percent).
 * `0.92 - 0.9` is `0.020000000000000018`: without it a drop of exactly the threshold would fail.
 */
export const REGRESSION_TOLERANCE = 1e-9;

/** The metrics the gate compares, named as the camelCase fields of {@link EvalSetMetrics}. */
export type GatedMetric = 'accuracy' | 'p95LatencyMs' | 'costPer1kRequests' | 'biasGap';

/** What a check looked at: a gated metric, or whether a comparison is possible at all. */
export type RegressionCheckName = GatedMetric | 'model' | 'evalSet' | 'dataset' | 'examples';

/** The interval behind a statistical verdict, in the metric's unit (candidate − baseline). */
export interface CheckInterval {
  readonly lower: number;
  readonly upper: number;
  /** Two-sided confidence, 0.9: each bound is a one-sided 95% statement. */
  readonly confidence: number;
  /** The method and its reference. */
  readonly method: string;
}

/** One verdict. Plain JSON: numbers are finite or null. */
export interface RegressionCheck {
  /** Eval set the check belongs to; null for whole-report checks (`model`). */
  readonly evalSet: string | null;
  readonly check: RegressionCheckName;
  /** Baseline value in the metric's unit (accuracy and bias gap 0..1, latency ms, cost in `currency`). */
  readonly baseline: number | null;
  readonly candidate: number | null;
  /** candidate − baseline, in the metric's unit. */
  readonly delta: number | null;
  /** 100 × delta / baseline, for latency and cost; null where a percent means nothing or is undefined. */
  readonly deltaPct: number | null;
  /** The config key whose value is `threshold`. */
  readonly thresholdKey: keyof RegressionThresholds | null;
  /** Accuracy: largest allowed drop; latency/cost: largest allowed increase in percent; bias gap: largest allowed increase. */
  readonly threshold: number | null;
  readonly verdict: Verdict;
  /**
   * What the interval alone says (accuracy and bias gap): pass (within the threshold with 95%
   * confidence), fail (beyond it with 95% confidence) or inconclusive; null where no interval applies.
   */
  readonly outcome: MarginOutcome | null;
  /** The rule that gave `verdict`: the interval, the point estimate, or the model's inconclusive policy. */
  readonly decidedBy: DecidingRule | null;
  readonly interval: CheckInterval | null;
  /** True when compared example by example, false when from the two reports' totals; null when not statistical. */
  readonly paired: boolean | null;
  /** What was compared, e.g. "paired, n = 5,000" or "unpaired, n = 5,000 vs 4,000". */
  readonly comparedOn: string | null;
  /** Rows this eval set needs to decide its accuracy margin (accuracy checks); null elsewhere. */
  readonly rowsNeeded: number | null;
  /** One line, e.g. "golden_set accuracy 0.940 → 0.910 (−0.030) exceeds the allowed drop 0.020". */
  readonly reason: string;
}

/** An eval set with fewer rows than its accuracy margin needs (`rowsNeededForMargin`). */
export interface UndersizedEvalSet {
  readonly evalSet: string;
  readonly rows: number;
  /** Rows needed at the observed discordance (paired) or the assumed one; see `message`. */
  readonly rowsNeeded: number;
  readonly message: string;
}

/** Outcome of {@link checkRegression}; survives `JSON.stringify` unchanged. */
export interface RegressionResult {
  /** 'fail' if any check failed. */
  readonly verdict: Verdict;
  readonly model: string;
  readonly candidateVersion: string;
  /** Null on a first release. */
  readonly baselineVersion: string | null;
  /** True when there was no baseline to compare against. */
  readonly firstRelease: boolean;
  /** Candidate's eval sets in file order, then baseline-only and required-but-missing ones. */
  readonly checks: readonly RegressionCheck[];
  /** Things a reviewer should know that are not failures (first release, new eval sets, allowed dataset change). */
  readonly notes: readonly string[];
  /**
   * Eval sets too small to decide their accuracy margin, one line each (also in `notes`), e.g.
   * "golden_set: 500 rows cannot decide a 0.02 accuracy margin; about 1,550 needed (...)".
   */
  readonly undersized: readonly UndersizedEvalSet[];
  /** One line for a pipeline failure message: verdict and the first failing reasons. */
  readonly summary: string;
}

/** Knobs the CLI and the gate Lambda pass through from config and flags. */
export interface RegressionOptions {
  /**
   * Eval sets the model's config declares; each must be in the candidate report, even on a first release.
   * @default - only the baseline's eval sets are required
   */
  readonly requiredEvalSets?: readonly string[];
  /**
   * Accept an eval set whose dataset md5 differs from the baseline's (the eval set was re-pinned) as a pass
   * with a note, instead of a failure. The metrics are still compared.
   * @default false
   */
  readonly allowDatasetChange?: boolean;
  /**
   * Per-example results by eval set name, each already parsed (`parsePredictions`). With both sides
   * of an eval set, accuracy is compared example by example and the bias gap gets a bootstrap interval;
   * each side's stated metrics are checked against its examples.
   * @default - none: unpaired comparison of the stated metrics
   */
  readonly examples?: {
    readonly candidate?: ReadonlyMap<string, ExampleSource>;
    readonly baseline?: ReadonlyMap<string, ExampleSource>;
  };
  /**
   * What an inconclusive interval turns into (`thresholds.onInconclusive`).
   * @default 'point-estimate' - the threshold applied to the observed change, as before intervals
   */
  readonly onInconclusive?: InconclusivePolicy;
  /**
   * Discordance assumed for the sizing note when no per-example results exist.
   * @default DEFAULT_ASSUMED_DISCORDANCE
   */
  readonly assumedDiscordance?: number;
  /**
   * Bootstrap resamples of the bias-gap interval.
   * @default BOOTSTRAP_RESAMPLES
   */
  readonly bootstrapResamples?: number;
}

/** The per-example results of one eval set, with the names messages use for them. */
export interface ExampleSource {
  readonly rows: readonly ExampleResult[];
  /** e.g. "predictions/golden_set.jsonl" (the report's `predictions_file`, or where it was read). */
  readonly file: string;
  /** The report the file belongs to, for messages. */
  readonly report: string;
}

/** Resamples of the bias-gap bootstrap: enough for stable 5% and 95% percentiles, a second at 5,000 rows. */
export const BOOTSTRAP_RESAMPLES = 1000;

interface MetricRule {
  readonly metric: GatedMetric;
  readonly label: string;
  readonly thresholdKey: keyof RegressionThresholds;
  /** 'drop': baseline − candidate ≤ t; 'increase': candidate − baseline ≤ t; 'increasePct': in percent of baseline. */
  readonly rule: 'drop' | 'increase' | 'increasePct';
  readonly range: 'fraction' | 'nonNegative';
}

const RULES: readonly MetricRule[] = [
  { metric: 'accuracy', label: 'accuracy', thresholdKey: 'maxAccuracyDrop', rule: 'drop', range: 'fraction' },
  {
    metric: 'p95LatencyMs',
    label: 'p95 latency',
    thresholdKey: 'maxLatencyIncreasePct',
    rule: 'increasePct',
    range: 'nonNegative',
  },
  {
    metric: 'costPer1kRequests',
    label: 'cost per 1k requests',
    thresholdKey: 'maxCostIncreasePct',
    rule: 'increasePct',
    range: 'nonNegative',
  },
  {
    metric: 'biasGap',
    label: 'bias gap (best − worst slice accuracy)',
    thresholdKey: 'maxBiasGapIncrease',
    rule: 'increase',
    range: 'fraction',
  },
];

/**
 * Compares a candidate's eval report with the baseline's under the given thresholds.
 * With no baseline (first release) every valid metric passes with a "no baseline" note.
 */
export function checkRegression(
  candidate: EvalReport,
  baseline: EvalReport | undefined,
  thresholds: RegressionThresholds,
  options: RegressionOptions = {},
): RegressionResult {
  const checks: RegressionCheck[] = [];
  const notes: string[] = [];
  const undersized: UndersizedEvalSet[] = [];
  const firstRelease = baseline === undefined;
  if (firstRelease) {
    notes.push(
      'no baseline: first release. Nothing was compared; these metrics become the baseline when the candidate is promoted.',
    );
  } else if (baseline.model !== candidate.model) {
    checks.push(
      makeCheck(
        null,
        'model',
        'fail',
        `the baseline is for model "${baseline.model}" but the candidate is "${candidate.model}": ` +
          'compare against the baseline_metrics.json of the same model',
      ),
    );
  }

  const baselineCurrency = baseline?.currency ?? candidate.currency;
  for (const [evalSet, cand] of Object.entries(candidate.evalSets)) {
    const base = baseline && own(baseline.evalSets, evalSet);
    if (base === undefined) {
      if (!firstRelease) {
        notes.push(
          `${evalSet} is new: the baseline has no metrics for it, so nothing was compared; ` +
            'its metrics become the baseline when the candidate is promoted.',
        );
      }
      for (const rule of RULES) checks.push(unbaselinedCheck(evalSet, rule, cand, firstRelease));
      continue;
    }
    checks.push(datasetCheck(evalSet, base, cand, options.allowDatasetChange ?? false, notes));
    const evidence = gatherEvidence(evalSet, base, cand, options, checks);
    for (const rule of RULES) {
      checks.push(
        compareMetric(evalSet, rule, base, cand, thresholds, baselineCurrency, candidate.currency, evidence),
      );
    }
    const accuracy = checks[checks.length - RULES.length];
    if (accuracy.rowsNeeded !== null && accuracy.rowsNeeded > cand.rowCount) {
      const line =
        `${evalSet}: ${cand.rowCount.toLocaleString('en-US')} rows cannot decide a ${thresholds.maxAccuracyDrop} ` +
        `accuracy margin; about ${aboutRows(accuracy.rowsNeeded)} needed (${evidence.discordanceSource})`;
      undersized.push({ evalSet, rows: cand.rowCount, rowsNeeded: accuracy.rowsNeeded, message: line });
      notes.push(line);
    }
  }

  const missing = new Set<string>();
  for (const evalSet of Object.keys(baseline?.evalSets ?? {})) {
    if (!Object.hasOwn(candidate.evalSets, evalSet)) missing.add(evalSet);
  }
  for (const evalSet of options.requiredEvalSets ?? []) {
    if (!Object.hasOwn(candidate.evalSets, evalSet)) missing.add(evalSet);
  }
  for (const evalSet of missing) {
    const why =
      baseline !== undefined && Object.hasOwn(baseline.evalSets, evalSet)
        ? 'is in the baseline but missing from the candidate report'
        : "is declared in the model's config but missing from the candidate report";
    checks.push(
      makeCheck(
        evalSet,
        'evalSet',
        'fail',
        `${evalSet} ${why}: the evaluate command must report every eval set`,
      ),
    );
  }

  const failed = checks.filter((c) => c.verdict === 'fail');
  const verdict: Verdict = failed.length > 0 ? 'fail' : 'pass';
  return {
    verdict,
    model: candidate.model,
    candidateVersion: candidate.modelVersion,
    baselineVersion: baseline?.modelVersion ?? null,
    firstRelease,
    checks,
    notes,
    undersized,
    summary: summarize(checks, failed, firstRelease),
  };
}

type CheckNumbers = Partial<
  Pick<
    RegressionCheck,
    | 'baseline'
    | 'candidate'
    | 'delta'
    | 'deltaPct'
    | 'thresholdKey'
    | 'threshold'
    | 'outcome'
    | 'decidedBy'
    | 'interval'
    | 'paired'
    | 'comparedOn'
    | 'rowsNeeded'
  >
>;

/** Every check has every key, in one order, so the JSON reads the same for all of them. */
function makeCheck(
  evalSet: string | null,
  check: RegressionCheckName,
  verdict: Verdict,
  reason: string,
  numbers: CheckNumbers = {},
): RegressionCheck {
  return {
    evalSet,
    check,
    baseline: numbers.baseline ?? null,
    candidate: numbers.candidate ?? null,
    delta: numbers.delta ?? null,
    deltaPct: numbers.deltaPct ?? null,
    thresholdKey: numbers.thresholdKey ?? null,
    threshold: numbers.threshold ?? null,
    verdict,
    outcome: numbers.outcome ?? null,
    decidedBy: numbers.decidedBy ?? null,
    interval: numbers.interval ?? null,
    paired: numbers.paired ?? null,
    comparedOn: numbers.comparedOn ?? null,
    rowsNeeded: numbers.rowsNeeded ?? null,
    reason,
  };
}

function summarize(
  checks: readonly RegressionCheck[],
  failed: readonly RegressionCheck[],
  firstRelease: boolean,
) {
  if (failed.length === 0) {
    const what = firstRelease ? 'no baseline: first release; ' : '';
    return `PASS: ${what}${checks.length} checks passed`;
  }
  const shown = failed.slice(0, 3).map((c) => c.reason);
  const more = failed.length > shown.length ? `; and ${failed.length - shown.length} more` : '';
  return `FAIL: ${failed.length} of ${checks.length} checks failed: ${shown.join('; ')}${more}`;
}

function datasetCheck(
  evalSet: string,
  base: EvalSetMetrics,
  cand: EvalSetMetrics,
  allowDatasetChange: boolean,
  notes: string[],
): RegressionCheck {
  if (base.datasetMd5 === cand.datasetMd5) {
    return makeCheck(
      evalSet,
      'dataset',
      'pass',
      `${evalSet} was evaluated on the same dataset as the baseline (md5 ${cand.datasetMd5})`,
    );
  }
  const changed =
    `${evalSet} was evaluated on dataset md5 ${cand.datasetMd5} but the baseline on ${base.datasetMd5}, ` +
    'so the metrics compare different data';
  if (allowDatasetChange) {
    notes.push(`${changed}; accepted because dataset changes are allowed for this run.`);
    return makeCheck(evalSet, 'dataset', 'pass', `${changed} (dataset change allowed)`);
  }
  return makeCheck(
    evalSet,
    'dataset',
    'fail',
    `${changed}: re-evaluate the baseline model on the new eval set, or allow the dataset change`,
  );
}

/** The value of a gated metric; bias gap computed from the slices (NaN when it cannot be). */
function metricValue(metric: GatedMetric, m: EvalSetMetrics): number {
  if (metric === 'biasGap') return biasGap(m.sliceAccuracy)?.gap ?? Number.NaN;
  return m[metric];
}

/** Best minus worst slice accuracy; undefined with fewer than two slices or any invalid accuracy. */
export function biasGap(
  slices: Readonly<Record<string, number>>,
): { gap: number; best: string; worst: string } | undefined {
  const entries = Object.entries(slices);
  if (entries.length < 2 || entries.some(([, a]) => !isInRange(a, 'fraction'))) return undefined;
  let [best, worst] = [entries[0], entries[0]];
  for (const entry of entries) {
    if (entry[1] > best[1]) best = entry;
    if (entry[1] < worst[1]) worst = entry;
  }
  return { gap: best[1] - worst[1], best: best[0], worst: worst[0] };
}

function isInRange(value: number, range: MetricRule['range']): boolean {
  return Number.isFinite(value) && value >= 0 && (range === 'nonNegative' || value <= 1);
}

/** Names come from files: `constructor` or `toString` must not find Object.prototype's members. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

function expectedRange(rule: MetricRule): string {
  return rule.range === 'fraction' ? 'a number from 0 to 1' : 'a finite number >= 0';
}

/** Why a metric value cannot be compared, or undefined when it can. */
function invalidValue(rule: MetricRule, which: string, m: EvalSetMetrics): string | undefined {
  if (rule.metric === 'biasGap') {
    const slices = Object.entries(m.sliceAccuracy);
    if (slices.length < 2) {
      return `the ${which} has ${slices.length} slice(s); a bias gap needs at least two slices in slice_accuracy`;
    }
    const bad = slices.find(([, a]) => !isInRange(a, 'fraction'));
    return bad
      ? `the ${which} slice "${bad[0]}" accuracy is ${bad[1]}; expected a number from 0 to 1`
      : undefined;
  }
  const value = m[rule.metric];
  return isInRange(value, rule.range)
    ? undefined
    : `the ${which} value is ${value}; expected ${expectedRange(rule)}`;
}

function unbaselinedCheck(
  evalSet: string,
  rule: MetricRule,
  cand: EvalSetMetrics,
  firstRelease: boolean,
): RegressionCheck {
  const value = metricValue(rule.metric, cand);
  const numbers = { candidate: finiteOrNull(value) };
  const invalid = invalidValue(rule, 'candidate', cand);
  if (invalid)
    return makeCheck(evalSet, rule.metric, 'fail', `${evalSet} ${rule.label}: ${invalid}`, numbers);
  const why = firstRelease ? 'no baseline (first release)' : 'no baseline for this eval set (new eval set)';
  const reason = `${evalSet} ${rule.label} ${formatValue(rule, value, '')}: ${why}, nothing to compare`;
  return makeCheck(evalSet, rule.metric, 'pass', reason, numbers);
}

function compareMetric(
  evalSet: string,
  rule: MetricRule,
  base: EvalSetMetrics,
  cand: EvalSetMetrics,
  thresholds: RegressionThresholds,
  baseCurrency: string,
  candCurrency: string,
  evidence: Evidence,
): RegressionCheck {
  const b = metricValue(rule.metric, base);
  const c = metricValue(rule.metric, cand);
  const t = thresholds[rule.thresholdKey];
  const validT = Number.isFinite(t) && t >= 0;
  const delta = finiteOrNull(c - b);
  const deltaPct = rule.rule === 'increasePct' && delta !== null ? percentChange(b, c) : null;
  const numbers: CheckNumbers = {
    baseline: finiteOrNull(b),
    candidate: finiteOrNull(c),
    delta,
    deltaPct,
    thresholdKey: rule.thresholdKey,
    threshold: validT ? t : null,
  };
  const fail = (reason: string) => makeCheck(evalSet, rule.metric, 'fail', reason, numbers);
  const title = `${evalSet} ${rule.label}`;

  const invalid = invalidValue(rule, 'baseline', base) ?? invalidValue(rule, 'candidate', cand);
  if (invalid) return fail(`${title}: ${invalid}`);
  if (!validT) {
    return fail(
      `${title}: threshold ${rule.thresholdKey} is ${t}; expected a finite number >= 0 ` +
        `(set thresholds.${rule.thresholdKey} in the model's config)`,
    );
  }
  if (rule.metric === 'costPer1kRequests' && baseCurrency !== candCurrency) {
    return fail(
      `${title}: the candidate reports ${candCurrency} but the baseline ${baseCurrency}; ` +
        'amounts in different currencies cannot be compared, write both reports in one currency',
    );
  }
  if (rule.metric === 'biasGap') {
    const dropped = Object.keys(base.sliceAccuracy).filter((s) => !Object.hasOwn(cand.sliceAccuracy, s));
    if (dropped.length > 0) {
      return fail(
        `${title}: slice(s) ${dropped.map((s) => `"${s}"`).join(', ')} are in the baseline but missing from ` +
          'the candidate; a dropped slice could hide a bias regression, so report every baseline slice',
      );
    }
  }

  const unit = rule.metric === 'costPer1kRequests' ? candCurrency : '';
  const move = `${formatValue(rule, b, unit)} → ${formatValue(rule, c, unit)}`;
  if (rule.rule === 'drop') {
    if (evidence.blocked) return fail(`${title}: ${evidence.blocked}`);
    const drop = b - c;
    const worsening = evidence.accuracyDifference
      ? { lower: -evidence.accuracyDifference.upper, upper: -evidence.accuracyDifference.lower }
      : undefined;
    const decision = statisticalDecision(worsening, drop, t, evidence.policy);
    const ok = decision.verdict === 'pass';
    const digits = ok ? 3 : digitsToTell(drop, t, 3);
    const shown = `${title} ${fixed(b, digits)} → ${fixed(c, digits)} (${signed(c - b, digits)})`;
    const word = drop <= t + REGRESSION_TOLERANCE ? 'is within' : 'exceeds';
    const detail = worsening
      ? `; ${evidence.comparedOn}: drop 90% CI ${fixed(worsening.lower, 3)} to ${fixed(worsening.upper, 3)}, ` +
        describeDecision(decision)
      : '';
    const extra: CheckNumbers = {
      ...decision,
      interval: evidence.accuracyDifference
        ? {
            lower: evidence.accuracyDifference.lower,
            upper: evidence.accuracyDifference.upper,
            confidence: GATE_INTERVAL_CONFIDENCE,
            method: evidence.accuracyDifference.method,
          }
        : null,
      paired: evidence.accuracyDifference ? evidence.accuracyDifference.paired : null,
      comparedOn: evidence.comparedOn,
      rowsNeeded: evidence.rowsNeeded(t),
    };
    const reason = `${shown} ${word} the allowed drop ${fixed(t, digits)}${detail}`;
    return makeCheck(evalSet, rule.metric, decision.verdict, reason, { ...numbers, ...extra });
  }
  if (rule.rule === 'increase') {
    if (evidence.blocked) return fail(`${title}: ${evidence.blocked}`);
    const increase = c - b;
    const gapInterval = evidence.gapIncrease(
      Object.keys(cand.sliceAccuracy),
      Object.keys(base.sliceAccuracy),
    );
    const decision = statisticalDecision(gapInterval, increase, t, evidence.policy);
    const ok = decision.verdict === 'pass';
    const digits = ok ? 3 : digitsToTell(increase, t, 3);
    const gap = biasGap(cand.sliceAccuracy)!;
    const slices = `; candidate best slice "${gap.best}", worst "${gap.worst}"`;
    const shown = `${title} ${fixed(b, digits)} → ${fixed(c, digits)} (${signed(increase, digits)})`;
    const word = increase <= t + REGRESSION_TOLERANCE ? 'is within' : 'exceeds';
    const detail = gapInterval
      ? `; paired bootstrap, n = ${evidence.pairedRows.toLocaleString('en-US')}: increase 90% CI ` +
        `${fixed(gapInterval.lower, 3)} to ${fixed(gapInterval.upper, 3)}, ${describeDecision(decision)}`
      : `; no per-example results on both sides, so no interval: point estimate`;
    const extra: CheckNumbers = {
      ...decision,
      interval: gapInterval
        ? {
            lower: gapInterval.lower,
            upper: gapInterval.upper,
            confidence: GATE_INTERVAL_CONFIDENCE,
            method: `paired percentile bootstrap over examples (${gapInterval.resamples} resamples, seeded)`,
          }
        : null,
      paired: gapInterval ? true : null,
      comparedOn: gapInterval
        ? `paired, n = ${evidence.pairedRows.toLocaleString('en-US')}`
        : 'stated slice accuracies',
    };
    const reason = `${shown} ${word} the allowed increase ${fixed(t, digits)}${slices}${detail}`;
    return makeCheck(evalSet, rule.metric, decision.verdict, reason, { ...numbers, ...extra });
  }
  // increasePct: a percent of a zero baseline is undefined. Zero to zero did not grow; zero to anything did,
  // without bound, and a zero latency or cost baseline is a measurement error worth a look.
  if (deltaPct === null) {
    return fail(
      `${title} ${move}: the baseline is 0, so the increase in percent is unbounded; ` +
        're-evaluate the baseline model (a 0 baseline is almost certainly a measurement error)',
    );
  }
  const ok = deltaPct <= t + REGRESSION_TOLERANCE;
  const digits = ok ? 1 : digitsToTell(deltaPct, t, 1);
  const shown = `${title} ${move} (${signed(deltaPct, digits)}%)`;
  const what =
    rule.metric === 'p95LatencyMs'
      ? `; compared: each report's p95 over its ${cand.rowCount.toLocaleString('en-US')} (candidate) and ` +
        `${base.rowCount.toLocaleString('en-US')} (baseline) rows, point estimates with a relative threshold`
      : `; compared: each report's stated cost per 1k requests, point estimates with a relative threshold`;
  const decided: CheckNumbers = { decidedBy: 'point-estimate', comparedOn: what.slice(11) };
  return ok
    ? makeCheck(
        evalSet,
        rule.metric,
        'pass',
        `${shown} is within the allowed increase ${trimZeros(fixed(t, digits))}%${what}`,
        { ...numbers, ...decided },
      )
    : makeCheck(
        evalSet,
        rule.metric,
        'fail',
        `${shown} exceeds the allowed increase ${trimZeros(fixed(t, digits))}%${what}`,
        { ...numbers, ...decided },
      );
}

// ---------------------------------------------------------------------------------------------
// Statistical evidence for accuracy and the bias gap
// ---------------------------------------------------------------------------------------------

interface Evidence {
  readonly policy: InconclusivePolicy;
  /** Why the statistical checks cannot be made (the examples are invalid); they fail with it. */
  readonly blocked?: string;
  /** candidate − baseline accuracy, 90% two-sided; undefined when the counts are not whole rows. */
  readonly accuracyDifference?: ReturnType<typeof pairedDifferenceInterval>;
  readonly comparedOn: string;
  readonly pairedRows: number;
  readonly discordanceSource: string;
  rowsNeeded(margin: number): number | null;
  gapIncrease(
    candidateSlices: readonly string[],
    baselineSlices: readonly string[],
  ): { lower: number; upper: number; resamples: number } | undefined;
}

/**
 * The interval evidence of one eval set: paired when both sides have per-example results, else
 * unpaired from the stated accuracy and row counts. Invalid per-example results are an `examples`
 * check that fails (pushed onto `checks`), and the statistical checks then fail with a pointer to it.
 */
function gatherEvidence(
  evalSet: string,
  base: EvalSetMetrics,
  cand: EvalSetMetrics,
  options: RegressionOptions,
  checks: RegressionCheck[],
): Evidence {
  const policy = options.onInconclusive ?? 'point-estimate';
  const candSource = options.examples?.candidate?.get(evalSet);
  const baseSource = options.examples?.baseline?.get(evalSet);
  const problems: string[] = [];
  for (const [source, stated] of [
    [candSource, cand],
    [baseSource, base],
  ] as const) {
    if (!source) continue;
    problems.push(
      ...metricDisagreements(stated, metricsFromExamples(source.rows), {
        report: source.report,
        evalSet,
        predictionsFile: source.file,
      }),
    );
  }
  let paired: PairedExamples | undefined;
  if (candSource && baseSource) {
    paired = pairExamples(candSource.rows, baseSource.rows, {
      candidate: candSource.file,
      baseline: baseSource.file,
    });
    problems.push(...paired.problems);
  }
  if (candSource || baseSource) {
    checks.push(
      problems.length === 0
        ? makeCheck(
            evalSet,
            'examples',
            'pass',
            `${evalSet} per-example results agree with the reported metrics` +
              (paired
                ? ` and pair up (${paired.shared.length.toLocaleString('en-US')} shared examples)`
                : ''),
          )
        : makeCheck(
            evalSet,
            'examples',
            'fail',
            `${evalSet} per-example results: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
          ),
    );
  }
  if (problems.length > 0) {
    return {
      policy,
      blocked: `the per-example results are invalid (see the ${evalSet} examples check), so nothing can be compared`,
      comparedOn: '',
      pairedRows: 0,
      discordanceSource: '',
      rowsNeeded: () => null,
      gapIncrease: () => undefined,
    };
  }
  if (paired && paired.shared.length > 0) {
    const p = paired;
    const n = p.shared.length;
    const interval = pairedDifferenceInterval(p.counts, GATE_INTERVAL_CONFIDENCE);
    const observed = (p.counts.candidateOnly + p.counts.baselineOnly) / n;
    // With no discordant example the sizing would say 0 rows; one discordant pair in n is the floor.
    const discordance = Math.max(observed, 1 / n);
    return {
      policy,
      accuracyDifference: interval,
      comparedOn: `paired, n = ${n.toLocaleString('en-US')}`,
      pairedRows: n,
      discordanceSource: `at the observed discordance ${observed.toFixed(3)}`,
      rowsNeeded: (margin) => (margin > 0 ? finiteOrNull(rowsNeededForMargin(margin, discordance)) : null),
      gapIncrease: (candidateSlices, baselineSlices) =>
        bootstrapGapIncrease(
          p,
          candidateSlices,
          baselineSlices,
          options.bootstrapResamples ?? BOOTSTRAP_RESAMPLES,
          seedFromText(`${evalSet}\u0000${n}`),
        ),
    };
  }
  const whole = (m: EvalSetMetrics) => {
    const x = Math.round(m.accuracy * m.rowCount);
    return Math.abs(x - m.accuracy * m.rowCount) <= 0.5 + 1e-9 && isInRange(m.accuracy, 'fraction')
      ? x
      : undefined;
  };
  const xc = whole(cand);
  const xb = whole(base);
  const interval =
    xc !== undefined && xb !== undefined && cand.rowCount > 0 && base.rowCount > 0
      ? unpairedDifferenceInterval(xc, cand.rowCount, xb, base.rowCount, GATE_INTERVAL_CONFIDENCE)
      : undefined;
  const why = candSource || baseSource ? 'per-example results on one side only' : 'no per-example results';
  const assumed = options.assumedDiscordance ?? DEFAULT_ASSUMED_DISCORDANCE;
  return {
    policy,
    accuracyDifference: interval,
    comparedOn: `unpaired, n = ${cand.rowCount.toLocaleString('en-US')} vs ${base.rowCount.toLocaleString('en-US')} (${why})`,
    pairedRows: 0,
    discordanceSource:
      `paired, at an assumed discordance of ${assumed} (thresholds.assumedDiscordance); per-example ` +
      'results on both sides give the observed one',
    rowsNeeded: (margin) => (margin > 0 ? finiteOrNull(rowsNeededForMargin(margin, assumed)) : null),
    gapIncrease: () => undefined,
  };
}

function statisticalDecision(
  worsening: { readonly lower: number; readonly upper: number } | undefined,
  point: number,
  margin: number,
  policy: InconclusivePolicy,
): { verdict: Verdict; decidedBy: DecidingRule; outcome: MarginOutcome | null } {
  if (!worsening) {
    return {
      verdict: point <= margin + REGRESSION_TOLERANCE ? 'pass' : 'fail',
      decidedBy: 'point-estimate',
      outcome: null,
    };
  }
  const outcome = marginOutcome({ estimate: point, ...worsening }, margin, REGRESSION_TOLERANCE);
  return { ...decideVerdict(outcome, point, margin, policy, REGRESSION_TOLERANCE), outcome };
}

function describeDecision(d: {
  verdict: Verdict;
  decidedBy: DecidingRule;
  outcome: MarginOutcome | null;
}): string {
  if (d.decidedBy === 'interval') return `${d.verdict === 'pass' ? 'passes' : 'fails'} by the interval`;
  if (d.decidedBy === 'point-estimate') {
    return `inconclusive; ${d.verdict === 'pass' ? 'passes' : 'fails'} by the point estimate (onInconclusive: point-estimate)`;
  }
  return `inconclusive; ${d.verdict === 'pass' ? 'passes' : 'fails'} by onInconclusive: ${d.verdict}`;
}

/**
 * Percentile bootstrap of the bias-gap increase over the shared examples (Efron & Tibshirani 1993,
 * ch. 13): resample examples with replacement, both models together, and recompute each model's best
 * minus worst slice accuracy over the slices its report names. The 5% and 95% percentiles bound a 90%
 * interval. A slice left empty by a resample is skipped in it.
 */
function bootstrapGapIncrease(
  paired: PairedExamples,
  candidateSlices: readonly string[],
  baselineSlices: readonly string[],
  resamples: number,
  seed: number,
): { lower: number; upper: number; resamples: number } | undefined {
  const names = [...new Set([...candidateSlices, ...baselineSlices])];
  const index = new Map(names.map((s, i) => [s, i]));
  const rows = paired.shared;
  const n = rows.length;
  const k = names.length;
  // Per example: slice ids it belongs to and the correctness bits, flattened for speed.
  const membership = rows.map((r) =>
    r.slices.map((s) => index.get(s)).filter((i): i is number => i !== undefined),
  );
  const inCand = names.map((s) => candidateSlices.includes(s));
  const inBase = names.map((s) => baselineSlices.includes(s));
  if (inCand.filter(Boolean).length < 2 || inBase.filter(Boolean).length < 2) return undefined;
  const random = seededRandom(seed);
  const total = new Int32Array(k);
  const candRight = new Int32Array(k);
  const baseRight = new Int32Array(k);
  const gap = (right: Int32Array, use: boolean[]) => {
    let best = -1;
    let worst = 2;
    let seen = 0;
    for (let j = 0; j < k; j++) {
      if (!use[j] || total[j] === 0) continue;
      const a = right[j] / total[j];
      if (a > best) best = a;
      if (a < worst) worst = a;
      seen++;
    }
    return seen >= 2 ? best - worst : Number.NaN;
  };
  const increases: number[] = [];
  for (let r = 0; r < resamples; r++) {
    total.fill(0);
    candRight.fill(0);
    baseRight.fill(0);
    for (let i = 0; i < n; i++) {
      const pick = Math.floor(random() * n);
      const row = rows[pick];
      for (const j of membership[pick]) {
        total[j]++;
        if (row.candidate) candRight[j]++;
        if (row.baseline) baseRight[j]++;
      }
    }
    const increase = gap(candRight, inCand) - gap(baseRight, inBase);
    if (Number.isFinite(increase)) increases.push(increase);
  }
  if (increases.length < resamples / 2) return undefined;
  increases.sort((a, b) => a - b);
  const at = (q: number) =>
    increases[Math.min(increases.length - 1, Math.max(0, Math.floor(q * increases.length)))];
  return { lower: at(0.05), upper: at(0.95), resamples };
}

/** 100 × (c − b) / b; 0 when both are 0; null when only the baseline is 0. */
function percentChange(b: number, c: number): number | null {
  if (b === 0) return c === 0 ? 0 : null;
  return finiteOrNull((100 * (c - b)) / b);
}

function formatValue(rule: MetricRule, value: number, currency: string): string {
  switch (rule.metric) {
    case 'p95LatencyMs':
      return `${fixed(value, 1)} ms`;
    case 'costPer1kRequests':
      return `${fixed(value, 4)}${currency ? ` ${currency}` : ''}`;
    default:
      return fixed(value, 3);
  }
}

/**
 * Decimals needed so a failing value does not print as equal to (or below) its threshold,
 * e.g. a drop of 0.0201 against 0.020 prints as 0.0201, not 0.020.
 */
function digitsToTell(value: number, threshold: number, minDigits: number): number {
  let digits = minDigits;
  while (digits < 10 && Number(value.toFixed(digits)) <= Number(threshold.toFixed(digits))) digits++;
  return digits;
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits).replace(/^-/, '−');
}

/** Signed with a real minus sign; a value that rounds to zero has no sign. */
function signed(value: number, digits: number): string {
  const text = Math.abs(value).toFixed(digits);
  if (Number(text) === 0) return text;
  return `${value < 0 ? '−' : '+'}${text}`;
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
