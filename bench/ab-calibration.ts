/**
 * The long version of test/calibration/ab.test.ts: measures the A/B analysis by seeded simulation
 * (test/helpers/ab-simulation.ts) and writes the table between the markers in docs/statistics.md
 * (section "A/B analysis").
 *
 *   npx tsx bench/ab-calibration.ts                    # the table in docs/statistics.md
 *   npx tsx bench/ab-calibration.ts --scale 0.2 --no-write   # a quicker look, nothing written
 */
import { writeTableBetweenMarkers } from './doc-table';
import path from 'node:path';
import { seededRandom, seedFromText } from '../lambdas/core/statistics/gate-stats';
import {
  aaSpuriousWinnerRate,
  errorRateDetection,
  splitFalseAlarmRate,
  type TrafficModel,
} from '../test/helpers/ab-simulation';

const args = process.argv.slice(2);
const scaleFlag = args.indexOf('--scale');
const SCALE = scaleFlag >= 0 ? Number(args[scaleFlag + 1]) : 1;
const WRITE = !args.includes('--no-write');
const DOC = path.join(__dirname, '..', 'docs', 'statistics.md');
const BEGIN = '<!-- ab-calibration:begin (bench/ab-calibration.ts writes this table) -->';
const END = '<!-- ab-calibration:end -->';

const runs = (n: number) => Math.max(10, Math.round(n * SCALE));
const rng = (label: string) => seededRandom(seedFromText(label));
const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)}%`;
const rows: string[][] = [];
const add = (what: string, setting: string, value: string) => {
  rows.push([what, setting, value]);
  console.log([what, setting, value].join(' | '));
};

const traffic = (m: TrafficModel) =>
  `${m.requestsPerMinute} req/min, candidate ${m.candidatePercent}%` +
  (m.candidateErrorFactor && m.candidateErrorFactor !== 1 ? `, errors 1% → ${m.candidateErrorFactor}%` : '');

for (const model of [
  { requestsPerMinute: 1, candidatePercent: 50 },
  { requestsPerMinute: 10, candidatePercent: 50 },
  { requestsPerMinute: 10, candidatePercent: 10 },
] as TrafficModel[]) {
  const n = runs(model.requestsPerMinute >= 10 ? 300 : 1000);
  const rate = aaSpuriousWinnerRate(model, 30, n, rng(`aa ${traffic(model)}`));
  add(
    'A/A: spurious winner over 30 nightly looks, 2 metrics (target ≤ 5%)',
    `${traffic(model)}; ${n} experiments`,
    pct(rate),
  );
}

for (const [users, percent] of [
  [300, 10],
  [2000, 10],
  [2000, 50],
  [20_000, 10],
] as const) {
  const days = runs(users >= 20_000 ? 5000 : 20_000);
  const rates = splitFalseAlarmRate(
    { users, candidatePercent: percent },
    days,
    rng(`split ${users} ${percent}`),
  );
  add(
    'split check false alarms, p < 0.001 (target ≤ 0.2%)',
    `${users.toLocaleString('en')} users/day, geometric requests (mean 10), candidate ${percent}%; ${days.toLocaleString('en')} days`,
    `buckets ${pct(rates.buckets, 2)}; requests as independent (old check) ${pct(rates.requests, 1)}`,
  );
}

for (const model of [
  { requestsPerMinute: 2, candidatePercent: 10, candidateErrorFactor: 2 },
  { requestsPerMinute: 10, candidatePercent: 10, candidateErrorFactor: 2 },
  { requestsPerMinute: 100, candidatePercent: 10, candidateErrorFactor: 2 },
] as TrafficModel[]) {
  const n = runs(model.requestsPerMinute >= 100 ? 50 : 200);
  const r = errorRateDetection(model, 30, n, rng(`power ${traffic(model)}`));
  add(
    'power: error rate 1% → 2% found within 30 nights',
    `${traffic(model)}; ${n} experiments`,
    `${pct(r.power)}; median night ${Number.isFinite(r.medianNight) ? r.medianNight : 'never'}; ` +
      `MDE after night 1 ${(r.firstNightMde * 100).toFixed(2)} points`,
  );
}

const table = [
  '| measured | traffic and runs | result |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
if (WRITE) writeTableBetweenMarkers(DOC, BEGIN, END, table);
