/**
 * The long run of generated lifecycle sequences (issue 11 section 3): thousands of fast-check
 * sequences through the real handlers on the emulator, every invariant checked after every event.
 * Prints sequences tried, steps, invariant checks, wall time and, per invariant, how many
 * sequences broke it and their indices (so a long run names what to replay); the first failure of
 * each invariant is shrunk and written as a scenario to bench/.data/rehearsal/ (replay it with
 * `npx mlops rehearse <file>`). `--only N[,M...]` runs those sequence indices alone (the same sequences
 * and seeds as in the long run) and prints each as a scenario, its timeline and its verdicts.
 *
 *   AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true npx tsx bench/rehearsal-sequences.ts \
 *     [--runs 2000] [--seed 1] [--max-steps 6] [--rpm 4] [--no-shrink] [--only N[,M...]] [--all-calls] \
 *     [--classic]
 *
 * `--all-calls`: fail steps may name any call the stages make, not only the default five.
 * `--classic`: draw only the steps of earlier sessions (no pauseIn/pauseAfter, traffic or retire),
 * so a seed names the same sequences as the figures in bench/README.md before session 6.
 *
 * Figures only: it never fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig } from '../lib/config/load';
import { INVARIANTS, type InvariantName } from '../lib/rehearsal/invariants';
import { renderReport } from '../lib/rehearsal/runner';
import {
  runSequence,
  scenarioYaml,
  sequences,
  shrinkFailure,
  toScenario,
  type Gen,
} from '../lib/rehearsal/sequences';
import { FAULT_CALLS } from '../lib/rehearsal/scenario';
import { modelTemplate } from '../lib/rehearsal/template';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const runs = arg('runs', 2000);
  const seed = arg('seed', 1);
  const maxSteps = arg('max-steps', 6);
  const rpm = arg('rpm', 4);
  const shrink = !process.argv.includes('--no-shrink');
  const onlyText = process.argv.includes('--only')
    ? (process.argv[process.argv.indexOf('--only') + 1] ?? '')
    : undefined;
  const indices = onlyText?.split(',').map(Number);
  if (indices !== undefined && (onlyText === '' || indices.some((n) => !Number.isInteger(n) || n < 0))) {
    console.error(`--only takes sequence indices (0 or more, comma-separated), got "${onlyText}"`);
    process.exitCode = 2;
    return;
  }
  // --all-calls: fail steps name any call the stages make (FAULT_CALLS), not only the default five.
  const faultCalls = process.argv.includes('--all-calls') ? FAULT_CALLS : undefined;
  const classic = process.argv.includes('--classic');
  const model = 'document-classifier';
  const configDir = 'config';
  const config = loadConfig({ configDir });
  const template = modelTemplate(config, configDir, model, (m) => console.log(m));
  const world = { config, configDir, template };
  const options = { model, seed, requestsPerMinute: rpm, faultCalls };

  if (indices !== undefined) {
    // fast-check draws the same samples for the same seed, so index N is the long run's sequence N.
    const drawn = fc.sample(sequences(maxSteps, faultCalls, { classic }), {
      seed,
      numRuns: Math.max(...indices) + 1,
    });
    for (const i of indices) {
      const scenario = toScenario(drawn[i]!, { ...options, seed: seed + i });
      console.log(
        scenarioYaml(
          scenario,
          `Sequence ${i} of the run with --seed ${seed} --max-steps ${maxSteps} --rpm ${rpm}${faultCalls ? ' --all-calls' : ''}${classic ? ' --classic' : ''}.`,
        ),
      );
      const { report } = await runSequence(scenario, world);
      console.log(renderReport(report));
      const broken = report.invariants.filter((inv) => !inv.ok).map((inv) => inv.name);
      console.log(
        `sequence ${i}: ${broken.length === 0 ? 'every invariant held' : `broke ${broken.join(', ')}`}\n`,
      );
    }
    return;
  }

  const samples = fc.sample(sequences(maxSteps, faultCalls, { classic }), { seed, numRuns: runs });
  const broken = new Map<InvariantName, number[]>();
  const firstFailure = new Map<InvariantName, { gen: Gen[]; index: number }>();
  let steps = 0;
  let checks = 0;
  /** What was drawn beside the classic steps: pauses by stage, traffic changes, retirements. */
  const drawn = {
    pauseIn: new Map<string, number>(),
    callersStop: 0,
    callersResume: 0,
    retire: 0,
    retired: 0,
  };
  let virtualMs = 0;
  const loadBefore = loadavg();
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (const [i, gen] of samples.entries()) {
    const scenario = toScenario(gen, { ...options, seed: seed + i });
    steps += scenario.steps.length;
    for (const step of scenario.steps) {
      if (step.kind === 'release' && step.pauseIn)
        drawn.pauseIn.set(step.pauseIn, (drawn.pauseIn.get(step.pauseIn) ?? 0) + 1);
      if (step.kind === 'traffic') {
        if (step.requestsPerMinute === 0) drawn.callersStop += 1;
        else drawn.callersResume += 1;
      }
      if (step.kind === 'retire') drawn.retire += 1;
    }
    const { report } = await runSequence(scenario, world);
    if (report.timeline.some((e) => e.actor === 'serving guard' && e.message.startsWith('SUCCESS')))
      drawn.retired += 1;
    checks += report.invariantChecks;
    const [h = 0, m = 0, s = 0] = report.final.virtualTime.slice(1).split(':').map(Number);
    virtualMs += ((h * 60 + m) * 60 + s) * 1000;
    for (const inv of report.invariants) {
      if (inv.ok) continue;
      broken.set(inv.name, [...(broken.get(inv.name) ?? []), i]);
      if (!firstFailure.has(inv.name)) firstFailure.set(inv.name, { gen, index: i });
    }
    if ((i + 1) % 200 === 0)
      console.log(`  ${i + 1} sequences, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  const wall = (performance.now() - started) / 1000;
  const cpuUsed = process.cpuUsage(cpuStarted);
  const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;

  console.log(
    `\nrehearsal-sequences: seed ${seed}, up to ${maxSteps} steps, ${rpm} requests per minute, model ${model}` +
      (faultCalls ? `, faults on all ${faultCalls.length} calls (--all-calls)` : '') +
      (classic ? ', classic steps only (--classic)' : ''),
  );
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
  console.log(
    `machine: ${cpus().length} cores, load average ${load(loadBefore)} at the start, ${load(loadavg())} at the end`,
  );
  console.log(`sequences tried      ${runs}`);
  console.log(`steps                ${steps}`);
  console.log(`invariant checks     ${checks}`);
  if (!classic) {
    const pauses = ['shadow', 'canary', 'promotion'].map((st) => `${st} ${drawn.pauseIn.get(st) ?? 0}`);
    console.log(`releases paused in   ${pauses.join(', ')}`);
    console.log(`callers stop/resume  ${drawn.callersStop} / ${drawn.callersResume}`);
    console.log(`retire steps         ${drawn.retire} (${drawn.retired} sequences retired the model)`);
  }
  console.log(`virtual time         ${(virtualMs / 3_600_000).toFixed(0)} h`);
  console.log(
    `wall time            ${wall.toFixed(1)} s (${((wall * 1000) / runs).toFixed(0)} ms per sequence)`,
  );
  console.log(
    `CPU time             ${cpu.toFixed(1)} s (${((cpu * 1000) / runs).toFixed(0)} ms per sequence, user + system)`,
  );
  const failing = new Set([...broken.values()].flat());
  console.log(`\nsequences breaking an invariant: ${failing.size}`);
  console.log('sequences breaking each invariant (replay one with --only N):');
  for (const name of Object.keys(INVARIANTS) as InvariantName[]) {
    const indices = broken.get(name) ?? [];
    console.log(`  ${String(indices.length).padStart(6)}  ${INVARIANTS[name]}`);
    if (indices.length > 0) console.log(`          indices: ${indices.join(', ')}`);
  }
  if (!shrink || firstFailure.size === 0) return;
  const dir = join('bench', '.data', 'rehearsal');
  mkdirSync(dir, { recursive: true });
  console.log('\nshrunk failing sequences:');
  for (const [name, { gen, index }] of firstFailure) {
    // The sequence ran with seed + index: shrink it with the same timeline.
    const shrunk = await shrinkFailure(gen, name, { ...options, seed: seed + index }, world, 60_000);
    const file = join(dir, `seed-${seed}-${name}.yaml`);
    writeFileSync(file, shrunk.yaml);
    console.log(`  ${name} (sequence ${index}): ${gen.length} → ${shrunk.steps} steps, ${file}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
