/**
 * Long calibration runs of the live confidence alarm (lambdas/core/monitoring/confidence-alarm.ts): false
 * rollbacks per 30 days and detection of drops in mean confidence, for rules (k, M of N, period) ×
 * traffic (requests/min) × traffic model (iid, AR(1) wander of the minute mean), with the
 * definition the stack deploys, evaluated every minute over a sliding window as CloudWatch does.
 * Prints a markdown table (docs/statistics.md, "The confidence alarm"); `--write` puts it there.
 *
 *   npx tsx bench/confidence-alarm.ts [--versions 150] [--days 9] [--runs 1000] [--seed 7]
 *   npx tsx bench/confidence-alarm.ts --rules 3x3/5x120,2x5/5x60 --rates 57,100 --wander 0,0.01 --extra ''
 *   npx tsx bench/confidence-alarm.ts --exact-check     # CLT shortcut vs drawing every confidence
 *
 * A rule is `k x M/N x periodSeconds`: z < −k in M of the last N periods.
 */
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import {
  simulateDetection,
  simulateFalseAlarms,
  smallestDetectableDrop,
  type ConfidenceAlarmSettings,
  type TrafficModel,
} from '../lambdas/core/monitoring/confidence-alarm';
import { writeTableBetweenMarkers } from './doc-table';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}
const numbers = (s: string) => s.split(',').map(Number);

const VERSIONS = Number(option('versions', '150'));
const DAYS = Number(option('days', '9'));
const RUNS = Number(option('runs', '1000'));
const SEED = Number(option('seed', '7'));
const BASELINE_HOURS = Number(option('baseline-hours', '6'));
const MIN_REQUESTS = Number(option('min-requests', '10'));
const RATES = numbers(option('rates', '57,100'));
const WANDER = numbers(option('wander', '0.01'));
/** More cells for the first rule only (the shipped one), as rate:wander pairs. */
const EXTRA = option('extra', '100:0,300:0.01')
  .split(',')
  .filter((c) => c !== '')
  .map((c) => c.split(':').map(Number) as [number, number]);
const WRITE = process.argv.includes('--write');

function ruleOf(text: string): ConfidenceAlarmSettings {
  const m = /^([0-9.]+)x(\d+)\/(\d+)x(\d+)$/.exec(text);
  if (!m) throw new Error(`a rule is k x M/N x periodSeconds, like 3x3/5x120; got "${text}"`);
  return {
    stdDevs: Number(m[1]),
    breachingPeriods: Number(m[2]),
    evaluationPeriods: Number(m[3]),
    minRequests: MIN_REQUESTS,
    periodSeconds: Number(m[4]),
  };
}
const RULES = option('rules', '3x3/5x120,2x5/5x60,2x4/4x60,3.25x2/2x180,2.75x3/5x120').split(',').map(ruleOf);
const name = (s: ConfidenceAlarmSettings) =>
  `${s.stdDevs} × ${s.breachingPeriods}/${s.evaluationPeriods} × ${s.periodSeconds} s`;
const baselinePeriods = (s: ConfidenceAlarmSettings) => Math.round((BASELINE_HOURS * 3600) / s.periodSeconds);

const traffic = (rate: number, tau: number): TrafficModel => ({
  requestsPerMinute: rate,
  confidenceMean: 0.8,
  confidenceStdDev: 0.12,
  periodStdDev: tau,
  periodAutocorrelation: 0.5,
});

console.log(
  `# confidence alarm calibration: ${VERSIONS} versions × ${DAYS} days per cell, ${RUNS} detection runs per drop, ` +
    `baseline ${BASELINE_HOURS} h, nMin ${MIN_REQUESTS}, seed ${SEED}; ` +
    `${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)}, node ${process.version}`,
);

if (process.argv.includes('--exact-check')) {
  // The simulator draws minute means from their normal limit above 30 requests; here every confidence is drawn.
  const settings = RULES[0]!;
  console.log(
    `| rule | rate | wander τ | drawing | false rollbacks / 30 d (count, days) | drop 0.05 within 10 min |`,
  );
  console.log('|---|---|---|---|---|---|');
  for (const rate of RATES) {
    for (const exact of [false, true]) {
      const model = traffic(rate, 0.01);
      const fa = simulateFalseAlarms(settings, model, {
        seed: SEED,
        baselinePeriods: baselinePeriods(settings),
        versions: VERSIONS,
        daysPerVersion: DAYS,
        exact,
      });
      const d = simulateDetection(settings, model, 0.05, {
        seed: SEED + 1,
        baselinePeriods: baselinePeriods(settings),
        runs: RUNS,
        withinMinutes: 10,
        horizonMinutes: 10,
        exact,
      });
      console.log(
        `| ${name(settings)} | ${rate} | 0.01 | ${exact ? 'every confidence' : 'CLT above 30'} | ${fa.per30Days.toFixed(3)} (${fa.falseAlarms}, ${fa.days.toFixed(0)}) | ${(100 * d.detectedWithin).toFixed(1)}% |`,
      );
    }
  }
  process.exit(0);
}

const rows: string[] = [
  '| k × M/N × period | req/min | wander τ (AR φ 0.5) | false rollbacks / 30 d | 95% upper | within 10 min: 0.02 | 0.05 | 0.1 | 0.2 | median delay 0.05 (min) | smallest drop, 10 min, 95% |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
const cells = RULES.flatMap((settings, i) => [
  ...RATES.flatMap((rate) => WANDER.map((tau) => ({ settings, rate, tau }))),
  ...(i === 0 ? EXTRA.map(([rate, tau]) => ({ settings, rate, tau })) : []),
]);
for (const { settings, rate, tau } of cells) {
  const model = traffic(rate, tau);
  const started = Date.now();
  const fa = simulateFalseAlarms(settings, model, {
    seed: SEED,
    baselinePeriods: baselinePeriods(settings),
    versions: VERSIONS,
    daysPerVersion: DAYS,
  });
  const det = [0.02, 0.05, 0.1, 0.2].map((drop, i) =>
    simulateDetection(settings, model, drop, {
      seed: SEED + 1 + i,
      baselinePeriods: baselinePeriods(settings),
      runs: RUNS,
      withinMinutes: 10,
      horizonMinutes: 1440,
    }),
  );
  const smallest = smallestDetectableDrop(settings, model, {
    seed: SEED + 9,
    baselinePeriods: baselinePeriods(settings),
    runs: Math.min(RUNS, 400),
    withinMinutes: 10,
    power: 0.95,
    maxDrop: 0.5,
  });
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const row =
    `| ${name(settings)} | ${rate} | ${tau} | ${fa.per30Days.toFixed(3)} (${fa.falseAlarms} in ${fa.days.toFixed(0)} d) | ${fa.upper95Per30Days.toFixed(3)} | ` +
    `${det.map((d) => pct(d.detectedWithin)).join(' | ')} | ${det[1]!.medianDelay ?? '> 1 day'} | ${smallest === null ? 'none ≤ 0.5' : smallest.toFixed(2)} |`;
  rows.push(row);
  console.log(row);
  process.stderr.write(
    `  (${name(settings)}, ${rate}/min, τ ${tau}: ${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
  );
}
if (WRITE) {
  writeTableBetweenMarkers(
    path.join(__dirname, '..', 'docs', 'statistics.md'),
    '<!-- confidence-alarm:begin (bench/confidence-alarm.ts --write writes this table) -->',
    '<!-- confidence-alarm:end -->',
    rows.join('\n'),
  );
}
