/**
 * The router's cold start as its first caller sees it: module init, then the first request, then a
 * second one, each in a fresh `node` per round.
 *
 *   npx tsx bench/router-first-request.ts [--runs N] [--before <git ref>]
 *
 * bench/lambda-init.ts times the `require` of the shipped bundle; work moved from init into the first
 * request would vanish from that figure. This bundles bench/router-first-request/entry.ts (the router
 * wired as lambdas/router/index.ts wires it, with in-process stand-ins for the flag, the HMAC key, the
 * endpoint and Firehose) with the shipped bundles' options and plugins (lib/constructs/handler-bundles.ts,
 * scripts/bundle-handlers.js), copies it outside the checkout and, per round, times in a new process:
 * the `require` (init), the first invocation (until the answer is handed to the response stream, and
 * whole, with the prediction log's flush after it) and a second one. What it leaves out: the SDK clients
 * and the network of lambdas/router/index.ts; the SDK packages the router's code itself touches on its
 * first request (its InvokeEndpoint and PutRecordBatch commands) load from NODE_PATH as in Lambda.
 *
 * --before builds the same entry from another commit (a temporary git worktree) and measures it in the
 * same rounds, alternating: before and after at the same load. Figures (medians) go to stdout.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { BUILD_OPTIONS } from '../lib/constructs/handler-bundles';
import { lambdaInitEnv } from '../test/helpers/lambda-init-env';
import { median } from './measure';

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join('bench', 'router-first-request', 'entry.ts');
const ENV = lambdaInitEnv('bench');

const CHILD = `
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const mod = require(process.argv[1]);
const initMs = Number(process.hrtime.bigint() - t0) / 1e6;
const initCpuMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpu0));
(async () => {
  const cpu1 = process.cpuUsage();
  const first = await mod.invoke(1);
  const firstCpuMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(cpu1));
  const second = await mod.invoke(2);
  // Powertools writes its log and metric lines to stdout too: the figures are the last line.
  process.stdout.write('\\nFIGURES' + JSON.stringify({ initMs, initCpuMs, first, firstCpuMs, second }) + '\\n');
})();
`;

interface Sample {
  readonly initMs: number;
  readonly initCpuMs: number;
  readonly first: { answeredMs: number; totalMs: number; status: string };
  readonly firstCpuMs: number;
  readonly second: { answeredMs: number; totalMs: number; status: string };
}

/** Bundles the entry of the checkout at `root` into `outdir`, as the handlers are bundled. */
function bundle(root: string, outdir: string): string {
  const options = {
    ...BUILD_OPTIONS,
    external: [...BUILD_OPTIONS.external],
    sourcemap: false,
    absWorkingDir: root,
    entryPoints: { index: path.join(root, ENTRY) },
    outdir,
    metafile: true,
  };
  const child = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle-handlers.js')], {
    cwd: root,
    input: JSON.stringify(options),
    encoding: 'utf8',
  });
  if (child.status !== 0) throw new Error(`bundling ${root} failed:\n${child.stderr}`);
  return path.join(outdir, 'index.js');
}

function runOnce(file: string): Sample {
  const res = spawnSync(process.execPath, ['-e', CHILD, file], {
    cwd: path.dirname(file),
    env: { PATH: process.env.PATH ?? '', NODE_PATH: path.join(ROOT, 'node_modules'), ...ENV },
    encoding: 'utf8',
  });
  const line = res.stdout.split('\n').find((l) => l.startsWith('FIGURES'));
  if (res.status !== 0 || line === undefined)
    throw new Error(`${file} failed (${res.status}):\n${res.stderr}`);
  const sample = JSON.parse(line.slice('FIGURES'.length)) as Sample;
  if (sample.first.status !== 'routed by split' || sample.second.status !== 'routed by split')
    throw new Error(`${file} did not answer: ${JSON.stringify(sample)}`);
  return sample;
}

function main(): void {
  const args = process.argv.slice(2);
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const runs = Number(at('--runs') ?? 9);
  if (!Number.isSafeInteger(runs) || runs < 1)
    throw new Error(`--runs is '${at('--runs')}'; expected a whole number >= 1.`);
  const before = at('--before');

  const task = mkdtempSync(path.join(tmpdir(), 'mlops-router-first-'));
  const trees: string[] = [];
  try {
    const files = new Map<string, string>([['this checkout', bundle(ROOT, path.join(task, 'now'))]]);
    if (before !== undefined) {
      const tree = path.join(task, 'tree');
      execFileSync('git', ['worktree', 'add', '--detach', '--quiet', tree, before], { cwd: ROOT });
      trees.push(tree);
      symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'));
      mkdirSync(path.dirname(path.join(tree, ENTRY)), { recursive: true });
      copyFileSync(path.join(ROOT, ENTRY), path.join(tree, ENTRY));
      files.set(before, bundle(tree, path.join(task, 'before')));
    }
    const samples = new Map<string, Sample[]>([...files.keys()].map((k) => [k, []]));
    for (let round = 0; round < runs; round++) {
      for (const [name, file] of files) samples.get(name)!.push(runOnce(file));
      if (process.stderr.isTTY) process.stderr.write(`\rround ${round + 1}/${runs}`);
    }
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

    console.log(
      `router cold start in a fresh node ${process.version} per round, median of ${runs} rounds, load average ` +
        loadavg()
          .map((l) => l.toFixed(1))
          .join(' '),
    );
    console.log('');
    console.log(
      '| bundle | KiB | init wall ms | init CPU ms | 1st request: answer ms | 1st request: whole ms | 1st request CPU ms | init + 1st answer ms | 2nd request: answer ms |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [name, xs] of samples) {
      const m = (f: (s: Sample) => number) => median(xs.map(f)).toFixed(1);
      console.log(
        `| ${name} | ${(statSync(files.get(name)!).size / 1024).toFixed(0)} | ${m((s) => s.initMs)} | ${m((s) => s.initCpuMs)} | ` +
          `${m((s) => s.first.answeredMs)} | ${m((s) => s.first.totalMs)} | ${m((s) => s.firstCpuMs)} | ` +
          `${m((s) => s.initMs + s.first.answeredMs)} | ${m((s) => s.second.answeredMs)} |`,
      );
    }
  } finally {
    for (const tree of trees) execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: ROOT });
    rmSync(task, { recursive: true, force: true });
  }
}

main();
