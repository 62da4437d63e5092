/**
 * The long version of test/calibration: measures every release-gate statistic by seeded simulation
 * and writes the table between the markers in docs/statistics.md (section "Release gates").
 *
 *   npx tsx bench/calibration.ts            # 20,000 runs per cell (a few minutes)
 *   npx tsx bench/calibration.ts --runs 5000 --no-write
 */
import { writeTableBetweenMarkers } from './doc-table';
import path from 'node:path';
import { rowsNeededForMargin, seededRandom, seedFromText } from '../lambdas/core/statistics/gate-stats';
import {
  accuracyGateRates,
  binomialCoverage,
  driftFalseAlarmRate,
  FIVE_CLASSES,
  identicalModelsGateRates,
  pairedCoverage,
  unpairedCoverage,
} from '../test/helpers/calibration';

const args = process.argv.slice(2);
const runsFlag = args.indexOf('--runs');
const DEFAULT_RUNS = 20_000;
const RUNS = runsFlag >= 0 ? Number(args[runsFlag + 1]) : DEFAULT_RUNS;
if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(`--runs must be a positive integer, got ${args[runsFlag + 1]}`);
  process.exit(2);
}
// The table names the command that wrote it, flags included: the committed table once came from
// `--runs 10000` while saying plain `npx tsx bench/calibration.ts`, whose 20,000 runs differ by noise.
const COMMAND = `npx tsx bench/calibration.ts${RUNS === DEFAULT_RUNS ? '' : ` --runs ${RUNS}`}`;
const WRITE = !args.includes('--no-write');
const DOC = path.join(__dirname, '..', 'docs', 'statistics.md');
const BEGIN = '<!-- calibration:begin (bench/calibration.ts writes this table) -->';
const END = '<!-- calibration:end -->';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const rng = (label: string) => seededRandom(seedFromText(label));
const rows: string[][] = [];
const add = (what: string, method: string, setting: string, value: string) => {
  rows.push([what, method, setting, value]);
  console.log([what, method, setting, value].join(' | '));
};

for (const [n, lo, hi] of [
  [100, 0.002, 0.01],
  [200, 0.005, 0.02],
  [500, 0.005, 0.02],
  [1000, 0.002, 0.01],
  [1000, 0.005, 0.02],
  [1000, 0.1, 0.5],
] as const) {
  for (const method of ['wilson', 'modified-wilson'] as const) {
    const c = binomialCoverage(method, n, lo, hi, RUNS, rng(`binomial ${method} ${n} ${lo}`));
    add(
      'coverage of a 95% interval for one proportion',
      method === 'wilson' ? 'Wilson (before)' : 'modified Wilson (now)',
      `n = ${n}, p uniform in [${lo}, ${hi}]`,
      pct(c),
    );
  }
}
for (const [n1, n2, lo, hi, gap] of [
  [200, 1000, 0.01, 0.05, 0.01],
  [500, 2000, 0.01, 0.05, 0.01],
  [300, 3000, 0.85, 0.95, 0.02],
] as const) {
  const c = unpairedCoverage(n1, n2, lo, hi, gap, RUNS, rng(`unpaired ${n1} ${n2} ${lo}`));
  add(
    'coverage of a 95% interval for a difference of two proportions',
    'Newcombe hybrid score (unpaired)',
    `n = ${n1} vs ${n2}, p₁ in [${lo}, ${hi}], p₂ = p₁ + ${gap}`,
    pct(c),
  );
}
for (const [n, discordance, drop] of [
  [200, 0.1, 0],
  [500, 0.05, 0],
  [500, 0.1, 0.02],
  [2000, 0.05, 0.01],
  [2000, 0.2, 0.04],
] as const) {
  const c = pairedCoverage(n, 0.92, discordance, drop, RUNS, rng(`paired ${n} ${discordance} ${drop}`));
  add(
    'coverage of a 95% interval for a difference of paired accuracies',
    'Newcombe paired (method 10)',
    `n = ${n}, accuracy 0.92, discordance ${discordance}, true drop ${drop}`,
    pct(c),
  );
}

const recommended = rowsNeededForMargin(0.02, 0.1);
for (const paired of [true, false]) {
  for (const n of [500, recommended]) {
    for (const drop of [0, 0.04]) {
      for (const policy of ['point-estimate', 'pass'] as const) {
        if (!paired && policy === 'pass') continue;
        const r = accuracyGateRates({
          n,
          accuracy: 0.92,
          discordance: 0.1,
          drop,
          margin: 0.02,
          policy,
          paired,
          runs: RUNS,
          random: rng(`gate ${paired} ${n} ${drop} ${policy}`),
        });
        add(
          drop === 0 ? 'accuracy check fails identical models' : 'accuracy check fails a model 0.04 worse',
          `${paired ? 'paired' : 'unpaired'}, onInconclusive: ${policy}`,
          `n = ${n}, margin 0.02, accuracy 0.92, discordance 0.1`,
          `${pct(r.fail)} (inconclusive ${pct(r.inconclusive)})`,
        );
      }
    }
  }
}
for (const policy of ['point-estimate', 'pass'] as const) {
  const r = identicalModelsGateRates({
    n: 500,
    slices: 3,
    accuracy: 0.92,
    discordance: 0.1,
    policy,
    resamples: 200,
    runs: Math.max(200, Math.round(RUNS / 40)),
    random: rng(`whole gate ${policy}`),
  });
  add(
    'whole regression gate fails identical models',
    `paired, bias-gap bootstrap (200 resamples), onInconclusive: ${policy}`,
    `n = 500 in 3 slices, accuracy 0.92, discordance 0.1 (${Math.max(200, Math.round(RUNS / 40))} runs)`,
    `${pct(r.gate)} (accuracy ${pct(r.accuracy)}, bias gap ${pct(r.biasGap)})`,
  );
}
for (const n of [100, 200, 500]) {
  for (const rule of ['distance-only', 'distance-and-significance'] as const) {
    const r = driftFalseAlarmRate({
      n,
      shares: FIVE_CLASSES,
      maxDrift: 0.1,
      rule,
      runs: RUNS,
      random: rng(`drift ${n} ${rule}`),
    });
    add(
      'drift gate fails two clean iid samples',
      rule === 'distance-only' ? 'JS distance > 0.1 (before)' : 'JS > 0.1 and X² test p < 0.01 (now)',
      `${n} vs ${n} rows, 5 labels (40/25/15/12/8%)`,
      pct(r),
    );
  }
}

const table = [
  `Measured by \`${COMMAND}\` with ${RUNS.toLocaleString('en-US')} seeded runs per row unless the row says otherwise; every run draws from \`seededRandom\` seeded by the row's label, so a rerun gives the same table.`,
  '',
  '| measures | method | setting | measured |',
  '| --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');

if (WRITE) writeTableBetweenMarkers(DOC, BEGIN, END, table);
