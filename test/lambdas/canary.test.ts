import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfigClient, ConflictException, StartDeploymentCommand } from '@aws-sdk/client-appconfig';
import {
  ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DeleteScalingPolicyCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
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
  type CreateEndpointCommandInput,
  type CreateEndpointConfigCommandInput,
  type CreateModelCommandInput,
  type DescribeEndpointCommandInput,
  type DescribeEndpointCommandOutput,
  type DescribeEndpointConfigCommandInput,
  type DescribeModelCommandInput,
  type UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { installFlagStore } from '../helpers/appconfig-flag-store';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { createHandler, type Deps } from '../../lambdas/canary';
import { decodeCanaryToken, type CanaryState } from '../../lambdas/core/serving/canary';
import type { CanaryRecord, ServingState } from '../../lambdas/core/serving/serving-records';
import { logger } from '../../lambdas/shared/logger';
import { releaseSettings, type ReleaseSettings } from '../../lambdas/core/contracts/release-settings';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';
import { putConfidenceAlarm } from '../helpers/confidence-alarm';
import {
  bandOfZExpression,
  confidenceAlarmDefinition,
  DISARMED_BAND,
} from '../../lambdas/core/monitoring/confidence-alarm';
import type { FlagDocument } from '../../lambdas/core/routing/flags';

const JOB_ID = 'c0ffee-job';
const EXECUTION_ID = 'a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const COMMIT = '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const RUN = `models/document-classifier/runs/${EXECUTION_ID}`;
const RECORD_URL = `s3://${ARTIFACTS}/${RUN}/canary.json`;
const ARCHIVE_BYTES = 'model weights';
const ARCHIVE_SHA = createHash('sha256').update(ARCHIVE_BYTES).digest('hex');
const ARCHIVE_KEY = `models/document-classifier/archives/sha256/${ARCHIVE_SHA}.tar.gz`;
const ARCHIVE_URL = `s3://${ARTIFACTS}/${ARCHIVE_KEY}`;
const LIVE = 'mlops-document-classifier-live';
// releaseNames('mlops-document-classifier', EXECUTION_ID)
const CANDIDATE_MODEL = 'mlops-document-classifier-a1b2c3d4';
const CANDIDATE = 'mlops-document-classifier-a1b2c3d4-live';
const PREVIOUS_MODEL = 'mlops-document-classifier-9f8e7d6c';
const PREVIOUS = 'mlops-document-classifier-9f8e7d6c-live';
const PREVIOUS_VERSION = '0123abc';
const PREVIOUS_EXECUTION = '9f8e7d6c-0000-4000-8000-000000000000';
const STANDBY = 'mlops-document-classifier-standby';
// releaseNames(...).standbyConfig: the model that serves before this run, on the standby.
const STANDBY_CONFIG = 'mlops-document-classifier-a1b2c3d4-standby';
const CONFIDENCE_ALARM = 'mlops-document-classifier-live-confidence';
const ROLLBACK_FN = 'arn:aws:lambda:eu-west-1:123456789012:function:mlops-document-classifier-rollback';
const SERVING_STATE_KEY = 'models/document-classifier/serving/state.json';
const ALARM_5XX = 'mlops-document-classifier-live-5xx';
const ALARM_LATENCY = 'mlops-document-classifier-live-model-latency';
const ROLE = 'arn:aws:iam::123456789012:role/mlops-document-classifier-sagemaker';
const IMAGE =
  '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0-gpu-py312-cu124-ubuntu22.04-sagemaker';
/** The shipped config's GPU type is ml.g5.xlarge; moto knows only older ones (see beforeAll). */
const INSTANCE_TYPE = 'ml.g4dn.xlarge';
const OLD_INSTANCE_TYPE = 'ml.p3.2xlarge';
const T0 = new Date('2026-11-05T10:00:00.000Z');
const RESOURCE_ID = `endpoint/${LIVE}/variant/live`;
// 120 min SageMaker limit + the handler's 30 min margin.
const LIMIT = '2 h 30 min';

const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const EVAL_REPORT = JSON.parse(
  readFileSync(join(__dirname, '../fixtures/eval/eval_report.json'), 'utf8'),
) as Record<string, unknown>;

describe('canary handler', () => {
  const moto = useMoto();
  const codepipeline = mockClient(CodePipelineClient);
  let settings: ReleaseSettings;
  let s3: S3Client;
  /** Talks to moto directly: test setup, and what the handler's client passes through to. */
  let sagemakerMoto: SageMakerClient;
  let sagemaker: SageMakerClient;
  let sm: AwsClientStub<SageMakerClient>;
  let cloudwatch: CloudWatchClient;
  let autoscaling: ApplicationAutoScalingClient;
  let now: Date;
  let deps: Deps;
  /** Fields laid over moto's DescribeEndpoint, one per call: the states moto cannot produce. */
  let describeOverlays: Partial<DescribeEndpointCommandOutput>[];
  /** What `UpdateEndpoint` received; moto does not implement it. */
  let updates: UpdateEndpointCommandInput[];
  /** AppConfig has no deployments in moto: the flag's hosted versions and deployments are kept here. */
  const handlerAppConfig = new AppConfigClient({ region: 'eu-west-1' });
  const appconfig = mockClient(handlerAppConfig);
  let flagVersions: string[];
  let flagDeployments: string[];

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      RELEASE_SETTINGS_PARAMETER: PARAMETER,
      ARTIFACTS_BUCKET: ARTIFACTS,
      MODEL_NAME: 'document-classifier',
      SERVING_NAME_PREFIX: 'mlops-document-classifier',
      EXECUTION_ROLE_ARN: ROLE,
      KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      DATA_CAPTURE_S3_URI: 's3://mlops-data-capture/document-classifier',
      INFERENCE_IMAGE: IMAGE,
      LIVE_ENDPOINT: LIVE,
      STANDBY_ENDPOINT: STANDBY,
      ROLLBACK_ALARMS: `${ALARM_5XX}, ${ALARM_LATENCY}`,
      APPCONFIG_APPLICATION_ID: 'app1234',
      APPCONFIG_ENVIRONMENT_ID: 'env1234',
      APPCONFIG_PROFILE_ID: 'prof123',
      APPCONFIG_STRATEGY_ID: 'strat12',
      CONFIDENCE_ALARM_NAME: CONFIDENCE_ALARM,
      CONFIDENCE_ROLLBACK_ACTION_ARN: ROLLBACK_FN,
      EXPERIMENT: 'ab',
    });
    const config = shippedConfig();
    const shipped = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === 'document-classifier')!,
    );
    // moto's CreateEndpointConfig refuses instance types newer than its enum (ml.g5.* among them).
    settings = {
      ...shipped,
      serving: {
        ...shipped.serving,
        instanceType: INSTANCE_TYPE,
        standby: { ...shipped.serving.standby, instanceType: INSTANCE_TYPE },
      },
    };
    s3 = new S3Client(moto.clientConfig);
    sagemakerMoto = new SageMakerClient(moto.clientConfig);
    sagemaker = new SageMakerClient(moto.clientConfig);
    sm = mockClient(sagemaker);
    cloudwatch = new CloudWatchClient(moto.clientConfig);
    autoscaling = new ApplicationAutoScalingClient(moto.clientConfig);
  });

  beforeEach(async () => {
    now = T0;
    describeOverlays = [];
    updates = [];
    deps = {
      s3,
      ssm: new SSMClient(moto.clientConfig),
      codepipeline: new CodePipelineClient({ region: 'eu-west-1' }),
      sagemaker,
      cloudwatch,
      autoscaling,
      appconfig: handlerAppConfig,
      now: () => now,
    };
    ({ versions: flagVersions, deployments: flagDeployments } = installFlagStore(appconfig));
    codepipeline.reset();
    codepipeline.on(PutJobSuccessResultCommand).resolves({});
    codepipeline.on(PutJobFailureResultCommand).resolves({});

    sm.reset();
    sm.on(CreateModelCommand).callsFake((i: CreateModelCommandInput) =>
      sagemakerMoto.send(new CreateModelCommand(i)),
    );
    sm.on(DescribeModelCommand).callsFake((i: DescribeModelCommandInput) =>
      sagemakerMoto.send(new DescribeModelCommand(i)),
    );
    sm.on(CreateEndpointConfigCommand).callsFake((i: CreateEndpointConfigCommandInput) =>
      sagemakerMoto.send(new CreateEndpointConfigCommand(i)),
    );
    sm.on(DescribeEndpointConfigCommand).callsFake((i: DescribeEndpointConfigCommandInput) =>
      sagemakerMoto.send(new DescribeEndpointConfigCommand(i)),
    );
    sm.on(CreateEndpointCommand).callsFake((i: CreateEndpointCommandInput) =>
      sagemakerMoto.send(new CreateEndpointCommand(i)),
    );
    sm.on(ListTagsCommand).callsFake((i) => sagemakerMoto.send(new ListTagsCommand(i)));
    // The overlays are states of the live endpoint; the standby is moto's.
    sm.on(DescribeEndpointCommand).callsFake(async (i: DescribeEndpointCommandInput) => {
      const real = await sagemakerMoto.send(new DescribeEndpointCommand(i));
      return i.EndpointName === LIVE ? { ...real, ...describeOverlays.shift() } : real;
    });
    sm.on(UpdateEndpointCommand).callsFake((i: UpdateEndpointCommandInput) => {
      updates.push(i);
      return { EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${i.EndpointName}` };
    });

    await new SSMClient(moto.clientConfig).send(
      new PutParameterCommand({ Name: PARAMETER, Type: 'String', Value: JSON.stringify(settings) }),
    );
    await s3.send(
      new CreateBucketCommand({
        Bucket: ARTIFACTS,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    await put(`${RUN}/model-artifact.json`, {
      sha256: ARCHIVE_SHA,
      bytes: ARCHIVE_BYTES.length,
      modelDataUrl: ARCHIVE_URL,
      commitId: COMMIT,
    });
    // As the PublishModel stage leaves it: S3 keeps the SHA-256 it computed.
    await s3.send(
      new PutObjectCommand({
        Bucket: ARTIFACTS,
        Key: ARCHIVE_KEY,
        Body: ARCHIVE_BYTES,
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    // What the evaluation build leaves: the candidate's confidence sets the alarm's provisional band.
    await put(`${RUN}/eval_report.json`, {
      ...EVAL_REPORT,
      model: 'document-classifier',
      model_version: COMMIT,
    });
    // The confidence alarm as the model stack creates it: disarmed until a version serves.
    await putConfidenceAlarm(cloudwatch, {
      name: CONFIDENCE_ALARM,
      model: 'document-classifier',
      definition: confidenceAlarmDefinition(
        { stdDevs: 2, breachingPeriods: 5, minRequests: 10, periodSeconds: 60 },
        DISARMED_BAND,
      ),
      actions: [ROLLBACK_FN],
      description: 'mean confidence below baseline',
    });
    for (const name of [ALARM_5XX, ALARM_LATENCY]) {
      await cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          Namespace: 'AWS/SageMaker',
          MetricName: name.endsWith('5xx') ? 'Invocation5XXErrors' : 'ModelLatency',
          Statistic: 'Average',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanThreshold',
        }),
      );
    }
  });

  afterEach(() => {
    // Every state a test laid over moto was read: a test cannot pass on a state it never showed.
    expect(describeOverlays).toEqual([]);
  });

  async function put(key: string, body: unknown) {
    await s3.send(new PutObjectCommand({ Bucket: ARTIFACTS, Key: key, Body: JSON.stringify(body) }));
  }

  async function record(): Promise<CanaryRecord> {
    const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: `${RUN}/canary.json` }));
    return JSON.parse(await res.Body!.transformToString()) as CanaryRecord;
  }

  async function setAlarm(name: string, state: 'OK' | 'ALARM') {
    await cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: 'test' }),
    );
  }

  /** The previous release, live on `ml.<type>` with `count` instances, as an earlier run left it. */
  async function seedLive(count = 3, instanceType = INSTANCE_TYPE, standbyReady = true) {
    await sagemakerMoto.send(
      new CreateModelCommand({
        ModelName: PREVIOUS_MODEL,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://${ARTIFACTS}/previous/model.tar.gz` },
        // As createModelSpec tags every released model.
        Tags: [
          { Key: 'ModelVersion', Value: PREVIOUS_VERSION },
          { Key: 'PipelineExecutionId', Value: PREVIOUS_EXECUTION },
        ],
      }),
    );
    await sagemakerMoto.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: PREVIOUS,
        ProductionVariants: [
          {
            VariantName: 'live',
            ModelName: PREVIOUS_MODEL,
            InstanceType: instanceType as 'ml.g4dn.xlarge',
            InitialInstanceCount: count,
            InitialVariantWeight: 1,
          },
        ],
      }),
    );
    await sagemakerMoto.send(new CreateEndpointCommand({ EndpointName: LIVE, EndpointConfigName: PREVIOUS }));
    if (standbyReady) await seedStandby(PREVIOUS_MODEL);
  }

  /** The standby endpoint on this run's standby config, holding `modelName` (what the refresh leaves). */
  async function seedStandby(modelName: string, configName = STANDBY_CONFIG) {
    await sagemakerMoto.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: configName,
        ProductionVariants: [
          {
            VariantName: 'standby',
            ModelName: modelName,
            InstanceType: INSTANCE_TYPE as 'ml.g4dn.xlarge',
            InitialInstanceCount: 1,
            InitialVariantWeight: 1,
          },
        ],
      }),
    );
    await sagemakerMoto.send(
      new CreateEndpointCommand({ EndpointName: STANDBY, EndpointConfigName: configName }),
    );
  }

  async function servingState(): Promise<ServingState> {
    const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: SERVING_STATE_KEY }));
    return JSON.parse(await res.Body!.transformToString()) as ServingState;
  }

  function deployedFlag(): FlagDocument | undefined {
    const version = flagDeployments.at(-1);
    return version === undefined
      ? undefined
      : (JSON.parse(flagVersions[Number(version) - 1]!) as FlagDocument);
  }

  async function confidenceBandMean(): Promise<number | undefined> {
    const res = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [CONFIDENCE_ALARM] }));
    const z = res.MetricAlarms?.[0]?.Metrics?.find((m) => m.Id === 'z')?.Expression;
    return z === undefined ? undefined : bandOfZExpression(z)?.mean;
  }

  /** What SageMaker does when a blue/green update completes: the candidate's config serves. */
  async function completeUpdate() {
    await sagemakerMoto.send(new DeleteEndpointCommand({ EndpointName: LIVE }));
    await sagemakerMoto.send(
      new CreateEndpointCommand({ EndpointName: LIVE, EndpointConfigName: CANDIDATE }),
    );
  }

  async function registerAutoscaling() {
    await autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'sagemaker',
        ResourceId: RESOURCE_ID,
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        MinCapacity: 2,
        MaxCapacity: 6,
      }),
    );
    await autoscaling.send(
      new PutScalingPolicyCommand({
        PolicyName: `${LIVE}-invocations-per-instance`,
        ServiceNamespace: 'sagemaker',
        ResourceId: RESOURCE_ID,
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 120,
          PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        },
      }),
    );
  }

  async function scalableTargets() {
    const res = await autoscaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker', ResourceIds: [RESOURCE_ID] }),
    );
    return (res.ScalableTargets ?? []).map((t) => ({ min: t.MinCapacity, max: t.MaxCapacity }));
  }

  async function scalingPolicies() {
    const res = await autoscaling.send(
      new DescribeScalingPoliciesCommand({ ServiceNamespace: 'sagemaker', ResourceId: RESOURCE_ID }),
    );
    return (res.ScalingPolicies ?? []).map((p) => ({
      name: p.PolicyName,
      target: p.TargetTrackingScalingPolicyConfiguration?.TargetValue,
      metric: p.TargetTrackingScalingPolicyConfiguration?.PredefinedMetricSpecification?.PredefinedMetricType,
    }));
  }

  function jobEvent(continuationToken?: string) {
    return {
      'CodePipeline.job': {
        id: JOB_ID,
        accountId: '123456789012',
        data: {
          actionConfiguration: {
            configuration: {
              FunctionName: 'mlops-document-classifier-canary',
              UserParameters: JSON.stringify({
                executionId: EXECUTION_ID,
                pipeline: 'release',
                commitId: COMMIT,
              }),
            },
          },
          inputArtifacts: [],
          outputArtifacts: [],
          ...(continuationToken === undefined ? {} : { continuationToken }),
        },
      },
    };
  }

  /** Invokes the handler once and returns what it reported to CodePipeline. */
  async function invoke(token?: string, handlerDeps = deps) {
    codepipeline.resetHistory();
    await createHandler(handlerDeps)(jobEvent(token));
    expect(codepipeline.calls()).toHaveLength(1);
    return codepipeline.call(0).args[0].input as {
      jobId: string;
      continuationToken?: string;
      executionDetails?: { summary: string };
      outputVariables?: Record<string, string>;
      failureDetails?: { type: string; message: string };
    };
  }

  async function inProgress(token?: string, handlerDeps = deps) {
    const reported = await invoke(token, handlerDeps);
    expect(reported.failureDetails).toBeUndefined();
    expect(reported.continuationToken).toMatch(/^canary\./);
    return {
      token: reported.continuationToken!,
      state: decodeCanaryToken(reported.continuationToken!),
      summary: reported.executionDetails!.summary,
    };
  }

  async function failure(token?: string, handlerDeps = deps): Promise<string> {
    const reported = await invoke(token, handlerDeps);
    expect(reported.failureDetails?.type).toBe('JobFailed');
    return reported.failureDetails!.message;
  }

  /** The summary lines of the serving commit at a pass (lambdas/canary/commit.ts). */
  const committed = (standby: string | null) => [
    `The serving state s3://${ARTIFACTS}/${SERVING_STATE_KEY} names ${COMMIT} live` +
      (standby === null ? ' (no standby: first release).' : ` and ${standby} on the standby.`),
    `The flag now serves ${COMMIT} from the live endpoint (version 1, deployment 1).`,
    `The confidence alarm ${CONFIDENCE_ALARM} is now provisional for ${COMMIT} until its live baseline exists: ` +
      'eval mean 0.84 with sd 0.05, pages without rolling back.',
  ];

  const canaryStarted = (): CanaryState => ({
    endpointName: LIVE,
    expectedConfigName: CANDIDATE,
    previousConfigName: PREVIOUS,
    startedAtMs: T0.getTime(),
    polls: 0,
    alarmsSeen: [],
  });

  const EXPECTED_DEPLOYMENT = {
    BlueGreenUpdatePolicy: {
      TrafficRoutingConfiguration: {
        Type: 'CANARY',
        CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
        WaitIntervalInSeconds: 600,
      },
      TerminationWaitInSeconds: 600,
      MaximumExecutionTimeoutInSeconds: 7200,
    },
    AutoRollbackConfiguration: { Alarms: [{ AlarmName: ALARM_5XX }, { AlarmName: ALARM_LATENCY }] },
  };

  /** Starts a canary on the seeded live endpoint and checks it started. */
  async function startCanary() {
    await seedLive();
    const started = await inProgress();
    expect(started.state).toEqual(canaryStarted());
    return started.token;
  }

  test('first release: creates the live endpoint, waits while it is Creating, passes once it is InService', async () => {
    const created = await inProgress();

    expect(created.summary).toBe(
      `First release of document-classifier: creating the live endpoint "${LIVE}" with config "${CANDIDATE}" ` +
        `(model "${CANDIDATE_MODEL}", version ${COMMIT}, 2 × ml.g4dn.xlarge). No canary is possible: nothing ` +
        'serves yet, so there is nothing to protect. The stage passes once the endpoint is InService with this config.',
    );
    expect(created.state).toEqual({ ...canaryStarted(), previousConfigName: null });
    expect(updates).toEqual([]);
    const endpoint = await sagemakerMoto.send(new DescribeEndpointCommand({ EndpointName: LIVE }));
    expect(endpoint.EndpointConfigName).toBe(CANDIDATE);
    const config = await sagemakerMoto.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: CANDIDATE }),
    );
    expect(config.ProductionVariants).toEqual([
      expect.objectContaining({
        VariantName: 'live',
        ModelName: CANDIDATE_MODEL,
        InstanceType: INSTANCE_TYPE,
        InitialInstanceCount: 2,
      }),
    ]);
    const model = await sagemakerMoto.send(new DescribeModelCommand({ ModelName: CANDIDATE_MODEL }));
    expect(model.PrimaryContainer).toMatchObject({
      Image: IMAGE,
      ModelDataUrl: ARCHIVE_URL,
      Environment: { MODEL_NAME: 'document-classifier', MODEL_VERSION: COMMIT },
    });

    now = minutes(6);
    describeOverlays.push({ EndpointStatus: 'Creating' });
    const creating = await inProgress(created.token);
    expect(creating.summary).toBe(
      `First release of config "${CANDIDATE}" on "${LIVE}": endpoint "${LIVE}" is Creating; waited 6 min of ${LIMIT} (poll 1).`,
    );
    expect(creating.state).toEqual({ ...created.state, polls: 1 });

    now = minutes(14);
    const passed = await invoke(creating.token);
    const summary =
      `First release: the live endpoint "${LIVE}" is InService with the candidate config "${CANDIDATE}" ` +
      '(variants: live 2 instance(s)). No canary ran: nothing served before this release.';
    expect(passed).toEqual({
      jobId: JOB_ID,
      executionDetails: {
        summary: [
          summary,
          'Autoscaling: 2-6 instances, target 120 invocations per instance per minute.',
          `canary record: ${RECORD_URL}`,
          ...committed(null),
        ].join('\n'),
      },
      outputVariables: { CandidateConfig: CANDIDATE, PreviousConfig: 'none' },
    });
    expect(await record()).toEqual({
      schemaVersion: 1,
      model: 'document-classifier',
      executionId: EXECUTION_ID,
      modelVersion: COMMIT,
      endpointName: LIVE,
      candidateModelName: CANDIDATE_MODEL,
      candidateConfigName: CANDIDATE,
      previousConfigName: null,
      outcome: 'live',
      detail: summary,
      alarmsSeen: [],
      startedAt: '2026-11-05T10:00:00.000Z',
      finishedAt: '2026-11-05T10:14:00.000Z',
    });
    expect(await scalableTargets()).toEqual([{ min: 2, max: 6 }]);
    expect(await scalingPolicies()).toEqual([
      {
        name: `${LIVE}-invocations-per-instance`,
        target: 120,
        metric: 'SageMakerVariantInvocationsPerInstance',
      },
    ]);
  });

  test('canary start: blue/green update with canary routing and the rollback alarms, on a fleet no smaller than now', async () => {
    await seedLive(3);
    await registerAutoscaling();

    const started = await inProgress();

    expect(updates).toEqual([
      { EndpointName: LIVE, EndpointConfigName: CANDIDATE, DeploymentConfig: EXPECTED_DEPLOYMENT },
    ]);
    expect(started.state).toEqual(canaryStarted());
    expect(started.summary).toBe(
      `Canary started on the live endpoint "${LIVE}": blue/green update from config "${PREVIOUS}" to ` +
        `"${CANDIDATE}" (model "${CANDIDATE_MODEL}", version ${COMMIT}, 3 × ml.g4dn.xlarge); canary 1 instance(s) ` +
        'for 10 min, then the rest, old fleet kept 10 min; auto-rollback on ' +
        `"${ALARM_5XX}", "${ALARM_LATENCY}"; SageMaker gives up after 120 min.\n` +
        `The standby endpoint "${STANDBY}" holds the model that served before the canary ("${PREVIOUS_MODEL}", ` +
        `config "${STANDBY_CONFIG}"), warm for a rollback.`,
    );
    // The fleet had scaled out to 3: the candidate's config keeps 3, not the configured 2.
    const config = await sagemakerMoto.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: CANDIDATE }),
    );
    expect(config.ProductionVariants?.[0]).toMatchObject({ VariantName: 'live', InitialInstanceCount: 3 });
    // Same instance type: autoscaling stays registered through the update.
    expect(await scalableTargets()).toEqual([{ min: 2, max: 6 }]);
  });

  test('polls while Updating with the same expected config, then passes when the candidate serves', async () => {
    const token = await startCanary();

    now = minutes(10);
    describeOverlays.push({ EndpointStatus: 'Updating' });
    const updating = await inProgress(token);
    expect(updating.summary).toBe(
      `Canary of config "${CANDIDATE}" on "${LIVE}": endpoint "${LIVE}" is Updating; waited 10 min of ${LIMIT} (poll 1).`,
    );
    expect(updating.state).toEqual({ ...canaryStarted(), polls: 1 });

    now = minutes(27);
    await completeUpdate();
    describeOverlays.push({ LastDeploymentConfig: updates[0].DeploymentConfig });
    const passed = await invoke(updating.token);
    const summary =
      `Canary passed: endpoint "${LIVE}" is InService with the candidate config "${CANDIDATE}"; traffic routing ` +
      `CANARY 1 instance(s), baked 10 min; watched by alarms "${ALARM_5XX}", "${ALARM_LATENCY}"; variants: live 3 instance(s).`;
    expect(passed).toEqual({
      jobId: JOB_ID,
      executionDetails: {
        summary: [
          summary,
          'Autoscaling: 2-6 instances, target 120 invocations per instance per minute.',
          `canary record: ${RECORD_URL}`,
          ...committed(PREVIOUS_VERSION),
        ].join('\n'),
      },
      outputVariables: { CandidateConfig: CANDIDATE, PreviousConfig: PREVIOUS },
    });
    // The moment the candidate serves, the platform says so (not at Promotion): the serving state
    // names it live with the version before warm on the standby, the flag labels its answers, and
    // the confidence alarm judges it by its own eval mean.
    expect(await servingState()).toEqual({
      schemaVersion: 1,
      model: 'document-classifier',
      live: {
        endpointName: LIVE,
        configName: CANDIDATE,
        modelName: CANDIDATE_MODEL,
        modelVersion: COMMIT,
        executionId: EXECUTION_ID,
      },
      standby: {
        endpointName: STANDBY,
        configName: STANDBY_CONFIG,
        modelName: PREVIOUS_MODEL,
        modelVersion: PREVIOUS_VERSION,
        executionId: PREVIOUS_EXECUTION,
        liveConfigName: PREVIOUS,
      },
      updatedAt: '2026-11-05T10:27:00.000Z',
      updatedBy: `canary ${EXECUTION_ID}`,
    });
    expect(deployedFlag()).toMatchObject({
      stable: { modelVersion: COMMIT, endpoint: 'live' },
      candidate: null,
    });
    expect(await confidenceBandMean()).toBe(0.84);
    expect(await record()).toMatchObject({
      previousConfigName: PREVIOUS,
      outcome: 'live',
      detail: summary,
      alarmsSeen: [],
      startedAt: '2026-11-05T10:00:00.000Z',
      finishedAt: '2026-11-05T10:27:00.000Z',
    });
    expect(await scalableTargets()).toEqual([{ min: 2, max: 6 }]);
    // A retried stage finds everything done and writes nothing twice.
    const again = await invoke(updating.token);
    expect(again.failureDetails).toBeUndefined();
    expect(flagVersions).toHaveLength(1);
    expect(flagDeployments).toEqual(['1']);
  });

  test('an alarm during the rollback is carried in the token and named when the old config is back', async () => {
    const token = await startCanary();

    now = minutes(8);
    await setAlarm(ALARM_5XX, 'ALARM');
    describeOverlays.push({ EndpointStatus: 'RollingBack' });
    const rolling = await inProgress(token);
    expect(rolling.summary).toBe(
      `Canary of config "${CANDIDATE}" on "${LIVE}": SageMaker is rolling the update back (alarm "${ALARM_5XX}" ` +
        `in ALARM); waited 8 min of ${LIMIT} (poll 1).`,
    );
    expect(rolling.state).toEqual({ ...canaryStarted(), polls: 1, alarmsSeen: [ALARM_5XX] });

    // By the time the rollback ends the alarm is back to OK; moto's endpoint still serves the old config.
    now = minutes(12);
    await setAlarm(ALARM_5XX, 'OK');
    const message = await failure(rolling.token);
    const detail =
      `Canary failed: the update to "${CANDIDATE}" was rolled back; alarm "${ALARM_5XX}" was in ALARM during the ` +
      `deployment. Endpoint "${LIVE}" is InService but serves config "${PREVIOUS}", not the candidate's. The ` +
      "previous model still serves all traffic; look at the candidate's 5xx rate and model latency during the " +
      'canary before releasing it again.';
    expect(message).toBe(`${detail}\ncanary record: ${RECORD_URL}`);
    expect(await record()).toMatchObject({
      previousConfigName: PREVIOUS,
      outcome: 'rolled-back',
      detail,
      alarmsSeen: [ALARM_5XX],
      startedAt: '2026-11-05T10:00:00.000Z',
      finishedAt: '2026-11-05T10:12:00.000Z',
    });
  });

  test("a person's rollback stopped the deployment: the canary fails naming who rolled it back and why", async () => {
    const token = await startCanary();
    // The rollback function stopped the deployment (SageMaker rolled back: moto's endpoint serves the
    // previous config) and left its record beside this run.
    now = minutes(14);
    await put(`${RUN}/rollback.json`, {
      status: 'done',
      trigger: { kind: 'manual', by: 'Jane Doe', reason: 'answers look wrong in the canary' },
    });
    const message = await failure(token);
    expect(message).toMatch(
      new RegExp(
        `^Canary failed: this release was rolled back while its deployment ran \\(requested by Jane Doe: answers ` +
          `look wrong in the canary, rollback done; record s3://${ARTIFACTS}/${RUN}/rollback\\.json\\), so the ` +
          `candidate config "${CANDIDATE}" is not released\\. SageMaker: the update to "${CANDIDATE}" was rolled back`,
      ),
    );
    expect(updates).toHaveLength(1);
    expect(await record()).toMatchObject({ outcome: 'rolled-back' });
  });

  test("a person's rollback the deployment finished before SageMaker saw: the candidate does not pass, and the previous config goes back", async () => {
    const token = await startCanary();
    now = minutes(27);
    await completeUpdate();
    describeOverlays.push({ LastDeploymentConfig: updates[0].DeploymentConfig });
    await put(`${RUN}/rollback.json`, {
      status: 'failed',
      trigger: { kind: 'manual', by: 'Jane Doe', reason: 'stop it' },
    });
    const message = await failure(token);
    expect(message).toMatch(
      /^Canary failed: this release was rolled back while its deployment ran \(requested by Jane Doe: stop it, rollback failed;/,
    );
    expect(message).toContain(
      `SageMaker: Canary passed: endpoint "${LIVE}" is InService with the candidate config`,
    );
    expect(message).toContain(`put the previous config "${PREVIOUS}" back`);
    expect(updates.at(-1)).toEqual({
      EndpointName: LIVE,
      EndpointConfigName: PREVIOUS,
      RetainAllVariantProperties: true,
    });
    // Nothing was committed for the candidate: no flag, no serving state naming it.
    expect(flagVersions).toEqual([]);
    expect(await record()).toMatchObject({ outcome: 'failed' });
  });

  test('whether the release was rolled back cannot be read when the candidate serves: the stage looks again at its next poll before it passes', async () => {
    const token = await startCanary();
    now = minutes(27);
    await completeUpdate();
    describeOverlays.push({ LastDeploymentConfig: updates[0].DeploymentConfig });
    const throttled = new S3Client(moto.clientConfig);
    mockClient(throttled)
      .on(GetObjectCommand)
      .callsFake((i: { Key?: string }) =>
        i.Key === `${RUN}/rollback.json`
          ? Promise.reject(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }))
          : s3.send(new GetObjectCommand(i as never)),
      )
      .on(PutObjectCommand)
      .callsFake((i) => s3.send(new PutObjectCommand(i)));
    const waiting = await inProgress(token, { ...deps, s3: throttled });
    expect(waiting.summary).toBe(
      `The candidate config "${CANDIDATE}" is in service, but whether this release was rolled back could not be ` +
        `read (s3://${ARTIFACTS}/${RUN}/rollback.json); the stage looks again at its next poll before it passes.`,
    );
    // Nothing was committed meanwhile; the next poll, with S3 back, passes.
    expect(flagVersions).toEqual([]);
    describeOverlays.push({ LastDeploymentConfig: updates[0].DeploymentConfig });
    const passed = await invoke(waiting.token);
    expect(passed.failureDetails).toBeUndefined();
    expect(passed.outputVariables).toEqual({ CandidateConfig: CANDIDATE, PreviousConfig: PREVIOUS });
  });

  test('a guardrail alarm in ALARM when the candidate is in service: the canary does not pass, and the previous config goes back', async () => {
    const token = await startCanary();
    now = minutes(27);
    await completeUpdate();
    // The alarm went off near the end of the bake: SageMaker finished the shift before it evaluated.
    await setAlarm(ALARM_LATENCY, 'ALARM');
    describeOverlays.push({ LastDeploymentConfig: updates[0].DeploymentConfig });
    const message = await failure(token);
    expect(message).toContain(`Canary failed: alarm "${ALARM_LATENCY}" is in ALARM`);
    expect(message).toContain(`put the previous config "${PREVIOUS}" back`);
    // Back to the previous config, keeping the fleet as it is.
    expect(updates.at(-1)).toEqual({
      EndpointName: LIVE,
      EndpointConfigName: PREVIOUS,
      RetainAllVariantProperties: true,
    });
    expect(await record()).toMatchObject({ outcome: 'failed', alarmsSeen: [ALARM_LATENCY] });
  });

  test('a retried stage whose candidate is already live fails while a guardrail alarm is in ALARM, and changes nothing', async () => {
    await startCanary();
    now = minutes(27);
    await completeUpdate();
    await setAlarm(ALARM_LATENCY, 'ALARM');
    describeOverlays.push({ LastDeploymentConfig: updates[0].DeploymentConfig });
    const before = updates.length;

    // The stage is retried from the start (no continuation token): the candidate already serves.
    const message = await failure();

    expect(message).toContain(`Canary failed: alarm "${ALARM_LATENCY}" is in ALARM`);
    expect(message).toContain(
      'The candidate was already live from an earlier attempt of this run; this retry changed nothing.',
    );
    expect(updates).toHaveLength(before);
  });

  test('a guardrail alarm already in ALARM: the canary does not start, and the message names the alarm', async () => {
    await seedLive();
    await setAlarm(ALARM_5XX, 'ALARM');
    const message = await failure();
    expect(message).toContain(`Canary not started: its guardrail alarm "${ALARM_5XX}" is already in ALARM`);
    expect(updates).toEqual([]);
  });

  test('the confidence alarm already in ALARM (on the served version): left out of the guardrails, the canary starts', async () => {
    const confidence = 'mlops-document-classifier-live-confidence';
    const configured = process.env.ROLLBACK_ALARMS;
    process.env.ROLLBACK_ALARMS = `${ALARM_5XX}, ${ALARM_LATENCY}, ${confidence}`;
    try {
      await cloudwatch.send(
        new PutMetricAlarmCommand({
          AlarmName: confidence,
          Namespace: 'MLPlatform/Router',
          MetricName: 'Confidence',
          Statistic: 'Average',
          Period: 60,
          EvaluationPeriods: 5,
          Threshold: 0.5,
          ComparisonOperator: 'LessThanThreshold',
        }),
      );
      await seedLive();
      await setAlarm(confidence, 'ALARM');

      const started = await inProgress();

      // The router's confidence metrics do not say which version answered: in ALARM before the
      // canary, the alarm would roll back any candidate at once. The other alarms guard it.
      expect(updates).toEqual([
        { EndpointName: LIVE, EndpointConfigName: CANDIDATE, DeploymentConfig: EXPECTED_DEPLOYMENT },
      ]);
      expect(started.summary).toContain(
        `The confidence alarm "${confidence}" was already in ALARM on the traffic of the version that serves ("${PREVIOUS}"), ` +
          "so it is left out of this canary's guardrails",
      );
    } finally {
      process.env.ROLLBACK_ALARMS = configured;
    }
  });

  test('a rollback that reports InService quietly, with no alarm, still fails', async () => {
    const token = await startCanary();

    now = minutes(20);
    describeOverlays.push({
      FailureReason: 'Canary fleet health check failed.',
      LastDeploymentConfig: updates[0].DeploymentConfig,
    });
    const message = await failure(token);

    const detail =
      `Canary failed: the update to "${CANDIDATE}" was rolled back by SageMaker (FailureReason: Canary fleet ` +
      `health check failed.). Endpoint "${LIVE}" is InService but serves config "${PREVIOUS}", not the ` +
      "candidate's. No auto-rollback alarm is in ALARM now and guardrails watch alarms only during the " +
      `deployment and its bake: check the history of alarms "${ALARM_5XX}", "${ALARM_LATENCY}" over the ` +
      "deployment window. The previous model still serves all traffic; look at the candidate's 5xx rate and " +
      'model latency during the canary before releasing it again.';
    expect(message).toBe(`${detail}\ncanary record: ${RECORD_URL}`);
    expect(await record()).toMatchObject({ outcome: 'rolled-back', alarmsSeen: [], detail });
  });

  test.each<[string, Partial<DescribeEndpointCommandOutput>, string]>([
    [
      'Failed',
      { EndpointStatus: 'Failed', FailureReason: 'Image pull failed.' },
      `Canary failed: endpoint "${LIVE}" is Failed (FailureReason: Image pull failed.). Fix the cause the ` +
        'FailureReason names (often the model image, the artifact, or the instance quota), then rerun the ' +
        'release; run the rollback to move traffic to the standby endpoint meanwhile.',
    ],
    [
      'UpdateRollbackFailed',
      { EndpointStatus: 'UpdateRollbackFailed', FailureReason: 'Rollback timed out.' },
      "Canary failed and needs an operator: both the blue/green deployment and SageMaker's rollback failed " +
        `on endpoint "${LIVE}" (FailureReason: Rollback timed out.), so it may serve a mix of the old and new ` +
        'configs. First check DescribeEndpoint ProductionVariants (which variants and instance counts serve) ' +
        'and the FailureReason; then run the rollback, which moves traffic to the standby endpoint, and update ' +
        'the live endpoint back to the previous config once it is stable.',
    ],
  ])('%s fails the stage and records a failure, not a rollback', async (_status, overlay, detail) => {
    const token = await startCanary();

    now = minutes(15);
    describeOverlays.push(overlay);
    expect(await failure(token)).toBe(`${detail}\ncanary record: ${RECORD_URL}`);
    expect(await record()).toMatchObject({ outcome: 'failed', previousConfigName: PREVIOUS, detail });
  });

  test('a deployment still Updating past the limit plus margin times out; just inside it waits', async () => {
    const token = await startCanary();

    now = minutes(149);
    describeOverlays.push({ EndpointStatus: 'Updating' });
    const waiting = await inProgress(token);
    expect(waiting.summary).toBe(
      `Canary of config "${CANDIDATE}" on "${LIVE}": endpoint "${LIVE}" is Updating; waited 2 h 29 min of ${LIMIT} (poll 1).`,
    );

    now = minutes(151);
    describeOverlays.push({ EndpointStatus: 'Updating' });
    const detail =
      `Canary timed out after 2 h 31 min (limit ${LIMIT}): endpoint "${LIVE}" is Updating, serving config ` +
      `"${PREVIOUS}". SageMaker may still finish or roll back the update on its own: check DescribeEndpoint ` +
      'before retrying, and raise serving.canary.maxExecutionTimeoutMinutes if the update is just slow.';
    expect(await failure(waiting.token)).toBe(`${detail}\ncanary record: ${RECORD_URL}`);
    expect(await record()).toMatchObject({
      outcome: 'failed',
      detail,
      finishedAt: '2026-11-05T12:31:00.000Z',
    });
  });

  test('a retry after the candidate went live (first release) changes nothing and finishes the pass', async () => {
    await inProgress();
    // The polling invocation never reported (e.g. the function timed out); the stage is retried.
    now = minutes(40);

    const reported = await invoke();

    const summary =
      'The candidate was already live from an earlier attempt of this run; nothing was updated. Canary passed: ' +
      `endpoint "${LIVE}" is InService with the candidate config "${CANDIDATE}"; variants: live 2 instance(s).`;
    expect(reported).toEqual({
      jobId: JOB_ID,
      executionDetails: {
        summary: [
          summary,
          'Autoscaling: 2-6 instances, target 120 invocations per instance per minute.',
          `canary record: ${RECORD_URL}`,
          ...committed(null),
        ].join('\n'),
      },
      outputVariables: { CandidateConfig: CANDIDATE, PreviousConfig: 'none' },
    });
    expect(sm.commandCalls(CreateEndpointCommand)).toHaveLength(1);
    expect(updates).toEqual([]);
    expect(await record()).toMatchObject({
      previousConfigName: null,
      outcome: 'live',
      detail: summary,
      startedAt: '2026-11-05T10:40:00.000Z',
      finishedAt: '2026-11-05T10:40:00.000Z',
    });
    expect(await scalableTargets()).toEqual([{ min: 2, max: 6 }]);
  });

  test('the canary record cannot be written after a pass: the stage fails saying the candidate IS live; a retry finishes', async () => {
    const token = await startCanary();
    await completeUpdate();
    const denied = new S3Client(moto.clientConfig);
    mockClient(denied)
      .on(GetObjectCommand)
      .callsFake((i) => s3.send(new GetObjectCommand(i)))
      .on(PutObjectCommand)
      .rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    now = minutes(30);
    expect(await failure(token, { ...deps, s3: denied })).toBe(
      `The candidate config "${CANDIDATE}" IS live on endpoint "${LIVE}" (the canary passed), but the canary ` +
        `record could not be written, and promotion needs it: cannot write the canary record to ${RECORD_URL}: ` +
        "AccessDenied: Access Denied; check that the bucket exists and the function's role may write to it and " +
        'use its KMS key. Fix the cause. Then retry the stage: it finds the candidate live, changes nothing on ' +
        'the endpoint, and finishes the autoscaling and the canary record.',
    );
    await expect(record()).rejects.toMatchObject({ name: 'NoSuchKey' });

    // The retry has no token: the config that served before comes from the serving state, which
    // names the previous release until this run's promotion.
    const servingState: ServingState = {
      schemaVersion: 1,
      model: 'document-classifier',
      live: {
        endpointName: LIVE,
        configName: PREVIOUS,
        modelName: PREVIOUS_MODEL,
        modelVersion: '0123abc',
        executionId: '9f8e7d6c-0000-4000-8000-000000000000',
      },
      standby: null,
      updatedAt: '2026-10-01T09:00:00.000Z',
      updatedBy: 'promotion',
    };
    await put('models/document-classifier/serving/state.json', servingState);
    now = minutes(45);
    const retried = await invoke();
    expect(retried.outputVariables).toEqual({ CandidateConfig: CANDIDATE, PreviousConfig: PREVIOUS });
    expect(updates).toHaveLength(1);
    expect(await record()).toMatchObject({
      outcome: 'live',
      candidateConfigName: CANDIDATE,
      previousConfigName: PREVIOUS,
    });
  });

  test.each<[string, Partial<DescribeEndpointCommandOutput>, string]>([
    [
      'Updating',
      { EndpointStatus: 'Updating' },
      `Canary not started: the live endpoint "${LIVE}" (config "${PREVIOUS}") is Updating: another deployment ` +
        'is in progress. Nothing was changed. Retry the stage once it is InService.',
    ],
    [
      'RollingBack',
      { EndpointStatus: 'RollingBack' },
      `Canary not started: the live endpoint "${LIVE}" (config "${PREVIOUS}") is RollingBack: a rollback is in ` +
        'progress. Nothing was changed. Retry the stage once it is InService.',
    ],
    [
      'Failed',
      { EndpointStatus: 'Failed', FailureReason: 'Insufficient capacity for ml.g4dn.xlarge.' },
      `Canary not started: the live endpoint "${LIVE}" (config "${PREVIOUS}") is Failed (FailureReason: ` +
        'Insufficient capacity for ml.g4dn.xlarge.). Nothing was changed. A Failed endpoint cannot take an ' +
        'update: fix the cause the FailureReason names and bring the endpoint back InService (or delete it, so ' +
        'that the next release creates it again), then retry the stage.',
    ],
  ])('endpoint %s at start: fails, nothing changed', async (_status, overlay, message) => {
    await seedLive();
    describeOverlays.push(overlay);

    expect(await failure()).toBe(message);
    expect(updates).toEqual([]);
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
    expect(sm.commandCalls(CreateEndpointConfigCommand)).toHaveLength(0);
  });

  test('no model artifact record: fails saying where it should be and who publishes it', async () => {
    await seedLive();
    await s3.send(new DeleteObjectCommand({ Bucket: ARTIFACTS, Key: `${RUN}/model-artifact.json` }));

    expect(await failure()).toBe(
      `s3://${ARTIFACTS}/${RUN}/model-artifact.json does not exist: the PublishModel stage of this run did not ` +
        'publish the model archive; only the release pipeline publishes one (a PR run never does). Nothing was ' +
        "changed on the live endpoint: check the PublishModel stage's message, then rerun the release.",
    );
    expect(sm.calls()).toHaveLength(0);
  });

  test('an archive replaced after publication: fails before any model is created', async () => {
    await seedLive();
    // A new version at the content-addressed key with other bytes (what a stray writer would leave).
    await s3.send(
      new PutObjectCommand({
        Bucket: ARTIFACTS,
        Key: ARCHIVE_KEY,
        Body: 'tampered',
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    const tampered = createHash('sha256').update('tampered').digest('hex');

    expect(await failure()).toBe(
      `Canary not started: ${ARCHIVE_URL} has SHA-256 ${tampered}, but the release record says ${ARCHIVE_SHA}: it is ` +
        'not the archive that was evaluated. Nothing was changed on the live endpoint.',
    );
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
  });

  test('a release record that names an archive outside the published keys: fails before any model is created', async () => {
    await seedLive();
    const runArchive = `s3://${ARTIFACTS}/${RUN}/model.tar.gz`;
    await put(`${RUN}/model-artifact.json`, {
      sha256: ARCHIVE_SHA,
      bytes: ARCHIVE_BYTES.length,
      modelDataUrl: runArchive,
      commitId: COMMIT,
    });

    expect(await failure()).toBe(
      `Canary not started: the release record names the archive ${runArchive}, not the published, content-addressed ` +
        `${ARCHIVE_URL}; only the PublishModel stage writes release archives: rerun the release. Nothing was changed ` +
        'on the live endpoint.',
    );
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
  });

  test('the standby is refreshed with the model that serves before the live endpoint is touched', async () => {
    await seedLive(3, INSTANCE_TYPE, false);

    const refreshing = await inProgress();
    expect(refreshing.summary).toBe(
      `Before the canary, the model that serves now ("${PREVIOUS_MODEL}") goes warm onto the standby, so that a ` +
        `rollback from the candidate has it at once: creating the standby endpoint "${STANDBY}" with config ` +
        `"${STANDBY_CONFIG}". The live endpoint is not touched until then.`,
    );
    expect(refreshing.state).toEqual({ ...canaryStarted(), polls: 1, standbyRefresh: true });
    expect(updates).toEqual([]);
    expect(sm.commandCalls(CreateModelCommand)).toHaveLength(0);
    const standby = await sagemakerMoto.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: STANDBY_CONFIG }),
    );
    expect(standby.ProductionVariants?.map((v) => [v.VariantName, v.ModelName])).toEqual([
      ['standby', PREVIOUS_MODEL],
    ]);

    // moto creates endpoints InService: the next poll finds the standby ready and starts the canary.
    now = minutes(12);
    const started = await inProgress(refreshing.token);
    expect(updates).toEqual([
      { EndpointName: LIVE, EndpointConfigName: CANDIDATE, DeploymentConfig: EXPECTED_DEPLOYMENT },
    ]);
    expect(started.state).toEqual({ ...canaryStarted(), startedAtMs: minutes(12).getTime() });
  });

  test('a canary that fails puts the rollback target the serving state names back on the standby', async () => {
    await put(SERVING_STATE_KEY, {
      schemaVersion: 1,
      model: 'document-classifier',
      live: {
        endpointName: LIVE,
        configName: PREVIOUS,
        modelName: PREVIOUS_MODEL,
        modelVersion: PREVIOUS_VERSION,
        executionId: PREVIOUS_EXECUTION,
      },
      standby: {
        endpointName: STANDBY,
        configName: 'mlops-document-classifier-0a0a0a0a-standby',
        modelName: 'mlops-document-classifier-0a0a0a0a',
        modelVersion: 'n-minus-2',
        executionId: '0a0a0a0a-0000-4000-8000-000000000000',
        liveConfigName: 'mlops-document-classifier-0a0a0a0a-live',
      },
      updatedAt: '2026-10-01T09:00:00.000Z',
      updatedBy: 'promotion',
    });
    const token = await startCanary();

    now = minutes(20);
    describeOverlays.push({ FailureReason: 'Canary fleet health check failed.' });
    const message = await failure(token);

    expect(updates.at(-1)).toEqual({
      EndpointName: STANDBY,
      EndpointConfigName: 'mlops-document-classifier-0a0a0a0a-standby',
    });
    expect(message).toContain(
      `The standby endpoint "${STANDBY}" goes back to config "mlops-document-classifier-0a0a0a0a-standby" ` +
        '(n-minus-2, the rollback target the serving state names; UpdateEndpoint accepted, it takes several minutes).',
    );
    // Nothing serves the candidate: the serving state still names the release before.
    expect((await servingState()).live.configName).toBe(PREVIOUS);
  });

  /** A flag version stored and deployed before the canary runs, sending stable traffic to `stable`. */
  function storeDeployedFlag(stable: FlagDocument['stable'], updatedBy: string): void {
    const doc: FlagDocument = {
      schemaVersion: 1,
      model: 'document-classifier',
      experiment: 'doc-ab',
      stable,
      candidate: null,
      killSwitch: false,
      updatedBy,
      updatedAt: '2026-10-01T09:00:00.000Z',
    };
    flagVersions.push(JSON.stringify(doc));
    flagDeployments.push('1');
  }

  /** The candidate's deployment ends (it serves everyone), then its latency guardrail goes to ALARM. */
  async function candidateServesThenGuardrailTrips(): Promise<string> {
    const token = await startCanary();
    now = minutes(27);
    await completeUpdate();
    await setAlarm(ALARM_LATENCY, 'ALARM');
    describeOverlays.push({ LastDeploymentConfig: updates[0].DeploymentConfig });
    return token;
  }

  test('a candidate that served and fails: the flag sends users to the version before on the warm standby until the live endpoint serves it again, then the stage fails', async () => {
    const N2_STANDBY = 'mlops-document-classifier-0a0a0a0a-standby';
    await put(SERVING_STATE_KEY, {
      schemaVersion: 1,
      model: 'document-classifier',
      live: {
        endpointName: LIVE,
        configName: PREVIOUS,
        modelName: PREVIOUS_MODEL,
        modelVersion: PREVIOUS_VERSION,
        executionId: PREVIOUS_EXECUTION,
      },
      standby: {
        endpointName: STANDBY,
        configName: N2_STANDBY,
        modelName: 'mlops-document-classifier-0a0a0a0a',
        modelVersion: 'n-minus-2',
        executionId: '0a0a0a0a-0000-4000-8000-000000000000',
        liveConfigName: 'mlops-document-classifier-0a0a0a0a-live',
      },
      updatedAt: '2026-10-01T09:00:00.000Z',
      updatedBy: 'promotion',
    });
    storeDeployedFlag({ modelVersion: PREVIOUS_VERSION, endpoint: 'live' }, 'promotion');
    const token = await candidateServesThenGuardrailTrips();

    // The failing poll: the previous config goes back, the flag names the version before on the standby.
    const reverting = await inProgress(token);
    expect(reverting.state.reverting).toBe(true);
    expect(reverting.summary).toContain(`put the previous config "${PREVIOUS}" back`);
    expect(updates.at(-1)).toEqual({
      EndpointName: LIVE,
      EndpointConfigName: PREVIOUS,
      RetainAllVariantProperties: true,
    });
    expect(deployedFlag()).toMatchObject({
      stable: { modelVersion: PREVIOUS_VERSION, endpoint: 'standby' },
      experiment: 'doc-ab',
    });

    // While the live endpoint updates: nothing moves, the standby keeps the version before.
    now = minutes(30);
    describeOverlays.push({ EndpointStatus: 'Updating' });
    const updating = await inProgress(reverting.token);
    expect(updating.state.reverting).toBe(true);
    expect(flagDeployments).toHaveLength(2);
    expect(updates.filter((u) => u.EndpointName === STANDBY)).toEqual([]);

    // The live endpoint serves the previous config again: the flag goes back to it, then the stage
    // fails and only now restores N-2 on the standby.
    now = minutes(34);
    await sagemakerMoto.send(new DeleteEndpointCommand({ EndpointName: LIVE }));
    await sagemakerMoto.send(new CreateEndpointCommand({ EndpointName: LIVE, EndpointConfigName: PREVIOUS }));
    const message = await failure(updating.token);
    expect(message).toMatch(
      new RegExp(
        `^Canary failed: "${ALARM_LATENCY}" went off while the candidate config "${CANDIDATE}" served on "${LIVE}", so it is not released\\.`,
      ),
    );
    expect(message).toContain(
      `"${LIVE}" serves "${PREVIOUS}" again; the flag sends users to ${PREVIOUS_VERSION} on the live endpoint`,
    );
    expect(deployedFlag()).toMatchObject({ stable: { modelVersion: PREVIOUS_VERSION, endpoint: 'live' } });
    expect(updates.at(-1)).toEqual({ EndpointName: STANDBY, EndpointConfigName: N2_STANDBY });
    expect(await record()).toMatchObject({ outcome: 'rolled-back', alarmsSeen: [ALARM_LATENCY] });

    // A retried last poll changes nothing more on the flag (idempotent).
    const deployments = flagDeployments.length;
    await failure(updating.token);
    expect(flagDeployments).toHaveLength(deployments);
  });

  test("a candidate that served and fails while another writer's flag names something else: the flag is left as it is and the stage fails at once", async () => {
    await put(SERVING_STATE_KEY, {
      schemaVersion: 1,
      model: 'document-classifier',
      live: {
        endpointName: LIVE,
        configName: PREVIOUS,
        modelName: PREVIOUS_MODEL,
        modelVersion: PREVIOUS_VERSION,
        executionId: PREVIOUS_EXECUTION,
      },
      standby: null,
      updatedAt: '2026-10-01T09:00:00.000Z',
      updatedBy: 'promotion',
    });
    storeDeployedFlag({ modelVersion: 'someone-else', endpoint: 'standby' }, 'rollback: Jane Doe');
    const token = await candidateServesThenGuardrailTrips();
    const message = await failure(token);
    expect(message).toContain(`put the previous config "${PREVIOUS}" back`);
    expect(message).toContain(
      "the flag names someone-else on the standby endpoint (another writer's), so it was left as it is",
    );
    expect(flagVersions).toHaveLength(1);
    expect(await record()).toMatchObject({ outcome: 'failed' });
  });

  test('autoscaling throttled at the pass: the stage retries at its next poll; refused: the records still say what serves, then the stage fails', async () => {
    const token = await startCanary();
    await completeUpdate();
    const flaky = new ApplicationAutoScalingClient(moto.clientConfig);
    const stub = mockClient(flaky);
    stub
      .on(RegisterScalableTargetCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    now = minutes(27);
    const paused = await inProgress(token, { ...deps, autoscaling: flaky });
    expect(paused.summary).toBe(
      'The candidate serves; autoscaling of its live variant could not be registered: ThrottlingException: Rate ' +
        'exceeded. A transient failure: the stage tries again at its next poll; what is done stays done.',
    );
    expect(paused.state).toEqual({ ...canaryStarted(), polls: 1 });

    stub
      .on(RegisterScalableTargetCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    now = minutes(28);
    const message = await failure(paused.token, { ...deps, autoscaling: flaky });
    expect(message).toBe(
      `The candidate config "${CANDIDATE}" IS live on endpoint "${LIVE}" (the canary passed), but autoscaling of ` +
        'its live variant could not be registered: AccessDeniedException: not authorized. The fleet keeps its ' +
        "current size until it is. Check the function's role (application-autoscaling:RegisterScalableTarget and " +
        'PutScalingPolicy, and iam:CreateServiceLinkedRole the first time). Then retry the stage: it finds the ' +
        'candidate live, changes nothing on the endpoint, and finishes the autoscaling and the canary record.',
    );
    // What serves is recorded all the same: a rollback now returns to the version before it.
    expect((await servingState()).live).toMatchObject({ configName: CANDIDATE, modelVersion: COMMIT });
    expect(deployedFlag()?.stable).toEqual({ modelVersion: COMMIT, endpoint: 'live' });
  });

  test('autoscaling refused at the pass because the scalable target has a pending update: the stage retries at its next poll', async () => {
    const token = await startCanary();
    await completeUpdate();
    const busy = new ApplicationAutoScalingClient(moto.clientConfig);
    const stub = mockClient(busy);
    stub
      .on(RegisterScalableTargetCommand)
      .rejects(Object.assign(new Error('pending update'), { name: 'ConcurrentUpdateException' }));

    now = minutes(27);
    const paused = await inProgress(token, { ...deps, autoscaling: busy });
    expect(paused.summary).toBe(
      'The candidate serves; autoscaling of its live variant could not be registered: ConcurrentUpdateException: ' +
        'pending update. A transient failure: the stage tries again at its next poll; what is done stays done.',
    );
    expect(paused.state).toEqual({ ...canaryStarted(), polls: 1 });
  });

  test('a flag deployment refused once at the pass: the stored version is deployed by a second try, not stored again', async () => {
    const token = await startCanary();
    await completeUpdate();
    let refused = false;
    appconfig.on(StartDeploymentCommand).callsFake(async (input: { ConfigurationVersion: string }) => {
      if (!refused) {
        refused = true;
        throw Object.assign(new Error('Cannot start deployment'), { name: 'BadRequestException' });
      }
      flagDeployments.push(input.ConfigurationVersion);
      return { DeploymentNumber: flagDeployments.length, State: 'DEPLOYING' };
    });

    now = minutes(27);
    const passed = await invoke(token);
    expect(passed.failureDetails).toBeUndefined();
    expect(flagVersions).toHaveLength(1);
    expect(flagDeployments).toEqual(['1']);
    expect(deployedFlag()?.stable).toEqual({ modelVersion: COMMIT, endpoint: 'live' });
  });

  test('a flag deployment refused because another deployment is in progress, at the pass and at the next polls: the stage polls again each time, then deploys the version it stored', async () => {
    const token = await startCanary();
    await completeUpdate();
    let refusals = 3;
    appconfig.on(StartDeploymentCommand).callsFake(async (input: { ConfigurationVersion: string }) => {
      if (refusals > 0) {
        refusals -= 1;
        throw new ConflictException({ message: 'Deployment 4 is in progress', $metadata: {} });
      }
      flagDeployments.push(input.ConfigurationVersion);
      return { DeploymentNumber: flagDeployments.length, State: 'DEPLOYING' };
    });

    now = minutes(27);
    let paused = await inProgress(token);
    expect(paused.summary).toMatch(
      /^The candidate serves; the flag could not be updated: another deployment to environment \S+ is in progress \(Deployment 4 is in progress\); version 1 of the AppConfig flag \S+ is stored but not deployed/,
    );
    // The stored-but-not-deployed version refused again at the next polls (967 of the long run failed here).
    for (const minute of [28, 29]) {
      now = minutes(minute);
      paused = await inProgress(paused.token);
      expect(paused.summary).toMatch(
        /^The candidate serves; the flag could not be updated: another deployment/,
      );
    }
    now = minutes(30);
    const passed = await invoke(paused.token);
    expect(passed.failureDetails).toBeUndefined();
    expect(flagVersions).toHaveLength(1);
    expect(flagDeployments).toEqual(['1']);
    expect(deployedFlag()?.stable).toEqual({ modelVersion: COMMIT, endpoint: 'live' });
  });

  test('a retried canary of a release that was rolled back is refused', async () => {
    await seedLive();
    await put(`${RUN}/rollback.json`, { status: 'done' });

    expect(await failure()).toBe(
      `Canary refused: this release was rolled back (s3://${ARTIFACTS}/${RUN}/rollback.json); releasing it again ` +
        'would send users back to the version rolled back from. Nothing was changed on the live endpoint. Release ' +
        'a fixed model through a new pipeline execution.',
    );
    expect(updates).toEqual([]);
  });

  test('SageMaker refuses the update: fails saying the previous config still serves, no token', async () => {
    await seedLive();
    sm.on(UpdateEndpointCommand).rejects(
      Object.assign(new Error(`Alarm ${ALARM_LATENCY} does not exist.`), { name: 'ValidationException' }),
    );

    expect(await failure()).toBe(
      `Canary not started: SageMaker refused the update of "${LIVE}" to config "${CANDIDATE}": ` +
        `ValidationException: Alarm ${ALARM_LATENCY} does not exist. The live endpoint still serves "${PREVIOUS}" ` +
        'unchanged. Fix the cause (the auto-rollback alarms must exist; the configs must keep the variant names) ' +
        'and retry the stage.',
    );
  });

  test('an instance type change deregisters autoscaling before the update and says so', async () => {
    await seedLive(2, OLD_INSTANCE_TYPE);
    await registerAutoscaling();
    let targetsDuringUpdate: unknown;
    sm.on(UpdateEndpointCommand).callsFake(async (i: UpdateEndpointCommandInput) => {
      targetsDuringUpdate = await scalableTargets();
      updates.push(i);
      return {};
    });

    const started = await inProgress();

    expect(targetsDuringUpdate).toEqual([]);
    expect(await scalingPolicies()).toEqual([]);
    expect(updates).toEqual([
      { EndpointName: LIVE, EndpointConfigName: CANDIDATE, DeploymentConfig: EXPECTED_DEPLOYMENT },
    ]);
    expect(started.summary.split('\n')[1]).toBe(
      'Autoscaling of the live variant was deregistered first: the instance type changes from ml.p3.2xlarge ' +
        'to ml.g4dn.xlarge, and SageMaker refuses such an update while autoscaling is registered; the fleet stays ' +
        'at 2 instances until the stage passes and registers it again.',
    );
  });

  test('an instance type change that SageMaker refuses registers autoscaling again: the unchanged variant keeps scaling', async () => {
    await seedLive(2, OLD_INSTANCE_TYPE);
    await registerAutoscaling();
    sm.on(UpdateEndpointCommand).rejects(
      Object.assign(new Error('We encountered an internal error. Please try again.'), {
        name: 'InternalFailure',
      }),
    );

    expect(await failure()).toBe(
      `Canary not started: SageMaker refused the update of "${LIVE}" to config "${CANDIDATE}": ` +
        `InternalFailure: We encountered an internal error. Please try again. The live endpoint still serves "${PREVIOUS}" ` +
        'unchanged; autoscaling of its live variant, deregistered for the instance type change, was registered again. ' +
        'Fix the cause (the auto-rollback alarms must exist; the configs must keep the variant names) and retry the stage.',
    );
    expect(await scalableTargets()).toEqual([{ min: 2, max: 6 }]);
    expect(await scalingPolicies()).toEqual([
      {
        name: `${LIVE}-invocations-per-instance`,
        target: 120,
        metric: 'SageMakerVariantInvocationsPerInstance',
      },
    ]);
  });

  test('an instance type change with no autoscaling registered goes ahead (ObjectNotFoundException is fine)', async () => {
    await seedLive(2, OLD_INSTANCE_TYPE);
    const notRegistered = new ApplicationAutoScalingClient(moto.clientConfig);
    const notFound = (what: string) =>
      Object.assign(new Error(`No ${what} found`), { name: 'ObjectNotFoundException' });
    const mock = mockClient(notRegistered);
    mock.on(DeleteScalingPolicyCommand).rejects(notFound('scaling policy'));
    mock.on(DeregisterScalableTargetCommand).rejects(notFound('scalable target'));

    await inProgress(undefined, { ...deps, autoscaling: notRegistered });

    expect(mock.commandCalls(DeregisterScalableTargetCommand)[0].args[0].input).toEqual({
      ServiceNamespace: 'sagemaker',
      ResourceId: RESOURCE_ID,
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
    });
    expect(updates).toHaveLength(1);
  });

  test.each([
    [
      'canary.!!!',
      'canary continuation token "canary.!!!" is corrupt (not base64url-encoded JSON). Retry the stage. ' +
        'This invocation changed nothing on the live endpoint.',
    ],
    [
      `canary.${Buffer.from('{"v":2}').toString('base64url')}`,
      'canary continuation token has version 2, but this code reads version 1; the action was probably ' +
        'redeployed mid-run. Retry the stage. This invocation changed nothing on the live endpoint.',
    ],
  ])('a bad continuation token %s fails without touching the endpoint', async (token, message) => {
    await seedLive();
    expect(await failure(token)).toBe(message);
    expect(sm.calls()).toHaveLength(0);
    await expect(record()).rejects.toMatchObject({ name: 'NoSuchKey' });
  });
});
