import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  DEFAULT_MIN_SHADOW_SAMPLES,
  compareShadow,
  type ShadowComparisonInput,
  type VariantWindowSummary,
} from '../../lambdas/core/serving/shadow';
import type { Interval } from '../../lambdas/core/statistics/stats';

// Reference intervals computed from their definitions with scipy: test/fixtures/serving/generate.py.
interface Fixture {
  input: {
    production: Omit<VariantWindowSummary, 'latencyMs'>;
    shadow: Omit<VariantWindowSummary, 'latencyMs'>;
    agreement: { agreements: number; compared: number };
  };
  production5xx: Interval;
  shadow5xx: Interval;
  difference5xx: Interval;
  difference4xx: Interval;
  agreement: Interval;
}
const fixture = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'serving', 'shadow.json'), 'utf8'),
) as Fixture;

const input: ShadowComparisonInput = {
  production: { ...fixture.input.production, latencyMs: { p50: 80, p95: 142, p99: 210 } },
  shadow: { ...fixture.input.shadow, latencyMs: { p50: 85, p95: 175, p99: 260 } },
  agreement: fixture.input.agreement,
};

function expectInterval(actual: Interval | null, expected: Interval): void {
  expect(actual).not.toBeNull();
  for (const key of ['estimate', 'lower', 'upper'] as const) {
    expect(actual![key]).toBeCloseTo(expected[key], 12);
  }
}

function variant(invocations: number, errors5xx = 0, errors4xx = 0): VariantWindowSummary {
  return { invocations, errors5xx, errors4xx, latencyMs: { p50: 50, p95: 100, p99: 150 } };
}

describe('compareShadow on a full window', () => {
  const report = compareShadow(input);

  test('error rates, their difference and agreement match the reference intervals', () => {
    expectInterval(report.production.serverErrorRate, fixture.production5xx);
    expectInterval(report.shadow.serverErrorRate, fixture.shadow5xx);
    expectInterval(report.serverErrorRateDifference, fixture.difference5xx);
    expectInterval(report.clientErrorRateDifference, fixture.difference4xx);
    expectInterval(report.agreement.rate, fixture.agreement);
  });

  test('latency deltas are shadow minus production, in ms and percent', () => {
    expect(report.latency?.p95).toEqual({
      productionMs: 142,
      shadowMs: 175,
      deltaMs: 33,
      deltaPct: (33 / 142) * 100,
    });
  });

  test('findings read as plain language and are all advisory', () => {
    expect(report.findings).toEqual([
      {
        advisory: true,
        topic: 'traffic',
        text: "shadow served 4,150 invocations, 98.8% of production's 4,200",
      },
      {
        advisory: true,
        topic: 'errors',
        text:
          'shadow 5xx error rate 0.46% [0.29, 0.71] vs production 0.10% [0.04, 0.24]; ' +
          'difference +0.36 points [+0.14, +0.63]',
      },
      {
        advisory: true,
        topic: 'errors',
        text:
          'shadow 4xx error rate 0.48% [0.31, 0.74] vs production 0.50% [0.33, 0.76]; ' +
          'difference -0.02 points [-0.33, +0.30]',
      },
      { advisory: true, topic: 'latency', text: 'shadow p50 latency +6.3% (80 → 85 ms)' },
      { advisory: true, topic: 'latency', text: 'shadow p95 latency +23% (142 → 175 ms)' },
      { advisory: true, topic: 'latency', text: 'shadow p99 latency +24% (210 → 260 ms)' },
      { advisory: true, topic: 'agreement', text: 'agreement 91.2% [90.3, 92.0] on 4,120 compared requests' },
      {
        advisory: true,
        topic: 'pairing',
        text: 'unpaired: no data capture was given: nothing was compared request by request',
      },
    ]);
    expect(report.insufficientData).toEqual([]);
  });

  test('the report is advisory and carries no verdict', () => {
    expect(report.advisory).toBe(true);
    expect(JSON.stringify(report)).not.toMatch(/"(verdict|passed|blocking)"/);
  });

  test('a faster shadow shows a minus sign, a small change one decimal, no change ±0%', () => {
    const faster = compareShadow({
      ...input,
      shadow: { ...input.shadow, latencyMs: { p50: 76.4, p95: 142.04, p99: 150 } },
    });
    expect(faster.findings.filter((f) => f.topic === 'latency').map((f) => f.text)).toEqual([
      'shadow p50 latency −4.5% (80 → 76 ms)',
      'shadow p95 latency ±0% (142 → 142 ms)',
      'shadow p99 latency −29% (210 → 150 ms)',
    ]);
  });

  test('a production latency of 0 gives a delta in ms and a null percentage', () => {
    const report0 = compareShadow({
      ...input,
      production: { ...input.production, latencyMs: { p50: 0, p95: 0, p99: 0 } },
      shadow: { ...input.shadow, latencyMs: { p50: 5, p95: 5, p99: 5 } },
    });
    expect(report0.latency?.p50).toEqual({ productionMs: 0, shadowMs: 5, deltaMs: 5, deltaPct: null });
    expect(report0.findings).toContainEqual({
      advisory: true,
      topic: 'latency',
      text: 'shadow p50 latency +5.0 ms (0.0 → 5.0 ms)',
    });
  });
});

describe('compareShadow with too little data', () => {
  test('a shadow variant that got no traffic yields nulls and notes, not NaN', () => {
    const report = compareShadow({
      production: variant(4200, 3, 10),
      shadow: { invocations: 0, errors5xx: 0, errors4xx: 0, latencyMs: null },
      agreement: { agreements: 0, compared: 0 },
    });
    expect(report.shadow.serverErrorRate).toBeNull();
    expect(report.shadow.clientErrorRate).toBeNull();
    expect(report.serverErrorRateDifference).toBeNull();
    expect(report.latency).toBeNull();
    expect(report.agreement).toEqual({ agreements: 0, compared: 0, rate: null });
    expect(report.insufficientData).toEqual([
      'shadow served 0 invocations in the window, fewer than 100: its error rates cannot be computed; check ' +
        'the shadow sampling percentage and that the window had traffic',
      'no latency datapoints for shadow: latency cannot be compared',
      'only 0 requests compared for prediction agreement, fewer than 100: agreement cannot be computed; check ' +
        'that data capture records both variants',
    ]);
    expect(report.findings).toEqual([
      { advisory: true, topic: 'traffic', text: "shadow served 0 invocations, 0.0% of production's 4,200" },
      {
        advisory: true,
        topic: 'pairing',
        text: 'unpaired: no data capture was given: nothing was compared request by request',
      },
    ]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  test('below minSamples the numbers are kept but flagged; the threshold is a parameter', () => {
    const small = {
      production: variant(40, 1),
      shadow: variant(1),
      agreement: { agreements: 1, compared: 1 },
    };
    expect(compareShadow(small).insufficientData).toEqual([
      'production served 40 invocations in the window, fewer than 100: its error rates are too uncertain to ' +
        'compare; lengthen serving.shadow.windowMinutes',
      'shadow served 1 invocation in the window, fewer than 100: its error rates are too uncertain to compare; ' +
        'check the shadow sampling percentage and that the window had traffic',
      'only 1 request compared for prediction agreement, fewer than 100: the agreement rate is too uncertain to ' +
        'read; check that data capture records both variants',
    ]);
    expect(compareShadow(small).serverErrorRateDifference).not.toBeNull();
    expect(compareShadow(small, { minSamples: 1 }).insufficientData).toEqual([]);
    expect(DEFAULT_MIN_SHADOW_SAMPLES).toBe(100);
  });

  test('error counts above the invocations are capped with a note', () => {
    const report = compareShadow({
      production: variant(1000, 2),
      shadow: variant(120, 130),
      agreement: { agreements: 100, compared: 110 },
    });
    expect(report.shadow.serverErrorRate).toEqual({ estimate: 1, lower: expect.any(Number), upper: 1 });
    expect(report.insufficientData).toEqual([
      'shadow reported 130 5xx errors for 120 invocations (CloudWatch sums over misaligned periods can ' +
        'disagree); the error rate counts at most one error per invocation',
    ]);
  });

  test('a higher confidence level widens every interval', () => {
    const at95 = compareShadow(input);
    const at99 = compareShadow(input, { confidence: 0.99 });
    expect(at99.confidence).toBe(0.99);
    expect(at99.agreement.rate!.lower).toBeLessThan(at95.agreement.rate!.lower);
    expect(at99.serverErrorRateDifference!.upper).toBeGreaterThan(at95.serverErrorRateDifference!.upper);
  });
});

describe('compareShadow rejects input no caller should produce', () => {
  test.each<[string, ShadowComparisonInput, Parameters<typeof compareShadow>[1], string]>([
    [
      'negative invocations',
      { ...input, production: { ...input.production, invocations: -1 } },
      {},
      'compareShadow: production.invocations must be a whole number >= 0, got -1',
    ],
    [
      'fractional errors',
      { ...input, shadow: { ...input.shadow, errors5xx: 1.5 } },
      {},
      'compareShadow: shadow.errors5xx must be a whole number >= 0, got 1.5',
    ],
    [
      'agreements above compared',
      { ...input, agreement: { agreements: 11, compared: 10 } },
      {},
      'compareShadow: agreement.agreements (11) cannot exceed agreement.compared (10); count an agreement ' +
        'only for a request both variants answered',
    ],
    [
      'NaN latency',
      { ...input, shadow: { ...input.shadow, latencyMs: { p50: 1, p95: Number.NaN, p99: 3 } } },
      {},
      'compareShadow: shadow.latencyMs.p95 must be a finite number of milliseconds >= 0, got NaN; pass ' +
        'latencyMs: null when CloudWatch has no datapoints',
    ],
    [
      'zero minSamples',
      input,
      { minSamples: 0 },
      'compareShadow: minSamples must be a whole number >= 1, got 0',
    ],
    [
      'confidence as a percentage',
      input,
      { confidence: 95 },
      'compareShadow: confidence must be strictly between 0 and 1 (e.g. 0.95), got 95',
    ],
  ])('%s', (_label, bad, options, message) => {
    expect(() => compareShadow(bad, options)).toThrow(new RangeError(message));
  });
});

describe('compareShadow properties', () => {
  const count = fc.oneof(fc.nat(20), fc.nat(), fc.constant(0));
  const latency = fc.oneof(
    fc.constant(null),
    fc.record({
      p50: fc.double({ min: 0, max: 1e6, noNaN: true }),
      p95: fc.double({ min: 0, max: 1e6, noNaN: true }),
      p99: fc.double({ min: 0, max: 1e6, noNaN: true }),
    }),
  );
  const summary = fc.record({ invocations: count, errors5xx: count, errors4xx: count, latencyMs: latency });
  const agreement = fc
    .tuple(count, count)
    .map(([a, b]) => ({ agreements: Math.min(a, b), compared: Math.max(a, b) }));

  test('for any counts the report is strict JSON, advisory, with rates in [0, 1]', () => {
    fc.assert(
      fc.property(summary, summary, agreement, (production, shadow, agreementCounts) => {
        const report = compareShadow({ production, shadow, agreement: agreementCounts });
        const text = JSON.stringify(report);
        expect(text).not.toMatch(/NaN|Infinity/);
        expect(JSON.parse(text)).toEqual(report);
        expect(report.advisory).toBe(true);
        expect(report.findings.every((f) => f.advisory === true)).toBe(true);
        for (const rate of [
          report.production.serverErrorRate,
          report.shadow.clientErrorRate,
          report.agreement.rate,
        ]) {
          if (rate === null) continue;
          expect(rate.lower).toBeGreaterThanOrEqual(0);
          expect(rate.upper).toBeLessThanOrEqual(1);
          expect(rate.lower).toBeLessThanOrEqual(rate.estimate);
          expect(rate.estimate).toBeLessThanOrEqual(rate.upper);
        }
      }),
    );
  });
});
