import { Template } from 'aws-cdk-lib/assertions';
import type { ModelConfig, PlatformConfig } from '../../lambdas/core/contracts/config-schema';
import { servingProblems } from '../../lib/constructs/model-endpoint';
import { buildPlatform } from '../../lib/platform';
import { promotionLiveEnvSchema, servingEnvSchema } from '../../lambdas/core/contracts/handler-env';
import { ConfigFixture, EXAMPLE_MODEL, newApp, shippedConfig } from '../helpers/config-fixture';
import { shippedPlatform } from '../helpers/shipped-platform';

// GIVEN the shipped config, WHEN the platform is built, THEN the model stack has its serving.
const config = shippedConfig();
const template = shippedPlatform().models[0]!.template;
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

function statementsOf(rolePart: string): any[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref.includes(rolePart)))
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
}

const actionsOf = (rolePart: string) =>
  [...new Set(statementsOf(rolePart).flatMap((s) => [s.Action].flat()))].sort();

function functionNamed(name: string) {
  const found = ofType('AWS::Lambda::Function').find(([, r]) => r.Properties.FunctionName === name);
  if (!found) throw new Error(`no function ${name}`);
  return found[1].Properties;
}

function alarmNamed(name: string) {
  const found = ofType('AWS::CloudWatch::Alarm').find(([, r]) => r.Properties.AlarmName === name);
  if (!found) throw new Error(`no alarm ${name}`);
  return found[1].Properties;
}

function pipeline(name: string) {
  const found = ofType('AWS::CodePipeline::Pipeline').find(([, r]) => r.Properties.Name === name);
  if (!found) throw new Error(`no pipeline ${name}`);
  return found[1].Properties;
}

const model = (edit: (m: any) => void = () => undefined): ModelConfig => {
  const copy = structuredClone(config.models[0]) as any;
  edit(copy);
  return copy as ModelConfig;
};

describe('ModelEndpoint', () => {
  test('the endpoints are not CloudFormation resources: the release path owns them', () => {
    // A CloudFormation-owned endpoint would drift at the first release, and a later deploy
    // touching it would put the first model back (docs/serving.md).
    for (const type of [
      'AWS::SageMaker::Endpoint',
      'AWS::SageMaker::EndpointConfig',
      'AWS::SageMaker::Model',
    ]) {
      expect(ofType(type)).toEqual([]);
    }
    template.hasOutput('LiveEndpoint', { Value: 'mlops-document-classifier-live' });
    template.hasOutput('StandbyEndpoint', { Value: 'mlops-document-classifier-standby' });
  });

  test('the release pipeline shadows, canaries and promotes after the gates; the PR pipeline never deploys', () => {
    const stageNames = (p: any) => p.Stages.map((s: any) => s.Name);
    expect(stageNames(pipeline('mlops-document-classifier-release'))).toEqual([
      'Source',
      'CodeQuality',
      'DataValidation',
      'ModelEvaluation',
      'RegressionGate',
      'PublishModel',
      'Shadow',
      'Canary',
      'Promotion',
    ]);
    expect(stageNames(pipeline('mlops-document-classifier-pr'))).not.toContain('Canary');
    const release = pipeline('mlops-document-classifier-release');
    for (const stage of ['Shadow', 'Canary', 'Promotion']) {
      const action = release.Stages.find((s: any) => s.Name === stage).Actions[0];
      expect(action.ActionTypeId).toMatchObject({ Category: 'Invoke', Provider: 'Lambda' });
      expect(JSON.parse(action.Configuration.UserParameters)).toEqual({
        executionId: '#{codepipeline.PipelineExecutionId}',
        pipeline: 'release',
        commitId: '#{SourceVariables.CommitId}',
      });
    }
  });

  test('every evaluation build learns its run (to find its eval-set files); only the release its commit', () => {
    const evalAction = (name: string) =>
      pipeline(name).Stages.find((s: any) => s.Name === 'ModelEvaluation').Actions[0].Configuration;
    const run = {
      name: 'PIPELINE_EXECUTION_ID',
      type: 'PLAINTEXT',
      value: '#{codepipeline.PipelineExecutionId}',
    };
    expect(JSON.parse(evalAction('mlops-document-classifier-release').EnvironmentVariables)).toEqual([
      run,
      { name: 'COMMIT_ID', type: 'PLAINTEXT', value: '#{SourceVariables.CommitId}' },
    ]);
    expect(JSON.parse(evalAction('mlops-document-classifier-pr').EnvironmentVariables)).toEqual([run]);
  });

  test('every serving function gets exactly the environment its handler parses', () => {
    for (const stage of ['shadow', 'canary', 'promotion']) {
      const fn = functionNamed(`mlops-document-classifier-${stage}`);
      const env = fn.Environment.Variables;
      const keys = Object.keys(env).filter((k) => !['POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS'].includes(k));
      // Canary (at its pass) and promotion also point the flag and the confidence alarm at the new model.
      const extra = stage === 'shadow' ? [] : Object.keys(promotionLiveEnvSchema.shape);
      expect(keys.sort()).toEqual([...Object.keys(servingEnvSchema.shape), ...extra].sort());
      expect(env).toMatchObject({
        MODEL_NAME: 'document-classifier',
        SERVING_NAME_PREFIX: 'mlops-document-classifier',
        LIVE_ENDPOINT: 'mlops-document-classifier-live',
        STANDBY_ENDPOINT: 'mlops-document-classifier-standby',
        DATA_CAPTURE_S3_URI: 's3://mlops-data-capture-123456789012-eu-west-1/document-classifier',
        ARTIFACTS_BUCKET: 'mlops-artifacts-123456789012-eu-west-1',
        // The last one stops a canary's deployment when a person rolls the candidate back.
        ROLLBACK_ALARMS:
          'mlops-document-classifier-live-5xx-rate,mlops-document-classifier-live-p99-model-latency,mlops-document-classifier-live-confidence,mlops-document-classifier-live-rollback-requested',
      });
      expect(JSON.stringify(env.INFERENCE_IMAGE)).toContain('763104351884.dkr.ecr.eu-west-1.');
      expect(JSON.stringify(env.INFERENCE_IMAGE)).toContain(
        '/pytorch-inference:2.6.0-gpu-py312-cu124-ubuntu22.04-sagemaker',
      );
      expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
    }
  });

  test('the execution role is assumed by SageMaker and may touch only its archives, capture, key, image and logs', () => {
    const [roleId, role] = ofType('AWS::IAM::Role').find(
      ([, r]) =>
        r.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service === 'sagemaker.amazonaws.com',
    )!;
    // Only SageMaker working for this account (confused deputy).
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'sagemaker.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
      },
    ]);
    expect(actionsOf(roleId)).toEqual([
      'cloudwatch:DescribeAlarms',
      'cloudwatch:PutMetricData',
      'ecr:BatchCheckLayerAvailability',
      'ecr:BatchGetImage',
      'ecr:GetAuthorizationToken',
      'ecr:GetDownloadUrlForLayer',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:DescribeLogStreams',
      'logs:PutLogEvents',
      's3:GetObject',
      's3:PutObject',
    ]);
    const statements = statementsOf(roleId);
    const resourceOf = (action: string) =>
      JSON.stringify(statements.filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource));
    expect(resourceOf('s3:GetObject')).toContain(
      'mlops-artifacts-123456789012-eu-west-1/models/document-classifier/archives/sha256/*',
    );
    expect(resourceOf('s3:GetObject')).not.toContain('/runs/');
    // SageMaker reads every auto-rollback alarm with this role, the rollback-requested one included
    // (deployment-guardrails-configuration.html: DescribeAlarms on the alarms the deployment lists).
    for (const name of ['5xx-rate', 'p99-model-latency', 'confidence', 'rollback-requested']) {
      expect(resourceOf('cloudwatch:DescribeAlarms')).toContain(
        `:alarm:mlops-document-classifier-live-${name}"`,
      );
    }
    expect(resourceOf('s3:PutObject')).toContain(
      'mlops-data-capture-123456789012-eu-west-1/document-classifier/*',
    );
    expect(resourceOf('ecr:BatchGetImage')).toContain(':763104351884:repository/pytorch-inference');
    // Exactly the two endpoints' log groups, which the stack creates: no pattern, no CreateLogGroup.
    const logGroupIds = ofType('AWS::Logs::LogGroup')
      .filter(([, r]) => r.Properties.LogGroupName.startsWith('/aws/sagemaker/Endpoints/'))
      .map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] }));
    expect(JSON.parse(resourceOf('logs:PutLogEvents'))).toEqual([logGroupIds]);
    const putMetric = statements.find((s) => s.Action === 'cloudwatch:PutMetricData');
    expect(putMetric.Condition).toEqual({
      StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'AWS/SageMaker'] },
    });
  });

  test("the endpoints' log groups exist before the first release, with retention and the platform key, and outlive the stack", () => {
    const groups = ofType('AWS::Logs::LogGroup').filter(([, r]) =>
      r.Properties.LogGroupName.startsWith('/aws/sagemaker/Endpoints/'),
    );
    expect(groups.map(([, r]) => r.Properties.LogGroupName).sort()).toEqual([
      '/aws/sagemaker/Endpoints/mlops-document-classifier-live',
      '/aws/sagemaker/Endpoints/mlops-document-classifier-standby',
    ]);
    for (const [id, group] of groups) {
      expect(group.Properties.RetentionInDays).toBe(90);
      expect(JSON.stringify(group.Properties.KmsKeyId)).toContain('PlatformKey');
      expect((template.toJSON().Resources[id] as { DeletionPolicy: string }).DeletionPolicy).toBe('Retain');
    }
  });

  test("the canary may create and update only this model's SageMaker resources, pass only the execution role", () => {
    const canaryRole = functionNamed('mlops-document-classifier-canary').Role['Fn::GetAtt'][0];
    expect(actionsOf(canaryRole)).toEqual([
      // At its pass the canary points the flag at the candidate (lambdas/canary/commit.ts).
      'appconfig:CreateHostedConfigurationVersion',
      'appconfig:GetDeployment',
      'appconfig:GetHostedConfigurationVersion',
      'appconfig:ListDeployments',
      'appconfig:ListHostedConfigurationVersions',
      'appconfig:StartDeployment',
      'application-autoscaling:DeleteScalingPolicy',
      'application-autoscaling:DeregisterScalableTarget',
      'application-autoscaling:DescribeScalableTargets',
      'application-autoscaling:DescribeScalingPolicies',
      'application-autoscaling:PutScalingPolicy',
      'application-autoscaling:RegisterScalableTarget',
      'cloudwatch:DescribeAlarms',
      // ... and re-plans the confidence alarm for it.
      'cloudwatch:PutMetricAlarm',
      'cloudwatch:SetAlarmState',
      'codepipeline:PutJobFailureResult',
      'codepipeline:PutJobSuccessResult',
      'iam:CreateServiceLinkedRole',
      'iam:PassRole',
      'kms:CreateGrant',
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
      'sagemaker:AddTags',
      'sagemaker:CreateEndpoint',
      'sagemaker:CreateEndpointConfig',
      'sagemaker:CreateModel',
      'sagemaker:DescribeEndpoint',
      'sagemaker:DescribeEndpointConfig',
      'sagemaker:DescribeModel',
      'sagemaker:ListTags',
      'sagemaker:UpdateEndpoint',
      'sagemaker:UpdateEndpointWeightsAndCapacities',
      'ssm:DescribeParameters',
      'ssm:GetParameter',
      'ssm:GetParameterHistory',
      'ssm:GetParameters',
    ]);
    const statements = statementsOf(canaryRole);
    const passRole = statements.find((s) => s.Action === 'iam:PassRole');
    expect(passRole.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
    });
    const grant = statements.find((s) => [s.Action].flat().includes('kms:CreateGrant'));
    expect(grant.Condition).toEqual({ Bool: { 'kms:GrantIsForAWSResource': 'true' } });
    const endpointStatement = statements.find((s) => [s.Action].flat().includes('sagemaker:UpdateEndpoint'));
    const resources = JSON.stringify(endpointStatement.Resource);
    expect(resources).toContain(':endpoint/mlops-document-classifier-live');
    expect(resources).toContain(':endpoint/mlops-document-classifier-standby');
    expect(resources).toContain(':endpoint-config/mlops-document-classifier-????????-live');
    expect(resources).not.toContain('*');
    // The guardrails hold in IAM too: isolation on CreateModel, the platform key on the volumes.
    const only = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    expect(only('sagemaker:CreateModel')).toEqual([
      expect.objectContaining({
        Action: 'sagemaker:CreateModel',
        Condition: { Bool: { 'sagemaker:NetworkIsolation': 'true' } },
      }),
    ]);
    expect(only('sagemaker:CreateEndpointConfig')).toEqual([
      expect.objectContaining({
        Action: 'sagemaker:CreateEndpointConfig',
        Condition: { StringEquals: { 'sagemaker:VolumeKmsKey': expect.anything() } },
      }),
    ]);
    // Autoscaling: SageMaker variants' instance counts only.
    expect(only('application-autoscaling:RegisterScalableTarget')[0].Condition).toEqual({
      StringEquals: {
        'application-autoscaling:service-namespace': 'sagemaker',
        'application-autoscaling:scalable-dimension': 'sagemaker:variant:DesiredInstanceCount',
      },
    });
  });

  test('only promotion may write the baseline and the release records; canary and promotion the serving state; only shadow reads data capture', () => {
    const roleOf = (stage: string) =>
      functionNamed(`mlops-document-classifier-${stage}`).Role['Fn::GetAtt'][0];
    const written = (stage: string) =>
      JSON.stringify(
        statementsOf(roleOf(stage))
          .filter((s) => [s.Action].flat().includes('s3:PutObject'))
          .map((s) => s.Resource),
      );
    expect(written('promotion')).toContain('models/document-classifier/baseline/baseline_metrics.json');
    expect(written('promotion')).toContain('models/document-classifier/baseline/predictions/*');
    expect(written('promotion')).toContain('models/document-classifier/releases/*');
    expect(written('promotion')).toContain('models/document-classifier/serving/state.json');
    // The canary commits the serving state when the candidate serves, and the candidate's confidence
    // baseline record (serving/confidence-baselines/), never the baseline report.
    expect(written('canary')).toContain('models/document-classifier/serving/state.json');
    expect(written('shadow')).not.toContain('serving/');
    for (const stage of ['shadow', 'canary']) {
      expect(written(stage)).not.toContain('baseline/');
      expect(written(stage)).not.toContain('baseline_metrics');
      expect(written(stage)).not.toContain('releases');
    }
    const shadowList = statementsOf(roleOf('shadow')).find(
      (s) => s.Action === 's3:ListBucket' && s.Condition !== undefined,
    );
    expect(shadowList.Condition).toEqual({ StringLike: { 's3:prefix': ['document-classifier/*'] } });
    expect(JSON.stringify(statementsOf(roleOf('canary')))).not.toContain('data-capture');
  });

  test('the auto-rollback alarms watch the live variant and say what to do', () => {
    const rate = alarmNamed('mlops-document-classifier-live-5xx-rate');
    expect(rate).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'notBreaching',
    });
    const byId = Object.fromEntries(rate.Metrics.map((m: any) => [m.Id, m]));
    expect(byId.expr_1 ?? Object.values(byId).find((m: any) => m.Expression)).toMatchObject({
      Expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
    });
    expect(byId.errors.MetricStat).toMatchObject({
      Metric: {
        Namespace: 'AWS/SageMaker',
        MetricName: 'Invocation5XXErrors',
        Dimensions: [
          { Name: 'EndpointName', Value: 'mlops-document-classifier-live' },
          { Name: 'VariantName', Value: 'live' },
        ],
      },
      Period: 60,
      Stat: 'Sum',
    });
    expect(rate.AlarmDescription).toContain('SageMaker rolls the update back');
    const latency = alarmNamed('mlops-document-classifier-live-p99-model-latency');
    expect(latency).toMatchObject({
      MetricName: 'ModelLatency',
      Namespace: 'AWS/SageMaker',
      ExtendedStatistic: 'p99',
      Period: 60,
      // 250 ms in the shipped config; SageMaker reports microseconds.
      Threshold: 250_000,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
    });
    for (const alarm of [rate, latency]) {
      // The shared stack's paging topic, referenced across stacks.
      expect(JSON.stringify(alarm.AlarmActions)).toMatch(/"StackName":"mlops-shared".*Paging/);
    }
  });
});

describe('servingProblems: what SageMaker would refuse fails the synth', () => {
  test('the shipped config has none', () => {
    expect(servingProblems(config.models[0], 'mlops-document-classifier')).toEqual([]);
  });

  test('a fleet of one cannot have a canary', () => {
    const problems = servingProblems(
      model((m) => {
        m.serving.initialInstanceCount = 1;
        m.serving.autoscaling.minInstances = 1;
      }),
      'p-m',
    );
    expect(problems).toEqual([expect.stringMatching(/canary/i)]);
  });

  test('autoscaling limits that exclude the initial count', () => {
    const problems = servingProblems(
      model((m) => {
        m.serving.autoscaling.minInstances = 3;
      }),
      'p-m',
    );
    expect(problems).toEqual([
      expect.stringContaining('initialInstanceCount 2 is outside the autoscaling limits 3..6'),
    ]);
  });

  test('a data-capture sampling that is not a whole percentage', () => {
    const problems = servingProblems(
      model((m) => {
        m.serving.dataCapture.samplingPercent = 12.5;
      }),
      'p-m',
    );
    expect(problems).toHaveLength(2); // live and standby configs
    expect(problems[0]).toContain('data capture sampling 12.5 % is not a whole percentage');
  });

  test('a shadow sampling outside 1..100', () => {
    expect(
      servingProblems(
        model((m) => {
          m.serving.shadow.samplingPercent = 0;
        }),
        'p-m',
      ),
    ).toEqual([expect.stringContaining('sampling 0 % is outside 1..100 %')]);
  });

  test('the synth fails with the problem when a config bypasses the schema', () => {
    const broken: PlatformConfig = {
      ...config,
      models: [model((m) => (m.serving.dataCapture.samplingPercent = 12.5))],
    };
    const app = newApp();
    buildPlatform(app, broken);
    expect(() => app.synth()).toThrow(/data capture sampling 12\.5 % is not a whole percentage/);
  });
});

describe('the inference image by digest', () => {
  test('a digest in serving.image makes every serving function create models from the image by digest', () => {
    const digest = `sha256:${'1b'.repeat(32)}`;
    const fixture = new ConfigFixture().edit(
      EXAMPLE_MODEL,
      "    tag: 2.6.0-gpu-py312-cu124-ubuntu22.04-sagemaker\n    account: '763104351884'\n",
      `    tag: 2.6.0-gpu-py312-cu124-ubuntu22.04-sagemaker\n    account: '763104351884'\n    digest: ${digest}\n`,
    );
    try {
      const t = Template.fromStack(buildPlatform(newApp(), fixture.load()).models[0]!);
      const fns = Object.values(t.toJSON().Resources as Record<string, any>).filter(
        (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.INFERENCE_IMAGE,
      );
      expect(fns.length).toBeGreaterThanOrEqual(3);
      for (const fn of fns) {
        const image = JSON.stringify(fn.Properties.Environment.Variables.INFERENCE_IMAGE);
        expect(image).toContain(`/pytorch-inference@${digest}`);
      }
    } finally {
      fixture.dispose();
    }
  });
});
