/**
 * The long version of test/calibration/shadow.test.ts: coverage of the shadow comparison's paired
 * intervals, by seeded simulation of whole shadow windows through the real pairing and comparison
 * code (traffic model: test/helpers/shadow-calibration.ts). Prints a Markdown table for
 * docs/statistics.md.
 *
 *   npx tsx bench/shadow-calibration.ts [--runs 5000]
 */
import { seededRandom } from '../lambdas/core/statistics/gate-stats';
import { DEFAULT_TRAFFIC, pairedCoverage, type ShadowTraffic } from '../test/helpers/shadow-calibration';

const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 5000;
if (!Number.isSafeInteger(RUNS) || RUNS < 1) {
  console.error(`--runs must be a whole number >= 1, got ${process.argv[runsFlag + 1]}`);
  process.exit(2);
}

interface Cell {
  readonly name: string;
  readonly traffic: ShadowTraffic;
  readonly agreement: readonly [number, number];
}

const cells: Cell[] = [
  { name: '100 requests', traffic: { ...DEFAULT_TRAFFIC, requests: 100 }, agreement: [0.85, 0.99] },
  { name: '300 requests', traffic: { ...DEFAULT_TRAFFIC, requests: 300 }, agreement: [0.95, 0.999] },
  { name: '300 requests', traffic: { ...DEFAULT_TRAFFIC, requests: 300 }, agreement: [0.5, 0.9] },
  {
    name: '300 requests, failures 10% / 15% (5% both)',
    traffic: { ...DEFAULT_TRAFFIC, requests: 300, productionFail: 0.1, shadowFail: 0.15, bothFail: 0.05 },
    agreement: [0.9, 0.99],
  },
  {
    name: '200 requests, latency reported',
    traffic: { ...DEFAULT_TRAFFIC, requests: 200, latency: true },
    agreement: [0.95, 0.99],
  },
  {
    name: '400 requests, latency reported',
    traffic: { ...DEFAULT_TRAFFIC, requests: 400, latency: true },
    agreement: [0.95, 0.99],
  },
  {
    name: '600 requests, latency reported',
    traffic: { ...DEFAULT_TRAFFIC, requests: 600, latency: true },
    agreement: [0.95, 0.99],
  },
];

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
console.log(
  `Shadow paired intervals, nominal 95%, ${RUNS} windows per row. Capture 80% per variant, 5% of requests ` +
    'without InferenceId, failures 1% / 2% (0.5% both) unless stated, latency difference 5 ms + Exp(6) − 6.',
);
console.log('');
console.log(
  '| window | true agreement | agreement (modified Wilson) | failure difference (Newcombe paired) | mean latency difference (t), windows with an interval |',
);
console.log('| --- | --- | --: | --: | --: |');
const started = Date.now();
cells.forEach((cell, i) => {
  const c = pairedCoverage(cell.traffic, cell.agreement, RUNS, seededRandom(1000 + i));
  const latency = cell.traffic.latency ? `${pct(c.latencyMean)} (${c.latencyRuns} of ${c.runs})` : '—';
  console.log(
    `| ${cell.name} | ${cell.agreement[0]}–${cell.agreement[1]} | ${pct(c.agreement)} | ${pct(c.failureDifference)} | ${latency} |`,
  );
});
console.log('');
console.log(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
