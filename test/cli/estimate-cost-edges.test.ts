// What a new user sees from `mlops estimate-cost` at the rough edges of issue 15.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { ConfigFixture, EXAMPLE_MODEL, SHIPPED_CONFIG } from '../helpers/config-fixture';

describe('mlops estimate-cost --baseline-config: messages name the option', () => {
  const estimate = (...extra: string[]) =>
    runCli('estimate-cost', '-m', 'document-classifier', '-c', SHIPPED_CONFIG, ...extra);

  test('a baseline directory that does not exist', async () => {
    expect(await estimate('--baseline-config', '/nonexistent/main/config')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'mlops: --baseline-config /nonexistent/main/config: no such directory\n',
    });
  });

  test('a baseline directory that is not a config directory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlops-main-'));
    try {
      expect((await estimate('--baseline-config', dir)).stderr).toBe(
        `mlops: --baseline-config ${dir}: not a config directory, it has no platform.yaml (pass the directory holding platform.yaml and models/)\n`,
      );
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('a baseline config with problems', async () => {
    const main = new ConfigFixture().edit(EXAMPLE_MODEL, 'monthlyRequests: 2500000', 'monthlyRequests: lots');
    try {
      const r = await estimate('--baseline-config', main.dir);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(
        `mlops: --baseline-config needs a valid config, and ${main.dir}/ has 1 problem (run \`mlops validate-config -c ${main.dir}\`):`,
      );
    } finally {
      main.dispose();
    }
  });

  test('a model the baseline does not have yet (a new model)', async () => {
    const main = new ConfigFixture();
    try {
      main.write(
        'models/other-model.yaml',
        main.read(EXAMPLE_MODEL).replace('name: document-classifier', 'name: other-model'),
      );
      rmSync(main.file(EXAMPLE_MODEL));
      expect((await estimate('--baseline-config', main.dir)).stderr).toBe(
        `mlops: --baseline-config ${main.dir}: has no model "document-classifier" (its models: other-model); a new model has no baseline, so leave out --baseline-config\n`,
      );
    } finally {
      main.dispose();
    }
  });
});

test('monthly amounts share one precision: $0.51 beside $6.28, not $0.512', async () => {
  const fixture = new ConfigFixture().edit(
    EXAMPLE_MODEL,
    '  instanceType: ml.g5.xlarge\n  initialInstanceCount',
    '  instanceType: ml.m5.large\n  initialInstanceCount',
  );
  try {
    const r = await runCli('estimate-cost', '-m', 'document-classifier', '-c', fixture.dir);
    expect(r).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'document-classifier: $1,333.49 per month for 2,500,000 requests (prices as of 2026-11-01)',
        '       $186.88  live endpoint: 2 × ml.m5.large × 730 h',
        '     $1,146.10  standby endpoint (N-1): 1 × ml.g5.xlarge × 730 h',
        '         $0.51  shadow variant: 1 × ml.m5.large × 4 h',
        '  per request $0.000533, per 1k requests $0.533',
        '',
      ].join('\n'),
    });
  } finally {
    fixture.dispose();
  }
});
