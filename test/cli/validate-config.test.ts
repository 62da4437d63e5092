import { spawnSync } from 'node:child_process';
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
      const res = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
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
