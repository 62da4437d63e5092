/**
 * The live confidence alarm: its CloudWatch metric-math definition, a small evaluator of exactly
 * that expression grammar and of CloudWatch's alarm-state rule, the baseline estimate it needs,
 * and the seeded traffic simulation that calibrates it. The stack deploys the definition built
 * here; `mlops calibrate-alarm`, the calibration tests and the lifecycle emulator evaluate it with
 * the evaluator here, so what is measured is what is deployed.
 *
 * The rule (the source article's "mean confidence below the baseline by more than k standard
 * deviations for N consecutive minutes", with the right standard deviation and baseline): per
 * period, from the router's `Confidence` (SampleCount n, Sum s) and `ConfidenceSquared` (Sum q),
 *
 *     mean = s/n,  var = q/n − mean²,  z = (mean − B) / sqrt(var/n + τ²)
 *
 * where B is the served version's own live baseline mean and τ² the between-period variance of
 * the period mean (the input mix wandering) measured in its baseline window, plus the variance of
 * the estimate B itself. The alarm breaches when z < −k in M of the last N periods, evaluated
 * every minute over a sliding window (shipped: k = 3, 3 of 5 two-minute periods; docs/statistics.md
 * says why); periods with n < nMin give no datapoint (`IF` with no false branch) and missing data
 * is `ignore`d, so a quiet period neither breaches nor clears.
 *
 * Pure: no SDK, no clock; randomness only from a seeded PRNG passed in.
 */
import { HOURS_PER_MONTH } from './cost';
import { createPrng, type Prng } from '../data/production-sample';

// ---------------------------------------------------------------------------------------------
// Definition
// ---------------------------------------------------------------------------------------------

/** The router's metric names the alarm reads (lambdas/router/metrics.ts publishes both per request). */
export const CONFIDENCE_METRIC = 'Confidence';
export const CONFIDENCE_SQUARED_METRIC = 'ConfidenceSquared';

/** Ids of the alarm's metric-data queries. Ids must start with a lowercase letter (CloudWatch). */
export const CONFIDENCE_ALARM_IDS = {
  /** SampleCount of Confidence: requests with a confidence in the period. */
  count: 'n',
  /** Sum of Confidence. */
  sum: 's',
  /** Sum of ConfidenceSquared. */
  sumOfSquares: 'q',
  /** The z statistic of the period mean. */
  z: 'z',
  /** z where n >= nMin, no datapoint elsewhere: what the alarm watches. */
  gated: 'zgated',
} as const;

/** How the alarm acts: who it calls and what its band is measured against. */
export type ConfidenceAlarmMode =
  /** No version serves yet (fresh stack): B = 0, so z >= 0 and the alarm cannot breach. */
  | 'disarmed'
  /** A version serves but its live baseline window has not ended: a wide band, pages only. */
  | 'provisional'
  /** The version's own live baseline: pages and rolls back. */
  | 'armed';

/** B and τ² of the expression. */
export interface ConfidenceBand {
  /** B: the baseline mean confidence. */
  readonly mean: number;
  /** τ² (plus the variance of B's estimate): added to var/n in the denominator; > 0. */
  readonly periodVariance: number;
}

/** The rule's settings (from `monitoring` in the model's config). */
export interface ConfidenceAlarmSettings {
  /** k: the alarm breaches below z = −k. */
  readonly stdDevs: number;
  /** M: breaching periods (`DatapointsToAlarm`) among the last N evaluated that put the alarm in ALARM. */
  readonly breachingPeriods: number;
  /** N: periods evaluated (`EvaluationPeriods`). @default breachingPeriods (M consecutive periods) */
  readonly evaluationPeriods?: number;
  /** nMin: periods with fewer requests with a confidence give no datapoint. */
  readonly minRequests: number;
  /** The alarm period in seconds. */
  readonly periodSeconds: number;
}

/** Smallest τ² written into an alarm: keeps the denominator positive when every confidence is equal. */
export const MIN_PERIOD_VARIANCE = 1e-8;

/** The band of a disarmed alarm: B = 0, which no mean of confidences in [0, 1] falls below. */
export const DISARMED_BAND: ConfidenceBand = { mean: 0, periodVariance: MIN_PERIOD_VARIANCE };

/** A decimal literal without exponent notation (CloudWatch's grammar shows none). */
function literal(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`a metric-math constant must be finite, got ${x}`);
  const fixed = x.toFixed(12).replace(/0+$/, '').replace(/\.$/, '');
  return fixed === '-0' ? '0' : fixed;
}

/**
 * `z` of one period: `(s/n − B) / (var/n + τ²)^0.5`. Metric math has no SQRT, so `^0.5`; its
 * arithmetic operators are + − * / ^, and a division by zero drops the datapoint:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#metric-math-syntax-arithmetic
 */
export function zExpression(band: ConfidenceBand): string {
  validateBand(band);
  const { count: n, sum: s, sumOfSquares: q } = CONFIDENCE_ALARM_IDS;
  const mean = `${s}/${n}`;
  return `(${mean} - ${literal(band.mean)}) / ((${q}/${n} - (${mean})^2)/${n} + ${literal(band.periodVariance)})^0.5`;
}

/**
 * `IF(n >= nMin, z)`: with the false value omitted, a period whose condition is false has no
 * datapoint ("is an empty time series ... if scalar3/metric3 is omitted"):
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#using-IF-expressions
 */
export function gatedExpression(minRequests: number): string {
  if (!Number.isSafeInteger(minRequests) || minRequests < 2) {
    throw new RangeError(
      `minRequests must be a whole number >= 2 (a variance needs 2 values), got ${minRequests}`,
    );
  }
  return `IF(${CONFIDENCE_ALARM_IDS.count} >= ${minRequests}, ${CONFIDENCE_ALARM_IDS.z})`;
}

function validateBand(band: ConfidenceBand): void {
  if (!Number.isFinite(band.mean) || band.mean < 0 || band.mean > 1) {
    throw new RangeError(`the baseline mean confidence must be in [0, 1], got ${band.mean}`);
  }
  if (!Number.isFinite(band.periodVariance) || band.periodVariance < MIN_PERIOD_VARIANCE) {
    throw new RangeError(
      `the baseline period variance must be at least ${MIN_PERIOD_VARIANCE}, got ${band.periodVariance}`,
    );
  }
}

/** What the stack and a re-baseline write, besides the metric stats (namespace and dimensions). */
export interface ConfidenceAlarmDefinition {
  /** The two expressions, in the order written; `gated` is the one with ReturnData. */
  readonly expressions: readonly {
    readonly id: string;
    readonly expression: string;
    readonly returnData: boolean;
  }[];
  /** −k. */
  readonly threshold: number;
  readonly comparisonOperator: 'LessThanThreshold';
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  /**
   * `ignore`: "the current alarm state is maintained":
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
   */
  readonly treatMissingData: 'ignore';
}

export function confidenceAlarmDefinition(
  settings: ConfidenceAlarmSettings,
  band: ConfidenceBand,
): ConfidenceAlarmDefinition {
  validateSettings(settings);
  return {
    expressions: [
      { id: CONFIDENCE_ALARM_IDS.z, expression: zExpression(band), returnData: false },
      { id: CONFIDENCE_ALARM_IDS.gated, expression: gatedExpression(settings.minRequests), returnData: true },
    ],
    threshold: -settings.stdDevs,
    comparisonOperator: 'LessThanThreshold',
    evaluationPeriods: settings.evaluationPeriods ?? settings.breachingPeriods,
    datapointsToAlarm: settings.breachingPeriods,
    treatMissingData: 'ignore',
  };
}

function validateSettings(s: ConfidenceAlarmSettings): void {
  if (!(s.stdDevs > 0 && Number.isFinite(s.stdDevs)))
    throw new RangeError(`stdDevs (k) must be > 0, got ${s.stdDevs}`);
  if (!Number.isSafeInteger(s.breachingPeriods) || s.breachingPeriods < 1) {
    throw new RangeError(`breachingPeriods (M) must be a whole number >= 1, got ${s.breachingPeriods}`);
  }
  const n = s.evaluationPeriods ?? s.breachingPeriods;
  if (!Number.isSafeInteger(n) || n < s.breachingPeriods) {
    throw new RangeError(
      `evaluationPeriods (N) must be a whole number >= breachingPeriods (M = ${s.breachingPeriods}), got ${n}`,
    );
  }
  gatedExpression(s.minRequests);
  if (!Number.isSafeInteger(s.periodSeconds) || s.periodSeconds < 60 || s.periodSeconds % 60 !== 0) {
    throw new RangeError(`periodSeconds must be a multiple of 60, got ${s.periodSeconds}`);
  }
}

/** Reads B and τ² back out of a z expression this module wrote (a re-baseline reports the old band). */
export function bandOfZExpression(expression: string): ConfidenceBand | null {
  const m = /^\(s\/n - ([0-9.]+)\) \/ \(\(q\/n - \(s\/n\)\^2\)\/n \+ ([0-9.]+)\)\^0\.5$/.exec(expression);
  return m ? { mean: Number(m[1]), periodVariance: Number(m[2]) } : null;
}

// ---------------------------------------------------------------------------------------------
// Expression evaluator (the grammar the definition uses)
// ---------------------------------------------------------------------------------------------

/**
 * A datapoint of a time series at one timestamp (`null`: the series has no point there), or a
 * scalar. Metric math evaluates point by point; the rules followed (from the metric-math page):
 * - arithmetic and comparisons between two series: where only one has a point, the other's is 0;
 *   where neither has one, the result has none; a scalar never creates a point;
 * - a division by zero drops the point (so does a non-finite result such as a negative base ^0.5,
 *   which the page does not cover: a conservative reading, a dropped point cannot breach);
 * - `IF(c, t, f)`: no point where c has none; where c is true, t (0 if t is a series without a
 *   point); where false, f, or no point when f is omitted or has none.
 */
type Node =
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'id'; readonly name: string }
  | { readonly kind: 'neg'; readonly arg: Node }
  | { readonly kind: 'bin'; readonly op: string; readonly left: Node; readonly right: Node }
  | { readonly kind: 'if'; readonly cond: Node; readonly then: Node; readonly otherwise: Node | null };

/** Thrown for an expression outside the supported grammar; says where. */
export class MetricMathError extends Error {
  override readonly name = 'MetricMathError';
}

const TOKEN =
  /\s*(?:(\d+(?:\.\d+)?|\.\d+)|([a-z][A-Za-z0-9_]*)|(IF|AND|OR)\b|(==|!=|<=|>=|&&|\|\||[-+*/^(),<>]))/y;

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < src.length) {
    if (/^\s*$/.test(src.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(src);
    if (!m)
      throw new MetricMathError(`unsupported metric math at character ${at}: "${src.slice(at, at + 12)}"`);
    tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]!);
    at = TOKEN.lastIndex;
  }
  return tokens;
}

/** Parses the supported subset of metric math: numbers, ids, + − * / ^, comparisons, AND/OR, IF. */
export function parseMetricMath(src: string): Node {
  const tokens = tokenize(src);
  let i = 0;
  const peek = () => tokens[i];
  const expect = (t: string) => {
    if (tokens[i] !== t)
      throw new MetricMathError(`expected "${t}" at token ${i} of "${src}", got ${tokens[i] ?? 'the end'}`);
    i += 1;
  };
  const binary = (next: () => Node, ops: readonly string[]) => (): Node => {
    let left = next();
    while (ops.includes(peek() ?? '')) {
      const op = tokens[i++]!;
      left = { kind: 'bin', op: op === '&&' ? 'AND' : op === '||' ? 'OR' : op, left, right: next() };
    }
    return left;
  };
  const primary = (): Node => {
    const t = tokens[i];
    if (t === undefined) throw new MetricMathError(`"${src}" ends too early`);
    i += 1;
    if (t === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (t === 'IF') {
      expect('(');
      const cond = or();
      expect(',');
      const then = or();
      let otherwise: Node | null = null;
      if (peek() === ',') {
        i += 1;
        otherwise = or();
      }
      expect(')');
      return { kind: 'if', cond, then, otherwise };
    }
    if (/^[0-9.]/.test(t)) return { kind: 'num', value: Number(t) };
    if (/^[a-z]/.test(t)) return { kind: 'id', name: t };
    throw new MetricMathError(`unexpected "${t}" in "${src}"`);
  };
  const unary = (): Node => {
    if (peek() === '-') {
      i += 1;
      return { kind: 'neg', arg: unary() };
    }
    return power();
  };
  const power = (): Node => {
    const base = primary();
    if (peek() === '^') {
      i += 1;
      return { kind: 'bin', op: '^', left: base, right: unary() };
    }
    return base;
  };
  const mul = binary(unary, ['*', '/']);
  const add = binary(mul, ['+', '-']);
  const cmp = binary(add, ['==', '!=', '<=', '>=', '<', '>']);
  const and = binary(cmp, ['AND', '&&']);
  const or = binary(and, ['OR', '||']);
  const tree = or();
  if (i !== tokens.length) throw new MetricMathError(`unexpected "${tokens[i]}" in "${src}"`);
  return tree;
}

/** Whether a node is a constant (no metric id below it): a scalar never creates a datapoint. */
function isScalar(node: Node): boolean {
  switch (node.kind) {
    case 'num':
      return true;
    case 'id':
      return false;
    case 'neg':
      return isScalar(node.arg);
    case 'bin':
      return isScalar(node.left) && isScalar(node.right);
    case 'if':
      return (
        isScalar(node.cond) && isScalar(node.then) && (node.otherwise === null || isScalar(node.otherwise))
      );
  }
}

function applyBinary(op: string, a: number, b: number): number | null {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? null : a / b;
    case '^':
      return a ** b;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case 'AND':
      return a !== 0 && b !== 0 ? 1 : 0;
    default:
      return a !== 0 || b !== 0 ? 1 : 0;
  }
}

type Point = Readonly<Record<string, number | null>>;
/** A compiled node: the datapoint at one timestamp, null where the series has none. */
type Compiled = (point: Point) => number | null;

const finite = (v: number | null): number | null => (v === null || Number.isFinite(v) ? v : null);

function compileNode(node: Node): Compiled {
  switch (node.kind) {
    case 'num': {
      const v = node.value;
      return () => v;
    }
    case 'id': {
      const name = node.name;
      return (point) => {
        if (!(name in point)) throw new MetricMathError(`unknown id "${name}"`);
        return finite(point[name] ?? null);
      };
    }
    case 'neg': {
      const arg = compileNode(node.arg);
      return (point) => {
        const a = arg(point);
        return a === null ? null : -a;
      };
    }
    case 'bin': {
      const left = compileNode(node.left);
      const right = compileNode(node.right);
      const op = node.op;
      const leftScalar = isScalar(node.left);
      const rightScalar = isScalar(node.right);
      return (point) => {
        const a = left(point);
        const b = right(point);
        // A scalar adds no timestamps; between two series a missing point is 0 where the other has one.
        if (a === null && (rightScalar || b === null)) return null;
        if (b === null && leftScalar) return null;
        return finite(applyBinary(op, a ?? 0, b ?? 0));
      };
    }
    case 'if': {
      const cond = compileNode(node.cond);
      const then = compileNode(node.then);
      const otherwise = node.otherwise === null ? null : compileNode(node.otherwise);
      return (point) => {
        const c = cond(point);
        if (c === null) return null;
        if (c !== 0) return then(point) ?? 0;
        return otherwise === null ? null : otherwise(point);
      };
    }
  }
}

/** A compiled set of metric-math expressions: evaluates one period's datapoint. */
export interface CompiledExpressions {
  /** The returned expression's value for one period's metric values (null: no datapoint). */
  datapoint(metrics: Readonly<Record<string, number | null>>): number | null;
}

function idsOf(node: Node, into: Set<string>): Set<string> {
  switch (node.kind) {
    case 'id':
      into.add(node.name);
      break;
    case 'neg':
      idsOf(node.arg, into);
      break;
    case 'bin':
      idsOf(node.left, into);
      idsOf(node.right, into);
      break;
    case 'if':
      idsOf(node.cond, into);
      idsOf(node.then, into);
      if (node.otherwise) idsOf(node.otherwise, into);
      break;
    default:
      break;
  }
  return into;
}

/**
 * Compiles an alarm's expressions (as in the template's `Metrics`, in any order: an expression
 * may use another's id) and returns the datapoint of the one with `returnData`.
 */
export function compileExpressions(
  expressions: readonly { readonly id: string; readonly expression: string; readonly returnData?: boolean }[],
): CompiledExpressions {
  const parsed = expressions.map((e) => {
    const tree = parseMetricMath(e.expression);
    return { id: e.id, evaluate: compileNode(tree), uses: idsOf(tree, new Set()), returnData: e.returnData };
  });
  const returned = parsed.filter((e) => e.returnData !== false);
  if (returned.length !== 1) {
    throw new MetricMathError(`an alarm returns exactly one expression; ${returned.length} have ReturnData`);
  }
  // Dependencies first; a cycle is an error CloudWatch would refuse too.
  const byId = new Map(parsed.map((e) => [e.id, e]));
  const ordered: typeof parsed = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (e: (typeof parsed)[number]) => {
    if (state.get(e.id) === 'done') return;
    if (state.get(e.id) === 'visiting') throw new MetricMathError(`expression "${e.id}" depends on itself`);
    state.set(e.id, 'visiting');
    for (const id of e.uses) {
      const dep = byId.get(id);
      if (dep) visit(dep);
    }
    state.set(e.id, 'done');
    ordered.push(e);
  };
  parsed.forEach(visit);
  const result = returned[0]!.id;
  return {
    datapoint(metrics) {
      const point: Record<string, number | null> = { ...metrics };
      for (const e of ordered) point[e.id] = e.evaluate(point);
      return point[result] ?? null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Alarm state (CloudWatch's evaluation with missing data)
// ---------------------------------------------------------------------------------------------

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface AlarmRule {
  readonly threshold: number;
  readonly comparisonOperator: 'LessThanThreshold' | 'GreaterThanThreshold';
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: 'ignore' | 'breaching' | 'notBreaching';
}

/**
 * The next state from the datapoints of the evaluation range (oldest first; null = missing),
 * following "How alarm state is evaluated when data is missing":
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data
 * - with at least N real datapoints in the range, the most recent N decide (the treatment unused);
 * - with fewer, missing ones are filled by the treatment; for `ignore`, the page's tables give:
 *   no datapoint keeps the state, M breaching ones alarm, and any non-breaching one makes it OK
 *   (rows "0 - - - -", "- - - - X", "X - - - -" and, for 2 of 3, "0 - X - -", "- - - - 0").
 * In all cases: M or more breaching of the N evaluated is ALARM, fewer is OK.
 */
export function nextAlarmState(
  range: readonly (number | null)[],
  rule: AlarmRule,
  current: AlarmState,
): AlarmState {
  const below = rule.comparisonOperator === 'LessThanThreshold';
  const N = rule.evaluationPeriods;
  const M = rule.datapointsToAlarm;
  // One pass from the newest datapoint back (no allocation: the simulator calls this every minute):
  // the real datapoints, those of them breaching, and the breaching among the newest N real ones.
  let real = 0;
  let breaching = 0;
  let breachingOfNewestN = 0;
  for (let i = range.length - 1; i >= 0; i--) {
    const v = range[i];
    if (v === null || v === undefined) continue;
    real += 1;
    if (below ? v < rule.threshold : v > rule.threshold) {
      breaching += 1;
      if (real <= N) breachingOfNewestN += 1;
    }
  }
  if (real >= N) return breachingOfNewestN >= M ? 'ALARM' : 'OK';
  const fill = N - real;
  if (rule.treatMissingData === 'breaching') return breaching + fill >= M ? 'ALARM' : 'OK';
  if (rule.treatMissingData === 'notBreaching') return breaching >= M ? 'ALARM' : 'OK';
  if (real === 0) return current;
  if (breaching >= M) return 'ALARM';
  return breaching < real ? 'OK' : current;
}

/** Datapoints CloudWatch retrieves per evaluation: the page's example retrieves 5 for N = 3. */
export function evaluationRange(rule: AlarmRule): number {
  return rule.evaluationPeriods + 2;
}

// ---------------------------------------------------------------------------------------------
// Baseline from live traffic
// ---------------------------------------------------------------------------------------------

/** One period's aggregates of the router's metrics. */
export interface PeriodAggregate {
  /** SampleCount of Confidence. */
  readonly n: number;
  /** Sum of Confidence. */
  readonly s: number;
  /** Sum of ConfidenceSquared. */
  readonly q: number;
}

export interface BaselineEstimate extends ConfidenceBand {
  /** Periods with at least nMin requests that the estimate used. */
  readonly periods: number;
  /** Requests in those periods. */
  readonly requests: number;
  /** τ̂: the between-period standard deviation of the period mean beyond sampling noise. */
  readonly betweenPeriodStdDev: number;
  /** Standard error of B (inflated for autocorrelated periods). */
  readonly meanStandardError: number;
  /** Mean within-period standard deviation of single confidences. */
  readonly requestStdDev: number;
}

/** Fewest usable periods for a baseline: fewer and τ̂ is mostly noise. */
export const MIN_BASELINE_PERIODS = 30;

/**
 * B and τ² from the served version's own traffic. Random-effects model: the period mean is
 * μ + u_t + e_t with u_t the wandering of the input mix (variance τ²) and e_t sampling noise
 * (variance σ_t²/n_t). τ² by the method of moments (DerSimonian & Laird, Controlled Clinical
 * Trials 7, 1986): the variance of the period means minus their mean sampling variance, floored
 * at 0. B is the mean of the period means; its standard error is inflated by (1+ρ)/(1−ρ) for the
 * lag-1 autocorrelation ρ of the period means (AR(1) effective sample size), and its variance is
 * added to τ²: the alarm compares every period with the same estimated B.
 * Null when fewer than `MIN_BASELINE_PERIODS` periods have nMin requests.
 */
export function estimateBaseline(
  periods: readonly PeriodAggregate[],
  minRequests: number,
): BaselineEstimate | null {
  const used = periods.filter((p) => p.n >= minRequests && p.n >= 2);
  if (used.length < MIN_BASELINE_PERIODS) return null;
  const means = used.map((p) => p.s / p.n);
  const samplingVariances = used.map((p, i) => {
    const m = means[i]!;
    const within = Math.max(0, ((p.q / p.n - m * m) * p.n) / (p.n - 1));
    return within / p.n;
  });
  const k = used.length;
  const B = means.reduce((a, b) => a + b, 0) / k;
  const varMeans = means.reduce((a, m) => a + (m - B) ** 2, 0) / (k - 1);
  const meanSampling = samplingVariances.reduce((a, b) => a + b, 0) / k;
  const tau2 = Math.max(0, varMeans - meanSampling);
  let lag = 0;
  for (let i = 1; i < k; i++) lag += (means[i]! - B) * (means[i - 1]! - B);
  const rho = varMeans > 0 ? Math.min(0.9, Math.max(0, lag / (k - 1) / varMeans)) : 0;
  const varB = (varMeans / k) * ((1 + rho) / (1 - rho));
  const requestStdDev = Math.sqrt(used.reduce((a, p, i) => a + samplingVariances[i]! * p.n, 0) / k);
  return {
    mean: Math.min(1, Math.max(0, B)),
    periodVariance: Math.max(MIN_PERIOD_VARIANCE, tau2 + varB),
    periods: k,
    requests: used.reduce((a, p) => a + p.n, 0),
    betweenPeriodStdDev: Math.sqrt(tau2),
    meanStandardError: Math.sqrt(varB),
    requestStdDev,
  };
}

/**
 * The provisional band, before the live baseline exists: B from the promoted model's evaluation
 * (production-like set) and a deliberately wide τ. The alarm then pages, never rolls back; it
 * catches a collapse of confidence, not a drift of a few points.
 */
export function provisionalBand(evalMean: number, provisionalStdDev: number): ConfidenceBand {
  return {
    mean: Math.min(1, Math.max(0, evalMean)),
    periodVariance: Math.max(MIN_PERIOD_VARIANCE, provisionalStdDev ** 2),
  };
}

// ---------------------------------------------------------------------------------------------
// Simulation
// ---------------------------------------------------------------------------------------------

/**
 * Traffic model, minute by minute (whatever the alarm's period): requests per minute ~ Poisson(λ);
 * per-request confidence ~ Beta with mean μ_t and standard deviation σ; the minute's mean
 * μ_t = μ + u_t, with u_t a stationary AR(1) process (the input mix wandering):
 * u_t = φ·u_{t−1} + sqrt(1−φ²)·τ·ε_t. τ = 0 is iid traffic. A longer alarm period sums minutes,
 * so it averages the wander down as it does in production.
 */
export interface TrafficModel {
  readonly requestsPerMinute: number;
  readonly confidenceMean: number;
  readonly confidenceStdDev: number;
  /** τ: standard deviation of u_t (one minute's true mean). */
  readonly periodStdDev: number;
  /** φ: lag-1 autocorrelation of u_t, minute to minute. */
  readonly periodAutocorrelation: number;
}

/** Requests per minute up to which confidences are drawn one by one; above, by the CLT (see `simulateMinute`). */
export const EXACT_DRAW_LIMIT = 30;

interface Random {
  uniform(): number;
  normal(): number;
  gamma(shape: number): number;
  poisson(lambda: number): number;
  beta(a: number, b: number): number;
}

function random(prng: Prng): Random {
  const uniform = () => (prng.nextUint32() + 0.5) / 2 ** 32;
  let spare: number | null = null;
  const normal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const t = 2 * Math.PI * uniform();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
  // Marsaglia & Tsang (ACM TOMS 26, 2000); shape < 1 through the shape + 1 boost.
  const gamma = (shape: number): number => {
    if (shape < 1) return gamma(shape + 1) * uniform() ** (1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = uniform();
      if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  };
  const poisson = (lambda: number): number => {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal()));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = uniform();
    while (p > limit) {
      k += 1;
      p *= uniform();
    }
    return k;
  };
  const beta = (a: number, b: number) => {
    const x = gamma(a);
    return x / (x + gamma(b));
  };
  return { uniform, normal, gamma, poisson, beta };
}

/** Beta(a, b) with the given mean and standard deviation (the variance capped below μ(1−μ)). */
function betaShape(mean: number, sd: number): { a: number; b: number } {
  const m = Math.min(0.99, Math.max(0.01, mean));
  const variance = Math.min(sd * sd, 0.9 * m * (1 - m));
  const common = (m * (1 - m)) / variance - 1;
  return { a: m * common, b: (1 - m) * common };
}

/**
 * One minute's aggregates at true mean `mean`. Up to `EXACT_DRAW_LIMIT` requests every
 * confidence is drawn from the Beta; above, the period mean is drawn from its normal limit and
 * the sample variance from σ²·χ²(n−1)/(n−1) (normal approximation of χ²): the skew of a mean of
 * more than 30 Beta(8,2) draws is −0.17 or less, and drawing 100 values a minute for years of
 * minutes is slow.
 * bench/confidence-alarm.ts checks the approximation against exact draws.
 */
function simulateMinute(rng: Random, model: TrafficModel, mean: number, exact: boolean): PeriodAggregate {
  const n = rng.poisson(model.requestsPerMinute);
  if (n === 0) return { n: 0, s: 0, q: 0 };
  const { a, b } = betaShape(mean, model.confidenceStdDev);
  if (exact || n <= EXACT_DRAW_LIMIT) {
    let s = 0;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const c = rng.beta(a, b);
      s += c;
      q += c * c;
    }
    return { n, s, q };
  }
  const m = Math.min(0.99, Math.max(0.01, mean));
  const sd = Math.sqrt((m * (1 - m)) / (a + b + 1));
  const sampleMean = m + (sd / Math.sqrt(n)) * rng.normal();
  const df = n - 1;
  const chi2 = Math.max(0, df + Math.sqrt(2 * df) * rng.normal());
  const sampleVar = (sd * sd * chi2) / df;
  return { n, s: n * sampleMean, q: df * sampleVar + n * sampleMean * sampleMean };
}

/** Minutes of traffic, each optionally with a drop of `drop` in the mean (AR(1) wander throughout). */
class TrafficStream {
  private u: number;
  private t = 0;
  constructor(
    private readonly rng: Random,
    private readonly model: TrafficModel,
    private readonly exact: boolean,
  ) {
    this.u = model.periodStdDev * rng.normal();
  }
  next(drop = 0): PeriodAggregate {
    const { periodStdDev: tau, periodAutocorrelation: phi } = this.model;
    if (this.t > 0) this.u = phi * this.u + Math.sqrt(1 - phi * phi) * tau * this.rng.normal();
    this.t += 1;
    return simulateMinute(this.rng, this.model, this.model.confidenceMean + this.u - drop, this.exact);
  }
}

const addAggregates = (a: PeriodAggregate, b: PeriodAggregate): PeriodAggregate => ({
  n: a.n + b.n,
  s: a.s + b.s,
  q: a.q + b.q,
});

/**
 * The alarm as deployed, fed one minute at a time and evaluated every minute over a sliding
 * window, as CloudWatch does by default: "The window advances each time the alarm is evaluated",
 * e.g. a one-hour period evaluated over 13:07–14:07, then 13:08–14:08:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html
 * Each evaluation reads `evaluationRange` datapoints, each the aggregate of one whole period,
 * ending at the current minute.
 */
class AlarmEmulator {
  private readonly compiled: CompiledExpressions;
  private readonly periodMinutes: number;
  /** The last `periodMinutes` minutes and their running sum. */
  private readonly minutes: PeriodAggregate[] = [];
  private sum: PeriodAggregate = { n: 0, s: 0, q: 0 };
  /** Datapoints of the periods ending at each of the last minutes (newest last). */
  private readonly datapoints: (number | null)[] = [];
  private readonly range: number;
  private readonly evaluated: (number | null)[];
  state: AlarmState = 'INSUFFICIENT_DATA';
  constructor(
    private readonly definition: ConfidenceAlarmDefinition,
    periodSeconds: number,
  ) {
    this.compiled = compileExpressions(definition.expressions);
    this.periodMinutes = periodSeconds / 60;
    this.range = evaluationRange(definition);
    this.evaluated = new Array<number | null>(this.range);
  }
  /** Feeds one minute and evaluates; true when the alarm moved into ALARM (its actions run). */
  step(minute: PeriodAggregate): boolean {
    this.minutes.push(minute);
    this.sum = addAggregates(this.sum, minute);
    if (this.minutes.length > this.periodMinutes) {
      const old = this.minutes.shift()!;
      this.sum = { n: this.sum.n - old.n, s: this.sum.s - old.s, q: this.sum.q - old.q };
    }
    // A period is whole once `periodMinutes` minutes are in; a sum with no request is no datapoint.
    const p = this.sum;
    const present = this.minutes.length === this.periodMinutes && p.n > 0;
    this.datapoints.push(
      present
        ? this.compiled.datapoint({
            [CONFIDENCE_ALARM_IDS.count]: p.n,
            [CONFIDENCE_ALARM_IDS.sum]: p.s,
            [CONFIDENCE_ALARM_IDS.sumOfSquares]: p.q,
          })
        : null,
    );
    const keep = this.range * this.periodMinutes;
    if (this.datapoints.length > keep) this.datapoints.shift();
    // The evaluation range: periods ending now, one period earlier, ... (oldest first).
    const last = this.datapoints.length - 1;
    for (let i = 0; i < this.range; i++) {
      const at = last - (this.range - 1 - i) * this.periodMinutes;
      this.evaluated[i] = at >= 0 ? this.datapoints[at]! : null;
    }
    const before = this.state;
    this.state = nextAlarmState(this.evaluated, this.definition, before);
    return this.state === 'ALARM' && before !== 'ALARM';
  }
}

export interface CalibrationOptions {
  readonly seed: number;
  /** Periods (of the alarm's period) of live traffic in the baseline window. */
  readonly baselinePeriods: number;
  /** Draw every confidence (slow; the bench uses it to check the CLT shortcut). @default false */
  readonly exact?: boolean;
}

/** Estimates the band from a simulated baseline window; null when the window has too little traffic. */
function simulatedBaseline(
  stream: TrafficStream,
  settings: ConfidenceAlarmSettings,
  baselinePeriods: number,
): BaselineEstimate | null {
  // The baseline job reads the alarm's queries at the alarm's period (clock-aligned periods).
  const periodMinutes = settings.periodSeconds / 60;
  const window: PeriodAggregate[] = [];
  for (let t = 0; t < baselinePeriods; t++) {
    let period: PeriodAggregate = { n: 0, s: 0, q: 0 };
    for (let m = 0; m < periodMinutes; m++) period = addAggregates(period, stream.next());
    window.push(period);
  }
  return estimateBaseline(window, settings.minRequests);
}

export interface FalseAlarmResult {
  /** Simulated days of healthy traffic watched by an armed alarm. */
  readonly days: number;
  /** Versions simulated (each with its own baseline window). */
  readonly versions: number;
  /** Moves into ALARM (each would roll back). */
  readonly falseAlarms: number;
  /** falseAlarms per 30 days. */
  readonly per30Days: number;
  /** One-sided 95% upper bound per 30 days (exact Poisson; 3/T with none seen). */
  readonly upper95Per30Days: number;
  /** Versions whose baseline window had too little traffic for a baseline (never armed). */
  readonly versionsWithoutBaseline: number;
}

/** Exact one-sided 95% Poisson upper bound for `k` events (Garwood), by bisection on the CDF. */
export function poissonUpper95(k: number): number {
  const cdf = (mu: number) => {
    let term = Math.exp(-mu);
    let sum = term;
    for (let i = 1; i <= k; i++) {
      term *= mu / i;
      sum += term;
    }
    return sum;
  };
  let lo = 0;
  let hi = k + 10 + 10 * Math.sqrt(k + 1);
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * False rollbacks on healthy traffic: `versions` releases, each baselined on its own window and
 * then watched for `daysPerVersion` days; every move into ALARM counts.
 */
export function simulateFalseAlarms(
  settings: ConfidenceAlarmSettings,
  model: TrafficModel,
  options: CalibrationOptions & { readonly versions: number; readonly daysPerVersion: number },
): FalseAlarmResult {
  const rng = random(createPrng(options.seed));
  const minutesPerDay = 1440;
  let falseAlarms = 0;
  let watchedMinutes = 0;
  let withoutBaseline = 0;
  for (let v = 0; v < options.versions; v++) {
    const stream = new TrafficStream(rng, model, options.exact ?? false);
    const baseline = simulatedBaseline(stream, settings, options.baselinePeriods);
    if (!baseline) {
      withoutBaseline += 1;
      continue;
    }
    const alarm = new AlarmEmulator(confidenceAlarmDefinition(settings, baseline), settings.periodSeconds);
    const minutes = Math.round(options.daysPerVersion * minutesPerDay);
    for (let t = 0; t < minutes; t++) if (alarm.step(stream.next())) falseAlarms += 1;
    watchedMinutes += minutes;
  }
  const days = watchedMinutes / minutesPerDay;
  return {
    days,
    versions: options.versions,
    falseAlarms,
    per30Days: days > 0 ? (falseAlarms / days) * 30 : Number.NaN,
    upper95Per30Days: days > 0 ? (poissonUpper95(falseAlarms) / days) * 30 : Number.NaN,
    versionsWithoutBaseline: withoutBaseline,
  };
}

export interface DetectionResult {
  readonly drop: number;
  readonly runs: number;
  /** Share of runs in ALARM within `withinMinutes` minutes of the drop. */
  readonly detectedWithin: number;
  readonly withinMinutes: number;
  /** Median and 95th percentile minutes from the drop to ALARM (null when fewer runs detect it by the horizon). */
  readonly medianDelay: number | null;
  readonly p95Delay: number | null;
  /** Runs discarded because the alarm was already in ALARM when the drop began. */
  readonly discarded: number;
}

/**
 * Detection delay: per run, a baseline window, `warmupMinutes` of healthy traffic, then the mean
 * drops by `drop`; the delay is the number of minutes from the start of the first dropped minute
 * to the evaluation that moves the alarm into ALARM (1 = the evaluation at the end of the first
 * dropped minute), up to `horizonMinutes`.
 */
export function simulateDetection(
  settings: ConfidenceAlarmSettings,
  model: TrafficModel,
  drop: number,
  options: CalibrationOptions & {
    readonly runs: number;
    readonly withinMinutes: number;
    readonly horizonMinutes: number;
    readonly warmupMinutes?: number;
  },
): DetectionResult {
  const rng = random(createPrng(options.seed));
  const delays: number[] = [];
  let discarded = 0;
  let runs = 0;
  for (let r = 0; r < options.runs; r++) {
    const stream = new TrafficStream(rng, model, options.exact ?? false);
    const baseline = simulatedBaseline(stream, settings, options.baselinePeriods);
    runs += 1;
    if (!baseline) {
      delays.push(Number.POSITIVE_INFINITY);
      continue;
    }
    const alarm = new AlarmEmulator(confidenceAlarmDefinition(settings, baseline), settings.periodSeconds);
    for (let t = 0; t < (options.warmupMinutes ?? 30); t++) alarm.step(stream.next());
    if (alarm.state === 'ALARM') {
      discarded += 1;
      runs -= 1;
      continue;
    }
    let delay = Number.POSITIVE_INFINITY;
    for (let t = 1; t <= options.horizonMinutes; t++) {
      if (alarm.step(stream.next(drop))) {
        delay = t;
        break;
      }
    }
    delays.push(delay);
  }
  const sorted = [...delays].sort((a, b) => a - b);
  const quantile = (p: number) => {
    if (sorted.length === 0) return null;
    const v = sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
    return Number.isFinite(v) ? v : null;
  };
  return {
    drop,
    runs,
    detectedWithin: runs > 0 ? delays.filter((d) => d <= options.withinMinutes).length / runs : 0,
    withinMinutes: options.withinMinutes,
    medianDelay: quantile(0.5),
    p95Delay: quantile(0.95),
    discarded,
  };
}

/**
 * The smallest drop in mean confidence (on a 0.01 grid up to `maxDrop`) detected within
 * `withinMinutes` minutes in at least `power` of runs; null when even `maxDrop` is not. Detection
 * grows with the drop, so the grid is bisected.
 */
export function smallestDetectableDrop(
  settings: ConfidenceAlarmSettings,
  model: TrafficModel,
  options: CalibrationOptions & {
    readonly runs: number;
    readonly withinMinutes: number;
    readonly power: number;
    readonly maxDrop: number;
  },
): number | null {
  const steps = Math.round(options.maxDrop * 100);
  const detects = (step: number) =>
    simulateDetection(settings, model, step / 100, {
      ...options,
      horizonMinutes: options.withinMinutes,
    }).detectedWithin >= options.power;
  if (!detects(steps)) return null;
  let lo = 0;
  let hi = steps;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (detects(mid)) hi = mid;
    else lo = mid;
  }
  return hi / 100;
}

// ---------------------------------------------------------------------------------------------
// Settings from config
// ---------------------------------------------------------------------------------------------

/** The parts of a model's `monitoring` config the alarm uses (structural: core does not import lib/). */
export interface ConfidenceMonitoringConfig {
  readonly confidenceStdDevs: number;
  readonly confidenceAlarm: {
    readonly periodSeconds: number;
    readonly breachingPeriods: number;
    readonly evaluationPeriods?: number | undefined;
    readonly minRequestsPerPeriod: number;
    readonly baselineHours: number;
    readonly provisionalStdDev: number;
    readonly traffic: {
      readonly confidenceMean: number;
      readonly confidenceStdDev: number;
      readonly periodStdDev: number;
      readonly periodAutocorrelation: number;
    };
  };
}

export function confidenceAlarmSettingsOf(monitoring: ConfidenceMonitoringConfig): ConfidenceAlarmSettings {
  return {
    stdDevs: monitoring.confidenceStdDevs,
    breachingPeriods: monitoring.confidenceAlarm.breachingPeriods,
    evaluationPeriods:
      monitoring.confidenceAlarm.evaluationPeriods ?? monitoring.confidenceAlarm.breachingPeriods,
    minRequests: monitoring.confidenceAlarm.minRequestsPerPeriod,
    periodSeconds: monitoring.confidenceAlarm.periodSeconds,
  };
}

/** The configured traffic model at `requestsPerMinute`. */
export function trafficModelOf(
  monitoring: ConfidenceMonitoringConfig,
  requestsPerMinute: number,
): TrafficModel {
  const t = monitoring.confidenceAlarm.traffic;
  return {
    requestsPerMinute,
    confidenceMean: t.confidenceMean,
    confidenceStdDev: t.confidenceStdDev,
    periodStdDev: t.periodStdDev,
    periodAutocorrelation: t.periodAutocorrelation,
  };
}

/** Periods in the baseline window. */
export function baselinePeriodsOf(monitoring: ConfidenceMonitoringConfig): number {
  return Math.round(
    (monitoring.confidenceAlarm.baselineHours * 3600) / monitoring.confidenceAlarm.periodSeconds,
  );
}

// ---------------------------------------------------------------------------------------------
// Calibration report (mlops calibrate-alarm, validate-config, the PR comment)
// ---------------------------------------------------------------------------------------------

/** The targets: at most one false rollback per 90 days; a 0.05 drop within 10 minutes in 95% of runs at >= 100 requests/min. */
export const CALIBRATION_TARGETS = {
  maxFalseRollbacksPer30Days: 30 / 90,
  drop: 0.05,
  withinMinutes: 10,
  power: 0.95,
  fromRequestsPerMinute: 100,
} as const;

/** The drops `mlops calibrate-alarm` reports. */
export const REPORTED_DROPS = [0.02, 0.05, 0.1, 0.2] as const;

export interface CalibrationReport {
  readonly requestsPerMinute: number;
  readonly settings: ConfidenceAlarmSettings;
  readonly baselinePeriods: number;
  readonly traffic: TrafficModel;
  readonly seed: number;
  readonly falseRollbacks: FalseAlarmResult;
  readonly detection: readonly DetectionResult[];
  /** Smallest drop detected within 10 minutes in 95% of runs (0.01 grid up to 0.5); null: none. */
  readonly smallestDetectableDrop: number | null;
  readonly targets: {
    readonly falseRollbacks: { readonly met: boolean; readonly detail: string };
    /** Null below 100 requests/min, where the issue sets no detection target. */
    readonly detection: { readonly met: boolean; readonly detail: string } | null;
  };
}

export interface CalibrationRunOptions {
  readonly seed: number;
  /** Versions (each with its own baseline) and days each is watched, for the false-rollback rate. */
  readonly versions: number;
  readonly daysPerVersion: number;
  /** Runs per drop for the detection delay. */
  readonly runs: number;
}

export const DEFAULT_CALIBRATION_RUN: CalibrationRunOptions = {
  seed: 20261206,
  versions: 40,
  daysPerVersion: 9,
  runs: 400,
};

/** False rollbacks and detection delays of the configured alarm at `requestsPerMinute`, by simulation. */
export function calibrateConfidenceAlarm(
  monitoring: ConfidenceMonitoringConfig,
  requestsPerMinute: number,
  run: CalibrationRunOptions = DEFAULT_CALIBRATION_RUN,
): CalibrationReport {
  if (!(requestsPerMinute > 0 && Number.isFinite(requestsPerMinute))) {
    throw new RangeError(`requests per minute must be a positive number, got ${requestsPerMinute}`);
  }
  const settings = confidenceAlarmSettingsOf(monitoring);
  const traffic = trafficModelOf(monitoring, requestsPerMinute);
  const baselinePeriods = baselinePeriodsOf(monitoring);
  const within = CALIBRATION_TARGETS.withinMinutes;
  const falseRollbacks = simulateFalseAlarms(settings, traffic, {
    seed: run.seed,
    baselinePeriods,
    versions: run.versions,
    daysPerVersion: run.daysPerVersion,
  });
  const detection = REPORTED_DROPS.map((drop, i) =>
    simulateDetection(settings, traffic, drop, {
      seed: run.seed + 1 + i,
      baselinePeriods,
      runs: run.runs,
      withinMinutes: within,
      horizonMinutes: 1440,
    }),
  );
  const smallest = smallestDetectableDrop(settings, traffic, {
    seed: run.seed + 10,
    baselinePeriods,
    runs: Math.min(run.runs, 200),
    withinMinutes: within,
    power: CALIBRATION_TARGETS.power,
    maxDrop: 0.5,
  });
  const fa = falseRollbacks.per30Days;
  const at05 = detection.find((d) => d.drop === CALIBRATION_TARGETS.drop)!;
  return {
    requestsPerMinute,
    settings,
    baselinePeriods,
    traffic,
    seed: run.seed,
    falseRollbacks,
    detection,
    smallestDetectableDrop: smallest,
    targets: {
      falseRollbacks: {
        met: fa <= CALIBRATION_TARGETS.maxFalseRollbacksPer30Days,
        detail: `${fa.toFixed(3)} false rollbacks per 30 days (target at most ${CALIBRATION_TARGETS.maxFalseRollbacksPer30Days.toFixed(3)}, one per 90 days)`,
      },
      detection:
        requestsPerMinute >= CALIBRATION_TARGETS.fromRequestsPerMinute
          ? {
              met: at05.detectedWithin >= CALIBRATION_TARGETS.power,
              detail: `a ${CALIBRATION_TARGETS.drop} drop detected within ${CALIBRATION_TARGETS.withinMinutes} minutes in ${(100 * at05.detectedWithin).toFixed(1)}% of runs (target 95%)`,
            }
          : null,
    },
  };
}

/** One line for the release's PR comment and the CLI. */
export function calibrationLine(report: CalibrationReport): string {
  const d = (drop: number) => report.detection.find((r) => r.drop === drop);
  const delay = (r: DetectionResult | undefined) =>
    r?.medianDelay === null || r === undefined ? 'not within a day' : `median ${r.medianDelay} min`;
  const smallest =
    report.smallestDetectableDrop === null ? 'none up to 0.5' : report.smallestDetectableDrop.toFixed(2);
  return (
    `Confidence alarm at ${formatRate(report.requestsPerMinute)} requests/min: ` +
    `${report.falseRollbacks.per30Days.toFixed(2)} false rollbacks per 30 days; ` +
    `drop 0.05 ${delay(d(0.05))}, 0.1 ${delay(d(0.1))}; ` +
    `smallest drop caught within 10 min in 95% of runs: ${smallest}.`
  );
}

function formatRate(r: number): string {
  return r >= 10 ? r.toFixed(0) : r.toFixed(1);
}

/**
 * The validate-config warning: null when the alarm catches a 0.1 drop within 10 minutes in 95%
 * of runs at `requestsPerMinute`; else what it can catch and what to change. Quick (fewer runs
 * than the CLI's report).
 */
export function detectabilityWarning(
  monitoring: ConfidenceMonitoringConfig,
  requestsPerMinute: number,
  seed = DEFAULT_CALIBRATION_RUN.seed,
): string | null {
  const settings = confidenceAlarmSettingsOf(monitoring);
  const traffic = trafficModelOf(monitoring, requestsPerMinute);
  const baselinePeriods = baselinePeriodsOf(monitoring);
  const options = { seed, baselinePeriods, runs: 100, power: CALIBRATION_TARGETS.power, maxDrop: 0.5 };
  const within = CALIBRATION_TARGETS.withinMinutes;
  const detects = simulateDetection(settings, traffic, 0.1, {
    ...options,
    withinMinutes: within,
    horizonMinutes: within,
  });
  if (detects.detectedWithin >= CALIBRATION_TARGETS.power) return null;
  const rate = formatRate(requestsPerMinute);
  const in10 = smallestDetectableDrop(settings, traffic, { ...options, withinMinutes: within });
  const in60 = in10 ?? smallestDetectableDrop(settings, traffic, { ...options, withinMinutes: 60 });
  const head =
    `at ${rate} requests/min the confidence alarm cannot catch a 0.1 drop in mean confidence within 10 minutes ` +
    `(${(100 * detects.detectedWithin).toFixed(0)}% of simulated runs; 95% wanted)`;
  if (in10 !== null) return `${head}; the smallest drop it catches within 10 minutes is ${in10.toFixed(2)}`;
  if (in60 !== null)
    return `${head}; the smallest drop it catches within 60 minutes is ${in60.toFixed(2)}, none within 10`;
  // No datapoints at all: say what would give some (longer periods, fewer requests each), and what that would catch.
  const suggestedPeriod = Math.max(600, monitoring.confidenceAlarm.periodSeconds);
  const suggested = {
    ...monitoring,
    confidenceAlarm: {
      ...monitoring.confidenceAlarm,
      periodSeconds: suggestedPeriod,
      minRequestsPerPeriod: Math.max(
        2,
        Math.min(
          monitoring.confidenceAlarm.minRequestsPerPeriod,
          Math.floor(((requestsPerMinute * suggestedPeriod) / 60) * 0.5),
        ),
      ),
    },
  };
  const alt = smallestDetectableDrop(
    confidenceAlarmSettingsOf(suggested),
    trafficModelOf(suggested, requestsPerMinute),
    {
      ...options,
      baselinePeriods: baselinePeriodsOf(suggested),
      withinMinutes: 60,
    },
  );
  return (
    `${head}; it catches no drop up to 0.5 even within 60 minutes, because few ${monitoring.confidenceAlarm.periodSeconds}-second periods reach ` +
    `${monitoring.confidenceAlarm.minRequestsPerPeriod} requests (monitoring.confidenceAlarm.minRequestsPerPeriod). With monitoring.confidenceAlarm.periodSeconds: ${suggestedPeriod} and ` +
    `minRequestsPerPeriod: ${suggested.confidenceAlarm.minRequestsPerPeriod}, the smallest drop caught within 60 minutes would be ` +
    `${alt === null ? 'none up to 0.5 either' : alt.toFixed(2)}`
  );
}

/** The configured traffic of a model (`cost.monthlyRequests`) as requests per minute, averaged over the month. */
export function requestsPerMinuteOfMonthly(monthlyRequests: number): number {
  return monthlyRequests / (HOURS_PER_MONTH * 60);
}
