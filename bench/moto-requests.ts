/**
 * How many requests each jest suite sends to moto, of which operations, and moto's CPU for them:
 * runs jest with the moto servers counting (test/setup/moto-server.py --count) and a setup file that
 * names each suite to its worker's server (bench/moto-requests/announce.ts).
 *
 *   npx tsx bench/moto-requests.ts [--top N] [jest args, e.g. test/lambdas]
 *
 * Prints, per suite with moto requests (most CPU first): requests, moto CPU (the serving thread's
 * CPU time around moto's application: werkzeug's own HTTP parsing is not in it), and its top
 * operations; then the whole servers' CPU (/proc) and the totals. Linux only for the server CPU.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { MOTO_COUNT_ENV } from '../test/helpers/moto-pool';

const ROOT = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const topIndex = argv.indexOf('--top');
const TOP = topIndex >= 0 ? Number(argv[topIndex + 1]) : 6;
const jestArgs = topIndex >= 0 ? argv.filter((_, i) => i !== topIndex && i !== topIndex + 1) : argv;
const dir = mkdtempSync(path.join(tmpdir(), 'mlops-moto-requests-'));
const cpuOut = path.join(dir, 'suites.jsonl');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const loadBefore = load();
const started = performance.now();
const res = spawnSync(
  'npx',
  [
    'jest',
    ...jestArgs,
    // Last: it takes every value after it. Replaces the configured list: keep it, add the announcer.
    '--setupFilesAfterEnv',
    'aws-cdk-lib/testhelpers/jest-autoclean',
    '<rootDir>/bench/moto-requests/announce.ts',
  ],
  {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    // MLOPS_TEST_CPU_OUT: test/setup/global-teardown.ts writes the servers' whole CPU there.
    env: { ...process.env, [MOTO_COUNT_ENV]: dir, MLOPS_TEST_CPU_OUT: cpuOut },
  },
);
const wall = (performance.now() - started) / 1000;

type Counts = Record<string, Record<string, [number, number]>>;
const suites = new Map<string, Map<string, { n: number; cpu: number }>>();
let serverCpuMs = 0;
try {
  for (const f of readdirSync(dir).filter((n) => /^moto-\d+\.json$/.test(n))) {
    const counts = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Counts;
    for (const [suite, ops] of Object.entries(counts)) {
      const m = suites.get(suite) ?? new Map<string, { n: number; cpu: number }>();
      for (const [op, [n, cpu]] of Object.entries(ops)) {
        const row = m.get(op) ?? { n: 0, cpu: 0 };
        row.n += n;
        row.cpu += cpu;
        m.set(op, row);
      }
      suites.set(suite, m);
    }
  }
  if (existsSync(cpuOut))
    for (const line of readFileSync(cpuOut, 'utf8').trim().split('\n').filter(Boolean)) {
      const row = JSON.parse(line) as { file: string; cpuMs: number };
      if (row.file === '(moto servers)') serverCpuMs += row.cpuMs;
    }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rows = [...suites].map(([suite, ops]) => {
  const list = [...ops].map(([op, r]) => ({ op, ...r })).sort((a, b) => b.cpu - a.cpu);
  return {
    suite: suite.startsWith(ROOT) ? path.relative(ROOT, suite) : suite,
    n: list.reduce((s, r) => s + r.n, 0),
    cpu: list.reduce((s, r) => s + r.cpu, 0),
    list,
  };
});
rows.sort((a, b) => b.cpu - a.cpu);
const totalN = rows.reduce((s, r) => s + r.n, 0);
const totalCpu = rows.reduce((s, r) => s + r.cpu, 0);
console.log(`jest exit ${res.status}; wall ${wall.toFixed(1)} s; load before ${loadBefore}, after ${load()}`);
console.log(
  `${totalN} requests to moto from ${rows.length} suites; moto CPU serving them ${totalCpu.toFixed(1)} s ` +
    `(${((totalCpu / Math.max(1, totalN)) * 1000).toFixed(2)} ms each); whole servers ${(serverCpuMs / 1000).toFixed(1)} s\n`,
);
for (const r of rows) {
  console.log(`${r.cpu.toFixed(2).padStart(7)} s ${String(r.n).padStart(6)} req  ${r.suite}`);
  for (const o of r.list.slice(0, TOP))
    console.log(`${o.cpu.toFixed(2).padStart(17)} s ${String(o.n).padStart(6)}      ${o.op}`);
}
process.exit(res.status ?? 1);
