/**
 * Benchmark of the rollback's own latency: from the alarm event to "N-1 serving" (the flag's
 * deployment accepted by AppConfig; routers follow within their cache period) and to "live endpoint
 * update started" (UpdateEndpoint accepted).
 *
 *   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true npx tsx bench/rollback-latency.ts [--runs N] [--warmup N]
 *
 * The whole handler runs, with the real SDK clients, against a moto server this script starts on a
 * loopback port: S3 (serving state, records), DynamoDB (ledger), SNS (page), CloudWatch (metric),
 * SageMaker (DescribeEndpoint), AppConfig (hosted versions: Create / Get). moto lacks some calls;
 * they are answered in-process by a middleware on the client, at once, and the output says which:
 * AppConfig ListHostedConfigurationVersions, StartDeployment, ListDeployments, StopDeployment, and
 * SageMaker UpdateEndpoint. So the figures are the handler's work and its round trips to a local
 * emulator (~1 ms each), not AWS's latency: multiply the sequential calls printed by your region's
 * control-plane latency for a real estimate. Each run rolls back a new release (a fresh execution
 * id in the serving state), so every run claims, deploys and updates.
 * Prints figures only.
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { cpus, loadavg } from 'node:os';
import {
  AppConfigClient,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateHostedConfigurationVersionCommand,
} from '@aws-sdk/client-appconfig';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { confidenceAlarmDefinition, DISARMED_BAND } from '../lambdas/core/monitoring/confidence-alarm';
import type { ServingState } from '../lambdas/core/serving/serving-records';
import { createHandler, type Deps, type RollbackEnvInput } from '../lambdas/rollback';
import { logger } from '../lambdas/shared/logger';
import { startMoto } from '../test/helpers/moto';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`--${name} must be a whole number >= 0, got ${process.argv[index + 1]}`);
  }
  return value;
}

const RUNS = Math.max(1, option('runs', 50));
const WARMUP = option('warmup', 3);
const MODEL = 'document-classifier';
const PREFIX = `mlops-${MODEL}`;
const LIVE = `${PREFIX}-live`;
const STANDBY = `${PREFIX}-standby`;
const BUCKET = 'mlops-artifacts';
const TABLE = 'mlops-rollbacks';

/** One SDK call as the handler made it. */
interface Call {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly stubbed: boolean;
}

/** What the in-process stubs answer, and the timeline of one run. */
class Recorder {
  calls: Call[] = [];
  flagAt: number | undefined;
  endpointAt: number | undefined;
  readonly versions: number[] = [];
  deployments = 0;
  readonly stubbedNames = new Set<string>();

  /** Times every call of `client`, and answers `stubs` in-process (moto lacks them). */
  instrument(
    service: string,
    client: { middlewareStack: { add: (...args: never[]) => void } },
    stubs: Record<string, () => unknown>,
  ): void {
    const middleware =
      (
        next: (args: unknown) => Promise<{ output: Record<string, unknown> }>,
        context: { commandName?: string },
      ) =>
      async (args: unknown) => {
        const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const name = `${service}.${command}`;
        const start = performance.now();
        const stub = stubs[command];
        if (stub) {
          this.stubbedNames.add(name);
          const output = { ...(stub() as Record<string, unknown>), $metadata: {} };
          this.record(name, start, true);
          return { output, response: {} };
        }
        const result = await next(args);
        if (name === 'AppConfig.CreateHostedConfigurationVersion') {
          this.versions.push(result.output.VersionNumber as number);
        }
        this.record(name, start, false);
        return result;
      };
    (client.middlewareStack.add as (m: unknown, o: unknown) => void)(middleware, {
      step: 'initialize',
      name: 'benchRecorder',
    });
  }

  private record(name: string, start: number, stubbed: boolean): void {
    const end = performance.now();
    this.calls.push({ name, start, end, stubbed });
    if (name === 'AppConfig.StartDeployment') this.flagAt = end;
    if (name === 'SageMaker.UpdateEndpoint') this.endpointAt = end;
  }
}

function stats(values: number[]): { p50: number; p95: number; max: number; mean: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return {
    p50: at(0.5),
    p95: at(0.95),
    max: sorted.at(-1)!,
    mean: values.reduce((a, b) => a + b, 0) / values.length,
  };
}

async function main(): Promise<void> {
  logger.setLogLevel('SILENT');
  const moto = await startMoto();
  try {
    const config = moto.clientConfig;
    const recorder = new Recorder();

    // ---- What two releases leave behind ---------------------------------------------------------
    const s3 = new S3Client(config);
    await s3.send(
      new CreateBucketCommand({
        Bucket: BUCKET,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    const ddb = new DynamoDBClient(config);
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
    // The confidence alarm the rollback re-baselines for N-1 (as deployed: disarmed).
    const alarm = confidenceAlarmDefinition(
      { stdDevs: 2, breachingPeriods: 5, minRequests: 10, periodSeconds: 60 },
      DISARMED_BAND,
    );
    const routerStat = (id: string, metricName: string, stat: string) => ({
      Id: id,
      ReturnData: false,
      MetricStat: {
        Metric: { Namespace: 'MLPlatform/Router', MetricName: metricName },
        Period: 60,
        Stat: stat,
      },
    });
    await new CloudWatchClient(config).send(
      new PutMetricAlarmCommand({
        AlarmName: `${PREFIX}-live-confidence`,
        EvaluationPeriods: alarm.evaluationPeriods,
        DatapointsToAlarm: alarm.datapointsToAlarm,
        Threshold: alarm.threshold,
        ComparisonOperator: alarm.comparisonOperator,
        TreatMissingData: alarm.treatMissingData,
        Metrics: [
          routerStat('n', 'Confidence', 'SampleCount'),
          routerStat('s', 'Confidence', 'Sum'),
          routerStat('q', 'ConfidenceSquared', 'Sum'),
          ...alarm.expressions.map((e) => ({ Id: e.id, Expression: e.expression, ReturnData: e.returnData })),
        ],
      }),
    );
    const sns = new SNSClient(config);
    const topic = await sns.send(new CreateTopicCommand({ Name: 'mlops-paging' }));
    const sagemaker = new SageMakerClient(config);
    for (const [model, config_, variant] of [
      [`${PREFIX}-n`, `${PREFIX}-n-live`, 'live'],
      [`${PREFIX}-n1`, `${PREFIX}-n1-live`, 'live'],
      [`${PREFIX}-n1`, `${PREFIX}-n1-standby`, 'standby'],
    ] as const) {
      await sagemaker
        .send(
          new CreateModelCommand({
            ModelName: model,
            ExecutionRoleArn: 'arn:aws:iam::123456789012:role/sagemaker',
            PrimaryContainer: { Image: 'inference:1', ModelDataUrl: `s3://${BUCKET}/${model}/model.tar.gz` },
          }),
        )
        .catch(() => undefined); // the N-1 model serves two configs
      await sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: config_,
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
    await sagemaker.send(
      new CreateEndpointCommand({ EndpointName: LIVE, EndpointConfigName: `${PREFIX}-n-live` }),
    );
    await sagemaker.send(
      new CreateEndpointCommand({ EndpointName: STANDBY, EndpointConfigName: `${PREFIX}-n1-standby` }),
    );
    const appconfigSetup = new AppConfigClient(config);
    const app = await appconfigSetup.send(new CreateApplicationCommand({ Name: PREFIX }));
    const profile = await appconfigSetup.send(
      new CreateConfigurationProfileCommand({
        ApplicationId: app.Id,
        Name: 'model-version',
        LocationUri: 'hosted',
      }),
    );

    const env: Required<Omit<RollbackEnvInput, `POWERTOOLS_${string}`>> = {
      MODEL_NAME: MODEL,
      ARTIFACTS_BUCKET: BUCKET,
      ROLLBACK_TABLE: TABLE,
      PAGING_TOPIC_ARN: topic.TopicArn!,
      LIVE_ENDPOINT: LIVE,
      STANDBY_ENDPOINT: STANDBY,
      APPCONFIG_APPLICATION_ID: app.Id!,
      APPCONFIG_ENVIRONMENT_ID: 'env0001',
      APPCONFIG_PROFILE_ID: profile.Id!,
      APPCONFIG_STRATEGY_ID: 'strat01',
      EXPERIMENT: 'document-classifier-2026-11',
      AUTOSCALING_MIN_INSTANCES: '2',
      AUTOSCALING_MAX_INSTANCES: '8',
      AUTOSCALING_TARGET_INVOCATIONS: '700',
      CONFIDENCE_ALARM_NAME: `${PREFIX}-live-confidence`,
      CONFIDENCE_ROLLBACK_ACTION_ARN: `arn:aws:lambda:eu-west-1:123456789012:function:${PREFIX}-rollback`,
      CONFIDENCE_PROVISIONAL_STD_DEV: '0.05',
      ROLLBACK_REQUESTED_ALARM_NAME: `${PREFIX}-live-rollback-requested`,
    };
    Object.assign(process.env, env);

    // ---- The handler's clients, instrumented ------------------------------------------------------
    const deps: Deps = {
      s3: new S3Client(config),
      dynamodb: new DynamoDBClient(config),
      sns: new SNSClient(config),
      sagemaker: new SageMakerClient(config),
      cloudwatch: new CloudWatchClient(config),
      appconfig: new AppConfigClient(config),
      autoscaling: new ApplicationAutoScalingClient(config),
      now: () => new Date(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    };
    recorder.instrument('S3', deps.s3, {});
    recorder.instrument('DynamoDB', deps.dynamodb, {});
    recorder.instrument('SNS', deps.sns, {});
    recorder.instrument('CloudWatch', deps.cloudwatch, {});
    recorder.instrument('SageMaker', deps.sagemaker, {
      UpdateEndpoint: () => ({ EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${LIVE}` }),
    });
    recorder.instrument('AppConfig', deps.appconfig, {
      ListHostedConfigurationVersions: () => ({
        Items: recorder.versions.map((v) => ({ VersionNumber: v })),
      }),
      StartDeployment: () => ({ DeploymentNumber: ++recorder.deployments }),
      ListDeployments: () => ({ Items: [] }),
      StopDeployment: () => ({}),
    });
    const handler = createHandler(deps);
    const context = { getRemainingTimeInMillis: () => 900_000 } as unknown as Context;

    const toFlag: number[] = [];
    const toEndpoint: number[] = [];
    const total: number[] = [];
    const recorded: number[] = [];
    let lastCalls: Call[] = [];
    let lastStart = 0;
    for (let run = 0; run < WARMUP + RUNS; run++) {
      const state: ServingState = {
        schemaVersion: 1,
        model: MODEL,
        live: {
          endpointName: LIVE,
          configName: `${PREFIX}-n-live`,
          modelName: `${PREFIX}-n`,
          modelVersion: '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483',
          executionId: `release-${run}`,
        },
        standby: {
          endpointName: STANDBY,
          configName: `${PREFIX}-n1-standby`,
          modelName: `${PREFIX}-n1`,
          modelVersion: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
          executionId: `release-${run}-previous`,
          liveConfigName: `${PREFIX}-n1-live`,
        },
        updatedAt: new Date().toISOString(),
        updatedBy: 'promotion',
      };
      await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `models/${MODEL}/serving/state.json`,
          Body: JSON.stringify(state),
        }),
      );
      // The flag as a release leaves it (N stable, a candidate under test), written as the pipeline would.
      const released = await appconfigSetup.send(
        new CreateHostedConfigurationVersionCommand({
          ApplicationId: app.Id,
          ConfigurationProfileId: profile.Id,
          ContentType: 'application/json',
          Content: new TextEncoder().encode(
            JSON.stringify({
              schemaVersion: 1,
              model: MODEL,
              experiment: 'document-classifier-2026-11',
              stable: { modelVersion: state.live.modelVersion, endpoint: 'live' },
              candidate: {
                modelVersion: '4f1c2e9a0b1c2d3e4f5061728394a5b6c7d8e9f0',
                endpoint: 'live',
                percent: 12.5,
              },
              killSwitch: false,
              updatedBy: 'release-pipeline',
              updatedAt: new Date().toISOString(),
            }),
          ),
        }),
      );
      recorder.versions.push(released.VersionNumber!);
      recorder.calls = [];
      recorder.flagAt = undefined;
      recorder.endpointAt = undefined;
      const event = {
        source: 'aws.cloudwatch',
        alarmData: {
          alarmName: `${PREFIX}-confidence`,
          state: { value: 'ALARM', reason: 'bench', timestamp: new Date().toISOString() },
        },
      };
      const start = performance.now();
      const result = await handler(event, context);
      const end = performance.now();
      if (result.status !== 'done' || recorder.flagAt === undefined || recorder.endpointAt === undefined) {
        throw new Error(`run ${run}: expected a done rollback, got ${result.status}: ${result.message}`);
      }
      if (run < WARMUP) continue;
      toFlag.push(recorder.flagAt - start);
      toEndpoint.push(recorder.endpointAt - start);
      total.push(end - start);
      recorded.push(result.record.durations.triggerToFlagSeconds! * 1000);
      lastCalls = recorder.calls;
      lastStart = start;
    }

    const row = (label: string, values: number[]) => {
      const s = stats(values);
      console.log(
        `${label.padEnd(52)} ${s.p50.toFixed(1).padStart(7)} ${s.p95.toFixed(1).padStart(7)} ${s.max.toFixed(1).padStart(7)} ${s.mean.toFixed(1).padStart(7)}`,
      );
    };
    console.log(
      `rollback latency against moto on loopback: ${RUNS} runs after ${WARMUP} warm-up, node ${process.version}, ` +
        `${cpus().length} CPU, load ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
    console.log(`answered in-process (moto lacks them): ${[...recorder.stubbedNames].sort().join(', ')}`);
    console.log('');
    console.log(
      `${'ms'.padEnd(52)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'max'.padStart(7)} ${'mean'.padStart(7)}`,
    );
    row('event -> N-1 serving (flag deployment started)', toFlag);
    row('event -> live endpoint update started', toEndpoint);
    row('event -> handler returned (records, metric, page)', total);
    row("record's triggerToFlagSeconds (ms, Date clock)", recorded);
    console.log('');
    const beforeFlag = lastCalls.filter((c) => c.end <= recorder.flagAt!);
    console.log(`SDK calls up to the flag deployment (last run, ms from the event): ${beforeFlag.length}`);
    for (const c of lastCalls) {
      const mark = c.end <= recorder.flagAt! ? '*' : ' ';
      console.log(
        `  ${mark} ${(c.start - lastStart).toFixed(1).padStart(6)} - ${(c.end - lastStart).toFixed(1).padStart(6)}  ${c.name}${c.stubbed ? ' (in-process)' : ''}`,
      );
    }
    console.log('  * on the way to "N-1 serving"; overlapping times ran in parallel');
  } finally {
    await moto.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
