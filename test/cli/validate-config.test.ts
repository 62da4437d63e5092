import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigFixture, EXAMPLE_MODEL, SHIPPED_CONFIG } from '../helpers/config-fixture';
import { runCli } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../..');

describe('mlops validate-config', () => {
  test('the shipped config is valid: exit 0 and the models it found', async () => {
    const result = await runCli('validate-config', '--config-dir', SHIPPED_CONFIG);
    expect(result).toEqual({
      code: 0,
      stdout: `${SHIPPED_CONFIG}: valid (1 model: document-classifier)\n`,
      stderr: '',
    });
  });

  test('2 requests a minute: valid, with a warning that names the smallest drop the confidence alarm catches', async () => {
    // 2 requests/min over a 730-hour month.
    const fixture = new ConfigFixture().edit(
      EXAMPLE_MODEL,
      'monthlyRequests: 2500000',
      'monthlyRequests: 87600',
    );
    try {
      const result = await runCli('validate-config', '-c', fixture.dir, '--json');
      expect(result.code).toBe(0);
      const [warning, ...others] = JSON.parse(result.stdout).warnings;
      expect(others).toEqual([]);
      expect(warning.file).toBe(fixture.file(EXAMPLE_MODEL));
      expect(warning.path).toBe('cost.monthlyRequests');
      expect(warning.message).toMatch(
        /^87600 requests a month: at 2\.0 requests\/min the confidence alarm cannot catch a 0\.1 drop in mean confidence within 10 minutes/,
      );
      expect(warning.message).toMatch(/the smallest drop caught within 60 minutes would be 0\.\d\d/);
      expect(warning.message).toContain('monitoring.confidenceAlarm.minRequestsPerPeriod');
    } finally {
      fixture.dispose();
    }
  });

  test('a bad config: exit 1, every problem on stderr, no stack trace', async () => {
    const fixture = new ConfigFixture()
      .edit(EXAMPLE_MODEL, '  maxAccuracyDrop: 0.02', '  maxAcuracyDrop: 0.02')
      .edit(EXAMPLE_MODEL, 'monthlyRequests: 2500000', 'monthlyRequests: lots');
    try {
      const result = await runCli('validate-config', '-c', fixture.dir);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines[0]).toBe(`${fixture.dir}: 2 problems:`);
      expect(lines[1]).toMatch(/document-classifier\.yaml:\d+ thresholds\.maxAcuracyDrop: unknown key/);
      expect(lines[2]).toMatch(/document-classifier\.yaml:\d+ cost\.monthlyRequests: wrong type/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      fixture.dispose();
    }
  });

  test('--json prints one strict JSON document with the problems', async () => {
    const fixture = new ConfigFixture().edit(EXAMPLE_MODEL, '    sizePercent: 10', '    sizePercent: 70');
    try {
      const result = await runCli('validate-config', '-c', fixture.dir, '--json');
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toEqual({
        valid: false,
        problems: [
          {
            file: fixture.file(EXAMPLE_MODEL),
            line: expect.any(Number),
            path: 'serving.canary.sizePercent',
            message: 'too large (got 70, expected at most 50)',
          },
        ],
        warnings: [],
      });
    } finally {
      fixture.dispose();
    }
  });

  test('bad usage exits 2 and suggests the command meant', async () => {
    const result = await runCli('validate-confg');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Did you mean validate-config?');
  });

  test('--help exits 0 and lists the command', async () => {
    const result = await runCli('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('validate-config');
  });
});

describe('the installed entry points', () => {
  test('`npx mlops` runs from a clone with no build step', () => {
    const res = spawnSync(process.execPath, ['bin/mlops.js', 'validate-config'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect({ status: res.status, stdout: res.stdout }).toEqual({
      status: 0,
      stdout: 'config: valid (1 model: document-classifier)\n',
    });
  });

  test('the CDK app exits 1 on a bad config with the problem list and no stack trace', () => {
    const fixture = new ConfigFixture().write('models/broken.yaml', 'name: broken\nrepository: [unclosed\n');
    try {
      const res = spawnSync(process.execPath, ['bin/app.js'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          CDK_CONTEXT_JSON: JSON.stringify({ configDir: fixture.dir }),
          CDK_OUTDIR: fixture.file('out'),
        },
      });
      expect(res.status).toBe(1);
      expect(res.stderr).toMatch(/has 1 problem\(s\):\n {2}.*models\/broken\.yaml:\d+: invalid YAML/);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    } finally {
      fixture.dispose();
    }
  });
});

describe('mlops validate-config --report: eval sets too small to decide their accuracy margin', () => {
  const PER_EXAMPLE = path.resolve(__dirname, '../../examples/document-classifier/per-example');
  const REPORT = path.join(PER_EXAMPLE, 'eval_report.json');
  const BASELINE = path.join(PER_EXAMPLE, 'baseline_metrics.json');
  const ASSUMED =
    '(paired, at an assumed discordance of 0.1 (thresholds.assumedDiscordance); per-example results on both ' +
    'sides give the observed one)';

  /** The shipped config with a 0.005 accuracy margin: more rows than the fixtures have. */
  function strictMargin(): ConfigFixture {
    return new ConfigFixture().edit(EXAMPLE_MODEL, 'maxAccuracyDrop: 0.02', 'maxAccuracyDrop: 0.005');
  }

  test('the shipped margin and the fixtures: no warning', async () => {
    const result = await runCli('validate-config', '-c', SHIPPED_CONFIG, '-r', REPORT, '-b', BASELINE);
    expect(result).toEqual({
      code: 0,
      stdout: `${SHIPPED_CONFIG}: valid (1 model: document-classifier)\n`,
      stderr: '',
    });
  });

  test('without a baseline: sized at the assumed discordance, and the warning says so', async () => {
    const fixture = strictMargin();
    try {
      const result = await runCli('validate-config', '-c', fixture.dir, '-r', REPORT);
      expect(result).toEqual({
        code: 0,
        stdout: `${fixture.dir}: valid (1 model: document-classifier)\n`,
        stderr:
          `  warning: ${REPORT} eval_sets.golden_set.row_count: golden_set: 2,000 rows cannot decide a 0.005 ` +
          `accuracy margin; about 24,800 needed ${ASSUMED}\n` +
          `  warning: ${REPORT} eval_sets.production_sample.row_count: production_sample: 20,000 rows cannot ` +
          `decide a 0.005 accuracy margin; about 24,800 needed ${ASSUMED}\n`,
      });
    } finally {
      fixture.dispose();
    }
  });

  test('with per-example results on both sides: sized at the observed discordance', async () => {
    const fixture = strictMargin();
    try {
      const result = await runCli(
        'validate-config',
        '-c',
        fixture.dir,
        '-r',
        REPORT,
        '-b',
        BASELINE,
        '--json',
      );
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).warnings).toEqual([
        {
          file: REPORT,
          path: 'eval_sets.golden_set.row_count',
          message:
            'golden_set: 2,000 rows cannot decide a 0.005 accuracy margin; about 2,480 needed (at the observed ' +
            'discordance 0.010)',
        },
        {
          file: REPORT,
          path: 'eval_sets.production_sample.row_count',
          message: `production_sample: 20,000 rows cannot decide a 0.005 accuracy margin; about 24,800 needed ${ASSUMED}`,
        },
      ]);
    } finally {
      fixture.dispose();
    }
  });

  test('a report of a model the config does not have: exit 1 naming the file, the key and the models', async () => {
    const fixture = new ConfigFixture();
    const report = path.join(fixture.dir, 'other.json');
    writeFileSync(
      report,
      readFileSync(REPORT, 'utf8').replace('"document-classifier"', '"churn-classifier"'),
    );
    try {
      const result = await runCli('validate-config', '-c', fixture.dir, '-r', report);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `${report}: the reports to size the eval sets by are not valid (format: docs/eval-report.md):\n` +
          `  ${report} model: got "churn-classifier", expected a model of ${fixture.dir} (document-classifier); ` +
          'the evaluate command must write the name of config/models/<model>.yaml\n',
      });
    } finally {
      fixture.dispose();
    }
  });

  test('--baseline alone is bad usage (exit 2); an unreadable report too', async () => {
    const alone = await runCli('validate-config', '-c', SHIPPED_CONFIG, '-b', BASELINE);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--baseline needs --report: the eval report to size');
    const missing = await runCli(
      'validate-config',
      '-c',
      SHIPPED_CONFIG,
      '-r',
      '/nonexistent/eval_report.json',
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read eval report /nonexistent/eval_report.json: no such file');
  });
});
