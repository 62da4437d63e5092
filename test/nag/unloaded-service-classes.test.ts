/**
 * lib/nag/unloaded-service-classes.ts works through node's own `require` (what `cdk synth` runs),
 * which jest replaces with its module registry: these cases run in a child node process.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * In one process, the stand-ins installed before cdk-nag loads: an app without QuickSight, then
 * one with a QuickSight data source that turns SSL off, each checked by AwsSolutions.
 */
const CHILD = `
const { mkdtempSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
require('./lib/nag/unloaded-service-classes.ts').lazyServiceClassesForCdkNag();
const { App, Stack, Validations } = require('aws-cdk-lib');
const s3 = require('aws-cdk-lib/aws-s3');
const { AwsSolutionsChecks } = require('cdk-nag');
const quicksightModule = path.join(path.dirname(require.resolve('aws-cdk-lib/aws-quicksight')), 'lib', 'quicksight.generated.js');

function findings(build) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'mlops-nag-lazy-'));
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  build(new Stack(app, 'Checked'));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try { app.synth(); } catch {}
  const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
  return report.pluginReports.flatMap((r) => r.violations.map((v) => v.ruleName)).sort();
}

const withoutQuicksight = findings((stack) => new s3.Bucket(stack, 'Plain'));
const quicksightLoadedByNag = require.cache[quicksightModule] !== undefined;
const quicksight = require('aws-cdk-lib/aws-quicksight');
const withQuicksight = findings((stack) => {
  new quicksight.CfnDataSource(stack, 'Source', {
    awsAccountId: '123456789012', dataSourceId: 'source', name: 'source', type: 'POSTGRESQL',
    sslProperties: { disableSsl: true },
  });
});
process.stdout.write(JSON.stringify({ withoutQuicksight, quicksightLoadedByNag, withQuicksight }));
`;

interface ChildResult {
  readonly withoutQuicksight: string[];
  readonly quicksightLoadedByNag: boolean;
  readonly withQuicksight: string[];
}

describe('cdk-nag with the stand-ins for unloaded aws-cdk-lib services', () => {
  let result: ChildResult;
  beforeAll(() => {
    const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', CHILD], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    if (run.status !== 0) throw new Error(`the child process failed (${run.status}):\n${run.stderr}`);
    result = JSON.parse(run.stdout) as ChildResult;
  });

  test('an app without QuickSight is checked without loading QuickSight, and its findings still come', () => {
    expect(result.quicksightLoadedByNag).toBe(false);
    // A plain bucket: no access logs (S1), no SSL-only policy (S10).
    expect(result.withoutQuicksight).toEqual(['AwsSolutions-S1', 'AwsSolutions-S10']);
  });

  test('once a stack uses QuickSight, cdk-nag checks it as before: SSL turned off is a finding', () => {
    expect(result.withQuicksight).toEqual(['AwsSolutions-QS1']);
  });
});
