/**
 * Lambda module init: how long `require` of each handler's bundle takes in a fresh node process, the
 * AWS SDK resolved from node_modules as the Lambda runtime provides it.
 *
 *   npx tsx bench/lambda-init.ts [--runs N] [--only router,rollback,...] [--plain]
 *
 * The bundles are the ones `cdk synth` ships: `handlerBundles()` of lib/constructs/handler-bundles.ts
 * (one esbuild call, the SDK left external). Each is copied to a temporary folder outside the
 * repository, as /var/task is, and required by `node` with NODE_PATH pointing at this checkout's
 * node_modules, as the runtime's NODE_PATH points at /var/runtime/node_modules where it keeps the SDK
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
 *
 * With --plain, each handler is also bundled with the same options but without the plugins of
 * scripts/bundle-handlers.js (the AWS SDK required at init, every zod locale), as they shipped before,
 * and measured in the same rounds: before and after on the same machine at the same load.
 *
 * Each round requires every handler once, in turn, in a new process, so load elsewhere on the machine
 * weighs on all of them alike; figures are medians over rounds. The peer is the `require` of an empty
 * file in the same kind of process: what any handler pays at least. Figures go to stdout.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { AWSLAMBDA_GLOBAL_STUB, lambdaInitEnv } from '../test/helpers/lambda-init-env';
import { BUILD_OPTIONS, handlerBundles } from '../lib/constructs/handler-bundles';
import { median } from './measure';

const ROOT = path.resolve(__dirname, '..');
const EMPTY = '(empty file)';
/** Targets of issue 15, in ms of module init. */
const TARGET_MS = (handler: string): number => (handler === 'router' ? 100 : 250);

const ENV = lambdaInitEnv('bench');

/**
 * Run in the child: time the require, then report it with the heap it left. The runtime defines the
 * global \`awslambda\` (response streaming) before it loads the handler; the router needs it.
 */
const CHILD = `
${AWSLAMBDA_GLOBAL_STUB}
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
const mod = require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const cpu = process.cpuUsage(cpuBefore);
if (process.argv[2] === 'handler' && typeof mod.handler !== 'function') throw new Error('no handler export');
const sdk = Object.keys(require.cache).filter((f) => f.includes('/@aws-sdk/')).length;
process.stdout.write(JSON.stringify({ ms, sdk, cpuMs: (cpu.user + cpu.system) / 1000, heapMiB: process.memoryUsage().heapUsed / 2 ** 20 }));
`;

interface Sample {
  readonly ms: number;
  readonly cpuMs: number;
  /** Files of the AWS SDK loaded by the end of init. */
  readonly sdk: number;
  readonly heapMiB: number;
}

function requireOnce(file: string, kind: 'handler' | 'empty'): Sample {
  const res = spawnSync(process.execPath, ['-e', CHILD, file, kind], {
    cwd: path.dirname(file),
    env: { PATH: process.env.PATH ?? '', NODE_PATH: path.join(ROOT, 'node_modules'), ...ENV },
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`require(${file}) failed (exit ${res.status}):\n${res.stderr}`);
  return JSON.parse(res.stdout) as Sample;
}

function main(): void {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt === -1 ? 9 : Number(args[runsAt + 1]);
  if (!Number.isSafeInteger(runs) || runs < 1)
    throw new Error(`--runs is '${args[runsAt + 1]}'; expected a whole number >= 1.`);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt === -1 ? undefined : args[onlyAt + 1].split(',');

  const bundles = handlerBundles();
  const handlers = readdirSync(bundles, { withFileTypes: true })
    .filter((d) => d.isDirectory() && (only === undefined || only.includes(d.name)))
    .map((d) => d.name)
    .sort();
  if (only !== undefined) {
    const unknown = only.filter((h) => !handlers.includes(h));
    if (unknown.length > 0)
      throw new Error(`--only names ${unknown.join(', ')}; handlers are: ${readdirSync(bundles).join(', ')}`);
  }
  // Like /var/task: each bundle alone in its folder, with nothing of the repository above it.
  const task = mkdtempSync(path.join(tmpdir(), 'mlops-lambda-init-'));
  try {
    const files = new Map<string, string>();
    for (const h of handlers) {
      mkdirSync(path.join(task, h));
      const file = path.join(task, h, 'index.js');
      copyFileSync(path.join(bundles, h, 'index.js'), file);
      files.set(h, file);
    }
    if (args.includes('--plain')) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const esbuild = require('esbuild') as typeof import('esbuild');
      const plain = path.join(task, 'plain');
      esbuild.buildSync({
        ...BUILD_OPTIONS,
        external: [...BUILD_OPTIONS.external],
        sourcemap: false,
        absWorkingDir: ROOT,
        entryPoints: Object.fromEntries(handlers.map((h) => [h, path.join(ROOT, 'lambdas', h, 'index.ts')])),
        outdir: plain,
      });
      for (const h of handlers) files.set(`${h} (plain)`, path.join(plain, `${h}.js`));
    }
    const empty = path.join(task, 'empty.js');
    writeFileSync(empty, '');
    files.set(EMPTY, empty);

    const samples = new Map<string, Sample[]>([...files.keys()].map((h) => [h, []]));
    for (let round = 0; round < runs; round++) {
      for (const [h, file] of files)
        samples.get(h)!.push(requireOnce(file, h === EMPTY ? 'empty' : 'handler'));
      if (process.stderr.isTTY) process.stderr.write(`\rround ${round + 1}/${runs}`);
    }
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

    console.log(
      `Lambda module init: require() of each handler bundle in a fresh node ${process.version} process, ` +
        `median of ${runs} rounds, load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
    );
    console.log('');
    console.log(
      '| handler | bundle KiB | wall ms | CPU ms | wall min–max | heap after MiB | SDK files at init | target ms | wall | CPU |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---|---|');
    let missed = 0;
    const rows = [...samples].sort(([a], [b]) => (a === EMPTY ? 1 : b === EMPTY ? -1 : a < b ? -1 : 1));
    for (const [h, xs] of rows) {
      const ms = median(xs.map((x) => x.ms));
      const cpuMs = median(xs.map((x) => x.cpuMs));
      const kib = statSync(files.get(h)!).size / 1024;
      const target = h === EMPTY ? undefined : TARGET_MS(h.replace(' (plain)', ''));
      const verdict = (value: number) => (target === undefined ? '' : value <= target ? 'meets' : 'MISSES');
      if (target !== undefined && ms > target && !h.endsWith('(plain)')) missed++;
      const walls = xs.map((x) => x.ms);
      console.log(
        `| ${h} | ${kib.toFixed(0)} | ${ms.toFixed(1)} | ${cpuMs.toFixed(1)} | ` +
          `${Math.min(...walls).toFixed(0)}–${Math.max(...walls).toFixed(0)} | ` +
          `${median(xs.map((x) => x.heapMiB)).toFixed(1)} | ${xs[0].sdk} | ${target ?? '-'} | ${verdict(ms)} | ${verdict(cpuMs)} |`,
      );
    }
    console.log('');
    console.log(
      missed === 0
        ? 'every handler meets its target (wall)'
        : `${missed} handler(s) miss their target (wall)`,
    );
  } finally {
    rmSync(task, { recursive: true, force: true });
  }
}

main();
