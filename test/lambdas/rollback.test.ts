import { putConfidenceAlarm } from '../helpers/confidence-alarm';
import {
  AppConfigClient,
  ConflictException,
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  ListHostedConfigurationVersionsCommand,
  StartDeploymentCommand,
  StopDeploymentCommand,
  type CreateHostedConfigurationVersionCommandInput,
  type StartDeploymentCommandInput,
} from '@aws-sdk/client-appconfig';
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CloudWatchClient,
  PutMetricDataCommand,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListTagsCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  type DescribeEndpointCommandOutput,
  type EndpointStatus,
  type UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  bandOfZExpression,
  confidenceAlarmDefinition,
  DISARMED_BAND,
  provisionalBand,
} from '../../lambdas/core/monitoring/confidence-alarm';
import type { FlagDocument } from '../../lambdas/core/routing/flags';
import type { RollbackRecord } from '../../lambdas/core/serving/rollback';
import type { ServingState } from '../../lambdas/core/serving/serving-records';
import { createHandler, type Deps, type RollbackResult, type RollbackEnvInput } from '../../lambdas/rollback';
import { rollbackEnv } from '../../lambdas/core/contracts/rollback-env';
import { logger } from '../../lambdas/shared/logger';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const PREFIX = 'mlops-document-classifier';
const LIVE = `${PREFIX}-live`;
const STANDBY = `${PREFIX}-standby`;
const ARTIFACTS = 'mlops-artifacts';
const TABLE = 'mlops-rollbacks';
const STATE_KEY = `models/${MODEL}/serving/state.json`;
const ALARM = `${PREFIX}-confidence`;
const REASON = 'Threshold Crossed: 5 out of the last 5 datapoints were less than the threshold (0.71)';
/** N (live, the bad one) and N-1 (standby), with the names the release stages give them. */
const N = {
  version: '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483',
  exec: '2b3c4d5e-0000-4000-8000-000000000002',
};
const N1 = {
  version: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  exec: '1a2b3c4d-0000-4000-8000-000000000001',
};
const N_MODEL = `${PREFIX}-2b3c4d5e`;
const N1_MODEL = `${PREFIX}-1a2b3c4d`;
const N_LIVE_CONFIG = `${PREFIX}-2b3c4d5e-live`;
const N1_LIVE_CONFIG = `${PREFIX}-1a2b3c4d-live`;
const N1_STANDBY_CONFIG = `${PREFIX}-1a2b3c4d-standby`;
const ENV: Required<Omit<RollbackEnvInput, `POWERTOOLS_${string}`>> = {
  MODEL_NAME: MODEL,
  ARTIFACTS_BUCKET: ARTIFACTS,
  ROLLBACK_TABLE: TABLE,
  PAGING_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:mlops-paging',
  LIVE_ENDPOINT: LIVE,
  STANDBY_ENDPOINT: STANDBY,
  APPCONFIG_APPLICATION_ID: 'app0001',
  APPCONFIG_ENVIRONMENT_ID: 'env0001',
  APPCONFIG_PROFILE_ID: 'prof001',
  APPCONFIG_STRATEGY_ID: 'strat01',
  EXPERIMENT: 'document-classifier-2026-11',
  AUTOSCALING_MIN_INSTANCES: '2',
  AUTOSCALING_MAX_INSTANCES: '8',
  AUTOSCALING_TARGET_INVOCATIONS: '700',
  CONFIDENCE_ALARM_NAME: ALARM,
  CONFIDENCE_ROLLBACK_ACTION_ARN:
    'arn:aws:lambda:eu-west-1:123456789012:function:mlops-document-classifier-rollback',
  CONFIDENCE_PROVISIONAL_STD_DEV: '0.05',
  ROLLBACK_REQUESTED_ALARM_NAME: `${PREFIX}-live-rollback-requested`,
};
const PAGE_ACTION = 'arn:aws:sns:eu-west-1:123456789012:mlops-paging';
/** Live baselines of N (the alarm's band when it fired) and of N-1 (stored when N-1 served). */
const N_BAND = { mean: 0.81, periodVariance: 0.0004 };
const N1_BAND = { mean: 0.86, periodVariance: 0.0009 };
const ALARM_SETTINGS = { stdDevs: 2, breachingPeriods: 5, minRequests: 10, periodSeconds: 60 };
const FLAG = 'AppConfig flag app0001/env0001/prof001';

/** The alarm went to ALARM 42 s before the function starts (T0). */
const T0 = new Date('2026-11-05T10:00:00.000Z');
const RECORD_KEY = `models/${MODEL}/rollbacks/2026-11-05T10:00:00.000Z.json`;
/** How long AppConfig takes to accept a deployment, on the test's clock. */
const START_DEPLOYMENT_MS = 1500;

const servingState: ServingState = {
  schemaVersion: 1,
  model: MODEL,
  live: {
    endpointName: LIVE,
    configName: N_LIVE_CONFIG,
    modelName: N_MODEL,
    modelVersion: N.version,
    executionId: N.exec,
  },
  standby: {
    endpointName: STANDBY,
    configName: N1_STANDBY_CONFIG,
    modelName: N1_MODEL,
    modelVersion: N1.version,
    executionId: N1.exec,
    liveConfigName: N1_LIVE_CONFIG,
  },
  updatedAt: '2026-11-04T12:00:00.000Z',
  updatedBy: 'promotion',
};

/** The flag as the release left it: N stable, a candidate under test. */
const releaseFlag: FlagDocument = {
  schemaVersion: 1,
  model: MODEL,
  experiment: 'checkout-2026-11',
  stable: { modelVersion: N.version, endpoint: 'live' },
  candidate: { modelVersion: '4f1c2e9a0b1c2d3e4f5061728394a5b6c7d8e9f0', endpoint: 'live', percent: 12.5 },
  killSwitch: false,
  updatedBy: 'release-pipeline b59babff',
  updatedAt: '2026-11-04T12:00:00Z',
};

const alarmEvent = (value = 'ALARM') => ({
  source: 'aws.cloudwatch',
  alarmArn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${ALARM}`,
  accountId: '123456789012',
  time: '2026-11-05T09:59:18.000+0000',
  region: 'eu-west-1',
  alarmData: {
    alarmName: ALARM,
    state: { value, reason: REASON, timestamp: '2026-11-05T09:59:18.000+0000' },
    previousState: {
      value: value === 'ALARM' ? 'OK' : 'ALARM',
      reason: '',
      timestamp: '2026-11-05T09:00:00.000+0000',
    },
    configuration: { description: 'Mean confidence below baseline - 2 sigma', metrics: [] },
  },
});

const context = (remainingMs = 600_000) =>
  ({
    functionName: `${PREFIX}-rollback`,
    awsRequestId: 'req-0001',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${PREFIX}-rollback`,
    memoryLimitInMB: '256',
    getRemainingTimeInMillis: () => remainingMs,
  }) as unknown as Context;

/** DescribeEndpoint's answer for an endpoint in `status` on `config`. */
const described = (name: string, status: EndpointStatus, config: string): DescribeEndpointCommandOutput => ({
  EndpointName: name,
  EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${name}`,
  EndpointConfigName: config,
  EndpointStatus: status,
  CreationTime: T0,
  LastModifiedTime: T0,
  $metadata: {},
});

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

/**
 * AppConfig as the handler sees it (moto has no deployments and no LatestVersionNumber check):
 * hosted versions, deployments that finish at once unless told otherwise, and the faults under test.
 */
class FakeAppConfig {
  versions: { number: number; content: string; description: string | undefined }[] = [];
  deployments: { number: number; version: string; state: string; strategy: string | undefined }[] = [];
  /** Every call fails as when AppConfig cannot be reached. */
  unreachable = false;
  /** Runs before each CreateHostedConfigurationVersion is checked: a concurrent writer. */
  beforeCreate: (() => void) | undefined;
  /** The next StartDeployment calls fail with these errors (HTTP 503), one each. */
  startFaults: string[] = [];

  constructor(
    private readonly onDeploy: (input: StartDeploymentCommandInput) => void,
    private readonly advance: (ms: number) => void,
  ) {}

  addVersion(doc: unknown, description?: string): number {
    const number = this.versions.length + 1;
    this.versions.push({ number, content: JSON.stringify(doc), description });
    return number;
  }

  /** The document of the newest deployment, as the router would read it. */
  deployedDocument(): unknown {
    const last = this.deployments.filter((d) => d.state === 'COMPLETE').at(-1);
    const version = this.versions.find((v) => String(v.number) === last?.version);
    return version && JSON.parse(version.content);
  }

  install(stub: ReturnType<typeof mockClient>): void {
    const reachable = () => {
      if (this.unreachable) throw named('TimeoutError', 'connect ETIMEDOUT 52.95.110.1:443');
    };
    stub.on(ListHostedConfigurationVersionsCommand).callsFake(async () => {
      reachable();
      return { Items: this.versions.map((v) => ({ VersionNumber: v.number })) };
    });
    stub.on(GetHostedConfigurationVersionCommand).callsFake(async (input: { VersionNumber: number }) => {
      reachable();
      const v = this.versions.find((x) => x.number === input.VersionNumber)!;
      return {
        VersionNumber: v.number,
        Content: new TextEncoder().encode(v.content),
        ContentType: 'application/json',
      };
    });
    stub
      .on(CreateHostedConfigurationVersionCommand)
      .callsFake(async (input: CreateHostedConfigurationVersionCommandInput) => {
        reachable();
        this.beforeCreate?.();
        const latest = this.versions.at(-1)?.number;
        if (input.LatestVersionNumber !== undefined && input.LatestVersionNumber !== latest) {
          throw new ConflictException({ message: `latest version is ${latest}`, $metadata: {} });
        }
        expect(input.ContentType).toBe('application/json');
        const number = this.addVersion(
          JSON.parse(new TextDecoder().decode(input.Content as Uint8Array)),
          input.Description,
        );
        return { VersionNumber: number };
      });
    stub.on(StartDeploymentCommand).callsFake(async (input: StartDeploymentCommandInput) => {
      reachable();
      const fault = this.startFaults.shift();
      if (fault !== undefined) {
        throw Object.assign(named(fault, 'Service unavailable'), { $metadata: { httpStatusCode: 503 } });
      }
      if (this.deployments.some((d) => ['DEPLOYING', 'BAKING'].includes(d.state))) {
        throw new ConflictException({ message: 'a deployment is in progress', $metadata: {} });
      }
      this.advance(START_DEPLOYMENT_MS);
      const number = this.deployments.length + 1;
      this.deployments.push({
        number,
        version: input.ConfigurationVersion!,
        state: 'COMPLETE',
        strategy: input.DeploymentStrategyId,
      });
      this.onDeploy(input);
      return { DeploymentNumber: number };
    });
    stub.on(ListDeploymentsCommand).callsFake(async () => ({
      Items: [...this.deployments].reverse().map((d) => ({
        DeploymentNumber: d.number,
        ConfigurationVersion: d.version,
        State: d.state,
      })),
    }));
    stub
      .on(StopDeploymentCommand)
      .callsFake(async (input: { DeploymentNumber: number; AllowRevert?: boolean }) => {
        const d = this.deployments.find((x) => x.number === input.DeploymentNumber)!;
        d.state = 'ROLLED_BACK';
        return {};
      });
  }
}

describe('rollback handler', () => {
  const moto = useMoto();
  const handlerSageMaker = new SageMakerClient({ region: 'eu-west-1' });
  const sagemaker = mockClient(handlerSageMaker);
  const appconfigClient = new AppConfigClient({ region: 'eu-west-1' });
  const appconfigStub = mockClient(appconfigClient);
  let sagemakerMoto: SageMakerClient;
  let s3: S3Client;
  let ddb: DynamoDBClient;
  let sqs: SQSClient;
  let cloudwatch: CloudWatchClient;
  let autoscaling: ApplicationAutoScalingClient;
  let queueUrl: string;
  let deps: Deps;
  let clock: Date;
  let sleeps: number[];
  /** What happened, in order: `flag` (a deployment started), `endpoint` (UpdateEndpoint accepted). */
  let steps: string[];
  let appconfig: FakeAppConfig;
  /** Answers DescribeEndpoint instead of moto while it returns something. */
  let describeHook: (name: string) => DescribeEndpointCommandOutput | undefined;
  /** What UpdateEndpoint does; by default what SageMaker ends with: the endpoint on the new config. */
  let onUpdate: (input: UpdateEndpointCommandInput) => Promise<void>;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    process.env.AWS_REGION = 'eu-west-1';
    Object.assign(process.env, ENV);
    sagemakerMoto = new SageMakerClient(moto.clientConfig);
    s3 = new S3Client(moto.clientConfig);
    ddb = new DynamoDBClient(moto.clientConfig);
    sqs = new SQSClient(moto.clientConfig);
    cloudwatch = new CloudWatchClient(moto.clientConfig);
    autoscaling = new ApplicationAutoScalingClient(moto.clientConfig);
    deps = {
      s3,
      dynamodb: ddb,
      sns: new SNSClient(moto.clientConfig),
      sagemaker: handlerSageMaker,
      cloudwatch,
      appconfig: appconfigClient,
      autoscaling,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock = new Date(clock.getTime() + ms);
      },
    };
  });

  /** Endpoints between the two moto calls of an update, with the config they served before it. */
  const updating = new Map<string, string | undefined>();

  /**
   * moto has no UpdateEndpoint: the endpoint is deleted and created again on the new config. SageMaker
   * keeps the endpoint through an update ("it sets the endpoint status to Updating. After updating the
   * endpoint, it sets the status to InService", "there is no availability loss":
   * https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html), so between the
   * two calls DescribeEndpoint answers Updating on the old config, not "no such endpoint": a concurrent
   * invocation that looked then (two invocations at once, on a loaded machine) read the endpoint as
   * deleted and refused the rollback as for a retired model.
   */
  async function applyUpdate(input: UpdateEndpointCommandInput): Promise<void> {
    const name = input.EndpointName!;
    const before = await sagemakerMoto.send(new DescribeEndpointCommand({ EndpointName: name }));
    updating.set(name, before.EndpointConfigName);
    try {
      await sagemakerMoto.send(new DeleteEndpointCommand({ EndpointName: name }));
      await sagemakerMoto.send(
        new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: input.EndpointConfigName }),
      );
    } finally {
      updating.delete(name);
    }
  }

  beforeEach(async () => {
    clock = T0;
    sleeps = [];
    steps = [];
    describeHook = () => undefined;
    onUpdate = applyUpdate;
    appconfigStub.reset();
    appconfig = new FakeAppConfig(
      () => steps.push('flag'),
      (ms) => (clock = new Date(clock.getTime() + ms)),
    );
    appconfig.install(appconfigStub);
    appconfig.addVersion(releaseFlag, 'release');
    appconfig.deployments.push({ number: 1, version: '1', state: 'COMPLETE', strategy: 'strat01' });

    sagemaker.reset();
    sagemaker.on(DescribeEndpointCommand).callsFake(async (input: { EndpointName: string }) => {
      if (updating.has(input.EndpointName))
        return described(input.EndpointName, 'Updating', updating.get(input.EndpointName)!);
      return describeHook(input.EndpointName) ?? sagemakerMoto.send(new DescribeEndpointCommand(input));
    });
    sagemaker
      .on(DescribeEndpointConfigCommand)
      .callsFake(async (input) => sagemakerMoto.send(new DescribeEndpointConfigCommand(input)));
    sagemaker
      .on(DescribeModelCommand)
      .callsFake(async (input) => sagemakerMoto.send(new DescribeModelCommand(input)));
    sagemaker.on(ListTagsCommand).callsFake(async (input) => sagemakerMoto.send(new ListTagsCommand(input)));
    sagemaker.on(UpdateEndpointCommand).callsFake(async (input: UpdateEndpointCommandInput) => {
      await onUpdate(input);
      steps.push('endpoint');
      return { EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${input.EndpointName}` };
    });

    // The endpoints as two releases leave them: N live, N-1 warm on standby.
    for (const [model, exec] of [
      [N_MODEL, N.exec],
      [N1_MODEL, N1.exec],
    ] as const) {
      await sagemakerMoto.send(
        new CreateModelCommand({
          ModelName: model,
          ExecutionRoleArn: 'arn:aws:iam::123456789012:role/mlops-document-classifier-sagemaker',
          PrimaryContainer: {
            Image: '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0-gpu',
            ModelDataUrl: `s3://${ARTIFACTS}/models/${MODEL}/runs/${exec}/model.tar.gz`,
          },
        }),
      );
    }
    for (const [config, model, variant] of [
      [N_LIVE_CONFIG, N_MODEL, 'live'],
      [N1_LIVE_CONFIG, N1_MODEL, 'live'],
      [N1_STANDBY_CONFIG, N1_MODEL, 'standby'],
    ] as const) {
      await sagemakerMoto.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: config,
          ProductionVariants: [
            {
              VariantName: variant,
              ModelName: model,
              InitialInstanceCount: 1,
              InstanceType: 'ml.g4dn.xlarge',
            },
          ],
        }),
      );
    }
    await sagemakerMoto.send(
      new CreateEndpointCommand({ EndpointName: LIVE, EndpointConfigName: N_LIVE_CONFIG }),
    );
    await sagemakerMoto.send(
      new CreateEndpointCommand({ EndpointName: STANDBY, EndpointConfigName: N1_STANDBY_CONFIG }),
    );

    await s3.send(
      new CreateBucketCommand({
        Bucket: ARTIFACTS,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    await putState(servingState);
    await ddb.send(
      new CreateTableCommand({
        TableName: TABLE,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // The confidence alarm as N's baseline job left it: armed on N's band, rollback and page actions.
    await putConfidenceAlarm(cloudwatch, {
      name: ALARM,
      model: MODEL,
      definition: confidenceAlarmDefinition(ALARM_SETTINGS, N_BAND),
      actions: [ENV.CONFIDENCE_ROLLBACK_ACTION_ARN, PAGE_ACTION],
      withServiceDimension: false,
    });
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: ALARM, StateValue: 'ALARM', StateReason: REASON }),
    );
    // On-call's pager, read back through an SQS subscription.
    const sns = new SNSClient(moto.clientConfig);
    const topic = await sns.send(new CreateTopicCommand({ Name: 'mlops-paging' }));
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'pager' }))).QueueUrl!;
    const queue = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: topic.TopicArn,
        Protocol: 'sqs',
        Endpoint: queue.Attributes!.QueueArn,
      }),
    );
  });

  const handler = () => createHandler(deps);

  async function putState(state: unknown): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: ARTIFACTS, Key: STATE_KEY, Body: JSON.stringify(state) }));
  }

  async function readJson(key: string): Promise<unknown> {
    const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: key }));
    return JSON.parse(await res.Body!.transformToString());
  }

  /** Every page published since the test started. */
  async function pages(): Promise<{ subject: string; body: string }[]> {
    const out: { subject: string; body: string }[] = [];
    for (;;) {
      const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      if (!res.Messages?.length) return out;
      for (const m of res.Messages) {
        const envelope = JSON.parse(m.Body!) as { Subject: string; Message: string };
        out.push({ subject: envelope.Subject, body: envelope.Message });
      }
    }
  }

  async function ledgerItem(
    sk = `from#${N.version}#${N.exec}`,
  ): Promise<Record<string, AttributeValue> | undefined> {
    const res = await ddb.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: MODEL }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    );
    return res.Item;
  }

  /** TimeToRollbackSeconds datapoints published for the model. */
  async function timeToRollback(): Promise<number[]> {
    const res = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(T0.getTime() - 3_600_000),
        EndTime: new Date(T0.getTime() + 3_600_000),
        MetricDataQueries: [
          {
            Id: 'ttr',
            MetricStat: {
              Metric: {
                Namespace: 'MLPlatform/Rollback',
                MetricName: 'TimeToRollbackSeconds',
                Dimensions: [{ Name: 'Model', Value: MODEL }],
              },
              Period: 60,
              Stat: 'Maximum',
            },
          },
        ],
      }),
    );
    return res.MetricDataResults?.[0]?.Values ?? [];
  }

  const rolledBackState: ServingState = {
    schemaVersion: 1,
    model: MODEL,
    live: {
      endpointName: LIVE,
      configName: N1_LIVE_CONFIG,
      modelName: N1_MODEL,
      modelVersion: N1.version,
      executionId: N1.exec,
    },
    standby: null,
    updatedAt: expect.any(String) as unknown as string,
    updatedBy: 'rollback',
  };

  const rollbackFlag = (by: string): FlagDocument => ({
    schemaVersion: 1,
    model: MODEL,
    experiment: 'checkout-2026-11',
    stable: { modelVersion: N1.version, endpoint: 'standby' },
    candidate: null,
    killSwitch: false,
    updatedBy: `rollback: ${by}`,
    updatedAt: '2026-11-05T10:00:00.000Z',
  });

  const updates = () => sagemaker.commandCalls(UpdateEndpointCommand).map((c) => c.args[0].input);
  const done = (result: RollbackResult) => {
    if (!('record' in result)) throw new Error(`expected a rollback, got ${JSON.stringify(result)}`);
    return result;
  };

  it('GIVEN the live endpoint took more traffic than the one-instance standby carries at the autoscaling target THEN the page says the standby lacks capacity, with the figures and what to do', async () => {
    // 5 minutes at 1400 requests a minute; the standby's 1 instance carries 700 at the target.
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SageMaker',
        MetricData: [1, 2, 3, 4, 5].map((m) => ({
          MetricName: 'Invocations',
          Dimensions: [
            { Name: 'EndpointName', Value: LIVE },
            { Name: 'VariantName', Value: 'live' },
          ],
          Timestamp: new Date(T0.getTime() - m * 60_000 + 1000),
          Value: 1400,
          Unit: 'Count',
        })),
      }),
    );
    const result = done(await handler()(alarmEvent(), context()));

    expect(result.status).toBe('done');
    expect(result.problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^The standby endpoint "${STANDBY}" lacks capacity: it has 1 instance\\(s\\), about 700 requests per minute ` +
            'at the autoscaling target of 700 per instance, and now carries everyone, about 1400 requests per minute ' +
            '\\(2 instance\\(s\\) at the target\\)',
        ),
      ),
    ]);
    const paged = await pages();
    expect(paged[0]!.body).toContain(`lacks capacity`);
    expect(paged[0]!.body).toContain(
      `aws sagemaker update-endpoint-weights-and-capacities --endpoint-name ${STANDBY}`,
    );
  });

  it('GIVEN the confidence alarm fires THEN N-1 serves through the flag first, then the live endpoint gets its config back, and all is recorded', async () => {
    const result = done(await handler()(alarmEvent(), context()));

    expect(result.status).toBe('done');
    expect(result.paged).toBe(true);
    expect(result.problems).toEqual([]);
    // The flag first: that is what makes N-1 serve in seconds.
    expect(steps).toEqual(['flag', 'endpoint']);
    expect(appconfig.deployedDocument()).toEqual(rollbackFlag(`alarm ${ALARM}`));
    expect(appconfig.deployments.at(-1)).toMatchObject({ version: '2', strategy: 'strat01' });
    expect(appconfig.versions[1]!.description).toBe(`rollback to ${N1.version} (alarm ${ALARM}: ${REASON})`);
    // No DeploymentConfig: leaving a bad model is no place for a canary.
    expect(updates()).toEqual([
      { EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG, RetainAllVariantProperties: true },
    ]);

    expect(await readJson(STATE_KEY)).toEqual(rolledBackState);
    const record = (await readJson(RECORD_KEY)) as RollbackRecord;
    expect(record).toEqual(result.record);
    expect(record).toMatchObject({
      status: 'done',
      trigger: { kind: 'alarm', by: `alarm ${ALARM}`, alarmName: ALARM, reason: REASON },
      from: { modelVersion: N.version, executionId: N.exec, configName: N_LIVE_CONFIG },
      to: { modelVersion: N1.version, liveConfigName: N1_LIVE_CONFIG, standbyEndpoint: STANDBY },
      claim: 'claimed',
      flag: {
        outcome: 'deployed',
        label: FLAG,
        versionNumber: 2,
        deploymentNumber: 2,
        stoppedDeployments: [],
      },
      endpoint: { outcome: 'update-started', name: LIVE },
      servingState: { outcome: 'written' },
      startedAt: '2026-11-05T10:00:00.000Z',
      flagDeployedAt: '2026-11-05T10:00:01.500Z',
      endpointUpdateStartedAt: '2026-11-05T10:00:01.500Z',
      durations: { triggerToFlagSeconds: 43.5, triggerToEndpointUpdateSeconds: 43.5 },
    });

    const item = await ledgerItem();
    expect(item).toMatchObject({
      status: { S: 'done' },
      fromVersion: { S: N.version },
      toVersion: { S: N1.version },
      alarmName: { S: ALARM },
      reason: { S: REASON },
      startedAt: { S: '2026-11-05T10:00:00.000Z' },
      flagDeployedAt: { S: '2026-11-05T10:00:01.500Z' },
      endpointUpdateStartedAt: { S: '2026-11-05T10:00:01.500Z' },
      triggerToFlagSeconds: { N: '43.5' },
      recordKey: { S: RECORD_KEY },
    });
    expect(JSON.parse(item!.record!.S!)).toEqual(record);

    const paged = await pages();
    expect(paged).toHaveLength(1);
    expect(paged[0]!.subject).toBe('Rollback done: document-classifier 3f2a9c1d0e8b -> a1b2c3d4e5f6');
    expect(
      paged[0]!.body.startsWith(`${record.summary}\n\nWhat to do:\n1. Check that the live endpoint`),
    ).toBe(true);
    expect(paged[0]!.body).toContain(`"flagDeployedAt": "2026-11-05T10:00:01.500Z"`);

    expect(await timeToRollback()).toEqual([43.5]);
  });

  describe('the confidence alarm after a rollback (issue 13)', () => {
    const baselineKey = (version: string) => `models/${MODEL}/serving/confidence-baselines/${version}.json`;
    const record = (version: string, baseline: typeof N1_BAND | null, evalMean: number | null) => ({
      schemaVersion: 1,
      model: MODEL,
      modelVersion: version,
      servedSince: '2026-10-01T09:00:00.000Z',
      evalMean,
      baseline: baseline && {
        mean: baseline.mean,
        periodVariance: baseline.periodVariance,
        periods: 360,
        requests: 72_000,
        betweenPeriodStdDev: 0.01,
        meanStandardError: 0.0006,
        windowStart: '2026-10-01T09:00:00.000Z',
        windowEnd: '2026-10-01T15:00:00.000Z',
      },
      updatedAt: '2026-10-01T15:05:00.000Z',
      updatedBy: 'baseline job',
    });
    const putRecord = (version: string, body: unknown) =>
      s3.send(
        new PutObjectCommand({ Bucket: ARTIFACTS, Key: baselineKey(version), Body: JSON.stringify(body) }),
      );
    async function alarmNow() {
      const res = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [ALARM] }));
      const a = res.MetricAlarms![0]!;
      return {
        band: bandOfZExpression(a.Metrics!.find((m) => m.Id === 'z')!.Expression!),
        actions: a.AlarmActions,
        state: a.StateValue,
      };
    }

    it("GIVEN N-1 has a stored live baseline THEN the alarm that fired on N is armed on N-1's B at once, not N's", async () => {
      await putRecord(N1.version, record(N1.version, N1_BAND, 0.85));
      await putRecord(N.version, record(N.version, N_BAND, 0.83));
      const before = await alarmNow();
      expect(before).toMatchObject({ band: N_BAND, state: 'ALARM' });

      const result = done(await handler()(alarmEvent(), context()));

      expect(result.problems).toEqual([]);
      expect(result.confidenceAlarm).toContain(`armed on ${N1.version}'s live baseline: mean 0.8600`);
      const after = await alarmNow();
      // The alarm stuck in ALARM on N's band now evaluates N-1's traffic against N-1's band: CloudWatch
      // keeps the state on PutMetricAlarm and re-evaluates it with the new expression (moto instead
      // replaces the alarm, state and all, so the state is not asserted here).
      expect(after.band).toEqual(N1_BAND);
      expect(after.band).not.toEqual(before.band);
      expect(after.actions).toEqual([ENV.CONFIDENCE_ROLLBACK_ACTION_ARN, PAGE_ACTION]);
    });

    it('GIVEN N-1 has a record but no live baseline yet THEN the alarm is provisional around its eval mean and only pages', async () => {
      await putRecord(N1.version, record(N1.version, null, 0.85));

      const result = done(await handler()(alarmEvent(), context()));

      expect(result.problems).toEqual([]);
      expect(result.confidenceAlarm).toContain(`provisional for ${N1.version}`);
      const after = await alarmNow();
      // The eval mean with sd 0.05 (the expression carries the variance to its printed precision).
      const provisional = provisionalBand(0.85, 0.05);
      expect(after.band?.mean).toBe(provisional.mean);
      expect(after.band?.periodVariance).toBeCloseTo(provisional.periodVariance, 12);
      // Provisional pages but cannot roll back (there is nothing left to return to anyway).
      expect(after.actions).toEqual([PAGE_ACTION]);
    });

    it('GIVEN N-1 has no record THEN one is written from now and the alarm cannot roll back on an unknown band', async () => {
      const result = done(await handler()(alarmEvent(), context()));

      expect(result.problems).toEqual([]);
      expect(await readJson(baselineKey(N1.version))).toMatchObject({
        modelVersion: N1.version,
        // When the flag made N-1 serve (START_DEPLOYMENT_MS after T0): its baseline window starts there.
        servedSince: '2026-11-05T10:00:01.500Z',
        evalMean: null,
        baseline: null,
      });
      const after = await alarmNow();
      expect(after.band).toEqual(DISARMED_BAND);
      expect(after.actions).toEqual([PAGE_ACTION]);
    });

    it('GIVEN the alarm cannot be rewritten THEN the rollback still happens and the page says the alarm still judges N-1 by N', async () => {
      await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: [ALARM] }));

      const result = done(await handler()(alarmEvent(), context()));

      expect(result.status).toBe('done');
      expect(result.confidenceAlarm).toBeNull();
      expect(result.problems).toEqual([
        expect.stringContaining(`The confidence alarm ${ALARM} still watches ${N.version}'s band`),
      ]);
      expect((await pages())[0]!.body).toContain(`The confidence alarm ${ALARM} still watches`);
    });
  });

  it('GIVEN a person rolls back from the console THEN the flag and record name them, timed from the request', async () => {
    const result = done(
      await handler()(
        { model: MODEL, reason: 'invoices misclassified since 09:40', requestedBy: 'Jane Doe' },
        context(),
      ),
    );
    expect(result.status).toBe('done');
    expect(appconfig.deployedDocument()).toEqual(rollbackFlag('Jane Doe'));
    expect(result.record.trigger).toEqual({
      kind: 'manual',
      by: 'Jane Doe',
      alarmName: null,
      reason: 'invoices misclassified since 09:40',
      triggeredAt: '2026-11-05T10:00:00.000Z',
    });
    expect(await ledgerItem()).toMatchObject({ by: { S: 'Jane Doe' }, alarmName: { NULL: true } });
    expect(await timeToRollback()).toEqual([1.5]);
  });

  describe('the records while S3 refuses writes (issue 11, sequence 996)', () => {
    const RUN_RECORD_KEY = `models/${MODEL}/runs/${N.exec}/rollback.json`;
    /** The handler's S3: moto, except that PutObject of `refused` keys fails with 503 while `down()` says so. */
    function flakyS3(down: (key: string) => boolean): S3Client {
      return {
        send: async (command: unknown) => {
          if (command instanceof PutObjectCommand && down(command.input.Key!)) {
            throw Object.assign(new Error('Please reduce your request rate.'), {
              name: 'SlowDown',
              $metadata: { httpStatusCode: 503 },
            });
          }
          return s3.send(command as PutObjectCommand);
        },
      } as unknown as S3Client;
    }

    it('GIVEN S3 refuses three writes THEN the rollback backs off (0.5, 1, 2 s) and writes the serving state and both records', async () => {
      let refusals = 3;
      const s3Flaky = flakyS3(() => refusals-- > 0);

      const result = done(await createHandler({ ...deps, s3: s3Flaky })(alarmEvent(), context()));

      expect(result.status).toBe('done');
      expect(result.problems).toEqual([]);
      expect(sleeps).toEqual([500, 1000, 2000]);
      expect(await readJson(STATE_KEY)).toEqual(rolledBackState);
      expect(await readJson(RECORD_KEY)).toEqual(result.record);
      expect(await readJson(RUN_RECORD_KEY)).toEqual(result.record);
    });

    it('GIVEN S3 refuses the records through every retry THEN the rollback still happens, the ledger keeps them pending, the page says so, and the next invocation writes them', async () => {
      let down = true;
      const s3Flaky = flakyS3((key) => down && (key === RECORD_KEY || key === RUN_RECORD_KEY));

      const result = done(await createHandler({ ...deps, s3: s3Flaky })(alarmEvent(), context()));

      // The rollback itself is not held back by the records.
      expect(result.status).toBe('done');
      expect(steps).toEqual(['flag', 'endpoint']);
      expect(await readJson(STATE_KEY)).toEqual(rolledBackState);
      // Five attempts each, 7.5 s of waits each.
      expect(sleeps).toEqual([500, 1000, 2000, 4000, 500, 1000, 2000, 4000]);
      expect(result.problems).toEqual([
        expect.stringMatching(
          new RegExp(
            `^The rollback record was not written: cannot write the rollback record to s3://${ARTIFACTS}/${RECORD_KEY}: ` +
              'SlowDown: Please reduce your request rate. \\(5 attempts\\); S3 refused it for a transient reason',
          ),
        ),
        expect.stringMatching(/^The rollback record beside the run .* was not written: .*\(5 attempts\)/),
        `The ledger item ${MODEL}/from#${N.version}#${N.exec} keeps the record and the 2 S3 write(s) still to do; ` +
          'the next invocation of this function writes them (invoke it again with the same event once S3 accepts ' +
          "writes, or let the live endpoint's state change do it).",
      ]);
      await expect(readJson(RECORD_KEY)).rejects.toMatchObject({ name: 'NoSuchKey' });
      const item = await ledgerItem();
      expect(JSON.parse(item!.pendingRecords!.S!)).toEqual([RECORD_KEY, RUN_RECORD_KEY]);
      const [page] = await pages();
      expect(page!.body).toContain('keeps the record and the 2 S3 write(s) still to do');
      expect(page!.body).toContain(`"status": "done"`);

      // S3 accepts writes again; the second alarm of the incident changes nothing but writes the records.
      down = false;
      clock = new Date(T0.getTime() + 300_000);
      const second = await createHandler({ ...deps, s3: s3Flaky })(alarmEvent(), context());

      expect(second.status).toBe('duplicate');
      expect(second.message).toMatch(
        new RegExp(
          `The record that rollback could not write is written now: s3://${ARTIFACTS}/${RECORD_KEY}, s3://${ARTIFACTS}/${RUN_RECORD_KEY}\\.$`,
        ),
      );
      expect(await readJson(RECORD_KEY)).toEqual(result.record);
      expect(await readJson(RUN_RECORD_KEY)).toEqual(result.record);
      expect((await ledgerItem())!.pendingRecords).toEqual({ NULL: true });
      expect(updates()).toHaveLength(1);
      expect(await pages()).toEqual([]);
    });
  });

  it('GIVEN a second alarm for the same incident THEN nothing changes and on-call is not paged again', async () => {
    await handler()(alarmEvent(), context());
    clock = new Date(T0.getTime() + 300_000);
    const second = await handler()(alarmEvent(), context());

    expect(second).toEqual({
      status: 'duplicate',
      message:
        `Duplicate: a rollback to ${N1.version} is already recorded (status "done", ${N.version} -> ${N1.version}, ` +
        `started 2026-11-05T10:00:00.000Z by alarm ${ALARM}, record ${RECORD_KEY}). Nothing was changed and on-call ` +
        'was not paged again: this is a second alarm for the same incident, or a concurrent invocation.',
      existing: expect.objectContaining({ status: 'done' }),
    });
    expect(appconfig.versions).toHaveLength(2);
    expect(updates()).toHaveLength(1);
    expect(await pages()).toHaveLength(1);
    expect(await readJson(STATE_KEY)).toEqual(rolledBackState);
  });

  it('GIVEN two invocations at once THEN exactly one rolls back and the other is a duplicate', async () => {
    const results = await Promise.all([
      handler()(alarmEvent(), context()),
      handler()(alarmEvent(), context()),
    ]);

    expect(results.map((r) => r.status).sort()).toEqual(['done', 'duplicate']);
    const duplicate = results.find((r) => r.status === 'duplicate')!;
    expect(duplicate.message).toMatch(
      new RegExp(`^Duplicate: the rollback from ${N.version} is already claimed \\(status "(started|done)"`),
    );
    expect(appconfig.versions).toHaveLength(2);
    expect(appconfig.deployments).toHaveLength(2);
    expect(updates()).toHaveLength(1);
    expect(await pages()).toHaveLength(1);
  });

  it('GIVEN no N-1 version THEN it refuses, changes nothing, records the refusal and pages with what to do', async () => {
    await putState({ ...servingState, standby: null });
    const result = await handler()(alarmEvent(), context());

    const why =
      `the serving state (s3://${ARTIFACTS}/${STATE_KEY}) has no standby model: ${N.version} is the only released ` +
      'version (the standby exists from the second release on), or a rollback has already used it';
    expect(result).toEqual({
      status: 'refused',
      message:
        `Rollback of ${MODEL} refused (alarm ${ALARM}: ${REASON}): no previous version to return to: ${why}. ` +
        `Nothing was changed: users still get ${N.version} (config "${N_LIVE_CONFIG}" on "${LIVE}").`,
      recordKey: RECORD_KEY,
      paged: true,
    });
    expect(appconfigStub.calls()).toHaveLength(0);
    expect(updates()).toEqual([]);
    expect(await readJson(RECORD_KEY)).toMatchObject({
      status: 'refused',
      from: { modelVersion: N.version },
    });
    const [page] = await pages();
    expect(page!.subject).toBe('Rollback REFUSED: document-classifier no previous version of 3f2a9c1d0e8b');
    expect(page!.body).toContain(
      `What to do:\n1. To stop serving ${N.version}: release a fixed model through the release pipeline, or put an ` +
        `earlier endpoint config back on the live endpoint by hand: aws sagemaker update-endpoint --endpoint-name ${LIVE}`,
    );
  });

  it('GIVEN no serving state at all THEN it refuses: the model was never promoted', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: ARTIFACTS, Key: STATE_KEY }));
    const result = await handler()(alarmEvent(), context());
    expect(result.status).toBe('refused');
    expect(result.message).toContain(
      `no previous version to return to: there is no serving state (s3://${ARTIFACTS}/${STATE_KEY}): the model has never been promoted`,
    );
    expect(await pages()).toHaveLength(1);
  });

  it('GIVEN the serving state cannot be read THEN nothing changes and on-call is paged with what to do', async () => {
    await s3.send(new PutObjectCommand({ Bucket: ARTIFACTS, Key: STATE_KEY, Body: '{"schemaVersion": 1' }));
    const result = await handler()(alarmEvent(), context());
    expect(result.status).toBe('not-run');
    expect(result.message).toMatch(
      new RegExp(`^cannot read the serving state: s3://${ARTIFACTS}/${STATE_KEY} is not JSON`),
    );
    const [page] = await pages();
    expect(page!.subject).toBe('Rollback FAILED: document-classifier: nothing changed');
    expect(page!.body).toContain(
      `run aws sagemaker update-endpoint --endpoint-name ${LIVE} --endpoint-config-name <it> --retain-all-variant-properties`,
    );
    expect(updates()).toEqual([]);
  });

  it('GIVEN the alarm returns to OK THEN it does nothing', async () => {
    const result = await handler()(alarmEvent('OK'), context());
    expect(result).toEqual({
      status: 'ignored',
      message: `alarm ${ALARM} changed to OK (was ALARM); a rollback runs only on a change to ALARM: nothing done`,
    });
    expect(appconfigStub.calls()).toHaveLength(0);
    expect(sagemaker.calls()).toHaveLength(0);
    expect(await pages()).toEqual([]);
  });

  it('GIVEN a manual event for another model THEN it is rejected with a clear message and nobody is paged', async () => {
    const result = await handler()({ model: 'fraud-scorer', reason: 'bad scores' }, context());
    expect(result).toEqual({
      status: 'rejected',
      message:
        'Rollback not started: this function rolls back model "document-classifier", but the event asks for ' +
        '"fraud-scorer". Nothing was changed. To roll back "fraud-scorer", invoke that model\'s rollback function; ' +
        'to roll back "document-classifier", send "model": "document-classifier".',
    });
    expect(sagemaker.calls()).toHaveLength(0);
    expect(await pages()).toEqual([]);
  });

  it('GIVEN an event it cannot read THEN it pages: an alarm may have fired without a rollback', async () => {
    const result = await handler()({ detail: { alarmName: ALARM } }, context());
    expect(result).toMatchObject({ status: 'unreadable', paged: true });
    const [page] = await pages();
    expect(page!.subject).toBe('Rollback NOT RUN: document-classifier: unreadable event');
    expect(sagemaker.calls()).toHaveLength(0);
  });

  it('GIVEN SageMaker throttles UpdateEndpoint THEN it backs off and retries', async () => {
    let calls = 0;
    onUpdate = async (input) => {
      if (++calls <= 2) throw named('ThrottlingException', 'Rate exceeded');
      await applyUpdate(input);
    };
    const result = done(await handler()(alarmEvent(), context()));
    expect(result.status).toBe('done');
    expect(sleeps).toEqual([1000, 2000]);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(3);
    expect(result.record.endpointUpdateStartedAt).toBe('2026-11-05T10:00:04.500Z');
  });

  it('GIVEN SageMaker answers UpdateEndpoint with a 5xx once THEN it waits and retries, and the rollback is done', async () => {
    let calls = 0;
    onUpdate = async (input) => {
      if (++calls <= 1)
        throw Object.assign(named('ServiceUnavailable', 'Service unavailable'), {
          $metadata: { httpStatusCode: 503 },
        });
      await applyUpdate(input);
    };
    const result = done(await handler()(alarmEvent(), context()));
    expect(result.status).toBe('done');
    expect(sleeps).toEqual([1000]);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(2);
  });

  it('GIVEN SageMaker keeps throttling THEN the endpoint step fails after 5 attempts, and the page says what to do', async () => {
    onUpdate = async () => {
      throw named('ThrottlingException', 'Rate exceeded');
    };
    const result = done(await handler()(alarmEvent(), context()));
    expect(result.status).toBe('incomplete');
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(5);
    expect(result.record.endpoint!.detail).toBe(
      `not updated: UpdateEndpoint to config "${N1_LIVE_CONFIG}" failed (after 4 throttled attempt(s)): ` +
        'ThrottlingException: Rate exceeded',
    );
    const [page] = await pages();
    expect(page!.subject).toBe('Rollback INCOMPLETE: document-classifier 3f2a9c1d0e8b -> a1b2c3d4e5f6');
    expect(page!.body).toContain(
      `aws sagemaker update-endpoint --endpoint-name ${LIVE} --endpoint-config-name ${N1_LIVE_CONFIG} --retain-all-variant-properties`,
    );
  });

  it('GIVEN the live endpoint is Updating THEN it waits, then updates', async () => {
    // One describe to see what serves, one by the guarded-release check, then two polls while waiting.
    let busy = 4;
    describeHook = (name) =>
      name === LIVE && busy-- > 0 ? described(LIVE, 'Updating', N_LIVE_CONFIG) : undefined;
    const result = done(await handler()(alarmEvent(), context()));
    expect(result.status).toBe('done');
    expect(sleeps).toEqual([15_000, 15_000]);
    expect(updates()).toEqual([
      { EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG, RetainAllVariantProperties: true },
    ]);
    expect(result.record.endpoint!.detail).toBe(
      `UpdateEndpoint to config "${N1_LIVE_CONFIG}" accepted after waiting 30 s for it to be free; the update takes several minutes`,
    );
  });

  describe('GIVEN a guarded release (the canary stage) is updating the live endpoint', () => {
    const guarded = (): DescribeEndpointCommandOutput => ({
      ...described(LIVE, 'Updating', N_LIVE_CONFIG),
      LastDeploymentConfig: {
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'mlops-document-classifier-live-5xx-rate' }] },
      },
    });

    it('THEN an alarm defers to its guardrails: no flag, no endpoint update, on-call told why', async () => {
      describeHook = (name) => (name === LIVE ? guarded() : undefined);
      const result = await handler()(alarmEvent(), context());
      expect(result.status).toBe('deferred');
      expect(updates()).toEqual([]);
      // Only the release's own flag version and deployment: the rollback wrote none.
      expect(appconfig.versions).toHaveLength(1);
      expect(appconfig.deployments).toHaveLength(1);
      const [page] = await pages();
      expect(page!.subject).toBe('Rollback deferred to release guardrails: document-classifier');
      expect(page!.body).toContain("SageMaker's auto-rollback owns this incident, so nothing was changed");
    });

    it('THEN a person can still roll back by hand', async () => {
      let busy = 2;
      describeHook = (name) => (name === LIVE && busy-- > 0 ? guarded() : undefined);
      const result = done(
        await handler()({ model: MODEL, reason: 'forced', requestedBy: 'Jane Doe' }, context()),
      );
      expect(result.status).toBe('done');
      expect(updates()).toEqual([
        { EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG, RetainAllVariantProperties: true },
      ]);
    });

    describe('THEN the deferral is looked at again when the release ends (issue 11, invariant 9)', () => {
      /** EventBridge's "SageMaker Endpoint State Change" as the release's deployment ends on N's config. */
      const releaseEnded = {
        version: '0',
        id: 'b2c5a5a8-0000-4000-8000-000000000019',
        'detail-type': 'SageMaker Endpoint State Change',
        source: 'aws.sagemaker',
        account: '123456789012',
        time: '2026-11-05T10:09:00Z',
        region: 'eu-west-1',
        resources: [`arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${LIVE}`],
        detail: { EndpointName: LIVE, EndpointConfigName: N_LIVE_CONFIG, EndpointStatus: 'IN_SERVICE' },
      };
      const defer = async () => {
        describeHook = (name) => (name === LIVE ? guarded() : undefined);
        const deferred = await handler()(alarmEvent(), context());
        expect(deferred.status).toBe('deferred');
        describeHook = () => undefined;
        clock = new Date(T0.getTime() + 9 * 60_000);
        return deferred;
      };

      it('GIVEN the alarm is still in ALARM a whole evaluation window after the release ended THEN N is rolled back to N-1 as the alarm asked', async () => {
        const deferred = await defer();
        expect(deferred.message).toContain('When the release ends this function looks at the alarm again');
        expect((await ledgerItem(`deferred#${ALARM}`))?.status?.S).toBe('deferred');

        const result = done(await handler()(releaseEnded, context()));

        // The confidence alarm: 5 one-minute periods, plus the minute CloudWatch evaluates after.
        expect(sleeps.slice(0, 6)).toEqual(Array(6).fill(60_000));
        expect(result.status).toBe('done');
        expect(result.record.trigger).toMatchObject({ kind: 'alarm', alarmName: ALARM });
        expect(result.record.trigger.reason).toMatch(
          /^deferred at 2026-11-05T10:00:00.000Z to a guarded release \(status Updating\); looked at again when it ended: alarm .* is still in ALARM 6 min after the release ended/,
        );
        expect(updates()).toEqual([
          { EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG, RetainAllVariantProperties: true },
        ]);
        expect(await readJson(STATE_KEY)).toEqual(rolledBackState);
        expect((await ledgerItem(`deferred#${ALARM}`))?.status?.S).toBe('looked-at');

        // A second state change (SageMaker may send several): nothing is looked at twice.
        const again = await handler()(releaseEnded, context());
        expect(again.status).not.toBe('done');
        expect(updates()).toHaveLength(1);
      });

      it('GIVEN the alarm goes OK within the window (it blamed the candidate) THEN nothing is rolled back and the deferral is closed', async () => {
        await defer();
        const okAfterFirstMinute: Deps = {
          ...deps,
          sleep: async (ms) => {
            await deps.sleep(ms);
            await cloudwatch.send(
              new SetAlarmStateCommand({ AlarmName: ALARM, StateValue: 'OK', StateReason: 'back in band' }),
            );
          },
        };

        const result = await createHandler(okAfterFirstMinute)(releaseEnded, context());

        expect(sleeps).toEqual([60_000]);
        expect(result.status).toBe('settled');
        expect(result.message).toContain(`needs nothing: alarm ${ALARM} is OK`);
        expect(updates()).toEqual([]);
        expect(await readJson(STATE_KEY)).toEqual(servingState);
        expect((await ledgerItem(`deferred#${ALARM}`))?.summary?.S).toContain(`alarm ${ALARM} is OK`);
      });

      it("GIVEN the alarm's window does not fit in the invocation's time THEN a person is paged to look, and nothing is rolled back", async () => {
        await defer();
        await pages();

        // 4 minutes left: 30 s are kept for the writes, the window needs 6.
        const result = await handler()(releaseEnded, context(240_000));

        expect(result.status).toBe('settled');
        expect(updates()).toEqual([]);
        const [page] = await pages();
        expect(page!.subject).toBe('Deferred rollback needs a person: document-classifier');
        expect(page!.body).toContain(
          `alarm ${ALARM} is still in ALARM and its evaluation window (6 min) ends after`,
        );
      });
    });
  });

  it('GIVEN the live endpoint stays busy THEN it records endpoint-pending within its time, and says what to do by hand', async () => {
    describeHook = (name) => (name === LIVE ? described(LIVE, 'Updating', N_LIVE_CONFIG) : undefined);
    // 2 minutes left: 30 s are kept for the writes and the page, so it may wait until 10:01:30.
    const result = done(await handler()(alarmEvent(), context(120_000)));

    expect(result.status).toBe('endpoint-pending');
    expect(updates()).toEqual([]);
    expect(clock.getTime() - T0.getTime()).toBeLessThanOrEqual(90_000);
    expect(sleeps).toEqual([15_000, 15_000, 15_000, 15_000, 15_000]);
    expect(result.record.endpoint!.detail).toBe('still Updating after 75 s of waiting; not updated');
    expect(appconfig.deployedDocument()).toEqual(rollbackFlag(`alarm ${ALARM}`));
    expect(await readJson(STATE_KEY)).toEqual(rolledBackState);
    expect(await ledgerItem()).toMatchObject({ status: { S: 'endpoint-pending' } });
    const [page] = await pages();
    expect(page!.subject).toBe(
      'Rollback ACTION NEEDED (live endpoint): document-classifier 3f2a9c1d0e8b -> a1b2c3d4e5f6',
    );
    expect(page!.body).toContain(
      `What to do:\n1. Once the live endpoint is InService, put ${N1.version}'s config back on it: aws sagemaker ` +
        `update-endpoint --endpoint-name ${LIVE} --endpoint-config-name ${N1_LIVE_CONFIG} --retain-all-variant-properties (docs/serving.md, "By hand").`,
    );
  });

  it('GIVEN AppConfig is unreachable THEN it still updates the endpoint and pages loudly that users are still on N', async () => {
    appconfig.unreachable = true;
    const result = done(await handler()(alarmEvent(), context()));

    expect(result.status).toBe('incomplete');
    expect(updates()).toEqual([
      { EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG, RetainAllVariantProperties: true },
    ]);
    expect(result.record.flag).toMatchObject({
      outcome: 'failed',
      detail: `not changed: cannot read the ${FLAG}: TimeoutError: connect ETIMEDOUT 52.95.110.1:443`,
      document: { ...rollbackFlag(`alarm ${ALARM}`), experiment: ENV.EXPERIMENT },
    });
    expect(await readJson(STATE_KEY)).toEqual(rolledBackState);
    const [page] = await pages();
    expect(page!.subject).toBe('Rollback INCOMPLETE: document-classifier 3f2a9c1d0e8b -> a1b2c3d4e5f6');
    expect(page!.body).toContain(
      `so users of the router STILL GET ${N.version} until the live endpoint "${LIVE}" finishes updating to ` +
        `${N1.version}'s config "${N1_LIVE_CONFIG}" (usually 5-15 minutes).`,
    );
    expect(page!.body).toContain(
      `What to do:\n1. Deploy the flag by hand: in ${FLAG}, create a hosted configuration`,
    );
    expect(await timeToRollback()).toEqual([]);
  });

  it('GIVEN StartDeployment fails transiently three times THEN it backs off and deploys the version it stored: users are on N-1 at once', async () => {
    appconfig.startFaults = ['ServiceUnavailable', 'ServiceUnavailable', 'ThrottlingException'];
    const result = done(await handler()(alarmEvent(), context()));

    expect(result.status).toBe('done');
    expect(sleeps).toEqual([1000, 2000, 4000]);
    // One version stored (2), deployed on the fourth attempt; no second copy of the document.
    expect(appconfig.versions).toHaveLength(2);
    expect(result.record.flag).toMatchObject({ outcome: 'deployed', versionNumber: 2 });
    expect(appconfig.deployedDocument()).toEqual(rollbackFlag(`alarm ${ALARM}`));
    expect(steps).toEqual(['flag', 'endpoint']);
  });

  it('GIVEN StartDeployment keeps failing transiently THEN the rollback is not reported done: INCOMPLETE, naming the stored version and that users still get N', async () => {
    appconfig.startFaults = Array.from({ length: 4 }, () => 'ServiceUnavailable');
    const result = done(await handler()(alarmEvent(), context()));

    expect(result.status).toBe('incomplete');
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(result.record.flag).toMatchObject({ outcome: 'failed' });
    expect(result.record.flag!.detail).toContain(
      `version 2 of the ${FLAG} is stored but not deployed: deploy that version`,
    );
    expect(appconfig.deployedDocument()).toEqual(releaseFlag);
    // The endpoint still goes back to N-1, and on-call hears that router users are still on N meanwhile.
    expect(updates()).toEqual([
      { EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG, RetainAllVariantProperties: true },
    ]);
    const [page] = await pages();
    expect(page!.subject).toBe('Rollback INCOMPLETE: document-classifier 3f2a9c1d0e8b -> a1b2c3d4e5f6');
    expect(page!.body).toContain(`so users of the router STILL GET ${N.version} until the live endpoint`);
  });

  it('GIVEN a flag deployment in progress THEN it stops it and deploys the rollback, and says so', async () => {
    appconfig.addVersion({ ...releaseFlag, candidate: { ...releaseFlag.candidate!, percent: 25 } }, 'widen');
    appconfig.deployments.push({ number: 2, version: '2', state: 'BAKING', strategy: 'strat01' });
    const result = done(await handler()(alarmEvent(), context()));

    expect(result.status).toBe('done');
    expect(appconfigStub.commandCalls(StopDeploymentCommand).map((c) => c.args[0].input)).toEqual([
      { ApplicationId: 'app0001', EnvironmentId: 'env0001', DeploymentNumber: 2, AllowRevert: true },
    ]);
    expect(result.record.flag).toMatchObject({
      outcome: 'deployed',
      versionNumber: 3,
      stoppedDeployments: [2],
      detail: `version 3 (everyone on ${N1.version} at "${STANDBY}") deployed as deployment 3; deployment(s) 2 in progress were stopped to make way`,
    });
    expect(appconfig.deployedDocument()).toEqual(rollbackFlag(`alarm ${ALARM}`));
  });

  it('GIVEN the newest stored flag already sends everyone to N-1 but was never deployed THEN it deploys it instead of calling it done (stored is not served)', async () => {
    // An earlier rollback stored this version, then its StartDeployment failed: routers still read the release's flag.
    appconfig.addVersion(rollbackFlag('an earlier attempt'), 'rollback whose deployment never started');
    const result = done(await handler()(alarmEvent(), context()));

    expect(result.status).toBe('done');
    expect(result.record.flag).toMatchObject({ outcome: 'deployed', versionNumber: 3 });
    expect(appconfig.deployedDocument()).toMatchObject({
      stable: { modelVersion: N1.version, endpoint: 'standby' },
      candidate: null,
    });
  });

  it('GIVEN the newest stored flag already sends everyone to N-1 and is deployed THEN nothing is deployed again', async () => {
    const stored = appconfig.addVersion(rollbackFlag('an earlier attempt'), 'rollback');
    appconfig.deployments.push({
      number: 2,
      version: String(stored),
      state: 'COMPLETE',
      strategy: 'strat01',
    });
    const result = done(await handler()(alarmEvent(), context()));

    expect(result.record.flag).toMatchObject({ outcome: 'already', versionNumber: stored });
    expect(appconfigStub.commandCalls(StartDeploymentCommand)).toHaveLength(0);
  });

  it('GIVEN another writer changes the flag meanwhile THEN it rebuilds the rollback on top of that version', async () => {
    let raced = false;
    appconfig.beforeCreate = () => {
      if (raced) return;
      raced = true;
      appconfig.addVersion({ ...releaseFlag, experiment: 'checkout-2026-12' }, 'another writer');
    };
    const result = done(await handler()(alarmEvent(), context()));
    expect(result.status).toBe('done');
    expect(appconfigStub.commandCalls(CreateHostedConfigurationVersionCommand)).toHaveLength(2);
    expect(appconfig.deployedDocument()).toEqual({
      ...rollbackFlag(`alarm ${ALARM}`),
      experiment: 'checkout-2026-12',
    });
    expect(result.record.flag!.versionNumber).toBe(3);
  });

  it('GIVEN the standby endpoint is not InService THEN there is no bridge: the endpoint is updated, the flag names N-1 on the live endpoint, and the page says N answers until then', async () => {
    describeHook = (name) =>
      name === STANDBY ? described(STANDBY, 'OutOfService', N1_STANDBY_CONFIG) : undefined;
    const result = done(await handler()(alarmEvent(), context()));
    expect(updates()).toEqual([
      { EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG, RetainAllVariantProperties: true },
    ]);
    // Users stay on the live endpoint (nobody is sent to a standby that cannot answer), now as N-1.
    expect(appconfig.deployedDocument()).toEqual({
      ...rollbackFlag(`alarm ${ALARM}`),
      stable: { modelVersion: N1.version, endpoint: 'live' },
    });
    expect(result.status).toBe('done');
    expect(result.record.summary).toContain(
      `with NO WARM BRIDGE: the standby endpoint "${STANDBY}" is OutOfService, not InService.`,
    );
    expect(result.record.summary).toContain(`users STILL GET ${N.version}`);
    expect(result.record.flag!.detail).toMatch(/everyone on .* at "mlops-document-classifier-live"/);
    const [page] = await pages();
    expect(page!.subject).toBe(
      'Rollback done WITHOUT BRIDGE: document-classifier 3f2a9c1d0e8b -> a1b2c3d4e5f6',
    );
    // The state names N-1 live: the flag, the state and (once the update ends) the endpoint agree.
    expect(await readJson(STATE_KEY)).toMatchObject({ live: { modelVersion: N1.version }, standby: null });
  });

  it('GIVEN the live endpoint does not exist (the model was retired) THEN it refuses, says so, and changes nothing', async () => {
    sagemaker
      .on(DescribeEndpointCommand, { EndpointName: LIVE })
      .rejects(named('ValidationException', `Could not find endpoint "${LIVE}".`));
    const result = await handler()(
      { model: MODEL, reason: 'after retiring', requestedBy: 'Jane Doe' },
      context(),
    );
    expect(result.status).toBe('refused');
    expect(result.message).toContain(
      `the live endpoint "${LIVE}" does not exist: the model is retired (serving.retired: true in config/models/${MODEL}.yaml deletes its endpoints`,
    );
    expect(updates()).toEqual([]);
    expect(appconfig.versions).toHaveLength(1);
    expect(await readJson(STATE_KEY)).toEqual(servingState);
    const [page] = await pages();
    expect(page!.subject).toMatch(/^Rollback REFUSED: document-classifier/);
  });

  it('GIVEN no bridge and the live endpoint cannot be updated THEN the flag is not changed either and the page does not ask for it by hand', async () => {
    describeHook = (name) =>
      name === STANDBY ? described(STANDBY, 'Updating', N1_STANDBY_CONFIG) : undefined;
    onUpdate = async () => {
      throw named('AccessDeniedException', 'not authorized to perform: sagemaker:UpdateEndpoint');
    };
    const result = done(await handler()(alarmEvent(), context()));
    expect(result.status).toBe('failed');
    expect(appconfig.versions).toHaveLength(1);
    expect(result.record.flag!.detail).toContain(
      `is Updating, not InService (a release's canary may be refreshing it with the model that serves now`,
    );
    expect(result.record.nextSteps.join('\n')).not.toContain('Deploy the flag by hand');
  });

  it('GIVEN a rollback that failed THEN nothing changed, and a later invocation may take it over', async () => {
    appconfig.unreachable = true;
    onUpdate = async () => {
      throw named('AccessDeniedException', 'not authorized to perform: sagemaker:UpdateEndpoint');
    };
    const first = done(await handler()(alarmEvent(), context()));
    expect(first.status).toBe('failed');
    expect(first.record.servingState.outcome).toBe('not-written');
    expect(await readJson(STATE_KEY)).toEqual(servingState);
    expect(await ledgerItem()).toMatchObject({ status: { S: 'failed' } });
    const [page] = await pages();
    expect(page!.subject).toBe('Rollback FAILED: document-classifier 3f2a9c1d0e8b -> a1b2c3d4e5f6');
    expect(page!.body).toContain(`nothing changed, users still get ${N.version}.`);

    appconfig.unreachable = false;
    onUpdate = applyUpdate;
    clock = new Date(T0.getTime() + 600_000);
    const retry = done(
      await handler()(
        { model: MODEL, reason: 'retry after the IAM fix', requestedBy: 'Jane Doe' },
        context(),
      ),
    );
    expect(retry.status).toBe('done');
    expect(retry.record.claim).toBe('took-over');
    expect(await ledgerItem()).toMatchObject({ status: { S: 'done' }, by: { S: 'Jane Doe' } });
  });

  describe('a rollback between canary and promotion (issue 11)', () => {
    /** N+1 passed its canary: the live endpoint serves it; promotion has not run, so the state still names N. */
    const NEXT = {
      version: '4f1c2e9a0b1c2d3e4f5061728394a5b6c7d8e9f0',
      exec: '3c4d5e6f-0000-4000-8000-000000000003',
    };
    const NEXT_MODEL = `${PREFIX}-3c4d5e6f`;
    const NEXT_CONFIG = `${PREFIX}-3c4d5e6f-live`;

    beforeEach(async () => {
      await sagemakerMoto.send(
        new CreateModelCommand({
          ModelName: NEXT_MODEL,
          ExecutionRoleArn: 'arn:aws:iam::123456789012:role/mlops-document-classifier-sagemaker',
          PrimaryContainer: {
            Image: '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0-gpu',
            ModelDataUrl: `s3://${ARTIFACTS}/models/${MODEL}/runs/${NEXT.exec}/model.tar.gz`,
          },
          // The tags createModelSpec gives every released model.
          Tags: [
            { Key: 'ModelVersion', Value: NEXT.version },
            { Key: 'PipelineExecutionId', Value: NEXT.exec },
          ],
        }),
      );
      await sagemakerMoto.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: NEXT_CONFIG,
          ProductionVariants: [
            {
              VariantName: 'live',
              ModelName: NEXT_MODEL,
              InitialInstanceCount: 1,
              InstanceType: 'ml.g4dn.xlarge',
            },
          ],
        }),
      );
      await applyUpdate({ EndpointName: LIVE, EndpointConfigName: NEXT_CONFIG });
      // The flag as the release left it before promotion: N stable on the live endpoint.
      const before = appconfig.addVersion({ ...releaseFlag, candidate: null }, 'before promotion');
      appconfig.deployments.push({
        number: 2,
        version: String(before),
        state: 'COMPLETE',
        strategy: 'strat01',
      });
    });

    it('GIVEN the candidate serves unpromoted THEN the rollback returns to N (what served before it), not to N-1', async () => {
      const result = done(await handler()(alarmEvent(), context()));
      expect(result.status).toBe('done');
      expect(result.record.from).toMatchObject({ modelVersion: NEXT.version, configName: NEXT_CONFIG });
      expect(result.record.to).toMatchObject({ modelVersion: N.version, liveConfigName: N_LIVE_CONFIG });
      expect(updates().map((u) => u.EndpointConfigName)).toEqual([N_LIVE_CONFIG]);
      // The standby holds N-1, not N: no bridge; everyone stays on the live endpoint, labelled N once it serves N again.
      expect(appconfig.deployedDocument()).toMatchObject({
        stable: { modelVersion: N.version, endpoint: 'live' },
        candidate: null,
      });
      // The serving state already says N live with N-1 on standby, which is true again after the update.
      expect(await readJson(STATE_KEY)).toEqual(servingState);
    });
  });

  describe("a person's rollback while a canary deploys the next release to the live endpoint (issue 11)", () => {
    /** N+1's canary: a blue/green update of the live endpoint from N's config to N+1's, under way. */
    const NEXT = {
      version: '4f1c2e9a0b1c2d3e4f5061728394a5b6c7d8e9f0',
      exec: '3c4d5e6f-0000-4000-8000-000000000003',
    };
    const NEXT_MODEL = `${PREFIX}-3c4d5e6f`;
    const NEXT_CONFIG = `${PREFIX}-3c4d5e6f-live`;
    const STOP_ALARM = ENV.ROLLBACK_REQUESTED_ALARM_NAME;
    const person = { model: MODEL, reason: 'N+1 answers badly in its canary', requestedBy: 'Jane Doe' };
    /** DescribeEndpoint during the canary: Updating, N+1's config pending, the canary's alarms. */
    const deploying = (): DescribeEndpointCommandOutput => ({
      ...described(LIVE, 'Updating', N_LIVE_CONFIG),
      PendingDeploymentSummary: { EndpointConfigName: NEXT_CONFIG },
      LastDeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'CANARY', WaitIntervalInSeconds: 600 },
        },
        AutoRollbackConfiguration: {
          Alarms: [{ AlarmName: `${PREFIX}-live-5xx-rate` }, { AlarmName: STOP_ALARM }],
        },
      },
    });
    /** The answers to the live endpoint's DescribeEndpoint calls, in order; then moto's. */
    let liveAnswers: (DescribeEndpointCommandOutput | undefined)[];
    const stopRequests = async () =>
      (
        await cloudwatch.send(
          new GetMetricDataCommand({
            StartTime: new Date(T0.getTime() - 3_600_000),
            EndTime: new Date(T0.getTime() + 3_600_000),
            MetricDataQueries: [
              {
                Id: 'requested',
                MetricStat: {
                  Metric: {
                    Namespace: 'MLPlatform/Rollback',
                    MetricName: 'RollbackRequested',
                    Dimensions: [{ Name: 'Model', Value: MODEL }],
                  },
                  Period: 60,
                  Stat: 'SampleCount',
                },
              },
            ],
          }),
        )
      ).MetricDataResults?.[0]?.Values ?? [];
    const stopAlarmState = async () =>
      (await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [STOP_ALARM] }))).MetricAlarms?.[0]
        ?.StateValue;

    beforeEach(async () => {
      await sagemakerMoto.send(
        new CreateModelCommand({
          ModelName: NEXT_MODEL,
          ExecutionRoleArn: 'arn:aws:iam::123456789012:role/mlops-document-classifier-sagemaker',
          PrimaryContainer: {
            Image: '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0-gpu',
            ModelDataUrl: `s3://${ARTIFACTS}/models/${MODEL}/runs/${NEXT.exec}/model.tar.gz`,
          },
          Tags: [
            { Key: 'ModelVersion', Value: NEXT.version },
            { Key: 'PipelineExecutionId', Value: NEXT.exec },
          ],
        }),
      );
      await sagemakerMoto.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: NEXT_CONFIG,
          ProductionVariants: [
            {
              VariantName: 'live',
              ModelName: NEXT_MODEL,
              InitialInstanceCount: 1,
              InstanceType: 'ml.g4dn.xlarge',
            },
          ],
        }),
      );
      // The alarm as the model stack creates it (lib/constructs/model-monitoring.ts), OK.
      await cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName: STOP_ALARM,
          Namespace: 'MLPlatform/Rollback',
          MetricName: 'RollbackRequested',
          Dimensions: [{ Name: 'Model', Value: MODEL }],
          Statistic: 'Maximum',
          Period: 60,
          EvaluationPeriods: 1,
          DatapointsToAlarm: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [PAGE_ACTION],
        }),
      );
      await cloudwatch.send(
        new SetAlarmStateCommand({ AlarmName: STOP_ALARM, StateValue: 'OK', StateReason: 'no rollback' }),
      );
      // The flag as the release leaves it during the canary: N stable on the live endpoint, no candidate.
      const before = appconfig.addVersion({ ...releaseFlag, candidate: null }, 'before the canary');
      appconfig.deployments.push({
        number: 2,
        version: String(before),
        state: 'COMPLETE',
        strategy: 'strat01',
      });
      liveAnswers = [];
      describeHook = (name) => (name === LIVE ? liveAnswers.shift() : undefined);
    });

    it("GIVEN SageMaker rolls the deployment back on the alarm THEN the rollback is from N+1 to N, leaves the flag, the serving state and the standby as they are, and leaves its record beside N+1's run", async () => {
      // What serves, the first poll (Updating: the stop is asked), then RollingBack, then moto: InService on N.
      liveAnswers = [deploying(), deploying(), { ...deploying(), EndpointStatus: 'RollingBack' }];
      const result = done(await handler()(person, context()));

      expect(result.status).toBe('done');
      expect(result.record.from).toMatchObject({
        modelVersion: NEXT.version,
        executionId: NEXT.exec,
        configName: NEXT_CONFIG,
      });
      expect(result.record.to).toMatchObject({ modelVersion: N.version, liveConfigName: N_LIVE_CONFIG });
      // Stopped, not updated: SageMaker refuses UpdateEndpoint while the deployment runs.
      expect(updates()).toEqual([]);
      expect(await stopRequests()).toEqual([1]);
      expect(await stopAlarmState()).toBe('ALARM');
      expect(result.record.endpoint!.detail).toBe(
        `the deployment of config "${NEXT_CONFIG}" was asked to stop 1 time(s) through its auto-rollback alarm ` +
          `"${STOP_ALARM}"; SageMaker rolled it back; already InService on config "${N_LIVE_CONFIG}"; not updated again`,
      );
      // The flag already sends everyone to N on the live endpoint: not deployed again.
      expect(appconfig.deployments).toHaveLength(2);
      expect(result.record.flag!.outcome).toBe('already');
      expect(await readJson(STATE_KEY)).toEqual(servingState);
      // Beside N+1's run: its canary fails naming it, and a retried canary or promotion is refused.
      expect(await readJson(`models/${MODEL}/runs/${NEXT.exec}/rollback.json`)).toMatchObject({
        status: 'done',
        trigger: { kind: 'manual', by: 'Jane Doe' },
      });
      expect(await ledgerItem(`from#${NEXT.version}#${NEXT.exec}`)).toMatchObject({ status: { S: 'done' } });
      const [page] = await pages();
      expect(page!.subject).toBe('Rollback done: document-classifier 4f1c2e9a0b1c -> 3f2a9c1d0e8b');
      expect(page!.body).toContain(
        `stopped the canary's blue/green deployment through its auto-rollback alarm "${STOP_ALARM}"`,
      );
    });

    it("GIVEN the deployment finished before SageMaker saw the alarm THEN N+1 serves, and the rollback puts N's config back", async () => {
      await applyUpdate({ EndpointName: LIVE, EndpointConfigName: NEXT_CONFIG });
      liveAnswers = [deploying()];
      const result = done(await handler()(person, context()));
      expect(result.status).toBe('done');
      expect(result.record.from).toMatchObject({ modelVersion: NEXT.version });
      expect(updates()).toEqual([
        { EndpointName: LIVE, EndpointConfigName: N_LIVE_CONFIG, RetainAllVariantProperties: true },
      ]);
      expect(await readJson(STATE_KEY)).toEqual(servingState);
    });

    it('GIVEN SageMaker never rolls back THEN the rollback asks at every poll within its time, pages that it FAILED and why, and changes nothing else', async () => {
      // Updating for the whole invocation: 2 minutes, 30 s kept for the record and the page.
      liveAnswers = Array.from({ length: 20 }, deploying);
      const result = done(await handler()(person, context(120_000)));

      expect(result.status).toBe('failed');
      // 120 s less the 30 s kept: six 15-s waits, and the stop asked at each of the seven looks.
      expect(sleeps).toEqual([15_000, 15_000, 15_000, 15_000, 15_000, 15_000]);
      expect(clock.getTime() - T0.getTime()).toBeLessThanOrEqual(90_000);
      expect(await stopRequests()).toEqual([expect.any(Number), expect.any(Number)]);
      expect(result.record.endpoint!.detail).toBe(
        `the deployment of config "${NEXT_CONFIG}" was asked to stop 7 time(s) through its auto-rollback alarm ` +
          `"${STOP_ALARM}"; SageMaker was not seen rolling it back; still Updating after 90 s of waiting; not updated`,
      );
      expect(updates()).toEqual([]);
      expect(appconfig.deployments).toHaveLength(2);
      expect(await readJson(STATE_KEY)).toEqual(servingState);
      const [page] = await pages();
      expect(page!.subject).toBe('Rollback FAILED: document-classifier 4f1c2e9a0b1c -> 3f2a9c1d0e8b');
      expect(page!.body).toContain("the canary's deployment on the live endpoint");
      expect(page!.body).toContain('could not be stopped');
      expect(page!.body).toContain(
        `aws cloudwatch set-alarm-state --alarm-name ${STOP_ALARM} --state-value ALARM`,
      );
    });

    it('GIVEN CloudWatch refuses the request THEN the page names the refusal, and nothing else changed', async () => {
      const refusing = new CloudWatchClient({ region: 'eu-west-1' });
      const stub = mockClient(refusing);
      stub
        .on(PutMetricDataCommand)
        .rejects(named('AccessDenied', 'not authorized to perform: cloudwatch:PutMetricData'));
      stub
        .on(SetAlarmStateCommand)
        .rejects(named('AccessDenied', 'not authorized to perform: cloudwatch:SetAlarmState'));
      liveAnswers = Array.from({ length: 20 }, deploying);
      const result = done(await createHandler({ ...deps, cloudwatch: refusing })(person, context(60_000)));

      expect(result.status).toBe('failed');
      expect(result.record.endpoint!.detail).toContain(
        `asked to stop 0 time(s) through its auto-rollback alarm "${STOP_ALARM}" (last refusal: SetAlarmState ${STOP_ALARM}: AccessDenied: not authorized to perform: cloudwatch:SetAlarmState)`,
      );
      expect(updates()).toEqual([]);
      expect(await readJson(STATE_KEY)).toEqual(servingState);
    });

    it('GIVEN an alarm (not a person) fires during the canary THEN it still defers to the guardrails', async () => {
      liveAnswers = [deploying(), deploying()];
      const result = await handler()(alarmEvent(), context());
      expect(result.status).toBe('deferred');
      expect(await stopRequests()).toEqual([]);
    });
  });

  describe('the endpoint state change after a rollback (issue 11)', () => {
    /** What EventBridge delivers when the live endpoint changes state (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html). */
    const inService = (config: string) => ({
      version: '0',
      id: 'b2c5a5a8-0000-4000-8000-000000000009',
      'detail-type': 'SageMaker Endpoint State Change',
      source: 'aws.sagemaker',
      account: '123456789012',
      time: '2026-11-05T10:09:00Z',
      region: 'eu-west-1',
      resources: [`arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${LIVE}`],
      detail: { EndpointName: LIVE, EndpointConfigName: config, EndpointStatus: 'IN_SERVICE' },
    });
    const RESOURCE = `endpoint/${LIVE}/variant/live`;
    const DIMENSION = 'sagemaker:variant:DesiredInstanceCount';
    const registered = async () =>
      (
        await autoscaling.send(
          new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker', ResourceIds: [RESOURCE] }),
        )
      ).ScalableTargets ?? [];

    /** The live endpoint on N's config, on another instance type than N-1's, with autoscaling as the canary left it. */
    async function releaseChangedInstanceType(): Promise<void> {
      const config = `${N_LIVE_CONFIG}-m5`;
      await sagemakerMoto.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: config,
          ProductionVariants: [
            {
              VariantName: 'live',
              ModelName: N_MODEL,
              InitialInstanceCount: 2,
              InstanceType: 'ml.m5.xlarge',
            },
          ],
        }),
      );
      await applyUpdate({ EndpointName: LIVE, EndpointConfigName: config });
      await putState({ ...servingState, live: { ...servingState.live, configName: config } });
      await autoscaling.send(
        new RegisterScalableTargetCommand({
          ServiceNamespace: 'sagemaker',
          ResourceId: RESOURCE,
          ScalableDimension: DIMENSION,
          MinCapacity: 2,
          MaxCapacity: 8,
        }),
      );
      await autoscaling.send(
        new PutScalingPolicyCommand({
          PolicyName: `${LIVE}-invocations-per-instance`,
          ServiceNamespace: 'sagemaker',
          ResourceId: RESOURCE,
          ScalableDimension: DIMENSION,
          PolicyType: 'TargetTrackingScaling',
          TargetTrackingScalingPolicyConfiguration: {
            TargetValue: 700,
            PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
          },
        }),
      );
      // SageMaker refuses to change the instance type of a variant registered with Application Auto
      // Scaling (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
      onUpdate = async (input) => {
        const type = async (name: string) =>
          (await sagemakerMoto.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name })))
            .ProductionVariants![0]!.InstanceType;
        const current = (await sagemakerMoto.send(new DescribeEndpointCommand({ EndpointName: LIVE })))
          .EndpointConfigName!;
        if (
          (await registered()).length > 0 &&
          (await type(current)) !== (await type(input.EndpointConfigName!))
        ) {
          throw named(
            'ValidationException',
            'The endpoint has a variant registered with Application Auto Scaling whose instance type would change; deregister it first',
          );
        }
        await applyUpdate(input);
      };
    }

    it('GIVEN the release changed the instance type THEN the rollback deregisters autoscaling, updates, and registers it again once in service', async () => {
      await releaseChangedInstanceType();
      const result = done(await handler()(alarmEvent(), context()));
      expect(result.status).toBe('done');
      expect(updates().map((u) => u.EndpointConfigName)).toEqual([N1_LIVE_CONFIG]);

      // SageMaker says the live endpoint is in service on N-1's config.
      clock = new Date(T0.getTime() + 9 * 60_000);
      await handler()(inService(N1_LIVE_CONFIG), context());
      expect(await registered()).toEqual([
        expect.objectContaining({ ResourceId: RESOURCE, MinCapacity: 2, MaxCapacity: 8 }),
      ]);
      const policies = await autoscaling.send(
        new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker', ResourceId: RESOURCE }),
      );
      expect(
        policies.ScalingPolicies?.map((p) => p.TargetTrackingScalingPolicyConfiguration?.TargetValue),
      ).toEqual([700]);
    });

    it('GIVEN the scalable target has a pending update when the endpoint is in service again THEN settle waits and registers autoscaling', async () => {
      await releaseChangedInstanceType();
      done(await handler()(alarmEvent(), context()));
      expect(await registered()).toEqual([]);

      // Application Auto Scaling refuses RegisterScalableTarget twice: another update is pending.
      let refusals = 2;
      const busyAutoscaling = {
        send: (command: { constructor: { name: string } }) => {
          if (command.constructor.name === 'RegisterScalableTargetCommand' && refusals > 0) {
            refusals -= 1;
            return Promise.reject(
              named('ConcurrentUpdateException', 'The scalable target has a pending update'),
            );
          }
          return autoscaling.send(command as never);
        },
      } as unknown as ApplicationAutoScalingClient;
      clock = new Date(T0.getTime() + 9 * 60_000);
      sleeps = [];
      const settled = await createHandler({ ...deps, autoscaling: busyAutoscaling })(
        inService(N1_LIVE_CONFIG),
        context(),
      );
      expect(settled.status).toBe('settled');
      expect(refusals).toBe(0);
      expect(sleeps).toEqual([1000, 2000]);
      expect(await registered()).toEqual([
        expect.objectContaining({ ResourceId: RESOURCE, MinCapacity: 2, MaxCapacity: 8 }),
      ]);
    });

    it('GIVEN the live endpoint is in service on N-1 THEN the flag sends users back to the live fleet: the standby was a bridge', async () => {
      done(await handler()(alarmEvent(), context()));
      expect(appconfig.deployedDocument()).toMatchObject({
        stable: { modelVersion: N1.version, endpoint: 'standby' },
      });

      clock = new Date(T0.getTime() + 9 * 60_000);
      const settled = await handler()(inService(N1_LIVE_CONFIG), context());
      expect(settled.status).toBe('settled');
      expect(appconfig.deployedDocument()).toMatchObject({
        stable: { modelVersion: N1.version, endpoint: 'live' },
        candidate: null,
        killSwitch: false,
      });
      // With the rollback's instant strategy, like the move to the standby.
      expect(appconfig.deployments.at(-1)!.strategy).toBe('strat01');
      // A second event for the same change (EventBridge may deliver several) changes nothing.
      const versions = appconfig.versions.length;
      expect((await handler()(inService(N1_LIVE_CONFIG), context())).status).toBe('settled');
      expect(appconfig.versions).toHaveLength(versions);
    });

    it('GIVEN the rollback left its record pending (S3 refused it) THEN the state change writes it', async () => {
      let down = true;
      const flaky = {
        send: async (command: unknown) => {
          if (command instanceof PutObjectCommand && down && command.input.Key === RECORD_KEY) {
            throw Object.assign(new Error('We encountered an internal error.'), {
              name: 'InternalError',
              $metadata: { httpStatusCode: 500 },
            });
          }
          return s3.send(command as PutObjectCommand);
        },
      } as unknown as S3Client;
      const rolledBack = done(await createHandler({ ...deps, s3: flaky })(alarmEvent(), context()));
      await expect(readJson(RECORD_KEY)).rejects.toMatchObject({ name: 'NoSuchKey' });

      down = false;
      clock = new Date(T0.getTime() + 9 * 60_000);
      const settled = await createHandler({ ...deps, s3: flaky })(inService(N1_LIVE_CONFIG), context());

      expect(settled.status).toBe('settled');
      expect(settled.message).toContain(
        `The record that rollback could not write is written now: s3://${ARTIFACTS}/${RECORD_KEY}`,
      );
      expect(await readJson(RECORD_KEY)).toEqual(rolledBack.record);
      expect((await ledgerItem())!.pendingRecords).toEqual({ NULL: true });
    });

    it('GIVEN the settled flag was stored but its deployment never started THEN the next state change deploys it (stored is not served)', async () => {
      done(await handler()(alarmEvent(), context()));
      // A settle stored "everyone on N-1 on the live endpoint", then its StartDeployment failed.
      appconfig.addVersion(
        {
          ...(appconfig.deployedDocument() as FlagDocument),
          stable: { modelVersion: N1.version, endpoint: 'live' },
        },
        'settle whose deployment never started',
      );
      expect(appconfig.deployedDocument()).toMatchObject({ stable: { endpoint: 'standby' } });

      clock = new Date(T0.getTime() + 12 * 60_000);
      const settled = await handler()(inService(N1_LIVE_CONFIG), context());
      expect(settled.status).toBe('settled');
      expect(appconfig.deployedDocument()).toMatchObject({
        stable: { modelVersion: N1.version, endpoint: 'live' },
      });
    });

    it('GIVEN a canary that changed the instance type failed (autoscaling deregistered by the canary) THEN the live variant gets autoscaling back once N serves again', async () => {
      // SageMaker rolled the canary back: N's config is in service, nothing registered.
      expect(await registered()).toEqual([]);
      const result = await handler()(inService(N_LIVE_CONFIG), context());
      expect(result.status).toBe('settled');
      expect(await registered()).toEqual([
        expect.objectContaining({ ResourceId: RESOURCE, MinCapacity: 2, MaxCapacity: 8 }),
      ]);
      // The release's flag is not the rollback's: left alone.
      expect(appconfig.versions).toHaveLength(1);
    });

    it('GIVEN the rollback could not write the flag (AppConfig unreachable) THEN once the live endpoint serves N-1, settle corrects the flag that still names N as the rollback would have written it (the A/B candidate ended), and pages', async () => {
      appconfig.unreachable = true;
      expect(done(await handler()(alarmEvent(), context())).status).toBe('incomplete');
      expect(appconfig.deployedDocument()).toMatchObject({ stable: { modelVersion: N.version } });

      appconfig.unreachable = false;
      clock = new Date(T0.getTime() + 9 * 60_000);
      const settled = await handler()(inService(N1_LIVE_CONFIG), context());
      expect(settled).toMatchObject({ status: 'settled', paged: true });
      expect(appconfig.deployedDocument()).toEqual({
        ...releaseFlag,
        stable: { modelVersion: N1.version, endpoint: 'live' },
        candidate: null,
        killSwitch: false,
        updatedBy: `rollback (settle): corrected from ${N.version}, which does not serve`,
        updatedAt: '2026-11-05T10:09:00.000Z',
      });
      expect(appconfig.deployments.at(-1)!.strategy).toBe('strat01');
      const [incomplete, corrected] = await pages();
      expect(incomplete!.subject).toMatch(/^Rollback INCOMPLETE/);
      expect(corrected!.subject).toBe(`Flag corrected: ${MODEL} flag named ${N.version}`.slice(0, 99));
      expect(corrected!.body).toContain(
        `the flag names ${N.version} on the live endpoint, but the live endpoint and state.json serve ${N1.version}`,
      );
      // A second event for the same change finds the flag right: nothing written, nobody paged again.
      const versions = appconfig.versions.length;
      const again = await handler()(inService(N1_LIVE_CONFIG), context());
      expect(again).toMatchObject({ status: 'settled', paged: false });
      expect(appconfig.versions).toHaveLength(versions);
      expect(await pages()).toEqual([]);
    });

    it("GIVEN the live endpoint already serves N-1 and AppConfig throttles the rollback's flag write through every retry THEN the settle that follows at once corrects the flag, and the rollback's page says so", async () => {
      await applyUpdate({ EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG });
      // The rollback stores its flag 4 times (1, 2, 4 s apart), all throttled; settle's write is accepted.
      let throttled = 4;
      appconfig.beforeCreate = () => {
        if (throttled-- > 0) throw named('ThrottlingException', 'Rate exceeded');
      };
      const result = done(await handler()(alarmEvent(), context()));

      expect(result.record.flag).toMatchObject({ outcome: 'failed' });
      expect(result.record.endpoint).toMatchObject({ outcome: 'already' });
      expect(appconfig.deployedDocument()).toMatchObject({
        stable: { modelVersion: N1.version, endpoint: 'live' },
        updatedBy: `rollback (settle): corrected from ${N.version}, which does not serve`,
      });
      expect(result.problems).toContainEqual(
        expect.stringMatching(
          new RegExp(`^Settle corrected the flag: the flag names ${N.version} on the live endpoint, but`),
        ),
      );
      const [page] = await pages();
      expect(page!.body).toContain('Settle corrected the flag');
    });

    it('GIVEN a rollback away from N is in progress (claimed, flag on N-1) when the live endpoint reports N in service THEN settle leaves the flag to the rollback', async () => {
      // The rollback claimed the incident and moved the flag; the endpoint has not taken N-1's config yet.
      await ddb.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: {
            pk: { S: MODEL },
            sk: { S: `from#${N.version}#${N.exec}` },
            status: { S: 'started' },
            fromVersion: { S: N.version },
            toVersion: { S: N1.version },
            startedAt: { S: T0.toISOString() },
          },
        }),
      );
      appconfig.addVersion(rollbackFlag('a person'), 'rollback');
      appconfig.deployments.push({ number: 2, version: '2', state: 'COMPLETE', strategy: 'strat01' });

      const settled = await handler()(inService(N_LIVE_CONFIG), context());
      expect(settled).toMatchObject({ status: 'settled', paged: false });
      expect(settled.message).toContain(`a rollback away from ${N.version} is recorded (status "started")`);
      expect(appconfig.versions).toHaveLength(2);
      expect(appconfig.deployedDocument()).toEqual(rollbackFlag('a person'));
      expect(await pages()).toEqual([]);
    });

    it('GIVEN the flag is wrong but another flag deployment is in progress THEN settle does not stop it, and pages that the flag still names the wrong version', async () => {
      // A rollback left N-1 live in state.json and on the endpoint, and the flag on N; a person's slow
      // deployment is in progress.
      await putState({ ...rolledBackState, updatedAt: T0.toISOString() });
      await applyUpdate({ EndpointName: LIVE, EndpointConfigName: N1_LIVE_CONFIG });
      appconfig.deployments.push({ number: 2, version: '1', state: 'DEPLOYING', strategy: 'strat-linear' });

      const result = await handler()(inService(N1_LIVE_CONFIG), context());
      expect(result).toMatchObject({ status: 'not-run', paged: true });
      expect(appconfigStub.commandCalls(StopDeploymentCommand)).toEqual([]);
      const [page] = await pages();
      expect(page!.subject).toBe(`Flag ACTION NEEDED: ${MODEL} flag names ${N.version}`.slice(0, 99));
      expect(page!.body).toContain(`serve ${N1.version}, but the ${FLAG} names ${N.version}`);
    });

    it('GIVEN the live endpoint changes state on another config (a release) THEN the flag is left alone', async () => {
      // A canary put the next candidate live; promotion has not run, so the serving state still names N.
      const candidate = `${PREFIX}-4f1c2e9a-live`;
      await sagemakerMoto.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: candidate,
          ProductionVariants: [
            {
              VariantName: 'live',
              ModelName: N_MODEL,
              InitialInstanceCount: 1,
              InstanceType: 'ml.g4dn.xlarge',
            },
          ],
        }),
      );
      await applyUpdate({ EndpointName: LIVE, EndpointConfigName: candidate });
      const result = await handler()(inService(candidate), context());
      expect(result.status).toBe('ignored');
      expect(appconfig.versions).toHaveLength(1);
    });
  });

  describe('the live fleet during a rollback (issue 11)', () => {
    /**
     * The live endpoint as SageMaker sizes it: UpdateEndpoint without RetainAllVariantProperties
     * resets each variant to the new config's InitialInstanceCount; with it, the desired count is
     * kept (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html).
     */
    let fleet: { config: string; instances: number };
    const INITIAL_COUNT = 1;

    beforeEach(() => {
      // Autoscaling grew the fleet of N to 6 instances under load.
      fleet = { config: N_LIVE_CONFIG, instances: 6 };
      describeHook = (name) =>
        name === LIVE
          ? {
              ...described(LIVE, 'InService', fleet.config),
              ProductionVariants: [
                {
                  VariantName: 'live',
                  CurrentInstanceCount: fleet.instances,
                  DesiredInstanceCount: fleet.instances,
                },
              ],
            }
          : undefined;
      onUpdate = async (input) => {
        fleet = {
          config: input.EndpointConfigName!,
          instances: input.RetainAllVariantProperties === true ? fleet.instances : INITIAL_COUNT,
        };
      };
    });

    it("GIVEN autoscaling grew the fleet THEN the rollback keeps its size instead of the old config's count", async () => {
      const result = done(await handler()(alarmEvent(), context()));
      expect(result.status).toBe('done');
      expect(fleet).toEqual({ config: N1_LIVE_CONFIG, instances: 6 });
    });
  });
});

describe('rollback environment', () => {
  it('names every missing or invalid key and what to do', () => {
    const { ROLLBACK_TABLE: _table, ...rest } = ENV;
    expect(() => rollbackEnv({ ...rest, PAGING_TOPIC_ARN: 'mlops-paging' })).toThrow(
      'rollback environment: ROLLBACK_TABLE is missing; PAGING_TOPIC_ARN is invalid (expected the ARN of the ' +
        "paging topic (arn:...)); the function was deployed without its construct's settings, so it cannot roll " +
        'back: redeploy the model stack, and meanwhile roll back by hand (docs/serving.md, "By hand")',
    );
  });

  it('takes the configured experiment, else "rollback", for a flag written where none was', () => {
    expect(rollbackEnv(ENV).EXPERIMENT).toBe('document-classifier-2026-11');
    const { EXPERIMENT: _experiment, ...rest } = ENV;
    expect(rollbackEnv(rest).EXPERIMENT).toBe('rollback');
  });
});
