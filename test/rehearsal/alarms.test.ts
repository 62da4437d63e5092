import { AlarmBook, alarmDefinition, MetricStore } from '../../lib/rehearsal/alarms';
import {
  CONFIDENCE_ALARM_IDS,
  CONFIDENCE_METRIC,
  CONFIDENCE_SQUARED_METRIC,
  confidenceAlarmDefinition,
} from '../../lambdas/core/monitoring/confidence-alarm';

const MINUTE = 60_000;
const T0 = Date.parse('2026-01-05T09:00:00.000Z');
const dims = { EndpointName: 'e', VariantName: 'live' };

/** The 5xx-rate alarm as the model stack synthesizes it (metric math over two sums). */
const errorRateAlarm = alarmDefinition({
  AlarmName: 'e-5xx-rate',
  ComparisonOperator: 'GreaterThanThreshold',
  Threshold: 1,
  EvaluationPeriods: 2,
  DatapointsToAlarm: 2,
  TreatMissingData: 'notBreaching',
  AlarmActions: ['arn:rollback'],
  Metrics: [
    { Id: 'expr_1', Expression: 'IF(invocations > 0, 100 * errors / invocations, 0)', ReturnData: true },
    {
      Id: 'errors',
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/SageMaker',
          MetricName: 'Invocation5XXErrors',
          Dimensions: [
            { Name: 'EndpointName', Value: 'e' },
            { Name: 'VariantName', Value: 'live' },
          ],
        },
        Period: 60,
        Stat: 'Sum',
      },
    },
    {
      Id: 'invocations',
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/SageMaker',
          MetricName: 'Invocations',
          Dimensions: [
            { Name: 'EndpointName', Value: 'e' },
            { Name: 'VariantName', Value: 'live' },
          ],
        },
        Period: 60,
        Stat: 'Sum',
      },
    },
  ],
});

function minute(store: MetricStore, m: number, requests: number, errors: number): void {
  for (let i = 0; i < requests; i++) {
    store.put('AWS/SageMaker', 'Invocations', dims, T0 + m * MINUTE + i, 1);
    store.put('AWS/SageMaker', 'Invocation5XXErrors', dims, T0 + m * MINUTE + i, i < errors ? 1 : 0);
  }
}

describe('metric math', () => {
  it('evaluates the IF expression of the 5xx-rate alarm; a period without invocations has no datapoint', () => {
    const store = new MetricStore();
    const book = new AlarmBook([errorRateAlarm]);
    minute(store, 0, 200, 4);
    minute(store, 1, 200, 4);
    // 2% > 1% in both periods.
    expect(book.evaluate(store, T0 + 2 * MINUTE)).toEqual([
      expect.objectContaining({ to: 'ALARM', reason: expect.stringContaining('[missing, missing, 2, 2]') }),
    ]);
  });

  it('names an alarm whose expression it cannot evaluate rather than guessing', () => {
    const def = alarmDefinition({
      AlarmName: 'band',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      Metrics: [{ Id: 'e', Expression: 'RATE(m)', ReturnData: true }],
    });
    expect(new AlarmBook([def]).unsupported()).toEqual([
      { name: 'band', why: expect.stringContaining('RATE(m)') },
    ]);
  });
});

/** The confidence alarm as the stack writes it: z over n, s, q and the gated z over z (core's definition). */
function confidenceAlarm(
  mean: number,
  periodVariance: number,
  { periodSeconds = 60, wallClock = false }: { periodSeconds?: number; wallClock?: boolean } = {},
) {
  const core = confidenceAlarmDefinition(
    { stdDevs: 3, breachingPeriods: 2, minRequests: 20, periodSeconds },
    { mean, periodVariance },
  );
  const stat = (id: string, metricName: string, statName: string) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: 'MLPlatform/Router',
        MetricName: metricName,
        Dimensions: [
          { Name: 'service', Value: 'm' },
          { Name: 'Model', Value: 'm' },
          { Name: 'Variant', Value: 'stable' },
        ],
      },
      Period: periodSeconds,
      Stat: statName,
    },
  });
  return alarmDefinition({
    ...(wallClock ? { EvaluationWindow: { WallClockWindow: {} } } : {}),
    AlarmName: 'm-confidence',
    ComparisonOperator: core.comparisonOperator,
    Threshold: core.threshold,
    EvaluationPeriods: core.evaluationPeriods,
    DatapointsToAlarm: core.datapointsToAlarm,
    TreatMissingData: core.treatMissingData,
    AlarmActions: ['arn:rollback'],
    Metrics: [
      ...core.expressions.map((e) => ({ Id: e.id, Expression: e.expression, ReturnData: e.returnData })),
      stat(CONFIDENCE_ALARM_IDS.count, CONFIDENCE_METRIC, 'SampleCount'),
      stat(CONFIDENCE_ALARM_IDS.sum, CONFIDENCE_METRIC, 'Sum'),
      stat(CONFIDENCE_ALARM_IDS.sumOfSquares, CONFIDENCE_SQUARED_METRIC, 'Sum'),
    ],
  });
}

function confidences(store: MetricStore, m: number, values: readonly number[]): void {
  const d = { service: 'm', Model: 'm', Variant: 'stable' };
  values.forEach((c, i) => {
    store.put('MLPlatform/Router', CONFIDENCE_METRIC, d, T0 + m * MINUTE + i, c);
    store.put('MLPlatform/Router', CONFIDENCE_SQUARED_METRIC, d, T0 + m * MINUTE + i, c * c);
  });
}

describe('the confidence alarm (expressions over expressions, two-argument IF)', () => {
  const around = (mean: number) => Array.from({ length: 40 }, (_, i) => mean + (i % 2 === 0 ? 0.02 : -0.02));

  it('is evaluated, stays OK at its baseline and alarms when the mean drops for N periods', () => {
    const def = confidenceAlarm(0.9, 0.0001);
    const book = new AlarmBook([def]);
    expect(book.unsupported()).toEqual([]);
    const store = new MetricStore();
    confidences(store, 0, around(0.9));
    confidences(store, 1, around(0.9));
    expect(book.evaluate(store, T0 + 2 * MINUTE).map((c) => c.to)).toEqual(['OK']);
    confidences(store, 2, around(0.7));
    expect(book.evaluate(store, T0 + 3 * MINUTE)).toEqual([]);
    confidences(store, 3, around(0.7));
    expect(book.evaluate(store, T0 + 4 * MINUTE)).toEqual([
      expect.objectContaining({ from: 'OK', to: 'ALARM', actions: ['arn:rollback'] }),
    ]);
  });

  // Two-minute periods, 2 of 2; healthy minutes 0-2 at the baseline, then a drop that breaches
  // in a whole period (z ≈ −4.9) but not in one half dropped (z ≈ −2.4).
  const dropAfterMinute3 = (store: MetricStore) => {
    for (let m = 0; m < 10; m++) confidences(store, m, around(m < 3 ? 0.9 : 0.85));
  };
  const firstAlarmMinute = (def: ReturnType<typeof confidenceAlarm>) => {
    const book = new AlarmBook([def]);
    const store = new MetricStore();
    dropAfterMinute3(store);
    for (let m = 1; m <= 10; m++) {
      if (book.evaluate(store, T0 + m * MINUTE).some((c) => c.to === 'ALARM')) return m;
    }
    return null;
  };

  it('by default evaluates every minute over a sliding window: periods end at the evaluated minute', () => {
    // Minutes 5–7 and 3–5 are the first two whole dropped periods ending at one minute: ALARM at minute 7.
    expect(firstAlarmMinute(confidenceAlarm(0.9, 0.0001, { periodSeconds: 120 }))).toBe(7);
  });

  it('with a wall-clock window evaluates periods aligned to the clock', () => {
    // Aligned periods 4–6 and 6–8 are the first two whole dropped ones (2–4 is half): ALARM at minute 8.
    expect(firstAlarmMinute(confidenceAlarm(0.9, 0.0001, { periodSeconds: 120, wallClock: true }))).toBe(8);
  });

  it('has no datapoint in periods under minRequests, so a quiet period keeps the state (ignore)', () => {
    const book = new AlarmBook([confidenceAlarm(0.9, 0.0001)]);
    const store = new MetricStore();
    confidences(store, 0, around(0.5).slice(0, 10));
    confidences(store, 1, around(0.5).slice(0, 10));
    expect(book.evaluate(store, T0 + 2 * MINUTE)).toEqual([]);
    expect(book.state('m-confidence')).toBe('INSUFFICIENT_DATA');
  });
});

describe('alarm evaluation', () => {
  it('goes to ALARM on DatapointsToAlarm breaching periods of EvaluationPeriods, and acts once', () => {
    const store = new MetricStore();
    const book = new AlarmBook([errorRateAlarm]);
    minute(store, 0, 100, 5);
    expect(book.evaluate(store, T0 + MINUTE)).toEqual([expect.objectContaining({ to: 'OK' })]);
    minute(store, 1, 100, 5);
    const changes = book.evaluate(store, T0 + 2 * MINUTE);
    expect(changes).toEqual([
      expect.objectContaining({ from: 'OK', to: 'ALARM', actions: ['arn:rollback'] }),
    ]);
    minute(store, 2, 100, 5);
    // Still breaching: no state change, so no action again.
    expect(book.evaluate(store, T0 + 3 * MINUTE)).toEqual([]);
  });

  it('treats missing periods as not breaching (no traffic is no evidence of errors)', () => {
    const store = new MetricStore();
    const book = new AlarmBook([errorRateAlarm]);
    minute(store, 0, 100, 5);
    expect(book.evaluate(store, T0 + 3 * MINUTE).map((c) => c.to)).toEqual(['OK']);
    expect(book.state('e-5xx-rate')).toBe('OK');
  });

  it('keeps the state when PutMetricAlarm replaces the threshold', () => {
    const store = new MetricStore();
    const book = new AlarmBook([errorRateAlarm]);
    minute(store, 0, 100, 5);
    minute(store, 1, 100, 5);
    book.evaluate(store, T0 + 2 * MINUTE);
    book.put('e-5xx-rate', { Threshold: 50 });
    expect(book.state('e-5xx-rate')).toBe('ALARM');
    minute(store, 2, 100, 5);
    minute(store, 3, 100, 5);
    expect(book.evaluate(store, T0 + 4 * MINUTE)).toEqual([
      expect.objectContaining({ from: 'ALARM', to: 'OK', actions: [] }),
    ]);
  });

  it('SetAlarmState sets the state (its actions run on a change), and the next evaluation returns it to its actual state', () => {
    const store = new MetricStore();
    const book = new AlarmBook([errorRateAlarm]);
    minute(store, 0, 100, 5);
    minute(store, 1, 100, 5);
    book.evaluate(store, T0 + 2 * MINUTE);
    book.setState('e-5xx-rate', 'INSUFFICIENT_DATA', 're-baselined', T0 + 2 * MINUTE + 1);
    expect(book.state('e-5xx-rate')).toBe('INSUFFICIENT_DATA');
    minute(store, 2, 100, 5);
    // Still breaching: back to ALARM, and the alarm acts again (a change of state).
    expect(book.evaluate(store, T0 + 3 * MINUTE)).toEqual([
      expect.objectContaining({ from: 'ALARM', to: 'INSUFFICIENT_DATA', actions: [] }),
      expect.objectContaining({ from: 'INSUFFICIENT_DATA', to: 'ALARM', actions: ['arn:rollback'] }),
    ]);
  });

  it('after SetAlarmState, quiet periods of an alarm that ignores missing data keep the state set', () => {
    const book = new AlarmBook([confidenceAlarm(0.9, 0.0001)]);
    const store = new MetricStore();
    book.setState('m-confidence', 'ALARM', 'test', T0);
    book.setState('m-confidence', 'INSUFFICIENT_DATA', 're-baselined', T0 + 1);
    confidences(store, 0, [0.5, 0.5]);
    expect(book.evaluate(store, T0 + MINUTE).map((c) => c.to)).toEqual(['ALARM', 'INSUFFICIENT_DATA']);
    expect(book.state('m-confidence')).toBe('INSUFFICIENT_DATA');
  });
});
