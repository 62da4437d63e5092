/**
 * `rebaselineConfidenceAlarm`: points the live confidence alarm at the version that now serves.
 * Promotion and rollback call it (and the baseline job, once the baseline window ends); it is
 * idempotent, so a retried stage changes nothing the second time.
 *
 * It keeps the alarm's metrics, rule and other actions and rewrites only the `z` expression (B
 * and τ²) and whether the rollback function is an alarm action. `PutMetricAlarm` replaces the
 * whole alarm, so every field is copied; an existing alarm's state is left as it is ("If you are
 * updating an existing alarm, its state is left unchanged"):
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
 *
 * An ALARM kept that way is a verdict on the previous band (or on the version served before, which
 * may share a provisional band), and it is sticky: an alarm's actions run only when its state
 * changes, so while it stays in ALARM it neither rolls back nor pages for the version that serves
 * now, and with `TreatMissingData: ignore` quiet periods never take it out. So a re-baseline that
 * finds it in ALARM from before sets it to INSUFFICIENT_DATA, the state CloudWatch gives a new
 * alarm ("the alarm state is immediately set to INSUFFICIENT_DATA. The alarm is then evaluated",
 * same page), and CloudWatch evaluates it again on the new band: "Metric alarms returns to their
 * actual state quickly, often within seconds" (SetAlarmState,
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html). If the
 * new band is breached it goes back to ALARM, and its actions run again, for the version that serves.
 */
import {
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
  type CloudWatchClient,
  type MetricAlarm,
  type PutMetricAlarmCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CONFIDENCE_ALARM_IDS, zExpression } from '../core/monitoring/confidence-alarm';
import {
  confidenceAlarmPlan,
  confidenceBaselineKey,
  confidenceBaselineRecordSchema,
  type ConfidenceBaselineRecord,
} from '../core/monitoring/confidence-baseline';
import { parseServingRecord } from '../core/serving/serving-records';

export interface RebaselineDeps {
  readonly cloudwatch: CloudWatchClient;
  readonly s3: S3Client;
}

export interface RebaselineRequest {
  readonly alarmName: string;
  /** The rollback function's ARN as it appears among the alarm's actions. */
  readonly rollbackActionArn: string;
  readonly bucket: string;
  readonly model: string;
  /** The version that serves now. */
  readonly modelVersion: string;
  /** When it began serving; used only when it has no record yet. */
  readonly servedSince: Date;
  /** Its production-like eval mean confidence, when known; used only when it has no record yet. */
  readonly evalMean: number | null;
  readonly provisionalStdDev: number;
  /** Who asks (for the record). */
  readonly by: string;
}

/** The version's baseline record, or null when it has none. */
export async function readConfidenceBaseline(
  s3: S3Client,
  bucket: string,
  model: string,
  modelVersion: string,
): Promise<ConfidenceBaselineRecord | null> {
  const key = confidenceBaselineKey(model, modelVersion);
  let text: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await res.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return null;
    throw new Error(`cannot read s3://${bucket}/${key}: ${name}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseServingRecord(confidenceBaselineRecordSchema, text, `s3://${bucket}/${key}`);
}

/**
 * Writes a version's record. With `ifMatch` (the ETag it was read with) the write succeeds only if
 * nobody rewrote it since; else S3 answers 412 PreconditionFailed (or 409 ConditionalRequestConflict
 * for a concurrent conditional write):
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export async function writeConfidenceBaseline(
  s3: S3Client,
  bucket: string,
  record: ConfidenceBaselineRecord,
  options: { readonly ifMatch?: string } = {},
): Promise<void> {
  const body = JSON.stringify(confidenceBaselineRecordSchema.parse(record), null, 2);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: confidenceBaselineKey(record.model, record.modelVersion),
      Body: body,
      ContentType: 'application/json',
      ...(options.ifMatch === undefined ? {} : { IfMatch: options.ifMatch }),
    }),
  );
}

/** Every field PutMetricAlarm takes, copied from the alarm, with the new metrics and actions. */
function putInputOf(
  alarm: MetricAlarm,
  metrics: MetricAlarm['Metrics'],
  actions: string[],
): PutMetricAlarmCommandInput {
  return {
    AlarmName: alarm.AlarmName,
    AlarmDescription: alarm.AlarmDescription,
    ActionsEnabled: alarm.ActionsEnabled,
    OKActions: alarm.OKActions,
    AlarmActions: actions,
    InsufficientDataActions: alarm.InsufficientDataActions,
    EvaluationPeriods: alarm.EvaluationPeriods,
    DatapointsToAlarm: alarm.DatapointsToAlarm,
    Threshold: alarm.Threshold,
    ComparisonOperator: alarm.ComparisonOperator,
    TreatMissingData: alarm.TreatMissingData,
    // Omitted, PutMetricAlarm would reset a wall-clock alarm to the default sliding window.
    EvaluationWindow: alarm.EvaluationWindow,
    Metrics: metrics,
    ThresholdMetricId: alarm.ThresholdMetricId,
  };
}

/**
 * Makes the confidence alarm watch `modelVersion`: armed on its live baseline when its record
 * has one, else provisional (a wide band around its eval mean, pages only). Writes the version's
 * record first when it has none. Returns one sentence for the stage's summary.
 */
export async function rebaselineConfidenceAlarm(
  deps: RebaselineDeps,
  req: RebaselineRequest,
): Promise<string> {
  let record = await readConfidenceBaseline(deps.s3, req.bucket, req.model, req.modelVersion);
  if (record === null) {
    const now = req.servedSince.toISOString();
    record = {
      schemaVersion: 1,
      model: req.model,
      modelVersion: req.modelVersion,
      servedSince: now,
      evalMean: req.evalMean,
      baseline: null,
      updatedAt: now,
      updatedBy: req.by,
    };
    await writeConfidenceBaseline(deps.s3, req.bucket, record);
  }
  const plan = confidenceAlarmPlan(record, req.provisionalStdDev);

  const found = await deps.cloudwatch.send(
    new DescribeAlarmsCommand({ AlarmNames: [req.alarmName], AlarmTypes: ['MetricAlarm'] }),
  );
  const alarm = found.MetricAlarms?.[0];
  const zQuery = alarm?.Metrics?.find((m) => m.Id === CONFIDENCE_ALARM_IDS.z);
  if (!alarm || !zQuery) {
    throw new Error(
      alarm
        ? `the confidence alarm ${req.alarmName} has no "${CONFIDENCE_ALARM_IDS.z}" expression (an alarm from before the metric-math alarm); deploy the model stack, then retry`
        : `the confidence alarm ${req.alarmName} does not exist; deploy the model stack, then retry`,
    );
  }
  const expression = zExpression(plan.band);
  const others = (alarm.AlarmActions ?? []).filter((a) => a !== req.rollbackActionArn);
  const actions = plan.rollsBack ? [req.rollbackActionArn, ...others] : others;
  const sameActions =
    actions.length === (alarm.AlarmActions ?? []).length &&
    actions.every((a) => alarm.AlarmActions?.includes(a));
  const changed = zQuery.Expression !== expression || !sameActions;
  // In ALARM from before the version began serving, or on the band being replaced: not a verdict on
  // what serves now (see the module comment).
  const enteredAt = alarm.StateUpdatedTimestamp?.getTime();
  const stale =
    alarm.StateValue === 'ALARM' &&
    (changed || (enteredAt !== undefined && enteredAt < req.servedSince.getTime()));
  if (changed) {
    const metrics = alarm.Metrics!.map((m) =>
      m.Id === CONFIDENCE_ALARM_IDS.z ? { ...m, Expression: expression } : m,
    );
    await deps.cloudwatch.send(new PutMetricAlarmCommand(putInputOf(alarm, metrics, actions)));
  }
  if (stale) {
    await deps.cloudwatch.send(
      new SetAlarmStateCommand({
        AlarmName: req.alarmName,
        StateValue: 'INSUFFICIENT_DATA',
        // StateReason: at most 1023 characters.
        StateReason: (
          `re-baselined for ${req.modelVersion}: was in ALARM on the previous band; evaluated again on the new band ` +
          `(was: ${alarm.StateReason ?? 'no reason given'})`
        ).slice(0, 1023),
      }),
    );
  }
  const cleared = stale
    ? '; its ALARM on the previous band was cleared, to be evaluated again on this one'
    : '';
  return `the confidence alarm ${req.alarmName} is ${changed ? 'now' : 'already'} ${plan.why}${cleared}`;
}
