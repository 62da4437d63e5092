import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  type MetricDatum,
} from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler, type Deps } from '../../lambdas/confidence-baseline';
import {
  bandOfZExpression,
  confidenceAlarmDefinition,
  DISARMED_BAND,
  estimateBaseline,
  provisionalBand,
  type PeriodAggregate,
} from '../../lambdas/core/monitoring/confidence-alarm';
import {
  confidenceBaselineKey,
  confidenceBaselineRecordSchema,
  type ConfidenceBaselineRecord,
} from '../../lambdas/core/monitoring/confidence-baseline';
import type { ServingState } from '../../lambdas/core/serving/serving-records';
import { rebaselineConfidenceAlarm, writeConfidenceBaseline } from '../../lambdas/shared/confidence-alarm';
import { logger } from '../../lambdas/shared/logger';
import { releaseSettings } from '../../lambdas/core/contracts/release-settings';
import { shippedConfig } from '../helpers/config-fixture';
import { putConfidenceAlarm } from '../helpers/confidence-alarm';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const ALARM = 'mlops-document-classifier-live-confidence';
const BUCKET = 'artifacts';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ROLLBACK = 'arn:aws:lambda:eu-west-1:123456789012:function:mlops-document-classifier-rollback';
const PAGE = 'arn:aws:sns:eu-west-1:123456789012:mlops-paging';
const SETTINGS = { stdDevs: 2, breachingPeriods: 5, minRequests: 10, periodSeconds: 60 };
const STATE_KEY = `models/${MODEL}/serving/state.json`;
/** v2 is promoted at 10:00:30; its 6-hour window is 10:01 to 16:01. */
const PROMOTED = new Date('2026-11-27T10:00:30.000Z');
const MINUTE = 60_000;
const after = (minutes: number) => new Date(PROMOTED.getTime() + minutes * MINUTE);

function servingState(modelVersion: string, updatedAt: Date): ServingState {
  return {
    schemaVersion: 1,
    model: MODEL,
    live: {
      endpointName: 'mlops-document-classifier-live',
      configName: `mlops-document-classifier-${modelVersion}-live`,
      modelName: `mlops-document-classifier-${modelVersion}`,
      modelVersion,
      executionId: `${modelVersion}-exec`,
    },
    standby: null,
    updatedAt: updatedAt.toISOString(),
    updatedBy: 'promotion',
  };
}

/** Per-minute aggregates of `n` requests whose confidence has mean `mean` and sd 0.12, with a wandering mean. */
function minutes(count: number, n: number, mean: number): PeriodAggregate[] {
  return Array.from({ length: count }, (_, i) => {
    const m = mean + 0.01 * Math.sin(i / 7);
    const s = n * m;
    return { n, s, q: n * (0.12 ** 2 + m * m) };
  });
}

describe('confidence baseline job (moto)', () => {
  const moto = useMoto();
  let s3: S3Client;
  let cloudwatch: CloudWatchClient;
  let ssm: SSMClient;
  let parameters = 0;
  /** What DescribeEndpoint says of the live endpoint (moto cannot run a blue/green update). */
  const sagemaker = new SageMakerClient({ region: 'eu-west-1' });
  const liveEndpoint = mockClient(sagemaker);
  let live: { EndpointStatus: string; EndpointConfigName: string } | undefined;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    s3 = new S3Client(moto.clientConfig);
    cloudwatch = new CloudWatchClient(moto.clientConfig);
    ssm = new SSMClient(moto.clientConfig);
  });

  beforeEach(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const config = shippedConfig();
    const shipped = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === MODEL)!,
    );
    // One-minute periods, as the alarm below (SETTINGS) and the figures these tests expect; the job
    // reads whatever period the settings name (the shipped 120 s groups the same minutes in pairs).
    const settings = {
      ...shipped,
      monitoring: {
        ...shipped.monitoring,
        confidenceAlarm: { ...shipped.monitoring.confidenceAlarm, periodSeconds: 60 },
      },
    };
    expect(settings.monitoring.confidenceAlarm).toMatchObject({
      baselineHours: 6,
      minRequestsPerPeriod: 10,
      provisionalStdDev: 0.05,
    });
    // The handler caches settings per parameter name: a new name per test.
    parameters += 1;
    const name = `${PARAMETER}-${parameters}`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: JSON.stringify(settings) }));
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      RELEASE_SETTINGS_PARAMETER: name,
      ARTIFACTS_BUCKET: BUCKET,
      CONFIDENCE_ALARM_NAME: ALARM,
      CONFIDENCE_ROLLBACK_ACTION_ARN: ROLLBACK,
      LIVE_ENDPOINT: 'mlops-document-classifier-live',
    });
    live = undefined;
    liveEndpoint.reset();
    liveEndpoint.on(DescribeEndpointCommand).callsFake(() => live);
    await deployAlarm();
  });

  /** The alarm as the stack deploys it: disarmed, with the rollback and page actions. */
  const deployAlarm = () =>
    putConfidenceAlarm(cloudwatch, {
      name: ALARM,
      model: MODEL,
      definition: confidenceAlarmDefinition(SETTINGS, DISARMED_BAND),
      actions: [ROLLBACK, PAGE],
    });

  /** What a promotion of `modelVersion` leaves: the serving state, its record, the provisional alarm. */
  async function promote(modelVersion: string, at: Date, evalMean = 0.84): Promise<void> {
    await putState(servingState(modelVersion, at));
    live = {
      EndpointStatus: 'InService',
      EndpointConfigName: servingState(modelVersion, at).live.configName,
    };
    await rebaselineConfidenceAlarm(
      { cloudwatch, s3 },
      {
        alarmName: ALARM,
        rollbackActionArn: ROLLBACK,
        bucket: BUCKET,
        model: MODEL,
        modelVersion,
        servedSince: at,
        evalMean,
        provisionalStdDev: 0.05,
        by: 'promotion',
      },
    );
  }

  const putState = (state: ServingState) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: STATE_KEY, Body: JSON.stringify(state) }));

  async function readRecord(modelVersion: string): Promise<ConfidenceBaselineRecord> {
    const res = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: confidenceBaselineKey(MODEL, modelVersion) }),
    );
    return confidenceBaselineRecordSchema.parse(JSON.parse(await res.Body!.transformToString()));
  }

  async function alarmNow() {
    const res = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [ALARM] }));
    const a = res.MetricAlarms![0]!;
    return {
      band: bandOfZExpression(a.Metrics!.find((m) => m.Id === 'z')!.Expression!),
      actions: a.AlarmActions,
    };
  }

  /** The router's per-minute Confidence and ConfidenceSquared, as statistic sets, from `start`. */
  async function publish(start: Date, periods: readonly PeriodAggregate[]): Promise<void> {
    const dims = [
      { Name: 'Model', Value: MODEL },
      { Name: 'Variant', Value: 'stable' },
      { Name: 'service', Value: MODEL },
    ];
    const data: MetricDatum[] = periods.flatMap((p, i) => {
      const Timestamp = new Date(start.getTime() + i * MINUTE);
      return [
        {
          MetricName: 'Confidence',
          Dimensions: dims,
          Timestamp,
          StatisticValues: { SampleCount: p.n, Sum: p.s, Minimum: 0, Maximum: 1 },
        },
        {
          MetricName: 'ConfidenceSquared',
          Dimensions: dims,
          Timestamp,
          StatisticValues: { SampleCount: p.n, Sum: p.q, Minimum: 0, Maximum: 1 },
        },
      ];
    });
    // Uncompressed: the SDK gzips bodies over 10 KB, which moto cannot read.
    const publisher = new CloudWatchClient({ ...moto.clientConfig, disableRequestCompression: true });
    for (let i = 0; i < data.length; i += 500) {
      await publisher.send(
        new PutMetricDataCommand({ Namespace: 'MLPlatform/Router', MetricData: data.slice(i, i + 500) }),
      );
    }
  }

  const deps = (now: Date, over: Partial<Deps> = {}): Deps => ({
    ssm,
    s3,
    cloudwatch,
    sagemaker,
    now: () => now,
    ...over,
  });
  const run = (now: Date, over: Partial<Deps> = {}) => createHandler(deps(now, over))({ model: MODEL });

  /** A CloudWatch client that runs `before` once, ahead of the first command of that type. */
  function interceptOnce(commandName: string, before: () => Promise<void>): CloudWatchClient {
    const client = new CloudWatchClient(moto.clientConfig);
    let done = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!done && context.commandName === commandName) {
          done = true;
          await before();
        }
        return next(args);
      },
      { step: 'initialize', name: 'interceptOnce' },
    );
    return client;
  }

  test('before any release it does nothing and says so', async () => {
    const result = await run(after(400));
    expect(result).toMatchObject({ outcome: 'nothing-to-do', modelVersion: null });
    expect(result.summary).toContain('no release has been promoted yet');
    expect((await alarmNow()).band).toEqual(DISARMED_BAND);
  });

  test('during the baseline window the alarm stays provisional, and a cdk deploy that disarmed it is repaired', async () => {
    await promote('v2', PROMOTED);
    await deployAlarm(); // a later `cdk deploy` puts the deployed, disarmed alarm back
    const result = await run(after(120));
    expect(result.outcome).toBe('provisional');
    expect(result.summary).toContain('ends at 2026-11-27T16:01:00.000Z');
    const alarm = await alarmNow();
    expect(alarm.band!.mean).toBe(0.84);
    expect(alarm.band!.periodVariance).toBeCloseTo(provisionalBand(0.84, 0.05).periodVariance, 12);
    expect(alarm.actions).toEqual([PAGE]);
  });

  test('after the window it measures the live baseline from the router metrics, writes it and arms the alarm; a second run changes nothing', async () => {
    await promote('v2', PROMOTED);
    const window = minutes(360, 100, 0.8);
    await publish(after(0.5), window); // 10:01 to 16:00
    const result = await run(after(380));
    expect(result.outcome).toBe('armed');

    const expected = estimateBaseline(window, 10)!;
    const record = await readRecord('v2');
    expect(record.baseline).toMatchObject({
      periods: 360,
      requests: 36_000,
      windowStart: '2026-11-27T10:01:00.000Z',
      windowEnd: '2026-11-27T16:15:00.000Z',
    });
    expect(record.baseline!.mean).toBeCloseTo(expected.mean, 10);
    expect(record.baseline!.periodVariance).toBeCloseTo(expected.periodVariance, 12);
    expect(record).toMatchObject({ evalMean: 0.84, servedSince: PROMOTED.toISOString() });
    const alarm = await alarmNow();
    expect(alarm.band!.mean).toBeCloseTo(expected.mean, 10);
    expect(alarm.actions).toEqual([ROLLBACK, PAGE]);
    expect(result.summary).toContain('from 360 periods and 36000 requests');
    expect(result.summary).toContain('is now armed on v2');

    const again = await run(after(395));
    expect(again.outcome).toBe('already-armed');
    expect(again.summary).toContain('is already armed on v2');
    expect(await readRecord('v2')).toEqual(record);
  });

  /** The canary record a later release's canary stage leaves in its run. */
  async function canaryRecord(modelVersion: string, startMinute: number, endMinute: number, outcome: string) {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `models/${MODEL}/runs/${modelVersion}-exec/canary.json`,
        Body: JSON.stringify({
          schemaVersion: 1,
          model: MODEL,
          executionId: `${modelVersion}-exec`,
          modelVersion,
          endpointName: 'mlops-document-classifier-live',
          candidateModelName: `mlops-document-classifier-${modelVersion}`,
          candidateConfigName: `mlops-document-classifier-${modelVersion}-live`,
          previousConfigName: 'mlops-document-classifier-v2-live',
          outcome,
          detail: 'Canary failed',
          alarmsSeen: [],
          startedAt: after(startMinute).toISOString(),
          finishedAt: after(endMinute).toISOString(),
        }),
      }),
    );
  }

  test("a later release's canary in the window: the window restarts after it, since its candidate's confidences are in the router's metrics", async () => {
    await promote('v2', PROMOTED);
    // v3's canary ran 2 h after v2's promotion and failed; the stage put v2's config back itself,
    // so v3 may have answered up to 30 minutes after the record.
    await canaryRecord('v3', 120, 150, 'failed');
    await publish(after(0.5), [
      ...minutes(120, 100, 0.8),
      ...minutes(60, 100, 0.6),
      ...minutes(540, 100, 0.8),
    ]);
    const early = await run(after(380));
    expect(early.outcome).toBe('provisional');
    expect(early.summary).toContain(
      `the canary of v3 (${after(120).toISOString()} to ${after(180).toISOString()}) mixed its candidate's confidences`,
    );
    expect((await readRecord('v2')).baseline).toBeNull();

    const result = await run(after(180 + 360 + 15));
    expect(result.outcome).toBe('armed');
    const baseline = (await readRecord('v2')).baseline!;
    expect(baseline.windowStart).toBe(after(180.5).toISOString());
    expect(baseline.mean).toBeCloseTo(0.8, 2);
  });

  test('a release updating the live endpoint when the window ends: nothing is measured until it is over', async () => {
    await promote('v2', PROMOTED);
    await publish(after(0.5), minutes(360, 100, 0.8));
    live = { EndpointStatus: 'Updating', EndpointConfigName: 'mlops-document-classifier-v3-live' };
    const result = await run(after(380));
    expect(result.outcome).toBe('provisional');
    expect(result.summary).toContain(
      'the live endpoint is not in service on its config (Updating on config mlops-document-classifier-v3-live)',
    );
    expect((await readRecord('v2')).baseline).toBeNull();
    expect((await alarmNow()).actions).toEqual([PAGE]);
  });

  test('too few busy minutes: the version stays provisional, and the record and the summary say why', async () => {
    await promote('v2', PROMOTED);
    await publish(after(0.5), [...minutes(20, 50, 0.8), ...minutes(300, 3, 0.8)]);
    const result = await run(after(380));
    expect(result.outcome).toBe('too-few-periods');
    expect(result.summary).toContain(
      'v2 stays provisional: 20 of the 30 periods a baseline needs had at least 10 requests',
    );
    const record = await readRecord('v2');
    expect(record.baseline).toBeNull();
    expect(record.lastAttempt).toMatchObject({ usablePeriods: 20, neededPeriods: 30, requests: 1900 });
    expect((await alarmNow()).actions).toEqual([PAGE]);
  });

  test('a rollback while it measures wins: nothing is written and the alarm is left to the rollback', async () => {
    await promote('v1', new Date('2026-11-20T10:00:00.000Z'));
    await writeConfidenceBaseline(s3, BUCKET, {
      ...(await readRecord('v1')),
      baseline: {
        mean: 0.82,
        periodVariance: 0.0004,
        periods: 360,
        requests: 36_000,
        betweenPeriodStdDev: 0.01,
        meanStandardError: 0.001,
        windowStart: '2026-11-20T10:01:00.000Z',
        windowEnd: '2026-11-20T16:01:00.000Z',
      },
    });
    await promote('v2', PROMOTED);
    await publish(after(0.5), minutes(360, 100, 0.8));
    // The rollback to v1 writes the serving state while the job reads the metrics.
    const racing = interceptOnce('GetMetricDataCommand', async () => {
      await putState(servingState('v1', after(370)));
    });
    const result = await run(after(380), { cloudwatch: racing });
    expect(result.outcome).toBe('superseded');
    expect(result.summary).toContain('v1 serves');
    expect((await readRecord('v2')).baseline).toBeNull();
    expect((await readRecord('v2')).lastAttempt).toBeUndefined();
  });

  test('a record rewritten since it was read is not overwritten (S3 conditional write)', async () => {
    await promote('v2', PROMOTED);
    await publish(after(0.5), minutes(360, 100, 0.8));
    const rewritten = {
      ...(await readRecord('v2')),
      updatedBy: 'another run',
      updatedAt: after(379).toISOString(),
    };
    const racing = interceptOnce('GetMetricDataCommand', () =>
      writeConfidenceBaseline(s3, BUCKET, rewritten),
    );
    const result = await run(after(380), { cloudwatch: racing });
    expect(result.outcome).toBe('superseded');
    expect(result.summary).toContain('changed since it was read');
    expect(await readRecord('v2')).toEqual(rewritten);
    expect((await alarmNow()).actions).toEqual([PAGE]);
  });

  test('a rollback whose re-baseline ran just before the arming gets the alarm back on the version it restored', async () => {
    const v1Baseline = {
      mean: 0.82,
      periodVariance: 0.0004,
      periods: 360,
      requests: 36_000,
      betweenPeriodStdDev: 0.01,
      meanStandardError: 0.001,
      windowStart: '2026-11-20T10:01:00.000Z',
      windowEnd: '2026-11-20T16:01:00.000Z',
    };
    await promote('v1', new Date('2026-11-20T10:00:00.000Z'));
    await writeConfidenceBaseline(s3, BUCKET, { ...(await readRecord('v1')), baseline: v1Baseline });
    await promote('v2', PROMOTED);
    await publish(after(0.5), minutes(360, 100, 0.8));
    // Between the job's last state check and its PutMetricAlarm, a rollback to v1 writes the serving
    // state and re-baselines the alarm on v1; the job's PutMetricAlarm then lands last.
    const racing = interceptOnce('PutMetricAlarmCommand', async () => {
      await putState(servingState('v1', after(379)));
      await rebaselineConfidenceAlarm(
        { cloudwatch, s3 },
        {
          alarmName: ALARM,
          rollbackActionArn: ROLLBACK,
          bucket: BUCKET,
          model: MODEL,
          modelVersion: 'v1',
          servedSince: after(379),
          evalMean: null,
          provisionalStdDev: 0.05,
          by: 'rollback',
        },
      );
    });
    const result = await run(after(380), { cloudwatch: racing });
    expect(result.outcome).toBe('armed');
    expect(result.summary).toContain('is now armed on v1');
    const alarm = await alarmNow();
    expect(alarm.band).toEqual({ mean: 0.82, periodVariance: 0.0004 });
    expect(alarm.actions).toEqual([ROLLBACK, PAGE]);
    // v2's own baseline is kept for a later rollback to it.
    expect((await readRecord('v2')).baseline!.periods).toBe(360);
  });

  test('an event for another model fails with the fix', async () => {
    await expect(createHandler(deps(after(10)))({ model: 'other' })).rejects.toThrow(
      /the event names model "other" but this function measures the confidence baseline of "document-classifier"/,
    );
  });
});

describe('confidence baseline job: GetMetricData pages (aws-sdk-client-mock; moto does not page)', () => {
  const moto = useMoto();

  test('every page of every series is read before the estimate', async () => {
    logger.setLogLevel('SILENT');
    const s3 = new S3Client(moto.clientConfig);
    const ssm = new SSMClient(moto.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const config = shippedConfig();
    const settings = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === MODEL)!,
    );
    const name = `${PARAMETER}-pages`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: JSON.stringify(settings) }));
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      RELEASE_SETTINGS_PARAMETER: name,
      ARTIFACTS_BUCKET: BUCKET,
      CONFIDENCE_ALARM_NAME: ALARM,
      CONFIDENCE_ROLLBACK_ACTION_ARN: ROLLBACK,
      LIVE_ENDPOINT: 'mlops-document-classifier-live',
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: STATE_KEY,
        Body: JSON.stringify(servingState('v2', PROMOTED)),
      }),
    );
    const record: ConfidenceBaselineRecord = {
      schemaVersion: 1,
      model: MODEL,
      modelVersion: 'v2',
      servedSince: PROMOTED.toISOString(),
      evalMean: 0.84,
      baseline: null,
      updatedAt: PROMOTED.toISOString(),
      updatedBy: 'promotion',
    };
    await writeConfidenceBaseline(s3, BUCKET, record);

    const cloudwatch = new CloudWatchClient({ region: 'eu-west-1' });
    const mock = mockClient(cloudwatch);
    const definition = confidenceAlarmDefinition(SETTINGS, provisionalBand(0.84, 0.05));
    const stat = (id: string, metricName: string, s: string) => ({
      Id: id,
      ReturnData: false,
      MetricStat: {
        Metric: { Namespace: 'MLPlatform/Router', MetricName: metricName, Dimensions: [] },
        Period: 60,
        Stat: s,
      },
    });
    mock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [
        {
          AlarmName: ALARM,
          AlarmActions: [PAGE],
          EvaluationPeriods: 5,
          DatapointsToAlarm: 5,
          Threshold: definition.threshold,
          ComparisonOperator: definition.comparisonOperator,
          TreatMissingData: definition.treatMissingData,
          Metrics: [
            stat('n', 'Confidence', 'SampleCount'),
            stat('s', 'Confidence', 'Sum'),
            stat('q', 'ConfidenceSquared', 'Sum'),
            ...definition.expressions.map((e) => ({
              Id: e.id,
              Expression: e.expression,
              ReturnData: e.returnData,
            })),
          ],
        },
      ],
    });
    const periods = minutes(360, 100, 0.8);
    const page = (from: number, to: number, token?: string) => {
      const ts = periods.slice(from, to).map((_, i) => new Date(after(0.5).getTime() + (from + i) * MINUTE));
      const series = (id: string, pick: (p: PeriodAggregate) => number) => ({
        Id: id,
        StatusCode: token ? ('PartialData' as const) : ('Complete' as const),
        Timestamps: ts,
        Values: periods.slice(from, to).map(pick),
      });
      return {
        MetricDataResults: [series('n', (p) => p.n), series('s', (p) => p.s), series('q', (p) => p.q)],
        NextToken: token,
      };
    };
    mock
      .on(GetMetricDataCommand, { NextToken: undefined })
      .resolves(page(0, 200, 'page-2'))
      .on(GetMetricDataCommand, { NextToken: 'page-2' })
      .resolves(page(200, 360));
    mock.on(PutMetricAlarmCommand).resolves({});
    const sagemaker = new SageMakerClient({ region: 'eu-west-1' });
    mockClient(sagemaker)
      .on(DescribeEndpointCommand)
      .resolves({ EndpointStatus: 'InService', EndpointConfigName: 'mlops-document-classifier-v2-live' });

    const result = await createHandler({ ssm, s3, cloudwatch, sagemaker, now: () => after(380) })({
      model: MODEL,
    });
    expect(result.outcome).toBe('armed');
    expect(mock.commandCalls(GetMetricDataCommand)).toHaveLength(2);
    const written = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: confidenceBaselineKey(MODEL, 'v2') }),
    );
    const baseline = JSON.parse(await written.Body!.transformToString()).baseline;
    expect(baseline.periods).toBe(360);
    const put = mock.commandCalls(PutMetricAlarmCommand)[0]!.args[0].input;
    expect(put.AlarmActions).toEqual([ROLLBACK, PAGE]);
    expect(bandOfZExpression(put.Metrics!.find((m) => m.Id === 'z')!.Expression!)!.mean).toBeCloseTo(
      estimateBaseline(periods, 10)!.mean,
      10,
    );
  });
});
