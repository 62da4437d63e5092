import { fetchEvalSetsCommand } from '../../lib/constructs/gpu-evaluation-project';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildPlatform } from '../../lib/platform';
import { modelClaimSchema } from '../../lambdas/core/gates/model-publication';
import { ConfigFixture, EXAMPLE_MODEL, newApp, shippedConfig } from '../helpers/config-fixture';
import { shippedPlatform } from '../helpers/shipped-platform';

// GIVEN the shipped config, WHEN the platform is built, THEN each model has both pipelines.
const template = shippedPlatform().models[0]!.template;
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;

function pipeline(name: string) {
  const found = Object.values(resources).find(
    (r) => r.Type === 'AWS::CodePipeline::Pipeline' && r.Properties.Name === name,
  );
  if (!found) throw new Error(`no pipeline ${name}`);
  return found.Properties;
}

/** Every statement of the inline policy attached to the role whose logical id contains `rolePart`. */
function statementsOf(rolePart: string): any[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
    .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref.includes(rolePart)))
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
}

const actionsOf = (rolePart: string) =>
  statementsOf(rolePart)
    .flatMap((s) => [s.Action].flat())
    .sort();

describe('ModelPipeline', () => {
  test('two CodePipeline V2 pipelines with readable names and chosen execution modes', () => {
    expect(pipeline('mlops-document-classifier-pr')).toMatchObject({
      PipelineType: 'V2',
      ExecutionMode: 'SUPERSEDED',
    });
    expect(pipeline('mlops-document-classifier-release')).toMatchObject({
      PipelineType: 'V2',
      ExecutionMode: 'QUEUED',
    });
  });

  test('the PR pipeline runs on opened and updated pull requests that touch the trigger paths', () => {
    expect(pipeline('mlops-document-classifier-pr').Triggers).toEqual([
      {
        ProviderType: 'CodeStarSourceConnection',
        GitConfiguration: {
          SourceActionName: 'Source',
          PullRequest: [
            {
              Branches: { Includes: ['main'] },
              FilePaths: {
                Includes: ['ml/**', 'data/features/**', 'configs/model_*.yaml', 'data/eval/*.dvc'],
              },
              Events: ['OPEN', 'UPDATED'],
            },
          ],
        },
      },
    ]);
  });

  test('the release pipeline runs on pushes to the main branch that touch the trigger paths', () => {
    expect(pipeline('mlops-document-classifier-release').Triggers[0].GitConfiguration.Push).toEqual([
      {
        Branches: { Includes: ['main'] },
        FilePaths: { Includes: ['ml/**', 'data/features/**', 'configs/model_*.yaml', 'data/eval/*.dvc'] },
      },
    ]);
  });

  test('stage order: the gates, then the PR comment (PR) or the serving stages (release)', () => {
    const stages = (name: string) => pipeline(name).Stages.map((s: { Name: string }) => s.Name);
    const gates = ['Source', 'CodeQuality', 'DataValidation', 'ModelEvaluation', 'RegressionGate'];
    expect(stages('mlops-document-classifier-pr')).toEqual([...gates, 'PrComment']);
    expect(stages('mlops-document-classifier-release')).toEqual([
      ...gates,
      'PublishModel',
      'Shadow',
      'Canary',
      'Promotion',
    ]);
  });

  test('the source is the model repository through the configured connection, pipeline variables in a known namespace', () => {
    const source = pipeline('mlops-document-classifier-pr').Stages[0].Actions[0];
    expect(source).toMatchObject({
      ActionTypeId: { Provider: 'CodeStarSourceConnection' },
      Namespace: 'SourceVariables',
      Configuration: {
        ConnectionArn:
          'arn:aws:codeconnections:eu-west-1:123456789012:connection/4b1d7a5e-0c2f-4e8a-9f3d-2a6b8c9d0e1f',
        FullRepositoryId: 'example-org/document-classifier',
        BranchName: 'main',
      },
    });
  });

  test('every Lambda action gets the run identity as UserParameters', () => {
    const lambdaActions = pipeline('mlops-document-classifier-pr')
      .Stages.flatMap((s: { Actions: any[] }) => s.Actions)
      .filter((a: any) => a.ActionTypeId.Provider === 'Lambda');
    expect(lambdaActions.map((a: any) => a.Name)).toEqual(['DataValidation', 'RegressionGate', 'PrComment']);
    for (const action of lambdaActions) {
      expect(JSON.parse(action.Configuration.UserParameters)).toEqual({
        executionId: '#{codepipeline.PipelineExecutionId}',
        pipeline: 'pr',
        commitId: '#{SourceVariables.CommitId}',
      });
    }
  });

  test('GPU evaluation: Deep Learning Container image, GPU compute, 60-minute timeout, KMS-encrypted', () => {
    template.hasResourceProperties('AWS::CodeBuild::Project', {
      Name: 'mlops-document-classifier-evaluation',
      TimeoutInMinutes: 60,
      EncryptionKey: Match.anyValue(),
      Environment: Match.objectLike({
        Type: 'LINUX_GPU_CONTAINER',
        ComputeType: 'BUILD_GENERAL1_LARGE',
        PrivilegedMode: false,
        Image: {
          'Fn::Join': [
            '',
            Match.arrayWith([
              Match.stringLikeRegexp('^763104351884\\.dkr\\.ecr\\.'),
              Match.stringLikeRegexp('pytorch-training:2\\.6\\.0-gpu'),
            ]),
          ],
        },
      }),
    });
  });

  test.each(['mlops-document-classifier-pr-evaluation', 'mlops-document-classifier-evaluation'])(
    '%s fetches the eval sets DataValidation verified (no DVC, nothing from PyPI), runs the command, publishes eval_report.json',
    (name) => {
      const project = Object.values(resources).find(
        (r) => r.Type === 'AWS::CodeBuild::Project' && r.Properties.Name === name,
      );
      const buildspec = JSON.parse(project!.Properties.Source.BuildSpec);
      // Nothing is installed: the build runs the team's code in a role that stages the archive.
      expect(buildspec.phases.install).toBeUndefined();
      expect(project!.Properties.Source.BuildSpec).not.toMatch(/pip install|dvc (pull|status|remote)/);
      expect(buildspec.phases.pre_build.commands[0]).toBe(fetchEvalSetsCommand());
      expect(project!.Properties.Environment.EnvironmentVariables).toEqual(
        expect.arrayContaining([
          { Name: 'DVC_REMOTE_BUCKET', Type: 'PLAINTEXT', Value: expect.anything() },
          { Name: 'MODEL', Type: 'PLAINTEXT', Value: 'document-classifier' },
        ]),
      );
      expect(buildspec.phases.build.commands).toContain(shippedConfig().models[0].evaluation.command);
      expect(buildspec.artifacts.files).toContain('eval_report.json');
    },
  );

  test('each pipeline runs its own projects: a pull request never runs as the release', () => {
    const projectsOf = (name: string) =>
      pipeline(name)
        .Stages.flatMap((s: { Actions: any[] }) => s.Actions)
        .filter((a: any) => a.ActionTypeId.Provider === 'CodeBuild')
        .map((a: any) => resources[a.Configuration.ProjectName.Ref]!.Properties.Name)
        .sort();
    expect(projectsOf('mlops-document-classifier-pr')).toEqual([
      'mlops-document-classifier-pr-code-quality',
      'mlops-document-classifier-pr-evaluation',
    ]);
    expect(projectsOf('mlops-document-classifier-release')).toEqual([
      'mlops-document-classifier-code-quality',
      'mlops-document-classifier-evaluation',
    ]);
    // And each pipeline its own artifact store.
    const stores = ['pr', 'release'].map(
      (k) => pipeline(`mlops-document-classifier-${k}`).ArtifactStore.Location,
    );
    expect(stores[0]).not.toEqual(stores[1]);
  });

  describe('the release stages the archive it evaluated; the platform publishes it', () => {
    const project = (name = 'mlops-document-classifier-evaluation') =>
      Object.values(resources).find(
        (r) => r.Type === 'AWS::CodeBuild::Project' && r.Properties.Name === name,
      )!.Properties;
    const publishStep = () =>
      (JSON.parse(project().Source.BuildSpec).phases.build.commands as string[]).find((c) =>
        c.startsWith('test -s "$MODEL_ARTIFACT"'),
      )!;

    /** Runs the buildspec's publish step in bash with a fake `aws` that records its calls. */
    function runPublish(env: Record<string, string>, archive?: string) {
      const dir = mkdtempSync(join(tmpdir(), 'publish-'));
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(
        join(bin, 'aws'),
        '#!/bin/sh\necho "$@" >> "$CALLS"\n[ "$2" = cp ] && cp "$3" "$UPLOADS/$(basename "$4")"; exit 0\n',
        {
          mode: 0o755,
        },
      );
      mkdirSync(join(dir, 'uploads'));
      if (archive !== undefined) writeFileSync(join(dir, 'model.tar.gz'), archive);
      const result = spawnSync('bash', ['-c', publishStep()], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          CALLS: join(dir, 'calls'),
          UPLOADS: join(dir, 'uploads'),
          MODEL: 'document-classifier',
          MODEL_ARTIFACT: 'model.tar.gz',
          STAGING_BUCKET: 'release-artifacts',
          PIPELINE_EXECUTION_ID: 'exec-1',
          COMMIT_ID: 'abc123',
          ...env,
        },
      });
      const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
      return {
        ...result,
        calls: read('calls'),
        staged: read('uploads/model.tar.gz'),
        claim: read('model-claim.json'),
      };
    }

    test('it stages the archive in the release artifact store and claims its SHA-256 for the publisher', () => {
      const out = runPublish({}, 'weights');
      expect(out.status).toBe(0);
      expect(out.staged).toBe('weights');
      expect(out.calls).toContain(
        's3 cp model.tar.gz s3://release-artifacts/model-staging/exec-1/model.tar.gz',
      );
      expect(modelClaimSchema.parse(JSON.parse(out.claim))).toEqual({
        sha256: createHash('sha256').update('weights').digest('hex'),
        bytes: 7,
        commitId: 'abc123',
      });
      expect(JSON.parse(project().Source.BuildSpec).artifacts.files).toEqual([
        'eval_report.json',
        'predictions/**/*',
        'model-claim.json',
      ]);
    });

    test('a missing archive fails the build and says what to do', () => {
      const out = runPublish({});
      expect(out.status).toBe(1);
      expect(out.stdout).toContain('No model archive at model.tar.gz after the evaluate command');
      expect(out.calls).toBe('');
    });

    test('the PR evaluation stages nothing and has nowhere to stage it', () => {
      const pr = project('mlops-document-classifier-pr-evaluation');
      const buildspec = JSON.parse(pr.Source.BuildSpec);
      expect(JSON.stringify(buildspec.phases.build.commands)).not.toContain('MODEL_ARTIFACT');
      // The report and its per-example results only: the regression gate pairs them with the baseline's.
      expect(buildspec.artifacts.files).toEqual(['eval_report.json', 'predictions/**/*']);
      expect(pr.Environment.EnvironmentVariables.map((v: { Name: string }) => v.Name)).not.toContain(
        'STAGING_BUCKET',
      );
    });

    test.each(['mlops-document-classifier-pr-evaluation', 'mlops-document-classifier-evaluation'])(
      '%s may write nothing in the artifacts bucket',
      (name) => {
        const role = project(name).ServiceRole['Fn::GetAtt'][0];
        const writes = statementsOf(role)
          .filter((s) => [s.Action].flat().some((a: string) => /^s3:(Put|Delete|\*)/.test(a)))
          .flatMap((s) => [s.Resource].flat())
          .filter((r) => JSON.stringify(r).includes('mlops-artifacts-'));
        expect(writes).toEqual([]);
      },
    );

    test.each(['mlops-document-classifier-pr-evaluation', 'mlops-document-classifier-evaluation'])(
      "%s reads the baseline, the eval-set lists and, by version, this model's DVC objects only",
      (name) => {
        const role = project(name).ServiceRole['Fn::GetAtt'][0];
        const resourcesFor = (action: string) =>
          statementsOf(role)
            .filter((s) => [s.Action].flat().includes(action))
            .flatMap((s) => [s.Resource].flat())
            .filter((r) => JSON.stringify(r).match(/mlops-(artifacts|dvc-remote)-/));
        expect(resourcesFor('s3:GetObject')).toEqual([
          'arn:aws:s3:::mlops-dvc-remote-123456789012-eu-west-1/document-classifier/*',
          'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/baseline/baseline_metrics.json',
          'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/runs/*/eval-set-files.tsv',
        ]);
        expect(resourcesFor('s3:GetObjectVersion')).toEqual([
          'arn:aws:s3:::mlops-dvc-remote-123456789012-eu-west-1/document-classifier/*',
        ]);
      },
    );

    test('the publisher reads only staged archives and writes only published archives and release records', () => {
      const statements = statementsOf('PublishModelRole');
      const resourcesFor = (action: string) =>
        statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
      expect(resourcesFor('s3:PutObject')).toEqual([
        'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/archives/sha256/*',
        'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/runs/*/model-artifact.json',
      ]);
      expect(JSON.stringify(resourcesFor('s3:GetObjectVersion'))).toContain('/model-staging/*/model.tar.gz');
    });
  });

  test('code quality runs the configured commands on the standard image', () => {
    const project = Object.values(resources).find(
      (r) =>
        r.Type === 'AWS::CodeBuild::Project' &&
        r.Properties.Name === 'mlops-document-classifier-code-quality',
    );
    expect(project!.Properties.Environment).toMatchObject({
      Type: 'LINUX_CONTAINER',
      Image: 'aws/codebuild/standard:7.0',
    });
    const buildspec = JSON.parse(project!.Properties.Source.BuildSpec);
    expect(buildspec.phases.install.commands).toEqual(['pip install -r requirements-dev.txt']);
    expect(buildspec.phases.build.commands).toEqual(['ruff check ml', 'mypy ml', 'pytest -q tests/unit']);
  });

  test('gate functions: newest Node.js runtime on arm64, readable names', () => {
    for (const name of ['data-validation', 'regression-gate', 'pr-comment']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `mlops-document-classifier-${name}`,
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Environment: {
          Variables: Match.objectLike({
            RELEASE_SETTINGS_PARAMETER: { Ref: Match.stringLikeRegexp('^ReleaseSettings') },
          }),
        },
      });
    }
  });

  test('data validation may read its DVC prefix and write its run records, and nothing else', () => {
    expect(actionsOf('DataValidationRole')).toEqual([
      'codepipeline:PutJobFailureResult',
      'codepipeline:PutJobSuccessResult',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
      'ssm:DescribeParameters',
      'ssm:GetParameter',
      'ssm:GetParameterHistory',
      'ssm:GetParameters',
    ]);
    const resourcesFor = (action: string) =>
      statementsOf('DataValidationRole')
        .filter((s) => [s.Action].flat().includes(action))
        .flatMap((s) => [s.Resource].flat());
    expect(resourcesFor('s3:GetObject')).toEqual([
      'arn:aws:s3:::mlops-dvc-remote-123456789012-eu-west-1/document-classifier/*',
    ]);
    expect(resourcesFor('s3:PutObject')).toEqual([
      'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/runs/*',
    ]);
    expect(resourcesFor('codepipeline:PutJobSuccessResult')).toEqual(['*']);
  });

  test('the regression gate reads only the baseline and its per-example results, and writes only run records', () => {
    const statements = statementsOf('RegressionGateRole');
    const resourcesFor = (action: string) =>
      statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
    expect(resourcesFor('s3:GetObject')).toEqual([
      'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/baseline/baseline_metrics.json',
      'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/baseline/predictions/*',
    ]);
    expect(resourcesFor('s3:PutObject')).toEqual([
      'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/runs/*',
    ]);
    expect(actionsOf('RegressionGateRole')).not.toContain('secretsmanager:GetSecretValue');
  });

  test('the PR comment reads the GitHub App key secret and the PR and release pipelines, no other pipeline', () => {
    const statements = statementsOf('PrCommentRole');
    const resourcesFor = (action: string) =>
      statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
    expect(JSON.stringify(resourcesFor('secretsmanager:GetSecretValue'))).toContain(
      ':secret:mlops/github-app-private-key-??????',
    );
    const pipelineArn = (name: string) => `arn:aws:codepipeline:eu-west-1:123456789012:${name}`;
    for (const action of ['codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions']) {
      expect(resourcesFor(action)).toEqual([
        pipelineArn('mlops-document-classifier-pr'),
        pipelineArn('mlops-document-classifier-release'),
      ]);
    }
  });

  test('the PR comment writes only its kept alarm calibrations, and reads them back', () => {
    const statements = statementsOf('PrCommentRole');
    const resourcesFor = (action: string) =>
      statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
    const calibrations =
      'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/alarm-calibration/*';
    expect(resourcesFor('s3:PutObject')).toEqual([calibrations]);
    expect(resourcesFor('s3:GetObject')).toContain(calibrations);
    expect(resourcesFor('kms:GenerateDataKey')).toHaveLength(1);
    expect(JSON.stringify(resourcesFor('kms:GenerateDataKey'))).not.toContain('"*"');
  });

  test('a failed PR pipeline still reaches the PR comment function', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.codepipeline'],
        'detail-type': ['CodePipeline Pipeline Execution State Change'],
        detail: { pipeline: [Match.anyValue()], state: ['FAILED'] },
      },
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
  });

  test("the release pipeline's Shadow stage success reaches the PR comment function", () => {
    const [releasePipelineId] = Object.entries(resources).find(
      ([, r]) =>
        r.Type === 'AWS::CodePipeline::Pipeline' && r.Properties.Name === 'mlops-document-classifier-release',
    )!;
    const rule = Object.values(resources).find(
      (r) =>
        r.Type === 'AWS::Events::Rule' &&
        r.Properties.Name === 'mlops-document-classifier-release-shadow-done',
    );
    expect(rule?.Properties.EventPattern).toEqual({
      source: ['aws.codepipeline'],
      'detail-type': ['CodePipeline Stage Execution State Change'],
      detail: { pipeline: [{ Ref: releasePipelineId }], stage: ['Shadow'], state: ['SUCCEEDED'] },
    });
    const [prCommentId] = Object.entries(resources).find(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Function' &&
        r.Properties.FunctionName === 'mlops-document-classifier-pr-comment',
    )!;
    expect(rule?.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [prCommentId, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 2 },
      }),
    ]);
  });

  test('outputs name both pipelines', () => {
    const outputs = template.toJSON().Outputs;
    expect(outputs.PrPipeline).toBeDefined();
    expect(outputs.ReleasePipeline).toBeDefined();
  });

  test('a model that omits every optional section still gets a working PR pipeline with the defaults', () => {
    const fixture = new ConfigFixture().write(
      EXAMPLE_MODEL,
      [
        'name: document-classifier',
        'description: Minimal model',
        'owner: { team: t, contact: t@example.com }',
        'repository: { owner: o, name: r }',
        'codeQuality: { commands: [make test] }',
        'evaluation: { command: make evaluate }',
        'evalSets:',
        '  - { name: golden_set, kind: benchmark, dvcFile: a.dvc, referenceDvcFile: b.dvc }',
        'serving: { instanceType: ml.m5.large }',
      ].join('\n'),
    );
    try {
      const t = Template.fromStack(buildPlatform(newApp(), fixture.load()).models[0]);
      const pr = Object.values(t.toJSON().Resources as Record<string, any>).find(
        (r) =>
          r.Type === 'AWS::CodePipeline::Pipeline' && r.Properties.Name === 'mlops-document-classifier-pr',
      );
      expect(pr.Properties.Triggers[0].GitConfiguration.PullRequest[0].FilePaths.Includes).toEqual([
        'ml/**',
        'data/features/**',
        'configs/model_*.yaml',
      ]);
      t.hasResourceProperties('AWS::CodeBuild::Project', {
        Name: 'mlops-document-classifier-evaluation',
        TimeoutInMinutes: 60,
        Environment: Match.objectLike({ Type: 'LINUX_GPU_CONTAINER', ComputeType: 'BUILD_GENERAL1_LARGE' }),
      });
      const project = Object.values(t.toJSON().Resources as Record<string, any>).find(
        (r) =>
          r.Type === 'AWS::CodeBuild::Project' &&
          r.Properties.Name === 'mlops-document-classifier-code-quality',
      );
      expect(JSON.parse(project.Properties.Source.BuildSpec).phases.install).toBeUndefined();
    } finally {
      fixture.dispose();
    }
  });
});

describe('images by digest', () => {
  const DIGEST = `sha256:${'0a'.repeat(32)}`;

  test('an evaluation image with a digest is pulled by digest, a tag alone stays by tag', () => {
    const fixture = new ConfigFixture().edit(
      EXAMPLE_MODEL,
      "    tag: 2.6.0-gpu-py312-cu126-ubuntu22.04-ec2\n    account: '763104351884'\n",
      `    tag: 2.6.0-gpu-py312-cu126-ubuntu22.04-ec2\n    account: '763104351884'\n    digest: ${DIGEST}\n`,
    );
    try {
      const t = Template.fromStack(buildPlatform(newApp(), fixture.load()).models[0]);
      const images = Object.values(t.toJSON().Resources as Record<string, any>)
        .filter((r) => r.Type === 'AWS::CodeBuild::Project' && /evaluation$/.test(r.Properties.Name))
        .map((r) => JSON.stringify(r.Properties.Environment.Image));
      expect(images).toHaveLength(2);
      for (const image of images) {
        expect(image).toContain(`/pytorch-training@${DIGEST}`);
        expect(image).not.toContain(':2.6.0-gpu');
      }
    } finally {
      fixture.dispose();
    }
  });

  test('a malformed digest is a config problem naming the key', () => {
    const fixture = new ConfigFixture().edit(
      EXAMPLE_MODEL,
      "    tag: 2.6.0-gpu-py312-cu126-ubuntu22.04-ec2\n    account: '763104351884'\n",
      "    tag: 2.6.0-gpu-py312-cu126-ubuntu22.04-ec2\n    account: '763104351884'\n    digest: latest\n",
    );
    try {
      expect(() => fixture.load()).toThrow(
        /evaluation\.image\.digest: .*an image digest like sha256:<64 lowercase hex digits>/,
      );
    } finally {
      fixture.dispose();
    }
  });
});
