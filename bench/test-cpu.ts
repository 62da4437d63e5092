/**
 * Which jest suites cost the most CPU: runs jest with bench/test-cpu/probe.ts and prints the suites
 * ranked by CPU time (user + system, in the jest worker; child processes not counted), with wall time
 * and the load average before and after, and the CPU time of the moto servers. On a shared 2-core machine wall times swing with the load;
 * CPU times barely do, so compare those between runs.
 *
 *   npx tsx bench/test-cpu.ts [--weights] [jest args, e.g. --maxWorkers=1 test/stacks]
 *
 * --weights: after a whole run, writes test/setup/suite-weights.json (suites of 2 s or more), the
 * order test/setup/sequencer.js gives suites that jest has no recorded duration for (a clean clone).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'mlops-test-cpu-'));
const out = path.join(dir, 'suites.jsonl');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const writeWeights = process.argv.includes('--weights');
const jestArgs = process.argv.slice(2).filter((a) => a !== '--weights');
const loadBefore = load();
const started = performance.now();
const res = spawnSync(
  'npx',
  [
    'jest',
    ...jestArgs,
    // Last, as it takes every value after it (test paths too). Replaces the configured list: keep
    // it, add the probe.
    '--setupFilesAfterEnv',
    'aws-cdk-lib/testhelpers/jest-autoclean',
    '<rootDir>/bench/test-cpu/probe.ts',
  ],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, MLOPS_TEST_CPU_OUT: out } },
);
const wall = (performance.now() - started) / 1000;

interface Row {
  readonly file: string;
  readonly cpuMs: number;
  readonly wallMs: number;
}
let rows: Row[];
try {
  rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
// test/setup/global-teardown.ts adds the moto servers' CPU as one line of its own.
const MOTO = '(moto servers)';
const motoMs = rows.filter((r) => r.file === MOTO).reduce((s, r) => s + r.cpuMs, 0);
rows = rows.filter((r) => r.file !== MOTO);
rows.sort((a, b) => b.cpuMs - a.cpuMs);
const total = rows.reduce((s, r) => s + r.cpuMs, 0) / 1000;
console.log(`jest exit ${res.status}; wall ${wall.toFixed(1)} s; load before ${loadBefore}, after ${load()}`);
console.log(`${rows.length} suites, worker CPU ${total.toFixed(1)} s in all`);
console.log(`moto servers CPU ${(motoMs / 1000).toFixed(1)} s (Linux only)\n`);
console.log('  cpu s   wall s  suite');
for (const r of rows)
  console.log(
    `${(r.cpuMs / 1000).toFixed(1).padStart(7)}  ${(r.wallMs / 1000).toFixed(1).padStart(7)}  ${path.relative(ROOT, r.file)}`,
  );
if (writeWeights && res.status === 0) {
  const weights = Object.fromEntries(
    rows
      .filter((r) => r.cpuMs >= 2000)
      .map((r) => [path.relative(ROOT, r.file).split(path.sep).join('/'), Math.round(r.cpuMs / 100) / 10]),
  );
  writeFileSync(path.join(ROOT, 'test/setup/suite-weights.json'), JSON.stringify(weights, null, 2) + '\n');
  console.log(`\nwrote test/setup/suite-weights.json (${Object.keys(weights).length} suites)`);
}
process.exit(res.status ?? 1);
