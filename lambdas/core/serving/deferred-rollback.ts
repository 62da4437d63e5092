/**
 * A rollback deferred to a release's guardrails, looked at again when the release ends (issue 11,
 * invariant 9). Pure: the handler (lambdas/rollback) reads the alarm and the clock.
 *
 * An alarm calls its actions only when its state changes ("the actions happen only on state
 * transitions, and are not performed again if the condition persists for hours or days":
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html),
 * so an alarm that stays in ALARM after the release ended never invokes the rollback again: the
 * rollback function has to look at it itself. Right when the release ends the alarm's window still
 * holds the minutes the candidate answered in, so its state then says nothing about the version
 * serving now; once a whole window has passed since, every datapoint it evaluates is that version's.
 * An alarm that goes OK meanwhile blamed the candidate (SageMaker's auto-rollback dealt with it); one
 * still in ALARM after a whole window blames the version serving, which is rolled back.
 */

/** What DescribeAlarms says of one metric alarm (the fields used here). */
export interface AlarmSeen {
  readonly state: string | undefined;
  readonly evaluationPeriods: number | undefined;
  /** The alarm's own period (a single-metric alarm), seconds. */
  readonly periodSeconds: number | undefined;
  /** The periods of a metric math alarm's metrics, seconds. */
  readonly metricPeriodsSeconds: readonly number[];
}

/** One extra period: CloudWatch evaluates a minute's datapoint after the minute has ended. */
const EVALUATION_LAG_PERIODS = 1;

/**
 * How long after the release ended the alarm's window holds only the version serving since, in ms:
 * (evaluation periods + 1) x period. Null when the alarm does not say (then a person looks).
 */
export function alarmWindowMs(alarm: AlarmSeen): number | null {
  const period =
    alarm.periodSeconds ??
    (alarm.metricPeriodsSeconds.length > 0 ? Math.max(...alarm.metricPeriodsSeconds) : undefined);
  if (period === undefined || !(period > 0)) return null;
  const periods = alarm.evaluationPeriods;
  if (periods === undefined || !(periods > 0)) return null;
  return (periods + EVALUATION_LAG_PERIODS) * period * 1000;
}

export type DeferralLook =
  /** The alarm is no longer in ALARM (or no longer exists): it blamed the candidate, or the cause passed. */
  | { readonly verdict: 'cleared'; readonly why: string }
  /** Still in ALARM a whole window after the release ended: it blames the version serving now. */
  | { readonly verdict: 'roll-back'; readonly why: string }
  /** Still in ALARM, but its window has not passed yet: look again after `waitMs`. */
  | { readonly verdict: 'wait'; readonly waitMs: number }
  /** Cannot be decided within this invocation (the window is unknown or too long): a person looks. */
  | { readonly verdict: 'hand-over'; readonly why: string };

/**
 * What to do with a deferral now. `releaseEndedAtMs` is when the live endpoint's change to
 * InService was seen; `deadlineMs` the last moment this invocation may still wait until.
 */
export function lookAtDeferral(input: {
  readonly alarmName: string;
  readonly alarm: AlarmSeen | undefined;
  readonly releaseEndedAtMs: number;
  readonly nowMs: number;
  readonly deadlineMs: number;
  readonly pollMs: number;
}): DeferralLook {
  const { alarm, alarmName } = input;
  if (alarm === undefined) return { verdict: 'cleared', why: `alarm ${alarmName} no longer exists` };
  if (alarm.state !== 'ALARM')
    return { verdict: 'cleared', why: `alarm ${alarmName} is ${alarm.state ?? 'in no state'}` };
  const window = alarmWindowMs(alarm);
  if (window === null)
    return {
      verdict: 'hand-over',
      why: `alarm ${alarmName} is still in ALARM and its evaluation window is unknown`,
    };
  const decideAt = input.releaseEndedAtMs + window;
  if (input.nowMs >= decideAt) {
    return {
      verdict: 'roll-back',
      why: `alarm ${alarmName} is still in ALARM ${Math.round((input.nowMs - input.releaseEndedAtMs) / 60_000)} min after the release ended, a whole evaluation window of the version serving since`,
    };
  }
  if (decideAt > input.deadlineMs) {
    return {
      verdict: 'hand-over',
      why: `alarm ${alarmName} is still in ALARM and its evaluation window (${Math.round(window / 60_000)} min) ends after this invocation's time`,
    };
  }
  return { verdict: 'wait', waitMs: Math.min(input.pollMs, decideAt - input.nowMs) };
}
