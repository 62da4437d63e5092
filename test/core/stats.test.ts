import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  chiSquareSurvival,
  findConsecutiveBreaches,
  meanDifferenceInterval,
  normalCdf,
  normalCriticalValue,
  normalQuantile,
  proportionDifferenceInterval,
  regularizedGammaP,
  regularizedGammaQ,
  sampleRatioMismatch,
  studentTCdf,
  studentTQuantile,
  welfordEmpty,
  welfordFromValues,
  welfordMerge,
  welfordPush,
  welfordResult,
  wilsonInterval,
  type WelfordResult,
} from '../../lambdas/core/statistics/stats';

// Reference values come from scipy/numpy via test/fixtures/stats/generate.py.
function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'stats', name), 'utf8')) as T;
}

/** Asserts |actual - expected| <= tolerance * |expected| (or <= tolerance when expected is 0). */
function expectRelative(actual: number, expected: number, tolerance: number, label = ''): void {
  const error = expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  if (!(error <= tolerance)) {
    throw new Error(`${label}: got ${actual}, expected ${expected} (relative error ${error} > ${tolerance})`);
  }
}

describe('Welford mean and variance', () => {
  const { samples } = fixture<{
    samples: Record<string, { values: number[]; mean: number; variance: number }>;
  }>('welford.json');

  test.each(Object.entries(samples))('matches numpy on the %s sample', (name, sample) => {
    const result = welfordResult(welfordFromValues(sample.values));
    expect(result.count).toBe(sample.values.length);
    expectRelative(result.mean, sample.mean, 1e-15, `${name} mean`);
    expectRelative(result.variance, sample.variance, 1e-12, `${name} variance`);
    expectRelative(result.stdDev, Math.sqrt(sample.variance), 1e-12, `${name} stdDev`);
  });

  test('the large-offset sample really defeats the textbook sum-of-squares formula', () => {
    // Guards the fixture: if this stops failing, the sample no longer tests numerical stability.
    const { values, variance } = samples.largeOffset;
    const n = values.length;
    const sum = values.reduce((s, x) => s + x, 0);
    const sumSquares = values.reduce((s, x) => s + x * x, 0);
    const naive = (sumSquares - (sum * sum) / n) / (n - 1);
    expect(Math.abs(naive - variance) / variance).toBeGreaterThan(0.5);
  });

  test('merging partition states equals one pass over all values, also after a JSON round trip', () => {
    const { values, mean, variance } = samples.largeOffset;
    const parts = [values.slice(0, 100), values.slice(100, 101), values.slice(101, 640), values.slice(640)];
    const stored = parts.map((part) => JSON.parse(JSON.stringify(welfordFromValues(part))));
    const merged = welfordResult(stored.reduce(welfordMerge, welfordEmpty()));
    expect(merged.count).toBe(values.length);
    expectRelative(merged.mean, mean, 1e-15, 'mean');
    expectRelative(merged.variance, variance, 1e-9, 'variance');
  });

  test('an empty sample and a single value give zeros, never NaN', () => {
    expect(welfordResult(welfordEmpty())).toEqual({ count: 0, mean: 0, variance: 0, stdDev: 0 });
    expect(welfordResult(welfordPush(welfordEmpty(), 42.5))).toEqual({
      count: 1,
      mean: 42.5,
      variance: 0,
      stdDev: 0,
    });
  });

  test('a constant sample has variance exactly 0', () => {
    expect(welfordResult(welfordFromValues(Array(50).fill(0.1))).variance).toBe(0);
  });

  test('pushing a non-finite value is refused with the value in the message', () => {
    expect(() => welfordPush(welfordEmpty(), NaN)).toThrow(/finite number, got NaN/);
    expect(() => welfordFromValues([1, Infinity])).toThrow(/got Infinity/);
  });

  test('property: merge(a, b) equals pushing every value into one state', () => {
    const value = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(fc.array(value, { maxLength: 40 }), fc.array(value, { maxLength: 40 }), (xs, ys) => {
        const merged = welfordResult(welfordMerge(welfordFromValues(xs), welfordFromValues(ys)));
        const direct = welfordResult(welfordFromValues([...xs, ...ys]));
        expect(merged.count).toBe(direct.count);
        const scale = Math.max(1, ...[...xs, ...ys].map(Math.abs));
        expect(Math.abs(merged.mean - direct.mean)).toBeLessThanOrEqual(1e-12 * scale);
        expect(Math.abs(merged.variance - direct.variance)).toBeLessThanOrEqual(1e-9 * scale * scale);
      }),
    );
  });
});

describe('normal distribution', () => {
  const normal = fixture<{ quantile: { p: number; x: number }[]; cdf: { x: number; p: number }[] }>(
    'normal.json',
  );

  test.each(normal.quantile)('normalQuantile($p) matches scipy.stats.norm.ppf', ({ p, x }) => {
    expectRelative(normalQuantile(p), x, 1e-13, `p=${p}`);
  });

  test.each(normal.cdf)('normalCdf($x) matches scipy.stats.norm.cdf', ({ x, p }) => {
    expectRelative(normalCdf(x), p, 1e-12, `x=${x}`);
  });

  test('the 95% critical value is 1.959963984540054', () => {
    expect(normalCriticalValue(0.95)).toBeCloseTo(1.959963984540054, 14);
  });

  test('probabilities outside (0, 1) are refused', () => {
    expect(() => normalQuantile(0)).toThrow(/strictly between 0 and 1, got 0/);
    expect(() => normalQuantile(1)).toThrow(RangeError);
    expect(() => normalQuantile(NaN)).toThrow(RangeError);
  });

  test('property: normalCdf inverts normalQuantile', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1 - 1e-12, noNaN: true }), (p) => {
        expectRelative(normalCdf(normalQuantile(p)), p, 1e-12, `p=${p}`);
      }),
    );
  });
});

describe('incomplete gamma and chi-square', () => {
  const gamma = fixture<{
    regularizedGamma: { a: number; x: number; p: number; q: number }[];
    chiSquareSurvival: { x: number; df: number; sf: number }[];
  }>('gamma.json');

  test.each(gamma.regularizedGamma)(
    'P and Q at a=$a, x=$x match scipy gammainc/gammaincc',
    ({ a, x, p, q }) => {
      expectRelative(regularizedGammaP(a, x), p, 1e-11, 'P');
      expectRelative(regularizedGammaQ(a, x), q, 1e-11, 'Q');
    },
  );

  test.each(gamma.chiSquareSurvival)(
    'chiSquareSurvival($x, $df) matches scipy.stats.chi2.sf',
    ({ x, df, sf }) => {
      expectRelative(chiSquareSurvival(x, df), sf, 1e-11, `x=${x}, df=${df}`);
    },
  );

  test('edge values: x = 0 gives 1, an astronomically large statistic gives 0 (not NaN)', () => {
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(chiSquareSurvival(1e6, 1)).toBe(0);
  });

  test('invalid arguments are refused with the values in the message', () => {
    expect(() => chiSquareSurvival(1, 0)).toThrow(/degrees of freedom must be > 0, got 0/);
    expect(() => regularizedGammaQ(-1, 2)).toThrow(/a = -1, x = 2/);
  });

  test('property: P(a, x) + Q(a, x) = 1', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 2000, noNaN: true }),
        (a, x) => {
          expect(Math.abs(regularizedGammaP(a, x) + regularizedGammaQ(a, x) - 1)).toBeLessThan(1e-12);
        },
      ),
    );
  });
});

describe('Student t distribution', () => {
  const t = fixture<{
    quantile: { p: number; df: number; t: number }[];
    cdf: { t: number; df: number; p: number }[];
  }>('student_t.json');

  test.each(t.quantile)('studentTQuantile($p, $df) matches scipy.stats.t.ppf', ({ p, df, t: expected }) => {
    expectRelative(studentTQuantile(p, df), expected, 1e-11, `p=${p}, df=${df}`);
  });

  test.each(t.cdf)('studentTCdf($t, $df) matches scipy.stats.t.cdf', ({ t: x, df, p }) => {
    expectRelative(studentTCdf(x, df), p, 1e-11, `t=${x}, df=${df}`);
  });

  test('textbook critical values: t(0.975, 10) = 2.228 and t(0.995, 4) = 4.604', () => {
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228, 3);
    expect(studentTQuantile(0.995, 4)).toBeCloseTo(4.604, 3);
  });

  test('invalid degrees of freedom are refused', () => {
    expect(() => studentTQuantile(0.5, 0)).toThrow(/degrees of freedom must be a finite number > 0, got 0/);
    expect(() => studentTCdf(1, NaN)).toThrow(RangeError);
  });

  test('property: studentTCdf inverts studentTQuantile', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-10, max: 1 - 1e-10, noNaN: true }),
        fc.double({ min: 0.5, max: 1e7, noNaN: true }),
        (p, df) => {
          const q = studentTQuantile(p, df);
          expectRelative(studentTCdf(q, df), p, 1e-10, `p=${p}, df=${df}`);
        },
      ),
    );
  });

  test('property: t critical values are wider than normal ones and approach them as df grows', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 0.999, noNaN: true }),
        fc.double({ min: 1, max: 1e4, noNaN: true }),
        (c, df) => {
          const z = normalCriticalValue(c);
          const small = studentTQuantile(1 - (1 - c) / 2, df);
          const large = studentTQuantile(1 - (1 - c) / 2, df * 10);
          expect(small).toBeGreaterThan(large);
          expect(large).toBeGreaterThan(z);
        },
      ),
    );
  });
});

describe('wilsonInterval', () => {
  const { cases } = fixture<{
    cases: { successes: number; trials: number; confidence: number; lower: number; upper: number }[];
  }>('wilson.json');

  test.each(cases)('$successes of $trials at $confidence matches scipy', (c) => {
    const interval = wilsonInterval(c.successes, c.trials, c.confidence);
    expect(interval.estimate).toBe(c.successes / c.trials);
    expect(interval.lower).toBeCloseTo(c.lower, 13);
    expect(interval.upper).toBeCloseTo(c.upper, 13);
  });

  test('0 and n successes pin the bounds to exactly 0 and 1', () => {
    expect(wilsonInterval(0, 25).lower).toBe(0);
    expect(wilsonInterval(0, 25).upper).toBeGreaterThan(0);
    expect(wilsonInterval(25, 25).upper).toBe(1);
    expect(wilsonInterval(25, 25).lower).toBeLessThan(1);
  });

  test('the default confidence is 95%', () => {
    expect(wilsonInterval(81, 263)).toEqual(wilsonInterval(81, 263, 0.95));
  });

  test('invalid counts and confidence levels are refused with a reason', () => {
    expect(() => wilsonInterval(0, 0)).toThrow(/trials is 0/);
    expect(() => wilsonInterval(11, 10)).toThrow(/successes \(11\) cannot exceed trials \(10\)/);
    expect(() => wilsonInterval(1.5, 10)).toThrow(/successes must be a whole number >= 0, got 1.5/);
    expect(() => wilsonInterval(-1, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(1, 10, 95)).toThrow(
      /confidence must be strictly between 0 and 1 \(e.g. 0.95\), got 95/,
    );
  });

  const counts = fc
    .integer({ min: 1, max: 1_000_000 })
    .chain((trials) => fc.tuple(fc.integer({ min: 0, max: trials }), fc.constant(trials)));
  const confidence = fc.double({ min: 0.5, max: 0.9999, noNaN: true });

  test('property: bounds stay in [0, 1] and contain the estimate', () => {
    fc.assert(
      fc.property(counts, confidence, ([successes, trials], c) => {
        const { estimate, lower, upper } = wilsonInterval(successes, trials, c);
        expect(lower).toBeGreaterThanOrEqual(0);
        expect(upper).toBeLessThanOrEqual(1);
        expect(lower).toBeLessThanOrEqual(estimate);
        expect(upper).toBeGreaterThanOrEqual(estimate);
      }),
    );
  });

  test('property: the interval narrows as trials grow at a fixed proportion', () => {
    fc.assert(
      fc.property(counts, fc.integer({ min: 2, max: 50 }), confidence, ([successes, trials], factor, c) => {
        const small = wilsonInterval(successes, trials, c);
        const large = wilsonInterval(successes * factor, trials * factor, c);
        expect(large.upper - large.lower).toBeLessThan(small.upper - small.lower);
      }),
    );
  });

  test('property: a higher confidence gives a wider interval', () => {
    fc.assert(
      fc.property(counts, ([successes, trials]) => {
        const narrow = wilsonInterval(successes, trials, 0.9);
        const wide = wilsonInterval(successes, trials, 0.99);
        expect(wide.upper - wide.lower).toBeGreaterThan(narrow.upper - narrow.lower);
      }),
    );
  });
});

describe('proportionDifferenceInterval (Newcombe hybrid score)', () => {
  // Newcombe (1998), Stat Med 17:873-890, Table II, method 10, to the 4 decimals printed there.
  test.each([
    [56, 70, 48, 80, 0.2, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.6, 0.1705, 0.809],
    [5, 56, 0, 29, 0.0893, -0.0381, 0.1926],
    [0, 10, 0, 20, 0, -0.1611, 0.2775],
    [0, 10, 0, 10, 0, -0.2775, 0.2775],
    [10, 10, 0, 20, 1, 0.6791, 1],
    [10, 10, 0, 10, 1, 0.6075, 1],
  ])('%i/%i - %i/%i matches the published interval', (x1, n1, x2, n2, estimate, lower, upper) => {
    const interval = proportionDifferenceInterval(x1, n1, x2, n2, 0.95);
    expect(interval.estimate).toBeCloseTo(estimate, 4);
    expect(interval.lower).toBeCloseTo(lower, 4);
    expect(interval.upper).toBeCloseTo(upper, 4);
  });

  const { cases } = fixture<{
    cases: {
      x1: number;
      n1: number;
      x2: number;
      n2: number;
      confidence: number;
      lower: number;
      upper: number;
    }[];
  }>('newcombe.json');

  test.each(cases)('$x1/$n1 - $x2/$n2 at $confidence matches the formula on scipy Wilson limits', (c) => {
    const interval = proportionDifferenceInterval(c.x1, c.n1, c.x2, c.n2, c.confidence);
    expect(interval.lower).toBeCloseTo(c.lower, 13);
    expect(interval.upper).toBeCloseTo(c.upper, 13);
  });

  test('empty groups are refused, naming the group', () => {
    expect(() => proportionDifferenceInterval(0, 0, 1, 10)).toThrow(/group 1.*trials is 0/);
    expect(() => proportionDifferenceInterval(1, 10, 5, 4)).toThrow(/group 2.*cannot exceed/);
  });

  const group = fc
    .integer({ min: 1, max: 100_000 })
    .chain((n) => fc.tuple(fc.integer({ min: 0, max: n }), fc.constant(n)));

  test('property: swapping the groups negates the interval, which contains the estimate within [-1, 1]', () => {
    fc.assert(
      fc.property(group, group, ([x1, n1], [x2, n2]) => {
        const forward = proportionDifferenceInterval(x1, n1, x2, n2);
        const backward = proportionDifferenceInterval(x2, n2, x1, n1);
        expect(backward.lower).toBeCloseTo(-forward.upper, 12);
        expect(backward.upper).toBeCloseTo(-forward.lower, 12);
        expect(forward.lower).toBeGreaterThanOrEqual(-1);
        expect(forward.upper).toBeLessThanOrEqual(1);
        expect(forward.lower).toBeLessThanOrEqual(forward.estimate);
        expect(forward.upper).toBeGreaterThanOrEqual(forward.estimate);
      }),
    );
  });
});

describe('meanDifferenceInterval (Welch)', () => {
  type Summary = { count: number; mean: number; variance: number };
  const withStdDev = (s: Summary): WelfordResult => ({ ...s, stdDev: Math.sqrt(s.variance) });
  const { cases } = fixture<{
    cases: {
      a: Summary;
      b: Summary;
      confidence: number;
      estimate: number;
      lower: number;
      upper: number;
      degreesOfFreedom: number;
      pValue: number;
    }[];
  }>('welch.json');

  test.each(cases)(
    'n=$a.count vs n=$b.count at $confidence matches scipy ttest_ind(equal_var=False)',
    (c) => {
      const result = meanDifferenceInterval(withStdDev(c.a), withStdDev(c.b), { confidence: c.confidence });
      expectRelative(result.estimate, c.estimate, 1e-15, 'estimate');
      expectRelative(result.lower, c.lower, 1e-11, 'lower');
      expectRelative(result.upper, c.upper, 1e-11, 'upper');
      expectRelative(result.degreesOfFreedom ?? NaN, c.degreesOfFreedom, 1e-13, 'df');
      expectRelative(result.pValue, c.pValue, 1e-10, 'p-value');
    },
  );

  test('the normal method is close to Welch for large samples and narrower for small ones', () => {
    const big = cases.find((c) => c.a.count === 20000 && c.confidence === 0.95)!;
    const welch = meanDifferenceInterval(withStdDev(big.a), withStdDev(big.b));
    const normal = meanDifferenceInterval(withStdDev(big.a), withStdDev(big.b), { method: 'normal' });
    expect(normal.degreesOfFreedom).toBeNull();
    expect(normal.upper - normal.lower).toBeCloseTo(welch.upper - welch.lower, 6);
    const small = cases.find((c) => c.a.count === 5 && c.confidence === 0.95)!;
    const smallNormal = meanDifferenceInterval(withStdDev(small.a), withStdDev(small.b), {
      method: 'normal',
    });
    expect(smallNormal.upper - smallNormal.lower).toBeLessThan(small.upper - small.lower);
  });

  test('two constant samples give a zero-width interval instead of NaN', () => {
    const a = welfordResult(welfordFromValues([3, 3, 3]));
    const b = welfordResult(welfordFromValues([1, 1]));
    expect(meanDifferenceInterval(a, b)).toEqual({
      estimate: 2,
      lower: 2,
      upper: 2,
      standardError: 0,
      degreesOfFreedom: 3,
      pValue: 0,
    });
  });

  test('a sample with fewer than 2 values is refused, naming it', () => {
    const one = welfordResult(welfordFromValues([1]));
    const two = welfordResult(welfordFromValues([1, 2]));
    expect(() => meanDifferenceInterval(two, one)).toThrow(
      /sample b has 1 values; a variance needs at least 2/,
    );
    expect(() => meanDifferenceInterval(two, two, { confidence: 1 })).toThrow(/confidence must be strictly/);
  });
});

describe('findConsecutiveBreaches', () => {
  const above = (threshold: number) => (v: number) => v > threshold;
  const B = 10; // breaching
  const O = 0; // within the threshold

  test('fires on the n-th consecutive breach and reports where the run started', () => {
    const result = findConsecutiveBreaches([O, B, B, O, B, B, B, B, B, O], above(5), 5, 'missing');
    expect(result).toEqual({ breached: true, firstIndex: 4, alarmIndex: 8, longestRun: 5 });
  });

  test('n - 1 breaches in a row do not fire', () => {
    const result = findConsecutiveBreaches([B, B, B, B, O, B, B, B, B], above(5), 5, 'breaching');
    expect(result).toEqual({ breached: false, longestRun: 4 });
  });

  const gap = [B, B, null, B, B, B];
  test.each([
    ['breaching', { breached: true, firstIndex: 0, alarmIndex: 4, longestRun: 6 }],
    ['notBreaching', { breached: false, longestRun: 3 }],
    ['ignore', { breached: true, firstIndex: 0, alarmIndex: 5, longestRun: 5 }],
    ['missing', { breached: true, firstIndex: 0, alarmIndex: 5, longestRun: 5 }],
  ] as const)('a single missing datapoint treated as %s', (treatment, expected) => {
    expect(findConsecutiveBreaches(gap, above(5), 5, treatment)).toEqual(expected);
  });

  test('under ignore and missing, a shorter gap is bridged but a gap as long as the window ends the run', () => {
    const shortGap = [B, null, null, B, B];
    expect(findConsecutiveBreaches(shortGap, above(5), 3, 'ignore')).toMatchObject({
      breached: true,
      alarmIndex: 4,
    });
    const longGap = [B, B, null, null, null, B];
    expect(findConsecutiveBreaches(longGap, above(5), 3, 'ignore')).toEqual({
      breached: false,
      longestRun: 2,
    });
    expect(findConsecutiveBreaches(longGap, above(5), 3, 'missing')).toEqual({
      breached: false,
      longestRun: 2,
    });
    expect(findConsecutiveBreaches([null, null, null], above(5), 3, 'breaching').breached).toBe(true);
  });

  test('the confidence alarm: mean confidence below baseline - 2 sigma for 5 of 5 minutes', () => {
    const threshold = 0.82 - 2 * 0.03;
    const perMinute = [0.83, 0.75, 0.74, 0.71, 0.77, 0.8, 0.74, 0.73, 0.7, 0.72, 0.75];
    const result = findConsecutiveBreaches(perMinute, (v) => v < threshold, 5, 'notBreaching');
    expect(result).toMatchObject({ breached: true, firstIndex: 6, alarmIndex: 10 });
  });

  test('bad inputs are refused with the offending value', () => {
    expect(() => findConsecutiveBreaches([1], above(0), 0, 'missing')).toThrow(/got 0/);
    expect(() => findConsecutiveBreaches([1, NaN], above(0), 2, 'missing')).toThrow(
      /datapoint 1 is NaN; use null/,
    );
    expect(() => findConsecutiveBreaches([1], above(0), 1, 'skip' as never)).toThrow(
      /unknown missing-data treatment "skip"/,
    );
  });

  test('property: with no missing data, all treatments agree and longestRun matches a direct count', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (flags, n) => {
        const values = flags.map((f) => (f ? B : O));
        const results = (['breaching', 'notBreaching', 'ignore', 'missing'] as const).map((t) =>
          findConsecutiveBreaches(values, above(5), n, t),
        );
        for (const r of results) expect(r).toEqual(results[0]);
        let longest = 0;
        let run = 0;
        for (const f of flags) {
          run = f ? run + 1 : 0;
          longest = Math.max(longest, run);
        }
        expect(results[0].longestRun).toBe(longest);
        expect(results[0].breached).toBe(longest >= n);
      }),
    );
  });
});

describe('sampleRatioMismatch', () => {
  const { cases } = fixture<{
    cases: {
      observed: number[];
      expectedShares: number[];
      chiSquare: number;
      degreesOfFreedom: number;
      pValue: number;
    }[];
  }>('sample_ratio.json');

  test.each(cases)('$observed against $expectedShares matches scipy.stats.chisquare', (c) => {
    const result = sampleRatioMismatch(c.observed, c.expectedShares);
    expect(result.chiSquare).toBeCloseTo(c.chiSquare, 9);
    expect(result.degreesOfFreedom).toBe(c.degreesOfFreedom);
    expectRelative(result.pValue, c.pValue, 1e-12, 'p-value');
  });

  test('reports the expected counts and treats shares as weights', () => {
    const fromPercent = sampleRatioMismatch([900, 100], [90, 10]);
    expect(fromPercent.expectedCounts).toEqual([900, 100]);
    expect(fromPercent.pValue).toBe(1);
    expect(sampleRatioMismatch([1020, 8980], [1, 9])).toEqual(sampleRatioMismatch([1020, 8980], [0.1, 0.9]));
  });

  test('a 51/49 split on 100k requests is flagged, the same split on 1k is not', () => {
    expect(sampleRatioMismatch([51_000, 49_000], [1, 1]).pValue).toBeLessThan(1e-9);
    expect(sampleRatioMismatch([510, 490], [1, 1]).pValue).toBeGreaterThan(0.5);
  });

  test('bad inputs are refused with what was wrong', () => {
    expect(() => sampleRatioMismatch([1, 2, 3], [1, 1])).toThrow(/3 observed counts but 2 expected shares/);
    expect(() => sampleRatioMismatch([5], [1])).toThrow(/at least 2 variants, got 1/);
    expect(() => sampleRatioMismatch([5, 5], [1, 0])).toThrow(
      /expectedShares\[1\] must be a finite number > 0, got 0/,
    );
    expect(() => sampleRatioMismatch([5, -1], [1, 1])).toThrow(
      /observed\[1\] must be a whole number >= 0, got -1/,
    );
    expect(() => sampleRatioMismatch([0, 0], [1, 1])).toThrow(/every observed count is 0/);
  });
});
