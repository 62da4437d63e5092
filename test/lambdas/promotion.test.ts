import { putConfidenceAlarm } from '../helpers/confidence-alarm';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import {
  CreateHostedConfigurationVersionCommand,
  StartDeploymentCommand,
  AppConfigClient,
} from '@aws-sdk/client-appconfig';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
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
  type UpdateEndpointCommandInput,
} from '@aws-sdk/client-sagemaker';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { installFlagStore } from '../helpers/appconfig-flag-store';
import { mockClient } from 'aws-sdk-client-mock';
import { releaseSettings, type ReleaseSettings } from '../../lambdas/core/contracts/release-settings';
import type { DataValidationRecord } from '../../lambdas/data-validation/record';
import {
  createModelSpec,
  liveConfigSpec,
  releaseNames,
  type ServingContext,
} from '../../lambdas/core/serving/endpoint-spec';
import {
  bandOfZExpression,
  confidenceAlarmDefinition,
  DISARMED_BAND,
} from '../../lambdas/core/monitoring/confidence-alarm';
import { decodePromotionToken, encodePromotionToken } from '../../lambdas/core/serving/promotion-token';
import type { CanaryRecord, ServingState } from '../../lambdas/core/serving/serving-records';
import type { ShadowReportRecord } from '../../lambdas/core/serving/shadow-report';
import { createHandler, type Deps } from '../../lambdas/promotion';
import { STANDBY_REFRESH_TIMEOUT_SECONDS, standbyStep } from '../../lambdas/promotion/standby';
import { logger } from '../../lambdas/shared/logger';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';

const JOB_ID = 'c0ffee-job';
const MODEL = 'document-classifier';
const PREFIX = 'mlops-document-classifier';
const LIVE = 'mlops-document-classifier-live';
const STANDBY = 'mlops-document-classifier-standby';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const PIPELINE = 'mlops-document-classifier-release';
const BASELINE_KEY = 'models/document-classifier/baseline/baseline_metrics.json';
const STATE_KEY = 'models/document-classifier/serving/state.json';
const INSTANCE_TYPE = 'ml.g4dn.xlarge';
const GOLDEN_MD5 = '3b1f0c2e9a7d4e6f8a0b1c2d3e4f5a6b';
const SAMPLE_MD5 = '9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f.dir';

const ENV = {
  RELEASE_SETTINGS_PARAMETER: PARAMETER,
  ARTIFACTS_BUCKET: ARTIFACTS,
  MODEL_NAME: MODEL,
  SERVING_NAME_PREFIX: PREFIX,
  EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/mlops-document-classifier-sagemaker',
  KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-0000-4000-8000-000000000000',
  DATA_CAPTURE_S3_URI: 's3://mlops-data-capture/document-classifier',
  INFERENCE_IMAGE: '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0-gpu',
  LIVE_ENDPOINT: LIVE,
  STANDBY_ENDPOINT: STANDBY,
  ROLLBACK_ALARMS: 'mlops-document-classifier-5xx,mlops-document-classifier-latency',
  PIPELINE_NAME: PIPELINE,
  APPCONFIG_APPLICATION_ID: 'app1234',
  APPCONFIG_ENVIRONMENT_ID: 'env1234',
  APPCONFIG_PROFILE_ID: 'prof123',
  APPCONFIG_STRATEGY_ID: 'strat12',
  CONFIDENCE_ALARM_NAME: 'mlops-document-classifier-live-confidence',
  CONFIDENCE_ROLLBACK_ACTION_ARN:
    'arn:aws:lambda:eu-west-1:123456789012:function:mlops-document-classifier-rollback',
  EXPERIMENT: 'ab',
};
const CTX: ServingContext = {
  model: MODEL,
  namePrefix: PREFIX,
  executionRoleArn: ENV.EXECUTION_ROLE_ARN,
  kmsKeyArn: ENV.KMS_KEY_ARN,
  dataCaptureS3Uri: ENV.DATA_CAPTURE_S3_URI,
  image: ENV.INFERENCE_IMAGE,
};

/** Three releases of the model, in order. */
interface Release {
  readonly exec: string;
  readonly commit: string;
  /** releaseNames(PREFIX, exec), spelt out so the expectations do not lean on the code under test. */
  readonly model: string;
  readonly liveConfig: string;
  readonly standbyConfig: string;
}
function release(exec: string, commit: string): Release {
  const id = exec.slice(0, 8);
  return {
    exec,
    commit,
    model: `${PREFIX}-${id}`,
    liveConfig: `${PREFIX}-${id}-live`,
    standbyConfig: `${PREFIX}-${id}-standby`,
  };
}
const R1 = release('1a2b3c4d-0000-4000-8000-000000000001', 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678');
const R2 = release('2b3c4d5e-0000-4000-8000-000000000002', '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483');
const R3 = release('3c4d5e6f-0000-4000-8000-000000000003', '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807');

const runKey = (r: Release, file: string) => `models/${MODEL}/runs/${r.exec}/${file}`;
const recordKey = (r: Release) => `models/${MODEL}/releases/${r.exec}.json`;
const s3Url = (key: string) => `s3://${ARTIFACTS}/${key}`;
const sha256 = (r: Release) => createHash('sha256').update(r.commit).digest('hex');

const fixture = JSON.parse(
  readFileSync(join(__dirname, '../fixtures/eval/eval_report.json'), 'utf8'),
) as Record<string, unknown>;
/** The release's eval report, as the regression gate keeps it (and as the baseline must read). */
function reportText(r: Release): string {
  return `${JSON.stringify({ ...fixture, model: MODEL, model_version: r.commit }, null, 2)}\n`;
}

const T0 = Date.parse('2026-11-05T10:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

describe('promotion handler', () => {
  const moto = useMoto();
  const codepipeline = mockClient(CodePipelineClient);
  /** The test's own clients, straight to moto. */
  let s3: S3Client;
  let sagemakerMoto: SageMakerClient;
  /** The handler's SageMaker client: moto, plus what moto lacks (UpdateEndpoint, endpoint states). */
  const handlerSageMaker = new SageMakerClient({ region: 'eu-west-1' });
  const sagemaker = mockClient(handlerSageMaker);
  /** AppConfig has no deployments in moto: hosted versions and deployments are kept here. */
  const handlerAppConfig = new AppConfigClient({ region: 'eu-west-1' });
  const appconfig = mockClient(handlerAppConfig);
  let flagVersions: string[];
  /** The flag versions deployed, in order. */
  let flagDeployments: string[] = [];
  let settings: ReleaseSettings;
  let deps: Deps;
  let clock: Date;
  /** What DescribeEndpoint of the standby answers instead of moto, when set. */
  let standbyOverride: DescribeEndpointCommandOutput | undefined;
  /** What UpdateEndpoint does; by default what SageMaker ends with: the endpoint on the new config. */
  let onUpdate: (input: UpdateEndpointCommandInput) => Promise<void>;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    process.env.AWS_REGION = 'eu-west-1';
    Object.assign(process.env, ENV);
    const config = shippedConfig();
    const shipped = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === MODEL)!,
    );
    // The shipped GPU type is ml.g5.xlarge; moto's CreateEndpointConfig knows only older ones.
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
    deps = {
      s3,
      ssm: new SSMClient(moto.clientConfig),
      codepipeline: new CodePipelineClient({ region: 'eu-west-1' }),
      sagemaker: handlerSageMaker,
      cloudwatch: new CloudWatchClient(moto.clientConfig),
      autoscaling: new ApplicationAutoScalingClient(moto.clientConfig),
      appconfig: handlerAppConfig,
      now: () => clock,
    };
  });

  /** moto has no UpdateEndpoint: replace the endpoint with one on the new config, as SageMaker ends. */
  async function applyUpdate(input: UpdateEndpointCommandInput): Promise<void> {
    await sagemakerMoto.send(new DeleteEndpointCommand({ EndpointName: input.EndpointName }));
    await sagemakerMoto.send(
      new CreateEndpointCommand({
        EndpointName: input.EndpointName,
        EndpointConfigName: input.EndpointConfigName,
      }),
    );
  }

  /** The confidence alarm as the model stack creates it: disarmed (B = 0) until a promotion. */
  async function confidenceAlarm(): Promise<void> {
    await putConfidenceAlarm(new CloudWatchClient(moto.clientConfig), {
      name: ENV.CONFIDENCE_ALARM_NAME,
      model: MODEL,
      definition: confidenceAlarmDefinition(
        { stdDevs: 2, breachingPeriods: 5, minRequests: 10, periodSeconds: 60 },
        DISARMED_BAND,
      ),
      actions: [ENV.CONFIDENCE_ROLLBACK_ACTION_ARN],
      description: 'mean confidence below baseline',
    });
  }

  /** B of the alarm's z expression: 0 while disarmed, the eval mean once provisional. */
  async function alarmThreshold(): Promise<number | undefined> {
    const res = await new CloudWatchClient(moto.clientConfig).send(
      new DescribeAlarmsCommand({ AlarmNames: [ENV.CONFIDENCE_ALARM_NAME] }),
    );
    const z = res.MetricAlarms?.[0]?.Metrics?.find((m) => m.Id === 'z')?.Expression;
    return z === undefined ? undefined : bandOfZExpression(z)?.mean;
  }

  beforeEach(async () => {
    clock = at(0);
    ({ versions: flagVersions, deployments: flagDeployments } = installFlagStore(appconfig));
    standbyOverride = undefined;
    onUpdate = applyUpdate;
    codepipeline.reset();
    codepipeline.on(PutJobSuccessResultCommand).resolves({});
    codepipeline.on(PutJobFailureResultCommand).resolves({});
    sagemaker.reset();
    sagemaker
      .on(DescribeEndpointCommand)
      .callsFake(async (input: { EndpointName: string }) =>
        input.EndpointName === STANDBY && standbyOverride
          ? standbyOverride
          : sagemakerMoto.send(new DescribeEndpointCommand(input)),
      );
    sagemaker
      .on(CreateEndpointCommand)
      .callsFake((input) => sagemakerMoto.send(new CreateEndpointCommand(input)));
    sagemaker
      .on(CreateEndpointConfigCommand)
      .callsFake((input) => sagemakerMoto.send(new CreateEndpointConfigCommand(input)));
    sagemaker
      .on(DescribeEndpointConfigCommand)
      .callsFake((input) => sagemakerMoto.send(new DescribeEndpointConfigCommand(input)));
    sagemaker
      .on(DescribeModelCommand)
      .callsFake((input) => sagemakerMoto.send(new DescribeModelCommand(input)));
    sagemaker.on(ListTagsCommand).callsFake((input) => sagemakerMoto.send(new ListTagsCommand(input)));
    sagemaker.on(UpdateEndpointCommand).callsFake(async (input: UpdateEndpointCommandInput) => {
      await onUpdate(input);
      return { EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${input.EndpointName}` };
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
    // As in the shared stack: versioned (with Object Lock there), so every write is a new version.
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: ARTIFACTS, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await confidenceAlarm();
  });

  // -------------------------------------------------------------------------------------------
  // What the earlier stages of a run leave behind
  // -------------------------------------------------------------------------------------------

  async function put(key: string, body: string): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: ARTIFACTS, Key: key, Body: body }));
  }

  async function read(key: string): Promise<string | undefined> {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: key }));
      return await res.Body!.transformToString();
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async function versions(key: string): Promise<number> {
    const res = await s3.send(new ListObjectVersionsCommand({ Bucket: ARTIFACTS, Prefix: key }));
    return (res.Versions ?? []).filter((v) => v.Key === key).length;
  }

  /** The data-validation, evaluation, regression-gate and (optionally) shadow records of a run. */
  async function gatesPassed(
    r: Release,
    options: { validatedMd5s?: Record<string, string>; shadow?: ShadowReportRecord } = {},
  ): Promise<void> {
    const md5s = { golden_set: GOLDEN_MD5, production_sample: SAMPLE_MD5, ...options.validatedMd5s };
    const validation: DataValidationRecord = {
      version: 1,
      model: MODEL,
      executionId: r.exec,
      pipeline: 'release',
      commitId: r.commit,
      generatedAt: '2026-11-05T09:00:00.000Z',
      verdict: 'pass',
      dvcRemote: 's3://mlops-dvc/document-classifier',
      evalSets: [
        {
          evalSet: 'golden_set',
          kind: 'benchmark',
          maxDrift: 0.1,
          valid: true,
          errors: [],
          dataset: {
            dvcFile: 'data/eval/golden_set.jsonl.dvc',
            path: 'golden_set.jsonl',
            md5: md5s.golden_set,
            remoteKey: `document-classifier/files/md5/${md5s.golden_set.slice(0, 2)}/${md5s.golden_set.slice(2)}`,
            files: 1,
            bytes: 1_204_112,
          },
        },
        {
          evalSet: 'production_sample',
          kind: 'production-like',
          maxDrift: 0.15,
          valid: true,
          errors: [],
          dataset: {
            dvcFile: 'data/eval/production_sample.jsonl.dvc',
            path: 'production_sample',
            md5: md5s.production_sample,
            remoteKey: `document-classifier/files/md5/9c/8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f.dir`,
            files: 4,
            bytes: 4_810_220,
          },
        },
      ],
      drift: [],
    };
    await put(runKey(r, 'data-validation.json'), `${JSON.stringify(validation, null, 2)}\n`);
    await put(runKey(r, 'eval_report.json'), reportText(r));
    await put(
      runKey(r, 'regression-decision.json'),
      JSON.stringify({
        model: MODEL,
        executionId: r.exec,
        pipeline: 'release',
        commitId: r.commit,
        decidedAt: '2026-11-05T09:10:00.000Z',
        verdict: 'pass',
        regression: { verdict: 'pass', summary: `PASS: 10 checks passed (${r.commit.slice(0, 7)})` },
      }),
    );
    await put(
      runKey(r, 'model-artifact.json'),
      JSON.stringify({
        sha256: sha256(r),
        bytes: 418_204_113,
        modelDataUrl: `s3://${ARTIFACTS}/${runKey(r, 'model.tar.gz')}`,
        commitId: r.commit,
      }),
    );
    if (options.shadow) await put(runKey(r, 'shadow-report.json'), JSON.stringify(options.shadow));
  }

  /** What the canary stage leaves when it passes: the candidate's model and config, live, and its record. */
  async function canaryPassed(r: Release): Promise<string | null> {
    await sagemakerMoto.send(
      new CreateModelCommand(
        structuredClone(
          createModelSpec(CTX, {
            modelName: r.model,
            modelDataUrl: `s3://${ARTIFACTS}/${runKey(r, 'model.tar.gz')}`,
            modelVersion: r.commit,
            executionId: r.exec,
          }),
        ) as never,
      ),
    );
    await sagemakerMoto.send(
      new CreateEndpointConfigCommand(
        structuredClone(
          liveConfigSpec(CTX, settings.serving, {
            configName: r.liveConfig,
            modelName: r.model,
            instanceCount: 2,
            endpointName: LIVE,
          }),
        ) as never,
      ),
    );
    const previous = await liveConfig();
    if (previous === null) {
      await sagemakerMoto.send(
        new CreateEndpointCommand({ EndpointName: LIVE, EndpointConfigName: r.liveConfig }),
      );
    } else {
      await applyUpdate({ EndpointName: LIVE, EndpointConfigName: r.liveConfig });
    }
    await writeCanaryRecord(r, previous, 'live');
    return previous;
  }

  async function writeCanaryRecord(r: Release, previous: string | null, outcome: CanaryRecord['outcome']) {
    const record: CanaryRecord = {
      schemaVersion: 1,
      model: MODEL,
      executionId: r.exec,
      modelVersion: r.commit,
      endpointName: LIVE,
      candidateModelName: r.model,
      candidateConfigName: r.liveConfig,
      previousConfigName: previous,
      outcome,
      detail:
        outcome === 'live'
          ? `Canary passed: endpoint "${LIVE}" is InService with the candidate config "${r.liveConfig}".`
          : `Canary failed: the update to "${r.liveConfig}" was rolled back; alarm "mlops-document-classifier-5xx" is in ALARM.`,
      alarmsSeen: outcome === 'live' ? [] : ['mlops-document-classifier-5xx'],
      startedAt: '2026-11-05T09:20:00.000Z',
      finishedAt: '2026-11-05T09:45:00.000Z',
    };
    await put(runKey(r, 'canary.json'), `${JSON.stringify(record, null, 2)}\n`);
  }

  async function liveConfig(): Promise<string | null> {
    try {
      const res = await sagemakerMoto.send(new DescribeEndpointCommand({ EndpointName: LIVE }));
      return res.EndpointConfigName ?? null;
    } catch {
      return null;
    }
  }

  async function standbyEndpoint(): Promise<DescribeEndpointCommandOutput | undefined> {
    try {
      return await sagemakerMoto.send(new DescribeEndpointCommand({ EndpointName: STANDBY }));
    } catch (error) {
      if (/Could not find endpoint/.test((error as Error).message)) return undefined;
      throw error;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Invoking the stage
  // -------------------------------------------------------------------------------------------

  function jobEvent(r: Release, continuationToken?: string) {
    return {
      'CodePipeline.job': {
        id: JOB_ID,
        accountId: '123456789012',
        data: {
          actionConfiguration: {
            configuration: {
              FunctionName: `${PREFIX}-promotion`,
              UserParameters: JSON.stringify({
                executionId: r.exec,
                pipeline: 'release',
                commitId: r.commit,
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

  /** Invokes the stage once at `minutes` after T0; returns what it reported to CodePipeline. */
  async function invoke(r: Release, minutes: number, token?: string, handlerDeps = deps) {
    clock = at(minutes);
    codepipeline.resetHistory();
    await createHandler(handlerDeps)(jobEvent(r, token));
    expect(codepipeline.calls()).toHaveLength(1);
    return codepipeline.call(0).args[0].input as {
      jobId: string;
      continuationToken?: string;
      executionDetails?: { summary: string };
      outputVariables?: Record<string, string>;
      failureDetails?: { type: string; message: string };
    };
  }

  /** A whole release through the real handler, polling until it succeeds. */
  async function released(r: Release, minutes: number): Promise<void> {
    await gatesPassed(r);
    await canaryPassed(r);
    let token: string | undefined;
    for (let poll = 0; poll < 4; poll++) {
      const result = await invoke(r, minutes + poll, token);
      expect(result.failureDetails).toBeUndefined();
      if (result.continuationToken === undefined) return;
      token = result.continuationToken;
    }
    throw new Error(`release ${r.exec} did not finish in 4 invocations`);
  }

  function failureOf(result: Awaited<ReturnType<typeof invoke>>): string {
    expect(result.executionDetails).toBeUndefined();
    expect(result.failureDetails?.type).toBe('JobFailed');
    return result.failureDetails!.message;
  }

  const releaseRecordOf = async (r: Release) => JSON.parse((await read(recordKey(r)))!) as unknown;
  const servingState = async () => JSON.parse((await read(STATE_KEY))!) as ServingState;

  /** The production_sample mean confidence of the fixture report: the provisional band's centre. */
  const FLOOR = 0.84;

  /** What the summary says of the flag and the confidence alarm. */
  interface LiveModelLines {
    /** The hosted flag version this promotion wrote, or 'already' when the flag served it before. */
    readonly flag: number | 'already';
    /** The threshold before (a number) or 'already' when it was the floor already. */
    readonly alarmWas: number | 'already';
  }

  function successSummary(
    r: Release,
    standby: string,
    already: { record?: boolean; state?: boolean; baseline?: boolean } = {},
    live: LiveModelLines = { flag: 1, alarmWas: 0 },
  ): string {
    const earlier = (done?: boolean) => (done ? ' (already written by an earlier attempt)' : '');
    return [
      `Promoted ${r.commit} (execution ${r.exec}): the live endpoint "${LIVE}" serves config "${r.liveConfig}".`,
      standby,
      `Baseline updated: ${s3Url(BASELINE_KEY)}${earlier(already.baseline)}; the artifacts bucket is versioned with ` +
        'Object Lock, so every earlier baseline is kept as a version.',
      `Serving state: ${s3Url(STATE_KEY)}${earlier(already.state)}.`,
      `Release record: ${s3Url(recordKey(r))}${earlier(already.record)}.`,
      live.flag === 'already'
        ? `The flag already serves ${r.commit} from the live endpoint (version ${flagVersions.length}).`
        : `The flag now serves ${r.commit} from the live endpoint (version ${live.flag}, deployment 1).`,
      `The confidence alarm ${ENV.CONFIDENCE_ALARM_NAME} is ${live.alarmWas === 'already' ? 'already' : 'now'} ` +
        `provisional for ${r.commit} until its live baseline exists: eval mean ${FLOOR} with sd 0.05, pages without rolling back.`,
    ].join('\n');
  }

  const NOT_PROMOTED =
    `Nothing promoted: the candidate serves on the live endpoint "${LIVE}", but the baseline, the serving state ` +
    'and the standby endpoint are unchanged.';

  // -------------------------------------------------------------------------------------------
  // Promotions
  // -------------------------------------------------------------------------------------------

  test('the flag cannot be written: the promotion stands, the stage fails saying so, and a retry tells the platform', async () => {
    await gatesPassed(R1);
    await canaryPassed(R1);
    let unreachable = true;
    appconfig
      .on(CreateHostedConfigurationVersionCommand)
      .callsFake(async (input: { Content: Uint8Array }) => {
        if (unreachable)
          throw Object.assign(new Error('access denied to the profile'), { name: 'AccessDeniedException' });
        flagVersions.push(new TextDecoder().decode(input.Content));
        return { VersionNumber: flagVersions.length };
      });

    const message = failureOf(await invoke(R1, 0));
    expect(message).toMatch(
      /^Promotion written \(release record, serving state, baseline\), but the platform was not told: .*access denied.*Retrying the stage completes it; what is done stays done\.$/s,
    );
    expect(await read(BASELINE_KEY)).toBe(reportText(R1));
    expect(await alarmThreshold()).toBe(0);

    unreachable = false;
    const retry = await invoke(R1, 5);
    expect(retry.failureDetails).toBeUndefined();
    expect(await alarmThreshold()).toBe(FLOOR);
    expect(flagVersions).toHaveLength(1);
  });

  test('a transient failure half-way (the flag deployment throttled) pauses the stage, and its next poll finishes the promotion', async () => {
    await gatesPassed(R1);
    await canaryPassed(R1);
    let throttled = 1;
    appconfig.on(StartDeploymentCommand).callsFake(async (input: { ConfigurationVersion: string }) => {
      if (throttled-- > 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      flagDeployments.push(input.ConfigurationVersion);
      return { DeploymentNumber: flagDeployments.length, State: 'DEPLOYING' };
    });

    const first = await invoke(R1, 0);
    expect(first.failureDetails).toBeUndefined();
    expect(first.executionDetails?.summary).toMatch(
      /^Promotion paused by a transient failure \(1 of at most 10 in a row\): .*Rate exceeded/,
    );
    expect(decodePromotionToken(first.continuationToken!)).toMatchObject({ retries: 1 });
    // The version the first attempt stored is deployed by the next poll, not stored a second time.
    expect(flagVersions).toHaveLength(1);
    expect(flagDeployments).toEqual([]);

    const second = await invoke(R1, 1, first.continuationToken);
    expect(second.failureDetails).toBeUndefined();
    expect(second.continuationToken).toBeUndefined();
    expect(second.executionDetails?.summary).toContain(
      `The flag now serves ${R1.commit} from the live endpoint (version 1, stored by an earlier attempt`,
    );
    expect(flagVersions).toHaveLength(1);
    expect(flagDeployments).toEqual(['1']);
    expect(await alarmThreshold()).toBe(FLOOR);
  });

  test('first release: record, serving state without standby and baseline written; no standby endpoint', async () => {
    await gatesPassed(R1, {
      shadow: {
        schemaVersion: 1,
        model: MODEL,
        executionId: R1.exec,
        endpointName: LIVE,
        status: 'skipped',
        reason: 'first release: there is no live endpoint to shadow',
        summary: 'shadow skipped: first release, no production model to compare with',
        findings: [],
        writtenAt: '2026-11-05T09:15:00.000Z',
      },
    });
    await canaryPassed(R1);

    const result = await invoke(R1, 0);

    expect(result).toEqual({
      jobId: JOB_ID,
      executionDetails: { summary: successSummary(R1, 'Standby now serves nothing (first release).') },
      outputVariables: { ReleaseRecord: s3Url(recordKey(R1)) },
    });
    // The platform learned of it: the alarm's floor and the flag the router reads.
    expect(await alarmThreshold()).toBe(FLOOR);
    expect(JSON.parse(flagVersions[0]!)).toEqual({
      schemaVersion: 1,
      model: MODEL,
      experiment: 'ab',
      stable: { modelVersion: R1.commit, endpoint: 'live' },
      candidate: null,
      killSwitch: false,
      updatedBy: `promotion ${R1.exec}`,
      updatedAt: expect.any(String),
    });
    expect(await releaseRecordOf(R1)).toEqual({
      schemaVersion: 1,
      model: MODEL,
      modelVersion: R1.commit,
      modelArtifactSha256: sha256(R1),
      evalSetMd5s: { golden_set: GOLDEN_MD5, production_sample: SAMPLE_MD5 },
      evalReport: JSON.parse(reportText(R1)),
      thresholds: {
        maxAccuracyDrop: 0.02,
        maxLatencyIncreasePct: 15,
        maxCostIncreasePct: 10,
        maxBiasGapIncrease: 0.03,
        onInconclusive: 'point-estimate',
        assumedDiscordance: 0.1,
      },
      decisions: [
        {
          gate: 'data-validation',
          verdict: 'pass',
          detail:
            '2 eval sets valid and md5-verified (golden_set, production_sample); report ' +
            s3Url(runKey(R1, 'data-validation.json')),
        },
        { gate: 'regression-gate', verdict: 'pass', detail: 'PASS: 10 checks passed (a1b2c3d)' },
        {
          gate: 'shadow',
          verdict: 'advisory',
          detail: 'shadow skipped: first release, no production model to compare with',
        },
        {
          gate: 'canary',
          verdict: 'pass',
          detail: `Canary passed: endpoint "${LIVE}" is InService with the candidate config "${R1.liveConfig}".`,
        },
      ],
      promotedBy: `pipeline ${PIPELINE} execution ${R1.exec} (commit ${R1.commit})`,
      promotedAt: '2026-11-05T10:00:00.000Z',
      previousConfigName: null,
      candidateConfigName: R1.liveConfig,
    });
    expect(await servingState()).toEqual({
      schemaVersion: 1,
      model: MODEL,
      live: {
        endpointName: LIVE,
        configName: R1.liveConfig,
        modelName: R1.model,
        modelVersion: R1.commit,
        executionId: R1.exec,
      },
      standby: null,
      updatedAt: '2026-11-05T10:00:00.000Z',
      updatedBy: `pipeline ${PIPELINE} execution ${R1.exec} (commit ${R1.commit})`,
    });
    expect(await read(BASELINE_KEY)).toBe(reportText(R1));
    expect(await standbyEndpoint()).toBeUndefined();
    expect(sagemaker.commandCalls(CreateEndpointCommand)).toHaveLength(0);
    expect(sagemaker.commandCalls(CreateEndpointConfigCommand)).toHaveLength(0);
  });

  test('second release: creates the standby endpoint with the first model, polls it InService, then commits', async () => {
    await released(R1, 0);
    await gatesPassed(R2);
    expect(await canaryPassed(R2)).toBe(R1.liveConfig);

    const first = await invoke(R2, 60);

    expect(first).toEqual({
      jobId: JOB_ID,
      continuationToken: expect.stringMatching(/^promotion\./),
      executionDetails: {
        summary:
          `Standby refresh (previous model "${R1.model}"): creating the standby endpoint "${STANDBY}" with config ` +
          `"${R2.standbyConfig}".`,
      },
    });
    expect(decodePromotionToken(first.continuationToken!)).toEqual({
      standbyEndpoint: STANDBY,
      standbyConfigName: R2.standbyConfig,
      startedAtMs: at(60).getTime(),
      polls: 1,
    });
    expect(sagemaker.commandCalls(CreateEndpointCommand).map((c) => c.args[0].input)).toEqual([
      { EndpointName: STANDBY, EndpointConfigName: R2.standbyConfig, Tags: [{ Key: 'Model', Value: MODEL }] },
    ]);
    const standbyConfig = await sagemakerMoto.send(
      new DescribeEndpointConfigCommand({ EndpointConfigName: R2.standbyConfig }),
    );
    expect(standbyConfig.ProductionVariants).toEqual([
      expect.objectContaining({
        VariantName: 'standby',
        ModelName: R1.model,
        InstanceType: INSTANCE_TYPE,
        InitialInstanceCount: 1,
      }),
    ]);
    // Nothing is committed while the standby is not InService.
    expect(await read(recordKey(R2))).toBeUndefined();
    expect(await read(BASELINE_KEY)).toBe(reportText(R1));
    expect((await servingState()).live.executionId).toBe(R1.exec);

    // moto creates endpoints InService at once: the next poll finds it ready.
    const second = await invoke(R2, 63, first.continuationToken);

    expect(second).toEqual({
      jobId: JOB_ID,
      executionDetails: {
        summary: successSummary(
          R2,
          `Standby now serves ${R1.commit} (execution ${R1.exec}) on "${STANDBY}" with config "${R2.standbyConfig}".`,
          {},
          // The same eval fixture as the first release: the floor is unchanged. The flag moved before
          // the standby refresh (the first poll), so the router labels the candidate's answers right.
          { flag: 'already', alarmWas: 'already' },
        ),
      },
      outputVariables: { ReleaseRecord: s3Url(recordKey(R2)) },
    });
    expect(await servingState()).toEqual({
      schemaVersion: 1,
      model: MODEL,
      live: {
        endpointName: LIVE,
        configName: R2.liveConfig,
        modelName: R2.model,
        modelVersion: R2.commit,
        executionId: R2.exec,
      },
      standby: {
        endpointName: STANDBY,
        configName: R2.standbyConfig,
        modelName: R1.model,
        modelVersion: R1.commit,
        executionId: R1.exec,
        liveConfigName: R1.liveConfig,
      },
      updatedAt: '2026-11-05T11:03:00.000Z',
      updatedBy: `pipeline ${PIPELINE} execution ${R2.exec} (commit ${R2.commit})`,
    });
    expect(await releaseRecordOf(R2)).toMatchObject({
      modelVersion: R2.commit,
      promotedAt: '2026-11-05T11:03:00.000Z',
      previousConfigName: R1.liveConfig,
      candidateConfigName: R2.liveConfig,
      decisions: [
        expect.objectContaining({ gate: 'data-validation' }),
        expect.objectContaining({ gate: 'regression-gate', detail: 'PASS: 10 checks passed (3f2a9c1)' }),
        {
          gate: 'shadow',
          verdict: 'advisory',
          detail: `no shadow report (${s3Url(runKey(R2, 'shadow-report.json'))} does not exist)`,
        },
        expect.objectContaining({ gate: 'canary' }),
      ],
    });
    expect(await read(BASELINE_KEY)).toBe(reportText(R2));
    expect(await versions(BASELINE_KEY)).toBe(2);
  });

  test('a later release updates the standby without a deployment config and waits while it is Updating', async () => {
    await released(R1, 0);
    await released(R2, 60);
    await gatesPassed(R3);
    await canaryPassed(R3);
    let pending: UpdateEndpointCommandInput | undefined;
    onUpdate = async (input) => {
      pending = input;
      standbyOverride = {
        $metadata: {},
        EndpointName: STANDBY,
        EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${STANDBY}`,
        EndpointConfigName: R2.standbyConfig,
        EndpointStatus: 'Updating',
        CreationTime: at(60),
        LastModifiedTime: at(120),
      };
    };

    const first = await invoke(R3, 120);

    expect(first.executionDetails).toEqual({
      summary:
        `Standby refresh (previous model "${R2.model}"): updating the standby endpoint "${STANDBY}" from config ` +
        `"${R2.standbyConfig}" to "${R3.standbyConfig}".`,
    });
    expect(sagemaker.commandCalls(UpdateEndpointCommand).map((c) => c.args[0].input)).toEqual([
      { EndpointName: STANDBY, EndpointConfigName: R3.standbyConfig },
    ]);

    const second = await invoke(R3, 122, first.continuationToken);

    expect(second.executionDetails).toEqual({
      summary:
        `Standby refresh (previous model "${R2.model}"): the standby endpoint "${STANDBY}" is Updating (config ` +
        `"${R2.standbyConfig}"); waited 2 min of 1 h.`,
    });
    expect(decodePromotionToken(second.continuationToken!)).toEqual({
      standbyEndpoint: STANDBY,
      standbyConfigName: R3.standbyConfig,
      startedAtMs: at(120).getTime(),
      polls: 2,
    });
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(1);
    expect(await read(BASELINE_KEY)).toBe(reportText(R2));

    // SageMaker finishes the update.
    await applyUpdate(pending!);
    standbyOverride = undefined;
    const third = await invoke(R3, 130, second.continuationToken);

    expect(third.executionDetails).toEqual({
      summary: successSummary(
        R3,
        `Standby now serves ${R2.commit} (execution ${R2.exec}) on "${STANDBY}" with config "${R3.standbyConfig}".`,
        {},
        { flag: 'already', alarmWas: 'already' },
      ),
    });
    expect((await servingState()).standby).toEqual({
      endpointName: STANDBY,
      configName: R3.standbyConfig,
      modelName: R2.model,
      modelVersion: R2.commit,
      executionId: R2.exec,
      liveConfigName: R2.liveConfig,
    });
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(1);
    expect(await read(BASELINE_KEY)).toBe(reportText(R3));
    expect(await versions(BASELINE_KEY)).toBe(3);
  });

  test('without a serving state, the standby model is identified by its SageMaker tags', async () => {
    await released(R1, 0);
    await s3.send(new DeleteObjectCommand({ Bucket: ARTIFACTS, Key: STATE_KEY })); // lost, or never written
    await released(R2, 60);

    expect((await servingState()).standby).toEqual({
      endpointName: STANDBY,
      configName: R2.standbyConfig,
      modelName: R1.model,
      modelVersion: R1.commit,
      executionId: R1.exec,
      liveConfigName: R1.liveConfig,
    });
    // Once per invocation of the second release: the one that creates the standby, the poll that commits.
    expect(sagemaker.commandCalls(ListTagsCommand)).toHaveLength(2);
  });

  test('a promotion retried after it succeeded changes nothing and succeeds again', async () => {
    await released(R1, 0);
    await released(R2, 60);
    const before = {
      record: await read(recordKey(R2)),
      state: await read(STATE_KEY),
      versions: [await versions(recordKey(R2)), await versions(STATE_KEY), await versions(BASELINE_KEY)],
    };
    sagemaker.resetHistory();

    const result = await invoke(R2, 600);

    expect(result).toEqual({
      jobId: JOB_ID,
      executionDetails: {
        summary: successSummary(
          R2,
          `Standby now serves ${R1.commit} (execution ${R1.exec}) on "${STANDBY}" with config "${R2.standbyConfig}".`,
          { record: true, state: true, baseline: true },
          { flag: 'already', alarmWas: 'already' },
        ),
      },
      outputVariables: { ReleaseRecord: s3Url(recordKey(R2)) },
    });
    expect(await read(recordKey(R2))).toBe(before.record);
    expect(await read(STATE_KEY)).toBe(before.state);
    expect([await versions(recordKey(R2)), await versions(STATE_KEY), await versions(BASELINE_KEY)]).toEqual(
      before.versions,
    );
    expect(before.versions).toEqual([1, 2, 2]);
    expect(sagemaker.commandCalls(CreateEndpointCommand)).toHaveLength(0);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(0);
  });

  // -------------------------------------------------------------------------------------------
  // Refusals: nothing promoted
  // -------------------------------------------------------------------------------------------

  test('no canary record: refused, nothing written', async () => {
    await gatesPassed(R1);

    const message = failureOf(await invoke(R1, 0));

    expect(message).toBe(
      `${s3Url(runKey(R1, 'canary.json'))} does not exist: the canary stage of this run left no record; nothing ` +
        "promoted. Promotion runs after a canary that passed: look at this execution's Canary stage.",
    );
    expect(await read(recordKey(R1))).toBeUndefined();
    expect(await read(STATE_KEY)).toBeUndefined();
    expect(await read(BASELINE_KEY)).toBeUndefined();
  });

  test('a canary that was rolled back: refused, the baseline stays the previous release', async () => {
    await released(R1, 0);
    await gatesPassed(R2);
    await writeCanaryRecord(R2, R1.liveConfig, 'rolled-back');

    const message = failureOf(await invoke(R2, 60));

    expect(message).toBe(
      'Promotion refused: the canary did not put the candidate live (canary record outcome "rolled-back": Canary ' +
        `failed: the update to "${R2.liveConfig}" was rolled back; alarm "mlops-document-classifier-5xx" is in ` +
        'ALARM.); nothing promoted. The canary stage should have stopped this run: look at its result.',
    );
    expect(await read(BASELINE_KEY)).toBe(reportText(R1));
    expect(await read(recordKey(R2))).toBeUndefined();
    expect((await servingState()).live.executionId).toBe(R1.exec);
  });

  test('the live endpoint no longer serves the candidate (a rollback since the canary): refused', async () => {
    await released(R1, 0);
    await gatesPassed(R2);
    await canaryPassed(R2);
    await applyUpdate({ EndpointName: LIVE, EndpointConfigName: R1.liveConfig }); // the rollback

    const message = failureOf(await invoke(R2, 60));

    expect(message).toBe(
      `Promotion refused: the live endpoint "${LIVE}" no longer serves the candidate config "${R2.liveConfig}" ` +
        `(it serves "${R1.liveConfig}"), probably a rollback since the canary; nothing promoted: the baseline, the ` +
        'serving state and the standby endpoint are unchanged. Find out who changed the live endpoint before ' +
        'releasing again.',
    );
    expect(await read(BASELINE_KEY)).toBe(reportText(R1));
    expect(await standbyEndpoint()).toBeUndefined();
  });

  test('a promotion retried after a rollback from this release: refused, users stay on the version rolled back to (issue 11)', async () => {
    await released(R1, 0);
    await released(R2, 60);
    // The rollback from R2: the flag and the serving state went back to R1, but its UpdateEndpoint
    // failed, so the live endpoint still serves R2's config. It left its record beside the run.
    const rolledBack = {
      ...(await servingState()),
      live: { ...(await servingState()).standby!, endpointName: LIVE, configName: R1.liveConfig },
      standby: null,
      updatedBy: 'rollback',
    };
    delete (rolledBack.live as { liveConfigName?: string }).liveConfigName;
    await put(STATE_KEY, `${JSON.stringify(rolledBack, null, 2)}\n`);
    await put(
      runKey(R2, 'rollback.json'),
      JSON.stringify({
        status: 'incomplete',
        from: { executionId: R2.exec },
        startedAt: '2026-11-05T12:00:00.000Z',
      }),
    );
    const state = await read(STATE_KEY);

    const message = failureOf(await invoke(R2, 600));

    expect(message).toContain('Promotion refused: this release was rolled back');
    expect(message).toContain(s3Url(runKey(R2, 'rollback.json')));
    expect(await read(STATE_KEY)).toBe(state);
  });

  test('the eval report and data validation disagree on an eval set md5: refused, nothing written', async () => {
    await gatesPassed(R1, { validatedMd5s: { golden_set: 'ffffffffffffffffffffffffffffffff' } });
    await canaryPassed(R1);

    const message = failureOf(await invoke(R1, 0));

    expect(message).toBe(
      `Promotion refused: the eval report (${s3Url(runKey(R1, 'eval_report.json'))}) and the data-validation ` +
        `record (${s3Url(runKey(R1, 'data-validation.json'))}) of this run disagree on the eval set data, so the ` +
        'model may have been evaluated on data that was not validated: golden_set: the eval report says ' +
        `dataset_md5 ${GOLDEN_MD5}, data validation verified ffffffffffffffffffffffffffffffff. ${NOT_PROMOTED} ` +
        'Find why the evaluation read other data than data validation (a .dvc pin changed between the stages?), ' +
        'then release again.',
    );
    expect(await read(recordKey(R1))).toBeUndefined();
    expect(await read(STATE_KEY)).toBeUndefined();
    expect(await read(BASELINE_KEY)).toBeUndefined();
  });

  // -------------------------------------------------------------------------------------------
  // Failures part-way
  // -------------------------------------------------------------------------------------------

  test('a standby refresh that SageMaker rolls back fails the stage and writes nothing', async () => {
    await released(R1, 0);
    await released(R2, 60);
    await gatesPassed(R3);
    await canaryPassed(R3);
    const stateBefore = await read(STATE_KEY);
    onUpdate = async () => {
      standbyOverride = {
        $metadata: {},
        EndpointName: STANDBY,
        EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${STANDBY}`,
        EndpointConfigName: R2.standbyConfig,
        EndpointStatus: 'InService',
        FailureReason: 'Unable to provision requested ML compute capacity.',
        CreationTime: at(60),
        LastModifiedTime: at(125),
      };
    };
    const first = await invoke(R3, 120);
    expect(first.continuationToken).toBeDefined();

    const message = failureOf(await invoke(R3, 125, first.continuationToken));

    expect(message).toBe(
      'Standby refresh failed (FailureReason: Unable to provision requested ML compute capacity.): the candidate ' +
        `serves on the live endpoint "${LIVE}"; the baseline was NOT updated and no release record or serving ` +
        `state was written; the standby endpoint "${STANDBY}" still holds config "${R2.standbyConfig}", not ` +
        `"${R3.standbyConfig}". Retry the stage: it updates the standby again.`,
    );
    expect(await read(BASELINE_KEY)).toBe(reportText(R2));
    expect(await versions(BASELINE_KEY)).toBe(2);
    expect(await read(STATE_KEY)).toBe(stateBefore);
    expect(await read(recordKey(R3))).toBeUndefined();

    // The retried stage updates again, and this time SageMaker finishes.
    onUpdate = async (input) => {
      standbyOverride = undefined;
      await applyUpdate(input);
    };
    const retry = await invoke(R3, 200);
    expect(retry.continuationToken).toBeDefined();
    const done = await invoke(R3, 205, retry.continuationToken);
    expect(done.executionDetails?.summary).toMatch(/^Promoted 9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807 /);
    expect(sagemaker.commandCalls(UpdateEndpointCommand)).toHaveLength(2);
  });

  test('a standby that failed to be created fails the stage and says to delete it before retrying', async () => {
    await released(R1, 0);
    await gatesPassed(R2);
    await canaryPassed(R2);
    const first = await invoke(R2, 60);
    standbyOverride = {
      $metadata: {},
      EndpointName: STANDBY,
      EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${STANDBY}`,
      EndpointConfigName: R2.standbyConfig,
      EndpointStatus: 'Failed',
      FailureReason: 'The account-level service limit for ml.g4dn.xlarge for endpoint usage is 2 Instances.',
      CreationTime: at(60),
      LastModifiedTime: at(70),
    };

    const message = failureOf(await invoke(R2, 70, first.continuationToken));

    expect(message).toBe(
      'Standby refresh failed (FailureReason: The account-level service limit for ml.g4dn.xlarge for endpoint usage ' +
        `is 2 Instances.): the candidate serves on the live endpoint "${LIVE}"; the baseline was NOT updated and no ` +
        `release record or serving state was written; the standby endpoint "${STANDBY}" is Failed (config ` +
        `"${R2.standbyConfig}") and serves nothing. Fix the cause the FailureReason names (often the instance ` +
        `quota), delete the Failed endpoint (aws sagemaker delete-endpoint --endpoint-name ${STANDBY}), then retry ` +
        'the stage: it creates the standby again.',
    );
    expect(await read(BASELINE_KEY)).toBe(reportText(R1));
    expect(await read(recordKey(R2))).toBeUndefined();
  });

  test('the baseline write fails after the record and the state: the message says so, and a retry completes it', async () => {
    await gatesPassed(R1);
    await canaryPassed(R1);
    // The handler's S3 client: moto, except that the baseline cannot be written.
    const failingS3 = new S3Client({ region: 'eu-west-1' });
    mockClient(failingS3)
      .on(GetObjectCommand)
      .callsFake((input) => s3.send(new GetObjectCommand(input)))
      .on(PutObjectCommand)
      .callsFake((input: PutObjectCommandInput) =>
        input.Key === BASELINE_KEY
          ? Promise.reject(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }))
          : s3.send(new PutObjectCommand(input)),
      );

    const message = failureOf(await invoke(R1, 0, undefined, { ...deps, s3: failingS3 }));

    expect(message).toBe(
      `Promotion incomplete: cannot write the baseline to ${s3Url(BASELINE_KEY)}: AccessDenied: Access Denied; ` +
        "check that the bucket exists and the function's role may write to it and use its KMS key. Done: the " +
        `release record (${s3Url(recordKey(R1))}), the serving state (${s3Url(STATE_KEY)}); not done: the ` +
        `baseline (${s3Url(BASELINE_KEY)}). The candidate serves on the live endpoint "${LIVE}". Retrying the ` +
        'stage completes the promotion: it keeps what is done and writes the rest with the same content.',
    );
    const recordBefore = await read(recordKey(R1));
    const stateBefore = await read(STATE_KEY);
    expect(await read(BASELINE_KEY)).toBeUndefined();

    const retry = await invoke(R1, 30);

    expect(retry.executionDetails).toEqual({
      summary: successSummary(R1, 'Standby now serves nothing (first release).', {
        record: true,
        state: true,
      }),
    });
    expect(await read(BASELINE_KEY)).toBe(reportText(R1));
    expect(await read(recordKey(R1))).toBe(recordBefore);
    expect(await read(STATE_KEY)).toBe(stateBefore);
    expect([await versions(recordKey(R1)), await versions(STATE_KEY), await versions(BASELINE_KEY)]).toEqual([
      1, 1, 1,
    ]);
    // The first attempt's time stays the promotion time.
    expect(await releaseRecordOf(R1)).toMatchObject({ promotedAt: '2026-11-05T10:00:00.000Z' });
  });

  describe("the promoted model's per-example results are kept with the baseline", () => {
    const PREDICTIONS = 'predictions/golden_set.jsonl';
    const kept = (r: Release) => `models/${MODEL}/baseline/predictions/${r.exec}/golden_set.jsonl`;
    const lines = (r: Release) =>
      `{"id": "g-1", "label": "billing", "predicted": "billing", "confidence": 0.9, "latency_ms": 40, "note": "${r.commit}"}\n`;

    /** The run's report names a predictions file, and the regression gate kept its copy beside the report. */
    async function withPredictions(r: Release, keptByGate = true): Promise<Record<string, any>> {
      const report = JSON.parse(reportText(r));
      report.schema_version = 2;
      report.eval_sets.golden_set.predictions_file = PREDICTIONS;
      await put(runKey(r, 'eval_report.json'), `${JSON.stringify(report, null, 2)}\n`);
      if (keptByGate) await put(runKey(r, PREDICTIONS), lines(r));
      return report;
    }

    test('copied to a folder of this release before the baseline report, which names the copy; a retry writes nothing twice', async () => {
      await gatesPassed(R1);
      const report = await withPredictions(R1);
      await canaryPassed(R1);

      const first = await invoke(R1, 0);

      expect(first.executionDetails?.summary).toContain(
        `Kept with it: the golden_set predictions file ${s3Url(kept(R1))}.`,
      );
      expect(await read(kept(R1))).toBe(lines(R1));
      const baseline = JSON.parse((await read(BASELINE_KEY))!);
      expect(baseline.eval_sets.golden_set.predictions_file).toBe(`predictions/${R1.exec}/golden_set.jsonl`);
      // Only the path differs from the promoted report; the release record keeps the report as evaluated.
      expect({
        ...baseline,
        eval_sets: {
          ...baseline.eval_sets,
          golden_set: { ...baseline.eval_sets.golden_set, predictions_file: PREDICTIONS },
        },
      }).toEqual(report);
      expect(await releaseRecordOf(R1)).toMatchObject({ evalReport: report });

      const retry = await invoke(R1, 5);
      expect(retry.executionDetails?.summary).toContain(
        `Kept with it: the golden_set predictions file ${s3Url(kept(R1))} (already written by an earlier attempt).`,
      );
      expect([await versions(kept(R1)), await versions(BASELINE_KEY)]).toEqual([1, 1]);
    });

    test('the baseline report cannot be written: the copy is there and the old baseline still names its own files', async () => {
      await gatesPassed(R1);
      await withPredictions(R1);
      await canaryPassed(R1);
      const failingS3 = new S3Client({ region: 'eu-west-1' });
      mockClient(failingS3)
        .on(GetObjectCommand)
        .callsFake((input) => s3.send(new GetObjectCommand(input)))
        .on(PutObjectCommand)
        .callsFake((input: PutObjectCommandInput) =>
          input.Key === BASELINE_KEY
            ? Promise.reject(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }))
            : s3.send(new PutObjectCommand(input)),
        );

      const message = failureOf(await invoke(R1, 0, undefined, { ...deps, s3: failingS3 }));

      expect(message).toContain(
        `Done: the release record (${s3Url(recordKey(R1))}), the serving state (${s3Url(STATE_KEY)}), the ` +
          `golden_set predictions file (${s3Url(kept(R1))}); not done: the baseline (${s3Url(BASELINE_KEY)}).`,
      );
      expect(await read(kept(R1))).toBe(lines(R1));
      expect(await read(BASELINE_KEY)).toBeUndefined();
    });

    test("the gate's copy is missing: refused before anything is written", async () => {
      await gatesPassed(R1);
      await withPredictions(R1, false);
      await canaryPassed(R1);

      const message = failureOf(await invoke(R1, 0));

      expect(message).toBe(
        `${s3Url(runKey(R1, PREDICTIONS))} does not exist: the regression gate of this run kept no copy of the ` +
          'golden_set predictions file its report names, so the baseline could not be compared example by example. ' +
          `${NOT_PROMOTED} Re-run the release from its RegressionGate stage.`,
      );
      expect([await read(recordKey(R1)), await read(BASELINE_KEY), await read(kept(R1))]).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
    });
  });

  test('a corrupt continuation token fails the stage and says to retry it', async () => {
    await released(R1, 0);
    await gatesPassed(R2);
    await canaryPassed(R2);

    const message = failureOf(await invoke(R2, 60, 'promotion.!!!'));

    expect(message).toBe(
      'PromotionTokenError: promotion continuation token "promotion.!!!" is corrupt (not base64url-encoded ' +
        'JSON). Retry the stage.',
    );
    expect(await standbyEndpoint()).toBeUndefined();
    expect(await read(recordKey(R2))).toBeUndefined();
    expect(await read(BASELINE_KEY)).toBe(reportText(R1));
  });

  test('a token that waits for another standby config fails the stage', async () => {
    await released(R1, 0);
    await gatesPassed(R2);
    await canaryPassed(R2);
    const token = encodePromotionToken({
      standbyEndpoint: STANDBY,
      standbyConfigName: R3.standbyConfig,
      startedAtMs: at(50).getTime(),
      polls: 1,
    });

    const message = failureOf(await invoke(R2, 60, token));

    expect(message).toBe(
      `the continuation token waits for config "${R3.standbyConfig}" on endpoint "${STANDBY}", but this run puts ` +
        `"${R2.standbyConfig}" on "${STANDBY}"; the function's settings changed mid-run. Retry the stage.`,
    );
    expect(await standbyEndpoint()).toBeUndefined();
  });

  test('the names spelt out in these tests are the ones the platform derives', () => {
    for (const r of [R1, R2, R3]) {
      const names = releaseNames(PREFIX, r.exec);
      expect([names.model, names.liveConfig, names.standbyConfig]).toEqual([
        r.model,
        r.liveConfig,
        r.standbyConfig,
      ]);
    }
  });
});

describe('standbyStep', () => {
  const target = {
    model: MODEL,
    standbyEndpoint: STANDBY,
    standbyConfigName: R2.standbyConfig,
    liveEndpoint: LIVE,
  };
  const unchanged =
    `the candidate serves on the live endpoint "${LIVE}"; the baseline was NOT updated and no release record or ` +
    'serving state was written';

  test('creates an absent standby, updates one on another config, and is ready on the target config', () => {
    expect(standbyStep(target, undefined, undefined)).toEqual({ kind: 'create' });
    expect(
      standbyStep(target, { EndpointStatus: 'InService', EndpointConfigName: R1.standbyConfig }, undefined),
    ).toEqual({ kind: 'update', from: R1.standbyConfig });
    expect(
      standbyStep(target, { EndpointStatus: 'InService', EndpointConfigName: R2.standbyConfig }, 0),
    ).toEqual({
      kind: 'ready',
    });
    expect(
      standbyStep(target, { EndpointStatus: 'InService', EndpointConfigName: R2.standbyConfig }, undefined),
    ).toEqual({ kind: 'ready' });
  });

  test('waits on transitional states, also when another invocation started them', () => {
    for (const status of ['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']) {
      expect(standbyStep(target, { EndpointStatus: status, EndpointConfigName: 'c' }, undefined)).toEqual({
        kind: 'wait',
        reason: `the standby endpoint "${STANDBY}" is ${status} (config "c"); waited 0 s of 1 h`,
      });
    }
  });

  test('gives up after the timeout, saying SageMaker may still finish', () => {
    const d = { EndpointStatus: 'Creating', EndpointConfigName: R2.standbyConfig };
    expect(standbyStep(target, d, STANDBY_REFRESH_TIMEOUT_SECONDS).kind).toBe('wait');
    expect(standbyStep(target, d, STANDBY_REFRESH_TIMEOUT_SECONDS + 300)).toEqual({
      kind: 'fail',
      message:
        `Standby refresh timed out after 1 h 5 min (limit 1 h): the standby endpoint "${STANDBY}" is Creating ` +
        `(config "${R2.standbyConfig}"); ${unchanged}. SageMaker may still finish: retry the stage once ` +
        `DescribeEndpoint shows "${STANDBY}" InService.`,
    });
  });

  test('an update and its rollback that both failed need an operator', () => {
    expect(
      standbyStep(
        target,
        { EndpointStatus: 'UpdateRollbackFailed', EndpointConfigName: 'c', FailureReason: 'x' },
        10,
      ),
    ).toEqual({
      kind: 'fail',
      message:
        `Standby refresh failed and needs an operator: both the update of the standby endpoint "${STANDBY}" and ` +
        `SageMaker's rollback failed (FailureReason: x), so it may serve a mix of models; ${unchanged}. Check ` +
        'DescribeEndpoint of the standby; unless a rollback sends traffic to it, delete it and retry the stage.',
    });
  });

  test('a status promotion does not know is not acted on', () => {
    expect(
      standbyStep(target, { EndpointStatus: 'OutOfService', EndpointConfigName: 'c' }, undefined),
    ).toEqual({
      kind: 'fail',
      message:
        `Standby refresh failed: the standby endpoint "${STANDBY}" has status "OutOfService" (config "c"), which ` +
        `promotion cannot act on; ${unchanged}. Check whether someone changed the endpoint by hand; once it is ` +
        'InService or deleted, retry the stage.',
    });
  });
});
