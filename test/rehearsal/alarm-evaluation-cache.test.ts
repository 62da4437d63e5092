/**
 * The alarm book remembers the datapoints of periods that are over, so each minute's evaluation
 * computes only the periods that just ended. These tests pin what must not change with it: a
 * datapoint is what the samples in the store say at evaluation time, also when samples arrive late
 * or old ones are pruned.
 */
import { AlarmBook, alarmDefinition, MetricStore } from '../../lib/rehearsal/alarms';

const MINUTE = 60_000;
const T0 = Date.parse('2026-01-05T09:00:00.000Z');
const dims = { EndpointName: 'e', VariantName: 'live' };

function errorsAlarm(periodSeconds: number, threshold: number, periods: number) {
  return alarmDefinition({
    AlarmName: 'errors',
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: threshold,
    EvaluationPeriods: periods,
    DatapointsToAlarm: periods,
    TreatMissingData: 'notBreaching',
    Namespace: 'AWS/SageMaker',
    MetricName: 'Invocation5XXErrors',
    Dimensions: [
      { Name: 'VariantName', Value: 'live' },
      { Name: 'EndpointName', Value: 'e' },
    ],
    Statistic: 'Sum',
    Period: periodSeconds,
  });
}

describe('alarm evaluation with remembered datapoints', () => {
  it('sees samples that arrive for a period it has already evaluated', () => {
    const store = new MetricStore();
    const book = new AlarmBook([errorsAlarm(60, 2, 2)]);
    store.put('AWS/SageMaker', 'Invocation5XXErrors', dims, T0, 1);
    store.put('AWS/SageMaker', 'Invocation5XXErrors', dims, T0 + MINUTE, 1);
    expect(book.evaluate(store, T0 + 2 * MINUTE).map((c) => c.to)).toEqual(['OK']);
    // Late samples for both evaluated minutes: 4 errors in each.
    for (const m of [0, 1]) store.put('AWS/SageMaker', 'Invocation5XXErrors', dims, T0 + m * MINUTE + 1, 3);
    expect(book.evaluate(store, T0 + 2 * MINUTE)).toEqual([
      expect.objectContaining({ from: 'OK', to: 'ALARM', reason: expect.stringContaining(' 4, 4] vs') }),
    ]);
  });

  it('evaluates a period without the samples pruned since it was last evaluated', () => {
    const store = new MetricStore();
    const book = new AlarmBook([errorsAlarm(300, 3, 1)]);
    for (let m = 0; m < 5; m++) store.put('AWS/SageMaker', 'Invocation5XXErrors', dims, T0 + m * MINUTE, 1);
    expect(book.evaluate(store, T0 + 5 * MINUTE)).toEqual([
      expect.objectContaining({ to: 'ALARM', reason: expect.stringContaining(' 5] vs') }),
    ]);
    store.prune(T0 + 3 * MINUTE);
    expect(book.evaluate(store, T0 + 5 * MINUTE)).toEqual([
      expect.objectContaining({ from: 'ALARM', to: 'OK', reason: expect.stringContaining(' 2] vs') }),
    ]);
  });

  it('finds a series whatever the order its dimensions were written in', () => {
    const store = new MetricStore();
    const book = new AlarmBook([errorsAlarm(60, 0, 1)]);
    store.put('AWS/SageMaker', 'Invocation5XXErrors', { VariantName: 'live', EndpointName: 'e' }, T0, 1);
    store.putAll('AWS/SageMaker', dims, T0 + 1, [['Invocation5XXErrors', 1]]);
    expect(book.evaluate(store, T0 + MINUTE)).toEqual([
      expect.objectContaining({ to: 'ALARM', reason: expect.stringContaining(' 2] vs') }),
    ]);
  });
});
