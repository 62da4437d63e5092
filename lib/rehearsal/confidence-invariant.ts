/**
 * Invariant 8 for the metric-math confidence alarm: its band (B and τ² in the `z` expression) and
 * whether it rolls back must be what the served version's own baseline record says
 * (lambdas/core/monitoring/confidence-baseline.ts `confidenceAlarmPlan`): armed on its live baseline once the
 * baseline job measured it, provisional (pages only) before, disarmed without a record.
 */
import { bandOfZExpression, CONFIDENCE_ALARM_IDS } from '../../lambdas/core/monitoring/confidence-alarm';
import {
  confidenceAlarmPlan,
  confidenceBaselineKey,
  confidenceBaselineRecordSchema,
  type ConfidenceBaselineRecord,
} from '../../lambdas/core/monitoring/confidence-baseline';
import type { World } from './world';

/** Why the confidence alarm does not belong to `served` (a version label), or null when it does. */
export function confidenceBandProblem(world: World, served: string): string | null {
  const name = world.env.CONFIDENCE_ALARM_NAME;
  const alarm = name ? world.cloud.alarms.alarms.get(name) : undefined;
  if (!alarm || alarm.definition.metric.kind !== 'math') return null;
  const metrics = (alarm.definition.raw.Metrics as { Id?: string; Expression?: string }[] | undefined) ?? [];
  const z = metrics.find((m) => m.Id === CONFIDENCE_ALARM_IDS.z)?.Expression;
  const band = z === undefined ? null : bandOfZExpression(z);
  if (band === null) return `the confidence alarm's z expression ${JSON.stringify(z)} has no band`;

  const commit = world.version(served).commit;
  const texts = world.cloud.s3.get(
    `${world.env.ARTIFACTS_BUCKET}/${confidenceBaselineKey(world.settings.model, commit)}`,
  );
  let record: ConfidenceBaselineRecord | null = null;
  if (texts && texts.length > 0) {
    const parsed = confidenceBaselineRecordSchema.safeParse(JSON.parse(texts.at(-1)!));
    if (!parsed.success) return `${served}'s confidence baseline record does not parse`;
    record = parsed.data;
  }
  const plan = confidenceAlarmPlan(record, world.settings.monitoring.confidenceAlarm.provisionalStdDev);
  const rollbackArn = world.env.CONFIDENCE_ROLLBACK_ACTION_ARN;
  const rollsBack = rollbackArn !== undefined && alarm.definition.alarmActions.includes(rollbackArn);
  const same = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  if (
    same(band.mean, plan.band.mean) &&
    same(band.periodVariance, plan.band.periodVariance) &&
    rollsBack === plan.rollsBack
  ) {
    return null;
  }
  return (
    `${served} serves and should have its ${plan.mode} band (B ${plan.band.mean}, τ² ${plan.band.periodVariance}` +
    `${plan.rollsBack ? ', rolls back' : ', pages only'}), but the alarm has B ${band.mean}, τ² ${band.periodVariance}` +
    `${rollsBack ? ' and rolls back' : ' and pages only'}`
  );
}
