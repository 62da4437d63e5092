/**
 * Seeded calibration of the shipped confidence alarm (k = 3, 3 of 5 two-minute periods evaluated
 * every minute, nMin 10, 6-hour baseline) on the simulator of lambdas/core/monitoring/confidence-alarm.ts.
 * Shorter than bench/confidence-alarm.ts (whose table is in docs/statistics.md); the same seeds
 * give the same figures on every run.
 */
import {
  baselinePeriodsOf,
  confidenceAlarmSettingsOf,
  simulateDetection,
  simulateFalseAlarms,
  smallestDetectableDrop,
  trafficModelOf,
} from '../../lambdas/core/monitoring/confidence-alarm';
import { shippedConfig } from '../helpers/config-fixture';

const monitoring = shippedConfig().models[0]!.monitoring;
const settings = confidenceAlarmSettingsOf(monitoring);
const baselinePeriods = baselinePeriodsOf(monitoring);
const iid = (rate: number) => ({ ...trafficModelOf(monitoring, rate), periodStdDev: 0 });
const wandering = (rate: number) => trafficModelOf(monitoring, rate); // τ = 0.01, φ = 0.5 per minute
const ONE_PER_90_DAYS = 30 / 90;

test('the shipped rule is the one calibrated: k = 3, 3 of 5 two-minute periods, nMin 10, a 6-hour baseline', () => {
  expect(settings).toEqual({
    stdDevs: 3,
    breachingPeriods: 3,
    evaluationPeriods: 5,
    minRequests: 10,
    periodSeconds: 120,
  });
  expect(baselinePeriods).toBe(180);
  expect(wandering(100)).toMatchObject({ periodStdDev: 0.01, periodAutocorrelation: 0.5 });
});

describe.each([
  ['iid traffic', iid],
  ['traffic whose minute mean wanders (AR(1), τ 0.01)', wandering],
])('%s at 100 requests/min', (_name, model) => {
  test('at most one false rollback per 90 days (180 simulated days, 20 baselines)', () => {
    const r = simulateFalseAlarms(settings, model(100), {
      seed: 11,
      baselinePeriods,
      versions: 20,
      daysPerVersion: 9,
    });
    expect(r.days).toBeCloseTo(180, 6);
    expect(r.per30Days).toBeLessThanOrEqual(ONE_PER_90_DAYS);
  });

  test('a 0.05 drop is caught within 10 minutes in 95% of runs', () => {
    const r = simulateDetection(settings, model(100), 0.05, {
      seed: 12,
      baselinePeriods,
      runs: 300,
      withinMinutes: 10,
      horizonMinutes: 10,
    });
    expect(r.detectedWithin).toBeGreaterThanOrEqual(0.95);
  });
});

test('the old rule (k = 2, 5 consecutive one-minute periods) misses that target on wandering traffic: why the rule changed', () => {
  const old = { stdDevs: 2, breachingPeriods: 5, minRequests: 10, periodSeconds: 60 };
  const r = simulateDetection(old, wandering(100), 0.05, {
    seed: 12,
    baselinePeriods: 360,
    runs: 200,
    withinMinutes: 10,
    horizonMinutes: 10,
  });
  expect(r.detectedWithin).toBeLessThan(0.95);
});

test('lower traffic catches only larger drops: the smallest caught within 10 minutes grows as traffic falls', () => {
  const smallest = (rate: number) =>
    smallestDetectableDrop(settings, wandering(rate), {
      seed: 15,
      baselinePeriods,
      runs: 60,
      withinMinutes: 10,
      power: 0.95,
      maxDrop: 0.5,
    });
  const at100 = smallest(100);
  const at40 = smallest(40);
  expect(at100).not.toBeNull();
  expect(at40).not.toBeNull();
  expect(at40!).toBeGreaterThan(at100!);
  // 2 requests a minute never reach nMin = 10 in a two-minute period: no datapoint, nothing is caught.
  expect(smallest(2)).toBeNull();
});
