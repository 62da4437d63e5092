/**
 * Runs a scenario in a fresh world: the initial release (unless `initial: none`), then each step,
 * the invariants after every event, and the expectations. The report is what `mlops rehearse`
 * prints, as text or as one JSON document.
 */
import type { PlatformConfig } from '../../lambdas/core/contracts/config-schema';
import { INVARIANTS, type InvariantName } from './invariants';
import type { Scenario, Step } from './scenario';
import type { Template } from './template';
import { shortAlarm, World } from './world';

export interface ExpectationResult {
  readonly step: number;
  readonly line: number;
  readonly key: string;
  readonly want: string | number;
  readonly got: string | number | null;
  readonly ok: boolean;
}

export interface RehearsalReport {
  readonly scenario: string;
  readonly model: string;
  readonly seed: number;
  readonly requestsPerMinute: number;
  readonly timeline: readonly { at: string; actor: string; message: string }[];
  readonly invariants: readonly {
    readonly name: InvariantName;
    readonly description: string;
    readonly ok: boolean;
    readonly violations: readonly { step: number | null; at: string; message: string }[];
  }[];
  readonly invariantChecks: number;
  readonly expectations: readonly ExpectationResult[];
  readonly final: {
    readonly serving: string | null;
    readonly routerEndpoint: string | null;
    readonly liveEndpoint: string | null;
    readonly liveStatus: string | null;
    readonly liveInstances: number | null;
    readonly standby: string | null;
    readonly alarmsInAlarm: readonly string[];
    readonly virtualTime: string;
  };
  /** From the first breaching minute (or the manual request) to N-1 serving every request. */
  readonly timeToPreviousServing: {
    readonly seconds: number;
    readonly by: string;
    readonly to: string;
  } | null;
  readonly notEvaluated: readonly { name: string; why: string }[];
  /**
   * Stable answers the router logged under another version than the model that answered (its label
   * is the flag's stable version), and when the first was; not an invariant of the issue's list.
   */
  readonly mislabelledAnswers: { readonly count: number; readonly first: string | null };
  /** What on-call was paged with, in order (the timeline names only the subject). */
  readonly pages: readonly { readonly at: string; readonly subject: string; readonly body: string }[];
  readonly ok: boolean;
}

/** `+01:02:03` */
export function clockText(ms: number): string {
  const s = Math.round(ms / 1000);
  const sign = s < 0 ? '-' : '+';
  const a = Math.abs(s);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${sign}${two(Math.floor(a / 3600))}:${two(Math.floor((a % 3600) / 60))}:${two(a % 60)}`;
}

export interface RunOptions {
  readonly config: PlatformConfig;
  readonly configDir: string;
  readonly template?: Template;
  readonly onSynth?: (message: string) => void;
}

/** Runs one step in the world; returns expectation results for `expect`. */
export async function runStep(world: World, step: Step, index: number): Promise<ExpectationResult[]> {
  switch (step.kind) {
    case 'release':
      await world.release(step.version, {
        instanceType: step.instanceType,
        stopAfter: step.stopAfter,
        pause: step.pauseIn ? { stage: step.pauseIn, afterMs: step.pauseAfterMs ?? 0 } : undefined,
      });
      return [];
    case 'retry':
      await world.retry(step.stage);
      return [];
    case 'degrade': {
      const v = world.version(step.version);
      if (step.confidenceMean !== undefined) v.behaviour.confidenceMean = step.confidenceMean;
      if (step.errorRate !== undefined) v.behaviour.errorRate = step.errorRate;
      // p99 of the log-normal latency (σ 0.25) is p95 × e^(0.25 × (2.326 − 1.645)).
      if (step.p99LatencyMs !== undefined)
        v.behaviour.p95LatencyMs = step.p99LatencyMs / Math.exp(0.25 * (2.326 - 1.645));
      world.cloud.log(
        'scenario',
        `${step.version} degrades: ${JSON.stringify({ ...step, kind: undefined, line: undefined, version: undefined })}`,
      );
      return [];
    }
    case 'fail':
      world.cloud.faults.push({ call: step.call, times: step.times, error: step.error });
      world.cloud.log('scenario', `the next ${step.times} ${step.call} call(s) fail with ${step.error}`);
      return [];
    case 'rollback': {
      world.cloud.log(
        'person',
        `invokes the rollback${step.concurrent > 1 ? ` ${step.concurrent} times at once` : ''}: ${step.reason}`,
      );
      const event = { model: world.settings.model, reason: step.reason, requestedBy: 'rehearsal' };
      await Promise.all(Array.from({ length: step.concurrent }, () => world.invokeRollback(event, 'person')));
      return [];
    }
    case 'wait': {
      // A stage paused part-way goes on during the wait (CodePipeline polls it meanwhile).
      const endMs = world.cloud.nowMs + step.ms;
      await world.resumePaused();
      await world.advance(Math.max(0, endMs - world.cloud.nowMs));
      return [];
    }
    case 'retire':
      await world.retire();
      return [];
    case 'traffic':
      world.rpm = step.requestsPerMinute;
      world.cloud.log(
        'scenario',
        `the router's callers now send ${step.requestsPerMinute} requests a minute`,
      );
      return [];
    case 'expect': {
      const live = world.env.LIVE_ENDPOINT!;
      const standby = world.env.STANDBY_ENDPOINT!;
      const got: Record<string, string | number | null> = {
        serving: world.serving() ?? null,
        liveEndpoint: world.labelOfModel(world.cloud.servingModel(live)) ?? null,
        standby: world.labelOfModel(world.cloud.servingModel(standby)) ?? null,
        routerEndpoint: world.flagDocument()?.stable.endpoint ?? null,
        liveInstances: world.cloud.instancesOf(live, 'live') ?? null,
      };
      return Object.entries(step.expect).map(([key, want]) => {
        const ok = got[key] === want;
        world.cloud.log('expect', `${key} ${ok ? 'is' : 'is NOT'} ${want}${ok ? '' : ` (got ${got[key]})`}`);
        return {
          step: index + 1,
          line: step.line,
          key,
          want: want as string | number,
          got: got[key] ?? null,
          ok,
        };
      });
    }
  }
}

export async function runScenario(scenario: Scenario, options: RunOptions): Promise<RehearsalReport> {
  const world = new World({
    config: options.config,
    configDir: options.configDir,
    model: scenario.model,
    seed: scenario.seed,
    requestsPerMinute: scenario.requestsPerMinute,
    template: options.template,
    onSynth: options.onSynth,
  });
  return runInWorld(world, scenario);
}

export async function runInWorld(world: World, scenario: Scenario): Promise<RehearsalReport> {
  if (scenario.initial) {
    world.cloud.log('setup', `${scenario.initial} is released before the scenario starts`);
    await world.release(scenario.initial);
    world.invariants.initial(scenario.initial);
    await world.advance(5 * 60_000);
  }
  const startMs = world.cloud.nowMs;
  world.cloud.log('scenario', `starts (${scenario.steps.length} steps)`);
  const expectations: ExpectationResult[] = [];
  let stepIndex = -1;
  for (const [i, step] of scenario.steps.entries()) {
    stepIndex = i;
    const before = world.violations().length;
    expectations.push(...(await runStep(world, step, i)));
    for (const v of world.violations().slice(before)) v.step ??= i + 1;
  }
  // A stage still paused part-way finishes: CodePipeline would keep polling it.
  await world.resumePaused();
  for (const v of world.violations()) v.step ??= stepIndex + 1;
  return buildReport(world, scenario, startMs, expectations);
}

function buildReport(
  world: World,
  scenario: Scenario,
  startMs: number,
  expectations: ExpectationResult[],
): RehearsalReport {
  const live = world.env.LIVE_ENDPOINT!;
  const violations = world.violations();
  const invariants = (Object.keys(INVARIANTS) as InvariantName[]).map((name) => {
    const list = violations.filter((v) => v.invariant === name);
    return {
      name,
      description: INVARIANTS[name],
      ok: list.length === 0,
      violations: list.map((v) => ({
        step: v.step ?? null,
        at: clockText(v.atMs - startMs),
        message: v.message,
      })),
    };
  });
  const timing = world.rollbackTiming;
  const ok = violations.length === 0 && expectations.every((e) => e.ok);
  return {
    scenario: scenario.file,
    model: scenario.model,
    seed: scenario.seed,
    requestsPerMinute: scenario.requestsPerMinute,
    timeline: world.cloud.timeline.map((e) => ({
      at: clockText(e.atMs - startMs),
      actor: e.actor,
      message: e.message,
    })),
    invariants,
    invariantChecks: world.invariants.checks,
    expectations,
    final: {
      serving: world.serving() ?? null,
      routerEndpoint: world.flagDocument()?.stable.endpoint ?? null,
      liveEndpoint: world.labelOfModel(world.cloud.servingModel(live)) ?? null,
      liveStatus: world.cloud.endpoints.get(live)?.status ?? null,
      liveInstances: world.cloud.instancesOf(live, 'live') ?? null,
      standby: world.labelOfModel(world.cloud.servingModel(world.env.STANDBY_ENDPOINT!)) ?? null,
      alarmsInAlarm: [...world.cloud.alarms.alarms.values()]
        .filter((a) => a.state === 'ALARM')
        .map((a) => shortAlarm(a.definition.name)),
      virtualTime: clockText(world.cloud.nowMs - startMs),
    },
    timeToPreviousServing:
      timing?.servedMs !== undefined
        ? {
            seconds: Math.round((timing.servedMs - timing.triggerMs) / 1000),
            by: timing.by,
            to: timing.target,
          }
        : null,
    notEvaluated: world.cloud.alarms.unsupported(),
    mislabelledAnswers: {
      count: world.mislabelled.count,
      first: world.mislabelled.firstMs === undefined ? null : clockText(world.mislabelled.firstMs - startMs),
    },
    pages: world.cloud.pages.map((p) => ({
      at: clockText(p.atMs - startMs),
      subject: p.subject,
      body: p.body,
    })),
    ok,
  };
}

export function renderReport(report: RehearsalReport): string {
  const lines: string[] = [];
  lines.push(
    `Rehearsal of ${report.scenario}: ${report.model}, seed ${report.seed}, ${report.requestsPerMinute} requests per minute`,
  );
  lines.push('');
  lines.push('Timeline (virtual time from the start of the scenario):');
  for (const e of report.timeline) lines.push(`  ${e.at}  ${e.actor.padEnd(22)} ${e.message}`);
  lines.push('');
  lines.push(`Invariants (${report.invariantChecks} checks):`);
  for (const inv of report.invariants) {
    lines.push(`  ${inv.ok ? 'PASS' : 'FAIL'}  ${inv.description}`);
    for (const v of inv.violations) lines.push(`        step ${v.step ?? '-'} at ${v.at}: ${v.message}`);
  }
  if (report.expectations.length > 0) {
    lines.push('');
    lines.push('Expectations:');
    for (const e of report.expectations) {
      lines.push(
        `  ${e.ok ? 'PASS' : 'FAIL'}  step ${e.step} (line ${e.line}): ${e.key} ${e.want}${e.ok ? '' : `, got ${e.got}`}`,
      );
    }
  }
  const f = report.final;
  lines.push('');
  lines.push(
    `Final state at ${f.virtualTime}: serving ${f.serving ?? 'nothing'} (router → ${f.routerEndpoint ?? 'no flag'}); live endpoint ` +
      `${f.liveEndpoint ?? 'none'} (${f.liveStatus ?? '-'}, ${f.liveInstances ?? 0} instance(s)); standby ${f.standby ?? 'none'}; ` +
      `alarms in ALARM: ${f.alarmsInAlarm.join(', ') || 'none'}`,
  );
  if (report.timeToPreviousServing) {
    const t = report.timeToPreviousServing;
    lines.push(
      `Time from the first breaching minute (or the request) to ${t.to} serving every request: ${Math.floor(t.seconds / 60)} min ${t.seconds % 60} s (${t.by})`,
    );
  }
  if (report.mislabelledAnswers.count > 0) {
    lines.push(
      `Router log: ${report.mislabelledAnswers.count} stable answer(s) logged under another version than the one that answered (first at ${report.mislabelledAnswers.first})`,
    );
  }
  if (report.notEvaluated.length > 0) {
    lines.push(`Not evaluated: ${report.notEvaluated.map((n) => `${n.name} (${n.why})`).join('; ')}`);
  }
  lines.push('');
  lines.push(
    report.ok
      ? 'PASS: every invariant and expectation held'
      : 'FAIL: see the invariants and expectations above',
  );
  return `${lines.join('\n')}\n`;
}
