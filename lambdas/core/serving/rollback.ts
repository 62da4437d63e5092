/**
 * The rollback's decisions, as pure functions of what the handler read: which event asks for what,
 * whether there is a version to return to, the flag document and serving state after the rollback,
 * what to do with each endpoint, the record kept of it, and what the page tells on-call.
 *
 * A rollback moves users from the live model (N) to the previous one (N-1) twice over: first the
 * flag (the router follows it to the warm standby endpoint, seconds), then the live endpoint (its
 * N-1 config goes back, minutes; callers that bypass the router follow then).
 */
import { z } from 'zod';
import { KEEP_FLEET_SIZE_CLI } from './endpoint-spec';
import { FLAG_SCHEMA_VERSION, type FlagDocument } from '../routing/flags';
import { SERVING_RECORD_SCHEMA_VERSION, type ServingState } from './serving-records';

export const ROLLBACK_RECORD_SCHEMA_VERSION = 1;

/** SNS refuses a subject of 100 characters or more. */
export const MAX_PAGE_SUBJECT = 99;

// ---------------------------------------------------------------------------------------------
// The event
// ---------------------------------------------------------------------------------------------

/** Who or what asked for the rollback, and when the problem was declared. */
export interface RollbackTrigger {
  readonly kind: 'alarm' | 'manual';
  /** `alarm <name>`, or the person's name. */
  readonly by: string;
  readonly alarmName: string | null;
  readonly reason: string;
  /** The alarm's change to ALARM, or the receipt of a manual event: where time-to-rollback starts. */
  readonly triggeredAt: string;
}

export type RollbackRequest =
  | { readonly action: 'roll-back'; readonly trigger: RollbackTrigger }
  /** An alarm change to a state other than ALARM: nothing to do. */
  | { readonly action: 'ignore'; readonly message: string }
  /** A manual event that is wrong (another model, a missing reason): the person sees the message. */
  | { readonly action: 'reject'; readonly message: string }
  /** Neither an alarm nor a manual event: an alarm may have fired without a rollback, so on-call is paged. */
  | { readonly action: 'unreadable'; readonly message: string }
  /**
   * The live endpoint changed state (EventBridge "SageMaker Endpoint State Change"): once it is in
   * service on the rolled-back config, users come back to it from the standby.
   */
  | { readonly action: 'settle'; readonly endpointName: string };

/**
 * The EventBridge detail-type of a SageMaker endpoint's status change
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
 * SageMaker may send several events per change, so what it triggers is idempotent.
 */
export const ENDPOINT_STATE_CHANGE = 'SageMaker Endpoint State Change';

const MANUAL_EXAMPLE = '{"model": "<model>", "reason": "<why>", "requestedBy": "<your name>"}';

const manualEventSchema = z.strictObject({
  model: z.string({ error: 'the model name, as a string' }),
  reason: z
    .string({ error: 'why you roll back, as a string' })
    .regex(/\S/, { error: 'why you roll back (it goes into the record and the page)' }),
  requestedBy: z
    .string({ error: 'your name, as a string' })
    .regex(/\S/, { error: 'your name, or leave the key out' })
    .optional(),
});

const MAX_REASON = 1000;

/**
 * Reads the function's event: a CloudWatch alarm's Lambda action, the same alarm through SNS, or a
 * manual event from the console, `{"model": "...", "reason": "...", "requestedBy": "..."}`
 * (requestedBy optional).
 */
export function readRollbackEvent(event: unknown, model: string, receivedAt: Date): RollbackRequest {
  if (!isObject(event)) {
    return { action: 'unreadable', message: `the event is ${describeJson(event)}, not a JSON object` };
  }
  if (event.source === 'aws.cloudwatch' && isObject(event.alarmData))
    return readAlarmAction(event, receivedAt);
  if (Array.isArray(event.Records)) return readSnsAlarm(event.Records, receivedAt);
  if (event.source === 'aws.sagemaker' && event['detail-type'] === ENDPOINT_STATE_CHANGE) {
    const name = isObject(event.detail) ? event.detail.EndpointName : undefined;
    return typeof name === 'string' && name.length > 0
      ? { action: 'settle', endpointName: name }
      : { action: 'unreadable', message: `the ${ENDPOINT_STATE_CHANGE} event has no detail.EndpointName` };
  }
  if ('model' in event || 'reason' in event || 'requestedBy' in event) {
    return readManualEvent(event, model, receivedAt);
  }
  return {
    action: 'unreadable',
    message:
      `the event (keys ${Object.keys(event).join(', ') || 'none'}) is neither a CloudWatch alarm action, an SNS ` +
      `alarm notification nor a manual rollback (${MANUAL_EXAMPLE.replace('<model>', model)})`,
  };
}

function readAlarmAction(event: Record<string, unknown>, receivedAt: Date): RollbackRequest {
  const data = event.alarmData as Record<string, unknown>;
  const state = isObject(data.state) ? data.state : {};
  const previous = isObject(data.previousState) ? data.previousState : {};
  return alarmRequest(
    {
      alarmName: data.alarmName,
      state: state.value,
      previous: previous.value,
      reason: state.reason,
      timestamp: state.timestamp ?? event.time,
    },
    receivedAt,
  );
}

function readSnsAlarm(records: unknown[], receivedAt: Date): RollbackRequest {
  const sns = isObject(records[0]) && isObject(records[0].Sns) ? records[0].Sns : undefined;
  let message: unknown;
  try {
    message = typeof sns?.Message === 'string' ? JSON.parse(sns.Message) : undefined;
  } catch {
    message = undefined;
  }
  if (!isObject(message)) {
    return {
      action: 'unreadable',
      message: 'the event has Records but no SNS message holding a CloudWatch alarm notification (JSON)',
    };
  }
  return alarmRequest(
    {
      alarmName: message.AlarmName,
      state: message.NewStateValue,
      previous: message.OldStateValue,
      reason: message.NewStateReason,
      timestamp: message.StateChangeTime,
    },
    receivedAt,
  );
}

function alarmRequest(
  alarm: { alarmName: unknown; state: unknown; previous: unknown; reason: unknown; timestamp: unknown },
  receivedAt: Date,
): RollbackRequest {
  if (
    typeof alarm.alarmName !== 'string' ||
    alarm.alarmName.trim() === '' ||
    typeof alarm.state !== 'string'
  ) {
    return {
      action: 'unreadable',
      message: 'the CloudWatch alarm event has no alarm name or no state value',
    };
  }
  if (alarm.state !== 'ALARM') {
    const was = typeof alarm.previous === 'string' ? ` (was ${alarm.previous})` : '';
    return {
      action: 'ignore',
      message: `alarm ${alarm.alarmName} changed to ${alarm.state}${was}; a rollback runs only on a change to ALARM: nothing done`,
    };
  }
  const declared = typeof alarm.timestamp === 'string' ? Date.parse(alarm.timestamp) : NaN;
  const reason =
    typeof alarm.reason === 'string' && alarm.reason.trim() !== '' ? alarm.reason : 'no reason given';
  return {
    action: 'roll-back',
    trigger: {
      kind: 'alarm',
      by: `alarm ${alarm.alarmName}`,
      alarmName: alarm.alarmName,
      reason: clip(reason, MAX_REASON),
      triggeredAt: (Number.isFinite(declared) ? new Date(declared) : receivedAt).toISOString(),
    },
  };
}

function readManualEvent(event: Record<string, unknown>, model: string, receivedAt: Date): RollbackRequest {
  const parsed = manualEventSchema.safeParse(event);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`
        : `"${String(issue.path[0])}": ${issue.message}`,
    );
    return {
      action: 'reject',
      message:
        `Rollback not started: the event is not a manual rollback (${problems.join('; ')}). Nothing was changed. ` +
        `Invoke the function with ${MANUAL_EXAMPLE.replace('<model>', model)}.`,
    };
  }
  const request = parsed.data;
  if (request.model !== model) {
    return {
      action: 'reject',
      message:
        `Rollback not started: this function rolls back model "${model}", but the event asks for "${request.model}". ` +
        `Nothing was changed. To roll back "${request.model}", invoke that model's rollback function; to roll back ` +
        `"${model}", send "model": "${model}".`,
    };
  }
  return {
    action: 'roll-back',
    trigger: {
      kind: 'manual',
      by: request.requestedBy?.trim() ?? 'a person (manual invocation without requestedBy)',
      alarmName: null,
      reason: clip(request.reason.trim(), MAX_REASON),
      triggeredAt: receivedAt.toISOString(),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Is there a version to return to?
// ---------------------------------------------------------------------------------------------

export type ServedModel = ServingState['live'];
export type StandbyModel = NonNullable<ServingState['standby']>;

export type RollbackPlan =
  | {
      readonly kind: 'roll-back';
      readonly from: ServedModel;
      readonly to: StandbyModel;
      /**
       * Where the flag sends users while the live endpoint takes `to`'s config back: the warm
       * standby, or (when the standby does not hold `to`) the live endpoint itself.
       */
      readonly bridge: 'standby' | 'live';
    }
  /** `live` is what serves (null without a serving state); `why` completes "no previous version: ...". */
  | { readonly kind: 'nothing-to-return-to'; readonly live: ServedModel | null; readonly why: string };

/**
 * What a rollback returns to. `unpromoted` is what the live endpoint serves when that is neither the
 * serving state's live config nor its rolled-back one. A canary that passes commits the serving
 * state (lambdas/canary/commit.ts), so this is only a release whose canary never committed (one
 * from before that commit existed, or a config put live by hand): the state still describes the
 * release before; returning to its standby would skip a version. Then the rollback returns to the
 * state's live model, on the live endpoint (the standby holds the release before that one).
 */
export function planRollback(
  state: ServingState | null,
  stateUrl: string,
  unpromoted: ServedModel | null = null,
): RollbackPlan {
  if (state !== null && unpromoted !== null) {
    return {
      kind: 'roll-back',
      from: unpromoted,
      to: { ...state.live, liveConfigName: state.live.configName },
      bridge: 'live',
    };
  }
  if (state === null) {
    return {
      kind: 'nothing-to-return-to',
      live: null,
      why: `there is no serving state (${stateUrl}): the model has never been promoted`,
    };
  }
  if (state.standby === null) {
    return {
      kind: 'nothing-to-return-to',
      live: state.live,
      why:
        `the serving state (${stateUrl}) has no standby model: ${state.live.modelVersion} is the only released ` +
        'version (the standby exists from the second release on), or a rollback has already used it',
    };
  }
  return { kind: 'roll-back', from: state.live, to: state.standby, bridge: 'standby' };
}

/**
 * The sort key of the rollback away from one release. The execution id is part of it: the same
 * commit released again after a rollback is a new release that may need its own rollback.
 */
export function rollbackClaimKey(from: Pick<ServedModel, 'modelVersion' | 'executionId'>): string {
  return `from#${from.modelVersion}#${from.executionId}`;
}

// ---------------------------------------------------------------------------------------------
// The flag and the serving state after the rollback
// ---------------------------------------------------------------------------------------------

export interface RollbackFlagInput {
  /** The flag's newest version, or null when there is none or it does not parse. */
  readonly current: FlagDocument | null;
  readonly model: string;
  /** The N-1 version, served from the standby endpoint. */
  readonly toVersion: string;
  /** Where the router sends everyone meanwhile. @default 'standby' */
  readonly endpoint?: 'standby' | 'live';
  readonly by: string;
  readonly at: Date;
  /** The configured experiment, used only when there is no current flag to keep it from. */
  readonly fallbackExperiment: string;
}

/**
 * Everyone on the N-1 version on the standby endpoint: no candidate, kill switch off (nothing left
 * for it to protect from), the experiment kept so the A/B history stays one experiment.
 */
export function rollbackFlagDocument(input: RollbackFlagInput): FlagDocument {
  const experiment = input.current?.experiment ?? input.fallbackExperiment;
  return {
    schemaVersion: FLAG_SCHEMA_VERSION,
    model: input.model,
    experiment,
    stable: { modelVersion: input.toVersion, endpoint: input.endpoint ?? 'standby' },
    candidate: null,
    killSwitch: false,
    updatedBy: `rollback: ${input.by}`,
    updatedAt: input.at.toISOString(),
  };
}

/** True when the flag already sends everyone to `version` on the standby endpoint (a retried rollback). */
export function flagServesEveryone(
  doc: FlagDocument,
  version: string,
  endpoint: 'standby' | 'live' = 'standby',
): boolean {
  const everyone = doc.killSwitch || doc.candidate === null || doc.candidate.percent === 0;
  return doc.stable.modelVersion === version && doc.stable.endpoint === endpoint && everyone;
}

/**
 * N-1 live (its live config on the live endpoint), nothing on standby: a second rollback has
 * nothing further to return to, and the next promotion starts from here.
 */
export function rolledBackServingState(
  model: string,
  to: StandbyModel,
  liveEndpoint: string,
  at: Date,
): ServingState {
  return {
    schemaVersion: SERVING_RECORD_SCHEMA_VERSION,
    model,
    live: {
      endpointName: liveEndpoint,
      configName: to.liveConfigName,
      modelName: to.modelName,
      modelVersion: to.modelVersion,
      executionId: to.executionId,
    },
    standby: null,
    updatedAt: at.toISOString(),
    updatedBy: 'rollback',
  };
}

// ---------------------------------------------------------------------------------------------
// After the rollback: back from the standby bridge
// ---------------------------------------------------------------------------------------------

/**
 * What to do when the live endpoint changes state. The standby (a small fleet) is a bridge while
 * N-1's config goes back on the live endpoint; once the live endpoint is InService on the config
 * the serving state names, the flag that still sends everyone to that version on the standby moves
 * them back to the live fleet. An endpoint on another config (a release in progress, a shadow) or
 * not yet in service is left alone.
 *
 * Second line of defence (issue 11, invariant 10: state.json, the flag and DescribeEndpoint agree at
 * every quiet point): when the endpoint and state.json agree on a version but the flag's stable
 * names another one, the flag is the odd one out, and `wrongFlag` says so (see `flagCorrection`).
 */
export type SettleStep =
  | { readonly action: 'ignore'; readonly why: string }
  | {
      readonly action: 'settle';
      /** Whether the flag must move from the standby to the live endpoint (false: it is already there or elsewhere). */
      readonly moveFlag: boolean;
      readonly version: string;
      /** What the flag's stable names when that is not `version`; null when it names `version` (or there is no flag). */
      readonly wrongFlag: WrongFlag | null;
    };

/** A flag whose stable names another version than the one the live endpoint and state.json serve. */
export interface WrongFlag {
  readonly version: string;
  readonly endpoint: FlagDocument['stable']['endpoint'];
}

export function settleStep(
  state: ServingState | null,
  seen: EndpointSeen | undefined,
  flag: FlagDocument | null,
): SettleStep {
  if (state === null) return { action: 'ignore', why: 'there is no serving state: nothing was released yet' };
  const { live } = state;
  if (seen?.status !== 'InService') {
    return { action: 'ignore', why: `the live endpoint is ${seen?.status ?? 'absent'}, not InService` };
  }
  if (seen.configName !== live.configName) {
    return {
      action: 'ignore',
      why:
        `the live endpoint serves config "${seen.configName ?? 'unknown'}", not "${live.configName}" of the serving ` +
        'state (a release in progress, or a change by hand)',
    };
  }
  const onStandby =
    flag !== null && flag.stable.modelVersion === live.modelVersion && flag.stable.endpoint === 'standby';
  const wrongFlag =
    flag !== null && flag.stable.modelVersion !== live.modelVersion
      ? { version: flag.stable.modelVersion, endpoint: flag.stable.endpoint }
      : null;
  return { action: 'settle', moveFlag: onStandby, version: live.modelVersion, wrongFlag };
}

/**
 * What the rollback ledger says about a rollback away from the serving state's live release (the
 * item `rollbackClaimKey(state.live)`): its status, null when there is none, 'unknown' when the
 * ledger could not be read.
 */
export type RollbackAwayFromLive = { readonly status: string } | null | 'unknown';

export type FlagCorrection =
  | {
      readonly action: 'correct';
      /** The flag to deploy: stable on the served version on the live endpoint, the rest kept. */
      readonly document: FlagDocument;
      /** For the log, the settle's message and the page. */
      readonly summary: string;
    }
  | { readonly action: 'leave'; readonly why: string };

/**
 * Whether settle corrects a flag whose stable names another version than the one the live endpoint
 * (InService on the serving state's live config) and the serving state both serve.
 *
 * Why the flag is the one that is wrong. The three records are written in a fixed order by every
 * writer, so only one of them can lead the others:
 * - a release: the canary's commit (lambdas/canary/commit.ts) runs once SageMaker serves N, and
 *   writes state.json before the flag; Promotion writes neither first. So during a release the flag
 *   can lag state.json (the commit's flag step failed and the stage has not been retried yet: then
 *   the router labels N's answers as N-1's, which is what this corrects, to the same document the
 *   commit would write) but never lead it. Shadow and canary run on other configs than state.json's,
 *   so settle ignores them before it gets here.
 * - a rollback: claims its ledger item (sk from#<state.live>) first, then moves the flag (to N-1 on
 *   the standby), then updates the endpoint, then writes state.json. Here the flag legitimately
 *   leads: while the endpoint still serves N and state.json still names N (the rollback waits out a
 *   busy endpoint, or its state.json write failed), "correcting" the flag back to N would undo the
 *   rollback (invariant 4). So any ledger item for a rollback away from the served release, in any
 *   status but `failed` (nothing took effect, so the flag is not the rollback's), means: leave the
 *   flag, the rollback owns it. A ledger that cannot be read is treated the same way (leave it, and
 *   say so): undoing a rollback is worse than a label that stays wrong until the next event.
 * - a person: an A/B candidate lives in `candidate`, which is kept (unless it names the served
 *   version, which the flag schema forbids beside an equal stable); the kill switch is kept too (it
 *   sends everyone to stable, which is now the version that answers). Not so when the ledger records
 *   a rollback that returned to the served version: its flag (everyone on that version, no
 *   candidate, kill switch off) is what failed, and nothing else will finish it. A retired model
 *   has no live endpoint, so settle ignores it.
 * Left alone, a wrong stable sends everyone to the live endpoint (or the standby) under the name of a
 * version that does not answer: predictions are labelled, and the confidence alarm judged, as another
 * version's (seen in the long generated run, seed 4 --all-calls, sequence 51, when AppConfig refused
 * a rollback's flag write through every retry).
 */
export function flagCorrection(input: {
  readonly current: FlagDocument;
  /** The version the live endpoint and state.json serve. */
  readonly version: string;
  readonly rollbackAway: RollbackAwayFromLive;
  /**
   * Whether the ledger records a rollback that returned to `version`: then the flag it could not
   * write is finished as it would have written it (no candidate, kill switch off: the rollback has
   * no next poll to finish it), instead of keeping a candidate and kill switch the rollback ended.
   */
  readonly rolledBackTo: boolean;
  readonly at: Date;
}): FlagCorrection {
  const { current, version, rollbackAway } = input;
  const named = `the flag names ${current.stable.modelVersion} on the ${current.stable.endpoint} endpoint`;
  if (rollbackAway === 'unknown') {
    return {
      action: 'leave',
      why:
        `${named} while the live endpoint and state.json serve ${version}, but the rollback ledger cannot be read, so ` +
        `a rollback away from ${version} in progress cannot be ruled out: the flag is left as it is`,
    };
  }
  if (rollbackAway !== null && rollbackAway.status !== 'failed') {
    return {
      action: 'leave',
      why:
        `${named}: a rollback away from ${version} is recorded (status "${rollbackAway.status}"), and a rollback moves ` +
        'the flag before the endpoint and state.json follow: the flag is left to it',
    };
  }
  const keepCandidate =
    !input.rolledBackTo && current.candidate !== null && current.candidate.modelVersion !== version;
  const document: FlagDocument = {
    ...current,
    stable: { modelVersion: version, endpoint: 'live' },
    candidate: keepCandidate ? current.candidate : null,
    killSwitch: input.rolledBackTo ? false : current.killSwitch,
    updatedBy: `rollback (settle): corrected from ${current.stable.modelVersion}, which does not serve`,
    updatedAt: input.at.toISOString(),
  };
  const kept = input.rolledBackTo
    ? [`as the rollback to ${version} would have written it: no candidate, kill switch off`]
    : [
        keepCandidate ? `candidate ${current.candidate!.modelVersion} kept` : null,
        current.candidate !== null && !keepCandidate
          ? `candidate ${version} dropped (it is now stable)`
          : null,
        current.killSwitch ? 'kill switch kept on' : null,
      ].filter((x) => x !== null);
  return {
    action: 'correct',
    document,
    summary:
      `${named}, but the live endpoint and state.json serve ${version}: users were routed, and their predictions ` +
      `labelled, under the wrong version; the flag now names ${version} on the live endpoint` +
      (kept.length > 0 ? ` (${kept.join(', ')})` : ''),
  };
}

/** Everyone on `version` on the live endpoint: the rollback's flag with the bridge taken down. */
export function settledFlagDocument(current: FlagDocument, version: string, at: Date): FlagDocument {
  return {
    ...current,
    stable: { modelVersion: version, endpoint: 'live' },
    candidate: null,
    killSwitch: false,
    updatedBy: 'rollback: live endpoint in service again',
    updatedAt: at.toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// The endpoints
// ---------------------------------------------------------------------------------------------

/** What DescribeEndpoint said; undefined when the endpoint does not exist. */
export interface EndpointSeen {
  readonly status: string | undefined;
  readonly configName: string | undefined;
  readonly failureReason?: string | undefined;
}

/** Statuses during which SageMaker refuses UpdateEndpoint; each ends by itself. */
export const BUSY_ENDPOINT_STATUSES: ReadonlySet<string> = new Set([
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
]);

export type LiveEndpointStep =
  | { readonly action: 'update' }
  | { readonly action: 'wait'; readonly status: string }
  /** The N-1 config already serves (a retried rollback, or a person was quicker). */
  | { readonly action: 'already' }
  | { readonly action: 'cannot'; readonly why: string };

export function liveEndpointStep(
  seen: EndpointSeen | undefined,
  endpointName: string,
  targetConfig: string,
): LiveEndpointStep {
  if (seen === undefined)
    return { action: 'cannot', why: `the live endpoint "${endpointName}" does not exist` };
  const status = seen.status ?? 'unknown';
  if (BUSY_ENDPOINT_STATUSES.has(status)) return { action: 'wait', status };
  if (status === 'InService' && seen.configName === targetConfig) return { action: 'already' };
  if (status === 'Deleting') {
    return { action: 'cannot', why: `the live endpoint "${endpointName}" is being deleted` };
  }
  if (status === 'Failed') {
    return {
      action: 'cannot',
      why:
        `the live endpoint "${endpointName}" is Failed (FailureReason: ${seen.failureReason?.trim() || 'none given'}) ` +
        'and a Failed endpoint cannot take an update',
    };
  }
  // InService on another config, OutOfService, UpdateRollbackFailed: SageMaker takes an update.
  return { action: 'update' };
}

/** Statuses in which the standby endpoint answers requests. */
const SERVING_STATUSES = new Set(['InService', 'SystemUpdating']);

/**
 * Whether the router may be sent to the standby endpoint: the endpoint the router calls for
 * "standby" is the one the serving state names, it answers, and it holds the N-1 config. When its
 * status cannot be read (DescribeEndpoint failed), the promotion's check that wrote the serving
 * state stands, and the answer is yes.
 */
export function standbyReadiness(
  seen: EndpointSeen | undefined | 'unknown',
  standby: Pick<StandbyModel, 'endpointName' | 'configName' | 'modelVersion'>,
  routerStandbyEndpoint: string,
): { readonly ready: true } | { readonly ready: false; readonly why: string } {
  if (standby.endpointName !== routerStandbyEndpoint) {
    return {
      ready: false,
      why:
        `the serving state has ${standby.modelVersion} on endpoint "${standby.endpointName}", but the router sends ` +
        `"standby" traffic to "${routerStandbyEndpoint}"`,
    };
  }
  if (seen === 'unknown') return { ready: true };
  if (seen === undefined) {
    return { ready: false, why: `the standby endpoint "${standby.endpointName}" does not exist` };
  }
  if (!SERVING_STATUSES.has(seen.status ?? '')) {
    // A release's canary refreshes the standby with the model that serves before it touches the live
    // endpoint (lambdas/canary/standby.ts): once that update ends, the standby holds that model.
    const refresh =
      seen.status === 'Updating'
        ? ` (a release's canary may be refreshing it with the model that serves now: when the update ends it no longer holds ${standby.modelVersion})`
        : '';
    return {
      ready: false,
      why: `the standby endpoint "${standby.endpointName}" is ${seen.status ?? 'in no status'}, not InService${refresh}`,
    };
  }
  if (seen.configName !== standby.configName) {
    return {
      ready: false,
      why:
        `the standby endpoint "${standby.endpointName}" serves config "${seen.configName ?? 'unknown'}", not ` +
        `"${standby.configName}" (${standby.modelVersion}) as the serving state says`,
    };
  }
  return { ready: true };
}

// ---------------------------------------------------------------------------------------------
// A candidate's deployment under way on the live endpoint
// ---------------------------------------------------------------------------------------------

/** The parts of DescribeEndpoint that say whether a release's canary is deploying to the live endpoint. */
export interface DeploymentSeen {
  readonly status: string | undefined;
  /**
   * `PendingDeploymentSummary.EndpointConfigName`: "The summary of an in-progress deployment when an
   * endpoint is creating or updating with a new endpoint configuration"
   * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_PendingDeploymentSummary.html).
   */
  readonly pendingConfigName: string | undefined;
  /** `LastDeploymentConfig.AutoRollbackConfiguration.Alarms[].AlarmName` of that deployment. */
  readonly autoRollbackAlarms: readonly string[];
}

/**
 * The candidate config to stop, when the live endpoint is updating to a config that is neither the
 * serving state's live config nor its rollback target (a release's canary: it commits the serving
 * state only when it passes) and that deployment lists `stopAlarm` among its auto-rollback alarms.
 * Then the version being rolled back is the candidate, which takes user traffic (the canary share
 * during the bake, everyone after the shift), and returning to the standby's version would skip
 * the version that served before it. Undefined otherwise: a shadow's update or a rollback's own
 * update (no guardrails), or a canary started before the alarm existed (SageMaker would not
 * react to it), keep the rollback as it was.
 */
export function deploymentToStop(
  seen: DeploymentSeen | undefined,
  state: ServingState | null,
  stopAlarm: string,
): { readonly candidateConfig: string } | undefined {
  if (seen === undefined || state === null || seen.status !== 'Updating') return undefined;
  const pending = seen.pendingConfigName;
  if (pending === undefined || pending === '') return undefined;
  if (pending === state.live.configName || pending === state.standby?.liveConfigName) return undefined;
  if (!seen.autoRollbackAlarms.includes(stopAlarm)) return undefined;
  return { candidateConfig: pending };
}

/** How the rollback stopped (or tried to stop) a candidate's deployment. */
export interface DeploymentStop {
  /** The candidate's config the deployment was putting on the live endpoint. */
  readonly candidateConfig: string;
  /** The auto-rollback alarm held in ALARM. */
  readonly alarmName: string;
  /** How many times the request (metric datapoint and alarm state) was accepted. */
  readonly requests: number;
  /** Whether SageMaker was seen rolling the deployment back (RollingBack). */
  readonly rollingBackSeen: boolean;
  /** The last refusal of the request, when CloudWatch refused it. */
  readonly lastProblem: string | null;
}

// ---------------------------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------------------------

export type FlagOutcome =
  | {
      readonly outcome: 'deployed';
      readonly versionNumber: number;
      readonly deploymentNumber: number;
      /** Deployments stopped to make way (the change being rolled back, or a stale one). */
      readonly stoppedDeployments: readonly number[];
      readonly at: Date;
    }
  | { readonly outcome: 'already'; readonly versionNumber: number }
  /** Not tried: the standby endpoint cannot take the traffic. */
  | { readonly outcome: 'skipped'; readonly detail: string }
  | { readonly outcome: 'failed'; readonly detail: string };

export type EndpointOutcome =
  | { readonly outcome: 'update-started'; readonly at: Date; readonly waitedSeconds: number }
  | { readonly outcome: 'already' }
  /** Still busy when the function had to stop waiting. */
  | { readonly outcome: 'pending'; readonly status: string; readonly waitedSeconds: number }
  | { readonly outcome: 'failed'; readonly detail: string };

export type RollbackStatus = 'done' | 'endpoint-pending' | 'incomplete' | 'failed';

/**
 * - done: the flag serves N-1 and the live endpoint is updating to (or on) its N-1 config.
 * - endpoint-pending: the flag serves N-1; the live endpoint was busy the whole time.
 * - incomplete: one of the two took effect, the other failed.
 * - failed: neither took effect; nothing changed.
 */
export function rollbackStatus(
  flag: FlagOutcome,
  endpoint: EndpointOutcome,
  stop: DeploymentStop | null = null,
): RollbackStatus {
  const flagOk = flag.outcome === 'deployed' || flag.outcome === 'already';
  const endpointOk = endpoint.outcome === 'update-started' || endpoint.outcome === 'already';
  // Stopping a candidate's deployment: the flag already names the version returned to on the live
  // endpoint (the canary commits nothing before it passes), so the endpoint is the whole job.
  if (stop !== null) {
    if (endpointOk) return 'done';
    return endpoint.outcome === 'pending' && stop.rollingBackSeen ? 'endpoint-pending' : 'failed';
  }
  if (flagOk && endpointOk) return 'done';
  if (flagOk && endpoint.outcome === 'pending') return 'endpoint-pending';
  if (flagOk || endpointOk) return 'incomplete';
  return 'failed';
}

const nonEmpty = z.string().regex(/\S/, { error: 'a non-empty string' });
const isoTime = z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time with a time zone' });
const seconds = z.number().finite().min(0).nullable();

/** The record of one rollback (or refusal): `models/<model>/rollbacks/<startedAt>.json` and the DynamoDB item. */
export const rollbackRecordSchema = z.strictObject({
  schemaVersion: z.literal(ROLLBACK_RECORD_SCHEMA_VERSION),
  model: nonEmpty,
  status: z.enum(['done', 'endpoint-pending', 'incomplete', 'failed', 'refused']),
  /** The first lines of the page: what happened and what state things are in. */
  summary: nonEmpty,
  /** What a person must do now, in order. */
  nextSteps: z.array(nonEmpty),
  trigger: z.strictObject({
    kind: z.enum(['alarm', 'manual']),
    by: nonEmpty,
    alarmName: nonEmpty.nullable(),
    reason: nonEmpty,
    triggeredAt: isoTime,
  }),
  /** The release rolled back from; null when there was none. */
  from: z.strictObject({ modelVersion: nonEmpty, executionId: nonEmpty, configName: nonEmpty }).nullable(),
  /** The release returned to; null on a refusal. */
  to: z
    .strictObject({
      modelVersion: nonEmpty,
      executionId: nonEmpty,
      liveConfigName: nonEmpty,
      standbyEndpoint: nonEmpty,
    })
    .nullable(),
  /** How the claim on the rollback ledger went (see the handler's ledger). */
  claim: z.enum(['claimed', 'took-over', 'ledger-unavailable']).nullable(),
  flag: z
    .strictObject({
      outcome: z.enum(['deployed', 'already', 'skipped', 'failed']),
      label: nonEmpty,
      detail: nonEmpty,
      versionNumber: z.number().int().nullable(),
      deploymentNumber: z.number().int().nullable(),
      stoppedDeployments: z.array(z.number().int()),
      /** The document deployed, or to deploy by hand when it was not. */
      document: z.record(z.string(), z.unknown()),
    })
    .nullable(),
  endpoint: z
    .strictObject({
      outcome: z.enum(['update-started', 'already', 'pending', 'failed']),
      name: nonEmpty,
      detail: nonEmpty,
    })
    .nullable(),
  servingState: z.strictObject({ outcome: z.enum(['written', 'not-written', 'failed']), detail: nonEmpty }),
  startedAt: isoTime,
  flagDeployedAt: isoTime.nullable(),
  endpointUpdateStartedAt: isoTime.nullable(),
  finishedAt: isoTime,
  durations: z.strictObject({
    /** Trigger → flag deployment started: when N-1 starts to serve (the TimeToRollbackSeconds metric). */
    triggerToFlagSeconds: seconds,
    triggerToEndpointUpdateSeconds: seconds,
    handlerSeconds: seconds,
  }),
});
export type RollbackRecord = z.output<typeof rollbackRecordSchema>;

export interface RollbackRecordInput {
  readonly model: string;
  readonly trigger: RollbackTrigger;
  readonly from: ServedModel;
  readonly to: StandbyModel;
  readonly liveEndpoint: string;
  readonly claim: 'claimed' | 'took-over' | 'ledger-unavailable';
  readonly flagLabel: string;
  readonly flagDocument: FlagDocument;
  readonly flag: FlagOutcome;
  /**
   * Why the standby could not be the bridge (it was not in service on N-1's config, e.g. a release's
   * canary was refreshing it); then the flag names N-1 on the live endpoint. Null: it could.
   */
  readonly noBridge?: string | null;
  /** Set when the rollback stopped (or tried to stop) a candidate's deployment on the live endpoint. */
  readonly stop?: DeploymentStop | null;
  readonly endpoint: EndpointOutcome;
  readonly servingState: { readonly outcome: 'written' | 'not-written' | 'failed'; readonly detail: string };
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

/** The record of a rollback that was tried, with its summary and the steps left to a person. */
export function buildRollbackRecord(input: RollbackRecordInput): RollbackRecord {
  const { flag, endpoint, trigger, from, to } = input;
  const status = rollbackStatus(flag, endpoint, input.stop ?? null);
  const triggered = Date.parse(trigger.triggeredAt);
  const since = (at: Date | null) =>
    at === null ? null : roundSeconds(Math.max(0, at.getTime() - triggered));
  const flagAt = flag.outcome === 'deployed' ? flag.at : null;
  const endpointAt = endpoint.outcome === 'update-started' ? endpoint.at : null;
  const texts = rollbackTexts(input, status);
  return {
    schemaVersion: ROLLBACK_RECORD_SCHEMA_VERSION,
    model: input.model,
    status,
    summary: texts.summary,
    nextSteps: texts.nextSteps,
    trigger: { ...trigger },
    from: { modelVersion: from.modelVersion, executionId: from.executionId, configName: from.configName },
    to: {
      modelVersion: to.modelVersion,
      executionId: to.executionId,
      liveConfigName: to.liveConfigName,
      standbyEndpoint: to.endpointName,
    },
    claim: input.claim,
    flag: {
      outcome: flag.outcome,
      label: input.flagLabel,
      detail: flagDetail(flag, to.modelVersion, input.noBridge ? input.liveEndpoint : to.endpointName),
      versionNumber: flag.outcome === 'deployed' || flag.outcome === 'already' ? flag.versionNumber : null,
      deploymentNumber: flag.outcome === 'deployed' ? flag.deploymentNumber : null,
      stoppedDeployments: flag.outcome === 'deployed' ? [...flag.stoppedDeployments] : [],
      document: { ...input.flagDocument },
    },
    endpoint: {
      outcome: endpoint.outcome,
      name: input.liveEndpoint,
      detail: (input.stop ? `${stopDetail(input.stop)}; ` : '') + endpointDetail(endpoint, to.liveConfigName),
    },
    servingState: { ...input.servingState },
    startedAt: input.startedAt.toISOString(),
    flagDeployedAt: flagAt?.toISOString() ?? null,
    endpointUpdateStartedAt: endpointAt?.toISOString() ?? null,
    finishedAt: input.finishedAt.toISOString(),
    durations: {
      triggerToFlagSeconds: since(flagAt),
      triggerToEndpointUpdateSeconds: since(endpointAt),
      handlerSeconds: roundSeconds(Math.max(0, input.finishedAt.getTime() - input.startedAt.getTime())),
    },
  };
}

export interface RefusalRecordInput {
  readonly model: string;
  readonly trigger: RollbackTrigger;
  readonly plan: Extract<RollbackPlan, { kind: 'nothing-to-return-to' }>;
  readonly liveEndpoint: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
}

/** The record of a rollback refused for want of a previous version. Nothing was changed. */
export function buildRefusalRecord(input: RefusalRecordInput): RollbackRecord {
  const { live } = input.plan;
  const serving = live
    ? `${live.modelVersion} (config "${live.configName}" on "${live.endpointName}")`
    : `whatever the live endpoint "${input.liveEndpoint}" holds`;
  return {
    schemaVersion: ROLLBACK_RECORD_SCHEMA_VERSION,
    model: input.model,
    status: 'refused',
    summary:
      `Rollback of ${input.model} refused (${input.trigger.by}: ${input.trigger.reason}): no previous version to ` +
      `return to: ${input.plan.why}. Nothing was changed: users still get ${serving}.`,
    nextSteps: [
      `To stop serving ${live?.modelVersion ?? 'the current model'}: release a fixed model through the release ` +
        `pipeline, or put an earlier endpoint config back on the live endpoint by hand: aws sagemaker update-endpoint ` +
        `--endpoint-name ${input.liveEndpoint} --endpoint-config-name <config> ${KEEP_FLEET_SIZE_CLI} (earlier configs are named in ` +
        `models/${input.model}/releases/*.json; see docs/serving.md, "By hand").`,
    ],
    trigger: { ...input.trigger },
    from: live
      ? { modelVersion: live.modelVersion, executionId: live.executionId, configName: live.configName }
      : null,
    to: null,
    claim: null,
    flag: null,
    endpoint: null,
    servingState: { outcome: 'not-written', detail: 'nothing to change' },
    startedAt: input.startedAt.toISOString(),
    flagDeployedAt: null,
    endpointUpdateStartedAt: null,
    finishedAt: input.finishedAt.toISOString(),
    durations: {
      triggerToFlagSeconds: null,
      triggerToEndpointUpdateSeconds: null,
      handlerSeconds: roundSeconds(Math.max(0, input.finishedAt.getTime() - input.startedAt.getTime())),
    },
  };
}

function flagDetail(flag: FlagOutcome, toVersion: string, standbyEndpoint: string): string {
  switch (flag.outcome) {
    case 'deployed': {
      const stopped =
        flag.stoppedDeployments.length > 0
          ? `; deployment(s) ${flag.stoppedDeployments.join(', ')} in progress were stopped to make way`
          : '';
      return (
        `version ${flag.versionNumber} (everyone on ${toVersion} at "${standbyEndpoint}") deployed as deployment ` +
        `${flag.deploymentNumber}${stopped}`
      );
    }
    case 'already':
      return `version ${flag.versionNumber} already sends everyone to ${toVersion} at "${standbyEndpoint}"; not deployed again`;
    case 'skipped':
    case 'failed':
      return `not changed: ${flag.detail}`;
  }
}

function endpointDetail(endpoint: EndpointOutcome, config: string): string {
  switch (endpoint.outcome) {
    case 'update-started': {
      const waited =
        endpoint.waitedSeconds > 0 ? ` after waiting ${endpoint.waitedSeconds} s for it to be free` : '';
      return `UpdateEndpoint to config "${config}" accepted${waited}; the update takes several minutes`;
    }
    case 'already':
      return `already InService on config "${config}"; not updated again`;
    case 'pending':
      return `still ${endpoint.status} after ${endpoint.waitedSeconds} s of waiting; not updated`;
    case 'failed':
      return `not updated: ${endpoint.detail}`;
  }
}

function stopDetail(stop: DeploymentStop): string {
  const refused = stop.lastProblem === null ? '' : ` (last refusal: ${stop.lastProblem})`;
  return (
    `the deployment of config "${stop.candidateConfig}" was asked to stop ${stop.requests} time(s) through its ` +
    `auto-rollback alarm "${stop.alarmName}"${refused}; SageMaker ${stop.rollingBackSeen ? 'rolled it back' : 'was not seen rolling it back'}`
  );
}

/** The summary and next steps of a rollback that stopped (or could not stop) a candidate's deployment. */
function stopTexts(
  input: RollbackRecordInput,
  stop: DeploymentStop,
  status: RollbackStatus,
): { summary: string; nextSteps: string[] } {
  const { model, trigger, from, to, liveEndpoint, endpoint } = input;
  const fromV = from.modelVersion;
  const toV = to.modelVersion;
  const why = `(${trigger.by}: ${trigger.reason})`;
  const describeCli = `aws sagemaker describe-endpoint --endpoint-name ${liveEndpoint}`;
  const retry =
    `Do not retry this release's Canary or Promotion stage: both refuse a release that was rolled back. ` +
    `Find out what is wrong with ${fromV}, then release a fixed model through a new pipeline execution.`;
  switch (status) {
    case 'done':
      return {
        summary:
          `Rolled back ${model} from ${fromV} (its canary was deploying) to ${toV} ${why}: the rollback stopped the ` +
          `canary's blue/green deployment through its auto-rollback alarm "${stop.alarmName}", and the live endpoint ` +
          `"${liveEndpoint}" ${
            endpoint.outcome === 'already'
              ? `is back in service on ${toV}'s config "${to.liveConfigName}"`
              : `had already finished the deployment, so it is updating back to ${toV}'s config "${to.liveConfigName}"`
          }. The router sends everyone to ${toV} on the live endpoint; the serving state and the standby are ` +
          `unchanged (${toV} live, the release before it on standby). The canary stage fails, naming this rollback.`,
        nextSteps: [
          ...(endpoint.outcome === 'update-started'
            ? [
                `Check that the live endpoint reaches InService on config "${to.liveConfigName}": ${describeCli}.`,
              ]
            : []),
          retry,
        ],
      };
    case 'endpoint-pending':
      return {
        summary:
          `Rollback of ${model} from ${fromV} (its canary was deploying) to ${toV} ${why}: SageMaker is rolling the ` +
          `canary's deployment back (auto-rollback alarm "${stop.alarmName}"), but the live endpoint "${liveEndpoint}" ` +
          `was not in service on ${toV}'s config "${to.liveConfigName}" within the time the function could wait. Until ` +
          `it is, part of the traffic may still reach ${fromV}.`,
        nextSteps: [
          `Check that the live endpoint reaches InService on config "${to.liveConfigName}": ${describeCli}. If it ends ` +
            `on another config, run: aws sagemaker update-endpoint --endpoint-name ${liveEndpoint} ` +
            `--endpoint-config-name ${to.liveConfigName} ${KEEP_FLEET_SIZE_CLI}.`,
          retry,
        ],
      };
    default: {
      const endpointProblem =
        endpoint.outcome === 'failed'
          ? endpoint.detail
          : endpoint.outcome === 'pending'
            ? `it stayed ${endpoint.status} for the ${endpoint.waitedSeconds} s the function could wait`
            : endpoint.outcome;
      return {
        summary:
          `Rollback of ${model} from ${fromV} (its canary was deploying) to ${toV} FAILED ${why}: the canary's ` +
          `deployment on the live endpoint "${liveEndpoint}" could not be stopped: ${stopDetail(stop)}; live endpoint: ` +
          `${endpointProblem}. Nothing else was changed: the flag, the serving state and the standby still name ${toV}. ` +
          `This release's Canary stage does not pass: it finds this rollback's record and puts ${toV}'s config back.`,
        nextSteps: [
          `Watch the live endpoint: ${describeCli}. To stop the deployment by hand, put the alarm in ALARM: aws ` +
            `cloudwatch set-alarm-state --alarm-name ${stop.alarmName} --state-value ALARM --state-reason "stop the ` +
            `deployment of ${fromV}" (repeat until the endpoint is RollingBack), or wait for the canary to end and let it ` +
            `put ${toV}'s config back.`,
          'Or invoke this function again with {"model": "' +
            model +
            '", "reason": "..."} once the cause is fixed.',
          retry,
        ],
      };
    }
  }
}

function rollbackTexts(
  input: RollbackRecordInput,
  status: RollbackStatus,
): { summary: string; nextSteps: string[] } {
  if (input.stop) return stopTexts(input, input.stop, status);
  const { model, trigger, from, to, liveEndpoint, flag, endpoint } = input;
  const fromV = from.modelVersion;
  const toV = to.modelVersion;
  const standby = to.endpointName;
  const why = `(${trigger.by}: ${trigger.reason})`;
  const flagOk = flag.outcome === 'deployed' || flag.outcome === 'already';
  const flagProblem = flag.outcome === 'failed' || flag.outcome === 'skipped' ? flag.detail : '';
  const endpointProblem =
    endpoint.outcome === 'failed'
      ? endpoint.detail
      : endpoint.outcome === 'pending'
        ? `it stayed ${endpoint.status} for the ${endpoint.waitedSeconds} s the function could wait`
        : '';

  const updateByHand =
    `Once the live endpoint is InService, put ${toV}'s config back on it: aws sagemaker update-endpoint ` +
    `--endpoint-name ${liveEndpoint} --endpoint-config-name ${to.liveConfigName} ${KEEP_FLEET_SIZE_CLI} (docs/serving.md, "By hand").`;
  const watchUpdate =
    `Check that the live endpoint reaches InService on config "${to.liveConfigName}": aws sagemaker describe-endpoint ` +
    `--endpoint-name ${liveEndpoint}. If it ends Failed or on another config, run: aws sagemaker update-endpoint ` +
    `--endpoint-name ${liveEndpoint} --endpoint-config-name ${to.liveConfigName} ${KEEP_FLEET_SIZE_CLI}.`;
  const flagByHand =
    `Deploy the flag by hand: in ${input.flagLabel}, create a hosted configuration version with the "flag.document" ` +
    "of the record below (content type application/json) and start a deployment of it with the flag's deployment " +
    'strategy (AppConfig console, or aws appconfig create-hosted-configuration-version / start-deployment).';
  const investigate =
    `Find out what is wrong with ${fromV} before releasing again. The serving state now has no standby, so ` +
    'another rollback has nothing to return to until the next release.';

  const nextSteps: string[] = [];
  let summary: string;
  switch (status) {
    case 'done':
      summary = input.noBridge
        ? `Rolled back ${model} from ${fromV} to ${toV} ${why}, with NO WARM BRIDGE: ${input.noBridge}. The router ` +
          `sends everyone to the live endpoint "${liveEndpoint}" as ${toV}, and that endpoint ` +
          (endpoint.outcome === 'already'
            ? `already serves ${toV}'s config "${to.liveConfigName}".`
            : `is updating to ${toV}'s config "${to.liveConfigName}": until the update ends (several minutes; SageMaker ` +
              `keeps the old fleet serving until the new one is in service) users STILL GET ${fromV}.`)
        : standby === liveEndpoint
          ? `Rolled back ${model} from ${fromV} (not yet promoted) to ${toV} ${why}. The live endpoint ` +
            `"${liveEndpoint}" ${endpoint.outcome === 'already' ? 'already serves' : 'is updating to'} ${toV}'s config ` +
            `"${to.liveConfigName}", and the router sends everyone there as ${toV}; the standby holds the release ` +
            `before ${toV}, so it is no bridge this time.`
          : `Rolled back ${model} from ${fromV} to ${toV} ${why}. The router sends everyone to ${toV} on the warm ` +
            `standby endpoint "${standby}" (routers pick the flag up within their cache period), and the live endpoint ` +
            `"${liveEndpoint}" ${endpoint.outcome === 'already' ? 'already serves' : 'is updating to'} ${toV}'s config ` +
            `"${to.liveConfigName}"; once it is in service, the router goes back to it.`;
      if (endpoint.outcome === 'update-started') nextSteps.push(watchUpdate);
      nextSteps.push(investigate);
      break;
    case 'endpoint-pending':
      summary =
        `Rolled back ${model} from ${fromV} to ${toV} through the flag ${why}: the router sends everyone to ${toV} on ` +
        `the standby endpoint "${standby}", so users are protected. The live endpoint "${liveEndpoint}" was NOT ` +
        `updated (${endpointProblem}): callers that bypass the router still get ${fromV}.`;
      nextSteps.push(updateByHand, investigate);
      break;
    case 'incomplete':
      if (flagOk) {
        summary =
          `Rollback of ${model} from ${fromV} to ${toV} is INCOMPLETE ${why}: the router sends everyone to ${toV} on ` +
          `the standby endpoint "${standby}", but the live endpoint "${liveEndpoint}" was not updated ` +
          `(${endpointProblem}): callers that bypass the router still get ${fromV}.`;
        nextSteps.push(updateByHand, investigate);
      } else {
        summary =
          `Rollback of ${model} from ${fromV} to ${toV} is INCOMPLETE ${why}: the flag was not changed ` +
          `(${flagProblem}), so users of the router STILL GET ${fromV} until the live endpoint "${liveEndpoint}" ` +
          `finishes updating to ${toV}'s config "${to.liveConfigName}" (usually 5-15 minutes).`;
        nextSteps.push(flagByHand, watchUpdate, investigate);
      }
      break;
    case 'failed':
      summary =
        `Rollback of ${model} from ${fromV} to ${toV} FAILED ${why}: nothing changed, users still get ${fromV}. ` +
        `Flag: ${flagProblem}. Live endpoint "${liveEndpoint}": ${endpointProblem}.`;
      nextSteps.push(
        // Without a warm bridge, a flag on N-1 would only mislabel N's answers until the update.
        ...(input.noBridge ? [] : [flagByHand]),
        updateByHand,
        'Or invoke this function again with {"model": "' +
          model +
          '", "reason": "..."} once the cause is fixed: ' +
          'a failed rollback may be retried.',
      );
      break;
  }
  return { summary, nextSteps };
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

export interface Page {
  /** At most MAX_PAGE_SUBJECT characters of printable ASCII. */
  readonly subject: string;
  readonly body: string;
}

const SUBJECT_HEAD: Record<RollbackRecord['status'], string> = {
  done: 'Rollback done',
  'endpoint-pending': 'Rollback ACTION NEEDED (live endpoint)',
  incomplete: 'Rollback INCOMPLETE',
  failed: 'Rollback FAILED',
  refused: 'Rollback REFUSED',
};

/**
 * The page for a record. `problems` are what went wrong after the record was built (writing the
 * record or the serving state), listed before the next steps.
 */
/**
 * True when the rollback took effect without a warm bridge: the flag names the version returned to
 * on the live endpoint, although that version came from the standby (which could not take the
 * traffic), so the version rolled back from answers until the live endpoint's update ends.
 */
export function rolledBackWithoutBridge(record: RollbackRecord): boolean {
  const stable = (record.flag?.document as { stable?: { endpoint?: unknown } } | undefined)?.stable;
  return (
    (record.status === 'done' || record.status === 'endpoint-pending' || record.status === 'incomplete') &&
    (record.flag?.outcome === 'deployed' || record.flag?.outcome === 'already') &&
    stable?.endpoint === 'live' &&
    record.to !== null &&
    record.to.standbyEndpoint !== record.endpoint?.name
  );
}

export function rollbackPage(record: RollbackRecord, problems: readonly string[] = []): Page {
  const versions =
    record.status === 'refused'
      ? `no previous version of ${shortVersion(record.from?.modelVersion ?? 'it')}`
      : `${shortVersion(record.from?.modelVersion ?? '?')} -> ${shortVersion(record.to?.modelVersion ?? '?')}`;
  const lines = [record.summary, ''];
  if (problems.length > 0) lines.push('Also:', ...problems.map((p) => `- ${p}`), '');
  if (record.nextSteps.length > 0) {
    lines.push('What to do:', ...record.nextSteps.map((step, i) => `${i + 1}. ${step}`), '');
  }
  lines.push('Record:', JSON.stringify(record, null, 2));
  return {
    subject: pageSubject(
      `${SUBJECT_HEAD[record.status]}${rolledBackWithoutBridge(record) ? ' WITHOUT BRIDGE' : ''}: ${record.model} ${versions}`,
    ),
    body: lines.join('\n'),
  };
}

/** The page when the function could not read its event: an alarm may have fired with no rollback. */
export function unreadableEventPage(model: string, message: string, event: unknown): Page {
  return {
    subject: pageSubject(`Rollback NOT RUN: ${model}: unreadable event`),
    body: [
      `The rollback function of ${model} was invoked with an event it cannot read: ${message}. Nothing was changed.`,
      '',
      'What to do:',
      `1. If an alarm fired, roll back by hand: invoke the function with {"model": "${model}", "reason": "<why>", ` +
        '"requestedBy": "<your name>"}.',
      '2. Fix whatever sends this event: the rollback reads CloudWatch alarm actions, SNS alarm notifications and ' +
        'manual events only.',
      '',
      'Event:',
      clip(JSON.stringify(event, null, 2) ?? String(event), 20_000),
    ].join('\n'),
  };
}

/** The page when the rollback could not run at all (its own inputs unreadable): nothing was changed. */
export function rollbackNotRunPage(
  model: string,
  trigger: RollbackTrigger,
  problem: string,
  liveEndpoint: string,
): Page {
  return {
    subject: pageSubject(`Rollback FAILED: ${model}: nothing changed`),
    body: [
      `Rollback of ${model} (${trigger.by}: ${trigger.reason}) did not run: ${problem}. Nothing was changed: users ` +
        'still get the model that served before.',
      '',
      'What to do:',
      `1. Fix the cause above and invoke the function again with {"model": "${model}", "reason": "<why>"}, or roll ` +
        `back by hand: take standby.liveConfigName from models/${model}/serving/state.json and run aws sagemaker ` +
        `update-endpoint --endpoint-name ${liveEndpoint} --endpoint-config-name <it> ${KEEP_FLEET_SIZE_CLI} (docs/operations.md, "Rolling back by hand").`,
    ].join('\n'),
  };
}

/** Printable ASCII on one line, cut to MAX_PAGE_SUBJECT characters. */
export function pageSubject(text: string): string {
  const clean = text
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim();
  return clean.length <= MAX_PAGE_SUBJECT ? clean : `${clean.slice(0, MAX_PAGE_SUBJECT - 3)}...`;
}

/** Commits are long; 12 characters tell them apart in a subject. */
export function shortVersion(version: string): string {
  return version.length > 12 ? version.slice(0, 12) : version;
}

// ---------------------------------------------------------------------------------------------

function roundSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
