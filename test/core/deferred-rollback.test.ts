import { alarmWindowMs, lookAtDeferral, type AlarmSeen } from '../../lambdas/core/serving/deferred-rollback';

const ALARM = 'mlops-document-classifier-live-error-rate';
/** The shipped error-rate alarm: 5 of 5 one-minute periods. */
const errorRate = (state: string): AlarmSeen => ({
  state,
  evaluationPeriods: 5,
  periodSeconds: 60,
  metricPeriodsSeconds: [],
});
const ENDED = Date.parse('2026-11-05T10:00:00Z');
const look = (alarm: AlarmSeen | undefined, afterMs: number, deadlineAfterMs = 14 * 60_000) =>
  lookAtDeferral({
    alarmName: ALARM,
    alarm,
    releaseEndedAtMs: ENDED,
    nowMs: ENDED + afterMs,
    deadlineMs: ENDED + deadlineAfterMs,
    pollMs: 60_000,
  });

describe('a deferred rollback looked at again when the release ends', () => {
  it("waits a whole window of the alarm (its periods plus the minute it is evaluated after): the deployment's minutes leave it", () => {
    expect(alarmWindowMs(errorRate('ALARM'))).toBe(6 * 60_000);
    // A metric math alarm has its period on its metrics.
    expect(
      alarmWindowMs({
        state: 'ALARM',
        evaluationPeriods: 3,
        periodSeconds: undefined,
        metricPeriodsSeconds: [60, 300],
      }),
    ).toBe(4 * 300_000);
    expect(
      alarmWindowMs({
        state: 'ALARM',
        evaluationPeriods: undefined,
        periodSeconds: 60,
        metricPeriodsSeconds: [],
      }),
    ).toBeNull();
  });

  it('still in ALARM: waits minute by minute until the window has passed, then rolls back', () => {
    expect(look(errorRate('ALARM'), 0)).toEqual({ verdict: 'wait', waitMs: 60_000 });
    expect(look(errorRate('ALARM'), 5.5 * 60_000)).toEqual({ verdict: 'wait', waitMs: 30_000 });
    expect(look(errorRate('ALARM'), 6 * 60_000)).toEqual({
      verdict: 'roll-back',
      why: `alarm ${ALARM} is still in ALARM 6 min after the release ended, a whole evaluation window of the version serving since`,
    });
  });

  it('OK, INSUFFICIENT_DATA or deleted: nothing to roll back (the alarm blamed the candidate, or the cause passed)', () => {
    expect(look(errorRate('OK'), 0)).toEqual({ verdict: 'cleared', why: `alarm ${ALARM} is OK` });
    expect(look(errorRate('INSUFFICIENT_DATA'), 60_000).verdict).toBe('cleared');
    expect(look(undefined, 0)).toEqual({ verdict: 'cleared', why: `alarm ${ALARM} no longer exists` });
  });

  it("hands over to a person when the window ends after the invocation's time, or is unknown", () => {
    expect(look(errorRate('ALARM'), 0, 5 * 60_000)).toEqual({
      verdict: 'hand-over',
      why: `alarm ${ALARM} is still in ALARM and its evaluation window (6 min) ends after this invocation's time`,
    });
    expect(look({ ...errorRate('ALARM'), periodSeconds: undefined }, 0).verdict).toBe('hand-over');
  });
});
