/**
 * Drift between two categorical distributions: Jensen–Shannon distance and the categories that moved.
 */
import type { CategoryCounts, DriftSummary, OneSidedCategory, ShareChange } from '../contracts/records';
import { homogeneityTest } from './gate-stats';

/**
 * Significance level of the drift test: drift fails only when the distance exceeds `maxDrift` AND
 * the chi-square test says sampling alone would give distributions this different less than 1% of the time.
 */
export const DEFAULT_DRIFT_SIGNIFICANCE = 0.01;
/** Fewest rows on the current side for drift to be judged at all; below it the report says "too few". */
export const DEFAULT_MIN_DRIFT_ROWS = 100;

/** How the drift decision is made (`dataValidation.driftSignificance`, `dataValidation.minDriftRows`). */
export interface DriftTestOptions {
  /** @default DEFAULT_DRIFT_SIGNIFICANCE */
  readonly significance?: number;
  /** @default DEFAULT_MIN_DRIFT_ROWS */
  readonly minRows?: number;
}

/** A {@link DriftSummary} with every category's share on both sides, for reports and dashboards. */
export interface DriftReport extends DriftSummary {
  /** All categories seen on either side, ordered by |delta| (largest first), ties by value. */
  readonly shares: readonly ShareChange[];
  /** Sum of the current counts. */
  readonly currentTotal: number;
  /** Sum of the reference counts. */
  readonly referenceTotal: number;
  readonly status: NonNullable<DriftSummary['status']>;
  readonly pValue: number;
  readonly significant: boolean;
  readonly oneSided: readonly OneSidedCategory[];
  /** Pearson's X² of the test of homogeneity (the decision's statistic). */
  readonly chiSquare: number;
  /** G statistic, reported beside it. */
  readonly gStatistic: number;
  readonly degreesOfFreedom: number;
  /** The significance level applied. */
  readonly significance: number;
  /** The fewest current rows judged. */
  readonly minRows: number;
}

// Below this |r| the series for g(r) converges to full precision within a dozen terms.
const SERIES_LIMIT = 0.1;

/**
 * Jensen–Shannon distance between two count tables, base-2 logarithms: sqrt(JSD), 0 (same shares)
 * to 1 (no category in common). Symmetric, and finite when a category is seen on one side only.
 * Counts are normalised per side; missing categories count 0.
 *
 * @throws if a side is empty (total 0) or a count is negative or not a finite number.
 */
export function computeJsDistance(p: CategoryCounts, q: CategoryCounts): number {
  // Not sqrt(KL(p||q)/2): KL is asymmetric, unbounded, and infinite as soon as q lacks a category p has.
  const pTotal = checkedTotal(p, 'first');
  const qTotal = checkedTotal(q, 'second');
  let sum = 0;
  for (const value of unionOfCategories(p, q)) {
    const pi = (Object.hasOwn(p, value) ? p[value] : 0) / pTotal;
    const qi = (Object.hasOwn(q, value) ? q[value] : 0) / qTotal;
    const mass = pi + qi;
    if (mass > 0) sum += mass * halfDivergenceTerm((pi - qi) / mass);
  }
  // Every term is >= 0, so only the upper bound can be crossed by rounding.
  return Math.min(1, Math.sqrt(sum / 2 / Math.LN2));
}

/**
 * g(r) = ((1+r)·ln(1+r) + (1−r)·ln(1−r)) / 2, where p = m(1+r), q = m(1−r); the JS divergence in nats is
 * the sum of (p+q)·g(r) / 2. Written this way every term is non-negative, and the series keeps full
 * precision when p ≈ q, where the textbook form loses it to cancellation.
 */
function halfDivergenceTerm(r: number): number {
  const r2 = r * r;
  if (Math.abs(r) < SERIES_LIMIT) {
    // g(r) = Σ_{k≥1} r^(2k) / (2k(2k−1))
    let term = r2;
    let sum = 0;
    for (let k = 1; k <= 40; k++) {
      const next = term / (2 * k * (2 * k - 1));
      sum += next;
      if (next < sum * 1e-17) break;
      term *= r2;
    }
    return sum;
  }
  // 0·ln 0 = 0 when the category is absent from one side (r = ±1).
  const plus = r > -1 ? (1 + r) * Math.log1p(r) : 0;
  const minus = r < 1 ? (1 - r) * Math.log1p(-r) : 0;
  return (plus + minus) / 2;
}

function checkedTotal(counts: CategoryCounts, side: string): number {
  let total = 0;
  for (const value of Object.keys(counts)) {
    const count = counts[value];
    if (typeof count !== 'number' || !Number.isFinite(count) || count < 0) {
      throw new Error(
        `The ${side} distribution has count ${String(count)} for '${value}'; expected a finite number >= 0 (occurrences of that category).`,
      );
    }
    total += count;
  }
  if (!Number.isFinite(total)) {
    throw new Error(`The ${side} distribution's counts add up to ${total}; expected a finite total.`);
  }
  if (total === 0) {
    throw new Error(
      `The ${side} distribution is empty (total count 0); drift needs at least one observation on each side. Check that the dataset has rows with this field.`,
    );
  }
  return total;
}

// Sorted so that the summation order, and therefore the last bit, does not depend on key order.
function unionOfCategories(p: CategoryCounts, q: CategoryCounts): string[] {
  const values = new Set(Object.keys(p));
  for (const value of Object.keys(q)) values.add(value);
  return [...values].sort(compareCodeUnits);
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares the current distribution of one field of an eval set with its reference.
 * `topMovers` keeps the `topN` categories whose share moved most (unmoved categories are left out);
 * `shares` keeps them all.
 *
 * @throws if a side is empty, a count is invalid, `threshold` is outside 0..1 or `topN` is not a whole number.
 */
export function compareDistributions(
  evalSet: string,
  field: string,
  current: CategoryCounts,
  reference: CategoryCounts,
  threshold: number,
  topN = 5,
  options: DriftTestOptions = {},
): DriftReport {
  const significance = options.significance ?? DEFAULT_DRIFT_SIGNIFICANCE;
  const minRows = options.minRows ?? DEFAULT_MIN_DRIFT_ROWS;
  if (!(significance > 0 && significance < 1)) {
    throw new Error(
      `driftSignificance is ${String(significance)}; expected a level between 0 and 1 (e.g. 0.01).`,
    );
  }
  if (!Number.isSafeInteger(minRows) || minRows < 1) {
    throw new Error(`minDriftRows is ${String(minRows)}; expected a whole number >= 1 (e.g. 100).`);
  }
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new Error(
      `maxDrift for eval set '${evalSet}' is ${String(threshold)}; expected a Jensen–Shannon distance between 0 and 1 (e.g. 0.1).`,
    );
  }
  if (!Number.isInteger(topN) || topN < 0) {
    throw new Error(`topN is ${String(topN)}; expected a whole number >= 0 of categories to list.`);
  }
  const label = `${field} of eval set '${evalSet}'`;
  const currentTotal = checkedTotal(current, `current ${label}`);
  const referenceTotal = checkedTotal(reference, `reference ${label}`);
  const jsDistance = computeJsDistance(current, reference);

  const shares: ShareChange[] = unionOfCategories(current, reference).map((value) => {
    const currentShare = (Object.hasOwn(current, value) ? current[value] : 0) / currentTotal;
    const referenceShare = (Object.hasOwn(reference, value) ? reference[value] : 0) / referenceTotal;
    return { value, referenceShare, currentShare, delta: currentShare - referenceShare };
  });
  shares.sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || compareCodeUnits(a.value, b.value));
  const test = homogeneityTest(current, reference);
  const exceeds = jsDistance > threshold;
  const significant = test.pValue < significance;
  const status: DriftSummary['status'] =
    currentTotal < minRows ? 'too-few-rows' : !exceeds ? 'within' : significant ? 'drift' : 'not-significant';
  const oneSided: OneSidedCategory[] = shares
    .filter((c) => c.referenceShare === 0 || c.currentShare === 0)
    .map((c) =>
      c.referenceShare === 0
        ? { value: c.value, side: 'current', share: c.currentShare }
        : { value: c.value, side: 'reference', share: c.referenceShare },
    );

  return {
    evalSet,
    field,
    jsDistance,
    threshold,
    passed: status !== 'drift',
    status,
    pValue: test.pValue,
    significant,
    oneSided,
    topMovers: shares.filter((change) => change.delta !== 0).slice(0, topN),
    shares,
    currentTotal,
    referenceTotal,
    chiSquare: test.chiSquare,
    gStatistic: test.g,
    degreesOfFreedom: test.degreesOfFreedom,
    significance,
    minRows,
  };
}

/**
 * A share change as people read it: `label 'refund' 8% → 21%`. Shares under 1% keep one decimal, and
 * both sides get one decimal when whole percents would hide the change.
 */
export function formatShareChange(field: string, change: ShareChange): string {
  let digits = 0;
  if (
    formatPercent(change.referenceShare, 0) === formatPercent(change.currentShare, 0) &&
    change.delta !== 0
  ) {
    digits = 1;
  }
  const from = formatPercent(change.referenceShare, digits);
  const to = formatPercent(change.currentShare, digits);
  return `${field} '${change.value.replace(/'/g, "\\'")}' ${from} → ${to}`;
}

function formatPercent(share: number, digits: number): string {
  const percent = share * 100;
  if (percent === 0) return '0%';
  if (percent < 0.05) return '<0.1%';
  if (percent < 1 || digits > 0) return `${percent.toFixed(1)}%`;
  return `${Math.round(percent)}%`;
}

/**
 * One sentence for a PR comment or a failure message, e.g.
 * `label drift 0.31 > maxDrift 0.2 (label 'refund' 8% → 21%, label 'billing' 30% → 22%)`.
 */
export function describeDrift(report: DriftReport, movers = 3): string {
  const comparison = report.jsDistance > report.threshold ? '>' : '<=';
  const changes = report.topMovers.slice(0, movers).map((change) => formatShareChange(report.field, change));
  const detail = changes.length > 0 ? ` (${changes.join(', ')})` : '';
  let distance = report.jsDistance.toFixed(3);
  // Never print "0.200 > maxDrift 0.2".
  if (Number(distance) === report.threshold && report.jsDistance !== report.threshold) {
    distance = report.jsDistance.toPrecision(6);
  }
  return `${report.field} drift ${distance} ${comparison} maxDrift ${report.threshold}${detail}${describeSignificance(report)}`;
}

/** The significance clause and the one-sided categories, e.g. `; significant (chi-square test p < 0.0001)`. */
function describeSignificance(report: DriftReport): string {
  const p = formatPValue(report.pValue);
  const rows = report.currentTotal.toLocaleString('en-US');
  let clause: string;
  switch (report.status) {
    case 'too-few-rows':
      clause = `; not judged: ${rows} rows, fewer than minDriftRows ${report.minRows}, too few to tell drift from sampling noise`;
      break;
    case 'not-significant':
      clause =
        `; not significant (chi-square test p ${p} >= ${report.significance}): ${rows} vs ` +
        `${report.referenceTotal.toLocaleString('en-US')} rows are too few to tell a distance this size from sampling noise`;
      break;
    case 'drift':
      clause = `; significant (chi-square test p ${p}${report.pValue < 0.0001 ? '' : ` < ${report.significance}`})`;
      break;
    default:
      clause = '';
  }
  const sided = report.oneSided
    .slice(0, 3)
    .map(
      (c) =>
        `${report.field} '${c.value.replace(/'/g, "\\'")}' only in the ${c.side === 'current' ? 'eval set' : 'reference'} ` +
        `(${formatPercent(c.share, 1)})`,
    );
  return sided.length > 0 ? `${clause}; ${sided.join(', ')}` : clause;
}

/** `= 0.034`, `< 0.0001`. */
export function formatPValue(p: number): string {
  if (p < 0.0001) return '< 0.0001';
  return `= ${p < 0.01 ? p.toPrecision(2) : p.toFixed(3)}`;
}
