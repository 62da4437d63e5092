import { putConfidenceAlarm } from '../helpers/confidence-alarm';
import { CloudWatchClient, DescribeAlarmsCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  bandOfZExpression,
  confidenceAlarmDefinition,
  DISARMED_BAND,
} from '../../lambdas/core/monitoring/confidence-alarm';
import {
  readConfidenceBaseline,
  rebaselineConfidenceAlarm,
  writeConfidenceBaseline,
} from '../../lambdas/shared/confidence-alarm';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const ALARM = 'mlops-document-classifier-live-confidence';
const BUCKET = 'artifacts';
const ROLLBACK = 'arn:aws:lambda:eu-west-1:123456789012:function:mlops-document-classifier-rollback';
const PAGE = 'arn:aws:sns:eu-west-1:123456789012:mlops-paging';
const SETTINGS = { stdDevs: 2, breachingPeriods: 5, minRequests: 10, periodSeconds: 60 };

describe('rebaselineConfidenceAlarm (moto)', () => {
  const moto = useMoto();
  const clients = () => ({
    cloudwatch: new CloudWatchClient(moto.clientConfig),
    s3: new S3Client(moto.clientConfig),
  });

  /** The alarm as the stack deploys it: disarmed, rollback and page actions. */
  async function deployedAlarm(): Promise<void> {
    await putConfidenceAlarm(clients().cloudwatch, {
      name: ALARM,
      model: MODEL,
      definition: confidenceAlarmDefinition(SETTINGS, DISARMED_BAND),
      actions: [ROLLBACK, PAGE],
      description: 'confidence',
    });
  }

  async function alarmNow() {
    const res = await clients().cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [ALARM] }));
    const a = res.MetricAlarms![0]!;
    return {
      band: bandOfZExpression(a.Metrics!.find((m) => m.Id === 'z')!.Expression!),
      actions: a.AlarmActions,
      threshold: a.Threshold,
      metricIds: a.Metrics!.map((m) => m.Id),
    };
  }

  const request = (modelVersion: string, evalMean: number | null = 0.84) => ({
    alarmName: ALARM,
    rollbackActionArn: ROLLBACK,
    bucket: BUCKET,
    model: MODEL,
    modelVersion,
    servedSince: new Date('2026-12-06T10:00:00Z'),
    evalMean,
    provisionalStdDev: 0.05,
    by: 'promotion exec-1',
  });

  beforeEach(async () => {
    await clients().s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await deployedAlarm();
  });

  test('a newly promoted version: provisional band around its eval mean, pages but does not roll back; a retry changes nothing', async () => {
    const said = await rebaselineConfidenceAlarm(clients(), request('v2'));
    expect(said).toBe(
      `the confidence alarm ${ALARM} is now provisional for v2 until its live baseline exists: eval mean 0.84 with sd 0.05, pages without rolling back`,
    );
    expect(await alarmNow()).toEqual({
      band: { mean: 0.84, periodVariance: 0.0025 },
      actions: [PAGE],
      threshold: -2,
      metricIds: ['n', 's', 'q', 'z', 'zgated'],
    });
    const record = await readConfidenceBaseline(clients().s3, BUCKET, MODEL, 'v2');
    expect(record).toMatchObject({
      modelVersion: 'v2',
      servedSince: '2026-12-06T10:00:00.000Z',
      baseline: null,
    });
    expect(await rebaselineConfidenceAlarm(clients(), request('v2'))).toMatch(
      /is already provisional for v2/,
    );
  });

  test('a rollback to a version with a live baseline arms the alarm on it at once, rollback action restored', async () => {
    await rebaselineConfidenceAlarm(clients(), request('v2'));
    await writeConfidenceBaseline(clients().s3, BUCKET, {
      schemaVersion: 1,
      model: MODEL,
      modelVersion: 'v1',
      servedSince: '2026-12-01T10:00:00.000Z',
      evalMean: 0.83,
      baseline: {
        mean: 0.8123,
        periodVariance: 0.000104,
        periods: 360,
        requests: 36_000,
        betweenPeriodStdDev: 0.0101,
        meanStandardError: 0.0008,
        windowStart: '2026-12-01T10:00:00.000Z',
        windowEnd: '2026-12-01T16:00:00.000Z',
      },
      updatedAt: '2026-12-01T16:05:00.000Z',
      updatedBy: 'confidence-baseline job',
    });
    const said = await rebaselineConfidenceAlarm(clients(), { ...request('v1', null), by: 'rollback' });
    expect(said).toMatch(/is now armed on v1's live baseline: mean 0\.8123/);
    expect(await alarmNow()).toMatchObject({
      band: { mean: 0.8123, periodVariance: 0.000104 },
      actions: [ROLLBACK, PAGE],
    });
  });

  test('a version with no record and no eval mean leaves the alarm disarmed, and says so', async () => {
    const said = await rebaselineConfidenceAlarm(clients(), request('v0', null));
    expect(said).toMatch(/disarmed: no eval mean for v0/);
    expect(await alarmNow()).toMatchObject({ band: DISARMED_BAND, actions: [PAGE] });
  });

  async function stateNow() {
    const res = await clients().cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [ALARM] }));
    const a = res.MetricAlarms![0]!;
    return { state: a.StateValue, reason: a.StateReason };
  }

  test('an alarm in ALARM on the old band is evaluated afresh on the new one: its ALARM does not carry over', async () => {
    await rebaselineConfidenceAlarm(clients(), request('v2'));
    await clients().cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: ALARM, StateValue: 'ALARM', StateReason: "v2's mean fell" }),
    );
    const said = await rebaselineConfidenceAlarm(clients(), request('v3', 0.9));
    // PutMetricAlarm leaves an existing alarm's state as it is; an ALARM kept from v2's band would
    // act on no breach of v3's (actions run only on a change of state).
    expect(await stateNow()).toEqual({
      state: 'INSUFFICIENT_DATA',
      reason: expect.stringMatching(/^re-baselined for v3: was in ALARM on the previous band/),
    });
    expect(said).toMatch(/its ALARM on the previous band was cleared/);
  });

  test('a version with the same provisional band as the one before: an ALARM from before it began serving is cleared', async () => {
    await rebaselineConfidenceAlarm(clients(), request('v2'));
    await clients().cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: ALARM, StateValue: 'ALARM', StateReason: "v2's mean fell" }),
    );
    const later = new Date(Date.now() + 60_000);
    const said = await rebaselineConfidenceAlarm(clients(), { ...request('v3'), servedSince: later });
    expect(said).toMatch(/is already provisional for v3 .*its ALARM on the previous band was cleared/);
    expect(await stateNow()).toMatchObject({ state: 'INSUFFICIENT_DATA' });
  });

  test('an alarm in ALARM whose band does not change keeps its state (a re-assert is not a reset)', async () => {
    await rebaselineConfidenceAlarm(clients(), request('v2'));
    await clients().cloudwatch.send(
      new SetAlarmStateCommand({ AlarmName: ALARM, StateValue: 'ALARM', StateReason: "v2's mean fell" }),
    );
    await rebaselineConfidenceAlarm(clients(), request('v2'));
    expect(await stateNow()).toEqual({ state: 'ALARM', reason: "v2's mean fell" });
  });

  test('an alarm that does not exist is an error that says to deploy the stack', async () => {
    await expect(
      rebaselineConfidenceAlarm(clients(), { ...request('v2'), alarmName: 'no-such-alarm' }),
    ).rejects.toThrow(
      'the confidence alarm no-such-alarm does not exist; deploy the model stack, then retry',
    );
  });
});
