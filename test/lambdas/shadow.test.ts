import { createHash } from 'node:crypto';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  SageMakerClient,
  UpdateEndpointCommand,
  type CreateEndpointConfigCommandInput,
  type CreateModelCommandInput,
  type DescribeEndpointCommandInput,
  type DescribeEndpointCommandOutput,
  type DescribeEndpointConfigCommandInput,
  type DescribeEndpointConfigCommandOutput,
  type DescribeModelCommandInput,
  type UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { compareShadow } from '../../lambdas/core/serving/shadow';
import type { ShadowReportRecord } from '../../lambdas/core/serving/shadow-report';
import {
  decodeShadowToken,
  encodeShadowToken,
  type ShadowState,
} from '../../lambdas/core/serving/shadow-token';
import { createHandler, RESTORE_RETRY_MS, SETTLE_MS, type Deps } from '../../lambdas/shadow';
import type { JobOutcome } from '../../lambdas/shared/job-result';
import { logger } from '../../lambdas/shared/logger';
import { releaseSettings, type ReleaseSettings } from '../../lambdas/core/contracts/release-settings';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';

const JOB_ID = '5ad0-job';
const EXECUTION_ID = 'e7c1a9f0-2b3d-4c5e-8f90-a1b2c3d4e5f6';
const COMMIT = '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const CAPTURE_BUCKET = 'mlops-data-capture';
const RUN = `models/document-classifier/runs/${EXECUTION_ID}`;
const REPORT_KEY = `${RUN}/shadow-report.json`;
const REPORT_URL = `s3://${ARTIFACTS}/${REPORT_KEY}`;
const ARCHIVE_BYTES = 'model weights';
const ARCHIVE_SHA = createHash('sha256').update(ARCHIVE_BYTES).digest('hex');
const ARCHIVE_KEY = `models/document-classifier/archives/sha256/${ARCHIVE_SHA}.tar.gz`;
const ARCHIVE_URL = `s3://${ARTIFACTS}/${ARCHIVE_KEY}`;
const LIVE = 'mlops-document-classifier-live';
// releaseNames('mlops-document-classifier', EXECUTION_ID)
const CANDIDATE_MODEL = 'mlops-document-classifier-e7c1a9f0';
const SHADOW_CONFIG = 'mlops-document-classifier-e7c1a9f0-shadow';
const PRODUCTION_MODEL = 'mlops-document-classifier-9f8e7d6c';
const PRODUCTION = 'mlops-document-classifier-9f8e7d6c-live';
const ROLE = 'arn:aws:iam::123456789012:role/mlops-document-classifier-sagemaker';
const KMS = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const IMAGE =
  '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0-gpu-py312-cu124-ubuntu22.04-sagemaker';
/** The shipped config's ml.g5.xlarge is newer than moto's instance type enum. */
const INSTANCE_TYPE = 'ml.g4dn.xlarge';
const T0 = new Date('2026-11-05T10:00:00.000Z');
/** SageMaker writes capture under `<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/`. */
const CAPTURE_ROOT = `document-classifier/${LIVE}/${LIVE}`;
const STATE_URL = `s3://${ARTIFACTS}/models/document-classifier/serving/state.json`;

const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const update = (config: string) =>
  `aws sagemaker update-endpoint --endpoint-name ${LIVE} --endpoint-config-name ${config} --retain-all-variant-properties`;
/**
 * Production's config back, keeping the fleet autoscaling grew during the window: without
 * RetainAllVariantProperties SageMaker resets it to the old config's InitialInstanceCount.
 */
const RESTORE_PRODUCTION = {
  EndpointName: LIVE,
  EndpointConfigName: PRODUCTION,
  RetainAllVariantProperties: true,
};

/** CloudWatch's answer for the window: sums and ModelLatency percentiles (microseconds). */
const METRICS: Record<string, number> = {
  production_invocations: 4200,
  production_errors5xx: 4,
  production_errors4xx: 21,
  production_p50: 40_000,
  production_p95: 82_000,
  production_p99: 120_000,
  shadow_invocations: 4150,
  shadow_errors5xx: 19,
  shadow_errors4xx: 20,
  shadow_p50: 44_000,
  shadow_p95: 101_000,
  shadow_p99: 150_000,
};

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const noCapture = {
  records: 0,
  withoutInferenceId: 0,
  withoutOutput: 0,
  duplicates: 0,
  pairable: 0,
  labelled: 0,
  unpaired: 0,
};

let eventCounter = 0;

/**
 * One data capture line as SageMaker writes it for a request the router sent with `InferenceId`
 * `inferenceId`: SageMaker's own `eventId` differs on every line, as AWS documents nothing else.
 */
function captureLine(
  inferenceId: string | null,
  label: string,
  encoding: 'JSON' | 'BASE64' = 'JSON',
): string {
  eventCounter += 1;
  const eventId = `ev-${eventCounter}`;
  const body = (text: string) => (encoding === 'JSON' ? text : b64(text));
  return JSON.stringify({
    captureData: {
      endpointInput: {
        observedContentType: 'application/json',
        mode: 'INPUT',
        data: body(`{"text":"document ${inferenceId ?? eventId}"}`),
        encoding,
      },
      endpointOutput: {
        observedContentType: 'application/json',
        mode: 'OUTPUT',
        data: body(JSON.stringify({ label, confidence: 0.9 })),
        encoding,
      },
    },
    eventMetadata: {
      eventId,
      ...(inferenceId === null ? {} : { inferenceId }),
      inferenceTime: '2026-11-05T10:30:00Z',
    },
    eventVersion: '0',
  });
}

const csvLine = JSON.stringify({
  captureData: {
    endpointInput: { observedContentType: 'text/csv', mode: 'INPUT', data: '1,2,3', encoding: 'CSV' },
    endpointOutput: { observedContentType: 'text/csv', mode: 'OUTPUT', data: 'invoice', encoding: 'CSV' },
  },
  eventMetadata: { eventId: 'ev-csv', inferenceId: 'e-csv', inferenceTime: '2026-11-05T10:31:00Z' },
  eventVersion: '0',
});

/**
 * The window (10:04-11:04) touches hours 10 and 11. Paired: e1-e6 and e9-e10 (8), of which e1, e2,
 * e3, e5 and e9 agree (5). Production only: e7, e8 and a CSV line without a label; shadow only: e11,
 * e12 (whose production copy is in hour 09, outside the window). One line is not JSON.
 */
const CAPTURE_FILES: Record<string, string[]> = {
  'live/2026/11/05/10/04-10-000-p1.jsonl': [
    ...['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8'].map((e) => captureLine(e, 'invoice')),
    csvLine,
    '{"captureData": truncated',
    '',
  ],
  'shadow/2026/11/05/10/04-10-500-s1.jsonl': [
    captureLine('e1', 'invoice'),
    captureLine('e2', 'invoice', 'BASE64'),
    captureLine('e3', 'invoice'),
    captureLine('e4', 'receipt', 'BASE64'),
    captureLine('e5', 'invoice'),
    captureLine('e6', 'contract'),
  ],
  'live/2026/11/05/11/00-20-000-p2.jsonl': [captureLine('e9', 'receipt'), captureLine('e10', 'receipt')],
  'shadow/2026/11/05/11/00-20-500-s2.jsonl': [
    captureLine('e9', 'receipt'),
    captureLine('e10', 'invoice'),
    captureLine('e11', 'invoice'),
    captureLine('e12', 'invoice'),
  ],
  'live/2026/11/05/09/59-00-000-p0.jsonl': [captureLine('e12', 'invoice')],
  'live/2026/11/05/10/notes.txt/extra': ['not a capture file'],
};

describe('shadow handler', () => {
  const moto = useMoto();
  const codepipeline = mockClient(CodePipelineClient);
  let settings: ReleaseSettings;
  let s3: S3Client;
  /** Talks to moto directly: test setup, and what the handler's client passes through to. */
  let sagemakerMoto: SageMakerClient;
  let sagemaker: SageMakerClient;
  let sm: AwsClientStub<SageMakerClient>;
  let cloudwatch: CloudWatchClient;
  let cw: AwsClientStub<CloudWatchClient>;
  let now: Date;
  let deps: Deps;
  /** Fields laid over moto's DescribeEndpoint, one per call: the states moto cannot produce. */
  let describeOverlays: Partial<DescribeEndpointCommandOutput>[];
  /** Fields laid over moto's DescribeEndpointConfig, by config name (moto drops shadow variants). */
  let configOverlays: Record<string, Partial<DescribeEndpointConfigCommandOutput>>;
  /** What `UpdateEndpoint` received; moto does not implement it. */
  let updates: UpdateEndpointCommandInput[];
  let createdConfigs: CreateEndpointConfigCommandInput[];
  let metricRequests: GetMetricDataCommandInput[];

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      RELEASE_SETTINGS_PARAMETER: PARAMETER,
      MODEL_NAME: 'document-classifier',
      SERVING_NAME_PREFIX: 'mlops-document-classifier',
      EXECUTION_ROLE_ARN: ROLE,
      KMS_KEY_ARN: KMS,
      DATA_CAPTURE_S3_URI: `s3://${CAPTURE_BUCKET}/document-classifier`,
      INFERENCE_IMAGE: IMAGE,
      LIVE_ENDPOINT: LIVE,
      STANDBY_ENDPOINT: 'mlops-document-classifier-standby',
      ROLLBACK_ALARMS: 'mlops-document-classifier-live-5xx',
    });
    const config = shippedConfig();
    const shipped = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === 'document-classifier')!,
    );
    settings = { ...shipped, serving: { ...shipped.serving, instanceType: INSTANCE_TYPE } };
    s3 = new S3Client(moto.clientConfig);
    sagemakerMoto = new SageMakerClient(moto.clientConfig);
    sagemaker = new SageMakerClient(moto.clientConfig);
    sm = mockClient(sagemaker);
    cloudwatch = new CloudWatchClient({ region: 'eu-west-1' });
    cw = mockClient(cloudwatch);
  });

  beforeEach(async () => {
    process.env.ARTIFACTS_BUCKET = ARTIFACTS;
    now = T0;
    describeOverlays = [];
    configOverlays = {};
    updates = [];
    createdConfigs = [];
    metricRequests = [];
    deps = {
      s3,
      ssm: new SSMClient(moto.clientConfig),
      codepipeline: new CodePipelineClient({ region: 'eu-west-1' }),
      sagemaker,
      cloudwatch,
      autoscaling: new ApplicationAutoScalingClient(moto.clientConfig),
      now: () => now,
    };
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
    sm.on(CreateEndpointConfigCommand).callsFake((i: CreateEndpointConfigCommandInput) => {
      createdConfigs.push(i);
      return sagemakerMoto.send(new CreateEndpointConfigCommand(i));
    });
    sm.on(DescribeEndpointConfigCommand).callsFake(async (i: DescribeEndpointConfigCommandInput) => {
      const real = await sagemakerMoto.send(new DescribeEndpointConfigCommand(i));
      return { ...real, ...configOverlays[i.EndpointConfigName!] };
    });
    sm.on(DescribeEndpointCommand).callsFake(async (i: DescribeEndpointCommandInput) => {
      const real = await sagemakerMoto.send(new DescribeEndpointCommand(i));
      return { ...real, ...describeOverlays.shift() };
    });
    sm.on(UpdateEndpointCommand).callsFake((i: UpdateEndpointCommandInput) => {
      updates.push(i);
      return { EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${i.EndpointName}` };
    });

    cw.reset();
    // Two pages, to read the way CloudWatch paginates.
    cw.on(GetMetricDataCommand).callsFake((i: GetMetricDataCommandInput) => {
      metricRequests.push(i);
      const page = i.NextToken === undefined ? 'production' : 'shadow';
      const results: MetricDataResult[] = (i.MetricDataQueries ?? [])
        .filter((q) => q.Id!.startsWith(page))
        .map((q) => ({
          Id: q.Id,
          StatusCode: 'Complete',
          Timestamps: [new Date(i.StartTime!)],
          Values: [METRICS[q.Id!]!],
        }));
      return { MetricDataResults: results, NextToken: page === 'production' ? 'page-2' : undefined };
    });

    await new SSMClient(moto.clientConfig).send(
      new PutParameterCommand({ Name: PARAMETER, Type: 'String', Value: JSON.stringify(settings) }),
    );
    for (const bucket of [ARTIFACTS, CAPTURE_BUCKET]) {
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      );
    }
    await s3.send(
      new PutObjectCommand({
        Bucket: ARTIFACTS,
        Key: `${RUN}/model-artifact.json`,
        Body: JSON.stringify({
          sha256: ARCHIVE_SHA,
          bytes: ARCHIVE_BYTES.length,
          modelDataUrl: ARCHIVE_URL,
          commitId: COMMIT,
        }),
      }),
    );
    // As the PublishModel stage leaves it: S3 keeps the SHA-256 it computed.
    await s3.send(
      new PutObjectCommand({
        Bucket: ARTIFACTS,
        Key: ARCHIVE_KEY,
        Body: ARCHIVE_BYTES,
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    for (const [key, lines] of Object.entries(CAPTURE_FILES)) {
      await s3.send(
        new PutObjectCommand({
          Bucket: CAPTURE_BUCKET,
          Key: `${CAPTURE_ROOT}/${key}`,
          Body: lines.join('\n'),
        }),
      );
    }
  });

  afterEach(() => {
    // Every state a test laid over moto was read: a test cannot pass on a state it never showed.
    expect(describeOverlays).toEqual([]);
  });

  /** The previous release, live with 3 instances on its own config, as its promotion left it. */
  async function seedLive() {
    await sagemakerMoto.send(
      new CreateModelCommand({
        ModelName: PRODUCTION_MODEL,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: IMAGE, ModelDataUrl: `s3://${ARTIFACTS}/previous/model.tar.gz` },
      }),
    );
    await sagemakerMoto.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: PRODUCTION,
        ProductionVariants: [
          {
            VariantName: 'live',
            ModelName: PRODUCTION_MODEL,
            InstanceType: INSTANCE_TYPE,
            InitialInstanceCount: 2,
            InitialVariantWeight: 1,
          },
        ],
      }),
    );
    await sagemakerMoto.send(
      new CreateEndpointCommand({ EndpointName: LIVE, EndpointConfigName: PRODUCTION }),
    );
  }

  /** The shadow config as an earlier invocation created it (moto keeps its data capture). */
  async function seedShadowConfig() {
    await sagemakerMoto.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: SHADOW_CONFIG,
        ProductionVariants: [
          {
            VariantName: 'live',
            ModelName: PRODUCTION_MODEL,
            InstanceType: INSTANCE_TYPE,
            InitialInstanceCount: 3,
            InitialVariantWeight: 1,
          },
        ],
        DataCaptureConfig: {
          EnableCapture: true,
          InitialSamplingPercentage: 20,
          DestinationS3Uri: `s3://${CAPTURE_BUCKET}/document-classifier/${LIVE}`,
          CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        },
      }),
    );
  }

  /** SageMaker's view of the live endpoint on the next poll. */
  function endpointIs(EndpointStatus: string, EndpointConfigName: string, FailureReason?: string) {
    describeOverlays.push({
      EndpointStatus: EndpointStatus as DescribeEndpointCommandOutput['EndpointStatus'],
      EndpointConfigName,
      ...(FailureReason ? { FailureReason } : {}),
    });
  }

  function jobEvent(continuationToken?: string) {
    return {
      'CodePipeline.job': {
        id: JOB_ID,
        accountId: '123456789012',
        data: {
          actionConfiguration: {
            configuration: {
              FunctionName: 'mlops-document-classifier-shadow',
              UserParameters: JSON.stringify({
                executionId: EXECUTION_ID,
                pipeline: 'release',
                commitId: COMMIT,
              }),
            },
          },
          inputArtifacts: [],
          outputArtifacts: [],
          ...(continuationToken ? { continuationToken } : {}),
        },
      },
    };
  }

  async function run(token?: string): Promise<JobOutcome> {
    codepipeline.resetHistory();
    const outcome = await createHandler(deps)(jobEvent(token));
    expect(codepipeline.calls()).toHaveLength(1);
    return outcome;
  }

  /** The single CodePipeline report of the last invocation. */
  function reported() {
    const call = codepipeline.call(0);
    return { command: call.args[0].constructor.name, input: call.args[0].input as Record<string, any> };
  }

  function token(outcome: JobOutcome): string {
    if (outcome.status !== 'in-progress')
      throw new Error(`expected in-progress, got ${JSON.stringify(outcome)}`);
    return outcome.continuationToken;
  }

  async function report(): Promise<ShadowReportRecord> {
    const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: REPORT_KEY }));
    return JSON.parse(await res.Body!.transformToString()) as ShadowReportRecord;
  }

  /** The report, which must be a comparison. */
  async function comparedReport(): Promise<Extract<ShadowReportRecord, { status: 'compared' }>> {
    const written = await report();
    if (written.status !== 'compared') throw new Error(`expected a compared report, got ${written.status}`);
    return written;
  }

  async function reportExists(): Promise<boolean> {
    try {
      await report();
      return true;
    } catch {
      return false;
    }
  }

  const base = {
    endpointName: LIVE,
    productionConfigName: PRODUCTION,
    shadowConfigName: SHADOW_CONFIG,
    startedAtMs: T0.getTime(),
    phaseStartedAtMs: at(4).getTime(),
    polls: 2,
  };
  const adding: ShadowState = { ...base, phase: 'adding', phaseStartedAtMs: T0.getTime() };
  const observing: ShadowState = {
    ...base,
    phase: 'observing',
    windowStartMs: at(4).getTime(),
    windowEndMs: at(64).getTime(),
  };
  const restoring: ShadowState = { ...base, phase: 'restoring', phaseStartedAtMs: at(67).getTime() };

  function failure(outcome: JobOutcome): string {
    expect(reported().command).toBe('PutJobFailureResultCommand');
    if (outcome.status !== 'failed') throw new Error(`expected failed, got ${JSON.stringify(outcome)}`);
    expect(reported().input.failureDetails.message).toBe(outcome.message);
    return outcome.message;
  }

  // -------------------------------------------------------------------------------------------
  // The whole stage
  // -------------------------------------------------------------------------------------------

  test('happy path: shadow config on, window observed, report written from metrics and capture, production back', async () => {
    await seedLive();
    // Autoscaling grew production to 3 instances; the shadow config must keep them.
    describeOverlays.push({
      ProductionVariants: [{ VariantName: 'live', CurrentInstanceCount: 3, CurrentWeight: 1 }],
    });

    // 1. First invocation: candidate model and shadow config created, endpoint update requested.
    let outcome = await run();
    expect(outcome).toEqual({
      status: 'in-progress',
      continuationToken: expect.stringMatching(/^shadow\./),
      summary:
        `updating live endpoint ${LIVE} from ${PRODUCTION} to the shadow config ${SHADOW_CONFIG}: production keeps ` +
        `model ${PRODUCTION_MODEL} on 3 × ${INSTANCE_TYPE}; the candidate ${CANDIDATE_MODEL} gets a copy of 50% of requests`,
    });
    expect(reported()).toEqual({
      command: 'PutJobSuccessResultCommand',
      input: {
        jobId: JOB_ID,
        continuationToken: token(outcome),
        executionDetails: { summary: (outcome as { summary: string }).summary },
      },
    });
    expect(decodeShadowToken(token(outcome))).toEqual({
      ...base,
      phase: 'adding',
      phaseStartedAtMs: T0.getTime(),
      polls: 0,
    });
    const model = await sagemakerMoto.send(new DescribeModelCommand({ ModelName: CANDIDATE_MODEL }));
    expect(model.PrimaryContainer).toMatchObject({ Image: IMAGE, ModelDataUrl: ARCHIVE_URL });
    expect(createdConfigs).toEqual([
      expect.objectContaining({
        EndpointConfigName: SHADOW_CONFIG,
        ProductionVariants: [
          {
            VariantName: 'live',
            ModelName: PRODUCTION_MODEL,
            InstanceType: INSTANCE_TYPE,
            InitialInstanceCount: 3,
            InitialVariantWeight: 1,
          },
        ],
        ShadowProductionVariants: [
          {
            VariantName: 'shadow',
            ModelName: CANDIDATE_MODEL,
            InstanceType: INSTANCE_TYPE,
            InitialInstanceCount: 1,
            InitialVariantWeight: 0.5,
          },
        ],
        DataCaptureConfig: expect.objectContaining({
          DestinationS3Uri: `s3://${CAPTURE_BUCKET}/document-classifier/${LIVE}`,
        }),
      }),
    ]);
    // A plain update: no DeploymentConfig, production is not re-routed.
    expect(updates).toEqual([{ EndpointName: LIVE, EndpointConfigName: SHADOW_CONFIG }]);

    // 2. Adding: still updating.
    now = at(2);
    endpointIs('Updating', PRODUCTION);
    outcome = await run(token(outcome));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary: `live endpoint ${LIVE} is Updating towards the shadow config ${SHADOW_CONFIG} (2 min so far)`,
    });
    expect(decodeShadowToken(token(outcome))).toMatchObject({ phase: 'adding', polls: 1 });

    // 3. Adding: the shadow config is in service; the window starts now.
    now = at(4);
    endpointIs('InService', SHADOW_CONFIG);
    outcome = await run(token(outcome));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        `the candidate runs as shadow variant on live endpoint ${LIVE}; comparing until 2026-11-05T11:04:00.000Z ` +
        '(60 min)',
    });
    expect(decodeShadowToken(token(outcome))).toEqual({ ...observing, polls: 0 });

    // 4. Observing, mid-window.
    now = at(41);
    endpointIs('InService', SHADOW_CONFIG);
    outcome = await run(token(outcome));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        `the candidate runs as shadow variant on live endpoint ${LIVE}: 23 min of the 60 min window left ` +
        '(ends 2026-11-05T11:04:00.000Z)',
    });

    // 5. Window over; CloudWatch and capture get time to publish the last minute.
    now = at(65);
    endpointIs('InService', SHADOW_CONFIG);
    outcome = await run(token(outcome));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        'the shadow window ended at 2026-11-05T11:04:00.000Z; comparing from 2026-11-05T11:06:00.000Z, once ' +
        'CloudWatch and data capture have the last minute',
    });
    expect(metricRequests).toEqual([]);
    expect(updates).toHaveLength(1);

    // 6. Compare, write the report, put production back.
    now = new Date(at(64).getTime() + SETTLE_MS);
    endpointIs('InService', SHADOW_CONFIG);
    outcome = await run(token(outcome));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        `compared over 60 min; putting production config ${PRODUCTION} back on live endpoint ${LIVE}. ` +
        `Report: ${REPORT_URL}`,
    });
    expect(decodeShadowToken(token(outcome))).toEqual({
      ...base,
      phase: 'restoring',
      startedAtMs: now.getTime(),
      phaseStartedAtMs: now.getTime(),
      polls: 0,
    });
    expect(updates.at(-1)).toEqual(RESTORE_PRODUCTION);

    // One period over the whole window, both variants, sums and latency percentiles.
    expect(metricRequests).toHaveLength(2);
    expect(metricRequests[0]).toMatchObject({
      StartTime: at(4),
      EndTime: at(64),
      NextToken: undefined,
    });
    expect(metricRequests[1]!.NextToken).toBe('page-2');
    const queries = metricRequests[0]!.MetricDataQueries!;
    expect(queries.map((q) => `${q.Id} ${q.MetricStat!.Metric!.MetricName} ${q.MetricStat!.Stat}`)).toEqual([
      'production_invocations Invocations Sum',
      'production_errors5xx Invocation5XXErrors Sum',
      'production_errors4xx Invocation4XXErrors Sum',
      'production_p50 ModelLatency p50',
      'production_p95 ModelLatency p95',
      'production_p99 ModelLatency p99',
      'shadow_invocations Invocations Sum',
      'shadow_errors5xx Invocation5XXErrors Sum',
      'shadow_errors4xx Invocation4XXErrors Sum',
      'shadow_p50 ModelLatency p50',
      'shadow_p95 ModelLatency p95',
      'shadow_p99 ModelLatency p99',
    ]);
    for (const q of queries) {
      expect(q.MetricStat).toMatchObject({
        Period: 3600,
        Metric: {
          Namespace: 'AWS/SageMaker',
          Dimensions: [
            { Name: 'EndpointName', Value: LIVE },
            { Name: 'VariantName', Value: q.Id!.startsWith('production') ? 'live' : 'shadow' },
          ],
        },
      });
    }

    const written = await comparedReport();
    const expectedComparison = compareShadow({
      production: {
        invocations: 4200,
        errors5xx: 4,
        errors4xx: 21,
        latencyMs: { p50: 40, p95: 82, p99: 120 },
      },
      shadow: {
        invocations: 4150,
        errors5xx: 19,
        errors4xx: 20,
        latencyMs: { p50: 44, p95: 101, p99: 150 },
      },
      agreement: { agreements: 5, compared: 8 },
      capture: { agreement: written.capture.agreement, error: null },
    });
    expect(written).toEqual({
      schemaVersion: 1,
      model: 'document-classifier',
      executionId: EXECUTION_ID,
      endpointName: LIVE,
      status: 'compared',
      candidateModel: CANDIDATE_MODEL,
      window: { start: '2026-11-05T10:04:00.000Z', end: '2026-11-05T11:04:00.000Z' },
      productionConfig: PRODUCTION,
      shadowConfig: SHADOW_CONFIG,
      report: expectedComparison,
      metricsError: null,
      capture: {
        location: `s3://${CAPTURE_BUCKET}/${CAPTURE_ROOT}/`,
        filesFound: 4,
        filesRead: 4,
        recordsRead: 22,
        unparseable: 1,
        unparseableExamples: [
          { file: `${CAPTURE_ROOT}/live/2026/11/05/10/04-10-000-p1.jsonl`, line: 10, reason: 'not JSON' },
        ],
        capped: false,
        cappedNote: null,
        error: null,
        // Paired on inferenceId: e1-e6, e9, e10; production's e7, e8 and the CSV line (an answer that
        // is not a prediction) and shadow's e11, e12 have no partner in the window.
        agreement: {
          pairedOn: 'inferenceId',
          matched: 8,
          compared: 8,
          agreements: 5,
          failures: { bothFailed: 0, productionOnly: 0, shadowOnly: 0, neitherFailed: 8 },
          latency: null,
          production: {
            records: 11,
            withoutInferenceId: 0,
            withoutOutput: 0,
            duplicates: 0,
            pairable: 11,
            labelled: 10,
            unpaired: 3,
          },
          shadow: {
            records: 10,
            withoutInferenceId: 0,
            withoutOutput: 0,
            duplicates: 0,
            pairable: 10,
            labelled: 10,
            unpaired: 2,
          },
          otherVariant: 0,
        },
      },
      summary: expect.any(String),
      findings: expectedComparison.findings.map((f) => f.text),
      writtenAt: now.toISOString(),
    });
    // The numbers people read, from the fixtures above.
    expect(written.report!.production.serverErrorRate!.estimate).toBe(4 / 4200);
    expect(written.report!.shadow.latencyMs).toEqual({ p50: 44, p95: 101, p99: 150 });
    expect(written.report!.agreement).toMatchObject({ agreements: 5, compared: 8 });
    expect(written.report!.agreement.rate!.estimate).toBe(0.625);
    expect(written.report!.paired).toMatchObject({ status: 'paired', pairedOn: 'inferenceId', matched: 8 });

    // 7. Restoring: still updating.
    now = at(68);
    endpointIs('Updating', SHADOW_CONFIG);
    outcome = await run(token(outcome));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        `putting production config ${PRODUCTION} back on live endpoint ${LIVE}: Updating (2 min so far). ` +
        `Report: ${REPORT_URL}`,
    });

    // 8. Production is back: success with the findings and the report.
    now = at(72);
    endpointIs('InService', PRODUCTION);
    outcome = await run(token(outcome));
    const summary =
      'shadow comparison over 60 min (advisory, never blocks): paired on 8 matched requests; agreement 62.5% ' +
      '[30.6, 86.3] on 8 compared requests; shadow 5xx error rate 0.46% [0.29, 0.71] vs production 0.10% [0.04, 0.24]; difference +0.36 ' +
      'points [+0.14, +0.63]\nshadow p95 latency +23% (82 → 101 ms); 1 caveat on the data in the report\n' +
      `Production config ${PRODUCTION} is back on live endpoint ${LIVE}. Report: ${REPORT_URL}`;
    expect(outcome).toEqual({ status: 'succeeded', summary, outputVariables: { ShadowReport: REPORT_URL } });
    expect(reported()).toEqual({
      command: 'PutJobSuccessResultCommand',
      input: {
        jobId: JOB_ID,
        executionDetails: { summary },
        outputVariables: { ShadowReport: REPORT_URL },
      },
    });
    expect(updates).toHaveLength(2);
  });

  test('first release: no live endpoint, nothing to shadow; a skipped report and success', async () => {
    const outcome = await run();
    const reason =
      `first release: live endpoint ${LIVE} does not exist yet, so there is no production model to shadow ` +
      'the candidate against';
    expect(outcome).toEqual({
      status: 'succeeded',
      summary: `shadow comparison skipped: ${reason}. Nothing was changed.\nReport: ${REPORT_URL}`,
      outputVariables: { ShadowReport: REPORT_URL },
    });
    expect(await report()).toEqual({
      schemaVersion: 1,
      model: 'document-classifier',
      executionId: EXECUTION_ID,
      endpointName: LIVE,
      status: 'skipped',
      reason,
      summary: `shadow comparison skipped: ${reason}`,
      findings: [],
      writtenAt: T0.toISOString(),
    });
    expect(updates).toEqual([]);
    expect(createdConfigs).toEqual([]);
    await expect(
      sagemakerMoto.send(new DescribeModelCommand({ ModelName: CANDIDATE_MODEL })),
    ).rejects.toThrow(/Could not find model/);
  });

  // -------------------------------------------------------------------------------------------
  // First invocation: refusals (nothing changed)
  // -------------------------------------------------------------------------------------------

  test('a missing or unreadable model artifact record fails before anything is touched', async () => {
    await seedLive();
    await s3.send(
      new PutObjectCommand({ Bucket: ARTIFACTS, Key: `${RUN}/model-artifact.json`, Body: 'not json' }),
    );
    expect(failure(await run())).toBe(
      `s3://${ARTIFACTS}/${RUN}/model-artifact.json is not JSON (Unexpected token 'o', "not json" is not valid ` +
        'JSON). The PublishModel stage of this run wrote it; check its message and rerun the pipeline. The shadow ' +
        'stage changed nothing.',
    );
    process.env.ARTIFACTS_BUCKET = 'mlops-artifacts-empty';
    await s3.send(
      new CreateBucketCommand({
        Bucket: 'mlops-artifacts-empty',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    expect(failure(await run())).toBe(
      `s3://mlops-artifacts-empty/${RUN}/model-artifact.json does not exist: the PublishModel stage of this run did ` +
        'not publish the model archive (it writes the archive and model-artifact.json); check the PublishModel ' +
        "stage's message and rerun the pipeline. The shadow stage changed nothing.",
    );
    expect(updates).toEqual([]);
    expect(createdConfigs).toEqual([]);
  });

  test('a live endpoint busy with another update: nothing changed, retry when InService', async () => {
    await seedLive();
    endpointIs('Updating', PRODUCTION);
    expect(failure(await run())).toBe(
      `live endpoint ${LIVE} is Updating (on config ${PRODUCTION}), not InService: another update is in progress. ` +
        'The shadow stage changed nothing. Retry the stage when the endpoint is InService ' +
        `(SageMaker console > Inference > Endpoints > ${LIVE}).`,
    );
    expect(updates).toEqual([]);
    expect(createdConfigs).toEqual([]);
  });

  test('a failed live endpoint: nothing changed, repair it first', async () => {
    await seedLive();
    endpointIs('Failed', PRODUCTION, 'Instance ml.g4dn.xlarge capacity unavailable');
    expect(failure(await run())).toBe(
      `live endpoint ${LIVE} is Failed (Instance ml.g4dn.xlarge capacity unavailable) (on config ${PRODUCTION}), ` +
        'not InService. The shadow stage changed nothing. Repair the endpoint first (put a working config back ' +
        `with ${update('<config>')}), then retry the stage.`,
    );
    expect(updates).toEqual([]);
  });

  test("production's config already has a shadow variant: another release did not finish; nothing changed", async () => {
    await seedLive();
    configOverlays[PRODUCTION] = {
      ShadowProductionVariants: [{ VariantName: 'shadow', ModelName: 'mlops-document-classifier-0badc0de' }],
    };
    expect(failure(await run())).toBe(
      `live endpoint ${LIVE} is on config ${PRODUCTION}, which already has a shadow variant (shadow: model ` +
        "mlops-document-classifier-0badc0de): an earlier release's shadow stage did not put production back. " +
        'The shadow stage changed nothing. Put the production config back (the config named live.configName in ' +
        `${STATE_URL}) with ${update('<config>')}, then retry the stage.`,
    );
    expect(updates).toEqual([]);
    expect(createdConfigs).toEqual([]);
  });

  test('a production config without a "live" variant was not made by the release path; nothing changed', async () => {
    await seedLive();
    configOverlays[PRODUCTION] = {
      ProductionVariants: [
        { VariantName: 'AllTraffic', ModelName: PRODUCTION_MODEL, InstanceType: INSTANCE_TYPE },
      ],
    };
    expect(failure(await run())).toBe(
      `config ${PRODUCTION} of live endpoint ${LIVE} has no instance-based production variant named "live" ` +
        '(it has "AllTraffic"); the release path names the live variant "live", so this endpoint was not created ' +
        'by it. The shadow stage changed nothing. Put a config made by the release path back on the endpoint, ' +
        'then retry the stage.',
    );
    expect(updates).toEqual([]);
  });

  test('SageMaker refusing the update: production unchanged, retry', async () => {
    await seedLive();
    sm.on(UpdateEndpointCommand).rejects(
      Object.assign(new Error('The account-level service limit for ml.g4dn.xlarge is 2 instances'), {
        name: 'ResourceLimitExceeded',
      }),
    );
    expect(failure(await run())).toBe(
      `SageMaker refused to update live endpoint ${LIVE} to the shadow config ${SHADOW_CONFIG}: ResourceLimitExceeded: ` +
        'The account-level service limit for ml.g4dn.xlarge is 2 instances. Production still serves ' +
        `${PRODUCTION}, unchanged. Retry the stage; if it is refused again, check serving.shadow in the model ` +
        "config against the account's SageMaker quotas.",
    );
  });

  test('a retried stage finds the shadow config left by an attempt that compared: it puts production back', async () => {
    await seedLive();
    await seedShadowConfig();
    await s3.send(
      new PutObjectCommand({
        Bucket: ARTIFACTS,
        Key: REPORT_KEY,
        Body: JSON.stringify({
          schemaVersion: 1,
          model: 'document-classifier',
          executionId: EXECUTION_ID,
          endpointName: LIVE,
          status: 'compared',
          candidateModel: CANDIDATE_MODEL,
          window: { start: '2026-11-05T10:04:00.000Z', end: '2026-11-05T11:04:00.000Z' },
          productionConfig: PRODUCTION,
          shadowConfig: SHADOW_CONFIG,
          report: null,
          metricsError: 'ThrottlingException: Rate exceeded',
          capture: {
            location: `s3://${CAPTURE_BUCKET}/${CAPTURE_ROOT}/`,
            filesFound: 0,
            filesRead: 0,
            recordsRead: 0,
            unparseable: 0,
            unparseableExamples: [],
            capped: false,
            cappedNote: null,
            error: null,
            agreement: {
              pairedOn: 'inferenceId',
              matched: 0,
              compared: 0,
              agreements: 0,
              failures: { bothFailed: 0, productionOnly: 0, shadowOnly: 0, neitherFailed: 0 },
              latency: null,
              production: noCapture,
              shadow: noCapture,
              otherVariant: 0,
            },
          },
          summary: 'shadow comparison over 60 min (advisory, never blocks): metrics unavailable',
          findings: ['CloudWatch metrics could not be read'],
          writtenAt: '2026-11-05T11:06:00.000Z',
        }),
      }),
    );
    endpointIs('InService', SHADOW_CONFIG);
    const outcome = await run();
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        `an earlier attempt of this stage compared the candidate (report ${REPORT_URL}) but left live endpoint ` +
        `${LIVE} on the shadow config ${SHADOW_CONFIG}; putting production config ${PRODUCTION} back`,
    });
    expect(decodeShadowToken(token(outcome))).toMatchObject({
      phase: 'restoring',
      productionConfigName: PRODUCTION,
    });
    expect(updates).toEqual([RESTORE_PRODUCTION]);
  });

  test('a retried stage finds the shadow config without a report: it says how to put production back', async () => {
    await seedLive();
    endpointIs('InService', SHADOW_CONFIG);
    expect(failure(await run())).toBe(
      `live endpoint ${LIVE} is InService on this run's shadow config ${SHADOW_CONFIG}, left by an earlier attempt ` +
        'of this stage that did not finish, and this attempt cannot tell which config served before it. Put ' +
        `production back with ${update('<config>')} (the config that served before is live.configName in ` +
        `${STATE_URL}, and is named in the earlier attempt's summary), wait until the endpoint is InService, then ` +
        'retry the stage.',
    );
    expect(updates).toEqual([]);
  });

  // -------------------------------------------------------------------------------------------
  // Adding
  // -------------------------------------------------------------------------------------------

  test('adding: SageMaker rolled the update back; production still serves its config', async () => {
    await seedLive();
    endpointIs(
      'InService',
      PRODUCTION,
      'The primary container for production variant shadow did not pass the ping health check',
    );
    expect(failure(await run(encodeShadowToken(adding)))).toBe(
      `SageMaker did not apply the shadow config ${SHADOW_CONFIG} to live endpoint ${LIVE} and rolled the update ` +
        'back (The primary container for production variant shadow did not pass the ping health check). ' +
        `Production still serves ${PRODUCTION}, unchanged. Check that the candidate model can start (CloudWatch ` +
        `log group /aws/sagemaker/Endpoints/${LIVE}), then retry the stage.`,
    );
    expect(updates).toEqual([]);
  });

  test('adding: another config in service; nothing put back', async () => {
    await seedLive();
    endpointIs('InService', 'mlops-document-classifier-0badc0de-live');
    expect(failure(await run(encodeShadowToken(adding)))).toBe(
      `live endpoint ${LIVE} is InService on config mlops-document-classifier-0badc0de-live, neither the shadow ` +
        `config ${SHADOW_CONFIG} nor the production config ${PRODUCTION}: something else updated it while the ` +
        'shadow config was being applied. The shadow stage put nothing back. Check that ' +
        'mlops-document-classifier-0badc0de-live is meant to serve, then retry the stage.',
    );
  });

  test('adding: the endpoint failed; says how to put production back', async () => {
    await seedLive();
    endpointIs('Failed', SHADOW_CONFIG, 'Request to service failed');
    expect(failure(await run(encodeShadowToken(adding)))).toBe(
      `updating live endpoint ${LIVE} to the shadow config ${SHADOW_CONFIG} failed: the endpoint is Failed ` +
        `(Request to service failed). Production served ${PRODUCTION} before this stage and may not be serving ` +
        `now. Put it back with ${update(PRODUCTION)}, wait until the endpoint is InService, then retry the stage.`,
    );
  });

  test('adding: the endpoint was deleted', async () => {
    expect(failure(await run(encodeShadowToken(adding)))).toBe(
      `live endpoint ${LIVE} no longer exists: it was deleted while the shadow config was being applied. Nothing ` +
        'serves from it and the shadow stage has nothing to put back. Rerun the pipeline: without a live ' +
        'endpoint the release creates it.',
    );
  });

  // -------------------------------------------------------------------------------------------
  // Observing
  // -------------------------------------------------------------------------------------------

  test('observing: the endpoint left the shadow config (e.g. a rollback); the stage does not touch it', async () => {
    await seedLive();
    now = at(30);
    endpointIs('Updating', 'mlops-document-classifier-0badc0de-live');
    expect(failure(await run(encodeShadowToken(observing)))).toBe(
      `live endpoint ${LIVE} left the shadow config ${SHADOW_CONFIG} during the shadow window: it is Updating on ` +
        'mlops-document-classifier-0badc0de-live (something else updated it, e.g. a rollback). The shadow stage ' +
        'did not touch it and compared nothing. Check that mlops-document-classifier-0badc0de-live is meant to ' +
        'serve, then retry the stage.',
    );
    expect(updates).toEqual([]);
    expect(await reportExists()).toBe(false);
  });

  test('observing: the endpoint failed during the window; says how to put production back', async () => {
    await seedLive();
    now = at(30);
    endpointIs('Failed', SHADOW_CONFIG, 'Instance failure');
    expect(failure(await run(encodeShadowToken(observing)))).toBe(
      `live endpoint ${LIVE} is Failed (Instance failure) during the shadow window, on the shadow config ` +
        `${SHADOW_CONFIG}. Production served ${PRODUCTION} before this stage and may not be serving now. Put it ` +
        `back with ${update(PRODUCTION)}, wait until the endpoint is InService, then retry the stage.`,
    );
  });

  test('observing: after the window, an endpoint that is updating is waited for before restoring', async () => {
    await seedLive();
    now = at(70);
    endpointIs('SystemUpdating', SHADOW_CONFIG);
    const outcome = await run(encodeShadowToken(observing));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        `the shadow window ended; waiting for live endpoint ${LIVE} (SystemUpdating) to be InService before ` +
        `putting production config ${PRODUCTION} back`,
    });
    expect(decodeShadowToken(token(outcome))).toEqual({ ...observing, polls: 3 });
    expect(updates).toEqual([]);
  });

  test('observing: CloudWatch unreadable; the report says so, and production is still put back', async () => {
    await seedLive();
    await seedShadowConfig();
    cw.on(GetMetricDataCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: cloudwatch:GetMetricData'), {
        name: 'AccessDenied',
      }),
    );
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    const outcome = await run(encodeShadowToken(observing));
    expect(outcome).toMatchObject({ status: 'in-progress' });
    expect(decodeShadowToken(token(outcome))).toMatchObject({ phase: 'restoring' });
    expect(updates).toEqual([RESTORE_PRODUCTION]);
    const written = await comparedReport();
    const findings = [
      'CloudWatch metrics could not be read (AccessDenied: User is not authorized to perform: ' +
        'cloudwatch:GetMetricData): errors and latency were not compared',
      'agreement 62.5% (5 of 8 compared requests)',
      'paired on 8 matched requests (inferenceId); failure rate shadow 0.0% vs production 0.0%, difference 0.00 ' +
        'points [-32.44, +32.44]; latency not compared request by request: the answers carry no latencyMs (data ' +
        'capture records no latency); the CloudWatch percentiles compare the two variants as a whole',
    ];
    expect(written).toMatchObject({
      status: 'compared',
      report: null,
      metricsError: 'AccessDenied: User is not authorized to perform: cloudwatch:GetMetricData',
      capture: { agreement: { compared: 8, agreements: 5 } },
      findings,
      summary: `shadow comparison over 60 min (advisory, never blocks): ${findings.join('; ')}`,
    });

    // The stage then succeeds with that summary.
    now = at(75);
    endpointIs('InService', PRODUCTION);
    expect(await run(token(outcome))).toEqual({
      status: 'succeeded',
      summary:
        `shadow comparison over 60 min (advisory, never blocks): ${findings.join('; ')}\n` +
        `Production config ${PRODUCTION} is back on live endpoint ${LIVE}. Report: ${REPORT_URL}`,
      outputVariables: { ShadowReport: REPORT_URL },
    });
  });

  test('observing: a CloudWatch query answered Forbidden counts as metrics unavailable', async () => {
    await seedLive();
    await seedShadowConfig();
    cw.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: 'production_invocations',
          StatusCode: 'Forbidden',
          Messages: [{ Code: 'Forbidden', Value: 'no access' }],
        },
      ],
    });
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    await run(encodeShadowToken(observing));
    expect(updates).toEqual([RESTORE_PRODUCTION]);
    expect((await comparedReport()).metricsError).toBe(
      'CloudWatch answered Forbidden for production_invocations (no access)',
    );
  });

  test('observing: the data capture read is capped, and the report says so', async () => {
    await seedLive();
    await seedShadowConfig();
    deps = { ...deps, captureLimits: { maxFiles: 2, maxRecords: 100, maxBytes: 1024 * 1024 } };
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    await run(encodeShadowToken(observing));
    const written = await comparedReport();
    const note =
      "data capture read stopped at 2 files (the shadow stage's limit): agreement comes from the 2 of 4 " +
      'capture files read, earliest first';
    // Hour 10's production and shadow files, interleaved in time: e1-e6 paired, 4 agree.
    expect(written.capture).toMatchObject({
      filesFound: 4,
      filesRead: 2,
      capped: true,
      cappedNote: note,
      agreement: { compared: 6, agreements: 4 },
    });
    expect(written.findings.at(-1)).toBe(note);
    expect(updates).toEqual([RESTORE_PRODUCTION]);
  });

  test('observing: both variants captured requests but none carries an inferenceId: the report says nothing was compared', async () => {
    // Requests sent without InferenceId (e.g. by a caller that bypasses the router): the same
    // requests reach both variants, but nothing in their capture says which line is which.
    for (const [key, ids] of [
      ['live/2026/11/05/10/04-10-000-p1.jsonl', ['a', 'b', 'c']],
      ['shadow/2026/11/05/10/04-10-500-s1.jsonl', ['a', 'b']],
      ['live/2026/11/05/11/00-20-000-p2.jsonl', []],
      ['shadow/2026/11/05/11/00-20-500-s2.jsonl', []],
    ] as const) {
      await s3.send(
        new PutObjectCommand({
          Bucket: CAPTURE_BUCKET,
          Key: `${CAPTURE_ROOT}/${key}`,
          Body: ids.map(() => captureLine(null, 'invoice')).join('\n'),
        }),
      );
    }
    await seedLive();
    await seedShadowConfig();
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    await run(encodeShadowToken(observing));
    const written = await comparedReport();
    expect(written.capture.agreement).toMatchObject({
      matched: 0,
      compared: 0,
      production: { records: 3, withoutInferenceId: 3 },
      shadow: { records: 2, withoutInferenceId: 2 },
    });
    const reason =
      'compared nothing: production has 3 capture records and shadow 2, but no request appears in both with an ' +
      'inferenceId and an answer; 3 production and 2 shadow records carry no inferenceId (the caller sent no ' +
      'InferenceId: requests that bypass the router, or a router older than this platform version). Agreement, ' +
      'paired errors and paired latency were NOT compared';
    expect(written.report!.paired).toEqual({ status: 'unpaired', reason });
    expect(written.report!.agreement.rate).toBeNull();
    expect(written.findings).toContain(`unpaired: ${reason}`);
    expect(written.summary).toContain(`NOT compared request by request: ${reason}`);
    expect(updates).toEqual([RESTORE_PRODUCTION]);
  });

  test('observing: the record cap stops mid-file', async () => {
    await seedLive();
    await seedShadowConfig();
    deps = { ...deps, captureLimits: { maxFiles: 100, maxRecords: 13, maxBytes: 1024 * 1024 } };
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    await run(encodeShadowToken(observing));
    const written = await comparedReport();
    // p1's 10 lines, then 3 of s1's: e1-e3 paired, all agree.
    expect(written.capture).toMatchObject({
      filesRead: 2,
      recordsRead: 13,
      unparseable: 1,
      capped: true,
      cappedNote:
        "data capture read stopped at 13 records (the shadow stage's limit): agreement comes from the 2 of 4 " +
        'capture files read, earliest first',
      agreement: { compared: 3, agreements: 3 },
    });
  });

  test('observing: unreadable data capture is reported, and production is still put back', async () => {
    await seedLive();
    await sagemakerMoto.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: SHADOW_CONFIG,
        ProductionVariants: [
          {
            VariantName: 'live',
            ModelName: PRODUCTION_MODEL,
            InstanceType: INSTANCE_TYPE,
            InitialInstanceCount: 3,
            InitialVariantWeight: 1,
          },
        ],
        DataCaptureConfig: {
          EnableCapture: true,
          InitialSamplingPercentage: 20,
          DestinationS3Uri: `s3://no-such-capture-bucket/document-classifier/${LIVE}`,
          CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        },
      }),
    );
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    await run(encodeShadowToken(observing));
    const written = await comparedReport();
    expect(written.capture.error).toBe(
      `cannot list s3://no-such-capture-bucket/document-classifier/${LIVE}/${LIVE}/: NoSuchBucket: The specified ` +
        'bucket does not exist',
    );
    expect(written.report!.agreement).toEqual({
      agreements: 0,
      compared: 0,
      rate: null,
    });
    expect(written.findings.at(-1)).toBe(
      `data capture could not be read (cannot list s3://no-such-capture-bucket/document-classifier/${LIVE}/${LIVE}/: ` +
        'NoSuchBucket: The specified bucket does not exist): agreement was not compared',
    );
    expect(updates).toEqual([RESTORE_PRODUCTION]);
  });

  test('observing: the report cannot be written; production is still put back, and the stage fails', async () => {
    await seedLive();
    await seedShadowConfig();
    process.env.ARTIFACTS_BUCKET = 'no-such-artifacts-bucket';
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    expect(failure(await run(encodeShadowToken(observing)))).toBe(
      'cannot write the shadow report to s3://no-such-artifacts-bucket/' +
        `${REPORT_KEY}: NoSuchBucket: The specified bucket does not exist; check that the bucket exists and the ` +
        "function's role may write to it and use its KMS key. Production config " +
        `${PRODUCTION} is being put back on live endpoint ${LIVE}; retry the stage to run the comparison again.`,
    );
    expect(updates).toEqual([RESTORE_PRODUCTION]);
  });

  test('observing: SageMaker refuses to put production back; says what runs and how to fix it', async () => {
    await seedLive();
    await seedShadowConfig();
    sm.on(UpdateEndpointCommand).rejects(
      Object.assign(new Error('Could not find endpoint configuration'), { name: 'ValidationException' }),
    );
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    expect(failure(await run(encodeShadowToken(observing)))).toBe(
      `could not put production config ${PRODUCTION} back on live endpoint ${LIVE}: ValidationException: Could ` +
        `not find endpoint configuration. The endpoint still runs the shadow config ${SHADOW_CONFIG} (production's ` +
        'model plus the candidate as shadow variant, whose instances cost money). Retry the stage (it puts ' +
        `production back first), or run ${update(PRODUCTION)}. The comparison is in ${REPORT_URL}.`,
    );
    expect((await report()).status).toBe('compared');
  });

  test('observing: SageMaker throttles putting production back; the stage tries again at its next poll, and production goes back', async () => {
    await seedLive();
    await seedShadowConfig();
    let refusals = 1;
    sm.on(UpdateEndpointCommand).callsFake((i: UpdateEndpointCommandInput) => {
      if (refusals-- > 0)
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: {} });
      updates.push(i);
      return { EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${i.EndpointName}` };
    });
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    let outcome = await run(encodeShadowToken(observing));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        `compared over 60 min; putting production config ${PRODUCTION} back on live endpoint ${LIVE} paused by a ` +
        'refusal (ThrottlingException: Rate exceeded): the stage tries again at its next poll (waited ' +
        `4 min of 30 min). Report: ${REPORT_URL}`,
    });
    expect(reported().command).toBe('PutJobSuccessResultCommand');
    expect(decodeShadowToken(token(outcome))).toEqual({ ...observing, polls: observing.polls + 1 });
    expect(updates).toEqual([]);
    expect((await report()).status).toBe('compared');

    now = at(71);
    endpointIs('InService', SHADOW_CONFIG);
    outcome = await run(token(outcome));
    expect(decodeShadowToken(token(outcome))).toMatchObject({ phase: 'restoring' });
    expect(updates).toEqual([RESTORE_PRODUCTION]);
  });

  test('observing: "Cannot update in-progress endpoint" while putting production back; the next poll waits for that update and then leaves the endpoint alone', async () => {
    await seedLive();
    await seedShadowConfig();
    sm.on(UpdateEndpointCommand).rejects(
      Object.assign(new Error('Cannot update in-progress endpoint'), { name: 'ValidationException' }),
    );
    now = at(70);
    endpointIs('InService', SHADOW_CONFIG);
    let outcome = await run(encodeShadowToken(observing));
    expect(decodeShadowToken(token(outcome))).toEqual({ ...observing, polls: observing.polls + 1 });
    // A rollback was what was in progress: the endpoint updates, then serves another config.
    now = at(71);
    endpointIs('Updating', SHADOW_CONFIG);
    outcome = await run(token(outcome));
    expect(decodeShadowToken(token(outcome))).toMatchObject({ phase: 'observing' });
    now = at(75);
    endpointIs('InService', 'mlops-document-classifier-rolledback-live');
    expect(failure(await run(token(outcome)))).toMatch(
      new RegExp(`^live endpoint ${LIVE} left the shadow config ${SHADOW_CONFIG} during the shadow window`),
    );
    expect(updates).toEqual([]);
  });

  test('observing: DescribeEndpoint answers 5xx during the window; the stage tries again at its next poll instead of leaving the shadow config behind', async () => {
    await seedLive();
    await seedShadowConfig();
    sm.on(DescribeEndpointCommand).rejects(
      Object.assign(new Error('We encountered an internal error'), {
        name: 'InternalFailure',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    now = at(30);
    const outcome = await run(encodeShadowToken(observing));
    expect(outcome).toMatchObject({
      status: 'in-progress',
      summary:
        "the shadow stage's observing poll paused by a transient failure (InternalFailure: We encountered an " +
        'internal error); it tries again at its next poll',
    });
    expect(decodeShadowToken(token(outcome))).toEqual({ ...observing, polls: observing.polls + 1 });
    expect(updates).toEqual([]);

    // Still failing 30 min after the window and its settling time: the stage fails.
    now = new Date(observing.windowEndMs + SETTLE_MS + RESTORE_RETRY_MS);
    expect(failure(await run(encodeShadowToken(observing)))).toMatch(
      /^InternalFailure: We encountered an internal error/,
    );
  });

  test('observing: SageMaker still throttles putting production back 30 min after the comparison; the stage fails and says what to run', async () => {
    await seedLive();
    await seedShadowConfig();
    sm.on(UpdateEndpointCommand).rejects(
      Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $retryable: {} }),
    );
    now = new Date(observing.windowEndMs + SETTLE_MS + RESTORE_RETRY_MS);
    endpointIs('InService', SHADOW_CONFIG);
    expect(failure(await run(encodeShadowToken(observing)))).toBe(
      `could not put production config ${PRODUCTION} back on live endpoint ${LIVE}: ThrottlingException: Rate ` +
        `exceeded. The endpoint still runs the shadow config ${SHADOW_CONFIG} (production's ` +
        'model plus the candidate as shadow variant, whose instances cost money). Retry the stage (it puts ' +
        `production back first), or run ${update(PRODUCTION)}. The comparison is in ${REPORT_URL}.`,
    );
  });

  // -------------------------------------------------------------------------------------------
  // Restoring
  // -------------------------------------------------------------------------------------------

  test('restoring: SageMaker rolled the restore back to the shadow config', async () => {
    await seedLive();
    endpointIs('InService', SHADOW_CONFIG, 'Capacity unavailable');
    expect(failure(await run(encodeShadowToken(restoring)))).toBe(
      `SageMaker did not put production config ${PRODUCTION} back on live endpoint ${LIVE} and rolled back to the ` +
        `shadow config ${SHADOW_CONFIG} (Capacity unavailable). Production's model still serves, with the ` +
        'candidate as shadow variant beside it (its instances cost money until it is removed). Retry the stage ' +
        `(it puts production back first), or run ${update(PRODUCTION)}. The comparison is in ${REPORT_URL}.`,
    );
  });

  test('restoring: another config took over', async () => {
    await seedLive();
    endpointIs('InService', 'mlops-document-classifier-0badc0de-live');
    expect(failure(await run(encodeShadowToken(restoring)))).toBe(
      `live endpoint ${LIVE} is InService on config mlops-document-classifier-0badc0de-live, not the production ` +
        `config ${PRODUCTION}: something else updated it while production was being put back. The comparison is ` +
        `complete (${REPORT_URL}); check that mlops-document-classifier-0badc0de-live is meant to serve. ` +
        'Retrying the stage runs the comparison again.',
    );
  });

  test('restoring: the endpoint failed', async () => {
    await seedLive();
    endpointIs('UpdateRollbackFailed', SHADOW_CONFIG, 'Rollback failed');
    expect(failure(await run(encodeShadowToken(restoring)))).toBe(
      `putting production config ${PRODUCTION} back on live endpoint ${LIVE} failed: the endpoint is ` +
        `UpdateRollbackFailed (Rollback failed), on config ${SHADOW_CONFIG}, and may not be serving. Run ` +
        `${update(PRODUCTION)} and wait until it is InService. The comparison is complete (${REPORT_URL}); ` +
        'retrying the stage runs it again.',
    );
  });

  test('restoring: production back but the report is gone', async () => {
    await seedLive();
    endpointIs('InService', PRODUCTION);
    expect(failure(await run(encodeShadowToken(restoring)))).toBe(
      `${REPORT_URL} does not exist: this stage wrote it before putting production back, and it is gone; retry ` +
        'the stage to compare again',
    );
  });

  // -------------------------------------------------------------------------------------------
  // Tokens
  // -------------------------------------------------------------------------------------------

  test('a foreign or corrupt continuation token fails with what to do', async () => {
    expect(failure(await run('canary.eyJ2IjoxfQ'))).toBe(
      'continuation token "canary.eyJ2IjoxfQ" was not written by the shadow action (expected it to start with ' +
        '"shadow."); was the action\'s Lambda function changed mid-run? Retry the stage: it picks up the live ' +
        'endpoint where this run left it.',
    );
    expect(failure(await run('shadow.%%%'))).toBe(
      'shadow continuation token "shadow.%%%" is corrupt (not base64url-encoded JSON). Retry the stage: it picks ' +
        'up the live endpoint where this run left it.',
    );
    expect(updates).toEqual([]);
  });
});
