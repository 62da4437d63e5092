/**
 * Generated lifecycle sequences: fast-check builds random scenarios (releases with and without an
 * instance-type change, stopped part-way or not, degradations, manual and concurrent rollbacks,
 * stage retries, injected faults, waits) and every invariant must hold after every event. A failing
 * sequence shrinks to a short one and is written out in the scenario format, so `mlops rehearse`
 * replays it.
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
  | { kind: 'release'; instanceType?: string; stopAfter?: (typeof STAGES)[number] }
  | { kind: 'degrade'; which: 'last' | 'serving'; what: 'confidence' | 'errors' | 'latency' }
  | { kind: 'rollback'; concurrent: number }
  | { kind: 'retry'; stage: (typeof STAGES)[number] }
  | { kind: 'fail'; call: string; times: number; error: string }
  | { kind: 'wait'; minutes: number };

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

const genStep: fc.Arbitrary<Gen> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        kind: fc.constant('release' as const),
        instanceType: fc.option(fc.constant('ml.g5.2xlarge'), { nil: undefined }),
        stopAfter: fc.option(fc.constantFrom(...STAGES), { nil: undefined }),
      },
      { requiredKeys: ['kind'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('degrade' as const),
      which: fc.constantFrom('last' as const, 'serving' as const),
      what: fc.constantFrom('confidence' as const, 'errors' as const, 'latency' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('rollback' as const),
      concurrent: fc.integer({ min: 1, max: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('retry' as const), stage: fc.constantFrom(...STAGES) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('fail' as const),
      call: fc.constantFrom(...DEFAULT_FAULT_CALLS),
      times: fc.integer({ min: 1, max: 3 }),
      error: fc.constantFrom(...FAULT_ERRORS),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), minutes: fc.integer({ min: 1, max: 40 }) }),
  },
);

/**
 * Sequences of up to `maxSteps` generated steps. With `faultCalls`, each `fail` step names one of
 * those calls instead (e.g. FAULT_CALLS: every call the stages make), drawn beside the steps.
 */
export function sequences(maxSteps: number, faultCalls?: readonly string[]): fc.Arbitrary<Gen[]> {
  const steps = fc.array(genStep, { minLength: 1, maxLength: maxSteps });
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

/** The scenario as YAML in the `mlops rehearse` format. */
export function scenarioYaml(scenario: Scenario, comment: string): string {
  const steps = scenario.steps.map((s) => {
    switch (s.kind) {
      case 'release':
        return {
          release: s.version,
          ...(s.instanceType ? { instanceType: s.instanceType } : {}),
          ...(s.stopAfter ? { stopAfter: s.stopAfter } : {}),
          ...(s.pauseIn
            ? { pauseIn: s.pauseIn, pauseAfter: `${Math.round((s.pauseAfterMs ?? 0) / 1000)}s` }
            : {}),
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

/**
 * Shrinks a failing generated sequence (fast-check's shrinking, from that example) to a short one
 * that still breaks `invariant`, and returns it as scenario YAML.
 */
export async function shrinkFailure(
  failing: Gen[],
  invariant: InvariantName,
  options: {
    readonly model: string;
    readonly seed: number;
    readonly requestsPerMinute: number;
    /** The calls the failing sequence's `fail` steps were drawn from, when not the default ones. */
    readonly faultCalls?: readonly string[];
  },
  world: Omit<WorldOptions, 'model' | 'seed' | 'requestsPerMinute'> & { readonly template: Template },
  timeLimitMs = 120_000,
): Promise<{ yaml: string; steps: number; message: string }> {
  let smallest: { scenario: Scenario; message: string } | undefined;
  const property = fc.asyncProperty(sequences(failing.length, options.faultCalls), async (gen) => {
    const scenario = toScenario(gen, options);
    const { report } = await runSequence(scenario, world);
    const broken = report.invariants.find((i) => i.name === invariant && !i.ok);
    if (broken) {
      if (!smallest || scenario.steps.length <= smallest.scenario.steps.length) {
        smallest = { scenario, message: broken.violations[0]?.message ?? '' };
      }
      return false;
    }
    return true;
  });
  await fc.check(property, {
    examples: [[failing]],
    numRuns: 1,
    interruptAfterTimeLimit: timeLimitMs,
    seed: options.seed,
  });
  const found = smallest ?? { scenario: toScenario(failing, options), message: '' };
  const yaml = scenarioYaml(
    found.scenario,
    `Found by the generated-sequence run (shrunk): breaks invariant ${invariant}.\n${found.message}\nReplay: npx mlops rehearse <this file>`,
  );
  return { yaml, steps: found.scenario.steps.length, message: found.message };
}

export type { Gen };
