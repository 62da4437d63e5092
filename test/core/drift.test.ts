import * as fc from 'fast-check';
import type { CategoryCounts } from '../../lambdas/core/contracts/records';
import {
  compareDistributions,
  computeJsDistance,
  describeDrift,
  formatShareChange,
} from '../../lambdas/core/statistics/drift';
import vectors from '../fixtures/js-distance/scipy-vectors.json';

interface Vector {
  readonly name: string;
  readonly p: Record<string, number>;
  readonly q: Record<string, number>;
  /** scipy.spatial.distance.jensenshannon(p, q, base=2) */
  readonly distance: number;
  /** The same at 50 digits (mpmath). */
  readonly exact: number;
}

const cases = (vectors as unknown as { cases: Vector[] }).cases;

/** Count tables over a small alphabet, so that generated pairs share some categories. */
const counts = (minKeys = 1): fc.Arbitrary<Record<string, number>> =>
  fc
    .dictionary(
      fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
      fc.integer({ min: 0, max: 1_000_000 }),
      {
        minKeys,
      },
    )
    .filter((table) => Object.values(table).some((count) => count > 0));

describe('computeJsDistance', () => {
  describe('agrees with SciPy (test/fixtures/js-distance, regenerate with generate.py)', () => {
    it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const distance = computeJsDistance(c.p, c.q);
      expect(Math.abs(distance - c.distance)).toBeLessThanOrEqual(1e-12);
      // Closer still to the 50-digit value: SciPy's own error reaches 1e-14 on the small-drift cases.
      expect(Math.abs(distance - c.exact)).toBeLessThanOrEqual(1e-15);
    });

    it('covers the cases the formula is fragile on', () => {
      const names = cases.map((c) => c.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'identical',
          'disjoint supports',
          'one-sided category',
          'tiny counts',
          'extremely close counts',
        ]),
      );
      expect(cases.length).toBeGreaterThanOrEqual(30);
    });
  });

  it('is 1 for distributions with no category in common', () => {
    expect(computeJsDistance({ refund: 3, billing: 9 }, { fraud: 1 })).toBeCloseTo(1, 15);
  });

  it('is 0 for the same shares at different scales', () => {
    expect(computeJsDistance({ a: 1, b: 2, c: 3 }, { a: 10, b: 20, c: 30 })).toBe(0);
  });

  it('ignores categories counted 0 on both sides', () => {
    expect(computeJsDistance({ a: 1, b: 1, zero: 0 }, { a: 1, b: 3 })).toBe(
      computeJsDistance({ a: 1, b: 1 }, { a: 1, b: 3 }),
    );
  });

  it('is finite when a label appears on one side only, where KL divergence would be infinite', () => {
    const distance = computeJsDistance({ refund: 50, billing: 50 }, { refund: 50, billing: 49, fraud: 1 });
    expect(Number.isFinite(distance)).toBe(true);
    expect(distance).toBeGreaterThan(0);
    expect(distance).toBeLessThan(0.1);
  });

  it.each([
    ['an empty first side', {}, { a: 1 }, /first distribution is empty/],
    ['an all-zero second side', { a: 1 }, { a: 0, b: 0 }, /second distribution is empty/],
    ['a negative count', { a: -1, b: 2 }, { a: 1 }, /count -1 for 'a'.*>= 0/],
    ['a NaN count', { a: Number.NaN }, { a: 1 }, /count NaN for 'a'/],
    ['an infinite count', { a: 1 }, { b: Number.POSITIVE_INFINITY }, /count Infinity for 'b'/],
    ['a total that overflows', { a: Number.MAX_VALUE, b: Number.MAX_VALUE }, { a: 1 }, /add up to Infinity/],
  ])('rejects %s', (_name, p, q, message) => {
    expect(() => computeJsDistance(p, q)).toThrow(message);
  });

  describe('properties', () => {
    it('lies in [0, 1]', () => {
      fc.assert(
        fc.property(counts(), counts(), (p, q) => {
          const distance = computeJsDistance(p, q);
          return distance >= 0 && distance <= 1;
        }),
      );
    });

    it('is symmetric, to the last bit', () => {
      fc.assert(
        fc.property(counts(), counts(), (p, q) => computeJsDistance(p, q) === computeJsDistance(q, p)),
      );
    });

    it('is 0 for a distribution against itself scaled by any whole factor', () => {
      fc.assert(
        fc.property(counts(), fc.integer({ min: 1, max: 1000 }), (p, factor) => {
          const scaled = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v * factor]));
          return computeJsDistance(p, scaled) === 0;
        }),
      );
    });

    it('is above 0 whenever the shares differ', () => {
      fc.assert(
        fc.property(counts(), counts(), (p, q) => {
          fc.pre(!sameShares(p, q));
          return computeJsDistance(p, q) > 0;
        }),
      );
    });

    it('satisfies the triangle inequality (the JS distance is a metric)', () => {
      fc.assert(
        fc.property(counts(), counts(), counts(), (p, q, r) => {
          return computeJsDistance(p, r) <= computeJsDistance(p, q) + computeJsDistance(q, r) + 1e-12;
        }),
        { numRuns: 500 },
      );
    });

    it('does not depend on the order of the keys', () => {
      fc.assert(
        fc.property(counts(), counts(), (p, q) => {
          const reversed = Object.fromEntries(Object.entries(p).reverse());
          return computeJsDistance(reversed, q) === computeJsDistance(p, q);
        }),
      );
    });
  });
});

/** Exact comparison of shares by cross-multiplication (counts are small integers). */
function sameShares(p: CategoryCounts, q: CategoryCounts): boolean {
  const total = (t: CategoryCounts): number => Object.values(t).reduce((a, b) => a + b, 0);
  const [pt, qt] = [total(p), total(q)];
  const keys = new Set([...Object.keys(p), ...Object.keys(q)]);
  return [...keys].every((k) => BigInt(p[k] ?? 0) * BigInt(qt) === BigInt(q[k] ?? 0) * BigInt(pt));
}

describe('compareDistributions', () => {
  const reference = { refund: 8, billing: 60, technical: 32 };
  const current = { refund: 21, billing: 47, technical: 32 };

  it('reports the distance, the verdict and the movers, largest move first', () => {
    const report = compareDistributions('golden_set', 'label', current, reference, 0.1);
    expect(report).toMatchObject({
      evalSet: 'golden_set',
      field: 'label',
      threshold: 0.1,
      jsDistance: computeJsDistance(current, reference),
      currentTotal: 100,
      referenceTotal: 100,
    });
    // Fails only when both larger than maxDrift and significant (chi-square test at 0.01).
    expect(report.passed).toBe(!(report.jsDistance > 0.1 && report.pValue < 0.01));
    expect(report.topMovers.map((m) => m.value)).toEqual(['billing', 'refund']);
    expect(report.topMovers[0]).toEqual({
      value: 'billing',
      referenceShare: 0.6,
      currentShare: 0.47,
      delta: 0.47 - 0.6,
    });
  });

  it('keeps every category in shares, unmoved ones last, and leaves them out of topMovers', () => {
    const report = compareDistributions('golden_set', 'label', current, reference, 0.1);
    expect(report.shares.map((s) => s.value)).toEqual(['billing', 'refund', 'technical']);
    expect(report.shares[2]).toEqual({
      value: 'technical',
      referenceShare: 0.32,
      currentShare: 0.32,
      delta: 0,
    });
  });

  it('passes at exactly the threshold and fails just above it', () => {
    // 100 times the counts: the same distance, and far too many rows for it to be sampling noise.
    const times100 = (c: Record<string, number>) =>
      Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v * 100]));
    const [big, bigReference] = [times100(current), times100(reference)];
    const distance = computeJsDistance(big, bigReference);
    expect(compareDistributions('s', 'label', big, bigReference, distance).passed).toBe(true);
    expect(compareDistributions('s', 'label', big, bigReference, distance * 0.999).passed).toBe(false);
  });

  it('lists categories seen on one side only with a share of 0 on the other', () => {
    const report = compareDistributions('s', 'source', { web: 5, app: 5 }, { web: 10 }, 0.5);
    expect(report.shares).toEqual([
      { value: 'app', referenceShare: 0, currentShare: 0.5, delta: 0.5 },
      { value: 'web', referenceShare: 1, currentShare: 0.5, delta: -0.5 },
    ]);
  });

  it('caps topMovers at topN and breaks ties by name', () => {
    const report = compareDistributions('s', 'label', { a: 1, b: 1, c: 1, d: 1 }, { e: 1, f: 1 }, 0.5, 3);
    expect(report.topMovers.map((m) => m.value)).toEqual(['e', 'f', 'a']);
    expect(report.shares).toHaveLength(6);
  });

  it('survives JSON unchanged', () => {
    const report = compareDistributions('s', 'label', current, reference, 0.1);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it.each([
    [1.5, /maxDrift for eval set 'golden_set' is 1.5; expected .* between 0 and 1/],
    [-0.1, /is -0.1/],
    [Number.NaN, /is NaN/],
  ])('rejects threshold %p', (threshold, message) => {
    expect(() => compareDistributions('golden_set', 'label', current, reference, threshold)).toThrow(message);
  });

  it('rejects a fractional topN', () => {
    expect(() => compareDistributions('s', 'label', current, reference, 0.1, 2.5)).toThrow(/topN is 2.5/);
  });

  it('names the side and the field when one is empty', () => {
    expect(() => compareDistributions('golden_set', 'source', {}, reference, 0.1)).toThrow(
      /current source of eval set 'golden_set' distribution is empty/,
    );
  });
});

describe('formatShareChange', () => {
  it('writes whole percents', () => {
    expect(
      formatShareChange('label', { value: 'refund', referenceShare: 0.08, currentShare: 0.21, delta: 0.13 }),
    ).toBe("label 'refund' 8% → 21%");
  });

  it('keeps a decimal under 1% and for a change whole percents would hide', () => {
    expect(
      formatShareChange('label', { value: 'fraud', referenceShare: 0.004, currentShare: 0.03, delta: 0.026 }),
    ).toBe("label 'fraud' 0.4% → 3%");
    expect(
      formatShareChange('label', { value: 'x', referenceShare: 0.201, currentShare: 0.204, delta: 0.003 }),
    ).toBe("label 'x' 20.1% → 20.4%");
  });

  it('shows absent and tiny shares', () => {
    expect(
      formatShareChange('source', { value: 'app', referenceShare: 0, currentShare: 0.0001, delta: 0.0001 }),
    ).toBe("source 'app' 0% → <0.1%");
  });

  it('escapes a quote in the value', () => {
    expect(
      formatShareChange('label', { value: "it's", referenceShare: 0.5, currentShare: 0.25, delta: -0.25 }),
    ).toBe("label 'it\\'s' 50% → 25%");
  });
});

describe('describeDrift', () => {
  it('gives the distance, the verdict and the top movers in one line', () => {
    const report = compareDistributions(
      'golden_set',
      'label',
      { refund: 21, billing: 79 },
      { refund: 8, billing: 92 },
      0.05,
    );
    expect(describeDrift(report)).toBe(
      `label drift ${report.jsDistance.toFixed(3)} > maxDrift 0.05 (label 'billing' 92% → 79%, label 'refund' 8% → 21%); ` +
        'significant (chi-square test p = 0.0090 < 0.01)',
    );
  });

  it('never prints a failing distance equal to the threshold', () => {
    const report = compareDistributions('s', 'label', { a: 1 }, { a: 1 }, 0);
    const failing = {
      ...report,
      jsDistance: 0.20004,
      threshold: 0.2,
      passed: false,
      status: 'drift' as const,
      pValue: 0.001,
    };
    expect(describeDrift(failing)).toBe(
      'label drift 0.200040 > maxDrift 0.2; significant (chi-square test p = 0.0010 < 0.01)',
    );
  });
});
