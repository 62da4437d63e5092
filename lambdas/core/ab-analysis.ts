/**
 * The nightly A/B analysis: one day of prediction logs, summarised by Athena per (variant,
 * model_version) with the query from athena-query.ts, turned into per-variant statistics with
 * confidence intervals, candidate-minus-stable differences and a sample-ratio check.
 *
 * It describes; it does not decide a release. A difference is reported only when both variants
 * have enough requests and the assignment looks sound; otherwise the report says why not, so a
 * thin day is never read as a win or a loss. Output is strict JSON: no NaN, no Infinity.
 */
import { LATENCY_QUANTILES, SUMMARY_COLUMNS, type SummaryColumn } from './athena-query';
import {
  meanDifferenceInterval,
  meanInterval,
  proportionDifferenceInterval,
  sampleRatioMismatch,
  summaryFromSums,
  wilsonInterval,
  type Interval,
  type MeanDifference,
  type MeanInterval,
  type WelfordResult,
} from './stats';

// ---------------------------------------------------------------------------------------------
// Athena result → rows
// ---------------------------------------------------------------------------------------------

/**
 * The part of Athena's `GetQueryResults` `ResultSet` this module reads. Declared here so the core
 * stays free of the SDK; the SDK's `ResultSet` is assignable to it.
 */
export interface AthenaResultSet {
  readonly Rows?: readonly { readonly Data?: readonly { readonly VarCharValue?: string }[] }[];
  readonly ResultSetMetadata?: { readonly ColumnInfo?: readonly { readonly Name?: string }[] };
}

/** Latency percentiles in milliseconds. */
export interface LatencyPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** One row of the summary query: one (variant, model_version) of the day. */
export interface VariantSummaryRow {
  /** `stable` or `candidate` from the router; anything else is reported and left out. */
  readonly variant: string | null;
  readonly modelVersion: string | null;
  /** Requests logged. */
  readonly n: number;
  /** Requests with an error. */
  readonly errors: number;
  /** Successful requests with a confidence. */
  readonly confidenceCount: number;
  /** Sum of their confidences (0 when there are none). */
  readonly confidenceSum: number;
  /** Sum of their squared confidences (0 when there are none). */
  readonly confidenceSumSquares: number;
  /** Approximate percentiles over every request; null when no request had a latency. */
  readonly latencyMs: LatencyPercentiles | null;
}

const HOW_TO_FIX =
  'run the query built by buildVariantSummaryQuery unchanged and pass the first page of GetQueryResults ' +
  '(it starts with the header row)';

/**
 * Reads the result of the summary query. Athena returns every value as a string (`VarCharValue`,
 * absent for NULL) and, on the first page, the column names as the first row. The query yields
 * one row per variant and model version, far below a page (1000 rows), so one page is the whole
 * result. Throws an Error naming the column and row when the result is not that query's.
 */
export function parseSummaryRows(resultSet: AthenaResultSet): VariantSummaryRow[] {
  const rows = resultSet.Rows ?? [];
  if (rows.length === 0) {
    throw new Error(
      `parseSummaryRows: the Athena result has no rows, not even the header row; ${HOW_TO_FIX}`,
    );
  }
  const header = cellsOf(rows[0]);
  const declared = resultSet.ResultSetMetadata?.ColumnInfo?.map((c) => c.Name ?? null);
  if (declared && declared.length > 0 && !sameStrings(header, declared)) {
    throw new Error(
      `parseSummaryRows: the first row (${header.map(String).join(', ')}) is not the header row; the result ` +
        `declares the columns ${declared.map(String).join(', ')}. This looks like a later page: ${HOW_TO_FIX}`,
    );
  }
  const missing = SUMMARY_COLUMNS.filter((column) => !header.includes(column));
  if (missing.length > 0) {
    throw new Error(
      `parseSummaryRows: the Athena result lacks the column${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ` +
        `(it has ${header.map(String).join(', ')}), so it did not come from the summary query; ${HOW_TO_FIX}`,
    );
  }
  const position = Object.fromEntries(SUMMARY_COLUMNS.map((c) => [c, header.indexOf(c)])) as Record<
    SummaryColumn,
    number
  >;
  return rows.slice(1).map((row, i) => parseRow(cellsOf(row), i + 1, position));
}

function cellsOf(row: { readonly Data?: readonly { readonly VarCharValue?: string }[] }): (string | null)[] {
  return (row.Data ?? []).map((cell) => cell.VarCharValue ?? null);
}

function sameStrings(a: readonly (string | null)[], b: readonly (string | null)[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// Java's Double.toString, which Athena uses: "0.5", "1234.0", "1.2345E7", "4.9E-4".
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function parseRow(
  cells: (string | null)[],
  rowNumber: number,
  position: Record<SummaryColumn, number>,
): VariantSummaryRow {
  const raw = (column: SummaryColumn): string | null => cells[position[column]] ?? null;
  const variant = raw('variant');
  const modelVersion = raw('model_version');
  const where = `row ${rowNumber} (variant ${String(variant)}, model_version ${String(modelVersion)})`;
  const fail = (column: SummaryColumn, expected: string): never => {
    const value = raw(column);
    throw new Error(
      `parseSummaryRows: ${where}: column ${column} is ${value === null ? 'NULL' : JSON.stringify(value)}, ` +
        `expected ${expected}; ${HOW_TO_FIX}`,
    );
  };
  const wholeNumber = (column: SummaryColumn): number => {
    const value = raw(column);
    const parsed = value !== null && /^\d+$/.test(value) ? Number(value) : NaN;
    return Number.isSafeInteger(parsed) ? parsed : fail(column, 'a whole number >= 0');
  };
  const decimal = (value: string | null): number | null => {
    if (value === null || !DECIMAL.test(value.trim())) return null;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  };
  const confidenceCount = wholeNumber('confidence_n');
  // SQL sums over no rows are NULL, not 0.
  const sum = (column: SummaryColumn): number => {
    if (confidenceCount === 0 && raw(column) === null) return 0;
    return decimal(raw(column)) ?? fail(column, 'a finite decimal number (is a confidence NaN or infinite?)');
  };

  let latencyMs: LatencyPercentiles | null = null;
  const percentiles = raw('latency_ms_percentiles');
  if (percentiles !== null) {
    const inner = /^\[(.*)\]$/.exec(percentiles.trim());
    const values = inner ? inner[1].split(',').map((s) => decimal(s.trim())) : [];
    if (values.length !== LATENCY_QUANTILES.length || values.some((v) => v === null || v < 0)) {
      fail(
        'latency_ms_percentiles',
        `an array of ${LATENCY_QUANTILES.length} latencies >= 0 like [12.5, 40.0, 88.1]`,
      );
    }
    const [p50, p95, p99] = values as number[];
    latencyMs = { p50, p95, p99 };
  }

  return {
    variant,
    modelVersion,
    n: wholeNumber('n'),
    errors: wholeNumber('errors'),
    confidenceCount,
    confidenceSum: sum('confidence_sum'),
    confidenceSumSquares: sum('confidence_sum_squares'),
    latencyMs,
  };
}

// ---------------------------------------------------------------------------------------------
// Analysis
// ---------------------------------------------------------------------------------------------

/** The router's two variants. */
export type VariantName = 'stable' | 'candidate';

/** Below this p-value the observed split is taken as proof that assignment is broken. */
export const SRM_P_VALUE_THRESHOLD = 0.001;

/**
 * Fewest requests per variant for a comparison. Below 100 an interval says little: with 0
 * errors in 100 requests the 95% Wilson upper bound of the error rate is still 3.7%.
 */
export const DEFAULT_MIN_AB_SAMPLES = 100;

/** Options of {@link analyseVariants}. */
export interface AbAnalysisOptions {
  /** Share of users the model-version flag sends to the candidate over the day, in percent (0 to 100). */
  readonly intendedCandidatePercent: number;
  /**
   * Fewest requests per variant (and confidence values, for the confidence comparison) below
   * which a difference is reported as insufficient.
   * @default DEFAULT_MIN_AB_SAMPLES (100)
   */
  readonly minSamples?: number;
  /** Confidence level of every interval. @default 0.95 */
  readonly confidence?: number;
}

/** One model version's share of a variant's day. */
export interface ModelVersionStats {
  readonly modelVersion: string | null;
  readonly n: number;
  readonly errors: number;
  readonly latencyMs: LatencyPercentiles | null;
}

/** One variant's day. */
export interface VariantStats {
  readonly n: number;
  readonly errors: number;
  /** errors / n with its Wilson interval. */
  readonly errorRate: Interval;
  /** Successful requests with a confidence. */
  readonly confidenceCount: number;
  /** Mean confidence of successful requests with its t interval; null with fewer than 2 values. */
  readonly meanConfidence: (MeanInterval & { readonly stdDev: number }) | null;
  /** Null when no request had a latency, or when the variant mixes model versions (see `modelVersions`). */
  readonly latencyMs: LatencyPercentiles | null;
  /** More than one entry when a release changed the variant's model during the day. */
  readonly modelVersions: readonly ModelVersionStats[];
}

/** Which way a candidate-minus-stable interval points; "no-detectable-difference" when it contains 0. */
export type Direction = 'candidate-higher' | 'candidate-lower' | 'no-detectable-difference';

/** The observed split against the flag's. */
export interface SampleRatioCheck {
  readonly observed: { readonly stable: number; readonly candidate: number };
  /** Counts the intended split predicts for the observed total. */
  readonly expected: { readonly stable: number; readonly candidate: number };
  readonly observedCandidatePercent: number;
  /** Pearson's chi-square (1 degree of freedom); null when a variant meant to get nothing got requests (infinite). */
  readonly chiSquare: number | null;
  readonly pValue: number;
  /** pValue < SRM_P_VALUE_THRESHOLD. */
  readonly srm: boolean;
}

/** A statement for the people reading the nightly report. */
export interface AbFinding {
  /** `critical` only for a broken assignment: nothing else in the report can be trusted then. */
  readonly severity: 'critical' | 'info';
  readonly topic: 'assignment' | 'traffic' | 'versions' | 'errors' | 'confidence' | 'latency';
  readonly text: string;
}

/** The nightly A/B report, as published to S3 and CloudWatch. */
export interface AbAnalysis {
  /**
   * `compared`: differences are reported. `insufficient`: too few requests in a variant, no
   * difference is reported. `assignment-broken`: sample-ratio mismatch, no difference is reported.
   */
  readonly status: 'compared' | 'insufficient' | 'assignment-broken';
  /** Sample-ratio mismatch: the observed split is too unlikely under the intended one. */
  readonly srm: boolean;
  readonly confidence: number;
  readonly minSamples: number;
  readonly intendedCandidatePercent: number;
  /** Null when the variant logged no request. */
  readonly stable: VariantStats | null;
  readonly candidate: VariantStats | null;
  /** Null when no request was logged at all. */
  readonly sampleRatio: SampleRatioCheck | null;
  /** Candidate minus stable error rate (Newcombe); only when status is `compared`. */
  readonly errorRateDifference: (Interval & { readonly direction: Direction }) | null;
  /**
   * Candidate minus stable mean confidence (Welch); only when status is `compared` and both
   * variants have `minSamples` confidence values.
   */
  readonly meanConfidenceDifference: (MeanDifference & { readonly direction: Direction }) | null;
  readonly findings: readonly AbFinding[];
  /** Why a difference is missing; empty when everything was compared. */
  readonly reasons: readonly string[];
}

/**
 * Analyses one day of per-(variant, model_version) summaries. Throws a RangeError on options
 * or rows no caller should produce (negative counts, more errors than requests, duplicate rows,
 * sums that no sample has).
 *
 * The sample-ratio check assumes the flag's split held all day: a split changed during the day
 * trips it, which the finding says.
 */
export function analyseVariants(rows: readonly VariantSummaryRow[], options: AbAnalysisOptions): AbAnalysis {
  const { intendedCandidatePercent } = options;
  const minSamples = options.minSamples ?? DEFAULT_MIN_AB_SAMPLES;
  const confidence = options.confidence ?? 0.95;
  checkOptions(intendedCandidatePercent, minSamples, confidence);
  rows.forEach(checkRow);

  const findings: AbFinding[] = [];
  const reasons: string[] = [];
  const info = (topic: AbFinding['topic'], text: string): void => {
    findings.push({ severity: 'info', topic, text });
  };

  const grouped = groupByVariant(rows);
  for (const [variant, n] of grouped.ignored) {
    info(
      'traffic',
      `left out ${formatCount(n)} request${n === 1 ? '' : 's'} logged with variant ${variant === null ? 'NULL' : JSON.stringify(variant)}; ` +
        'only stable and candidate are compared (check the router if this variant is unexpected)',
    );
  }
  const stableSide = variantStats(grouped.stable, confidence);
  const candidateSide = variantStats(grouped.candidate, confidence);
  const stable = stableSide?.stats ?? null;
  const candidate = candidateSide?.stats ?? null;
  for (const [name, stats] of [
    ['stable', stable],
    ['candidate', candidate],
  ] as const) {
    if (stats && stats.modelVersions.length > 1) {
      info(
        'versions',
        `${name} served ${stats.modelVersions.length} model versions during the day ` +
          `(${stats.modelVersions.map((v) => `${String(v.modelVersion)}: ${formatCount(v.n)} requests`).join(', ')}); ` +
          'its figures mix them, and its latency percentiles are given per version only',
      );
    }
  }

  const stableN = stable?.n ?? 0;
  const candidateN = candidate?.n ?? 0;
  const sampleRatio = checkSampleRatio(stableN, candidateN, intendedCandidatePercent);
  const srm = sampleRatio?.srm ?? false;
  if (sampleRatio === null) {
    reasons.push(
      'no prediction logs for this model and day: check that the router is logging (Firehose delivery to S3) ' +
        'and that the day is complete before rerunning',
    );
  } else if (srm) {
    const text = srmFinding(sampleRatio, intendedCandidatePercent);
    findings.unshift({ severity: 'critical', topic: 'assignment', text });
    reasons.push('assignment looks broken (sample-ratio mismatch), so no difference is reported');
  }
  if (sampleRatio !== null) {
    for (const [name, n] of [
      ['stable', stableN],
      ['candidate', candidateN],
    ] as const) {
      if (n < minSamples) reasons.push(tooFewRequests(name, n, minSamples, intendedCandidatePercent));
    }
  }
  const status: AbAnalysis['status'] = srm
    ? 'assignment-broken'
    : reasons.length > 0
      ? 'insufficient'
      : 'compared';

  let errorRateDifference: AbAnalysis['errorRateDifference'] = null;
  let meanConfidenceDifference: AbAnalysis['meanConfidenceDifference'] = null;
  if (status === 'compared' && stable && candidate && stableSide && candidateSide) {
    const d = proportionDifferenceInterval(
      candidate.errors,
      candidate.n,
      stable.errors,
      stable.n,
      confidence,
    );
    errorRateDifference = { ...d, direction: direction(d) };
    info(
      'errors',
      `candidate error rate ${formatRate(candidate.errorRate)} vs stable ${formatRate(stable.errorRate)}; ` +
        `difference ${formatPoints(d)}: ${describe(errorRateDifference.direction)}`,
    );
    const short = [candidate, stable].some((v) => v.confidenceCount < Math.max(2, minSamples));
    if (short) {
      for (const [name, v] of [
        ['stable', stable],
        ['candidate', candidate],
      ] as const) {
        if (v.confidenceCount < Math.max(2, minSamples)) {
          reasons.push(
            `${name} has ${formatCount(v.confidenceCount)} confidence value${v.confidenceCount === 1 ? '' : 's'} ` +
              `(successful requests), fewer than the ${formatCount(Math.max(2, minSamples))} needed: mean confidence is not compared` +
              (v.confidenceCount === 0 ? ' (every request failed)' : ''),
          );
        }
      }
    } else if (stable.meanConfidence && candidate.meanConfidence) {
      const m = meanDifferenceInterval(candidateSide.confidenceSummary, stableSide.confidenceSummary, {
        confidence,
      });
      meanConfidenceDifference = { ...m, direction: direction(m) };
      info(
        'confidence',
        `candidate mean confidence ${formatMean(candidate.meanConfidence)} vs stable ${formatMean(stable.meanConfidence)}; ` +
          `difference ${formatSignedMean(m)}: ${describe(meanConfidenceDifference.direction)}`,
      );
    }
  }
  if (stable?.latencyMs && candidate?.latencyMs) {
    const s = stable.latencyMs;
    const c = candidate.latencyMs;
    info(
      'latency',
      `latency p50/p95/p99: candidate ${formatMs(c.p50)}/${formatMs(c.p95)}/${formatMs(c.p99)} ms vs stable ` +
        `${formatMs(s.p50)}/${formatMs(s.p95)}/${formatMs(s.p99)} ms (approximate percentiles, no interval)`,
    );
  }

  return {
    status,
    srm,
    confidence,
    minSamples,
    intendedCandidatePercent,
    stable,
    candidate,
    sampleRatio,
    errorRateDifference,
    meanConfidenceDifference,
    findings,
    reasons,
  };
}

function checkOptions(percent: number, minSamples: number, confidence: number): void {
  if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
    throw new RangeError(
      `analyseVariants: intendedCandidatePercent must be a number from 0 to 100 (the flag's candidate share), got ${String(percent)}`,
    );
  }
  if (!Number.isSafeInteger(minSamples) || minSamples < 1) {
    throw new RangeError(
      `analyseVariants: minSamples must be a whole number >= 1, got ${String(minSamples)}`,
    );
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(
      `analyseVariants: confidence must be strictly between 0 and 1 (e.g. 0.95), got ${String(confidence)}`,
    );
  }
}

function checkRow(row: VariantSummaryRow, index: number): void {
  const where = `analyseVariants: rows[${index}] (variant ${String(row.variant)}, model_version ${String(row.modelVersion)})`;
  for (const key of ['n', 'errors', 'confidenceCount'] as const) {
    if (!Number.isSafeInteger(row[key]) || row[key] < 0) {
      throw new RangeError(`${where}: ${key} must be a whole number >= 0, got ${String(row[key])}`);
    }
  }
  if (row.errors > row.n) {
    throw new RangeError(`${where}: errors (${row.errors}) cannot exceed n (${row.n})`);
  }
  if (row.confidenceCount > row.n - row.errors) {
    throw new RangeError(
      `${where}: confidenceCount (${row.confidenceCount}) cannot exceed the successful requests (${row.n - row.errors})`,
    );
  }
  if (row.latencyMs !== null) {
    for (const key of ['p50', 'p95', 'p99'] as const) {
      if (!Number.isFinite(row.latencyMs[key]) || row.latencyMs[key] < 0) {
        throw new RangeError(
          `${where}: latencyMs.${key} must be a finite number of milliseconds >= 0, got ${String(row.latencyMs[key])}`,
        );
      }
    }
  }
}

interface Grouped {
  readonly stable: VariantSummaryRow[];
  readonly candidate: VariantSummaryRow[];
  readonly ignored: Map<string | null, number>;
}

function groupByVariant(rows: readonly VariantSummaryRow[]): Grouped {
  const grouped: Grouped = { stable: [], candidate: [], ignored: new Map() };
  const seen = new Set<string>();
  for (const row of rows) {
    const key = JSON.stringify([row.variant, row.modelVersion]);
    if (seen.has(key)) {
      throw new RangeError(
        `analyseVariants: two rows for variant ${String(row.variant)}, model_version ${String(row.modelVersion)}; ` +
          'the summary query groups by both, so each pair appears once: pass its rows unchanged',
      );
    }
    seen.add(key);
    if (row.n === 0) continue;
    if (row.variant === 'stable' || row.variant === 'candidate') grouped[row.variant].push(row);
    else grouped.ignored.set(row.variant, (grouped.ignored.get(row.variant) ?? 0) + row.n);
  }
  return grouped;
}

interface VariantSide {
  readonly stats: VariantStats;
  readonly confidenceSummary: WelfordResult;
}

function variantStats(rows: readonly VariantSummaryRow[], confidence: number): VariantSide | null {
  if (rows.length === 0) return null;
  const total = (
    key: 'n' | 'errors' | 'confidenceCount' | 'confidenceSum' | 'confidenceSumSquares',
  ): number => rows.reduce((sum, row) => sum + row[key], 0);
  const n = total('n');
  const errors = total('errors');
  const confidenceCount = total('confidenceCount');
  const confidenceSummary = summaryFromSums(
    confidenceCount,
    total('confidenceSum'),
    total('confidenceSumSquares'),
  );
  const modelVersions = [...rows]
    .sort((a, b) => b.n - a.n)
    .map((row) => ({
      modelVersion: row.modelVersion,
      n: row.n,
      errors: row.errors,
      latencyMs: row.latencyMs,
    }));
  const stats: VariantStats = {
    n,
    errors,
    errorRate: wilsonInterval(errors, n, confidence),
    confidenceCount,
    meanConfidence:
      confidenceCount >= 2
        ? { ...meanInterval(confidenceSummary, confidence), stdDev: confidenceSummary.stdDev }
        : null,
    // Percentiles of different versions cannot be combined.
    latencyMs: rows.length === 1 ? rows[0].latencyMs : null,
    modelVersions,
  };
  return { stats, confidenceSummary };
}

function checkSampleRatio(stableN: number, candidateN: number, percent: number): SampleRatioCheck | null {
  const total = stableN + candidateN;
  if (total === 0) return null;
  const observed = { stable: stableN, candidate: candidateN };
  const observedCandidatePercent = (candidateN / total) * 100;
  if (percent === 0 || percent === 100) {
    // One variant is meant to get nothing: a single request there is impossible under the flag.
    const unexpected = percent === 0 ? candidateN : stableN;
    return {
      observed,
      expected: { stable: percent === 0 ? total : 0, candidate: percent === 0 ? 0 : total },
      observedCandidatePercent,
      chiSquare: unexpected > 0 ? null : 0,
      pValue: unexpected > 0 ? 0 : 1,
      srm: unexpected > 0,
    };
  }
  const test = sampleRatioMismatch([stableN, candidateN], [100 - percent, percent]);
  return {
    observed,
    expected: { stable: test.expectedCounts[0], candidate: test.expectedCounts[1] },
    observedCandidatePercent,
    chiSquare: test.chiSquare,
    pValue: test.pValue,
    srm: test.pValue < SRM_P_VALUE_THRESHOLD,
  };
}

function srmFinding(check: SampleRatioCheck, intended: number): string {
  const total = check.observed.stable + check.observed.candidate;
  const p = check.chiSquare === null ? 'impossible under the intended split' : `p = ${formatP(check.pValue)}`;
  return (
    `assignment looks broken: the candidate got ${formatCount(check.observed.candidate)} of ` +
    `${formatCount(total)} requests (${check.observedCandidatePercent.toFixed(2)}%) but the flag intends ` +
    `${intended}% (about ${formatCount(Math.round(check.expected.candidate))}); sample-ratio mismatch, ${p}. ` +
    'No difference is reported: check whether the flag changed during the day, the router assignment ' +
    '(hash salt, user ids) and whether one variant lost logs'
  );
}

function tooFewRequests(name: VariantName, n: number, minSamples: number, percent: number): string {
  const what = `${name} served ${formatCount(n)} request${n === 1 ? '' : 's'}, fewer than the ${formatCount(minSamples)} needed to compare (minSamples)`;
  const intendedShare = name === 'candidate' ? percent : 100 - percent;
  if (n === 0 && intendedShare === 0) {
    return `${what}: the flag sends it 0% of traffic, so no A/B test ran`;
  }
  return (
    `${what}: no win or loss can be read from this day; wait for more traffic` +
    (name === 'candidate' ? ' or raise the candidate share in the flag' : '')
  );
}

function direction(interval: Interval): Direction {
  if (interval.lower > 0) return 'candidate-higher';
  if (interval.upper < 0) return 'candidate-lower';
  return 'no-detectable-difference';
}

function describe(d: Direction): string {
  return d === 'no-detectable-difference' ? 'no detectable difference' : d.replace('-', ' ');
}

/** 4120 -> "4,120", without depending on the runtime's locale data. */
function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function formatP(p: number): string {
  if (p < 1e-300) return '< 1e-300';
  return p < 1e-4 ? p.toExponential(1) : p.toPrecision(2);
}

/** Error rates are small, so two decimals: "0.40% [0.25, 0.64]". */
function formatRate(i: Interval): string {
  return `${(i.estimate * 100).toFixed(2)}% [${(i.lower * 100).toFixed(2)}, ${(i.upper * 100).toFixed(2)}]`;
}

function signed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  if (Number(s) === 0) return (0).toFixed(digits);
  return x > 0 ? `+${s}` : s;
}

/** A difference of rates in percentage points: "+0.30 points [+0.12, +0.50]". */
function formatPoints(i: Interval): string {
  return `${signed(i.estimate * 100, 2)} points [${signed(i.lower * 100, 2)}, ${signed(i.upper * 100, 2)}]`;
}

function formatMean(i: Interval): string {
  return `${i.estimate.toFixed(4)} [${i.lower.toFixed(4)}, ${i.upper.toFixed(4)}]`;
}

function formatSignedMean(i: Interval): string {
  return `${signed(i.estimate, 4)} [${signed(i.lower, 4)}, ${signed(i.upper, 4)}]`;
}

/** Whole milliseconds from 10 ms on, one decimal below. */
function formatMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms.toFixed(1);
}
