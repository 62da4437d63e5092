import {
  estimateBaseline,
  MIN_BASELINE_PERIODS,
  type PeriodAggregate,
} from '../../lambdas/core/monitoring/confidence-alarm';
import {
  confidenceBaselineRecordSchema,
  type ConfidenceBaselineRecord,
} from '../../lambdas/core/monitoring/confidence-baseline';
import {
  CANDIDATE_SERVED_AFTER_MS,
  MAX_WINDOW_MS,
  measuredRecord,
  METRIC_SETTLE_MS,
  periodsOfSeries,
  planBaselineJob,
  type BaselineJobInput,
} from '../../lambdas/core/monitoring/confidence-baseline-job';
import { createPrng } from '../../lambdas/core/data/production-sample';
import type { ServingState } from '../../lambdas/core/serving/serving-records';

const HOUR = 3_600_000;
const PROMOTED = '2026-11-27T10:00:30.000Z';

function state(modelVersion: string, updatedAt = PROMOTED): ServingState {
  return {
    schemaVersion: 1,
    model: 'document-classifier',
    live: {
      endpointName: 'mlops-document-classifier-live',
      configName: `mlops-document-classifier-${modelVersion}-live`,
      modelName: `mlops-document-classifier-${modelVersion}`,
      modelVersion,
      executionId: `${modelVersion}-0000-4000-8000-000000000000`,
    },
    standby: null,
    updatedAt,
    updatedBy: 'promotion',
  };
}

function record(modelVersion: string, servedSince = PROMOTED): ConfidenceBaselineRecord {
  return {
    schemaVersion: 1,
    model: 'document-classifier',
    modelVersion,
    servedSince,
    evalMean: 0.84,
    baseline: null,
    updatedAt: servedSince,
    updatedBy: 'promotion',
  };
}

const at = (ms: number) => new Date(Date.parse(PROMOTED) + ms);
const plan = (over: Partial<BaselineJobInput>) =>
  planBaselineJob({
    state: state('v2'),
    record: record('v2'),
    now: at(HOUR),
    baselineHours: 6,
    periodSeconds: 60,
    ...over,
  });

/** Periods of `n` requests with confidences ~ N(mean, 0.12), seeded. */
function periods(count: number, n: number, mean = 0.8, seed = 7): PeriodAggregate[] {
  const prng = createPrng(seed);
  const uniform = () => prng.nextUint32() / 2 ** 32;
  const normal = () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return Array.from({ length: count }, () => {
    let s = 0;
    let q = 0;
    for (let i = 0; i < n; i++) {
      const c = Math.min(1, Math.max(0, mean + 0.12 * normal()));
      s += c;
      q += c * c;
    }
    return { n, s, q };
  });
}

describe('planBaselineJob: what the scheduled job does for the version that serves', () => {
  test('before the first release there is nothing to measure', () => {
    expect(plan({ state: null, record: null }).kind).toBe('nothing-serves');
  });

  test('a served version without a record is left to the promotion or rollback that writes it', () => {
    const step = plan({ record: null });
    expect(step).toMatchObject({ kind: 'no-record', modelVersion: 'v2' });
    // A record of another version is not this version's.
    expect(plan({ record: record('v1') }).kind).toBe('no-record');
  });

  test('within the baseline window the alarm stays provisional, and says until when', () => {
    const step = plan({ now: at(6 * HOUR) });
    expect(step.kind).toBe('wait');
    if (step.kind !== 'wait') return;
    // The window starts at the first whole minute after the promotion (10:00:30 -> 10:01).
    expect(step.windowStart.toISOString()).toBe('2026-11-27T10:01:00.000Z');
    expect(step.due.getTime()).toBe(Date.parse('2026-11-27T16:01:00.000Z') + METRIC_SETTLE_MS);
    expect(step.why).toContain('ends at 2026-11-27T16:01:00.000Z');
  });

  test('once the window and the settling minutes have passed, it measures whole periods since the version began serving', () => {
    const step = plan({ now: new Date('2026-11-27T16:06:40.000Z') });
    expect(step).toMatchObject({ kind: 'measure', modelVersion: 'v2' });
    if (step.kind !== 'measure') return;
    expect(step.windowStart.toISOString()).toBe('2026-11-27T10:01:00.000Z');
    expect(step.windowEnd.toISOString()).toBe('2026-11-27T16:01:00.000Z');
    expect((step.windowEnd.getTime() - step.windowStart.getTime()) / 60_000).toBe(360);
  });

  test('a version served again after a rollback is measured from the rollback, not from its first promotion', () => {
    // v2 was promoted days ago, then v3 served, then a rollback returned to v2 at 09:00 today.
    const rolledBackAt = '2026-11-30T09:00:00.000Z';
    const input = { state: state('v2', rolledBackAt), record: record('v2', '2026-11-27T10:00:30.000Z') };
    expect(plan({ ...input, now: new Date('2026-11-30T14:00:00.000Z') }).kind).toBe('wait');
    const step = plan({ ...input, now: new Date('2026-11-30T15:30:00.000Z') });
    expect(step.kind === 'measure' && step.windowStart.toISOString()).toBe(rolledBackAt);
  });

  test("a later release's canary in the window restarts it after the candidate's last possible answer", () => {
    const canary = (outcome: 'live' | 'rolled-back' | 'failed', modelVersion = 'v3') => ({
      modelVersion,
      startedAt: at(2 * HOUR),
      finishedAt: at(2 * HOUR + 20 * 60_000),
      outcome,
    });
    const now = at(6 * HOUR + 10 * 60_000);
    // SageMaker rolled it back: the candidate answered until the record was written.
    const rolledBack = plan({ now, canaries: [canary('rolled-back')] });
    expect(rolledBack).toMatchObject({ kind: 'wait', modelVersion: 'v2' });
    expect(rolledBack.kind === 'wait' && rolledBack.windowStart.toISOString()).toBe(
      '2026-11-27T12:21:00.000Z',
    );
    expect(rolledBack.kind === 'wait' && rolledBack.why).toContain('the canary of v3');
    // The stage put the previous config back itself: the candidate answered until that update ended.
    const failed = plan({ now, canaries: [canary('failed')] });
    expect(failed.kind === 'wait' && failed.windowStart.getTime()).toBe(
      Date.parse('2026-11-27T12:21:00.000Z') + CANDIDATE_SERVED_AFTER_MS,
    );
    // A canary of the served version itself (before its promotion) or one that ended before the window: no restart.
    expect(plan({ now, canaries: [canary('live', 'v2')] }).kind).toBe('measure');
    expect(
      plan({
        now,
        canaries: [{ ...canary('failed'), startedAt: at(-3 * HOUR), finishedAt: at(-2 * HOUR) }],
      }).kind,
    ).toBe('measure');
  });

  test('a release updating the live endpoint when the window has ended defers the measurement', () => {
    const step = plan({ now: at(6 * HOUR + 10 * 60_000), liveUpdate: 'Updating on config x' });
    expect(step).toMatchObject({ kind: 'wait', modelVersion: 'v2' });
    expect(step.kind === 'wait' && step.why).toContain('(Updating on config x)');
  });

  test('the window grows with quiet traffic but stops at 14 days (one-minute data is kept 15)', () => {
    const step = plan({ now: at(30 * 24 * HOUR) });
    expect(step.kind === 'measure' && step.windowEnd.getTime() - step.windowStart.getTime()).toBe(
      MAX_WINDOW_MS,
    );
  });

  test('a version with a baseline is armed on it', () => {
    const measured = measuredRecord(
      record('v2'),
      periods(360, 100),
      { start: at(0), end: at(6 * HOUR) },
      10,
      at(6 * HOUR),
      'job',
    );
    expect(plan({ record: measured.record }).kind).toBe('has-baseline');
  });
});

describe('periodsOfSeries', () => {
  test('joins the three series by timestamp, in time order, and drops periods one of them lacks', () => {
    const t = (m: number) => new Date(Date.UTC(2026, 10, 27, 10, m));
    const got = periodsOfSeries(
      { timestamps: [t(2), t(0), t(1), t(3)], values: [30, 10, 20, 0] },
      { timestamps: [t(0), t(1), t(2), t(3)], values: [8, 16, 24, 0] },
      { timestamps: [t(2), t(0)], values: [19.2, 6.4] },
    );
    // Minute 1 has no sum of squares; minute 3 had no request.
    expect(got).toEqual([
      { n: 10, s: 8, q: 6.4 },
      { n: 30, s: 24, q: 19.2 },
    ]);
  });
});

describe('measuredRecord', () => {
  const window = { start: new Date('2026-11-27T10:01:00.000Z'), end: new Date('2026-11-27T16:01:00.000Z') };
  const now = new Date('2026-11-27T16:15:00.000Z');

  test('enough periods: the record holds the estimate the alarm is armed on', () => {
    const data = periods(360, 100);
    const { record: next, estimate, said } = measuredRecord(record('v2'), data, window, 10, now, 'job');
    const expected = estimateBaseline(data, 10)!;
    expect(estimate).toEqual(expected);
    expect(next.baseline).toEqual({
      mean: expected.mean,
      periodVariance: expected.periodVariance,
      periods: 360,
      requests: 36_000,
      betweenPeriodStdDev: expected.betweenPeriodStdDev,
      meanStandardError: expected.meanStandardError,
      windowStart: '2026-11-27T10:01:00.000Z',
      windowEnd: '2026-11-27T16:01:00.000Z',
    });
    expect(next.baseline!.mean).toBeCloseTo(0.8, 2);
    expect(next).toMatchObject({ servedSince: PROMOTED, evalMean: 0.84, updatedBy: 'job' });
    expect(confidenceBaselineRecordSchema.parse(next)).toEqual(next);
    expect(said).toContain('from 360 periods and 36000 requests');
  });

  test('too few periods with enough requests: no baseline, and the record and the sentence say how far it got', () => {
    // 2 requests a minute: no period reaches nMin = 10; a few bursts do.
    const data = [...periods(340, 2), ...periods(12, 15, 0.8, 9)];
    const { record: next, estimate, said } = measuredRecord(record('v2'), data, window, 10, now, 'job');
    expect(estimate).toBeNull();
    expect(next.baseline).toBeNull();
    expect(next.lastAttempt).toEqual({
      at: '2026-11-27T16:15:00.000Z',
      windowStart: '2026-11-27T10:01:00.000Z',
      windowEnd: '2026-11-27T16:01:00.000Z',
      usablePeriods: 12,
      neededPeriods: MIN_BASELINE_PERIODS,
      requests: 340 * 2 + 12 * 15,
    });
    expect(confidenceBaselineRecordSchema.parse(next)).toEqual(next);
    expect(said).toBe(
      `v2 stays provisional: 12 of the ${MIN_BASELINE_PERIODS} periods a baseline needs had at least 10 requests ` +
        '(860 requests from 2026-11-27T10:01:00.000Z to 2026-11-27T16:01:00.000Z); the window grows with each run until it has enough',
    );
  });
});
