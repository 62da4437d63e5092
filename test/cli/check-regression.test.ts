import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  describe('with per-example results (examples/document-classifier/per-example)', () => {
    const PER_EXAMPLE = path.join(EXAMPLES, 'per-example');
    const args = (report: string, baseline: string) => [
      'check-regression',
      '-r',
      report,
      '-b',
      baseline,
      '-m',
      'document-classifier',
      '-c',
      SHIPPED_CONFIG,
    ];

    test('paired verdicts: the accuracy interval decides, and the text says paired with n', async () => {
      const good = await runCli(
        ...args(path.join(PER_EXAMPLE, 'eval_report.json'), path.join(PER_EXAMPLE, 'baseline_metrics.json')),
      );
      expect(good.code).toBe(0);
      expect(good.stdout).toMatch(
        /pass {2}golden_set accuracy .*; paired, n = 2,000: drop 90% CI −?0\.\d{3} to 0\.\d{3}, passes by the interval/,
      );
      // production_sample has no per-example results: unpaired, with its row counts.
      expect(good.stdout).toMatch(/production_sample accuracy .*unpaired, n = 20,000 vs 20,000/);

      const bad = await runCli(
        ...args(
          path.join(PER_EXAMPLE, 'eval_report_regressed.json'),
          path.join(PER_EXAMPLE, 'baseline_metrics.json'),
        ),
        '--json',
      );
      expect(bad.code).toBe(1);
      const accuracy = JSON.parse(bad.stdout).checks.find(
        (c: { evalSet: string; check: string }) => c.evalSet === 'golden_set' && c.check === 'accuracy',
      );
      expect(accuracy).toMatchObject({
        verdict: 'fail',
        outcome: 'fail',
        decidedBy: 'interval',
        paired: true,
      });
      expect(accuracy.interval.upper).toBeLessThan(-0.02);
    });

    /** A copy of the per-example folder in which `edit` changes the candidate's predictions file. */
    function brokenCopy(edit: (lines: string[]) => string[]): {
      dir: string;
      report: string;
      baseline: string;
    } {
      const dir = mkdtempSync(path.join(tmpdir(), 'mlops-examples-'));
      cpSync(PER_EXAMPLE, dir, { recursive: true });
      const file = path.join(dir, 'predictions/candidate/golden_set.jsonl');
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      writeFileSync(file, `${edit(lines).join('\n')}\n`);
      return {
        dir,
        report: path.join(dir, 'eval_report.json'),
        baseline: path.join(dir, 'baseline_metrics.json'),
      };
    }

    const INVALID =
      'FAIL: the reports or their per-example results are not valid (format: docs/eval-report.md):\n';
    const candidateFile = (dir: string) => path.join(dir, 'predictions/candidate/golden_set.jsonl');
    const baselineFile = (dir: string) => path.join(dir, 'predictions/baseline/golden_set.jsonl');
    const from = (dir: string) => `the 2000 examples in ${candidateFile(dir)}`;

    // Each message in full: file, line and field, as a new user sees it.
    test.each([
      [
        'a duplicate id',
        (lines: string[]) => [...lines.slice(0, 9), lines[3], ...lines.slice(10)],
        { stderr: true },
        (dir: string) =>
          `${INVALID}  ${candidateFile(dir)}:10 id: duplicate id "golden-00003" (first on line 4; each example once)\n`,
      ],
      [
        'a label not in the config',
        (lines: string[]) => [
          lines[0].replace(/"predicted": "\w+"/, '"predicted": "refunds"'),
          ...lines.slice(1),
        ],
        { stderr: true },
        (dir: string) =>
          `${INVALID}  ${candidateFile(dir)}:1 predicted: label not in the model's config (got "refunds", expected ` +
          'one of dataValidation.allowedLabels: billing, refund, technical, account, shipping, other)\n',
      ],
      [
        'an id missing from the baseline',
        (lines: string[]) => [lines[0].replace('"golden-00000"', '"golden-99999"'), ...lines.slice(1)],
        { stderr: false },
        (dir: string) =>
          `golden_set per-example results: ${candidateFile(dir)}:1 id: "golden-99999" is not in the baseline's ` +
          `${baselineFile(dir)}; ${baselineFile(dir)}:1 id: "golden-00000" is not in the candidate's ${candidateFile(dir)}\n`,
      ],
      [
        'metrics that disagree with the examples',
        // 200 predictions made wrong: the stated accuracy no longer matches.
        (lines: string[]) =>
          lines.map((l, i) =>
            i < 200
              ? l.replace(
                  /"predicted": "(\w+)"/,
                  (_m, p) => `"predicted": "${p === 'other' ? 'billing' : 'other'}"`,
                )
              : l,
          ),
        { stderr: false },
        (dir: string) => {
          const at = (key: string) => `${path.join(dir, 'eval_report.json')} eval_sets.golden_set.${key}`;
          return (
            `golden_set per-example results: ${at('accuracy')}: states 0.9365 but ${from(dir)} give 0.843; ` +
            `${at('slice_accuracy["source=chat"]')}: states 0.9091 but ${from(dir)} give 0.815725; ` +
            `${at('slice_accuracy["source=email"]')}: states 0.9503 but ${from(dir)} give 0.853002; ` +
            `${at('slice_accuracy["source=upload"]')}: states 0.933 but ${from(dir)} give 0.845295\n`
          );
        },
      ],
    ])('%s: exit 1 and the message naming file, line and field', async (_what, edit, where, message) => {
      const copy = brokenCopy(edit);
      try {
        const r = await runCli(...args(copy.report, copy.baseline));
        expect(r.code).toBe(1);
        if (where.stderr) {
          expect(r.stderr).toBe(message(copy.dir));
          expect(r.stdout).toBe('');
        } else {
          // The examples check's line of the verdict list ends with the full message.
          expect(r.stdout).toMatch(/ {2}FAIL {2}golden_set examples +golden_set per-example results: /);
          expect(r.stdout).toContain(`  ${message(copy.dir)}`);
        }
      } finally {
        rmSync(copy.dir, { recursive: true, force: true });
      }
    });

    test('a predictions file that cannot be read: exit 2 naming it and the report', async () => {
      const copy = brokenCopy((lines) => lines);
      rmSync(path.join(copy.dir, 'predictions/candidate/golden_set.jsonl'));
      try {
        const r = await runCli(...args(copy.report, copy.baseline));
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(
          /cannot read predictions file of golden_set \(named in .*eval_report\.json\) .*: no such file/,
        );
      } finally {
        rmSync(copy.dir, { recursive: true, force: true });
      }
    });
  });
});
