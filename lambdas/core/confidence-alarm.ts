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
 * the estimate B itself. The alarm breaches when z < −k for N consecutive periods; periods with
 * n < nMin give no datapoint (`IF` with no false branch) and missing data is `ignore`d, so a quiet
 * period neither breaches nor clears.
 *
 * Pure: no SDK, no clock; randomness only from a seeded PRNG passed in.
 */
import { createPrng, type Prng } from './production-sample';

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
  /** N: consecutive breaching periods (evaluation periods = datapoints to alarm). */
  readonly breachingPeriods: number;
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
    evaluationPeriods: settings.breachingPeriods,
    datapointsToAlarm: settings.breachingPeriods,
    treatMissingData: 'ignore',
  };
}

function validateSettings(s: ConfidenceAlarmSettings): void {
  if (!(s.stdDevs > 0 && Number.isFinite(s.stdDevs)))
    throw new RangeError(`stdDevs (k) must be > 0, got ${s.stdDevs}`);
  if (!Number.isSafeInteger(s.breachingPeriods) || s.breachingPeriods < 1) {
    throw new RangeError(`breachingPeriods (N) must be a whole number >= 1, got ${s.breachingPeriods}`);
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

/**
 * Compiles an alarm's expressions (as in the template's `Metrics`: later ones may use earlier
 * ids) and returns the datapoint of the one with `returnData`.
 */
export function compileExpressions(
  expressions: readonly { readonly id: string; readonly expression: string; readonly returnData?: boolean }[],
): CompiledExpressions {
  const parsed = expressions.map((e) => ({
    id: e.id,
    evaluate: compileNode(parseMetricMath(e.expression)),
    returnData: e.returnData,
  }));
  const returned = parsed.filter((e) => e.returnData !== false);
  if (returned.length !== 1) {
    throw new MetricMathError(`an alarm returns exactly one expression; ${returned.length} have ReturnData`);
  }
  const result = returned[0]!.id;
  return {
    datapoint(metrics) {
      const point: Record<string, number | null> = { ...metrics };
      for (const e of parsed) point[e.id] = e.evaluate(point);
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
  const breaches = (v: number) =>
    rule.comparisonOperator === 'LessThanThreshold' ? v < rule.threshold : v > rule.threshold;
  const real = range.filter((v): v is number => v !== null);
  const N = rule.evaluationPeriods;
  const M = rule.datapointsToAlarm;
  if (real.length >= N) {
    return real.slice(-N).filter(breaches).length >= M ? 'ALARM' : 'OK';
  }
  const breaching = real.filter(breaches).length;
  const fill = N - real.length;
  if (rule.treatMissingData === 'breaching') return breaching + fill >= M ? 'ALARM' : 'OK';
  if (rule.treatMissingData === 'notBreaching') return breaching >= M ? 'ALARM' : 'OK';
  if (real.length === 0) return current;
  if (breaching >= M) return 'ALARM';
  return breaching < real.length ? 'OK' : current;
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
 * Traffic model: requests per period ~ Poisson(λ); per-request confidence ~ Beta with mean μ_t and
 * standard deviation σ; the period mean μ_t = μ + u_t, with u_t a stationary AR(1) process (the
 * input mix wandering): u_t = φ·u_{t−1} + sqrt(1−φ²)·τ·ε_t. τ = 0 is iid traffic.
 */
export interface TrafficModel {
  readonly requestsPerPeriod: number;
  readonly confidenceMean: number;
  readonly confidenceStdDev: number;
  /** τ: standard deviation of u_t. */
  readonly periodStdDev: number;
  /** φ: lag-1 autocorrelation of u_t. */
  readonly periodAutocorrelation: number;
}

/** Periods per request up to which confidences are drawn one by one; above, by the CLT (see `simulatePeriod`). */
export const EXACT_DRAW_LIMIT = 60;

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
 * One period's aggregates at true mean `mean`. Up to `EXACT_DRAW_LIMIT` requests every
 * confidence is drawn from the Beta; above, the period mean is drawn from its normal limit and
 * the sample variance from σ²·χ²(n−1)/(n−1) (normal approximation of χ²): the skew of a mean of
 * more than 60 Beta draws is small, and drawing 100 values a minute for years of minutes is slow.
 * bench/confidence-alarm.ts checks the approximation against exact draws.
 */
function simulatePeriod(rng: Random, model: TrafficModel, mean: number, exact: boolean): PeriodAggregate {
  const n = rng.poisson(model.requestsPerPeriod);
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

/** Periods of traffic: a drop of `drop` in the mean from period `dropAt` on (AR(1) wander throughout). */
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
    return simulatePeriod(this.rng, this.model, this.model.confidenceMean + this.u - drop, this.exact);
  }
}

/** The alarm as deployed, stepping one period at a time. */
class AlarmEmulator {
  private readonly compiled: CompiledExpressions;
  private readonly window: (number | null)[] = [];
  private readonly range: number;
  state: AlarmState = 'INSUFFICIENT_DATA';
  constructor(private readonly definition: ConfidenceAlarmDefinition) {
    this.compiled = compileExpressions(definition.expressions);
    this.range = evaluationRange(definition);
  }
  /** Feeds one period; true when the alarm moved into ALARM (its actions run). */
  step(p: PeriodAggregate): boolean {
    const present = p.n > 0;
    this.window.push(
      this.compiled.datapoint({
        [CONFIDENCE_ALARM_IDS.count]: present ? p.n : null,
        [CONFIDENCE_ALARM_IDS.sum]: present ? p.s : null,
        [CONFIDENCE_ALARM_IDS.sumOfSquares]: present ? p.q : null,
      }),
    );
    if (this.window.length > this.range) this.window.shift();
    const before = this.state;
    this.state = nextAlarmState(this.window, this.definition, before);
    return this.state === 'ALARM' && before !== 'ALARM';
  }
}

export interface CalibrationOptions {
  readonly seed: number;
  /** Periods of live traffic in the baseline window. */
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
  const window: PeriodAggregate[] = [];
  for (let t = 0; t < baselinePeriods; t++) window.push(stream.next());
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
  const periodsPerDay = 86_400 / settings.periodSeconds;
  let falseAlarms = 0;
  let watchedPeriods = 0;
  let withoutBaseline = 0;
  for (let v = 0; v < options.versions; v++) {
    const stream = new TrafficStream(rng, model, options.exact ?? false);
    const baseline = simulatedBaseline(stream, settings, options.baselinePeriods);
    if (!baseline) {
      withoutBaseline += 1;
      continue;
    }
    const alarm = new AlarmEmulator(confidenceAlarmDefinition(settings, baseline));
    const periods = Math.round(options.daysPerVersion * periodsPerDay);
    for (let t = 0; t < periods; t++) if (alarm.step(stream.next())) falseAlarms += 1;
    watchedPeriods += periods;
  }
  const days = watchedPeriods / periodsPerDay;
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
  /** Share of runs in ALARM within `withinPeriods` periods of the drop. */
  readonly detectedWithin: number;
  readonly withinPeriods: number;
  /** Median and 95th percentile periods from the drop to ALARM (null when fewer runs detect it by the horizon). */
  readonly medianDelay: number | null;
  readonly p95Delay: number | null;
  /** Runs discarded because the alarm was already in ALARM when the drop began. */
  readonly discarded: number;
}

/**
 * Detection delay: per run, a baseline window, `warmupPeriods` of healthy traffic, then the mean
 * drops by `drop`; the delay is the number of periods from the first dropped period to the move
 * into ALARM (1 = the first dropped period's evaluation), up to `horizonPeriods`.
 */
export function simulateDetection(
  settings: ConfidenceAlarmSettings,
  model: TrafficModel,
  drop: number,
  options: CalibrationOptions & {
    readonly runs: number;
    readonly withinPeriods: number;
    readonly horizonPeriods: number;
    readonly warmupPeriods?: number;
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
    const alarm = new AlarmEmulator(confidenceAlarmDefinition(settings, baseline));
    for (let t = 0; t < (options.warmupPeriods ?? 30); t++) alarm.step(stream.next());
    if (alarm.state === 'ALARM') {
      discarded += 1;
      runs -= 1;
      continue;
    }
    let delay = Number.POSITIVE_INFINITY;
    for (let t = 1; t <= options.horizonPeriods; t++) {
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
    detectedWithin: runs > 0 ? delays.filter((d) => d <= options.withinPeriods).length / runs : 0,
    withinPeriods: options.withinPeriods,
    medianDelay: quantile(0.5),
    p95Delay: quantile(0.95),
    discarded,
  };
}

/**
 * The smallest drop in mean confidence (on a 0.01 grid up to `maxDrop`) detected within
 * `withinPeriods` periods in at least `power` of runs; null when even `maxDrop` is not. Detection
 * grows with the drop, so the grid is bisected.
 */
export function smallestDetectableDrop(
  settings: ConfidenceAlarmSettings,
  model: TrafficModel,
  options: CalibrationOptions & {
    readonly runs: number;
    readonly withinPeriods: number;
    readonly power: number;
    readonly maxDrop: number;
  },
): number | null {
  const steps = Math.round(options.maxDrop * 100);
  const detects = (step: number) =>
    simulateDetection(settings, model, step / 100, {
      ...options,
      horizonPeriods: options.withinPeriods,
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
