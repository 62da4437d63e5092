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

/**
 * The metric the rollback function publishes (namespace `METRIC_NAMESPACES.rollback`, dimension
 * `Model`) to stop the live endpoint's running deployment: the rollback-requested alarm evaluates it.
 */
export const ROLLBACK_REQUESTED_METRIC = 'RollbackRequested';

/**
 * Name of the alarm every canary lists among its auto-rollback alarms, which the rollback function
 * puts in ALARM to stop the live endpoint's blue/green deployment (SageMaker has no call that
 * cancels an update; an auto-rollback alarm in ALARM during the deployment rolls it back).
 */
export function rollbackRequestedAlarmName(prefix: string): string {
  return `${prefix}-live-rollback-requested`;
}

/** Name of the live confidence alarm; promotion and rollback rewrite it (`PutMetricAlarm`). */
export function confidenceAlarmName(prefix: string): string {
  return `${prefix}-live-confidence`;
}
