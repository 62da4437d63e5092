import fc from 'fast-check';
import type { PricingTable } from '../../lambdas/core/contracts/records';
import {
  HOURS_PER_MONTH,
  UnknownPriceError,
  compareCost,
  estimateCost,
  formatMoney,
  servingDeployment,
  type SageMakerServing,
  type TokenServing,
} from '../../lambdas/core/monitoring/cost';

const pricing: PricingTable = {
  asOf: '2026-11-01',
  currency: 'USD',
  sagemakerInstances: { 'ml.g5.xlarge': 1.408, 'ml.g5.2xlarge': 1.515, 'ml.m5.large': 0.115 },
  tokenModels: { 'claude-haiku': { inputPer1k: 0.0008, outputPer1k: 0.004 } },
};

const sagemaker: SageMakerServing = {
  kind: 'sagemaker',
  instanceType: 'ml.g5.xlarge',
  instanceCount: 2,
  standby: { instanceType: 'ml.m5.large', instanceCount: 1 },
};

const tokens: TokenServing = {
  kind: 'token',
  model: 'claude-haiku',
  avgInputTokens: 1200,
  avgOutputTokens: 300,
};

describe('estimateCost', () => {
  test('a month is 730 hours, as in the AWS Pricing Calculator', () => {
    expect(HOURS_PER_MONTH).toBe(730);
  });

  test('token-priced: 1.2k in × $0.0008 + 0.3k out × $0.004 = $0.00216 per request', () => {
    const estimate = estimateCost(tokens, pricing, 2_000_000);
    expect(estimate.currency).toBe('USD');
    expect(estimate.pricingAsOf).toBe('2026-11-01');
    expect(estimate.monthlyRequests).toBe(2_000_000);
    expect(estimate.perRequest).toBeCloseTo(0.00216, 15);
    expect(estimate.per1kRequests).toBeCloseTo(2.16, 12);
    expect(estimate.monthly).toBeCloseTo(4320, 9);
    expect(estimate.breakdown.map((l) => [l.component, l.monthly])).toEqual([
      ['input-tokens', expect.closeTo(1920, 9)],
      ['output-tokens', expect.closeTo(2400, 9)],
    ]);
    expect(estimate.breakdown[0].item).toBe('input tokens (claude-haiku): 1200 per request');
  });

  test('SageMaker: live 2 × $1.408 × 730 h + standby $0.115 × 730 h + shadow 72 h of $1.515', () => {
    const estimate = estimateCost(
      { ...sagemaker, shadow: { instanceType: 'ml.g5.2xlarge', instanceCount: 1, hoursPerMonth: 72 } },
      pricing,
      5_000_000,
    );
    expect(estimate.breakdown).toEqual([
      {
        component: 'live-endpoint',
        item: 'live endpoint: 2 × ml.g5.xlarge × 730 h',
        monthly: expect.closeTo(2055.68, 9),
      },
      {
        component: 'standby-endpoint',
        item: 'standby endpoint (N-1): 1 × ml.m5.large × 730 h',
        monthly: expect.closeTo(83.95, 9),
      },
      {
        component: 'shadow-variant',
        item: 'shadow variant: 1 × ml.g5.2xlarge × 72 h',
        monthly: expect.closeTo(109.08, 9),
      },
    ]);
    expect(estimate.monthly).toBeCloseTo(2248.71, 9);
    expect(estimate.perRequest).toBeCloseTo(0.000449742, 15);
    expect(estimate.per1kRequests).toBeCloseTo(0.449742, 12);
  });

  test('no rounding happens in the numbers', () => {
    const estimate = estimateCost(sagemaker, pricing, 3);
    expect(estimate.perRequest).toBe(estimate.monthly / 3);
    expect(Number.isInteger(estimate.perRequest * 100)).toBe(false);
  });

  test('a standby of 0 instances and a shadow of 0 hours add no line', () => {
    const estimate = estimateCost(
      {
        ...sagemaker,
        standby: { instanceType: 'ml.m5.large', instanceCount: 0 },
        shadow: { instanceType: 'ml.g5.xlarge', instanceCount: 1, hoursPerMonth: 0 },
      },
      pricing,
      1000,
    );
    expect(estimate.breakdown.map((l) => l.component)).toEqual(['live-endpoint']);
  });

  test.each([
    ['live endpoint', { ...sagemaker, instanceType: 'ml.p4d.24xlarge' }],
    ['standby endpoint', { ...sagemaker, standby: { instanceType: 'ml.t2.medium', instanceCount: 1 } }],
    [
      'shadow variant',
      { ...sagemaker, shadow: { instanceType: 'ml.inf2.xlarge', instanceCount: 1, hoursPerMonth: 5 } },
    ],
  ])('an unpriced instance type for the %s names it and lists the known ones', (usedFor, deployment) => {
    expect(() => estimateCost(deployment, pricing, 1000)).toThrow(UnknownPriceError);
    expect(() => estimateCost(deployment, pricing, 1000)).toThrow(
      new RegExp(
        `No price for SageMaker instance type "[^"]+" \\(${usedFor}\\) in the pricing table; ` +
          'known: ml.g5.2xlarge, ml.g5.xlarge, ml.m5.large\\. Fix the name, or add its price under pricing sagemakerInstances\\.',
      ),
    );
  });

  test('an unpriced token model names it, and inherited object keys do not count as prices', () => {
    expect(() => estimateCost({ ...tokens, model: 'gpt-x' }, pricing, 10)).toThrow(
      'No price for token-priced model "gpt-x" (token-priced model) in the pricing table; known: claude-haiku. ' +
        'Fix the name, or add its price under pricing tokenModels.',
    );
    expect(() => estimateCost({ ...tokens, model: 'constructor' }, pricing, 10)).toThrow(UnknownPriceError);
    expect(() => estimateCost({ ...sagemaker, instanceType: 'toString' }, pricing, 10)).toThrow(
      UnknownPriceError,
    );
  });

  test.each([0, -5, 1.5, NaN, Infinity])(
    'monthlyRequests = %p is refused (no division by zero)',
    (requests) => {
      expect(() => estimateCost(sagemaker, pricing, requests)).toThrow(
        `monthlyRequests must be a whole number >= 1 (the cost per request divides by it), got ${String(requests)}`,
      );
    },
  );

  test.each([
    [{ ...sagemaker, instanceCount: 0 }, /instanceCount must be a whole number >= 1, got 0/],
    [
      { ...sagemaker, standby: { instanceType: 'ml.m5.large', instanceCount: -1 } },
      /standby.instanceCount .* got -1/,
    ],
    [
      { ...sagemaker, shadow: { instanceType: 'ml.g5.xlarge', instanceCount: 1, hoursPerMonth: 800 } },
      /shadow.hoursPerMonth must be between 0 and 744 \(a 31-day month\), got 800/,
    ],
    [{ ...tokens, avgOutputTokens: -1 }, /avgOutputTokens must be a number >= 0, got -1/],
    [{ kind: 'lambda' } as never, /deployment kind must be "token" or "sagemaker", got "lambda"/],
  ])('invalid deployment %#: the message names the field and the value', (deployment, message) => {
    expect(() => estimateCost(deployment, pricing, 100)).toThrow(message);
  });

  test('a negative price in the table is refused, naming the key', () => {
    const broken = { ...pricing, sagemakerInstances: { ...pricing.sagemakerInstances, 'ml.m5.large': -1 } };
    expect(() => estimateCost(sagemaker, broken, 100)).toThrow(/pricing sagemakerInstances\["ml.m5.large"\]/);
  });

  test('property: the breakdown adds up to monthly, and per-request cost times requests gives it back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 744 }),
        fc.integer({ min: 1, max: 1e9 }),
        (live, standby, shadowHours, requests) => {
          const estimate = estimateCost(
            {
              ...sagemaker,
              instanceCount: live,
              standby: { instanceType: 'ml.m5.large', instanceCount: standby },
              shadow: { instanceType: 'ml.g5.2xlarge', instanceCount: 1, hoursPerMonth: shadowHours },
            },
            pricing,
            requests,
          );
          const sum = estimate.breakdown.reduce((s, l) => s + l.monthly, 0);
          expect(sum).toBeCloseTo(estimate.monthly, 9);
          expect(estimate.perRequest * requests).toBeCloseTo(estimate.monthly, 6);
        },
      ),
    );
  });

  test('property: for a fixed fleet, more traffic means a lower cost per request', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e8 }), fc.integer({ min: 2, max: 100 }), (requests, factor) => {
        const low = estimateCost(sagemaker, pricing, requests);
        const high = estimateCost(sagemaker, pricing, requests * factor);
        expect(high.monthly).toBe(low.monthly);
        expect(high.perRequest).toBeLessThan(low.perRequest);
      }),
    );
  });
});

describe('compareCost', () => {
  const baseline = estimateCost(sagemaker, pricing, 1_000_000);
  const candidate = estimateCost({ ...sagemaker, instanceType: 'ml.g5.2xlarge' }, pricing, 1_000_000);

  test('moving the live endpoint from g5.xlarge to g5.2xlarge costs $156.22 a month more (+7.30 %)', () => {
    const comparison = compareCost(baseline, candidate);
    expect(comparison.currency).toBe('USD');
    expect(comparison.deltaMonthly).toBeCloseTo(156.22, 9);
    expect(comparison.deltaPct).toBeCloseTo(7.301262367792555, 9);
    expect(comparison.deltaPerRequest).toBeCloseTo(0.00015622, 15);
    expect(comparison.deltaPer1kRequests).toBeCloseTo(0.15622, 12);
    expect(comparison.deltaPer1kPct).toBeCloseTo(7.301262367792555, 9);
    expect(comparison.baseline).toBe(baseline);
    expect(comparison.candidate).toBe(candidate);
  });

  test('a cheaper candidate gives a negative delta', () => {
    const comparison = compareCost(candidate, baseline);
    expect(comparison.deltaMonthly).toBeCloseTo(-156.22, 9);
    expect(comparison.deltaPct).toBeLessThan(0);
  });

  test('a free baseline gives null percentages, never Infinity or NaN, and survives JSON', () => {
    const free: PricingTable = { ...pricing, tokenModels: { local: { inputPer1k: 0, outputPer1k: 0 } } };
    const zero = estimateCost({ ...tokens, model: 'local' }, free, 100);
    const comparison = compareCost(zero, estimateCost(tokens, pricing, 100));
    expect(comparison.deltaPct).toBeNull();
    expect(comparison.deltaPer1kPct).toBeNull();
    expect(comparison.deltaMonthly).toBeCloseTo(0.216, 12);
    expect(JSON.parse(JSON.stringify(comparison))).toEqual(comparison);
  });

  test('estimates in different currencies are not compared', () => {
    const euros = estimateCost(sagemaker, { ...pricing, currency: 'EUR' }, 1_000_000);
    expect(() => compareCost(baseline, euros)).toThrow(
      'cannot compare a baseline in USD with a candidate in EUR; price both from the same pricing table',
    );
  });
});

describe('formatMoney', () => {
  test.each([
    [2248.71, 'USD', '$2,248.71'],
    [1234.5, 'USD', '$1,234.50'],
    [0, 'USD', '$0.00'],
    [0.5, 'USD', '$0.50'],
    [0.449742, 'USD', '$0.45'], // trailing zeros are dropped down to the usual 2 decimals
    [0.00216, 'USD', '$0.00216'],
    [0.000449742, 'USD', '$0.00045'],
    [0.001, 'USD', '$0.001'],
    [-156.2199999999998, 'USD', '-$156.22'],
    [12.5, 'eur', '€12.50'],
    [1234, 'JPY', '¥1,234'],
  ])('formatMoney(%p, %p) = %p', (amount, currency, expected) => {
    expect(formatMoney(amount, currency)).toBe(expected);
  });

  test('signed amounts for deltas', () => {
    expect(formatMoney(156.22, 'USD', { signed: true })).toBe('+$156.22');
    expect(formatMoney(-0.00015622, 'USD', { signed: true })).toBe('-$0.000156');
    expect(formatMoney(0, 'USD', { signed: true })).toBe('$0.00');
  });

  test('bad amounts and currency codes are refused', () => {
    expect(() => formatMoney(NaN, 'USD')).toThrow('formatMoney: amount must be a finite number, got NaN');
    expect(() => formatMoney(1, 'US$')).toThrow(/3-letter ISO-4217 code such as USD, got "US\$"/);
  });

  test('property: amounts below one cent never display as $0.00', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-9, max: 0.01, noNaN: true }), (amount) => {
        expect(formatMoney(amount, 'USD')).not.toBe('$0.00');
      }),
    );
  });
});

describe('servingDeployment (what a model config costs to serve)', () => {
  const serving = {
    instanceType: 'ml.g5.xlarge',
    initialInstanceCount: 2,
    standby: { instanceCount: 1 },
    shadow: { windowMinutes: 90, instanceCount: 1 },
  };

  test('the live fleet at its initial size, a standby of the live type, a shadow for its window at each release', () => {
    expect(
      servingDeployment({ cost: { pricing: { kind: 'sagemaker' }, releasesPerMonth: 4 }, serving }),
    ).toEqual({
      kind: 'sagemaker',
      instanceType: 'ml.g5.xlarge',
      instanceCount: 2,
      standby: { instanceType: 'ml.g5.xlarge', instanceCount: 1 },
      shadow: { instanceType: 'ml.g5.xlarge', instanceCount: 1, hoursPerMonth: 6 },
    });
  });

  test('shadow hours stop at a 31-day month, so the estimate stays valid for many releases', () => {
    const many = servingDeployment({
      cost: { pricing: { kind: 'sagemaker' }, releasesPerMonth: 100 },
      serving: { ...serving, shadow: { windowMinutes: 1200, instanceCount: 1 } },
    });
    expect(many.kind === 'sagemaker' && many.shadow?.hoursPerMonth).toBe(744);
    expect(() => estimateCost(many, pricing, 1_000_000)).not.toThrow();
  });

  test('token pricing ignores the serving fleet', () => {
    expect(
      servingDeployment({
        cost: {
          pricing: { kind: 'token', model: 'claude-haiku', avgInputTokens: 1200, avgOutputTokens: 300 },
          releasesPerMonth: 4,
        },
        serving,
      }),
    ).toEqual(tokens);
  });
});
