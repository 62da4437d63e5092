// A retired model's stack, as synthesized: endpoints deleted by the serving guard, pipelines
// stopped, alarms and schedules off, data kept, termination protection lifted; and an active
// model's stack protected from a deletion that would orphan its endpoints.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildPlatform } from '../../lib/platform';
import { FIRST_STAGE_AFTER_SOURCE, RETIRED_TRANSITION_REASON } from '../../lambdas/core/contracts/retirement';
import { newApp, shippedConfig } from '../helpers/config-fixture';
import { requireTool } from '../helpers/tools';
import { CFN_LINT_IGNORED, retiredFixture, statementsOf } from './fixtures';

type Resources = Record<
  string,
  { Type: string; Properties?: any; DependsOn?: string[]; DeletionPolicy?: string }
>;

const LIVE = 'mlops-document-classifier-live';
const STANDBY = 'mlops-document-classifier-standby';

function ofType(resources: Resources, type: string) {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function guardOf(resources: Resources) {
  const guards = ofType(resources, 'Custom::ServingGuard');
  expect(guards).toHaveLength(1);
  return guards[0]!;
}

/** IAM actions granted to the serving guard function's role. */
function guardActions(template: Template, resources: Resources): string[] {
  const [fnId] = ofType(resources, 'AWS::Lambda::Function').find(
    ([, r]) => r.Properties.FunctionName === 'mlops-document-classifier-serving-guard',
  )!;
  const roleId = resources[fnId]!.Properties.Role['Fn::GetAtt'][0] as string;
  return statementsOf(template, roleId).flatMap((s) => [s.Action].flat());
}

describe('a model that is not retired', () => {
  const { models } = buildPlatform(newApp(), shippedConfig());
  const stack = models[0]!;
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;

  test('its stack has termination protection: one delete-stack cannot orphan its endpoints', () => {
    expect(stack.terminationProtection).toBe(true);
  });

  test('its serving guard watches both endpoints, may not delete them, and is deleted before anything else', () => {
    const [, guard] = guardOf(resources);
    expect(guard.Properties).toMatchObject({
      Model: 'document-classifier',
      StackName: 'mlops-document-classifier',
      CdkStackId: 'Model-document-classifier',
      Retired: 'false',
      Endpoints: [LIVE, STANDBY],
    });
    const actions = guardActions(template, resources);
    expect(actions).toContain('sagemaker:DescribeEndpoint');
    expect(actions).not.toContain('sagemaker:DeleteEndpoint');
    // Deleted first = depends on every resource of the stack but its own function, role and logs.
    const own = Object.keys(resources).filter((id) => id.startsWith('ServingGuard'));
    const others = Object.keys(resources).filter((id) => !own.includes(id));
    expect(others.filter((id) => !guard.DependsOn!.includes(id))).toEqual([]);
  });

  test('its alarms act, its rules and schedules run, its pipelines release', () => {
    expect(
      ofType(resources, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.ActionsEnabled === false),
    ).toEqual([]);
    for (const [, rule] of ofType(resources, 'AWS::Events::Rule'))
      expect(rule.Properties.State).not.toBe('DISABLED');
    for (const [, p] of ofType(resources, 'AWS::CodePipeline::Pipeline')) {
      expect(p.Properties.DisableInboundStageTransitions).toBeUndefined();
    }
  });
});

describe('a retired model (serving.retired: true)', () => {
  const fixture = retiredFixture();
  const outdir = mkdtempSync(path.join(tmpdir(), 'mlops-retired-'));
  const app = newApp({ outdir });
  const { models } = buildPlatform(app, fixture.load());
  const stack = models[0]!;
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;
  afterAll(() => {
    fixture.dispose();
    rmSync(outdir, { recursive: true, force: true });
  });

  test('its stack may be deleted once the deploy has deleted the endpoints, and says it is retired', () => {
    expect(stack.terminationProtection).toBe(false);
    expect(stack.templateOptions.description).toContain('(retired: serving.retired is true)');
  });

  test('its serving guard is told to retire and may delete exactly the two endpoints', () => {
    const [, guard] = guardOf(resources);
    expect(guard.Properties).toMatchObject({ Retired: 'true', Endpoints: [LIVE, STANDBY] });
    const [fnId] = ofType(resources, 'AWS::Lambda::Function').find(
      ([, r]) => r.Properties.FunctionName === 'mlops-document-classifier-serving-guard',
    )!;
    const roleId = resources[fnId]!.Properties.Role['Fn::GetAtt'][0] as string;
    const deletes = statementsOf(template, roleId).filter((s) =>
      [s.Action].flat().includes('sagemaker:DeleteEndpoint'),
    );
    expect(deletes).toHaveLength(1);
    const arns = JSON.stringify(deletes[0]!.Resource);
    expect(arns).toContain(`:endpoint/${LIVE}"`);
    expect(arns).toContain(`:endpoint/${STANDBY}"`);
    expect([deletes[0]!.Resource].flat()).toHaveLength(2);
  });

  test('both pipelines stop after Source, with the reason in the console', () => {
    const pipelines = ofType(resources, 'AWS::CodePipeline::Pipeline');
    expect(pipelines).toHaveLength(2);
    for (const [, p] of pipelines) {
      // The disabled stage really is the one after Source.
      expect(p.Properties.Stages.map((s: { Name: string }) => s.Name).slice(0, 2)).toEqual([
        'Source',
        FIRST_STAGE_AFTER_SOURCE,
      ]);
      expect(p.Properties.DisableInboundStageTransitions).toEqual([
        { StageName: FIRST_STAGE_AFTER_SOURCE, Reason: RETIRED_TRANSITION_REASON },
      ]);
    }
    // CloudFormation's allowed characters for the reason.
    expect(RETIRED_TRANSITION_REASON).toMatch(/^[a-zA-Z0-9!@ ().*?-]{1,300}$/);
  });

  test('no alarm pages or rolls back; no rule or schedule runs', () => {
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThan(5);
    expect(alarms.filter(([, a]) => a.Properties.ActionsEnabled !== false).map(([id]) => id)).toEqual([]);
    const rules = ofType(resources, 'AWS::Events::Rule');
    const schedules = ofType(resources, 'AWS::Scheduler::Schedule');
    expect(rules.length + schedules.length).toBeGreaterThan(3);
    expect(
      [...rules, ...schedules].filter(([, r]) => r.Properties.State !== 'DISABLED').map(([id]) => id),
    ).toEqual([]);
  });

  test('logs, buckets, tables, queues and secrets are kept when the stack is deleted', () => {
    const kept = [
      'AWS::Logs::LogGroup',
      'AWS::S3::Bucket',
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::SecretsManager::Secret',
    ];
    const data = Object.entries(resources).filter(([, r]) => kept.includes(r.Type));
    expect(data.length).toBeGreaterThan(10);
    expect(
      data.filter(([, r]) => r.DeletionPolicy !== 'Retain').map(([id, r]) => `${id} (${r.Type})`),
    ).toEqual([]);
  });

  test('passes cdk-nag and cfn-lint like every other stack', () => {
    // app.synth() throws ValidationFailed on any unacknowledged cdk-nag finding.
    const assembly = app.synth();
    requireTool('cfn-lint', ['--version'], 'pip install cfn-lint (the README lists the toolchain)');
    const file = path.join(outdir, assembly.getStackByName(stack.stackName).templateFile);
    const ignore = CFN_LINT_IGNORED.flatMap((id) => ['--ignore-checks', id]);
    const lint = spawnSync('cfn-lint', ['--format', 'parseable', ...ignore, '--', file], {
      encoding: 'utf8',
    });
    expect({ findings: lint.stdout.trim(), errorOrWarning: (lint.status ?? 2) & 6 }).toEqual({
      findings: expect.not.stringMatching(/:[EW]\d{4}:/),
      errorOrWarning: 0,
    });
  });
});
