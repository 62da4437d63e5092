import fc from 'fast-check';
import {
  bandOfZExpression,
  compileExpressions,
  confidenceAlarmDefinition,
  DISARMED_BAND,
  estimateBaseline,
  MetricMathError,
  nextAlarmState,
  parseMetricMath,
  poissonUpper95,
  provisionalBand,
  type AlarmRule,
  type AlarmState,
  type PeriodAggregate,
} from '../../lambdas/core/monitoring/confidence-alarm';

const SETTINGS = { stdDevs: 2, breachingPeriods: 4, minRequests: 10, periodSeconds: 60 };

/** Aggregates of a list of confidences. */
const agg = (values: readonly number[]): PeriodAggregate => ({
  n: values.length,
  s: values.reduce((a, b) => a + b, 0),
  q: values.reduce((a, b) => a + b * b, 0),
});

describe('the alarm definition', () => {
  const band = { mean: 0.8123, periodVariance: 0.000125 };
  const definition = confidenceAlarmDefinition(SETTINGS, band);
  const datapoint = (p: PeriodAggregate | null) =>
    compileExpressions(definition.expressions).datapoint(
      p === null ? { n: null, s: null, q: null } : { n: p.n, s: p.s, q: p.q },
    );

  test('z of a period is (mean − B) / sqrt(var/n + τ²), with var the population variance of its confidences', () => {
    const values = [0.7, 0.75, 0.8, 0.65, 0.9, 0.6, 0.7, 0.72, 0.81, 0.77];
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
    const expected = (mean - band.mean) / Math.sqrt(variance / values.length + band.periodVariance);
    expect(datapoint(agg(values))).toBeCloseTo(expected, 9);
  });

  test('a period with fewer than nMin requests, or none, has no datapoint (neither breaches nor clears)', () => {
    expect(datapoint(agg([0.1, 0.1, 0.1]))).toBeNull();
    expect(datapoint(null)).toBeNull();
  });

  test('breaches below −k for N periods, and ignores missing data', () => {
    expect(definition).toMatchObject({
      threshold: -2,
      comparisonOperator: 'LessThanThreshold',
      evaluationPeriods: 4,
      datapointsToAlarm: 4,
      treatMissingData: 'ignore',
    });
    expect(definition.expressions.filter((e) => e.returnData).map((e) => e.id)).toEqual(['zgated']);
  });

  test('constants are written without exponent notation and read back', () => {
    const tiny = confidenceAlarmDefinition(SETTINGS, { mean: 0.5, periodVariance: 1e-8 });
    expect(tiny.expressions[0]!.expression).not.toMatch(/e-/);
    expect(bandOfZExpression(tiny.expressions[0]!.expression)).toEqual({ mean: 0.5, periodVariance: 1e-8 });
    expect(bandOfZExpression(definition.expressions[0]!.expression)).toEqual(band);
  });

  test('disarmed: no mean of confidences in [0, 1] breaches', () => {
    const disarmed = compileExpressions(confidenceAlarmDefinition(SETTINGS, DISARMED_BAND).expressions);
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 50 }),
        (values) => {
          const p = agg(values);
          const z = disarmed.datapoint({ n: p.n, s: p.s, q: p.q });
          expect(z === null || z >= 0).toBe(true);
        },
      ),
    );
  });

  test('rejects a band or settings the alarm cannot use, naming the value', () => {
    expect(() => confidenceAlarmDefinition(SETTINGS, { mean: 1.2, periodVariance: 0.001 })).toThrow(
      /in \[0, 1\], got 1.2/,
    );
    expect(() => confidenceAlarmDefinition(SETTINGS, { mean: 0.8, periodVariance: 0 })).toThrow(/at least/);
    expect(() => confidenceAlarmDefinition({ ...SETTINGS, minRequests: 1 }, band)).toThrow(/minRequests/);
  });

  test('a provisional band is wide: a 0.1 drop from the eval mean does not breach at k = 2 with σ = 0.05', () => {
    const wide = compileExpressions(
      confidenceAlarmDefinition(SETTINGS, provisionalBand(0.85, 0.05)).expressions,
    );
    const p = agg(Array.from({ length: 100 }, (_, i) => 0.75 + ((i % 5) - 2) * 0.01));
    expect(wide.datapoint({ n: p.n, s: p.s, q: p.q })).toBeGreaterThan(-2);
  });
});

describe('metric math, as the CloudWatch user guide documents it', () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
  const evaluate = (expression: string, columns: Record<string, (number | null)[]>) => {
    const compiled = compileExpressions([{ id: 'out', expression, returnData: true }]);
    const length = Object.values(columns)[0]!.length;
    return Array.from({ length }, (_, t) =>
      compiled.datapoint(Object.fromEntries(Object.entries(columns).map(([id, v]) => [id, v[t]!]))),
    );
  };

  test("comparison and logical operators (the guide's metric1/metric2 table)", () => {
    const cols = { metric1: [30, 20, 0, 0], metric2: [20, null, 20, null] };
    expect(evaluate('(metric1 < metric2)', cols)).toEqual([0, 0, 1, 0]);
    expect(evaluate('(metric1 >= 30)', cols)).toEqual([1, 0, 0, 0]);
    expect(evaluate('(metric1 > 15 AND metric2 > 15)', cols)).toEqual([1, 0, 0, 0]);
  });

  test("IF(metric1, metric2, metric3) and IF(metric1, scalar2, metric3) (the guide's tables)", () => {
    const cols = {
      metric1: [1, 1, 0, 0, null],
      metric2: [30, null, 0, 0, 30],
      metric3: [0, 0, 20, null, 20],
    };
    expect(evaluate('IF(metric1, metric2, metric3)', cols)).toEqual([30, 0, 20, null, null]);
    expect(evaluate('IF(metric1, 5, metric3)', cols)).toEqual([5, 5, 20, null, null]);
    expect(evaluate('IF(metric1, metric2, 5)', cols)).toEqual([30, 0, 5, 5, null]);
  });

  test('a division by zero drops the datapoint; a scalar creates none', () => {
    expect(evaluate('a / b', { a: [1, 1, null], b: [0, 2, null] })).toEqual([null, 0.5, null]);
    expect(evaluate('a - 3', { a: [null, 4] })).toEqual([null, 1]);
    expect(evaluate('-a ^ 2 + 2 * 3', { a: [3] })).toEqual([-3]);
  });

  test('an expression outside the grammar is refused, saying where', () => {
    expect(() => parseMetricMath('SQRT(m1)')).toThrow(MetricMathError);
    expect(() => parseMetricMath('m1 +')).toThrow(/ends too early/);
    expect(() =>
      compileExpressions([{ id: 'x', expression: 'y + 1', returnData: true }]).datapoint({}),
    ).toThrow(/unknown id "y"/);
  });
});

describe('alarm state with missing data (the user guide\'s tables, column "ignore")', () => {
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data
  const rule = (m: number, n: number): AlarmRule => ({
    threshold: 0,
    comparisonOperator: 'GreaterThanThreshold',
    evaluationPeriods: n,
    datapointsToAlarm: m,
    treatMissingData: 'ignore',
  });
  const points = (row: string) => row.split(' ').map((c) => (c === '-' ? null : c === 'X' ? 1 : -1));
  test.each([
    ['0 - X - X', 3, 'OK'],
    ['0 - - - -', 3, 'OK'],
    ['- - - - -', 3, 'retain'],
    ['0 X X - X', 3, 'ALARM'],
    ['- - - - X', 3, 'retain'],
    ['X - - - -', 3, 'retain'],
    ['0 - X - X', 2, 'ALARM'],
    ['0 0 X 0 X', 2, 'ALARM'],
    ['0 - X - -', 2, 'OK'],
    ['- - - - 0', 2, 'OK'],
    ['- - - - X', 2, 'retain'],
  ])('%s with %i of 3 → %s', (row, m, expected) => {
    for (const current of ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as AlarmState[]) {
      expect(nextAlarmState(points(row), rule(m, 3), current)).toBe(
        expected === 'retain' ? current : expected,
      );
    }
  });
});

describe('baseline from live traffic', () => {
  test('B is the mean of the period means and τ̂ is 0 when the means vary no more than sampling noise', () => {
    // Every period holds the same 20 values: the period means do not vary at all.
    const values = Array.from({ length: 20 }, (_, i) => 0.6 + i * 0.02);
    const periods = Array.from({ length: 60 }, () => agg(values));
    const b = estimateBaseline(periods, 10)!;
    expect(b.mean).toBeCloseTo(0.79, 9);
    expect(b.betweenPeriodStdDev).toBe(0);
    expect(b.periods).toBe(60);
    expect(b.requests).toBe(1200);
  });

  test('τ̂ picks up period means that move more than their sampling noise', () => {
    const base = Array.from({ length: 50 }, (_, i) => ((i % 10) - 4.5) * 0.01);
    const periods = Array.from({ length: 120 }, (_, t) =>
      agg(base.map((d) => 0.8 + d + (t % 2 === 0 ? 0.03 : -0.03))),
    );
    const b = estimateBaseline(periods, 10)!;
    // The means alternate ±0.03 around 0.8; sampling noise of a 50-request mean is about 0.004.
    expect(b.betweenPeriodStdDev).toBeGreaterThan(0.025);
    expect(b.betweenPeriodStdDev).toBeLessThan(0.035);
    expect(b.mean).toBeCloseTo(0.8, 6);
  });

  test('no baseline from fewer than 30 periods with nMin requests', () => {
    const quiet = Array.from({ length: 500 }, () => agg([0.8, 0.7]));
    expect(estimateBaseline(quiet, 10)).toBeNull();
  });

  test('property: B stays within the period means and the variance is never below its floor', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 30 }), {
          minLength: 30,
          maxLength: 60,
        }),
        (lists) => {
          const periods = lists.map(agg);
          const b = estimateBaseline(periods, 10)!;
          const means = periods.map((p) => p.s / p.n);
          expect(b.mean).toBeGreaterThanOrEqual(Math.min(...means) - 1e-12);
          expect(b.mean).toBeLessThanOrEqual(Math.max(...means) + 1e-12);
          expect(b.periodVariance).toBeGreaterThanOrEqual(1e-8);
        },
      ),
      { numRuns: 50 },
    );
  });
});

test('the Poisson upper bound is the exact (Garwood) one: 3.00 for none seen, 4.74 for one', () => {
  expect(poissonUpper95(0)).toBeCloseTo(2.9957, 3);
  expect(poissonUpper95(1)).toBeCloseTo(4.7439, 3);
});
