/**
 * The cumulative A/B analysis, by user bucket (the unit assignment.ts randomises), from the start
 * of the experiment to the analysed day. Two Athena queries over the prediction log:
 *
 * 1. `buildFlagHistoryQuery`: which flag every request was routed under over a lookback window
 *    (the router logs `experiment=…`, `killSwitch=…`, `candidatePercent=…` in `active_flags`),
 *    grouped with each variant's model version and first/last request time. `findExperiment`
 *    reads the flag as it was at the end of the analysed day, and where that flag began: the
 *    intended split comes from the log, not from today's flag, so rerunning an old day works.
 * 2. `buildBucketTotalsQuery`: per (variant, user bucket) totals since that start, for the
 *    requests routed by that flag's split.
 *
 * `analyseExperiment` turns the bucket totals into per-variant estimates with always-valid
 * intervals, candidate-minus-stable differences tested with Holm across metrics, the minimum
 * detectable effect of each, and a sample-ratio check on buckets (ab-stats.ts for the methods).
 * It describes, it does not release: a variant alone, traffic concentrated in a few buckets or a
 * broken split is reported with its reason, never as a winner. Output is strict JSON.
 */
import {
  alwaysValidPValue,
  bucketSplitCheck,
  confidenceSequence,
  holmAdjust,
  minimumDetectableEffect,
  ratioEstimate,
  type BucketSplitCheck,
  type RatioEstimate,
  type SequenceInterval,
} from '../statistics/ab-stats';
import { ASSIGNMENT_BUCKETS } from './assignment';
import { IDENTIFIER, stringLiteral } from './athena-query';

// ---------------------------------------------------------------------------------------------
// CloudWatch contract: the analysis function publishes these (namespace METRIC_NAMESPACES.ab of
// metric-names.ts), the dashboard graphs them
// ---------------------------------------------------------------------------------------------

/** Per-variant estimates published with `<name>Lower` and `<name>Upper` beside them. */
export const AB_VARIANT_INTERVAL_METRICS = {
  errorRate: 'ErrorRate',
  meanConfidence: 'MeanConfidence',
} as const;
export const AB_INTERVAL_BOUNDS = ['', 'Lower', 'Upper'] as const;

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

/**
 * Days of prediction logs searched for the experiment's start. An experiment older than this is
 * analysed over the window only, and the report says so. 35 days hold the 30 nightly looks the
 * calibration covers.
 */
export const EXPERIMENT_LOOKBACK_DAYS = 35;

/** Columns of the flag-history query, in order. */
export const FLAG_HISTORY_COLUMNS = [
  'experiment_flag',
  'kill_switch_flag',
  'percent_flag',
  'variant',
  'model_version',
  'first_ts',
  'last_ts',
  'n',
] as const;

/** Columns of the bucket-totals query, in order. */
export const BUCKET_TOTALS_COLUMNS = [
  'variant',
  'user_bucket',
  'n',
  'errors',
  'confidence_n',
  'confidence_sum',
] as const;

export interface LogTable {
  /** Glue database of the prediction-log table. */
  readonly database: string;
  /** Glue table, partitioned (projected) by `model` and `dt`. */
  readonly table: string;
  readonly model: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function checkTable({ database, table, model }: LogTable): void {
  for (const [label, value] of [
    ['database', database],
    ['table', table],
  ] as const) {
    if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
      throw new RangeError(
        `${label} ${JSON.stringify(value)} is not a valid Athena ${label} name; use lower-case letters, digits ` +
          'and underscores, starting with a letter or underscore (Glue stores names in lower case)',
      );
    }
  }
  // eslint-disable-next-line no-control-regex
  if (typeof model !== 'string' || model.length === 0 || /[\u0000-\u001f\u007f]/.test(model)) {
    throw new RangeError(
      `model ${JSON.stringify(model)} is not a model name (non-empty, no control characters)`,
    );
  }
}

function checkDay(label: string, value: string): void {
  if (typeof value !== 'string' || !DAY.test(value) || !isCalendarDay(value)) {
    throw new RangeError(`${label} ${JSON.stringify(value)} is not a calendar date in the form YYYY-MM-DD`);
  }
}

function isCalendarDay(day: string): boolean {
  const parsed = new Date(`${day}T00:00:00.000Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === day;
}

/** `day` minus `days` calendar days, YYYY-MM-DD. */
export function daysBefore(day: string, days: number): string {
  checkDay('day', day);
  return new Date(Date.parse(`${day}T00:00:00.000Z`) - days * 86_400_000).toISOString().slice(0, 10);
}

// The flag value the router logs, e.g. experiment=ab; element_at on an empty filter is NULL.
const flagColumn = (prefix: string, column: string) =>
  `  element_at(filter(active_flags, f -> f LIKE ${stringLiteral(`${prefix}=%`)}), 1) AS ${column},`;

// Range predicates on a date-projected partition key let Athena read only the days in range:
// https://docs.aws.amazon.com/athena/latest/ug/partition-projection-kinesis-firehose-example-using-the-date-type.html
function partitionFilter(input: LogTable, fromDay: string, toDay: string): string[] {
  return [
    `FROM "${input.database}"."${input.table}"`,
    `WHERE model = ${stringLiteral(input.model)}`,
    `  AND dt >= ${stringLiteral(fromDay)} AND dt <= ${stringLiteral(toDay)}`,
  ];
}

/**
 * Which flag (experiment, kill switch, candidate share) served each variant and model version
 * from `fromDay` to `toDay`, with its first and last request. Requests routed without a flag
 * (`flag-unavailable`: AppConfig unreachable) carry no flag and are left out.
 */
export function buildFlagHistoryQuery(
  input: LogTable & { readonly fromDay: string; readonly toDay: string },
): string {
  checkTable(input);
  checkDay('fromDay', input.fromDay);
  checkDay('toDay', input.toDay);
  return [
    'SELECT',
    flagColumn('experiment', 'experiment_flag'),
    flagColumn('killSwitch', 'kill_switch_flag'),
    flagColumn('candidatePercent', 'percent_flag'),
    '  variant,',
    '  model_version,',
    '  min(ts) AS first_ts,',
    '  max(ts) AS last_ts,',
    '  count(*) AS n',
    ...partitionFilter(input, input.fromDay, input.toDay),
    "  AND routed_by <> 'flag-unavailable'",
    'GROUP BY 1, 2, 3, 4, 5',
    'ORDER BY last_ts',
  ].join('\n');
}

/**
 * Per (variant, user bucket) totals of the experiment's requests up to the end of `toDay`:
 * requests, errors, and the count and sum of the confidence of successful requests.
 */
export function buildBucketTotalsQuery(
  input: LogTable & { readonly experiment: Experiment; readonly toDay: string },
): string {
  checkTable(input);
  checkDay('toDay', input.toDay);
  const { experiment: e } = input;
  if (e.after !== null && !TS.test(e.after)) {
    throw new RangeError(`experiment.after ${JSON.stringify(e.after)} is not a prediction-log time (ts)`);
  }
  return [
    'SELECT',
    '  variant,',
    '  user_bucket,',
    '  count(*) AS n,',
    '  count_if(error IS NOT NULL) AS errors,',
    '  count(confidence) FILTER (WHERE error IS NULL) AS confidence_n,',
    '  coalesce(sum(confidence) FILTER (WHERE error IS NULL), 0) AS confidence_sum',
    ...partitionFilter(input, e.firstDay, input.toDay),
    // ts is ISO 8601 UTC with milliseconds, so string order is time order.
    ...(e.after !== null ? [`  AND ts > ${stringLiteral(e.after)}`] : []),
    "  AND routed_by = 'split'",
    '  AND user_bucket IS NOT NULL',
    ...e.flags.map((flag) => `  AND contains(active_flags, ${stringLiteral(flag)})`),
    `  AND ((variant = 'stable' AND model_version = ${stringLiteral(e.stableVersion)})`,
    `    OR (variant = 'candidate' AND model_version = ${stringLiteral(e.candidateVersion)}))`,
    'GROUP BY variant, user_bucket',
    'ORDER BY variant, user_bucket',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Reading results
// ---------------------------------------------------------------------------------------------

/** The part of Athena's `ResultSet` read here (the SDK's type is assignable to it). */
export interface ResultSetLike {
  readonly Rows?: readonly { readonly Data?: readonly { readonly VarCharValue?: string }[] }[];
}

function readRows<C extends string>(
  resultSet: ResultSetLike,
  columns: readonly C[],
  query: string,
): { cells: Record<C, string | null>; row: number }[] {
  const rows = resultSet.Rows ?? [];
  const how = `run the ${query} query unchanged and pass every page of its result, header row first`;
  if (rows.length === 0) throw new Error(`the ${query} result has no rows, not even the header row; ${how}`);
  const header = (rows[0].Data ?? []).map((c) => c.VarCharValue ?? null);
  const missing = columns.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new Error(
      `the ${query} result lacks the column(s) ${missing.join(', ')} (it has ${header.map(String).join(', ')}); ${how}`,
    );
  }
  return rows.slice(1).map((r, i) => {
    const values = (r.Data ?? []).map((c) => c.VarCharValue ?? null);
    const cells = Object.fromEntries(columns.map((c) => [c, values[header.indexOf(c)] ?? null])) as Record<
      C,
      string | null
    >;
    return { cells, row: i + 1 };
  });
}

function wholeNumber(value: string | null, where: string): number {
  const parsed = value !== null && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed))
    throw new Error(`${where} is ${JSON.stringify(value)}, expected a whole number >= 0`);
  return parsed;
}

function decimal(value: string | null, where: string): number {
  const parsed =
    value !== null && /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(parsed))
    throw new Error(`${where} is ${JSON.stringify(value)}, expected a finite decimal number`);
  return parsed;
}

/** One row of the flag-history query. */
export interface FlagHistoryRow {
  /** `experiment=<name>`, as logged. */
  readonly experimentFlag: string | null;
  /** `killSwitch=true|false`. */
  readonly killSwitchFlag: string | null;
  /** `candidatePercent=<p>`; null when the flag had no candidate. */
  readonly percentFlag: string | null;
  readonly variant: string | null;
  readonly modelVersion: string | null;
  readonly firstTs: string;
  readonly lastTs: string;
  readonly n: number;
}

export function parseFlagHistory(resultSet: ResultSetLike): FlagHistoryRow[] {
  return readRows(resultSet, FLAG_HISTORY_COLUMNS, 'flag-history').map(({ cells, row }) => {
    const where = (c: string) => `flag-history row ${row}: column ${c}`;
    const ts = (c: 'first_ts' | 'last_ts') => {
      const v = cells[c];
      if (v === null || !TS.test(v))
        throw new Error(`${where(c)} is ${JSON.stringify(v)}, expected a time like 2026-11-05T10:00:00.000Z`);
      return v;
    };
    return {
      experimentFlag: cells.experiment_flag,
      killSwitchFlag: cells.kill_switch_flag,
      percentFlag: cells.percent_flag,
      variant: cells.variant,
      modelVersion: cells.model_version,
      firstTs: ts('first_ts'),
      lastTs: ts('last_ts'),
      n: wholeNumber(cells.n, where('n')),
    };
  });
}

/** One (variant, user bucket) of the experiment. */
export interface BucketTotals {
  readonly variant: 'stable' | 'candidate';
  /** 0..9,999 (assignment.ts). */
  readonly bucket: number;
  readonly n: number;
  readonly errors: number;
  /** Successful requests with a confidence. */
  readonly confidenceCount: number;
  readonly confidenceSum: number;
}

export function parseBucketTotals(
  resultSet: ResultSetLike,
  totalBuckets = ASSIGNMENT_BUCKETS,
): BucketTotals[] {
  return readRows(resultSet, BUCKET_TOTALS_COLUMNS, 'bucket-totals').map(({ cells, row }) => {
    const where = (c: string) => `bucket-totals row ${row}: column ${c}`;
    const variant = cells.variant;
    if (variant !== 'stable' && variant !== 'candidate') {
      throw new Error(`${where('variant')} is ${JSON.stringify(variant)}, expected stable or candidate`);
    }
    const bucket = wholeNumber(cells.user_bucket, where('user_bucket'));
    if (bucket >= totalBuckets)
      throw new Error(`${where('user_bucket')} is ${bucket}, expected 0 to ${totalBuckets - 1}`);
    const totals: BucketTotals = {
      variant,
      bucket,
      n: wholeNumber(cells.n, where('n')),
      errors: wholeNumber(cells.errors, where('errors')),
      confidenceCount: wholeNumber(cells.confidence_n, where('confidence_n')),
      confidenceSum: decimal(cells.confidence_sum, where('confidence_sum')),
    };
    if (totals.errors > totals.n || totals.confidenceCount > totals.n - totals.errors) {
      throw new Error(
        `bucket-totals row ${row}: more errors or confidences than requests (${JSON.stringify(totals)})`,
      );
    }
    return totals;
  });
}

// ---------------------------------------------------------------------------------------------
// The experiment as the log shows it
// ---------------------------------------------------------------------------------------------

/** The experiment running at the end of the analysed day, read from the prediction log. */
export interface Experiment {
  /** The flag's experiment name (it salts the assignment hash). */
  readonly name: string;
  /** The candidate's share of buckets, as the router logged it. */
  readonly candidatePercent: number;
  readonly stableVersion: string;
  readonly candidateVersion: string;
  /** The `active_flags` entries every request of the experiment carries, verbatim. */
  readonly flags: readonly string[];
  /**
   * The last request served under anything else (another flag, another model version): the
   * experiment is the requests after it. Null when the lookback window shows nothing else.
   */
  readonly after: string | null;
  /** First request of the experiment seen in the window. */
  readonly firstSeen: string;
  /** First day to query: the day of `after`, or of `firstSeen`. */
  readonly firstDay: string;
  /** True when the experiment was already running on the window's first day: it may be older. */
  readonly startedBeforeWindow: boolean;
}

export type ExperimentSearch =
  | { readonly found: true; readonly experiment: Experiment }
  | { readonly found: false; readonly reason: string };

const flagValue = (flag: string | null, prefix: string) =>
  flag !== null && flag.startsWith(`${prefix}=`) ? flag.slice(prefix.length + 1) : null;

/**
 * The experiment at the end of `day`: the flag of the last request logged, and where it began.
 * A change of experiment name, kill switch or candidate share, or of either variant's model
 * version, starts a new experiment (mixing periods with different splits would compare unlike
 * traffic); the requests served during a gradual flag rollout before that change completes are
 * left out with the old flag's.
 */
export function findExperiment(
  rows: readonly FlagHistoryRow[],
  window: { readonly fromDay: string; readonly day: string },
): ExperimentSearch {
  const served = rows.filter((r) => r.n > 0 && (r.variant === 'stable' || r.variant === 'candidate'));
  if (served.length === 0) {
    return {
      found: false,
      reason:
        `no request routed by the flag was logged from ${window.fromDay} to ${window.day}: check that the router ` +
        'is logging (Firehose delivery to S3) and that AppConfig was reachable',
    };
  }
  const latest = served.reduce((a, b) => (b.lastTs > a.lastTs ? b : a));
  const sameFlag = (r: FlagHistoryRow) =>
    r.experimentFlag === latest.experimentFlag &&
    r.killSwitchFlag === latest.killSwitchFlag &&
    r.percentFlag === latest.percentFlag;
  const flagText = [latest.experimentFlag, latest.killSwitchFlag, latest.percentFlag]
    .filter((f) => f !== null)
    .join(', ');
  if (latest.killSwitchFlag === 'killSwitch=true') {
    return {
      found: false,
      reason: `the kill switch was on at the end of ${window.day} (${flagText}): every user got stable, no A/B test ran`,
    };
  }
  const percentText = flagValue(latest.percentFlag, 'candidatePercent');
  const percent = percentText === null ? NaN : Number(percentText);
  if (latest.percentFlag === null) {
    return {
      found: false,
      reason: `the flag had no candidate at the end of ${window.day} (${flagText}): only stable served, no A/B test ran`,
    };
  }
  if (!(percent > 0 && percent < 100)) {
    return {
      found: false,
      reason:
        `the flag sent ${percentText ?? '?'}% of users to the candidate at the end of ${window.day} (${flagText}): ` +
        'one variant only, nothing to compare',
    };
  }
  const versionOf = (variant: 'stable' | 'candidate') => {
    const mine = served.filter((r) => sameFlag(r) && r.variant === variant);
    return mine.length === 0 ? null : mine.reduce((a, b) => (b.lastTs > a.lastTs ? b : a)).modelVersion;
  };
  const stableVersion = versionOf('stable');
  const candidateVersion = versionOf('candidate');
  if (stableVersion === null || candidateVersion === null) {
    const missing = stableVersion === null ? 'stable' : 'candidate';
    return {
      found: false,
      reason:
        `no ${missing} request was logged under the flag in force at the end of ${window.day} (${flagText}): ` +
        `one variant only, nothing to compare; check that the router can reach the ${missing} endpoint`,
    };
  }
  const inExperiment = (r: FlagHistoryRow) =>
    sameFlag(r) && r.modelVersion === (r.variant === 'stable' ? stableVersion : candidateVersion);
  let after: string | null = null;
  for (const r of served) if (!inExperiment(r) && (after === null || r.lastTs > after)) after = r.lastTs;
  const mine = served.filter(inExperiment);
  const firstSeen = mine
    .map((r) => (after !== null && r.firstTs <= after ? after : r.firstTs))
    .reduce((a, b) => (b < a ? b : a));
  return {
    found: true,
    experiment: {
      name: flagValue(latest.experimentFlag, 'experiment') ?? '',
      candidatePercent: percent,
      stableVersion,
      candidateVersion,
      flags: [latest.experimentFlag, latest.killSwitchFlag, latest.percentFlag].filter(
        (f): f is string => f !== null,
      ),
      after,
      firstSeen,
      firstDay: (after ?? firstSeen).slice(0, 10),
      startedBeforeWindow: after === null && firstSeen.slice(0, 10) === window.fromDay,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------------------------

/** The metrics compared, in the order Holm sees them. */
export const AB_METRICS = ['error-rate', 'mean-confidence'] as const;
export type AbMetric = (typeof AB_METRICS)[number];

/**
 * The defaults of the policy a product team tunes in `routing.analysis` (config-schema.ts reads
 * them from here): the effect each metric is meant to see, which is also the mixture scale τ of
 * its confidence sequence (an error rate 1 point higher, 1% → 2%; a mean confidence 0.02 lower:
 * a metric whose minimum detectable effect is still above it is `insufficient`, not
 * `no-difference-detected`); the fewest effective buckets per variant; the family-wise error rate.
 */
export const AB_ANALYSIS_DEFAULTS = {
  effectOfInterest: { errorRate: 0.01, meanConfidence: 0.02 },
  minEffectiveBuckets: 30,
  alpha: 0.05,
} as const;

/** `routing.analysis.effectOfInterest`, by config key. */
export interface EffectOfInterest {
  readonly errorRate: number;
  readonly meanConfidence: number;
}

const effectOf = (effects: EffectOfInterest, metric: AbMetric) =>
  metric === 'error-rate' ? effects.errorRate : effects.meanConfidence;

/** The default effect of interest of each metric (AB_ANALYSIS_DEFAULTS.effectOfInterest). */
export const EFFECT_OF_INTEREST: Readonly<Record<AbMetric, number>> = {
  'error-rate': AB_ANALYSIS_DEFAULTS.effectOfInterest.errorRate,
  'mean-confidence': AB_ANALYSIS_DEFAULTS.effectOfInterest.meanConfidence,
};

/** Family-wise error rate across metrics and nightly looks, by default (`routing.analysis.alpha`). */
export const AB_ALPHA: number = AB_ANALYSIS_DEFAULTS.alpha;
/**
 * Below this p-value the bucket split is taken as proof that assignment is broken. Not config: it
 * is calibrated, not a preference (the split check's false alarms must stay within the issue's
 * 0.2% on clustered traffic, docs/statistics.md), and a looser value only hides broken routers.
 */
export const SPLIT_P_VALUE_THRESHOLD = 0.001;
/**
 * Fewest effective buckets (Kish) per variant, by default (`routing.analysis.minEffectiveBuckets`,
 * which may raise it, never lower it): below it the normal approximation behind the delta method is
 * poor, and a few heavy users decide the result.
 */
export const MIN_EFFECTIVE_BUCKETS: number = AB_ANALYSIS_DEFAULTS.minEffectiveBuckets;
/**
 * Power of the minimum detectable effect. Not config: it defines what "MDE" means in the report
 * (the usual 80%); a team says what it wants to see through the effect of interest instead.
 */
export const MDE_POWER = 0.8;

export interface AnalyseExperimentOptions {
  readonly experiment: Experiment;
  /** Fewest requests per variant (routing.analysis.minSamples). @default 100 */
  readonly minRequests?: number;
  /** Buckets of the assignment. @default ASSIGNMENT_BUCKETS (10,000) */
  readonly totalBuckets?: number;
  /** routing.analysis.alpha. @default AB_ALPHA (0.05) */
  readonly alpha?: number;
  /** routing.analysis.effectOfInterest. @default AB_ANALYSIS_DEFAULTS.effectOfInterest */
  readonly effectOfInterest?: EffectOfInterest;
  /** routing.analysis.minEffectiveBuckets. @default MIN_EFFECTIVE_BUCKETS (30) */
  readonly minEffectiveBuckets?: number;
}

/** One variant since the experiment started. */
export interface VariantEstimate {
  readonly requests: number;
  readonly errors: number;
  /** Buckets with at least one request. */
  readonly buckets: number;
  /** Kish's effective number of buckets, weighted by requests. */
  readonly effectiveBuckets: number;
  /** Errors per request with its always-valid interval at 1 − alpha; null with fewer than 2 buckets. */
  readonly errorRate: SequenceInterval | null;
  /** Mean confidence of successful requests, same kind of interval; null with fewer than 2 buckets of them. */
  readonly meanConfidence: SequenceInterval | null;
}

export type MetricVerdict =
  'candidate-higher' | 'candidate-lower' | 'no-difference-detected' | 'insufficient' | 'not-compared';

/** Candidate minus stable for one metric. */
export interface MetricComparison {
  readonly metric: AbMetric;
  /** Always-valid interval at 1 − alpha / (number of metrics): simultaneous over metrics and looks. */
  readonly difference: SequenceInterval;
  /** Always-valid p-value of no difference. */
  readonly pValue: number;
  /** Holm-adjusted across the metrics. */
  readonly adjustedPValue: number;
  /** Smallest difference the data so far would detect with probability MDE_POWER. */
  readonly minimumDetectableEffect: number;
  /** The metric's effect of interest (routing.analysis.effectOfInterest). */
  readonly effectOfInterest: number;
  readonly verdict: MetricVerdict;
  readonly text: string;
}

export interface SplitCheck extends BucketSplitCheck {
  /** Buckets whose requests went to a variant the flag's split does not give them. */
  readonly misassignedBuckets: number;
  readonly broken: boolean;
}

export interface ExperimentAnalysis {
  /**
   * `compared`: every metric has a verdict. `insufficient`: a reason below says why nothing can
   * be compared yet. `assignment-broken`: the split check failed; no verdict is trustworthy.
   */
  readonly status: 'compared' | 'insufficient' | 'assignment-broken';
  readonly method: typeof METHOD;
  readonly alpha: number;
  /** Null when no experiment ran at the end of the analysed day (the reason says why). */
  readonly experiment: Experiment | null;
  readonly stable: VariantEstimate | null;
  readonly candidate: VariantEstimate | null;
  readonly split: SplitCheck | null;
  readonly comparisons: readonly MetricComparison[];
  /** Why nothing is compared; empty when status is `compared`. */
  readonly reasons: readonly string[];
}

/** What the report says about how it was computed. */
export const METHOD = {
  unit: 'user bucket (the router hashes users into 10,000 buckets)',
  variance: 'delta method over buckets (Deng, Knoblich & Lu, KDD 2018)',
  intervals:
    'normal-mixture confidence sequences, valid at every nightly look (Howard, Ramdas, McAuliffe & Sekhon, ' +
    'Ann. Statist. 2021; mixture SPRT of Johari, Koomen, Pekelis & Walsh, Oper. Res. 2022)',
  multiplicity: 'Holm across metrics (Holm 1979), family-wise error over metrics and looks',
  sampleRatio:
    'exact hypergeometric test on buckets with traffic against the logged split (Fabijan et al., KDD 2019)',
  power: `minimum detectable effect at ${MDE_POWER * 100}% power if the experiment stopped now`,
} as const;

/** The analysis of a day when no experiment was running: `insufficient`, with the reason. */
export function noExperimentAnalysis(reason: string, alpha: number = AB_ALPHA): ExperimentAnalysis {
  return {
    status: 'insufficient',
    method: METHOD,
    alpha,
    experiment: null,
    stable: null,
    candidate: null,
    split: null,
    comparisons: [],
    reasons: [reason],
  };
}

function variantEstimate(
  rows: readonly BucketTotals[],
  alpha: number,
  effects: EffectOfInterest,
): VariantEstimate | null {
  if (rows.length === 0) return null;
  const errors = ratioEstimate(rows.map((r) => ({ numerator: r.errors, denominator: r.n })));
  const confidence = ratioEstimate(
    rows.map((r) => ({ numerator: r.confidenceSum, denominator: r.confidenceCount })),
  );
  const sequence = (e: RatioEstimate | null, metric: AbMetric) =>
    e === null ? null : confidenceSequence(e.estimate, e.variance, alpha, effectOf(effects, metric));
  const requests = rows.reduce((s, r) => s + r.n, 0);
  const squares = rows.reduce((s, r) => s + r.n * r.n, 0);
  return {
    requests,
    errors: rows.reduce((s, r) => s + r.errors, 0),
    buckets: rows.filter((r) => r.n > 0).length,
    effectiveBuckets: squares > 0 ? (requests * requests) / squares : 0,
    errorRate: sequence(errors, 'error-rate'),
    meanConfidence: sequence(confidence, 'mean-confidence'),
  };
}

/**
 * Analyses the experiment's bucket totals. Throws a RangeError for rows no query produces
 * (a bucket twice in one variant).
 */
export function analyseExperiment(
  rows: readonly BucketTotals[],
  options: AnalyseExperimentOptions,
): ExperimentAnalysis {
  const { experiment } = options;
  const alpha = options.alpha ?? AB_ALPHA;
  const minRequests = options.minRequests ?? 100;
  const totalBuckets = options.totalBuckets ?? ASSIGNMENT_BUCKETS;
  const effects = options.effectOfInterest ?? AB_ANALYSIS_DEFAULTS.effectOfInterest;
  const minEffectiveBuckets = options.minEffectiveBuckets ?? MIN_EFFECTIVE_BUCKETS;
  for (const [name, value] of Object.entries(effects)) {
    if (!(value > 0 && Number.isFinite(value))) {
      throw new RangeError(
        `analyseExperiment: effectOfInterest.${name} must be a positive number, got ${value}`,
      );
    }
  }
  const seen = new Set<number>();
  const stableRows: BucketTotals[] = [];
  const candidateRows: BucketTotals[] = [];
  for (const r of rows) {
    const key = r.variant === 'stable' ? r.bucket : -1 - r.bucket;
    if (seen.has(key))
      throw new RangeError(`analyseExperiment: bucket ${r.bucket} appears twice in ${r.variant}`);
    seen.add(key);
    if (r.n > 0) (r.variant === 'stable' ? stableRows : candidateRows).push(r);
  }
  const stable = variantEstimate(stableRows, alpha, effects);
  const candidate = variantEstimate(candidateRows, alpha, effects);
  const reasons: string[] = [];

  // The router gives the candidate the buckets below percent × 100 (assignment.ts).
  const candidateBuckets = Math.round((experiment.candidatePercent / 100) * totalBuckets);
  const misassigned =
    stableRows.filter((r) => r.bucket < candidateBuckets).length +
    candidateRows.filter((r) => r.bucket >= candidateBuckets).length;
  let split: SplitCheck | null = null;
  if (
    stableRows.length + candidateRows.length > 0 &&
    candidateBuckets > 0 &&
    candidateBuckets < totalBuckets
  ) {
    const check = bucketSplitCheck({
      totalBuckets,
      candidateBuckets,
      activeStable: Math.min(stableRows.length, totalBuckets - candidateBuckets),
      activeCandidate: Math.min(candidateRows.length, candidateBuckets),
    });
    split = {
      ...check,
      misassignedBuckets: misassigned,
      broken: misassigned > 0 || check.pValue < SPLIT_P_VALUE_THRESHOLD,
    };
  }
  const share = `${experiment.candidatePercent}%`;
  if (split?.broken) {
    reasons.push(
      split.misassignedBuckets > 0
        ? `assignment is broken: ${split.misassignedBuckets} bucket(s) served a variant the ${share} split does not give ` +
            'them; check the router (hash salt, flag parsing) before reading any result'
        : `assignment looks broken: ${split.activeCandidate} of ${split.activeCandidate + split.activeStable} buckets ` +
            `with traffic are the candidate's, ${split.expectedCandidate.toFixed(1)} expected under the ${share} split ` +
            `(p = ${split.pValue.toPrecision(2)}); check whether one variant lost logs or users`,
    );
  }
  for (const [name, v] of [
    ['stable', stable],
    ['candidate', candidate],
  ] as const) {
    if (v === null) {
      reasons.push(`${name} served no request in the experiment: one variant only, nothing to compare`);
      continue;
    }
    if (v.requests < minRequests) {
      reasons.push(
        `${name} served ${v.requests} requests, fewer than the ${minRequests} needed (routing.analysis.minSamples)`,
      );
    }
    if (v.effectiveBuckets < minEffectiveBuckets) {
      reasons.push(
        `${name}'s traffic comes from too few user buckets (${v.buckets} with traffic, ${v.effectiveBuckets.toFixed(1)} ` +
          `effective, ${minEffectiveBuckets} needed, routing.analysis.minEffectiveBuckets): a few users would decide the result; wait for more users`,
      );
    }
  }
  const status: ExperimentAnalysis['status'] = split?.broken
    ? 'assignment-broken'
    : reasons.length > 0
      ? 'insufficient'
      : 'compared';

  const comparisons = compareMetrics(stable, candidate, alpha, effects, status === 'compared');
  return { status, method: METHOD, alpha, experiment, stable, candidate, split, comparisons, reasons };
}

function compareMetrics(
  stable: VariantEstimate | null,
  candidate: VariantEstimate | null,
  alpha: number,
  effects: EffectOfInterest,
  decide: boolean,
): MetricComparison[] {
  if (!stable || !candidate) return [];
  const m = AB_METRICS.length;
  const parts = AB_METRICS.map((metric) => {
    const key = metric === 'error-rate' ? 'errorRate' : 'meanConfidence';
    const s = stable[key];
    const c = candidate[key];
    if (!s || !c) return null;
    const estimate = c.estimate - s.estimate;
    const variance = c.standardError ** 2 + s.standardError ** 2;
    const tau = effectOf(effects, metric);
    return {
      metric,
      estimate,
      variance,
      tau,
      pValue: alwaysValidPValue(estimate, 0, variance, tau),
    };
  });
  const present = parts.filter((p) => p !== null);
  const adjusted = holmAdjust(present.map((p) => p.pValue));
  return present.map((p, i) => {
    const difference = confidenceSequence(p.estimate, p.variance, alpha / m, p.tau);
    const mde = minimumDetectableEffect(p.variance, alpha / m, p.tau, MDE_POWER);
    let verdict: MetricVerdict;
    if (!decide) verdict = 'not-compared';
    else if (adjusted[i] <= alpha) verdict = p.estimate > 0 ? 'candidate-higher' : 'candidate-lower';
    else verdict = mde <= p.tau ? 'no-difference-detected' : 'insufficient';
    const points = p.metric === 'error-rate';
    const num = (x: number) => (points ? (x * 100).toFixed(2) : x.toFixed(4));
    const fmt = (x: number) => (points ? `${num(x)} points` : num(x));
    const signed = (x: number) => (x >= 0 ? `+${num(x)}` : num(x));
    const texts: Record<MetricVerdict, string> = {
      'candidate-higher': 'candidate higher',
      'candidate-lower': 'candidate lower',
      'no-difference-detected': `no difference detected; a difference of ${fmt(mde)} would have been seen`,
      insufficient: `not enough data yet: only a difference of ${fmt(mde)} or more would be seen, the aim is ${fmt(p.tau)}`,
      'not-compared': 'not compared (see reasons)',
    };
    return {
      metric: p.metric,
      difference,
      pValue: p.pValue,
      adjustedPValue: adjusted[i],
      minimumDetectableEffect: mde,
      effectOfInterest: p.tau,
      verdict,
      text:
        `${p.metric}: candidate − stable ${signed(difference.estimate)}${points ? ' points' : ''} ` +
        `[${signed(difference.lower)}, ${signed(difference.upper)}] ` +
        `(always valid, ${(difference.confidence * 100).toFixed(1)}%), Holm p = ${adjusted[i].toPrecision(2)}: ${texts[verdict]}`,
    };
  });
}
