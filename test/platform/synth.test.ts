import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildPlatform } from '../../lib/platform';
import { newApp, shippedConfig } from '../helpers/config-fixture';
import { requireTool } from '../helpers/tools';

/**
 * cfn-lint warnings we accept, by id, each with its reason. Errors are never ignored.
 * (Add `[id, reason]` pairs here, never a blanket ignore.)
 */
export const IGNORED_CFN_LINT_RULES: ReadonlyArray<readonly [string, string]> = [
  [
    'W3005',
    "Redundant DependsOn: CDK makes each Lambda function and pipeline depend on its role's default policy as well as reading the role's ARN, so the policy exists before the first invocation. Harmless, and not ours to remove.",
  ],
];

function synthesize(outdir: string, mutate?: (built: ReturnType<typeof buildPlatform>) => void) {
  const app = newApp({ outdir, bundle: true });
  const built = buildPlatform(app, shippedConfig());
  mutate?.(built);
  return { assembly: app.synth(), built };
}

describe('the whole platform, synthesized from the shipped config', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'mlops-synth-'));
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  test('passes cdk-nag AwsSolutions and NIST 800-53 R5 with no unacknowledged finding', () => {
    // app.synth() throws ValidationFailed on any unacknowledged finding.
    const { assembly } = synthesize(outdir);
    expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual([
      'mlops-document-classifier',
      'mlops-shared',
    ]);
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    const failures = report.pluginReports.filter((r: { conclusion: string }) => r.conclusion !== 'success');
    expect(failures).toEqual([]);
  });

  test('cdk-nag is really wired: a non-compliant bucket fails the synth', () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'mlops-synth-bad-'));
    try {
      expect(() => synthesize(bad, ({ shared }) => new s3.Bucket(shared, 'Unencrypted'))).toThrow(
        /AwsSolutions-S10/,
      );
      const report = readFileSync(path.join(bad, 'validation-report.json'), 'utf8');
      expect(report).toContain('AwsSolutions-S10');
      expect(report).toContain('Shared/Unencrypted/Resource');
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  test('NIST 800-53 R5 is really wired: an unencrypted log group in the shared stack fails the synth', () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'mlops-synth-nist-'));
    try {
      expect(() => synthesize(bad, ({ shared }) => new logs.LogGroup(shared, 'Plain'))).toThrow(
        /NIST\.800\.53\.R5-CloudWatchLogGroupEncrypted/,
      );
      expect(readFileSync(path.join(bad, 'validation-report.json'), 'utf8')).toContain(
        'Shared/Plain/Resource',
      );
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  test('cfn-lint reports no error and no unlisted warning on any template', () => {
    requireTool('cfn-lint', ['--version'], 'pip install cfn-lint (the README lists the toolchain)');
    const templates = readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => path.join(outdir, f));
    expect(templates).toHaveLength(2);
    const ignore = IGNORED_CFN_LINT_RULES.flatMap(([id]) => ['--ignore-checks', id]);
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', ...ignore, '--', ...templates], {
      encoding: 'utf8',
    });
    // Exit code is a bitmask: 2 error, 4 warning, 8 informational. Informational findings may stay.
    expect({ findings: lint.stdout.trim(), errorOrWarning: (lint.status ?? 2) & 6 }).toEqual({
      findings: expect.not.stringMatching(/:[EW]\d{4}:/),
      errorOrWarning: 0,
    });
  });
});
