import fc from 'fast-check';
import {
  alwaysValidPValue,
  bucketSplitCheck,
  confidenceSequence,
  holmAdjust,
  minimumDetectableEffect,
  mixtureHalfWidth,
  ratioEstimate,
} from '../../lambdas/core/statistics/ab-stats';
import { seededRandom } from '../../lambdas/core/statistics/gate-stats';

describe('ratioEstimate (delta method over buckets, Deng et al. 2018)', () => {
  test('matches the textbook delta-method formula written with means and (co)variances', () => {
    const units = [
      { numerator: 1, denominator: 10 },
      { numerator: 0, denominator: 3 },
      { numerator: 4, denominator: 25 },
      { numerator: 2, denominator: 7 },
      { numerator: 0, denominator: 12 },
    ];
    const k = units.length;
    const x = units.map((u) => u.denominator);
    const y = units.map((u) => u.numerator);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const mx = mean(x);
    const my = mean(y);
    const cov = (a: number[], b: number[]) =>
      a.reduce((s, ai, i) => s + (ai - mean(a)) * (b[i] - mean(b)), 0) / (a.length - 1);
    // Deng, Knoblich & Lu (2018), eq. for Var(Ȳ/X̄): (σy² − 2R σxy + R² σx²) / (K μx²).
    const r = my / mx;
    const reference = (cov(y, y) - 2 * r * cov(x, y) + r * r * cov(x, x)) / (k * mx * mx);
    const got = ratioEstimate(units)!;
    expect(got.estimate).toBeCloseTo(7 / 57, 15);
    expect(got.variance).toBeCloseTo(reference, 15);
    expect(got.buckets).toBe(5);
  });

  test('agrees with a brute-force cluster bootstrap on clustered data (within 10%)', () => {
    const random = seededRandom(7);
    // 400 buckets; users in a bucket share an error propensity, so requests are not independent.
    const units = Array.from({ length: 400 }, () => {
      const requests = 1 + Math.floor(-Math.log(1 - random()) * 30);
      const p = random() < 0.1 ? 0.2 : 0.01;
      let errors = 0;
      for (let i = 0; i < requests; i++) if (random() < p) errors++;
      return { numerator: errors, denominator: requests };
    });
    const estimate = ratioEstimate(units)!;
    const boot: number[] = [];
    for (let b = 0; b < 2000; b++) {
      let sy = 0;
      let sx = 0;
      for (let i = 0; i < units.length; i++) {
        const u = units[Math.floor(random() * units.length)];
        sy += u.numerator;
        sx += u.denominator;
      }
      boot.push(sy / sx);
    }
    const m = boot.reduce((a, b) => a + b, 0) / boot.length;
    const bootVariance = boot.reduce((s, v) => s + (v - m) ** 2, 0) / (boot.length - 1);
    expect(estimate.variance / bootVariance).toBeGreaterThan(0.9);
    expect(estimate.variance / bootVariance).toBeLessThan(1.1);
    // Counting requests as independent (binomial) understates it here by the design effect.
    const requests = units.reduce((s, u) => s + u.denominator, 0);
    const naive = (estimate.estimate * (1 - estimate.estimate)) / requests;
    expect(estimate.variance).toBeGreaterThan(2 * naive);
  });

  test('buckets without traffic change nothing; one bucket has no spread to estimate', () => {
    const units = [
      { numerator: 1, denominator: 10 },
      { numerator: 3, denominator: 20 },
      { numerator: 0, denominator: 5 },
    ];
    const withEmpty = ratioEstimate([...units, { numerator: 0, denominator: 0 }])!;
    expect(withEmpty).toEqual(ratioEstimate(units));
    expect(ratioEstimate([{ numerator: 5, denominator: 1000 }])).toBeNull();
    expect(
      ratioEstimate([
        { numerator: 5, denominator: 1000 },
        { numerator: 0, denominator: 0 },
      ]),
    ).toBeNull();
  });

  test('effective buckets: 1 when one bucket holds nearly everything, K when traffic is even', () => {
    expect(
      ratioEstimate([
        { numerator: 1, denominator: 100_000 },
        { numerator: 0, denominator: 1 },
      ])!.effectiveBuckets,
    ).toBeCloseTo(1, 3);
    const even = Array.from({ length: 50 }, () => ({ numerator: 1, denominator: 10 }));
    expect(ratioEstimate(even)!.effectiveBuckets).toBeCloseTo(50, 10);
  });

  test('refuses a negative or non-finite denominator', () => {
    expect(() => ratioEstimate([{ numerator: 1, denominator: -1 }])).toThrow(/denominator >= 0/);
    expect(() => ratioEstimate([{ numerator: NaN, denominator: 1 }])).toThrow(/finite numerator/);
  });
});

describe('normal-mixture confidence sequence (Howard et al. 2021; Johari et al. 2022)', () => {
  test('the half-width is where the mixture likelihood ratio reaches 1/alpha', () => {
    const v = 1e-5;
    const tau = 0.01;
    const half = mixtureHalfWidth(v, 0.05, tau);
    expect(alwaysValidPValue(half, 0, v, tau)).toBeCloseTo(0.05, 10);
    expect(alwaysValidPValue(0.9 * half, 0, v, tau)).toBeGreaterThan(0.05);
    expect(alwaysValidPValue(1.1 * half, 0, v, tau)).toBeLessThan(0.05);
  });

  test('is wider than a fixed-horizon interval at every variance, narrowest relative to it near V = τ²/8.3', () => {
    const tau = 0.02;
    const ratio = (v: number) => mixtureHalfWidth(v, 0.05, tau) / (1.959964 * Math.sqrt(v));
    for (const v of [1e-8, 1e-6, (tau * tau) / 8.3, 1e-3, 1]) expect(ratio(v)).toBeGreaterThan(1);
    expect(ratio((tau * tau) / 8.3)).toBeCloseTo(1.5485, 3);
    expect(ratio((tau * tau) / 8.3)).toBeLessThan(ratio((tau * tau) / 100));
    expect(ratio((tau * tau) / 8.3)).toBeLessThan(ratio(tau * tau));
  });

  test('property: the interval is symmetric around the estimate and shrinks as the variance shrinks', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: 1e-9, max: 1e-2, noNaN: true }),
        fc.double({ min: 1e-3, max: 0.5, noNaN: true }),
        (estimate, variance, tau) => {
          const cs = confidenceSequence(estimate, variance, 0.05, tau);
          expect(cs.upper - estimate).toBeCloseTo(estimate - cs.lower, 12);
          expect(mixtureHalfWidth(variance / 2, 0.05, tau)).toBeLessThan(
            mixtureHalfWidth(variance, 0.05, tau),
          );
        },
      ),
    );
  });

  test('a smaller alpha gives a wider interval; a zero variance a point', () => {
    expect(mixtureHalfWidth(1e-4, 0.025, 0.01)).toBeGreaterThan(mixtureHalfWidth(1e-4, 0.05, 0.01));
    expect(confidenceSequence(0.3, 0, 0.05, 0.01)).toMatchObject({ lower: 0.3, upper: 0.3 });
    expect(() => mixtureHalfWidth(-1, 0.05, 0.01)).toThrow(/variance/);
    expect(() => mixtureHalfWidth(1, 1.5, 0.01)).toThrow(/alpha/);
  });

  test('the minimum detectable effect is detected with 80% power by the same boundary', () => {
    const v = 4e-6;
    const tau = 0.01;
    const mde = minimumDetectableEffect(v, 0.025, tau, 0.8);
    const half = mixtureHalfWidth(v, 0.025, tau);
    // P(estimate > half-width | truth = mde) = Φ((mde − half)/√v) = 0.8.
    expect((mde - half) / Math.sqrt(v)).toBeCloseTo(0.8416, 3);
  });
});

describe('holmAdjust', () => {
  test('known values: step-down with monotone adjusted p-values', () => {
    expect(holmAdjust([0.01, 0.04, 0.03])).toEqual([0.03, 0.06, 0.06]);
    expect(holmAdjust([0.2, 0.001])).toEqual([0.2, 0.002]);
    expect(holmAdjust([0.9, 0.8])).toEqual([1, 1]);
    expect(holmAdjust([0.3, 0.01])).toEqual([0.3, 0.02]);
  });

  test('property: adjusted ≥ raw, ≤ 1, and never below Bonferroni on the smallest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
        (ps) => {
          const adjusted = holmAdjust(ps);
          adjusted.forEach((a, i) => {
            expect(a).toBeGreaterThanOrEqual(ps[i]);
            expect(a).toBeLessThanOrEqual(1);
          });
          expect(Math.min(...adjusted)).toBeCloseTo(Math.min(1, ps.length * Math.min(...ps)), 12);
        },
      ),
    );
  });
});

describe('bucketSplitCheck (Fabijan et al. 2019, on buckets)', () => {
  // Reference: scipy.stats.hypergeom(N, K, A), two-sided p = Σ pmf(x) over pmf(x) ≤ pmf(observed).
  test.each([
    [10_000, 1000, 950, 95, 1],
    [10_000, 1000, 950, 60, 3.1754502259415476e-5],
    [10_000, 1000, 950, 130, 0.00013367719535030615],
    [10_000, 5000, 9990, 4990, 0.0019443473619598656],
    [10_000, 1, 50, 1, 0.005],
    [100, 30, 40, 20, 0.000681025001913836],
  ])('N=%d, K=%d, A=%d active, %d of them candidate: p = %d (scipy)', (n, k, a, x, p) => {
    const check = bucketSplitCheck({
      totalBuckets: n,
      candidateBuckets: k,
      activeStable: a - x,
      activeCandidate: x,
    });
    expect(check.pValue).toBeCloseTo(p, 12);
    expect(check.expectedCandidate).toBeCloseTo((a * k) / n, 12);
  });

  test('every bucket active: the split is exactly as intended and nothing can deviate', () => {
    const check = bucketSplitCheck({
      totalBuckets: 10_000,
      candidateBuckets: 1000,
      activeStable: 9000,
      activeCandidate: 1000,
    });
    expect(check).toMatchObject({ pValue: 1, chiSquare: 0 });
  });

  test('refuses counts no split can produce, naming them', () => {
    expect(() =>
      bucketSplitCheck({
        totalBuckets: 10_000,
        candidateBuckets: 1000,
        activeStable: 0,
        activeCandidate: 1001,
      }),
    ).toThrow(/candidate 1000\), got stable 0, candidate 1001/);
    expect(() =>
      bucketSplitCheck({ totalBuckets: 10_000, candidateBuckets: 0, activeStable: 1, activeCandidate: 0 }),
    ).toThrow(/1 <= candidateBuckets/);
  });
});
