/**
 * Names shared by the functions that publish metrics and the stack that alarms on them: one place,
 * so a renamed namespace or alarm cannot leave an alarm watching a metric nobody publishes.
 */

/** Namespaces of the platform's own CloudWatch metrics. */
export const METRIC_NAMESPACES = {
  router: 'MLPlatform/Router',
  ab: 'MLPlatform/AB',
  drift: 'MLPlatform/Drift',
  cost: 'MLPlatform/Cost',
  rollback: 'MLPlatform/Rollback',
} as const;

/** Name of the live confidence alarm; promotion and rollback rewrite it (`PutMetricAlarm`). */
export function confidenceAlarmName(prefix: string): string {
  return `${prefix}-live-confidence`;
}
