/**
 * `mlops validate-data` against the source article's Python validator (bench/seed_validator.py, a copy
 * of ../shared/seed/'s), on the same generated file, in the same run.
 *
 *   npx tsx bench/validate-data-vs-python.ts [--rows N] [--reference-rows N] [--runs N]
 *
 * The dataset is validate-data.ts's seeded generator without broken lines (the Python validator stops
 * at the first line that is not JSON); the reference is the same generator's first `--reference-rows`
 * rows (default 10,000). Each round runs both commands once, in turn, so load elsewhere on the machine
 * weighs on both alike; figures are medians over rounds. Wall time, CPU time (user + system) and peak
 * RSS come from GNU time (/usr/bin/time). The CLI runs as a user runs it: `node bin/mlops.js`, on the
 * compiled dist/ (built first, as `npm ci` does). Both must answer "valid" (exit 0), or the run fails.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { ensureDataset } from './validate-data';

const ROOT = path.resolve(__dirname, '..');

interface Sample {
  readonly wall: number;
  readonly cpu: number;
  readonly rssMiB: number;
}

function timed(name: string, command: readonly string[]): Sample {
  const res = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...command], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, CI: 'true' },
  });
  const last = res.stderr.trim().split('\n').pop() ?? '';
  const [wall, user, sys, rssKiB] = last.split(' ').map(Number);
  if (res.status !== 0 || !Number.isFinite(wall)) {
    throw new Error(
      `${name} failed (exit ${res.status}):\n${res.stdout.slice(0, 2000)}\n${res.stderr.slice(-2000)}`,
    );
  }
  return { wall, cpu: user + sys, rssMiB: rssKiB / 1024 };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function positiveInteger(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const value = Number(args[at + 1]?.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} is '${args[at + 1]}'; expected a whole number >= 1.`);
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rows = positiveInteger(args, '--rows', 1_000_000);
  const referenceRows = positiveInteger(args, '--reference-rows', 10_000);
  const runs = positiveInteger(args, '--runs', 3);
  const { path: dataset, manifest } = await ensureDataset(rows, true);
  const { path: reference } = await ensureDataset(referenceRows, true);
  spawnSync(process.execPath, ['scripts/build-cli.js'], { cwd: ROOT, stdio: 'inherit' });

  const cases: [string, string[]][] = [
    ['python3 bench/seed_validator.py', ['python3', 'bench/seed_validator.py', dataset, reference]],
    [
      'mlops validate-data',
      [process.execPath, 'bin/mlops.js', 'validate-data', dataset, '--reference', reference],
    ],
  ];
  const loadBefore = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const samples = new Map<string, Sample[]>(cases.map(([name]) => [name, []]));
  for (let round = 0; round < runs; round++) {
    for (const [name, command] of cases) samples.get(name)!.push(timed(name, command));
    if (process.stderr.isTTY) process.stderr.write(`\rround ${round + 1}/${runs}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

  console.log(
    `validate-data vs the seed's Python validator: ${rows.toLocaleString('en-US')} rows, ` +
      `${(manifest.bytes / 2 ** 20).toFixed(0)} MiB, reference ${referenceRows.toLocaleString('en-US')} rows, ` +
      `node ${process.version}, median of ${runs} rounds, load average before ${loadBefore}, after ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
  console.log('');
  console.log('| command | wall s | CPU s | peak RSS MiB | each round: wall s / peak RSS MiB |');
  console.log('|---|---:|---:|---:|---|');
  const medians = new Map<string, Sample>();
  for (const [name, xs] of samples) {
    const m = {
      wall: median(xs.map((x) => x.wall)),
      cpu: median(xs.map((x) => x.cpu)),
      rssMiB: Math.max(...xs.map((x) => x.rssMiB)),
    };
    medians.set(name, m);
    console.log(
      `| ${name} | ${m.wall.toFixed(2)} | ${m.cpu.toFixed(2)} | ${m.rssMiB.toFixed(1)} | ${xs.map((x) => `${x.wall.toFixed(2)} / ${x.rssMiB.toFixed(1)}`).join(', ')} |`,
    );
  }
  const python = medians.get(cases[0][0])!;
  const cli = medians.get(cases[1][0])!;
  console.log('');
  console.log(
    `mlops validate-data is ${(python.wall / cli.wall).toFixed(1)}× faster (wall), ` +
      `${(python.cpu / cli.cpu).toFixed(1)}× (CPU); peak RSS ${cli.rssMiB.toFixed(1)} MiB (max over rounds) ` +
      `against ${python.rssMiB.toFixed(0)} MiB. Targets: >= 10× faster, <= 64 MiB.`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
