import { runCli } from '../helpers/cli';
import { ConfigFixture, EXAMPLE_MODEL, SHIPPED_CONFIG } from '../helpers/config-fixture';

describe('mlops estimate-cost', () => {
  test('SageMaker model: live + warm standby + shadow, with the pricing date', async () => {
    const r = await runCli('estimate-cost', '--model', 'document-classifier', '-c', SHIPPED_CONFIG);
    expect(r.code).toBe(0);
    // 2 live + 1 standby ml.g5.xlarge at $1.57/h for 730 h, plus 1 shadow instance 4 × 60 min a month.
    const live = 2 * 1.57 * 730;
    const standby = 1 * 1.57 * 730;
    const shadow = 1.57 * 4;
    expect(r.stdout).toContain('(prices as of 2026-11-01)');
    expect(r.stdout).toContain('live endpoint: 2 × ml.g5.xlarge × 730 h');
    expect(r.stdout).toContain('standby endpoint (N-1): 1 × ml.g5.xlarge × 730 h');
    expect(r.stdout).toContain('shadow variant: 1 × ml.g5.xlarge × 4 h');
    const json = JSON.parse(
      (await runCli('estimate-cost', '-m', 'document-classifier', '-c', SHIPPED_CONFIG, '--json')).stdout,
    );
    expect(json.monthly).toBeCloseTo(live + standby + shadow, 6);
    expect(json.per1kRequests).toBeCloseTo(((live + standby + shadow) / 2_500_000) * 1000, 9);
    expect(json.pricingAsOf).toBe('2026-11-01');
    expect(json.comparison).toBeNull();
  });

  test('--monthly-requests changes cost per request, not the monthly total', async () => {
    const a = JSON.parse(
      (await runCli('estimate-cost', '-m', 'document-classifier', '-c', SHIPPED_CONFIG, '--json')).stdout,
    );
    const b = JSON.parse(
      (
        await runCli(
          'estimate-cost',
          '-m',
          'document-classifier',
          '-c',
          SHIPPED_CONFIG,
          '-n',
          '5000000',
          '--json',
        )
      ).stdout,
    );
    expect(b.monthly).toBeCloseTo(a.monthly, 9);
    expect(b.perRequest).toBeCloseTo(a.perRequest / 2, 12);
  });

  test('token-priced model: tokens per request × price per 1k tokens', async () => {
    const fixture = new ConfigFixture().edit(
      EXAMPLE_MODEL,
      '    kind: sagemaker\n',
      '    kind: token\n    model: hosted-llm-small\n    avgInputTokens: 800\n    avgOutputTokens: 40\n',
    );
    try {
      const r = await runCli('estimate-cost', '-m', 'document-classifier', '-c', fixture.dir, '--json');
      expect(r.code).toBe(0);
      const perRequest = (800 / 1000) * 0.00025 + (40 / 1000) * 0.00125;
      expect(JSON.parse(r.stdout).monthly).toBeCloseTo(perRequest * 2_500_000, 9);
    } finally {
      fixture.dispose();
    }
  });

  test('--baseline-config gives the delta in money and percent', async () => {
    const fixture = new ConfigFixture().edit(
      EXAMPLE_MODEL,
      '  initialInstanceCount: 2',
      '  initialInstanceCount: 3',
    );
    try {
      const r = await runCli(
        'estimate-cost',
        '-m',
        'document-classifier',
        '-c',
        fixture.dir,
        '--baseline-config',
        SHIPPED_CONFIG,
      );
      expect(r.code).toBe(0);
      // One more ml.g5.xlarge: +$1,146.10 on $3,444.58.
      expect(r.stdout).toContain('vs baseline config $3,444.58: +$1,146.10 per month (+33.3%)');
    } finally {
      fixture.dispose();
    }
  });

  test.each([
    [
      ['estimate-cost', '-m', 'nope', '-c', SHIPPED_CONFIG],
      /unknown model "nope" \(models in .*: document-classifier\)/,
    ],
    [
      ['estimate-cost', '-m', 'document-classifier', '-c', SHIPPED_CONFIG, '-n', '0'],
      /--monthly-requests must be a whole number of at least 1 \(got "0"\)/,
    ],
    [
      ['estimate-cost', '-m', 'document-classifier', '-c', SHIPPED_CONFIG, '-n', 'many'],
      /--monthly-requests must be a whole number/,
    ],
    [['estimate-cost'], /required option '-m, --model <name>' not specified/],
  ])('bad usage %j exits 2', async (argv, message) => {
    const r = await runCli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
