// What a new user sees from `mlops validate-config` at the rough edges of issue 15.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveConfigDir } from '../../lib/cli/context';
import { runCli } from '../helpers/cli';
import { ConfigFixture, EXAMPLE_MODEL, lineOf } from '../helpers/config-fixture';

const ROOT = path.resolve(__dirname, '../..');

describe('the config directory', () => {
  test('a directory that does not exist is unreadable input: exit 2', async () => {
    expect(await runCli('validate-config', '-c', '/nonexistent')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'mlops: --config-dir /nonexistent: no such directory\n',
    });
  });

  test('a directory without platform.yaml is not a config directory: exit 2', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'mlops-empty-'));
    try {
      expect(await runCli('validate-config', '-c', empty)).toEqual({
        code: 2,
        stdout: '',
        stderr: `mlops: --config-dir ${empty}: not a config directory, it has no platform.yaml (pass the directory holding platform.yaml and models/)\n`,
      });
    } finally {
      rmSync(empty, { recursive: true });
    }
  });

  test('without --config-dir it is found from any subdirectory, as git finds its repository', () => {
    expect(resolveConfigDir(undefined, ROOT)).toBe('config');
    expect(resolveConfigDir(undefined, path.join(ROOT, 'config'))).toBe('.');
    expect(resolveConfigDir(undefined, path.join(ROOT, 'config/models'))).toBe('..');
    expect(resolveConfigDir(undefined, path.join(ROOT, 'test/cli'))).toBe('../../config');
  });

  test('`npx mlops validate-config` run inside config/ validates the project config', () => {
    const res = spawnSync(process.execPath, [path.join(ROOT, 'bin/mlops.js'), 'validate-config'], {
      cwd: path.join(ROOT, 'config'),
      encoding: 'utf8',
    });
    expect({ status: res.status, stdout: res.stdout, stderr: res.stderr }).toEqual({
      status: 0,
      stdout: '.: valid (1 model: document-classifier)\n',
      stderr: '',
    });
  });

  test('outside any project it says where it looked: exit 2', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'mlops-outside-'));
    try {
      mkdirSync(path.join(outside, 'sub'));
      expect(() => resolveConfigDir(undefined, path.join(outside, 'sub'))).toThrow(
        `no config found: neither ${path.join(outside, 'sub')} nor a directory above it has config/platform.yaml; run mlops inside the project or pass --config-dir`,
      );
    } finally {
      rmSync(outside, { recursive: true });
    }
  });
});

describe('warnings of a valid config', () => {
  let fixture: ConfigFixture;
  beforeEach(() => {
    fixture = new ConfigFixture();
  });
  afterEach(() => fixture.dispose());

  test('an estimate above cost.monthlyBudget is a warning: printed, exit code still 0', async () => {
    fixture.edit(EXAMPLE_MODEL, 'monthlyBudget: 4000', 'monthlyBudget: 2500');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'monthlyBudget: 2500');
    expect(await runCli('validate-config', '-c', fixture.dir)).toEqual({
      code: 0,
      stdout: `${fixture.dir}: valid (1 model: document-classifier)\n`,
      stderr: `  warning: ${fixture.file(EXAMPLE_MODEL)}:${line} cost.monthlyBudget: the estimated serving cost, $3,444.58 a month, is above this budget of $2,500.00, so the budget alarm would fire on day one; raise the budget or shrink serving (see \`mlops estimate-cost --model document-classifier\`)\n`,
    });
  });

  test('--json lists the warnings under `warnings`', async () => {
    fixture.edit(EXAMPLE_MODEL, 'monthlyBudget: 4000', 'monthlyBudget: 2500');
    const result = await runCli('validate-config', '-c', fixture.dir, '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      valid: true,
      models: ['document-classifier'],
      problems: [],
      warnings: [
        {
          file: fixture.file(EXAMPLE_MODEL),
          line: lineOf(fixture.read(EXAMPLE_MODEL), 'monthlyBudget: 2500'),
          path: 'cost.monthlyBudget',
          message: expect.stringContaining('$3,444.58 a month, is above this budget of $2,500.00'),
        },
      ],
    });
  });

  test('the shipped example is consistent: its estimate fits its budget, so no warning', async () => {
    const result = await runCli('validate-config', '--json');
    expect(JSON.parse(result.stdout).warnings).toEqual([]);
  });

  test('a copied model that keeps the example repository and DVC pins is warned about', async () => {
    const copy = fixture
      .read(EXAMPLE_MODEL)
      .replace('name: document-classifier\ndescription', 'name: fraud-scorer\ndescription');
    fixture.write('models/fraud-scorer.yaml', copy);
    const line = lineOf(copy, '  name: document-classifier');
    const result = await runCli('validate-config', '-c', fixture.dir);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `  warning: ${fixture.file('models/fraud-scorer.yaml')}:${line} repository.name: same repository (example-org/document-classifier) and eval-set pins (data/eval/golden_set.jsonl.dvc, data/eval/production_sample.jsonl.dvc) as ${fixture.file(EXAMPLE_MODEL)}: a copied model keeps the original's; point repository and evalSets at this model's own\n`,
    );
  });

  test('two models of one repository with their own pins are no copy', async () => {
    const sibling = fixture
      .read(EXAMPLE_MODEL)
      .replace('name: document-classifier\ndescription', 'name: fraud-scorer\ndescription')
      .replaceAll('data/eval/', 'data/fraud/eval/');
    fixture.write('models/fraud-scorer.yaml', sibling);
    expect(await runCli('validate-config', '-c', fixture.dir)).toMatchObject({ code: 0, stderr: '' });
  });
});
