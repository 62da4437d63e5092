/**
 * The static checks of `npm test` (scripts/test.sh): the type-check, eslint and prettier, each against
 * the alternatives measured for it, in the same rounds.
 *
 *   npx tsx bench/static-checks.ts [--runs N] [--only tsc|lint]
 *
 * Each round runs every case once, in turn, so load that changes during the run weighs on all of
 * them alike; figures are medians over the rounds. Wall time, CPU time (user + system, children and
 * threads included) and peak RSS come from GNU time (/usr/bin/time). Every case must pass (exit 0) on
 * this checkout, or the bench stops: a faster check that fails is no alternative. The checks run
 * with the node that runs this script (CI runs node 24: put it first on PATH).
 */
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { median, timeProcess } from './measure';

const ROOT = path.resolve(__dirname, '..');
const bin = (pkg: string, file: string) => path.join(ROOT, 'node_modules', pkg, file);

interface Sample {
  readonly wall: number;
  readonly cpu: number;
  readonly rssMiB: number;
}

interface Case {
  readonly group: 'tsc' | 'lint';
  readonly name: string;
  readonly command: readonly string[];
}

const node = process.execPath;
/** Fewer scavenges (a 64 MiB young generation) and no GC helper threads: less CPU for a short batch job. */
const V8_FLAGS = ['--max-semi-space-size=64', '--single-threaded-gc'];
const OXC = process.env.BENCH_PRETTIER_OXC;

const CASES: readonly Case[] = [
  {
    group: 'tsc',
    name: 'tsc 5.9.3 --noEmit (JavaScript compiler)',
    command: [node, bin('typescript', 'bin/tsc'), '--noEmit', '-p', '.'],
  },
  {
    group: 'tsc',
    name: 'tsc 7.0.2 --noEmit (native, default threads)',
    command: [node, bin('typescript7', 'bin/tsc'), '--noEmit', '-p', '.'],
  },
  {
    group: 'tsc',
    name: 'tsc 7.0.2 --noEmit --checkers 2',
    command: [node, bin('typescript7', 'bin/tsc'), '--noEmit', '-p', '.', '--checkers', '2'],
  },
  {
    group: 'tsc',
    name: 'tsc 7.0.2 --noEmit --singleThreaded',
    command: [node, bin('typescript7', 'bin/tsc'), '--noEmit', '-p', '.', '--singleThreaded'],
  },
  ...lintCases([]),
  ...lintCases(V8_FLAGS),
];

function lintCases(flags: readonly string[]): Case[] {
  const suffix = flags.length ? ` (node ${flags.join(' ')})` : '';
  const prettier = [node, ...flags, bin('prettier', 'bin/prettier.cjs'), '--check', '--log-level', 'warn'];
  return [
    {
      group: 'lint',
      name: `eslint .${suffix}`,
      command: [node, ...flags, bin('eslint', 'bin/eslint.js'), '.'],
    },
    { group: 'lint', name: `prettier --check .${suffix}`, command: [...prettier, '.'] },
    ...(OXC
      ? [
          {
            group: 'lint' as const,
            name: `prettier --check . oxc${suffix}`,
            command: [...prettier, '--plugin', OXC, '.'],
          },
        ]
      : []),
  ];
}

function measure(c: Case): Sample {
  return timeProcess(c.name, c.command, ROOT);
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

function main(): void {
  const args = process.argv.slice(2);
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const cases = CASES.filter((c) => only === undefined || c.group === only);
  console.log(`node ${process.version}, load average ${load()} at the start, ${runs} round(s)`);

  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < runs; r++) {
    for (const c of cases) samples.get(c.name)!.push(measure(c));
    process.stderr.write(`round ${r + 1}/${runs} done (load ${load()})\n`);
  }
  console.log(`load average ${load()} at the end\n`);
  console.log(
    "| check | wall s | CPU s (user+sys) | CPU × the same tool's first case | peak RSS MiB | CPU s per round |",
  );
  console.log('|---|--:|--:|--:|--:|---|');
  const firstOf = new Map<string, number>();
  for (const c of cases) {
    const xs = samples.get(c.name)!;
    const cpu = median(xs.map((x) => x.cpu));
    const tool = c.name.split(' ')[0];
    if (!firstOf.has(tool)) firstOf.set(tool, cpu);
    console.log(
      `| ${c.name} | ${median(xs.map((x) => x.wall)).toFixed(1)} | ${cpu.toFixed(1)} | ` +
        `${(cpu / firstOf.get(tool)!).toFixed(2)}× | ${median(xs.map((x) => x.rssMiB)).toFixed(0)} | ` +
        `${xs.map((x) => x.cpu.toFixed(1)).join(', ')} |`,
    );
  }
}

main();
