/**
 * What a `cdk synth` of the platform spends its CPU on: the compiled app (dist/bin/app.js's work,
 * without the CDK CLI around it) run in a fresh node per case, 1 model against N, with parts
 * turned off to see what each costs.
 *
 *   npx tsx bench/synth-cost.ts [--runs 3] [--models 10]
 *
 * Variants (each in its own process, `process.cpuUsage()` of the whole process):
 * - `as shipped`: what bin/app.ts does, cdk-nag's stand-ins for unused services included;
 * - `without the stand-ins`: cdk-nag loads every service its rules name (how it ran before
 *   lib/nag/unloaded-service-classes.ts), with the number of aws-cdk-lib services loaded;
 * - `without the cdk-nag packs`: `Validations.addPlugins` does nothing;
 * - `without packs and acknowledgements`: and `Validations.acknowledge` does nothing.
 * Each round runs every case once, in turn; figures are medians over rounds. The context is what
 * the CDK CLI passes (cdk.json's, plus path and asset metadata), as `CDK_CONTEXT_JSON`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { manyModelsConfig, median } from './measure';

const ROOT = path.resolve(__dirname, '..');

const VARIANTS = {
  'as shipped': { standIns: true, packs: true, acknowledgements: true },
  'without the stand-ins': { standIns: false, packs: true, acknowledgements: true },
  'without the cdk-nag packs': { standIns: true, packs: false, acknowledgements: true },
  'without packs and acknowledgements': { standIns: true, packs: false, acknowledgements: false },
} as const;
type Variant = keyof typeof VARIANTS;

/** Runs in the child: bin/app.ts's work, with the variant's parts off. */
const CHILD = `
const [variant, configDir] = JSON.parse(process.argv[1]);
if (variant.standIns) require('./dist/lib/nag/unloaded-service-classes.js').lazyServiceClassesForCdkNag();
const cdk = require('aws-cdk-lib');
if (!variant.packs) cdk.Validations.prototype.addPlugins = function () {};
if (!variant.acknowledgements) cdk.Validations.prototype.acknowledge = function () {};
const { buildPlatformFromConfig } = require('./dist/lib/app-main.js');
const app = new cdk.App({ builtinCloudFormationValidation: false });
if (buildPlatformFromConfig(app, configDir, { write() {} }) === null) process.exit(1);
app.synth();
const cpu = process.cpuUsage();
const services = Object.keys(require.cache).filter((k) => /aws-cdk-lib\\/aws-[^/]+\\/lib\\/index\\.js$/.test(k)).length;
process.stdout.write(JSON.stringify({ cpu: (cpu.user + cpu.system) / 1e6, services }));
`;

/** cdk.json's context and what the CDK CLI adds to it for `cdk synth`. */
function cliContext(configDir: string): string {
  const { context } = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return JSON.stringify({
    ...context,
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
    'aws:cdk:version-reporting': true,
    'aws:cdk:bundling-stacks': ['**'],
    configDir,
  });
}

function run(variant: Variant, configDir: string): { cpu: number; services: number } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'mlops-bench-synth-'));
  try {
    const child = spawnSync(process.execPath, ['-e', CHILD, JSON.stringify([VARIANTS[variant], configDir])], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: cliContext(configDir) },
    });
    if (child.status !== 0) throw new Error(`${variant} failed (${child.status}):\n${child.stderr}`);
    return JSON.parse(child.stdout) as { cpu: number; services: number };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) =>
    args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback;
  const runs = option('--runs', 3);
  const models = option('--models', 10);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`node ${process.version}, load average ${load()}, ${runs} round(s), 1 and ${models} models`);

  spawnSync(process.execPath, ['scripts/build-cli.js'], { cwd: ROOT, stdio: 'inherit' });
  const many = manyModelsConfig(ROOT, models);
  const configs = { 1: path.join(ROOT, 'config'), [models]: many } as Record<number, string>;
  const cpu = new Map<string, number[]>();
  const services = new Map<Variant, number>();
  try {
    // A first synth builds the handler bundles if they are missing, outside the figures.
    run('as shipped', configs[1]);
    for (let r = 0; r < runs; r++) {
      for (const variant of Object.keys(VARIANTS) as Variant[]) {
        for (const count of [1, models]) {
          const result = run(variant, configs[count]);
          const key = `${variant}|${count}`;
          cpu.set(key, [...(cpu.get(key) ?? []), result.cpu]);
          if (count === 1) services.set(variant, result.services);
        }
      }
      process.stderr.write(`round ${r + 1}/${runs} done (load ${load()})\n`);
    }
  } finally {
    rmSync(many, { recursive: true, force: true });
  }

  console.log(
    `\n| variant | aws-cdk-lib services loaded (1 model) | CPU s, 1 model | CPU s, ${models} models | per model |`,
  );
  console.log('|---|---|---|---|---|');
  for (const variant of Object.keys(VARIANTS) as Variant[]) {
    const one = median(cpu.get(`${variant}|1`)!);
    const n = median(cpu.get(`${variant}|${models}`)!);
    const perModel = (n - one) / (models - 1);
    console.log(
      `| ${variant} | ${services.get(variant)} | ${one.toFixed(2)} | ${n.toFixed(2)} | ${perModel.toFixed(3)} |`,
    );
  }
  console.log(`\nload average at the end: ${load()}`);
}

main();
