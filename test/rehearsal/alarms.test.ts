import { AlarmBook, alarmDefinition, MetricStore } from '../../lib/rehearsal/alarms';
import { evaluateExpression, parseExpression } from '../../lib/rehearsal/metric-math';

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
  it('evaluates the IF expression of the 5xx-rate alarm, missing when a query has no datapoint', () => {
    const e = parseExpression('IF(invocations > 0, 100 * errors / invocations, 0)');
    expect(
      evaluateExpression(
        e,
        new Map([
          ['invocations', 200],
          ['errors', 4],
        ]),
      ),
    ).toBe(2);
    expect(
      evaluateExpression(
        e,
        new Map([
          ['invocations', 0],
          ['errors', 0],
        ]),
      ),
    ).toBe(0);
    expect(evaluateExpression(e, new Map([['errors', 0]]))).toBeUndefined();
    expect(evaluateExpression(parseExpression('FILL(m, 0) + 1'), new Map())).toBe(1);
  });

  it('refuses functions it does not evaluate, so an alarm is named rather than guessed at', () => {
    expect(() => parseExpression('ANOMALY_DETECTION_BAND(m, 2)')).toThrow(/not supported/);
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
});
