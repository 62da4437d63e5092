/**
 * The canary stage's brain: what one `DescribeEndpoint` poll during a blue/green update with
 * deployment guardrails means, and the continuation token that carries the poll state between
 * CodePipeline invocations.
 *
 * SageMaker can roll an update back and then report the endpoint `InService` as if nothing
 * happened, so the only reliable signal is the config name in service: the stage passes only
 * when it is the candidate's. Guardrails watch their alarms only during the deployment and its
 * bake, and an alarm may be back to OK by the time we read it, so alarms seen in ALARM on any
 * poll are carried in the token and named when the rollback is finally reported.
 */
import { z } from 'zod';
import { CONTINUATION_TOKEN_LIMIT, continuationTokenCodec } from './continuation-token';

/** The fields of SageMaker's `DescribeEndpoint` output this module reads (structurally compatible with the SDK's). */
export interface EndpointDescription {
  readonly EndpointName?: string;
  /** `Creating`, `Updating`, `SystemUpdating`, `RollingBack`, `InService`, `Failed`, `UpdateRollbackFailed`, ... */
  readonly EndpointStatus?: string;
  readonly EndpointConfigName?: string;
  readonly FailureReason?: string;
  readonly LastDeploymentConfig?: {
    readonly BlueGreenUpdatePolicy?: {
      readonly TrafficRoutingConfiguration?: {
        readonly Type?: string;
        readonly WaitIntervalInSeconds?: number;
        readonly CanarySize?: { readonly Type?: string; readonly Value?: number };
      };
      readonly MaximumExecutionTimeoutInSeconds?: number;
    };
    readonly AutoRollbackConfiguration?: { readonly Alarms?: readonly { readonly AlarmName?: string }[] };
  };
  readonly ProductionVariants?: readonly {
    readonly VariantName?: string;
    readonly CurrentInstanceCount?: number;
    readonly CurrentWeight?: number;
  }[];
}

/** An auto-rollback alarm's current state, from `DescribeAlarms` (`AlarmName`, `StateValue`). */
export interface AlarmStatus {
  readonly name: string;
  /** `OK`, `ALARM` or `INSUFFICIENT_DATA`. */
  readonly state: string;
}

/** What the canary action does after one poll. Every kind carries `alarmsSeen` for the next token. */
export type CanaryStep =
  | { readonly kind: 'wait'; readonly reason: string; readonly alarmsSeen: readonly string[] }
  | { readonly kind: 'pass'; readonly summary: string; readonly alarmsSeen: readonly string[] }
  | { readonly kind: 'fail'; readonly message: string; readonly alarmsSeen: readonly string[] };

/** Options of {@link canaryStep}. */
export interface CanaryStepOptions {
  /** Alarms seen in ALARM on earlier polls of this deployment (from the continuation token). @default [] */
  readonly alarmsSeen?: readonly string[];
  /**
   * Whether the alarms guard this update (a canary of a live endpoint): then the candidate does not
   * pass while one is in ALARM. False for a first release, which has no guardrails. @default true
   */
  readonly guarded?: boolean;
}

const TRANSITIONAL = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack']);

/**
 * Decides what one poll of the live endpoint means for the canary stage: keep waiting, pass, or
 * fail with a message an operator can act on. Total: it never throws, whatever the input (a
 * malformed input is a `fail` that says so), because a throw would surface as an opaque
 * pipeline error. A `pass` requires `InService` with `expectedConfigName` in service.
 */
export function canaryStep(
  expectedConfigName: string,
  describe: EndpointDescription,
  alarms: readonly AlarmStatus[],
  elapsedSeconds: number,
  maxSeconds: number,
  options: CanaryStepOptions = {},
): CanaryStep {
  const alarmingNow = uniqueSorted(
    (Array.isArray(alarms) ? alarms : [])
      .filter((a) => a !== null && typeof a === 'object' && a.state === 'ALARM' && typeof a.name === 'string')
      .map((a) => a.name),
  );
  const earlier = Array.isArray(options.alarmsSeen)
    ? options.alarmsSeen.filter((n): n is string => typeof n === 'string')
    : [];
  const alarmsSeen = uniqueSorted([...earlier, ...alarmingNow]);
  const wait = (reason: string): CanaryStep => ({ kind: 'wait', reason, alarmsSeen });
  const pass = (summary: string): CanaryStep => ({ kind: 'pass', summary, alarmsSeen });
  const fail = (message: string): CanaryStep => ({ kind: 'fail', message, alarmsSeen });

  const bug = inputProblem(expectedConfigName, describe, elapsedSeconds, maxSeconds);
  if (bug !== undefined)
    return fail(`canary check got ${bug}; this is a bug in the canary handler, please report it`);

  const endpoint = describe.EndpointName ? `endpoint "${describe.EndpointName}"` : 'the live endpoint';
  const status = describe.EndpointStatus;
  const inService = describe.EndpointConfigName;
  const reason = describe.FailureReason?.trim() ? describe.FailureReason.trim() : 'none given';

  if (status !== undefined && TRANSITIONAL.has(status)) {
    const what =
      status === 'RollingBack'
        ? `SageMaker is rolling the update back${alarmingNow.length > 0 ? ` (${listAlarms(alarmingNow)} in ALARM)` : ''}`
        : `${endpoint} is ${status}`;
    if (elapsedSeconds > maxSeconds) {
      return fail(
        `Canary timed out after ${formatDuration(elapsedSeconds)} (limit ${formatDuration(maxSeconds)}): ` +
          `${what}, serving config "${inService ?? 'unknown'}". SageMaker may still finish or roll back the ` +
          'update on its own: check DescribeEndpoint before retrying, and raise ' +
          'serving.canary.maxExecutionTimeoutMinutes if the update is just slow.',
      );
    }
    return wait(`${what}; waited ${formatDuration(elapsedSeconds)} of ${formatDuration(maxSeconds)}`);
  }

  if (status === 'InService') {
    if (inService === expectedConfigName && alarmingNow.length > 0 && options.guarded !== false) {
      // Guardrails watch only during the deployment and its bake, and an alarm needs its datapoints:
      // one that went off near the end of the bake finds the shift already done. The candidate is
      // what it warns about, so it does not pass.
      return fail(
        `Canary failed: ${listAlarms(alarmingNow)} ${alarmingNow.length === 1 ? 'is' : 'are'} in ALARM while the ` +
          `candidate config "${expectedConfigName}" serves on ${endpoint}: the alarm went off after SageMaker's ` +
          'guardrails stopped watching (they watch only during the deployment and its bake), so the candidate is ' +
          'not released.',
      );
    }
    if (inService === expectedConfigName) return pass(passSummary(endpoint, describe, alarmingNow));
    const serving = `${capitalize(endpoint)} is InService but serves config "${inService ?? 'unknown'}", not the candidate's`;
    const advice =
      "The previous model still serves all traffic; look at the candidate's 5xx rate and model latency " +
      'during the canary before releasing it again.';
    if (alarmingNow.length > 0 || alarmsSeen.length > 0) {
      const cause =
        alarmingNow.length > 0
          ? `${listAlarms(alarmingNow)} ${alarmingNow.length === 1 ? 'is' : 'are'} in ALARM`
          : `${listAlarms(alarmsSeen)} ${alarmsSeen.length === 1 ? 'was' : 'were'} in ALARM during the deployment`;
      return fail(
        `Canary failed: the update to "${expectedConfigName}" was rolled back; ${cause}. ${serving}. ${advice}`,
      );
    }
    return fail(
      `Canary failed: the update to "${expectedConfigName}" was rolled back by SageMaker (FailureReason: ${reason}). ` +
        `${serving}. No auto-rollback alarm is in ALARM now and guardrails watch alarms only during the ` +
        `deployment and its bake: check the history of ${listAlarms(configuredAlarms(describe), 'the auto-rollback alarms')} ` +
        `over the deployment window. ${advice}`,
    );
  }

  if (status === 'Failed') {
    return fail(
      `Canary failed: ${endpoint} is Failed (FailureReason: ${reason}). Fix the cause the FailureReason names ` +
        '(often the model image, the artifact, or the instance quota), then rerun the release; run the ' +
        'rollback to move traffic to the standby endpoint meanwhile.',
    );
  }

  if (status === 'UpdateRollbackFailed') {
    return fail(
      `Canary failed and needs an operator: both the blue/green deployment and SageMaker's rollback failed ` +
        `on ${endpoint} (FailureReason: ${reason}), so it may serve a mix of the old and new configs. First ` +
        'check DescribeEndpoint ProductionVariants (which variants and instance counts serve) and the ' +
        'FailureReason; then run the rollback, which moves traffic to the standby endpoint, and update the ' +
        `live endpoint back to the previous config once it is stable.`,
    );
  }

  return fail(
    `Canary failed: ${endpoint} has status "${status ?? 'missing'}", which no canary deployment should ` +
      'produce (expected Updating, RollingBack or InService). Check whether someone deleted or changed the ' +
      'endpoint by hand, then rerun the release.',
  );
}

/** Which auto-rollback alarms guard a canary that starts now, and why any is left out. */
export interface CanaryGuardrails {
  /** The alarms the deployment lists (SageMaker rolls back when one is in ALARM during it). */
  readonly guard: readonly string[];
  /** The confidence alarm, when it was already in ALARM: it judges the served version, not the candidate. */
  readonly leftOut: readonly string[];
  /** Other alarms already in ALARM: the canary does not start. */
  readonly blocking: readonly string[];
}

/**
 * The guardrails of a canary about to start. The confidence alarm reads the router's metrics,
 * which do not say which version answered: in ALARM before the canary starts, it is a verdict on
 * the version that serves (which the candidate is to replace) and would roll back any candidate
 * before its first request, for every later release while it stays there (an alarm acts only on a
 * change of state). So it is left out of this deployment, and the other alarms guard it. Any
 * other alarm already in ALARM blocks the start, as before: it watches the endpoint's errors and
 * latency, which the candidate shares.
 */
export function canaryGuardrails(
  alarmNames: readonly string[],
  statuses: readonly AlarmStatus[],
  confidenceAlarm: string | undefined,
): CanaryGuardrails {
  const alarming = new Set(statuses.filter((a) => a.state === 'ALARM').map((a) => a.name));
  const leftOut = alarmNames.filter((n) => n === confidenceAlarm && alarming.has(n));
  const guard = alarmNames.filter((n) => !leftOut.includes(n));
  const blocking = guard.filter((n) => alarming.has(n));
  // SageMaker needs at least one alarm for auto-rollback; with none left the confidence alarm blocks as well.
  if (guard.length === 0) return { guard: [...alarmNames], leftOut: [], blocking: [...leftOut] };
  return { guard, leftOut, blocking };
}

/**
 * The alarms that guard the deployment now running: those its `AutoRollbackConfiguration` lists
 * (DescribeEndpoint `LastDeploymentConfig`), among the configured ones; all configured ones when
 * the description lists none.
 */
export function deploymentAlarms(describe: EndpointDescription, configured: readonly string[]): string[] {
  const listed = configuredAlarms(describe);
  const guarded = configured.filter((n) => listed.includes(n));
  return guarded.length > 0 ? guarded : [...configured];
}

function inputProblem(
  expectedConfigName: unknown,
  describe: unknown,
  elapsedSeconds: unknown,
  maxSeconds: unknown,
): string | undefined {
  if (typeof expectedConfigName !== 'string' || expectedConfigName.length === 0) {
    return `expectedConfigName ${JSON.stringify(expectedConfigName) ?? 'undefined'} (expected a non-empty config name)`;
  }
  if (describe === null || typeof describe !== 'object') {
    return `a DescribeEndpoint output of ${String(describe)} (expected an object)`;
  }
  const d = describe as Record<string, unknown>;
  for (const key of ['EndpointName', 'EndpointStatus', 'EndpointConfigName', 'FailureReason']) {
    if (d[key] !== undefined && typeof d[key] !== 'string') {
      return `DescribeEndpoint ${key} of type ${typeof d[key]} (expected a string)`;
    }
  }
  if (typeof elapsedSeconds !== 'number' || !Number.isFinite(elapsedSeconds) || elapsedSeconds < 0) {
    return `elapsedSeconds ${String(elapsedSeconds)} (expected a finite number >= 0)`;
  }
  if (typeof maxSeconds !== 'number' || !Number.isFinite(maxSeconds) || maxSeconds <= 0) {
    return `maxSeconds ${String(maxSeconds)} (expected a finite number > 0)`;
  }
  return undefined;
}

function passSummary(endpoint: string, d: EndpointDescription, alarmingNow: readonly string[]): string {
  const parts = [
    `Canary passed: ${endpoint} is InService with the candidate config "${d.EndpointConfigName}"`,
  ];
  const routing = d.LastDeploymentConfig?.BlueGreenUpdatePolicy?.TrafficRoutingConfiguration;
  if (routing?.Type) {
    const size = routing.CanarySize;
    const sized =
      size?.Value !== undefined
        ? ` ${size.Value}${size.Type === 'CAPACITY_PERCENT' ? '%' : ' instance(s)'}`
        : '';
    const baked =
      routing.WaitIntervalInSeconds !== undefined
        ? `, baked ${formatDuration(routing.WaitIntervalInSeconds)}`
        : '';
    parts.push(`traffic routing ${routing.Type}${sized}${baked}`);
  }
  const watched = configuredAlarms(d);
  if (watched.length > 0) parts.push(`watched by ${listAlarms(watched)}`);
  const variants = (Array.isArray(d.ProductionVariants) ? d.ProductionVariants : [])
    .filter((v) => v !== null && typeof v === 'object' && typeof v.VariantName === 'string')
    .map(
      (v) =>
        `${v.VariantName} ${typeof v.CurrentInstanceCount === 'number' ? v.CurrentInstanceCount : '?'} instance(s)`,
    );
  if (variants.length > 0) parts.push(`variants: ${variants.join(', ')}`);
  // The deployment is over, so guardrails no longer act on these; the monitoring alarms and rollback do.
  if (alarmingNow.length > 0) {
    parts.push(
      `note: ${listAlarms(alarmingNow)} ${alarmingNow.length === 1 ? 'is' : 'are'} in ALARM now, after the ` +
        'deployment; watch the live endpoint',
    );
  }
  return `${parts.join('; ')}.`;
}

function configuredAlarms(d: EndpointDescription): string[] {
  const alarms = d.LastDeploymentConfig?.AutoRollbackConfiguration?.Alarms;
  return Array.isArray(alarms)
    ? uniqueSorted(
        alarms
          .map((a) => (a !== null && typeof a === 'object' ? a.AlarmName : undefined))
          .filter((n): n is string => typeof n === 'string' && n.length > 0),
      )
    : [];
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function listAlarms(names: readonly string[], ifNone = 'no alarm'): string {
  if (names.length === 0) return ifNone;
  const quoted = names.map((n) => `"${n}"`);
  return `alarm${names.length === 1 ? '' : 's'} ${quoted.join(', ')}`;
}

function uniqueSorted(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

/** "45 s", "12 min", "1 h 5 min": whole units, because the poll interval is much coarser. */
function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

// ---------------------------------------------------------------------------------------------
// Continuation token
// ---------------------------------------------------------------------------------------------

export { CONTINUATION_TOKEN_LIMIT };

/** The only token version this code writes and reads. */
export const CANARY_TOKEN_VERSION = 1;

/** What the canary action remembers between polls. */
export interface CanaryState {
  /** The live endpoint being updated. */
  readonly endpointName: string;
  /** The candidate's endpoint config: the stage passes only when it is in service. */
  readonly expectedConfigName: string;
  /**
   * The config that served before the update, for the failure message and the promotion; null
   * when this release created the live endpoint (a first release: nothing served before).
   */
  readonly previousConfigName: string | null;
  /** When `UpdateEndpoint` was called, epoch milliseconds (the handler's clock). */
  readonly startedAtMs: number;
  /** Polls so far. */
  readonly polls: number;
  /** Auto-rollback alarms seen in ALARM on any poll, sorted. */
  readonly alarmsSeen: readonly string[];
  /**
   * Set while the stage refreshes the standby endpoint with the model that serves now, before it
   * updates the live endpoint; `startedAtMs` is then when that refresh began. Absent once the
   * update of the live endpoint has started.
   */
  readonly standbyRefresh?: true;
  /**
   * Set once the candidate served but did not pass: the previous config is going back onto the live
   * endpoint, and the flag sends users to the version before, warm on the standby, meanwhile. The
   * stage finishes (fails) once the live endpoint serves the previous config again.
   */
  readonly reverting?: true;
}

const name = z.string().min(1).max(255);
// Short keys keep the token well under CodePipeline's limit with long alarm names.
const wireSchema = z.strictObject({
  v: z.literal(CANARY_TOKEN_VERSION),
  e: name,
  c: name,
  p: name.nullable(),
  s: z.number().int().nonnegative(),
  n: z.number().int().nonnegative(),
  a: z.array(name).max(20),
  b: z.literal(1).optional(),
  r: z.literal(1).optional(),
});
type Wire = z.infer<typeof wireSchema>;

/** Thrown when a continuation token cannot be written or read. */
export class CanaryTokenError extends Error {
  override readonly name = 'CanaryTokenError';
}

const codec = continuationTokenCodec({
  what: 'canary',
  version: CANARY_TOKEN_VERSION,
  wireSchema,
  fieldNames: {
    v: 'version',
    e: 'endpointName',
    c: 'expectedConfigName',
    p: 'previousConfigName',
    s: 'startedAtMs',
    n: 'polls',
    a: 'alarmsSeen',
    b: 'standbyRefresh',
    r: 'reverting',
  },
  errorClass: CanaryTokenError,
  shortenHint: 'shorten the endpoint, config or auto-rollback alarm names',
  toWire: (state: CanaryState): Wire => ({
    v: CANARY_TOKEN_VERSION,
    e: state.endpointName,
    c: state.expectedConfigName,
    p: state.previousConfigName,
    s: state.startedAtMs,
    n: state.polls,
    a: [...state.alarmsSeen],
    ...(state.standbyRefresh ? { b: 1 as const } : {}),
    ...(state.reverting ? { r: 1 as const } : {}),
  }),
  fromWire: (w): CanaryState => ({
    endpointName: w.e,
    expectedConfigName: w.c,
    previousConfigName: w.p,
    startedAtMs: w.s,
    polls: w.n,
    alarmsSeen: w.a,
    ...(w.b === 1 ? { standbyRefresh: true as const } : {}),
    ...(w.r === 1 ? { reverting: true as const } : {}),
  }),
});

/**
 * Writes the poll state as a continuation token: `canary.` + base64url of compact, versioned
 * JSON. Throws CanaryTokenError when the state is invalid or the token would exceed
 * {@link CONTINUATION_TOKEN_LIMIT} characters.
 */
export function encodeCanaryToken(state: CanaryState): string {
  return codec.encode(state);
}

/**
 * Reads a token written by {@link encodeCanaryToken}. Throws CanaryTokenError saying whether the
 * token is foreign, from another version, or corrupt.
 */
export function decodeCanaryToken(token: string): CanaryState {
  return codec.decode(token);
}
