/**
 * Benchmark of the router's per-request assignment: how long does `assign()` take with a parsed flag?
 *
 *   npx tsx bench/router-assignment.ts [--calls N] [--batch N]
 *
 * Times batches of `--batch` calls with process.hrtime.bigint (one clock read per call would cost
 * about as much as a tenth of the call), and reports per call: p50 and p99 of the batch averages,
 * and the mean over all calls. Beside `assign` it times `bucketOf` and a bare SHA-256 of the same
 * input, to show where the time goes. Prints figures only.
 */
import { hash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { assign, bucketOf } from '../lambdas/core/routing/assignment';
import { parseFlagDocument } from '../lambdas/core/routing/flags';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${name} must be a whole number >= 1, got ${process.argv[index + 1]}`);
  }
  return value;
}

const CALLS = option('calls', 1_000_000);
const BATCH = option('batch', 100);
const WARMUP_CALLS = 100_000;

const flagText = JSON.stringify({
  schemaVersion: 1,
  model: 'document-classifier',
  experiment: 'document-classifier-2026-11',
  stable: { modelVersion: '9e8d7c6b1a2b3c4d5e6f70819293a4b5c6d7e8f9', endpoint: 'live' },
  candidate: { modelVersion: '4f1c2e9a0b1c2d3e4f5061728394a5b6c7d8e9f0', endpoint: 'live', percent: 12.5 },
  killSwitch: false,
  updatedBy: 'release-pipeline b59babff',
  updatedAt: '2026-11-27T10:00:00Z',
});
const flag = parseFlagDocument(flagText, 'bench flag');
const killed = { ...flag, killSwitch: true };

// Realistic ids (UUIDs), built before timing; the loop cycles through them.
const USER_IDS = Array.from({ length: 10_000 }, (_, i) => {
  const hex = hash('sha256', `bench-${i}`, 'hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
});

let sink = 0;

interface Figures {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

function measure(call: (userId: string) => number): Figures {
  for (let i = 0; i < WARMUP_CALLS; i++) sink += call(USER_IDS[i % USER_IDS.length]);
  const batches = Math.ceil(CALLS / BATCH);
  const perCall = new Float64Array(batches);
  let total = 0n;
  let next = 0;
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) {
      sink += call(USER_IDS[next]);
      next = next + 1 === USER_IDS.length ? 0 : next + 1;
    }
    const elapsed = process.hrtime.bigint() - start;
    total += elapsed;
    perCall[b] = Number(elapsed) / BATCH;
  }
  perCall.sort();
  const at = (q: number) => perCall[Math.min(batches - 1, Math.floor(q * batches))];
  return { p50: at(0.5), p99: at(0.99), mean: Number(total) / (batches * BATCH) };
}

const cases: readonly [string, (userId: string) => number][] = [
  ['assign (split at 12.5%)', (u) => assign(flag, u).bucket],
  ['assign (kill switch)', (u) => assign(killed, u).bucket],
  ['bucketOf', (u) => bucketOf(flag.experiment, u)],
  ['sha256 of the same input', (u) => hash('sha256', `${flag.experiment}\0${u}`, 'buffer')[0]],
];

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `node ${process.version}, ${cpu}, ${cpus().length} CPUs, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(
  `${CALLS.toLocaleString('en')} calls per case in batches of ${BATCH}, after ${WARMUP_CALLS.toLocaleString('en')} warm-up calls\n`,
);
const rows = cases.map(([name, call]) => ({ name, ...measure(call) }));
const width = Math.max(...rows.map((r) => r.name.length));
console.log(
  `${'case'.padEnd(width)}  ${'p50 ns'.padStart(8)}  ${'p99 ns'.padStart(8)}  ${'mean ns'.padStart(8)}`,
);
for (const r of rows) {
  const cell = (x: number) => Math.round(x).toLocaleString('en').padStart(8);
  console.log(`${r.name.padEnd(width)}  ${cell(r.p50)}  ${cell(r.p99)}  ${cell(r.mean)}`);
}
// Keeps the optimiser from dropping the calls.
if (sink === -1) console.log(sink);
