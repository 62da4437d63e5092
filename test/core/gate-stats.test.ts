import fc from 'fast-check';
import {
  aboutRows,
  binomialInterval,
  decideVerdict,
  homogeneityTest,
  marginOutcome,
  pairedDifferenceInterval,
  rowsNeededForMargin,
  seededRandom,
} from '../../lambdas/core/statistics/gate-stats';
import { wilsonInterval } from '../../lambdas/core/statistics/stats';

describe('pairedDifferenceInterval (Newcombe 1998, method 10)', () => {
  test('matches the published value: Cavo et al. table in Fagerland, Lydersen & Laake (2017), ch. 8', () => {
    // Table [[59, 6], [16, 80]]; published: estimate −0.0621, 95% CI −0.1186 to −0.0046.
    const d = pairedDifferenceInterval({
      bothCorrect: 59,
      candidateOnly: 6,
      baselineOnly: 16,
      neitherCorrect: 80,
    });
    expect(d.estimate).toBeCloseTo(-0.0621, 4);
    expect(d.lower).toBeCloseTo(-0.1186, 4);
    expect(d.upper).toBeCloseTo(-0.0046, 4);
    expect(d).toMatchObject({ paired: true, n: 161, confidence: 0.95 });
  });

  test('is narrower than the unpaired interval when the models share their errors', () => {
    const paired = pairedDifferenceInterval(
      { bothCorrect: 900, candidateOnly: 10, baselineOnly: 20, neitherCorrect: 70 },
      0.9,
    );
    expect(paired.upper - paired.lower).toBeLessThan(0.03);
    expect(paired.lower).toBeLessThan(-0.01);
    expect(paired.upper).toBeGreaterThan(-0.01);
  });

  test('property: contains the estimate, stays in [−1, 1], and flips sign when the models swap', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.nat(50), fc.nat(50), fc.nat(200), (a, b, c, d) => {
        fc.pre(a + b + c + d > 0);
        const i = pairedDifferenceInterval({
          bothCorrect: a,
          candidateOnly: b,
          baselineOnly: c,
          neitherCorrect: d,
        });
        const j = pairedDifferenceInterval({
          bothCorrect: a,
          candidateOnly: c,
          baselineOnly: b,
          neitherCorrect: d,
        });
        expect(i.lower).toBeLessThanOrEqual(i.estimate + 1e-12);
        expect(i.upper).toBeGreaterThanOrEqual(i.estimate - 1e-12);
        expect(i.lower).toBeGreaterThanOrEqual(-1);
        expect(i.upper).toBeLessThanOrEqual(1);
        expect(j.lower).toBeCloseTo(-i.upper, 12);
        expect(j.upper).toBeCloseTo(-i.lower, 12);
      }),
    );
  });
});

describe('binomialInterval (Brown, Cai & DasGupta modified Wilson)', () => {
  test('replaces the bound next to 0 by χ²_{2x, α}/(2n) for few events (values from scipy.stats.chi2.ppf)', () => {
    expect(binomialInterval(1, 100).lower).toBeCloseTo(0.0005129329438755053, 14);
    expect(binomialInterval(2, 40).lower).toBeCloseTo(0.00888403776746655, 14);
    expect(binomialInterval(3, 500).lower).toBeCloseTo(0.0016353828943279068, 14);
    expect(binomialInterval(99, 100).upper).toBeCloseTo(1 - 0.0005129329438755053, 14);
  });

  test('is the Wilson interval away from the edges', () => {
    expect(binomialInterval(30, 100)).toEqual(wilsonInterval(30, 100));
    // x* is 2 up to n = 50: three events keep Wilson's lower bound.
    expect(binomialInterval(3, 50).lower).toBe(wilsonInterval(3, 50).lower);
  });
});

describe('the three-outcome margin rule', () => {
  test('pass within, fail beyond with 95% confidence, otherwise inconclusive', () => {
    expect(marginOutcome({ estimate: 0.005, lower: -0.005, upper: 0.015 }, 0.02)).toBe('pass');
    expect(marginOutcome({ estimate: 0.035, lower: 0.025, upper: 0.045 }, 0.02)).toBe('fail');
    expect(marginOutcome({ estimate: 0.015, lower: 0.005, upper: 0.025 }, 0.02)).toBe('inconclusive');
  });

  test('an inconclusive interval is decided by the policy, and the verdict says which rule decided', () => {
    expect(decideVerdict('inconclusive', 0.015, 0.02, 'point-estimate')).toEqual({
      verdict: 'pass',
      decidedBy: 'point-estimate',
    });
    expect(decideVerdict('inconclusive', 0.025, 0.02, 'point-estimate')).toEqual({
      verdict: 'fail',
      decidedBy: 'point-estimate',
    });
    expect(decideVerdict('inconclusive', 0.015, 0.02, 'fail')).toEqual({
      verdict: 'fail',
      decidedBy: 'inconclusive-policy',
    });
    expect(decideVerdict('fail', 0.035, 0.02, 'pass')).toEqual({ verdict: 'fail', decidedBy: 'interval' });
  });
});

describe('rowsNeededForMargin', () => {
  test('about 1,550 rows decide a 0.02 margin at a discordance of 0.1', () => {
    expect(rowsNeededForMargin(0.02, 0.1)).toBe(1546);
    expect(aboutRows(1546)).toBe('1,550');
    expect(aboutRows(98)).toBe('98');
  });

  test('grows with the discordance and with a smaller margin', () => {
    expect(rowsNeededForMargin(0.02, 0.2)).toBeGreaterThan(rowsNeededForMargin(0.02, 0.1));
    expect(rowsNeededForMargin(0.01, 0.1)).toBeCloseTo(4 * rowsNeededForMargin(0.02, 0.1), -1);
  });
});

describe('homogeneityTest', () => {
  test('matches scipy.stats.chi2_contingency (Pearson, and lambda_="log-likelihood" for G)', () => {
    const a = homogeneityTest({ w: 40, x: 30, y: 20, z: 10 }, { w: 25, x: 25, y: 25, z: 25 });
    expect(a.chiSquare).toBeCloseTo(10.900210900210901, 10);
    expect(a.pValue).toBeCloseTo(0.012277894009958807, 10);
    expect(a.g).toBeCloseTo(11.146245382910696, 10);
    expect(a.gPValue).toBeCloseTo(0.010960794022868231, 10);
    expect(a.degreesOfFreedom).toBe(3);
    // A category on one side only counts, as in scipy with its zero cell.
    const b = homogeneityTest({ a: 95, b: 5 }, { a: 90, c: 10 });
    expect(b.chiSquare).toBeCloseTo(15.135135135135135, 10);
    expect(b.pValue).toBeCloseTo(0.0005169483624931657, 14);
    expect(b.g).toBeCloseTo(20.92956700854841, 10);
  });

  test('identical shares give X² = G = 0 and p = 1', () => {
    expect(homogeneityTest({ a: 10, b: 20 }, { a: 20, b: 40 })).toMatchObject({
      chiSquare: 0,
      g: 0,
      pValue: 1,
    });
  });
});

describe('seededRandom', () => {
  test('the same seed gives the same stream, in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.05);
  });
});
