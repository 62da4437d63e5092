/**
 * Rehearsal scenarios: the YAML format of issue 11, parsed, never cast. Every mistake is reported
 * like a config error, `file:line key: what is wrong (what to write instead)`, all at once.
 */
import { LineCounter, parseDocument, isMap, isSeq, type Document, type Node } from 'yaml';
import { FAULT_ERRORS, faultProblem } from './faults';
import { STAGES, type Stage } from './world';

export type Step =
  | {
      readonly kind: 'release';
      readonly line: number;
      readonly version: string;
      readonly instanceType?: string;
      readonly stopAfter?: Stage;
      /** The run pauses part-way through this stage; the next steps happen while it is in progress. */
      readonly pauseIn?: Stage;
      /** How long the paused stage has run first (ms of virtual time); 0: its first invocation. */
      readonly pauseAfterMs?: number;
    }
  | {
      readonly kind: 'degrade';
      readonly line: number;
      readonly version: string;
      readonly confidenceMean?: number;
      readonly errorRate?: number;
      readonly p99LatencyMs?: number;
    }
  | {
      readonly kind: 'fail';
      readonly line: number;
      readonly call: string;
      readonly times: number;
      readonly error: string;
    }
  | { readonly kind: 'retry'; readonly line: number; readonly stage: Stage }
  | { readonly kind: 'rollback'; readonly line: number; readonly reason: string; readonly concurrent: number }
  | { readonly kind: 'wait'; readonly line: number; readonly ms: number; readonly text: string }
  /** A deploy with `serving.retired: true` (docs/operations.md, "Retiring a model"). */
  | { readonly kind: 'retire'; readonly line: number }
  /** The router's callers change their rate (0: they were told and stopped). */
  | { readonly kind: 'traffic'; readonly line: number; readonly requestsPerMinute: number }
  | { readonly kind: 'expect'; readonly line: number; readonly expect: Expectation };

export interface Expectation {
  readonly serving?: string;
  readonly liveEndpoint?: string;
  readonly standby?: string;
  readonly routerEndpoint?: 'live' | 'standby';
  readonly liveInstances?: number;
}

export interface Scenario {
  readonly file: string;
  readonly model: string;
  readonly description?: string;
  /** The line of the `model` key, for a message about the model (an unknown one). */
  readonly modelLine?: number;
  readonly requestsPerMinute: number;
  readonly seed: number;
  /** The version serving before the first step; `none` for a model never released. */
  readonly initial: string | null;
  readonly steps: readonly Step[];
}

export interface ScenarioProblem {
  readonly file: string;
  readonly line?: number;
  readonly path: string;
  readonly message: string;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(readonly problems: readonly ScenarioProblem[]) {
    super(problems.map(formatScenarioProblem).join('\n'));
  }
}

export function formatScenarioProblem(p: ScenarioProblem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''} ${p.path || '(file)'}: ${p.message}`;
}

/** Calls the stages may fail on: what the handlers send. */
export const FAULT_CALLS = [
  'UpdateEndpoint',
  'CreateEndpoint',
  'DescribeEndpoint',
  'DescribeEndpointConfig',
  'CreateEndpointConfig',
  'CreateModel',
  'RegisterScalableTarget',
  'PutScalingPolicy',
  'DeregisterScalableTarget',
  'DeleteScalingPolicy',
  'DescribeAlarms',
  'PutMetricAlarm',
  'PutMetricData',
  'GetMetricData',
  'StartDeployment',
  'CreateHostedConfigurationVersion',
  'ListHostedConfigurationVersions',
  'GetHostedConfigurationVersion',
  'GetObject',
  'PutObject',
  'PutItem',
  'UpdateItem',
  'Publish',
  'InvokeEndpoint',
  'GetLatestConfiguration',
] as const;
export { FAULT_ERRORS };

const STEP_KINDS = [
  'release',
  'degrade',
  'fail',
  'retry',
  'rollback',
  'wait',
  'expect',
  'retire',
  'traffic',
] as const;
const TOP_KEYS = ['model', 'description', 'traffic', 'seed', 'initial', 'steps'] as const;

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return d[a.length]![b.length]!;
}

function didYouMean(word: string, known: readonly string[]): string {
  const best = known
    .map((k) => [k, distance(word.toLowerCase(), k.toLowerCase())] as const)
    .sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean "${best[0]}"?)` : '';
}

/** `90s`, `20m`, `24h` → milliseconds. */
export function parseDuration(text: string): { ms: number } | { error: string } {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*(s|m|h)\s*$/.exec(text);
  if (!m) return { error: `not a duration (got "${text}"; write it like 90s, 20m or 24h)` };
  const n = Number(m[1]);
  if (n < 0) return { error: `a wait cannot be negative (got "${text}"; write it like 90s, 20m or 24h)` };
  return { ms: n * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'] };
}

export function parseScenario(text: string, file: string): Scenario {
  const problems: ScenarioProblem[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0].line,
        path: '',
        message: `invalid YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  const at = (p: (string | number)[]): number | undefined => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true) as Node | undefined;
      const line = lineOf(node);
      if (line !== undefined) return line;
    }
    return undefined;
  };
  const keyLine = (p: (string | number)[], key: string): number | undefined => {
    const parent = (p.length === 0 ? doc.contents : doc.getIn(p, true)) as Node | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((i) => (i.key as { value?: unknown })?.value === key);
      const line = lineOf(pair?.key as Node | undefined);
      if (line !== undefined) return line;
    }
    return at(p);
  };
  const problem = (p: (string | number)[], message: string, line = at(p)) =>
    problems.push({ file, line, path: p.join('.'), message });

  const raw = doc.toJS() as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ScenarioError([
      { file, path: '', message: 'a scenario is a mapping with model, traffic, seed and steps' },
    ]);
  }
  const top = raw as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (!(TOP_KEYS as readonly string[]).includes(k))
      problem(
        [k],
        `unknown key${didYouMean(k, TOP_KEYS)}; a scenario has ${TOP_KEYS.join(', ')}`,
        keyLine([], k),
      );
  }
  const str = (p: (string | number)[], v: unknown, what: string): string | undefined => {
    if (typeof v === 'string' && v.trim() !== '') return v;
    if (typeof v === 'number') return String(v);
    problem(p, `${v === undefined ? 'missing' : `wrong type (got ${JSON.stringify(v)})`}; expected ${what}`);
    return undefined;
  };
  const num = (
    p: (string | number)[],
    v: unknown,
    what: string,
    min: number,
    max: number,
  ): number | undefined => {
    if (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max) return v;
    problem(
      p,
      `${v === undefined ? 'missing' : `got ${JSON.stringify(v)}`}; expected ${what} from ${min} to ${max}`,
    );
    return undefined;
  };
  const keys = (p: (string | number)[], v: Record<string, unknown>, allowed: readonly string[]) => {
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k))
        problem(
          [...p, k],
          `unknown key${didYouMean(k, allowed)}; allowed: ${allowed.join(', ')}`,
          keyLine(p, k),
        );
    }
  };

  const model = str(
    ['model'],
    top.model,
    'the name of a model of the config directory, like document-classifier',
  );
  let rpm: number | undefined = 60;
  if (top.traffic !== undefined) {
    if (typeof top.traffic !== 'object' || top.traffic === null)
      problem(['traffic'], 'expected { requestsPerMinute: N }');
    else {
      keys(['traffic'], top.traffic as Record<string, unknown>, ['requestsPerMinute']);
      rpm = num(
        ['traffic', 'requestsPerMinute'],
        (top.traffic as Record<string, unknown>).requestsPerMinute,
        'a number of requests per minute',
        1,
        6000,
      );
    }
  }
  const seed = top.seed === undefined ? 1 : num(['seed'], top.seed, 'a whole number', 0, 2 ** 31);
  const initialRaw =
    top.initial === undefined ? 'v1' : str(['initial'], top.initial, 'a version label like v1, or none');
  const initial = initialRaw === 'none' ? null : (initialRaw ?? null);
  const known = new Set<string>(initial ? [initial] : []);

  const steps: Step[] = [];
  if (!Array.isArray(top.steps))
    problem(
      ['steps'],
      `${top.steps === undefined ? 'missing' : 'not a list'}; expected a list of steps (${STEP_KINDS.join(', ')})`,
    );
  const list = Array.isArray(top.steps) ? (top.steps as unknown[]) : [];
  const seqNode = doc.getIn(['steps'], true);
  list.forEach((raw, i) => {
    const p = ['steps', i];
    const line = isSeq(seqNode) ? lineOf(seqNode.items[i] as Node) : at(p);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problem(p, `a step is a mapping like "release: v2" (got ${JSON.stringify(raw)})`, line);
      return;
    }
    const step = raw as Record<string, unknown>;
    const kind = STEP_KINDS.find((k) => k in step);
    if (!kind) {
      const first = Object.keys(step)[0] ?? '';
      problem(
        [...p, first],
        `unknown step "${first}"${didYouMean(first, STEP_KINDS)}; a step is one of ${STEP_KINDS.join(', ')}`,
        keyLine(p, first),
      );
      return;
    }
    const l = line ?? 0;
    const value = step[kind];
    const sub = (k: string) =>
      typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[k] : undefined;
    const version = (q: (string | number)[], v: unknown) => {
      const label = str(q, v, 'a version label like v2');
      if (label !== undefined && !known.has(label)) {
        problem(
          q,
          `version "${label}" was never released before this step (released so far: ${[...known].join(', ') || 'none'}); release it first or fix the label`,
        );
      }
      return label;
    };
    switch (kind) {
      case 'release': {
        keys(p, step, ['release', 'instanceType', 'stopAfter', 'pauseIn', 'pauseAfter']);
        const label = str([...p, 'release'], value, 'a version label like v2');
        let stopAfter: Stage | undefined;
        if (step.stopAfter !== undefined) {
          if ((STAGES as readonly string[]).includes(String(step.stopAfter)))
            stopAfter = step.stopAfter as Stage;
          else
            problem(
              [...p, 'stopAfter'],
              `got "${step.stopAfter}"${didYouMean(String(step.stopAfter), STAGES)}; expected ${STAGES.join(' | ')}`,
            );
        }
        let pauseIn: Stage | undefined;
        if (step.pauseIn !== undefined) {
          if ((STAGES as readonly string[]).includes(String(step.pauseIn))) pauseIn = step.pauseIn as Stage;
          else
            problem(
              [...p, 'pauseIn'],
              `got "${step.pauseIn}"${didYouMean(String(step.pauseIn), STAGES)}; expected the stage to pause in: ${STAGES.join(' | ')}`,
            );
        }
        if (pauseIn && stopAfter && STAGES.indexOf(pauseIn) > STAGES.indexOf(stopAfter))
          problem(
            [...p, 'pauseIn'],
            `the run stops after ${stopAfter}, so it never reaches ${pauseIn}; pause in ${STAGES.slice(0, STAGES.indexOf(stopAfter) + 1).join(' | ')}, or remove stopAfter`,
          );
        let pauseAfterMs: number | undefined;
        if (step.pauseAfter !== undefined) {
          const d = parseDuration(String(step.pauseAfter));
          if ('error' in d) problem([...p, 'pauseAfter'], d.error);
          else pauseAfterMs = d.ms;
          if (step.pauseIn === undefined)
            problem(
              [...p, 'pauseAfter'],
              'says how long into the paused stage, but no pauseIn names the stage; add pauseIn: shadow | canary | promotion',
            );
        }
        if (
          step.instanceType !== undefined &&
          !/^ml\.[a-z0-9]+\.[a-z0-9]+$/.test(String(step.instanceType))
        ) {
          problem(
            [...p, 'instanceType'],
            `got "${step.instanceType}"; expected a SageMaker instance type like ml.g5.2xlarge`,
          );
        }
        if (label) {
          known.add(label);
          steps.push({
            kind,
            line: l,
            version: label,
            instanceType: step.instanceType as string | undefined,
            stopAfter,
            ...(pauseIn ? { pauseIn, pauseAfterMs: pauseAfterMs ?? 0 } : {}),
          });
        }
        break;
      }
      case 'degrade': {
        keys(p, step, ['degrade']);
        keys([...p, 'degrade'], (value ?? {}) as Record<string, unknown>, [
          'version',
          'confidenceMean',
          'errorRate',
          'p99LatencyMs',
        ]);
        const label = version([...p, 'degrade', 'version'], sub('version'));
        const c =
          sub('confidenceMean') === undefined
            ? undefined
            : num([...p, 'degrade', 'confidenceMean'], sub('confidenceMean'), 'a mean confidence', 0, 1);
        const e =
          sub('errorRate') === undefined
            ? undefined
            : num([...p, 'degrade', 'errorRate'], sub('errorRate'), 'an error rate', 0, 1);
        const lat =
          sub('p99LatencyMs') === undefined
            ? undefined
            : num([...p, 'degrade', 'p99LatencyMs'], sub('p99LatencyMs'), 'a p99 latency in ms', 1, 600_000);
        if (
          c === undefined &&
          e === undefined &&
          lat === undefined &&
          sub('confidenceMean') === undefined &&
          sub('errorRate') === undefined &&
          sub('p99LatencyMs') === undefined
        ) {
          problem(
            [...p, 'degrade'],
            'says nothing to degrade; give confidenceMean, errorRate or p99LatencyMs',
          );
        }
        if (label)
          steps.push({ kind, line: l, version: label, confidenceMean: c, errorRate: e, p99LatencyMs: lat });
        break;
      }
      case 'fail': {
        keys(p, step, ['fail']);
        keys([...p, 'fail'], (value ?? {}) as Record<string, unknown>, ['call', 'times', 'error']);
        const call = str(
          [...p, 'fail', 'call'],
          sub('call'),
          `an AWS call (${FAULT_CALLS.slice(0, 4).join(', ')}, ...)`,
        );
        if (call && !(FAULT_CALLS as readonly string[]).includes(call))
          problem(
            [...p, 'fail', 'call'],
            `"${call}" is not a call the release path makes${didYouMean(call, FAULT_CALLS)}; one of ${FAULT_CALLS.join(', ')}`,
          );
        const times =
          sub('times') === undefined
            ? 1
            : num([...p, 'fail', 'times'], sub('times'), 'a whole number of failures', 1, 1000);
        const error =
          sub('error') === undefined
            ? 'ThrottlingException'
            : str([...p, 'fail', 'error'], sub('error'), FAULT_ERRORS.join(' | '));
        if (error && !(FAULT_ERRORS as readonly string[]).includes(error))
          problem(
            [...p, 'fail', 'error'],
            `"${error}"${didYouMean(error, FAULT_ERRORS)}; expected ${FAULT_ERRORS.join(' | ')}`,
          );
        const problemWithFault =
          call && error && (FAULT_ERRORS as readonly string[]).includes(error)
            ? faultProblem(call, error)
            : null;
        if (problemWithFault) problem([...p, 'fail', 'error'], `"${error}": ${problemWithFault}`);
        if (call && times && error) steps.push({ kind, line: l, call, times, error });
        break;
      }
      case 'retry': {
        keys(p, step, ['retry']);
        if ((STAGES as readonly string[]).includes(String(value)))
          steps.push({ kind, line: l, stage: value as Stage });
        else
          problem(
            [...p, 'retry'],
            `got "${value}"${didYouMean(String(value), STAGES)}; expected a stage: ${STAGES.join(' | ')}`,
          );
        if (known.size === (initial ? 1 : 0) && !steps.some((s) => s.kind === 'release'))
          problem([...p, 'retry'], 'no release ran before this step, so there is no stage to retry');
        break;
      }
      case 'rollback': {
        keys(p, step, ['rollback']);
        keys([...p, 'rollback'], (value ?? {}) as Record<string, unknown>, ['reason', 'concurrent']);
        const reason =
          sub('reason') === undefined
            ? 'rehearsal'
            : str([...p, 'rollback', 'reason'], sub('reason'), 'why, in words');
        const concurrent =
          sub('concurrent') === undefined
            ? 1
            : num([...p, 'rollback', 'concurrent'], sub('concurrent'), 'how many invocations at once', 1, 5);
        if (reason && concurrent) steps.push({ kind, line: l, reason, concurrent });
        break;
      }
      case 'wait': {
        keys(p, step, ['wait']);
        const d = parseDuration(String(value));
        if ('error' in d) problem([...p, 'wait'], d.error);
        else steps.push({ kind, line: l, ms: d.ms, text: String(value) });
        break;
      }
      case 'retire': {
        keys(p, step, ['retire']);
        if (value !== null && (typeof value !== 'object' || Object.keys(value as object).length > 0))
          problem(
            [...p, 'retire'],
            `got ${JSON.stringify(value)}; write "retire: {}" (a deploy with serving.retired: true takes no options)`,
          );
        else steps.push({ kind, line: l });
        break;
      }
      case 'traffic': {
        keys(p, step, ['traffic']);
        keys([...p, 'traffic'], (value ?? {}) as Record<string, unknown>, ['requestsPerMinute']);
        const rate = num(
          [...p, 'traffic', 'requestsPerMinute'],
          sub('requestsPerMinute'),
          'a number of requests per minute (0: the callers stopped)',
          0,
          6000,
        );
        if (rate !== undefined) steps.push({ kind, line: l, requestsPerMinute: rate });
        break;
      }
      case 'expect': {
        keys(p, step, ['expect']);
        keys([...p, 'expect'], (value ?? {}) as Record<string, unknown>, [
          'serving',
          'liveEndpoint',
          'standby',
          'routerEndpoint',
          'liveInstances',
        ]);
        const e: Record<string, unknown> = {};
        for (const k of ['serving', 'liveEndpoint', 'standby'] as const)
          if (sub(k) !== undefined) e[k] = version([...p, 'expect', k], sub(k));
        if (sub('routerEndpoint') !== undefined) {
          if (sub('routerEndpoint') === 'live' || sub('routerEndpoint') === 'standby')
            e.routerEndpoint = sub('routerEndpoint');
          else
            problem(
              [...p, 'expect', 'routerEndpoint'],
              `got ${JSON.stringify(sub('routerEndpoint'))}; expected live | standby`,
            );
        }
        if (sub('liveInstances') !== undefined)
          e.liveInstances = num(
            [...p, 'expect', 'liveInstances'],
            sub('liveInstances'),
            'an instance count',
            0,
            1000,
          );
        steps.push({ kind, line: l, expect: e as Expectation });
        break;
      }
    }
  });
  if (problems.length > 0) throw new ScenarioError(problems);
  return {
    file,
    model: model!,
    modelLine: keyLine([], 'model'),
    description: typeof top.description === 'string' ? top.description : undefined,
    requestsPerMinute: rpm!,
    seed: seed!,
    initial,
    steps,
  };
}

export type { Document };
