/**
 * Where people wait: `mlops --help` against `node -e 0`, and `cdk synth` of the shipped config
 * (and of 50 models) against a one-bucket app synthesized by the same CLI in the same run.
 *
 *   npx tsx bench/startup.ts [--runs N] [--only cli|synth]
 *
 * Each round runs every case once, in turn, so a machine whose load changes weighs on all of them
 * alike; the figures are medians over the rounds. Wall time, CPU time (user + system, children
 * included) and peak RSS come from GNU time (/usr/bin/time). Synth cases: "warm" reuses the handler
 * bundles of the last synth (node_modules/.cache/mlops-handler-bundles), "cold" deletes them first.
 * `cdk synth` runs the compiled app (bin/app.js, dist/ built first); the one-bucket peer runs both
 * through tsx (the peer) and compiled by esbuild, so the ratio to each is printed.
 */
import { spawnSync } from 'node:child_process';
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { manyModelsConfig, median, timeProcess } from './measure';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE_CACHE = path.join(ROOT, 'node_modules', '.cache', 'mlops-handler-bundles');

interface Sample {
  readonly wall: number;
  readonly cpu: number;
  readonly rssMiB: number;
}

interface Case {
  readonly name: string;
  readonly command: readonly string[];
  readonly before?: () => void;
}

function measure(c: Case): Sample {
  c.before?.();
  return timeProcess(c.name, c.command, ROOT);
}

function runRounds(cases: readonly Case[], runs: number): Map<string, Sample> {
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const c of cases) samples.get(c.name)!.push(measure(c));
    process.stderr.write(`round ${r + 1}/${runs} done\n`);
  }
  return new Map(
    [...samples].map(([name, xs]) => [
      name,
      {
        wall: median(xs.map((x) => x.wall)),
        cpu: median(xs.map((x) => x.cpu)),
        rssMiB: median(xs.map((x) => x.rssMiB)),
      },
    ]),
  );
}

function print(title: string, results: Map<string, Sample>, ...peers: string[]): void {
  const cols = peers.map((p) => ` wall × ${p} | CPU × ${p} |`).join('');
  console.log(`\n${title} (medians)`);
  console.log(`| case | wall s | CPU s | peak RSS MiB |${cols}`);
  console.log(`|---|---|---|---|${peers.map(() => '---|---|').join('')}`);
  for (const [name, s] of results) {
    const ratios = peers
      .map((p) => results.get(p)!)
      .map((b) => ` ${(s.wall / b.wall).toFixed(2)}× | ${(s.cpu / b.cpu).toFixed(2)}× |`)
      .join('');
    console.log(`| ${name} | ${s.wall.toFixed(2)} | ${s.cpu.toFixed(2)} | ${s.rssMiB.toFixed(1)} |${ratios}`);
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  console.log(
    `node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${runs} round(s)`,
  );

  // dist/ fresh, so that bin/mlops.js and bin/app.js run the compiled code (bin/launch.js).
  spawnSync(process.execPath, ['scripts/build-cli.js'], { cwd: ROOT, stdio: 'inherit' });
  if (only !== 'synth') {
    print(
      'CLI start',
      runRounds(
        [
          { name: 'node -e 0', command: [process.execPath, '-e', '0'] },
          { name: 'mlops --help (dist/)', command: [process.execPath, 'bin/mlops.js', '--help'] },
          {
            name: 'mlops --help (TypeScript via tsx)',
            command: [process.execPath, '--import', 'tsx', 'bin/mlops.ts', '--help'],
          },
        ],
        runs,
      ),
      'node -e 0',
    );
  }

  if (only !== 'cli') {
    const out = mkdtempSync(path.join(tmpdir(), 'mlops-bench-out-'));
    const many = manyModelsConfig(ROOT, 50);
    const cdk = path.join(ROOT, 'node_modules', '.bin', 'cdk');
    const synth = (...extra: string[]) => [cdk, 'synth', '--quiet', '-o', out, ...extra];
    // Inside the checkout, so that it finds node_modules as the compiled app does.
    const compiledPeer = path.join(ROOT, 'bench', '.data', 'one-bucket-app.js');
    buildSync({
      entryPoints: [path.join(ROOT, 'bench', 'one-bucket-app.ts')],
      outfile: compiledPeer,
      format: 'cjs',
      platform: 'node',
      logLevel: 'warning',
    });
    try {
      print(
        'cdk synth',
        runRounds(
          [
            {
              name: 'one-bucket app',
              command: synth('-a', `${process.execPath} --import tsx bench/one-bucket-app.ts`),
            },
            {
              name: 'one-bucket app, compiled',
              command: synth('-a', `${process.execPath} ${compiledPeer}`),
            },
            { name: 'shipped config, warm bundles', command: synth() },
            {
              name: 'shipped config, through tsx',
              command: synth('-a', `${process.execPath} --import tsx bin/app.ts`),
            },
            {
              name: 'shipped config, cold bundles',
              command: synth(),
              before: () => rmSync(BUNDLE_CACHE, { recursive: true, force: true }),
            },
            { name: '50 models, warm bundles', command: synth('-c', `configDir=${many}`) },
          ],
          runs,
        ),
        'one-bucket app',
        'one-bucket app, compiled',
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(many, { recursive: true, force: true });
    }
  }
}

main();
