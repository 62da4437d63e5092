/**
 * Generated lifecycle sequences: fast-check builds random scenarios (releases with and without an
 * instance-type change, stopped part-way or paused in the middle of a stage, degradations, manual
 * and concurrent rollbacks, stage retries, injected faults, waits, the callers stopping and coming
 * back, and now and then a retirement near the end) and every invariant must hold after every
 * event. A failing sequence shrinks to a short one and is written out in the scenario format, so
 * `mlops rehearse` replays it.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { faultProblem } from './faults';
import type { InvariantName } from './invariants';
import { runInWorld, type RehearsalReport } from './runner';
import { FAULT_CALLS, FAULT_ERRORS, type Scenario, type Step } from './scenario';
import type { Template } from './template';
import { STAGES, World, type WorldOptions } from './world';

/** A generated step, before version labels are numbered. */
type Gen =
  | {
      kind: 'release';
      instanceType?: string;
      stopAfter?: (typeof STAGES)[number];
      /** Pause part-way through a stage (`pauseIn`/`pauseAfter`): the next steps happen meanwhile. */
      pause?: { stage: (typeof STAGES)[number]; minutes: number };
    }
  | { kind: 'degrade'; which: 'last' | 'serving'; what: 'confidence' | 'errors' | 'latency' }
  | { kind: 'rollback'; concurrent: number }
  | { kind: 'retry'; stage: (typeof STAGES)[number] }
  | { kind: 'fail'; call: string; times: number; error: string }
  | { kind: 'wait'; minutes: number }
  /** The router's callers stop (0 requests a minute) or come back (the run's rate). */
  | { kind: 'traffic'; callers: 'stop' | 'resume' }
  /** A deploy with `serving.retired: true`. */
  | { kind: 'retire' };

/**
 * The calls a generated `fail` step names by default: kept as they are so that a seed
 * draws the same sequences as before (the long run's known indices, the fixed-seed test).
 */
export const DEFAULT_FAULT_CALLS = [
  'UpdateEndpoint',
  'StartDeployment',
  'DescribeEndpoint',
  'RegisterScalableTarget',
  'PutObject',
] as const;

const releaseStep = fc.record(
  {
    kind: fc.constant('release' as const),
    instanceType: fc.option(fc.constant('ml.g5.2xlarge'), { nil: undefined }),
    stopAfter: fc.option(fc.constantFrom(...STAGES), { nil: undefined }),
  },
  { requiredKeys: ['kind'] },
);
const degradeStep = fc.record({
  kind: fc.constant('degrade' as const),
  which: fc.constantFrom('last' as const, 'serving' as const),
  what: fc.constantFrom('confidence' as const, 'errors' as const, 'latency' as const),
});
const rollbackStep = fc.record({
  kind: fc.constant('rollback' as const),
  concurrent: fc.integer({ min: 1, max: 2 }),
});
const retryStep = fc.record({ kind: fc.constant('retry' as const), stage: fc.constantFrom(...STAGES) });
const failStep = fc.record({
  kind: fc.constant('fail' as const),
  call: fc.constantFrom(...DEFAULT_FAULT_CALLS),
  times: fc.integer({ min: 1, max: 3 }),
  error: fc.constantFrom(...FAULT_ERRORS),
});
const waitStep = fc.record({ kind: fc.constant('wait' as const), minutes: fc.integer({ min: 1, max: 40 }) });

/** The steps of sessions before pauses, traffic and retirement were drawn (`classic`). */
const classicStep: fc.Arbitrary<Gen> = fc.oneof(
  { weight: 4, arbitrary: releaseStep },
  { weight: 2, arbitrary: degradeStep },
  { weight: 2, arbitrary: rollbackStep },
  { weight: 1, arbitrary: retryStep },
  { weight: 1, arbitrary: failStep },
  { weight: 2, arbitrary: waitStep },
);

/**
 * A release that, one time in four, pauses part-way through a stage: 0 to 45 minutes in, which
 * covers the shadow's window (about 70 min), the canary's standby refresh and blue/green bake
 * (about 35 min) and the promotion's flag deployment.
 */
const pausedRelease: fc.Arbitrary<Gen> = fc
  .tuple(
    releaseStep,
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      {
        weight: 1,
        arbitrary: fc.record({ stage: fc.constantFrom(...STAGES), minutes: fc.integer({ min: 0, max: 45 }) }),
      },
    ),
  )
  .map(([release, pause]) => (pause ? { ...release, pause } : release));

/**
 * The steps by default: the classic kinds at their old proportions (weights doubled), releases that
 * may pause part-way, and the callers stopping (twice as often as coming back), about one step in
 * 25, so most sequences still run with traffic.
 */
const lifecycleStep: fc.Arbitrary<Gen> = fc.oneof(
  { weight: 8, arbitrary: pausedRelease },
  { weight: 4, arbitrary: degradeStep },
  { weight: 4, arbitrary: rollbackStep },
  { weight: 2, arbitrary: retryStep },
  { weight: 2, arbitrary: failStep },
  { weight: 4, arbitrary: waitStep },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('traffic' as const),
      callers: fc.constantFrom('stop' as const, 'stop' as const, 'resume' as const),
    }),
  },
);

/**
 * A retirement, drawn after the other steps (everything after a successful one is refused, so an
 * early one would end most of the search): half the time the callers stop and the endpoint is left
 * quiet for 16 minutes first (the serving guard retires only an endpoint without requests for 15),
 * so it can succeed; then up to two steps a person might still try (a release, a rollback, a
 * retry, a wait), which invariant 13 says are refused.
 */
const retirement: fc.Arbitrary<Gen[]> = fc
  .tuple(fc.boolean(), fc.array(fc.oneof(pausedRelease, rollbackStep, retryStep, waitStep), { maxLength: 2 }))
  .map(([quiet, after]) => [
    ...(quiet
      ? [
          { kind: 'traffic' as const, callers: 'stop' as const },
          { kind: 'wait' as const, minutes: 16 },
        ]
      : []),
    { kind: 'retire' as const },
    ...after,
  ]);

export interface SequenceOptions {
  /**
   * Draw only the classic steps (no pause, traffic or retirement), exactly as before they were
   * added: a seed then names the same sequences as the long runs of earlier sessions.
   */
  readonly classic?: boolean;
}

/**
 * Sequences of up to `maxSteps` generated steps (one time in eight followed by a retirement of up
 * to five steps, unless `classic`). With `faultCalls`, each `fail` step names one of those calls
 * instead (e.g. FAULT_CALLS: every call the stages make), drawn beside the steps.
 */
export function sequences(
  maxSteps: number,
  faultCalls?: readonly string[],
  options: SequenceOptions = {},
): fc.Arbitrary<Gen[]> {
  const steps = options.classic
    ? fc.array(classicStep, { minLength: 1, maxLength: maxSteps })
    : fc
        .tuple(
          fc.array(lifecycleStep, { minLength: 1, maxLength: maxSteps }),
          fc.oneof({ weight: 7, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: retirement }),
        )
        .map(([body, tail]) => [...body, ...tail]);
  if (faultCalls === undefined) return steps;
  const calls = fc.array(fc.constantFrom(...faultCalls), { minLength: maxSteps, maxLength: maxSteps });
  return fc
    .tuple(steps, calls)
    .map(([gen, call]) => gen.map((g, i) => (g.kind === 'fail' ? { ...g, call: call[i]! } : g)));
}

/** Turns generated steps into a scenario: versions v2, v3, ... in release order. */
export function toScenario(
  gen: readonly Gen[],
  options: { model: string; seed: number; requestsPerMinute: number },
): Scenario {
  let released = 1;
  const steps: Step[] = [];
  gen.forEach((g, i) => {
    const line = i + 1;
    switch (g.kind) {
      case 'release':
        released += 1;
        steps.push({
          kind: 'release',
          line,
          version: `v${released}`,
          instanceType: g.instanceType,
          stopAfter: g.stopAfter,
          // A pause in a stage the run never reaches (after its stopAfter) pauses in the last one it runs.
          ...(g.pause
            ? {
                pauseIn:
                  g.stopAfter && STAGES.indexOf(g.pause.stage) > STAGES.indexOf(g.stopAfter)
                    ? g.stopAfter
                    : g.pause.stage,
                pauseAfterMs: g.pause.minutes * 60_000,
              }
            : {}),
        });
        break;
      case 'degrade': {
        const version = g.which === 'last' ? `v${released}` : `v${Math.max(1, released - 1)}`;
        if (g.what === 'confidence') steps.push({ kind: 'degrade', line, version, confidenceMean: 0.5 });
        else if (g.what === 'errors') steps.push({ kind: 'degrade', line, version, errorRate: 0.2 });
        else steps.push({ kind: 'degrade', line, version, p99LatencyMs: 900 });
        break;
      }
      case 'rollback':
        steps.push({ kind: 'rollback', line, reason: 'generated', concurrent: g.concurrent });
        break;
      case 'retry':
        if (released > 1) steps.push({ kind: 'retry', line, stage: g.stage });
        break;
      case 'fail':
        // A fault the call cannot return ("already updating" on S3) is not injected: the draw stays
        // the same, so a seed names the same sequences as before.
        if (faultProblem(g.call, g.error) === null)
          steps.push({ kind: 'fail', line, call: g.call, times: g.times, error: g.error });
        break;
      case 'wait':
        steps.push({ kind: 'wait', line, ms: g.minutes * 60_000, text: `${g.minutes}m` });
        break;
      case 'traffic':
        steps.push({
          kind: 'traffic',
          line,
          requestsPerMinute: g.callers === 'stop' ? 0 : options.requestsPerMinute,
        });
        break;
      case 'retire':
        steps.push({ kind: 'retire', line });
        break;
    }
  });
  return {
    file: 'generated',
    model: options.model,
    seed: options.seed,
    requestsPerMinute: options.requestsPerMinute,
    initial: 'v1',
    steps,
  };
}

/** `45m` for whole minutes, else `90s`. */
function durationText(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 1000)}s`;
}

/** The scenario as YAML in the `mlops rehearse` format. */
export function scenarioYaml(scenario: Scenario, comment: string): string {
  const steps = scenario.steps.map((s) => {
    switch (s.kind) {
      case 'release':
        return {
          release: s.version,
          ...(s.instanceType ? { instanceType: s.instanceType } : {}),
          ...(s.stopAfter ? { stopAfter: s.stopAfter } : {}),
          ...(s.pauseIn ? { pauseIn: s.pauseIn, pauseAfter: durationText(s.pauseAfterMs ?? 0) } : {}),
        };
      case 'degrade':
        return {
          degrade: {
            version: s.version,
            ...(s.confidenceMean !== undefined ? { confidenceMean: s.confidenceMean } : {}),
            ...(s.errorRate !== undefined ? { errorRate: s.errorRate } : {}),
            ...(s.p99LatencyMs !== undefined ? { p99LatencyMs: Math.round(s.p99LatencyMs) } : {}),
          },
        };
      case 'rollback':
        return { rollback: { reason: s.reason, ...(s.concurrent > 1 ? { concurrent: s.concurrent } : {}) } };
      case 'retry':
        return { retry: s.stage };
      case 'fail':
        return { fail: { call: s.call, times: s.times, error: s.error } };
      case 'wait':
        return { wait: s.text };
      case 'expect':
        return { expect: s.expect };
      case 'retire':
        return { retire: {} };
      case 'traffic':
        return { traffic: { requestsPerMinute: s.requestsPerMinute } };
    }
  });
  const body = stringify({
    model: scenario.model,
    traffic: { requestsPerMinute: scenario.requestsPerMinute },
    seed: scenario.seed,
    steps,
  });
  return `${comment
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n')}\n${body}`;
}

export interface SequenceRun {
  readonly report: RehearsalReport;
  /** Invariant names that failed, other than the ignored ones. */
  readonly failed: readonly InvariantName[];
}

/** Runs one generated scenario in a fresh world. */
export async function runSequence(
  scenario: Scenario,
  world: Omit<WorldOptions, 'model' | 'seed' | 'requestsPerMinute'> & { readonly template: Template },
  ignore: ReadonlySet<InvariantName> = new Set(),
): Promise<SequenceRun> {
  const w = new World({
    ...world,
    model: scenario.model,
    seed: scenario.seed,
    requestsPerMinute: scenario.requestsPerMinute,
  });
  const report = await runInWorld(w, scenario);
  const failed = report.invariants.filter((i) => !i.ok && !ignore.has(i.name)).map((i) => i.name);
  return { report, failed };
}

export { FAULT_CALLS };

/** The same step made simpler, one way at a time (a pause dropped or shorter, one fault fewer, ...). */
function simpler(g: Gen): Gen[] {
  switch (g.kind) {
    case 'release': {
      const out: Gen[] = [];
      if (g.pause) {
        const { pause, ...rest } = g;
        out.push(rest);
        if (pause.minutes > 0)
          out.push({ ...g, pause: { ...pause, minutes: Math.floor(pause.minutes / 2) } });
      }
      if (g.instanceType !== undefined) out.push({ ...g, instanceType: undefined });
      if (g.stopAfter !== undefined) out.push({ ...g, stopAfter: undefined });
      return out;
    }
    case 'rollback':
      return g.concurrent > 1 ? [{ ...g, concurrent: 1 }] : [];
    case 'fail':
      return g.times > 1 ? [{ ...g, times: g.times - 1 }] : [];
    case 'wait':
      return g.minutes > 1 ? [{ ...g, minutes: Math.ceil(g.minutes / 2) }] : [];
    default:
      return [];
  }
}

/**
 * Smaller sequences than `gen`, the biggest cuts first: without a run of steps (half, a quarter,
 * ..., one step), then each step made simpler.
 */
function* smaller(gen: readonly Gen[]): Generator<Gen[]> {
  for (let size = Math.floor(gen.length / 2); size >= 1; size = Math.floor(size / 2)) {
    for (let start = gen.length - size; start >= 0; start -= size) {
      if (gen.length - size >= 1) yield [...gen.slice(0, start), ...gen.slice(start + size)];
    }
  }
  for (const [i, g] of gen.entries()) for (const s of simpler(g)) yield gen.map((x, j) => (j === i ? s : x));
}

/**
 * Shrinks a failing generated sequence to a short one that still breaks `invariant` (greedy: the
 * first smaller sequence that still breaks it is kept, until none does or the time is up), and
 * returns it as scenario YAML. `options.seed` must be the seed the failing sequence ran with.
 * It works on the generated steps themselves, so it shrinks a sequence from any draw (with
 * `--all-calls` too, whose fail steps fast-check could not shrink from an example).
 */
export async function shrinkFailure(
  failing: Gen[],
  invariant: InvariantName,
  options: { readonly model: string; readonly seed: number; readonly requestsPerMinute: number },
  world: Omit<WorldOptions, 'model' | 'seed' | 'requestsPerMinute'> & { readonly template: Template },
  timeLimitMs = 120_000,
): Promise<{ yaml: string; steps: number; message: string }> {
  const brokenBy = async (gen: readonly Gen[]): Promise<string | undefined> => {
    const { report } = await runSequence(toScenario(gen, options), world);
    const broken = report.invariants.find((i) => i.name === invariant && !i.ok);
    return broken ? (broken.violations[0]?.message ?? '') : undefined;
  };
  const deadline = performance.now() + timeLimitMs;
  let current: readonly Gen[] = failing;
  let message = (await brokenBy(failing)) ?? '';
  let shrinking = true;
  while (shrinking && performance.now() < deadline) {
    shrinking = false;
    for (const candidate of smaller(current)) {
      if (performance.now() >= deadline) break;
      const broken = await brokenBy(candidate);
      if (broken !== undefined) {
        current = candidate;
        message = broken;
        shrinking = true;
        break;
      }
    }
  }
  const scenario = toScenario(current, options);
  const yaml = scenarioYaml(
    scenario,
    `Found by the generated-sequence run (shrunk): breaks invariant ${invariant}.\n${message}\nReplay: npx mlops rehearse <this file>`,
  );
  return { yaml, steps: scenario.steps.length, message };
}

export type { Gen };
