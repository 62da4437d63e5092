import fc from 'fast-check';
import type { PricingTable } from '../../lambdas/core/contracts/records';
import { UnknownPriceError, type TokenServing } from '../../lambdas/core/monitoring/cost';
import {
  HOURS_PER_DAY,
  estimateServingCostRate,
  type EndpointUsage,
} from '../../lambdas/core/monitoring/cost-monitor';

// Prices that are exact in binary, so every figure below is exact too.
const table: PricingTable = {
  asOf: '2026-11-01',
  currency: 'USD',
  sagemakerInstances: { 'ml.g4dn.xlarge': 0.75, 'ml.m5.large': 0.125 },
  tokenModels: { 'claude-haiku': { inputPer1k: 0.25, outputPer1k: 1 } },
};

const live: EndpointUsage = {
  role: 'live',
  endpointName: 'mlops-document-classifier-live',
  instanceType: 'ml.g4dn.xlarge',
  instanceCount: 2,
  invocations: 750,
};
const standby: EndpointUsage = {
  role: 'standby',
  endpointName: 'mlops-document-classifier-standby',
  instanceType: 'ml.m5.large',
  instanceCount: 1,
  invocations: 250,
};
const tokens: TokenServing = {
  kind: 'token',
  model: 'claude-haiku',
  avgInputTokens: 512,
  avgOutputTokens: 256,
};

describe('estimateServingCostRate', () => {
  test('SageMaker-priced: instance-hours of both endpoints; a day is 24 h, a month 730 h', () => {
    expect(estimateServingCostRate([live, standby], { kind: 'sagemaker' }, table)).toEqual({
      currency: 'USD',
      pricingAsOf: '2026-11-01',
      invocations: 1000,
      // 2 × 0.75 + 1 × 0.125
      hourly: 1.625,
      daily: 39,
      monthly: 1186.25,
      lines: [
        { component: 'live-endpoint', item: 'live endpoint: 2 × ml.g4dn.xlarge', hourly: 1.5 },
        { component: 'standby-endpoint', item: 'standby endpoint: 1 × ml.m5.large', hourly: 0.125 },
      ],
    });
  });

  test('a missing standby costs nothing and needs no price', () => {
    const missing = { ...standby, instanceType: 'ml.unpriced.large', instanceCount: 0, invocations: 0 };
    expect(estimateServingCostRate([live, missing], { kind: 'sagemaker' }, table)).toEqual({
      currency: 'USD',
      pricingAsOf: '2026-11-01',
      invocations: 750,
      hourly: 1.5,
      daily: 36,
      monthly: 1095,
      lines: [{ component: 'live-endpoint', item: 'live endpoint: 2 × ml.g4dn.xlarge', hourly: 1.5 }],
    });
  });

  test('no endpoint at all (never released): zero', () => {
    const none = [live, standby].map((e) => ({ ...e, instanceCount: 0, invocations: 0 }));
    expect(estimateServingCostRate(none, { kind: 'sagemaker' }, table)).toMatchObject({
      hourly: 0,
      daily: 0,
      monthly: 0,
      lines: [],
    });
  });

  test('token-priced: invocations × (in × inputPer1k + out × outputPer1k) / 1000; instances are not priced', () => {
    // Instance types without a price: a token-priced model is billed per token only.
    const unpriced = [live, standby].map((e) => ({ ...e, instanceType: 'ml.unpriced.large' }));
    expect(estimateServingCostRate(unpriced, tokens, table)).toEqual({
      currency: 'USD',
      pricingAsOf: '2026-11-01',
      invocations: 1000,
      // 1000 × 512 × 0.25 / 1000 + 1000 × 256 × 1 / 1000
      hourly: 384,
      daily: 9216,
      monthly: 280_320,
      lines: [
        { component: 'input-tokens', item: 'input tokens (claude-haiku): 1000 × 512', hourly: 128 },
        { component: 'output-tokens', item: 'output tokens (claude-haiku): 1000 × 256', hourly: 256 },
      ],
    });
  });

  test('token-priced with a missing standby: only the live invocations', () => {
    const missing = { ...standby, instanceCount: 0, invocations: 0 };
    expect(estimateServingCostRate([live, missing], tokens, table)).toMatchObject({
      invocations: 750,
      hourly: 288, // 750 × (512 × 0.25 + 256 × 1) / 1000
      daily: 6912,
      monthly: 210_240,
    });
  });

  test('an instance type in service without a price names it, the endpoint and the known types', () => {
    const unpriced = { ...live, instanceType: 'ml.g5.xlarge' };
    expect(() => estimateServingCostRate([unpriced, standby], { kind: 'sagemaker' }, table)).toThrow(
      UnknownPriceError,
    );
    expect(() => estimateServingCostRate([unpriced, standby], { kind: 'sagemaker' }, table)).toThrow(
      'No price for SageMaker instance type "ml.g5.xlarge" (live endpoint mlops-document-classifier-live) in the ' +
        'pricing table; known: ml.g4dn.xlarge, ml.m5.large. Fix the name, or add its price under pricing ' +
        'sagemakerInstances.',
    );
  });

  test('a token model without a price', () => {
    expect(() => estimateServingCostRate([live], { ...tokens, model: 'claude-opus' }, table)).toThrow(
      'No price for token-priced model "claude-opus" (token-priced model) in the pricing table; known: ' +
        'claude-haiku. Fix the name, or add its price under pricing tokenModels.',
    );
  });

  test.each([
    [
      { instanceCount: -1 },
      'live endpoint mlops-document-classifier-live: instance count must be a whole number >= 0, got -1',
    ],
    [
      { instanceCount: 1.5 },
      'live endpoint mlops-document-classifier-live: instance count must be a whole number >= 0, got 1.5',
    ],
    [
      { invocations: Number.NaN },
      'live endpoint mlops-document-classifier-live: invocations must be a number >= 0, got NaN',
    ],
    [
      { invocations: -3 },
      'live endpoint mlops-document-classifier-live: invocations must be a number >= 0, got -3',
    ],
  ])('refuses %p', (change, message) => {
    expect(() => estimateServingCostRate([{ ...live, ...change }], { kind: 'sagemaker' }, table)).toThrow(
      new RangeError(message),
    );
  });

  const usage = (role: 'live' | 'standby') =>
    fc.record({
      role: fc.constant(role),
      endpointName: fc.constant(`ep-${role}`),
      instanceType: fc.constantFrom('ml.g4dn.xlarge', 'ml.m5.large'),
      instanceCount: fc.integer({ min: 0, max: 100 }),
      invocations: fc.integer({ min: 0, max: 10_000_000 }),
    });
  const pricing = fc.oneof(fc.constant({ kind: 'sagemaker' as const }), fc.constant(tokens));

  test('property: the lines add up to the hour, and the day and month are the hour × 24 and × 730', () => {
    fc.assert(
      fc.property(usage('live'), usage('standby'), pricing, (l, s, p) => {
        const rate = estimateServingCostRate([l, s], p, table);
        expect(rate.hourly).toBe(rate.lines.reduce((sum, line) => sum + line.hourly, 0));
        expect(rate.daily).toBe(rate.hourly * HOURS_PER_DAY);
        expect(rate.monthly).toBe(rate.hourly * 730);
        expect(rate.hourly).toBeGreaterThanOrEqual(0);
        expect(rate.invocations).toBe(l.invocations + s.invocations);
      }),
    );
  });

  test('property: one more instance in service costs its hourly price more', () => {
    fc.assert(
      fc.property(usage('live'), usage('standby'), (l, s) => {
        const before = estimateServingCostRate([l, s], { kind: 'sagemaker' }, table);
        const after = estimateServingCostRate(
          [{ ...l, instanceCount: l.instanceCount + 1 }, s],
          { kind: 'sagemaker' },
          table,
        );
        expect(after.hourly - before.hourly).toBeCloseTo(table.sagemakerInstances[l.instanceType], 12);
      }),
    );
  });

  test('property: token cost grows linearly with invocations and ignores instances', () => {
    fc.assert(
      fc.property(usage('live'), fc.integer({ min: 1, max: 1000 }), (l, k) => {
        const one = estimateServingCostRate([{ ...l, invocations: 1 }], tokens, table).hourly;
        const many = estimateServingCostRate(
          [{ ...l, invocations: k, instanceCount: 0 }],
          tokens,
          table,
        ).hourly;
        expect(many).toBeCloseTo(one * k, 9);
      }),
    );
  });
});
