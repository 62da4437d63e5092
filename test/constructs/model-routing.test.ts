import { Match } from 'aws-cdk-lib/assertions';
import { PREDICTION_COLUMNS } from '../../lib/stacks/shared-stack';
import { flagDocumentJsonSchema } from '../../lambdas/core/routing/flags';
import { routerEnvSchema } from '../../lambdas/core/contracts/router-env';
import { shippedPlatform } from '../helpers/shipped-platform';

// GIVEN the shipped config, WHEN the platform is built, THEN each model has its routing.
const { shared, models } = shippedPlatform();
const template = models[0]!.template;
const sharedTemplate = shared.template;
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

function functionNamed(name: string) {
  const found = ofType('AWS::Lambda::Function').find((r) => r.Properties.FunctionName === name);
  if (!found) throw new Error(`no function ${name}`);
  return found.Properties;
}

function statementsOfFunction(name: string): any[] {
  const roleId = functionNamed(name).Role['Fn::GetAtt'][0];
  return ofType('AWS::IAM::Policy')
    .filter((r) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}

const actionsOf = (name: string) =>
  [...new Set(statementsOfFunction(name).flatMap((s) => [s.Action].flat()))].sort();

describe('ModelRouting', () => {
  test('the flag: AppConfig application, environment and a profile whose JSON Schema refuses a bad document', () => {
    template.hasResourceProperties('AWS::AppConfig::Application', { Name: 'mlops-document-classifier' });
    template.hasResourceProperties('AWS::AppConfig::Environment', { Name: 'live' });
    const [profile] = ofType('AWS::AppConfig::ConfigurationProfile');
    expect(profile.Properties).toMatchObject({
      Name: 'model-version',
      LocationUri: 'hosted',
      Type: 'AWS.Freeform',
    });
    expect(profile.Properties.Validators).toHaveLength(1);
    expect(profile.Properties.Validators[0].Type).toBe('JSON_SCHEMA');
    expect(JSON.parse(profile.Properties.Validators[0].Content)).toEqual(flagDocumentJsonSchema());
    // All at once by default: a rollback through the flag cannot wait for a linear rollout.
    template.hasResourceProperties('AWS::AppConfig::DeploymentStrategy', {
      DeploymentDurationInMinutes: 0,
      FinalBakeTimeInMinutes: 0,
      GrowthFactor: 100,
      ReplicateTo: 'NONE',
    });
  });

  test('the flag content is not a CloudFormation resource: promotion and rollback own it', () => {
    expect(ofType('AWS::AppConfig::HostedConfigurationVersion')).toEqual([]);
    expect(ofType('AWS::AppConfig::Deployment')).toEqual([]);
  });

  test('the router: IAM-authorised function URL, streamed responses, throttled by reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      InvokeMode: 'RESPONSE_STREAM',
    });
    const router = functionNamed('mlops-document-classifier-router');
    expect(router.ReservedConcurrentExecutions).toBe(50);
    // 2000 ms × (1 retry + 1) + 10 s for the log flush.
    expect(router.Timeout).toBe(14);
    const env = router.Environment.Variables;
    const contract = Object.keys(routerEnvSchema.shape).filter((k) => !k.startsWith('POWERTOOLS_'));
    expect(
      Object.keys(env)
        .filter((k) => !['POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS'].includes(k))
        .sort(),
    ).toEqual(contract.sort());
    expect(env).toMatchObject({
      MODEL_NAME: 'document-classifier',
      EXPERIMENT: 'ab',
      LIVE_ENDPOINT: 'mlops-document-classifier-live',
      STANDBY_ENDPOINT: 'mlops-document-classifier-standby',
      APPCONFIG_APPLICATION: 'mlops-document-classifier',
      APPCONFIG_ENVIRONMENT: 'live',
      APPCONFIG_PROFILE: 'model-version',
      FLAG_CACHE_SECONDS: '30',
      ROUTER_TIMEOUT_MS: '2000',
      ROUTER_RETRIES: '1',
    });
  });

  test('the router may invoke only the two endpoints, read only its flag and key, and write only its log', () => {
    expect(actionsOf('mlops-document-classifier-router')).toEqual([
      'appconfig:GetLatestConfiguration',
      'appconfig:StartConfigurationSession',
      'firehose:PutRecord',
      'firehose:PutRecordBatch',
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey*',
      'kms:ReEncrypt*',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sagemaker:InvokeEndpoint',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
    const invoke = statementsOfFunction('mlops-document-classifier-router').find(
      (s) => s.Action === 'sagemaker:InvokeEndpoint',
    );
    const resources = JSON.stringify(invoke.Resource);
    expect(resources).toContain(':endpoint/mlops-document-classifier-live');
    expect(resources).toContain(':endpoint/mlops-document-classifier-standby');
    expect(invoke.Resource).toHaveLength(2);
  });

  test('prediction logs: encrypted Firehose to the prediction-log bucket, by model and UTC day, gzip', () => {
    const [stream] = ofType('AWS::KinesisFirehose::DeliveryStream');
    expect(stream.Properties.DeliveryStreamName).toBe('mlops-document-classifier-predictions');
    expect(stream.Properties.DeliveryStreamEncryptionConfigurationInput).toMatchObject({
      KeyType: 'CUSTOMER_MANAGED_CMK',
    });
    const s3 = stream.Properties.ExtendedS3DestinationConfiguration;
    expect(s3).toMatchObject({
      Prefix: 'model=document-classifier/dt=!{timestamp:yyyy-MM-dd}/',
      ErrorOutputPrefix:
        'errors/model=document-classifier/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
      CompressionFormat: 'GZIP',
      BufferingHints: { IntervalInSeconds: 60 },
    });
    expect(JSON.stringify(s3.BucketARN)).toContain('mlops-prediction-logs-123456789012-eu-west-1');
    expect(s3.EncryptionConfiguration.KMSEncryptionConfig).toBeDefined();
  });

  test('nothing is lost: a KMS-encrypted fallback queue with a dead-letter queue, drained by the replay function', () => {
    const queues = ofType('AWS::SQS::Queue');
    const fallback = queues.find(
      (q) => q.Properties.QueueName === 'mlops-document-classifier-prediction-log-fallback',
    );
    expect(fallback!.Properties).toMatchObject({
      MessageRetentionPeriod: 14 * 24 * 3600,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    for (const q of queues) expect(q.Properties.KmsMasterKeyId).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: Match.anyValue(),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
    expect(actionsOf('mlops-document-classifier-prediction-log-replay')).toEqual(
      expect.arrayContaining(['firehose:PutRecordBatch', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']),
    );
  });

  test("one Glue table over every model's logs, with partition projection on model and day", () => {
    sharedTemplate.hasResourceProperties('AWS::Glue::Database', {
      DatabaseInput: { Name: 'mlops_predictions' },
    });
    const table = sharedTemplate.findResources('AWS::Glue::Table');
    const input = (Object.values(table)[0] as any).Properties.TableInput;
    expect(input.Name).toBe('predictions');
    expect(input.PartitionKeys).toEqual([
      { Name: 'model', Type: 'string' },
      { Name: 'dt', Type: 'string' },
    ]);
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.model.type': 'injected',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
    });
    expect(JSON.stringify(input.Parameters['storage.location.template'])).toContain(
      '/model=${model}/dt=${dt}/',
    );
    expect(input.StorageDescriptor.Columns.map((c: any) => c.Name)).toEqual(
      PREDICTION_COLUMNS.map(([n]) => n),
    );
  });

  test('Athena: a workgroup per model that enforces encrypted results and a bytes-scanned limit', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'mlops-document-classifier-analysis',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10_000_000_000,
        ResultConfiguration: {
          OutputLocation: 's3://mlops-athena-results-123456789012-eu-west-1/document-classifier/',
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS' },
        },
      },
    });
  });

  test('the nightly analysis is scheduled, retried, and its failures kept in a dead-letter queue', () => {
    const [schedule] = ofType('AWS::Scheduler::Schedule');
    expect(schedule.Properties).toMatchObject({
      Name: 'mlops-document-classifier-ab-analysis',
      ScheduleExpression: 'cron(30 2 * * ? *)',
      State: 'ENABLED',
      Target: {
        Input: JSON.stringify({ model: 'document-classifier' }),
        RetryPolicy: { MaximumRetryAttempts: 2 },
      },
    });
    expect(schedule.Properties.Target.DeadLetterConfig.Arn).toBeDefined();
    const analysis = statementsOfFunction('mlops-document-classifier-ab-analysis');
    const putMetric = analysis.find((s) => s.Action === 'cloudwatch:PutMetricData');
    expect(putMetric.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'MLPlatform/AB' } });
    expect(JSON.stringify(analysis)).toContain('model=document-classifier/*');
    // The intended split comes from the prediction log (the flag each request was routed by), not today's flag.
    expect(analysis.map((s) => s.Action).flat()).not.toContain('appconfig:GetLatestConfiguration');
    const fn = ofType('AWS::Lambda::Function').find(
      (r) => r.Properties.FunctionName === 'mlops-document-classifier-ab-analysis',
    );
    expect(Object.keys(fn!.Properties.Environment.Variables)).not.toContain('APPCONFIG_PROFILE');
    // Never the whole bucket: other models' logs are not this function's business.
    const resources = analysis.flatMap((s) => [s.Resource].flat()).filter((r) => typeof r === 'string');
    expect(resources).not.toContain('arn:aws:s3:::mlops-prediction-logs-123456789012-eu-west-1/*');
  });

  test("the nightly analysis reads and writes only its model's A/B reports in the artifacts bucket", () => {
    const analysis = statementsOfFunction('mlops-document-classifier-ab-analysis');
    const resourcesFor = (action: string) =>
      analysis.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
    const reports = 'arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1/models/document-classifier/ab/*';
    // The previous night's report spares most of the flag-history scan; a missing one reads as 404.
    const inArtifacts = (action: string) =>
      resourcesFor(action).filter((r) => JSON.stringify(r).includes('mlops-artifacts-'));
    expect(inArtifacts('s3:GetObject')).toEqual([reports]);
    expect(inArtifacts('s3:PutObject')).toEqual([reports]);
    expect(inArtifacts('s3:ListBucket')).toEqual(['arn:aws:s3:::mlops-artifacts-123456789012-eu-west-1']);
  });
});
