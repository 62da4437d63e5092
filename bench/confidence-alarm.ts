/**
 * Long calibration runs of the live confidence alarm (lambdas/core/monitoring/confidence-alarm.ts): false
 * rollbacks per 30 days and detection of drops in mean confidence, for rules (k, N) × traffic
 * (requests/min) × traffic model (iid, AR(1) wander), with the definition the stack deploys.
 * Prints a markdown table (docs/statistics.md, "Live detectors").
 *
 *   npx tsx bench/confidence-alarm.ts [--versions 150] [--days 9] [--runs 1000] [--seed 7]
 *   npx tsx bench/confidence-alarm.ts --rules 2x4,2x5 --rates 10,57,100,300 --wander 0,0.01
 *   npx tsx bench/confidence-alarm.ts --exact-check     # CLT shortcut vs drawing every confidence
 */
import { cpus, loadavg } from 'node:os';
import {
  simulateDetection,
  simulateFalseAlarms,
  smallestDetectableDrop,
  type ConfidenceAlarmSettings,
  type TrafficModel,
} from '../lambdas/core/monitoring/confidence-alarm';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}
const numbers = (s: string) => s.split(',').map(Number);

const VERSIONS = Number(option('versions', '150'));
const DAYS = Number(option('days', '9'));
const RUNS = Number(option('runs', '1000'));
const SEED = Number(option('seed', '7'));
const BASELINE_PERIODS = Number(option('baseline-periods', '360'));
const RULES = option('rules', '2x4,2x5,2.25x4')
  .split(',')
  .map((r) => r.split('x').map(Number) as [number, number]);
const RATES = numbers(option('rates', '10,57,100,300'));
const WANDER = numbers(option('wander', '0,0.01'));
const MIN_REQUESTS = Number(option('min-requests', '10'));

const traffic = (rate: number, tau: number): TrafficModel => ({
  requestsPerPeriod: rate,
  confidenceMean: 0.8,
  confidenceStdDev: 0.12,
  periodStdDev: tau,
  periodAutocorrelation: 0.5,
});

console.log(
  `# confidence alarm calibration: ${VERSIONS} versions × ${DAYS} days per cell, ${RUNS} detection runs per drop, ` +
    `baseline ${BASELINE_PERIODS} one-minute periods, nMin ${MIN_REQUESTS}, seed ${SEED}; ` +
    `${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}, node ${process.version}`,
);

if (process.argv.includes('--exact-check')) {
  // The simulator draws period means from their normal limit above 30 requests; here every confidence is drawn.
  const settings: ConfidenceAlarmSettings = {
    stdDevs: 2,
    breachingPeriods: 4,
    minRequests: MIN_REQUESTS,
    periodSeconds: 60,
  };
  console.log(
    '| rate | wander τ | drawing | false rollbacks / 30 d (count, days) | drop 0.05 within 10 min |',
  );
  console.log('|---|---|---|---|---|');
  for (const rate of [57, 100]) {
    for (const exact of [false, true]) {
      const model = traffic(rate, 0.01);
      const fa = simulateFalseAlarms(settings, model, {
        seed: SEED,
        baselinePeriods: BASELINE_PERIODS,
        versions: VERSIONS,
        daysPerVersion: DAYS,
        exact,
      });
      const d = simulateDetection(settings, model, 0.05, {
        seed: SEED + 1,
        baselinePeriods: BASELINE_PERIODS,
        runs: RUNS,
        withinPeriods: 10,
        horizonPeriods: 10,
        exact,
      });
      console.log(
        `| ${rate} | 0.01 | ${exact ? 'every confidence' : 'CLT above 30'} | ${fa.per30Days.toFixed(3)} (${fa.falseAlarms}, ${fa.days.toFixed(0)}) | ${(100 * d.detectedWithin).toFixed(1)}% |`,
      );
    }
  }
  process.exit(0);
}

console.log(
  '| k × N | req/min | wander τ (AR φ 0.5) | false rollbacks / 30 d | 95% upper | within 10 min: 0.02 | 0.05 | 0.1 | 0.2 | median delay 0.05 (min) | smallest drop, 10 min, 95% |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const [k, N] of RULES) {
  const settings: ConfidenceAlarmSettings = {
    stdDevs: k,
    breachingPeriods: N,
    minRequests: MIN_REQUESTS,
    periodSeconds: 60,
  };
  for (const rate of RATES) {
    for (const tau of WANDER) {
      const model = traffic(rate, tau);
      const started = Date.now();
      const fa = simulateFalseAlarms(settings, model, {
        seed: SEED,
        baselinePeriods: BASELINE_PERIODS,
        versions: VERSIONS,
        daysPerVersion: DAYS,
      });
      const det = [0.02, 0.05, 0.1, 0.2].map((drop, i) =>
        simulateDetection(settings, model, drop, {
          seed: SEED + 1 + i,
          baselinePeriods: BASELINE_PERIODS,
          runs: RUNS,
          withinPeriods: 10,
          horizonPeriods: 1440,
        }),
      );
      const smallest = smallestDetectableDrop(settings, model, {
        seed: SEED + 9,
        baselinePeriods: BASELINE_PERIODS,
        runs: Math.min(RUNS, 400),
        withinPeriods: 10,
        power: 0.95,
        maxDrop: 0.5,
      });
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      console.log(
        `| ${k} × ${N} | ${rate} | ${tau} | ${fa.per30Days.toFixed(3)} (${fa.falseAlarms} in ${fa.days.toFixed(0)} d) | ${fa.upper95Per30Days.toFixed(3)} | ` +
          `${det.map((d) => pct(d.detectedWithin)).join(' | ')} | ${det[1]!.medianDelay ?? '> 1 day'} | ${smallest === null ? 'none ≤ 0.5' : smallest.toFixed(2)} |`,
      );
      process.stderr.write(
        `  (${k}×${N}, ${rate}/min, τ ${tau}: ${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
      );
    }
  }
}
