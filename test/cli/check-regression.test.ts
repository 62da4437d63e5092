import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { ConfigFixture, EXAMPLE_MODEL, SHIPPED_CONFIG } from '../helpers/config-fixture';

const EXAMPLES = path.resolve(__dirname, '../../examples/document-classifier');
const BASELINE = path.join(EXAMPLES, 'baseline_metrics.json');
const GOOD = path.join(EXAMPLES, 'eval_report.json');
const REGRESSED = path.join(EXAMPLES, 'eval_report_regressed.json');

describe('mlops check-regression', () => {
  test('no regression: exit 0 and a verdict per metric and eval set', async () => {
    const r = await runCli('check-regression', '--report', GOOD, '--baseline', BASELINE);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^PASS/);
    for (const set of ['golden_set', 'production_sample']) {
      for (const metric of ['accuracy', 'p95LatencyMs', 'costPer1kRequests', 'biasGap']) {
        expect(r.stdout).toMatch(new RegExp(`pass {2}${set} ${metric}`));
      }
    }
  });

  test('a regression: exit 1, and each failing metric says why with the numbers', async () => {
    const r = await runCli('check-regression', '-r', REGRESSED, '-b', BASELINE);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL  golden_set accuracy');
    expect(r.stdout).toContain('golden_set accuracy 0.940 → 0.910 (−0.030) exceeds the allowed drop 0.020');
    expect(r.stdout).toMatch(/FAIL {2}golden_set p95LatencyMs .*\+16\.7%/);
  });

  test("--model applies that model's thresholds", async () => {
    const fixture = new ConfigFixture()
      .edit(EXAMPLE_MODEL, '  maxAccuracyDrop: 0.02', '  maxAccuracyDrop: 0.05')
      .edit(EXAMPLE_MODEL, '  maxLatencyIncreasePct: 15', '  maxLatencyIncreasePct: 20')
      .edit(EXAMPLE_MODEL, '  maxCostIncreasePct: 10', '  maxCostIncreasePct: 20')
      .edit(EXAMPLE_MODEL, '  maxBiasGapIncrease: 0.03', '  maxBiasGapIncrease: 0.05');
    try {
      const r = await runCli(
        'check-regression',
        '-r',
        REGRESSED,
        '-b',
        BASELINE,
        '-m',
        'document-classifier',
        '-c',
        fixture.dir,
        '--json',
      );
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result.verdict).toBe('pass');
      expect(result.thresholds).toEqual({
        maxAccuracyDrop: 0.05,
        maxLatencyIncreasePct: 20,
        maxCostIncreasePct: 20,
        maxBiasGapIncrease: 0.05,
        assumedDiscordance: 0.1,
        onInconclusive: 'point-estimate',
      });
    } finally {
      fixture.dispose();
    }
  });

  test('--json is one strict JSON document with every check', async () => {
    const r = await runCli('check-regression', '-r', REGRESSED, '-b', BASELINE, '--json');
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const result = JSON.parse(r.stdout);
    expect(result.verdict).toBe('fail');
    expect(
      result.checks
        .filter((c: { verdict: string }) => c.verdict === 'fail')
        .map((c: { check: string }) => c.check),
    ).toEqual(['accuracy', 'p95LatencyMs', 'costPer1kRequests', 'biasGap']);
  });

  test('first release (no baseline) passes with an explicit note', async () => {
    const r = await runCli(
      'check-regression',
      '-r',
      GOOD,
      '--model',
      'document-classifier',
      '--config-dir',
      SHIPPED_CONFIG,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/note: .*no baseline/i);
  });

  test('a malformed report fails closed (exit 1) with the key path of each problem', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlops-report-'));
    const bad = path.join(dir, 'eval_report.json');
    writeFileSync(
      bad,
      JSON.stringify({
        schema_version: 1,
        model: 'document-classifier',
        eval_sets: { golden_set: { accuracy: 'high' } },
      }),
    );
    try {
      const r = await runCli('check-regression', '-r', bad, '-b', BASELINE);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${bad} eval_sets.golden_set.accuracy`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [['check-regression', '-r', 'missing.json'], /cannot read eval report missing\.json: no such file/],
    [
      ['check-regression', '-r', GOOD, '-m', 'nope', '-c', SHIPPED_CONFIG],
      /unknown model "nope" \(models in .*: document-classifier\)/,
    ],
    [['check-regression'], /required option '-r, --report/],
  ])('bad usage %j exits 2 with a clear message', async (argv, message) => {
    const r = await runCli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
