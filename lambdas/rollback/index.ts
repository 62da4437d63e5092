/**
 * Rollback: makes the previous model (N-1) serve again, within seconds for users of the router and
 * within minutes for everyone.
 *
 * Invoked by
 * - a CloudWatch alarm's Lambda action (`{"source": "aws.cloudwatch", "alarmArn": ..., "alarmData":
 *   {"alarmName": ..., "state": {"value": "ALARM", "reason": ..., "timestamp": ...}, ...}}`); only a
 *   change to ALARM acts,
 * - the same alarm through an SNS topic subscription (the alarm notification as the SNS message),
 * - a person, from the Lambda console ("Test") or `aws lambda invoke`, with
 *   `{"model": "<this function's model>", "reason": "<why>", "requestedBy": "<your name>"}`
 *   (`requestedBy` optional; an event for another model is refused).
 *
 * Steps: read the serving state (no N-1 → refuse and page); claim the rollback in the ledger (a
 * second alarm or a concurrent invocation changes nothing); deploy the flag that sends everyone to
 * N-1 on the warm standby endpoint; put N-1's config back on the live endpoint (waiting out an
 * update in progress); rewrite the serving state (N-1 live, no standby); write the record to the
 * ledger and to S3; point the confidence alarm at N-1's own baseline; publish TimeToRollbackSeconds;
 * page on-call with what happened and what to do. While a release's canary deploys its candidate to
 * the live endpoint, a person's rollback rolls back the candidate: it stops that deployment through
 * the rollback-requested auto-rollback alarm and returns to the version that served before it
 * (docs/operations.md, "Rollback during a canary").
 *
 * Nothing throws past the handler but a broken environment: each failure becomes part of the
 * record and the page, which says what state things are in.
 */
import type { Context } from 'aws-lambda';
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { AppConfigClient } from '@aws-sdk/client-appconfig';
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelCommand, ListTagsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { artifactKeys } from '../core/contracts/release-settings';
import type { FlagDocument } from '../core/routing/flags';
import {
  buildRefusalRecord,
  buildRollbackRecord,
  deploymentToStop,
  flagCorrection,
  flagServesEveryone,
  planRollback,
  readRollbackEvent,
  rollbackClaimKey,
  rollbackFlagDocument,
  rollbackNotRunPage,
  pageSubject as pageSubjectOf,
  rollbackPage,
  rolledBackServingState,
  settledFlagDocument,
  settleStep,
  standbyReadiness,
  unreadableEventPage,
  type DeploymentStop,
  type EndpointSeen,
  type FlagOutcome,
  type Page,
  type RollbackAwayFromLive,
  type RollbackRecord,
  type RollbackStatus,
  type RollbackTrigger,
  type ServedModel,
  type StandbyModel,
} from '../core/serving/rollback';
import { parseServingRecord, servingStateSchema, type ServingState } from '../core/serving/serving-records';
import { standbyCapacityWarning } from '../core/serving/standby-capacity';
import { isTransientError } from '../core/serving/transient-error';
import {
  deployFlag,
  flagIds,
  flagLabel,
  FlagWriteConflict,
  isVersionDeployed,
  readCurrentFlag,
  ROLLBACK_FLAG_RETRY_DELAYS_MS,
  type FlagIds,
} from '../shared/flag-writer';
import { rebaselineConfidenceAlarm } from '../shared/confidence-alarm';
import { logger } from '../shared/logger';
import { putRunRecord, type RecordRetry } from '../shared/run-records';
import { LIVE_VARIANT } from '../core/serving/endpoint-spec';
import { describeEndpoint, describeEndpointConfig } from '../shared/serving';
import {
  ensureAutoscaling,
  instanceTypeChange,
  suspendAutoscaling,
  type AutoscalingSettings,
} from './autoscaling';
import { liveRequestsPerMinute, standbyInstances } from './capacity';
import {
  claimRollback,
  clearPendingRecords,
  closeDeferral,
  findDeferrals,
  findRollbackFrom,
  findRollbackTo,
  finishRollback,
  recordDeferral,
  type Deferral,
  type LedgerEntry,
} from './ledger';
import { lookAtDeferral, type AlarmSeen } from '../core/serving/deferred-rollback';
import { describe, putPreviousConfigLive } from './live-endpoint';
import { rollbackEnv, type RollbackEnv } from '../core/contracts/rollback-env';
import { lazy } from '../shared/lazy';
import { METRIC_NAMESPACES, ROLLBACK_REQUESTED_METRIC } from '../core/contracts/metric-names';

export { rollbackEnvSchema, type RollbackEnvInput } from '../core/contracts/rollback-env';

/** Everything external the handler touches; tests pass their own. */
export interface Deps {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly sns: SNSClient;
  readonly sagemaker: SageMakerClient;
  readonly cloudwatch: CloudWatchClient;
  readonly appconfig: AppConfigClient;
  readonly autoscaling: ApplicationAutoScalingClient;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
}

let defaults: Deps | undefined;

/** Clients created once per container. */
export function rollbackDeps(): Deps {
  defaults ??= {
    s3: lazy(() => new S3Client({})),
    dynamodb: lazy(() => new DynamoDBClient({})),
    sns: lazy(() => new SNSClient({})),
    sagemaker: lazy(() => new SageMakerClient({})),
    cloudwatch: lazy(() => new CloudWatchClient({})),
    appconfig: lazy(() => new AppConfigClient({})),
    autoscaling: lazy(() => new ApplicationAutoScalingClient({})),
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  return defaults;
}

export const METRIC_NAMESPACE = METRIC_NAMESPACES.rollback;
export const TIME_TO_ROLLBACK_METRIC = 'TimeToRollbackSeconds';
/** Kept free at the end of the invocation for the writes and the page, when waiting for the endpoint. */
export const FINISH_MARGIN_MS = 30_000;
/** The invocation's time when no Lambda context tells it (Lambda's maximum). */
export const DEFAULT_BUDGET_MS = 15 * 60_000;
/** Record writes stop retrying this long before the invocation's end, to leave time for the page. */
const RECORD_RETRY_RESERVE_MS = 10_000;
/** Rebuilding the flag on top of a concurrent writer's version: attempts in all. */
const FLAG_WRITE_ATTEMPTS = 3;

export type RollbackResult =
  /** An alarm change to OK or INSUFFICIENT_DATA. */
  | { readonly status: 'ignored'; readonly message: string }
  /**
   * An alarm during a guarded release of the live endpoint: the release's own auto-rollback owns
   * it (the errors may be the candidate's, and the model in the serving state may be fine);
   * nothing changed; paged.
   */
  | { readonly status: 'deferred'; readonly message: string; readonly paged: boolean }
  /**
   * The live endpoint changed state: `settled` when it serves the serving state's config (the flag
   * back from the standby if it was there, autoscaling registered), `ignored` otherwise.
   */
  | {
      readonly status: 'settled';
      readonly message: string;
      readonly paged: boolean;
      /**
       * When the flag named another version than the one the live endpoint and state.json serve and
       * settle corrected it: what it found and did (also in the page).
       */
      readonly flagCorrected?: string;
    }
  /** A manual event that is wrong; nothing changed, nobody paged (the person sees this). */
  | { readonly status: 'rejected'; readonly message: string }
  /** An event that is neither; on-call paged. */
  | { readonly status: 'unreadable'; readonly message: string; readonly paged: boolean }
  /** The rollback's own inputs (the serving state) could not be read; nothing changed; paged. */
  | { readonly status: 'not-run'; readonly message: string; readonly paged: boolean }
  /** No N-1 to return to; nothing changed; paged and recorded. */
  | {
      readonly status: 'refused';
      readonly message: string;
      readonly recordKey: string;
      readonly paged: boolean;
    }
  /** This rollback is already claimed or done (a second alarm, a concurrent invocation); nothing changed. */
  | { readonly status: 'duplicate'; readonly message: string; readonly existing: LedgerEntry | undefined }
  | {
      readonly status: RollbackStatus;
      readonly message: string;
      readonly record: RollbackRecord;
      readonly recordKey: string;
      readonly paged: boolean;
      /** What went wrong after the rollback itself (record writes, metric), also in the page. */
      readonly problems: readonly string[];
      /** What the confidence alarm watches now; null when nothing took effect (it still watches N). */
      readonly confidenceAlarm: string | null;
    };

export function createHandler(deps: Deps) {
  return async (event: unknown, context?: Context): Promise<RollbackResult> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    const env = rollbackEnv();
    const startedAt = deps.now();
    const budgetMs = context ? context.getRemainingTimeInMillis() : DEFAULT_BUDGET_MS;
    const run: Run = {
      deps,
      env,
      ids: flagIds(env),
      startedAt,
      deadlineMs: startedAt.getTime() + budgetMs - FINISH_MARGIN_MS,
      leaseUntil: new Date(startedAt.getTime() + budgetMs),
    };
    const request = readRollbackEvent(event, env.MODEL_NAME, startedAt);
    switch (request.action) {
      case 'ignore':
        logger.info(`rollback: ${request.message}`);
        return { status: 'ignored', message: request.message };
      case 'reject':
        logger.warn(request.message);
        return { status: 'rejected', message: request.message };
      case 'unreadable': {
        logger.error(`rollback: unreadable event: ${request.message}`, {
          event: event as Record<string, unknown>,
        });
        const paged = await page(run, unreadableEventPage(env.MODEL_NAME, request.message, event));
        return { status: 'unreadable', message: request.message, paged };
      }
      case 'roll-back':
        logger.appendKeys({ trigger: request.trigger.by });
        return rollBack(run, request.trigger);
      case 'settle':
        if (request.endpointName !== env.LIVE_ENDPOINT) {
          const message = `endpoint ${request.endpointName} changed state; only the live endpoint ${env.LIVE_ENDPOINT} matters: nothing done`;
          return { status: 'ignored', message };
        }
        return settleAndLookAgain(run);
    }
  };
}

export const handler = createHandler(rollbackDeps());

/** One invocation. */
interface Run {
  readonly deps: Deps;
  readonly env: RollbackEnv;
  readonly ids: FlagIds;
  readonly startedAt: Date;
  /** Stop waiting for a busy endpoint after this (epoch ms). */
  readonly deadlineMs: number;
  /** The invocation cannot outlive this: the ledger claim's lease. */
  readonly leaseUntil: Date;
}

function autoscalingSettings(env: RollbackEnv): AutoscalingSettings {
  return {
    autoscaling: {
      minInstances: env.AUTOSCALING_MIN_INSTANCES,
      maxInstances: env.AUTOSCALING_MAX_INSTANCES,
      targetInvocationsPerInstance: env.AUTOSCALING_TARGET_INVOCATIONS,
    },
  };
}

async function rollBack(run: Run, trigger: RollbackTrigger): Promise<RollbackResult> {
  const { deps, env } = run;
  const model = env.MODEL_NAME;
  const stateKey = artifactKeys.servingState(model);
  const stateUrl = `s3://${env.ARTIFACTS_BUCKET}/${stateKey}`;

  // 1. What serves, and what a rollback returns to.
  let state: ServingState | null;
  try {
    state = await readServingState(deps.s3, env.ARTIFACTS_BUCKET, stateKey, stateUrl);
    if (state !== null && state.model !== model) {
      throw new Error(`${stateUrl} is the serving state of model "${state.model}", not "${model}"`);
    }
  } catch (error) {
    const problem = `cannot read the serving state: ${(error as Error).message}`;
    logger.error(`rollback: ${problem}`);
    const paged = await page(run, rollbackNotRunPage(model, trigger, problem, env.LIVE_ENDPOINT));
    return { status: 'not-run', message: problem, paged };
  }
  // 1a. A serving state but no live endpoint: the model was retired (a deploy with serving.retired:
  // true deletes both endpoints) or the endpoint was deleted by hand. Nothing to return to.
  const liveSeen = state === null ? 'unknown' : await describeLive(run);
  if (state !== null && liveSeen === undefined) {
    return refuse(run, trigger, {
      kind: 'nothing-to-return-to',
      live: null,
      why:
        `the live endpoint "${env.LIVE_ENDPOINT}" does not exist: the model is retired (serving.retired: true in ` +
        `config/models/${model}.yaml deletes its endpoints; docs/operations.md, "Retiring a model") or the endpoint ` +
        'was deleted by hand, so nothing serves to roll back from. To serve again, remove serving.retired, deploy, ' +
        'and release (the first release creates the endpoint)',
    });
  }
  // 1b. A release's canary deploying its candidate to the live endpoint: the candidate takes user
  // traffic, so it is what a person rolls back; the rollback stops that deployment (below), and the
  // version that served before it stays. Before the canary's update (the standby refresh) nothing
  // of the candidate serves, and the rollback is the usual one.
  const stopping =
    state === null || liveSeen === 'unknown' || liveSeen === undefined
      ? undefined
      : deploymentToStop(
          {
            status: liveSeen.EndpointStatus,
            pendingConfigName: liveSeen.PendingDeploymentSummary?.EndpointConfigName,
            autoRollbackAlarms: (liveSeen.LastDeploymentConfig?.AutoRollbackConfiguration?.Alarms ?? []).map(
              (a) => a.AlarmName ?? '',
            ),
          },
          state,
          env.ROLLBACK_REQUESTED_ALARM_NAME,
        );
  const unpromoted =
    state === null
      ? null
      : stopping
        ? await releaseOfConfig(run, stopping.candidateConfig)
        : await unpromotedRelease(run, state, liveSeen);
  const plan = planRollback(state, stateUrl, unpromoted);
  if (plan.kind === 'nothing-to-return-to') {
    const done = plan.live ? await rolledBackAlready(run, plan.live) : undefined;
    if (done) {
      const written = await writePendingRecords(run, done);
      return duplicate(done, `a rollback to ${plan.live!.modelVersion} is already recorded`, written);
    }
    return refuse(run, trigger, plan);
  }
  const { from, to, bridge } = plan;
  logger.appendKeys({ from: from.modelVersion, to: to.modelVersion, bridge });

  // 1b. A canary in progress has its own guardrails; rolling production back under it would
  // punish the model that serves for the candidate's errors. A person may still force it.
  if (trigger.kind === 'alarm') {
    const guarded = await guardedReleaseInProgress(run);
    if (guarded !== undefined) {
      // Kept in the ledger: the live endpoint's change to InService, when the release ends, looks at
      // the alarm again (settleAndLookAgain); the alarm itself will not call again while it stays in ALARM.
      const recorded = await recordDeferral(deps.dynamodb, env.ROLLBACK_TABLE, model, {
        alarmName: trigger.alarmName ?? trigger.by,
        reason: trigger.reason,
        triggeredAt: trigger.triggeredAt,
        deferredAt: run.startedAt.toISOString(),
        endpointStatus: guarded,
      }).then(
        () => null,
        (error: unknown) => describe(error),
      );
      const message =
        `alarm ${trigger.alarmName} fired while a guarded release updates ${env.LIVE_ENDPOINT} (${guarded}); ` +
        "SageMaker's auto-rollback owns this incident, so nothing was changed. " +
        (recorded === null
          ? 'When the release ends this function looks at the alarm again: if it is still in ALARM a whole ' +
            'evaluation window later, the version serving then is rolled back (docs/operations.md, "Deferred rollbacks").'
          : `The deferral could not be kept in table ${env.ROLLBACK_TABLE} (${recorded}), so nothing looks at the ` +
            'alarm again: if it is still in ALARM after the release ends, roll back by hand: invoke ' +
            `${env.MODEL_NAME}'s rollback function with {"model": "${model}", "reason": "..."} (docs/operations.md).`);
      logger.warn(`rollback: deferred: ${message}`);
      const paged = await page(run, {
        subject: `Rollback deferred to release guardrails: ${model}`.slice(0, 99),
        body: message,
      });
      return { status: 'deferred', message, paged };
    }
  }

  // 2. Claim it: one rollback per release rolled back from.
  const sk = rollbackClaimKey(from);
  let claim: 'claimed' | 'took-over' | 'ledger-unavailable';
  try {
    const claimed = await claimRollback(deps.dynamodb, env.ROLLBACK_TABLE, {
      model,
      sk,
      from,
      to,
      trigger,
      startedAt: run.startedAt,
      leaseUntil: run.leaseUntil,
    });
    if (claimed.result === 'exists') {
      const written = claimed.existing ? await writePendingRecords(run, claimed.existing) : null;
      return duplicate(
        claimed.existing,
        `the rollback from ${from.modelVersion} is already claimed`,
        written,
      );
    }
    if (claimed.result === 'took-over') {
      logger.warn('rollback: taking over an earlier rollback that failed or whose invocation died', {
        previous: claimed.previous,
      });
    }
    claim = claimed.result;
  } catch (error) {
    // Rolling back matters more than deduplicating: a second run finds the work done and does nothing new.
    logger.error(
      `rollback: cannot claim the rollback in table ${env.ROLLBACK_TABLE}; rolling back unclaimed`,
      {
        problem: describe(error),
      },
    );
    claim = 'ledger-unavailable';
  }

  // 3. The flag first: N-1 serves from the warm standby as soon as routers read it.
  let flag = await deployRollbackFlag(run, trigger, to, bridge);
  logger.info('rollback: flag', { outcome: flag.outcome });

  // 4. The live endpoint: N-1's config back, for callers that bypass the router. An instance type
  // change needs autoscaling off first; it is registered again when the update has ended (settle).
  // A candidate's deployment under way is stopped first: while the endpoint is Updating, each look at
  // it asks again (requestStop), until SageMaker rolls back; the wait then ends InService on N-1's
  // config ("already"), or on the candidate's when the deployment finished first (then updated back).
  const stop: Mutable<DeploymentStop> | null = stopping
    ? {
        candidateConfig: stopping.candidateConfig,
        alarmName: env.ROLLBACK_REQUESTED_ALARM_NAME,
        requests: 0,
        rollingBackSeen: false,
        lastProblem: null,
      }
    : null;
  let autoscalingSuspended = false;
  const endpoint = await putPreviousConfigLive({
    sagemaker: deps.sagemaker,
    endpointName: env.LIVE_ENDPOINT,
    targetConfig: to.liveConfigName,
    now: deps.now,
    sleep: deps.sleep,
    deadlineMs: run.deadlineMs,
    log: (message, attributes) => logger.info(message, attributes),
    prepareUpdate: async (current) => {
      const change =
        current === undefined
          ? undefined
          : await instanceTypeChange(deps.sagemaker, current, to.liveConfigName);
      if (change === undefined) return;
      logger.info('rollback: the instance type changes; deregistering autoscaling first', change);
      // Throttled or refused as concurrent, it is tried again (1, 2, 4 s): given up, the live
      // endpoint would keep the rolled-back version for good (long generated run, seed 4, sequence 140).
      await withConcurrencyRetries(deps.sleep, () =>
        suspendAutoscaling(deps.autoscaling, autoscalingSettings(env), env.LIVE_ENDPOINT),
      );
      autoscalingSuspended = true;
    },
    onBusy:
      stop === null
        ? undefined
        : async (status) => {
            if (status === 'RollingBack') stop.rollingBackSeen = true;
            else if (status === 'Updating' && !stop.rollingBackSeen)
              await requestStop(run, stop, trigger, from);
          },
  });
  logger.info('rollback: live endpoint', { outcome: endpoint.outcome, statusSeen: endpoint.statusSeen });

  // 4a. No warm bridge (the standby is being refreshed by a release's canary, or holds something
  // else): the flag names N-1 on the live endpoint, where users already are, once that endpoint is
  // updating to N-1's config. Its old fleet answers until the new one is in service ("deploys the
  // EndpointConfig specified in the request to a new fleet of instances ... then deletes the old
  // instances": https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html),
  // so N keeps answering for those minutes, and the page says so; but the flag, the serving state
  // and the endpoint then agree, and nobody is sent to a standby that will hold another model.
  if (flag.noBridge !== undefined) {
    const took = endpoint.outcome === 'update-started' || endpoint.outcome === 'already';
    flag = took ? { ...(await deployRollbackFlag(run, trigger, to, 'live')), noBridge: flag.noBridge } : flag;
    logger.info('rollback: flag without a bridge', { outcome: flag.outcome, noBridge: flag.noBridge });
  }
  const flagEndpoint: 'standby' | 'live' = flag.noBridge !== undefined ? 'live' : bridge;
  const problems: string[] = [];
  if (autoscalingSuspended && endpoint.outcome !== 'update-started') {
    // No update happened: the variant is as it was, so its autoscaling goes back at once.
    try {
      await ensureAutoscaling(deps.autoscaling, autoscalingSettings(env), env.LIVE_ENDPOINT);
    } catch (error) {
      problems.push(
        `Autoscaling of the live variant was deregistered for the instance type change and could not be registered ` +
          `again: ${describe(error)}. The fleet keeps its size but does not scale until it is (invoke this function ` +
          `with the endpoint's state change, or register it by hand).`,
      );
    }
  }

  // 4b. The standby now carries everyone until the live endpoint serves N-1 again (an update keeps
  // the old fleet serving until the new one is ready, minutes:
  // https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html). It is
  // one small fleet; when the live traffic exceeds what it carries at the autoscaling target, the
  // page says so (adding instances takes as long as the live endpoint's own update).
  if (
    flagEndpoint === 'standby' &&
    (flag.outcome.outcome === 'deployed' || flag.outcome.outcome === 'already')
  ) {
    const warning = await standbyCapacity(run, to.modelVersion);
    if (warning !== null) problems.push(warning);
  }

  // 5. The serving state, when anything took effect: N-1 live, nothing further to return to.
  const tookEffect = flag.outcome.outcome === 'deployed' || endpoint.outcome === 'update-started';
  let servingState: RollbackRecord['servingState'];
  if (bridge === 'live') {
    // Promotion never ran for `from`: the state still names `to` live, which is true again once the
    // live endpoint serves its config, and its standby is still the release before.
    servingState = {
      outcome: 'not-written',
      detail: `${stateUrl} already names ${to.modelVersion} live (config "${to.liveConfigName}"); ${from.modelVersion} was never promoted`,
    };
  } else if (tookEffect || flag.outcome.outcome === 'already' || endpoint.outcome === 'already') {
    const next = rolledBackServingState(model, to, env.LIVE_ENDPOINT, deps.now());
    try {
      await putRunRecord(
        deps.s3,
        env.ARTIFACTS_BUCKET,
        stateKey,
        json(next),
        'serving state',
        recordRetry(run),
      );
      servingState = { outcome: 'written', detail: `${stateUrl}: ${to.modelVersion} live, no standby` };
    } catch (error) {
      servingState = {
        outcome: 'failed',
        detail:
          `${(error as Error).message}. It still says ${from.modelVersion} live with ${to.modelVersion} on standby; ` +
          `write it by hand before the next release: ${JSON.stringify(next)}`,
      };
    }
  } else {
    servingState = {
      outcome: 'not-written',
      detail: `nothing took effect, so ${stateUrl} still says ${from.modelVersion} live with ${to.modelVersion} on standby`,
    };
  }

  // 5b. The confidence alarm watches the version that serves now, on that version's own baseline
  // (armed at once when its record has one, else provisional), not on the baseline of the version
  // rolled back from. An alarm in ALARM keeps its state through PutMetricAlarm ("If you are updating
  // an existing alarm, its state is left unchanged, but the update completely overwrites the previous
  // configuration of the alarm":
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html), so the
  // re-baseline sets it to INSUFFICIENT_DATA and CloudWatch evaluates it again on N-1's band: back to
  // ALARM (acting again) only if that band is breached. Datapoints of N's last minutes can do that
  // once; the second invocation finds this rollback claimed and changes nothing.
  let confidenceAlarm: string | null = null;
  // A stopped canary committed nothing: the confidence alarm still watches the version returned to.
  if (stop !== null) {
    logger.info('rollback: the confidence alarm already watches the version returned to');
  } else if (
    bridge === 'live' ||
    tookEffect ||
    flag.outcome.outcome === 'already' ||
    endpoint.outcome === 'already'
  ) {
    try {
      confidenceAlarm = await rebaselineConfidenceAlarm(
        { cloudwatch: deps.cloudwatch, s3: deps.s3 },
        {
          alarmName: env.CONFIDENCE_ALARM_NAME,
          rollbackActionArn: env.CONFIDENCE_ROLLBACK_ACTION_ARN,
          bucket: env.ARTIFACTS_BUCKET,
          model,
          modelVersion: to.modelVersion,
          servedSince: deps.now(),
          evalMean: null,
          provisionalStdDev: env.CONFIDENCE_PROVISIONAL_STD_DEV,
          by: `rollback ${trigger.by}`,
        },
      );
      logger.info(`rollback: ${confidenceAlarm}`);
    } catch (error) {
      problems.push(
        `The confidence alarm ${env.CONFIDENCE_ALARM_NAME} still watches ${from.modelVersion}'s band: ${describe(error)}. ` +
          `It judges ${to.modelVersion} by that band and may page on its normal traffic (a rollback then finds nothing ` +
          'left to return to); fix the cause, then re-baseline it by hand (docs/operations.md, "Rollback").',
      );
    }
  }

  // 6. The record, in the ledger and in S3.
  const record = buildRollbackRecord({
    model,
    trigger,
    from,
    to,
    liveEndpoint: env.LIVE_ENDPOINT,
    claim,
    flagLabel: flagLabel(run.ids),
    flagDocument: flag.document,
    flag: flag.outcome,
    noBridge: flag.noBridge ?? null,
    stop,
    endpoint,
    servingState,
    startedAt: run.startedAt,
    finishedAt: deps.now(),
  });
  const recordKey = artifactKeys.rollbackRecord(model, run.startedAt.toISOString());
  if (servingState.outcome === 'failed')
    problems.push(`The serving state was not written: ${servingState.detail}`);
  // The records first, each retried while S3 refuses it for a transient reason; one still refused
  // is kept in the ledger item as pending, and the next invocation that finds the item (a second
  // alarm, a retry, the live endpoint's state change) writes it: the record is not lost, and the
  // rollback itself was not slowed down by it.
  const pendingRecords: string[] = [];
  try {
    await putRunRecord(
      deps.s3,
      env.ARTIFACTS_BUCKET,
      recordKey,
      json(record),
      'rollback record',
      recordRetry(run),
    );
  } catch (error) {
    pendingRecords.push(recordKey);
    problems.push(`The rollback record was not written: ${(error as Error).message}. It is in this page.`);
  }
  // Beside the run rolled back from: its promotion, retried or late, must not undo this.
  const runKey = artifactKeys.runRollback(model, from.executionId);
  try {
    await putRunRecord(
      deps.s3,
      env.ARTIFACTS_BUCKET,
      runKey,
      json(record),
      'rollback record of the run',
      recordRetry(run),
    );
  } catch (error) {
    pendingRecords.push(runKey);
    problems.push(
      `The rollback record beside the run (s3://${env.ARTIFACTS_BUCKET}/${runKey}) was not written: ` +
        `${(error as Error).message}. A retried Promotion stage of ${from.modelVersion} would not know it was rolled ` +
        'back: do not retry it.',
    );
  }
  if (claim === 'ledger-unavailable') {
    problems.push(
      `The rollback ledger (DynamoDB table ${env.ROLLBACK_TABLE}) could not be written: a second alarm may run the ` +
        'rollback again; it finds nothing left to return to and pages again.',
    );
    if (pendingRecords.length > 0)
      problems.push(
        `RECORD NOT KEPT: neither S3 nor the ledger holds this rollback's record; save the record in this page to ` +
          `${pendingRecords.map((k) => `s3://${env.ARTIFACTS_BUCKET}/${k}`).join(' and ')}.`,
      );
  } else {
    try {
      await finishRollback(
        deps.dynamodb,
        env.ROLLBACK_TABLE,
        { model, sk },
        record,
        recordKey,
        pendingRecords,
      );
      if (pendingRecords.length > 0)
        problems.push(
          `The ledger item ${model}/${sk} keeps the record and the ${pendingRecords.length} S3 write(s) still to do; ` +
            'the next invocation of this function writes them (invoke it again with the same event once S3 ' +
            "accepts writes, or let the live endpoint's state change do it).",
        );
    } catch (error) {
      problems.push(
        `The rollback ledger item ${model}/${sk} in table ${env.ROLLBACK_TABLE} still says "started": ${describe(error)}.`,
      );
      if (pendingRecords.length > 0)
        problems.push(
          `RECORD NOT KEPT: neither S3 nor the ledger holds this rollback's record; save the record in this page to ` +
            `${pendingRecords.map((k) => `s3://${env.ARTIFACTS_BUCKET}/${k}`).join(' and ')}.`,
        );
    }
  }

  // 7. Time to rollback: from the alarm (or the request) to the flag that makes N-1 serve.
  if (record.durations.triggerToFlagSeconds !== null && record.flagDeployedAt !== null) {
    try {
      await deps.cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: METRIC_NAMESPACE,
          MetricData: [
            {
              MetricName: TIME_TO_ROLLBACK_METRIC,
              Dimensions: [{ Name: 'Model', Value: model }],
              Timestamp: new Date(record.flagDeployedAt),
              Value: record.durations.triggerToFlagSeconds,
              Unit: 'Seconds',
            },
          ],
        }),
      );
    } catch (error) {
      problems.push(
        `The ${METRIC_NAMESPACE} ${TIME_TO_ROLLBACK_METRIC} metric was not published: ${describe(error)}.`,
      );
    }
  }

  // 8. The endpoint already served N-1 (a retry, or a person was quicker): no state change will
  // come, so users go back to the live fleet now.
  if (endpoint.outcome === 'already' && servingState.outcome === 'written') {
    const settled = await settle(run, { page: false });
    logger.info(`rollback: ${settled.message}`);
    if (settled.status === 'settled' && settled.flagCorrected !== undefined)
      problems.push(`Settle corrected the flag: ${settled.flagCorrected}.`);
  }

  // 9. On-call.
  const paged = await page(run, rollbackPage(record, problems));
  const log = record.status === 'done' ? logger.info.bind(logger) : logger.error.bind(logger);
  log(`rollback ${record.status}: ${record.summary}`, { recordKey, problems, paged });
  return {
    status: record.status,
    message: record.summary,
    record,
    recordKey,
    paged,
    problems,
    confidenceAlarm,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Asks SageMaker to stop the candidate's deployment: a datapoint of the RollbackRequested metric,
 * which the rollback-requested alarm evaluates (ALARM for the minute it covers), and SetAlarmState
 * ALARM on that alarm so that it acts before its next evaluation. SetAlarmState alone would not
 * do: "Metric alarms returns to their actual state quickly, often within seconds"
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html), and
 * SageMaker does not document how often it reads a deployment's alarms; an alarm tripped during
 * the deployment rolls it back ("If any alarms are tripped during a deployment, SageMaker rolls back
 * the deployment": https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AutoRollbackConfig.html).
 * SageMaker watches the alarms during the baking periods, which begin once the green fleet is
 * provisioned ("If any of the pre-specified alarms trip during any baking period, then all endpoint
 * traffic rolls back to the blue fleet": https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html),
 * so a request made while the fleet is provisioning must still hold when the bake starts: it is
 * repeated at each look at the endpoint (every 15 s) until the endpoint is RollingBack, within the
 * invocation's time; once the datapoints stop, the alarm returns to OK by itself (missing data is not
 * breaching). Never throws.
 */
async function requestStop(
  run: Run,
  stop: Mutable<DeploymentStop>,
  trigger: RollbackTrigger,
  from: ServedModel,
): Promise<void> {
  const { deps, env } = run;
  let accepted = false;
  try {
    await deps.cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: METRIC_NAMESPACE,
        MetricData: [
          {
            MetricName: ROLLBACK_REQUESTED_METRIC,
            Dimensions: [{ Name: 'Model', Value: env.MODEL_NAME }],
            Timestamp: deps.now(),
            Value: 1,
            Unit: 'Count',
          },
        ],
      }),
    );
    accepted = true;
  } catch (error) {
    stop.lastProblem = `PutMetricData ${METRIC_NAMESPACE} ${ROLLBACK_REQUESTED_METRIC}: ${describe(error)}`;
  }
  try {
    await deps.cloudwatch.send(
      new SetAlarmStateCommand({
        AlarmName: stop.alarmName,
        StateValue: 'ALARM',
        StateReason:
          `Rollback of ${from.modelVersion} requested by ${trigger.by} (${trigger.reason}): stopping the deployment of ` +
          `config ${stop.candidateConfig} on ${env.LIVE_ENDPOINT}`.slice(0, 1023),
      }),
    );
    accepted = true;
  } catch (error) {
    stop.lastProblem = `SetAlarmState ${stop.alarmName}: ${describe(error)}`;
  }
  if (accepted) stop.requests += 1;
  logger.info('rollback: asked SageMaker to stop the deployment', {
    candidateConfig: stop.candidateConfig,
    requests: stop.requests,
    problem: stop.lastProblem,
  });
}

/** The page's warning when the standby may not carry everyone, or null. Never throws. */
async function standbyCapacity(run: Run, version: string): Promise<string | null> {
  const { deps, env } = run;
  const [perMinute, instances] = await Promise.all([
    liveRequestsPerMinute(deps.cloudwatch, env.LIVE_ENDPOINT, deps.now()).catch((error: unknown) => {
      logger.warn('rollback: cannot read the live traffic rate', { problem: describe(error) });
      return null;
    }),
    standbyInstances(deps.sagemaker, env.STANDBY_ENDPOINT).catch((error: unknown) => {
      logger.warn('rollback: cannot read the standby instance count', { problem: describe(error) });
      return null;
    }),
  ]);
  const warning = standbyCapacityWarning({
    perMinute,
    standbyInstances: instances,
    targetPerInstance: env.AUTOSCALING_TARGET_INVOCATIONS,
    standbyEndpoint: env.STANDBY_ENDPOINT,
    liveEndpoint: env.LIVE_ENDPOINT,
    version,
  });
  logger.info('rollback: standby capacity', { perMinute, standbyInstances: instances, warning });
  return warning;
}

/**
 * The live endpoint changed state. Once it serves the serving state's config, its autoscaling is
 * registered (a rollback may have had to deregister it) and a flag that still sends everyone to
 * that version on the standby sends them to the live fleet: the standby is a bridge, a single
 * small fleet, not a home. Idempotent: SageMaker may send several events for one change.
 */
async function settle(
  run: Run,
  options: { readonly page: boolean } = { page: true },
): Promise<RollbackResult> {
  const { deps, env, ids } = run;
  const model = env.MODEL_NAME;
  const stateKey = artifactKeys.servingState(model);
  const stateUrl = `s3://${env.ARTIFACTS_BUCKET}/${stateKey}`;
  let step: ReturnType<typeof settleStep>;
  let current: Awaited<ReturnType<typeof readCurrentFlag>>;
  let live: ServedModel | undefined;
  try {
    const [state, seen, flag] = await Promise.all([
      readServingState(deps.s3, env.ARTIFACTS_BUCKET, stateKey, stateUrl),
      describeEndpoint(deps.sagemaker, env.LIVE_ENDPOINT),
      readCurrentFlag(deps.appconfig, ids),
    ]);
    current = flag;
    live = state?.live;
    step = settleStep(
      state,
      seen && { status: seen.EndpointStatus, configName: seen.EndpointConfigName },
      flag?.document ?? null,
    );
  } catch (error) {
    return settleFailed(run, options, `cannot read what serves: ${describe(error)}`);
  }
  if (step.action === 'ignore') {
    const message = `live endpoint state change: ${step.why}: nothing done`;
    logger.info(`rollback: ${message}`);
    return { status: 'ignored', message };
  }

  const done: string[] = [];
  // The rollback that brought this version back may have left its record to write (S3 refused it).
  const rollback = live && (await rolledBackAlready(run, live));
  const pending = rollback ? await writePendingRecords(run, rollback) : null;
  if (pending !== null) done.push(pending.replace(/\.$/, ''));
  try {
    const scaling = await withConcurrencyRetries(deps.sleep, () =>
      ensureAutoscaling(deps.autoscaling, autoscalingSettings(env), env.LIVE_ENDPOINT),
    );
    if (scaling === 'registered') done.push('autoscaling of the live variant registered again');
  } catch (error) {
    return settleFailed(run, options, `cannot register autoscaling of the live variant: ${describe(error)}`);
  }
  // A settled flag that was stored but never delivered (its deployment failed or was stopped) leaves
  // users where the deployed one sends them: deploy it again.
  const moveFlag =
    step.moveFlag ||
    (current?.document !== undefined &&
      current.document !== null &&
      current.document.stable.modelVersion === step.version &&
      current.document.stable.endpoint === 'live' &&
      !(await storedVersionDeployed(run, current.versionNumber)));
  if (moveFlag && current?.document) {
    const document = settledFlagDocument(current.document, step.version, deps.now());
    try {
      const deployed = await deployFlag(
        deps.appconfig,
        ids,
        document,
        `rollback: ${step.version} back on the live endpoint, in service again`,
        {
          latestVersionNumber: current.versionNumber,
          whenDeploymentInProgress: 'stop',
          sleep: deps.sleep,
          transientRetryDelaysMs: ROLLBACK_FLAG_RETRY_DELAYS_MS,
        },
      );
      done.push(
        `the flag sends everyone to ${step.version} on the live endpoint again (version ${deployed.versionNumber}, ` +
          `deployment ${deployed.deploymentNumber})`,
      );
    } catch (error) {
      return settleFailed(
        run,
        options,
        `cannot move the flag from the standby back to the live endpoint: ${describe(error)}`,
      );
    }
  }
  // Second line of defence: a flag naming another version than the one the endpoint and
  // state.json both serve (core flagCorrection says why the flag is then the wrong one, and when it
  // is not: a rollback away from that version moves the flag first).
  let flagCorrected: string | undefined;
  if (step.wrongFlag !== null && current?.document && live !== undefined) {
    const correction = flagCorrection({
      current: current.document,
      version: step.version,
      rollbackAway: await rollbackAwayFrom(run, live),
      rolledBackTo: rollback !== undefined,
      at: deps.now(),
    });
    if (correction.action === 'leave') {
      logger.warn(`rollback: settle: ${correction.why}`);
      done.push(correction.why);
    } else {
      try {
        const deployed = await deployFlag(
          deps.appconfig,
          ids,
          correction.document,
          `settle: ${step.version} serves (live endpoint and state.json); the flag named ${step.wrongFlag.version}`,
          {
            latestVersionNumber: current.versionNumber,
            // Not 'stop': a deployment in progress is another writer's newer intent (a release's
            // commit, a person); this event's correction can wait for the next one.
            whenDeploymentInProgress: 'fail',
            sleep: deps.sleep,
            transientRetryDelaysMs: ROLLBACK_FLAG_RETRY_DELAYS_MS,
          },
        );
        flagCorrected = `${correction.summary} (version ${deployed.versionNumber}, deployment ${deployed.deploymentNumber})`;
        logger.error(`rollback: settle corrected a wrong flag: ${flagCorrected}`);
        done.push(flagCorrected);
      } catch (error) {
        return wrongFlagNotCorrected(run, options, step.version, step.wrongFlag.version, describe(error));
      }
    }
  }
  const message =
    `The live endpoint ${env.LIVE_ENDPOINT} serves ${step.version} (in service): ` +
    (done.length > 0 ? `${done.join('; ')}.` : 'nothing left to do.');
  logger.info(`rollback: ${message}`);
  if (flagCorrected === undefined) return { status: 'settled', message, paged: false };
  // On-call needs to know: the flag was wrong, and something that wrote it failed without saying so here.
  const paged = options.page
    ? await page(run, {
        subject: pageSubjectOf(`Flag corrected: ${env.MODEL_NAME} flag named ${step.wrongFlag!.version}`),
        body:
          `${message}\n\nThe ${flagLabel(ids)} named ${step.wrongFlag!.version} while the live endpoint ` +
          `${env.LIVE_ENDPOINT} and serving/state.json both serve ${step.version}. Find the writer that left it ` +
          '(a rollback or a release stage whose flag step failed: its page or stage output says so) and check that ' +
          "its other steps are done; the router's flag cache delivers the corrected flag within its refresh interval.",
      })
    : false;
  return { status: 'settled', message, paged, flagCorrected };
}

/** The ledger's item of a rollback away from `live`, for flagCorrection. Never throws. */
async function rollbackAwayFrom(run: Run, live: ServedModel): Promise<RollbackAwayFromLive> {
  try {
    const entry = await findRollbackFrom(
      run.deps.dynamodb,
      run.env.ROLLBACK_TABLE,
      run.env.MODEL_NAME,
      rollbackClaimKey(live),
    );
    return entry === undefined ? null : { status: entry.status };
  } catch (error) {
    logger.warn('rollback: settle cannot read the rollback ledger', { problem: describe(error) });
    return 'unknown';
  }
}

async function wrongFlagNotCorrected(
  run: Run,
  options: { readonly page: boolean },
  version: string,
  wrong: string,
  problem: string,
): Promise<RollbackResult> {
  const { env } = run;
  const message =
    `The live endpoint ${env.LIVE_ENDPOINT} and serving/state.json serve ${version}, but the ${flagLabel(run.ids)} ` +
    `names ${wrong}, and it could not be corrected: ${problem}. Users of the router are routed, and their predictions ` +
    `labelled, as ${wrong}. The live endpoint's next state change tries again; until then, deploy by hand the flag's ` +
    `newest version with stable {"modelVersion": "${version}", "endpoint": "live"} (AppConfig ` +
    'create-hosted-configuration-version, then start-deployment with the rollback strategy).';
  logger.error(`rollback: ${message}`);
  const paged = options.page
    ? await page(run, {
        subject: pageSubjectOf(`Flag ACTION NEEDED: ${env.MODEL_NAME} flag names ${wrong}`),
        body: message,
      })
    : false;
  return { status: 'not-run', message, paged };
}

/** How often a deferred rollback's alarm is read while its window after the release passes. */
const DEFERRAL_POLL_MS = 60_000;

/**
 * The live endpoint changed state: settle (above), then, once it is InService with no guarded
 * release under way, look again at each rollback an alarm deferred to that release's guardrails
 * (issue 11, invariant 9; lambdas/core/serving/deferred-rollback.ts says why a whole evaluation
 * window is waited out). An alarm that went OK meanwhile blamed the candidate: nothing to do. One
 * still in ALARM blames the version serving now: it is rolled back, as the alarm asked. A window
 * longer than this invocation's time is handed to a person (paged). Each deferral is closed in the
 * ledger with what came of it, so a second state-change event does not look again.
 */
async function settleAndLookAgain(run: Run): Promise<RollbackResult> {
  const settled = await settle(run);
  const { deps, env } = run;
  let deferrals: Deferral[];
  try {
    deferrals = await findDeferrals(deps.dynamodb, env.ROLLBACK_TABLE, env.MODEL_NAME);
  } catch (error) {
    logger.warn('rollback: cannot read the deferred rollbacks from the ledger', { problem: describe(error) });
    return settled;
  }
  if (deferrals.length === 0) return settled;
  const guarded = await guardedReleaseInProgress(run);
  if (guarded !== undefined) {
    // A release (a retried canary) is updating again: its guardrails still own the incident.
    logger.info('rollback: deferred rollbacks wait for the release under way', { guarded });
    return settled;
  }
  const seen = await describeLive(run).catch(() => 'unknown' as const);
  if (seen === 'unknown' || seen?.EndpointStatus !== 'InService') return settled;

  const endedAtMs = deps.now().getTime();
  const notes: string[] = [];
  let rollBackFor: { deferral: Deferral; why: string } | undefined;
  const open = [...deferrals];
  while (open.length > 0 && rollBackFor === undefined) {
    let waitMs = Infinity;
    for (const deferral of [...open]) {
      let alarm: AlarmSeen | undefined;
      try {
        alarm = await describeAlarm(run, deferral.alarmName);
      } catch (error) {
        notes.push(`cannot read alarm ${deferral.alarmName} (${describe(error)}): look at it by hand`);
        await close(run, deferral, notes.at(-1)!, true);
        open.splice(open.indexOf(deferral), 1);
        continue;
      }
      const look = lookAtDeferral({
        alarmName: deferral.alarmName,
        alarm,
        releaseEndedAtMs: endedAtMs,
        nowMs: deps.now().getTime(),
        deadlineMs: run.deadlineMs,
        pollMs: DEFERRAL_POLL_MS,
      });
      if (look.verdict === 'wait') {
        waitMs = Math.min(waitMs, look.waitMs);
        continue;
      }
      open.splice(open.indexOf(deferral), 1);
      if (look.verdict === 'roll-back') {
        rollBackFor = { deferral, why: look.why };
        break;
      }
      const note =
        look.verdict === 'cleared'
          ? `the rollback deferred at ${deferral.deferredAt} needs nothing: ${look.why}`
          : `the rollback deferred at ${deferral.deferredAt} needs a person: ${look.why}; if it stays in ALARM, ` +
            `roll back by hand (invoke this function with {"model": "${env.MODEL_NAME}", "reason": "..."})`;
      notes.push(note);
      await close(run, deferral, note, look.verdict === 'hand-over');
    }
    if (rollBackFor === undefined && open.length > 0) await deps.sleep(waitMs);
  }

  if (rollBackFor !== undefined) {
    const { deferral, why } = rollBackFor;
    logger.warn(`rollback: a deferred rollback is due: ${why}`);
    const result = await rollBack(run, {
      kind: 'alarm',
      by: `alarm ${deferral.alarmName}`,
      alarmName: deferral.alarmName,
      reason:
        `deferred at ${deferral.deferredAt} to a guarded release (${deferral.endpointStatus}); looked at again when ` +
        `it ended: ${why}. First reason: ${deferral.reason}`.slice(0, 1000),
      triggeredAt: deferral.triggeredAt,
    });
    const summary = `looked at again when the release ended: ${why}; rollback ${result.status}`;
    // Every deferral still open ends with this rollback: it changed what serves.
    for (const d of [deferral, ...open]) await close(run, d, summary, false);
    return result;
  }
  const message = `${settled.message} Deferred rollbacks: ${notes.join('; ')}.`;
  logger.info(`rollback: ${message}`);
  return { status: 'settled', message, paged: 'paged' in settled ? settled.paged : false };
}

/** One metric alarm as DescribeAlarms says; undefined when it does not exist. */
async function describeAlarm(run: Run, alarmName: string): Promise<AlarmSeen | undefined> {
  const out = await run.deps.cloudwatch.send(
    new DescribeAlarmsCommand({ AlarmNames: [alarmName], AlarmTypes: ['MetricAlarm'] }),
  );
  const alarm = out.MetricAlarms?.[0];
  if (alarm === undefined) return undefined;
  return {
    state: alarm.StateValue,
    evaluationPeriods: alarm.EvaluationPeriods,
    periodSeconds: alarm.Period,
    metricPeriodsSeconds: (alarm.Metrics ?? [])
      .map((m) => m.MetricStat?.Period ?? m.Period)
      .filter((p): p is number => p !== undefined),
  };
}

/** Marks a deferral looked at; a person is paged when it is handed to one. Never throws. */
async function close(run: Run, deferral: Deferral, summary: string, pagePerson: boolean): Promise<void> {
  const { deps, env } = run;
  try {
    await closeDeferral(deps.dynamodb, env.ROLLBACK_TABLE, env.MODEL_NAME, deferral.sk, {
      at: deps.now(),
      summary,
    });
  } catch (error) {
    logger.warn('rollback: cannot mark the deferred rollback looked at; the next state change looks again', {
      problem: describe(error),
    });
  }
  if (pagePerson) {
    await page(run, {
      subject: pageSubjectOf(`Deferred rollback needs a person: ${env.MODEL_NAME}`),
      body: `After the release on ${env.LIVE_ENDPOINT} ended, ${summary}.`,
    });
  }
}

/** Waits between attempts of an autoscaling write refused for a transient reason (~7 s in all). */
const SETTLE_RETRY_DELAYS_MS = [1000, 2000, 4000];

/**
 * Runs `write`, again after a wait when it fails transiently (throttling, a server error, or a
 * pending update of the same scalable target: Application Auto Scaling's ConcurrentUpdateException,
 * see core/serving/transient-error.ts). The rollback has no next poll: settle runs once per
 * state-change event and the rollback once per alarm, so a transient refusal would otherwise leave
 * the live variant without autoscaling, or on the rolled-back version.
 */
async function withConcurrencyRetries<T>(
  sleep: (ms: number) => Promise<void>,
  write: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const delay = SETTLE_RETRY_DELAYS_MS[attempt];
      if (delay === undefined || !isTransientError(error)) throw error;
      logger.warn('rollback: settle write refused for a transient reason; trying again', {
        problem: describe(error),
        delayMs: delay,
      });
      await sleep(delay);
    }
  }
}

async function settleFailed(
  run: Run,
  options: { readonly page: boolean },
  problem: string,
): Promise<RollbackResult> {
  const { env } = run;
  const message =
    `After the rollback of ${env.MODEL_NAME}, the live endpoint ${env.LIVE_ENDPOINT} is in service, but ${problem}. ` +
    `Users may still be on the one-instance standby endpoint ${env.STANDBY_ENDPOINT}. Invoke this function again ` +
    'once the cause is fixed, or move the flag by hand (docs/operations.md, "Rolling back by hand").';
  logger.error(`rollback: ${message}`);
  const paged = options.page
    ? await page(run, {
        subject: pageSubjectOf(`Rollback ACTION NEEDED: ${env.MODEL_NAME} still on standby`),
        body: message,
      })
    : false;
  return { status: 'not-run', message, paged };
}

/** Record writes retried within the invocation's time (the finish margin included). */
function recordRetry(run: Run): RecordRetry {
  return {
    sleep: run.deps.sleep,
    now: run.deps.now,
    deadlineMs: run.leaseUntil.getTime() - RECORD_RETRY_RESERVE_MS,
    onRetry: (error, delayMs) =>
      logger.warn('rollback: S3 refused a record write for a transient reason; trying again', {
        problem: describe(error),
        delayMs,
      }),
  };
}

/**
 * Writes the records an earlier invocation could not (the ledger item's `pendingRecords`, from the
 * record the item holds), then clears them. Says what it did, or null when nothing was pending.
 * Never throws: what is still refused stays pending for the next invocation.
 */
async function writePendingRecords(run: Run, entry: LedgerEntry): Promise<string | null> {
  const { deps, env } = run;
  if (entry.pendingRecords.length === 0 || entry.record === null) return null;
  let body: string;
  try {
    body = json(JSON.parse(entry.record));
  } catch (error) {
    logger.error('rollback: the ledger holds a record that does not parse; pending writes left as they are', {
      sk: entry.sk,
      problem: describe(error),
    });
    return null;
  }
  try {
    for (const key of entry.pendingRecords) {
      await putRunRecord(deps.s3, env.ARTIFACTS_BUCKET, key, body, 'rollback record', recordRetry(run));
    }
    await clearPendingRecords(deps.dynamodb, env.ROLLBACK_TABLE, { model: env.MODEL_NAME, sk: entry.sk });
  } catch (error) {
    logger.error('rollback: the pending rollback record is still not written', { problem: describe(error) });
    return `The record of that rollback is still not in S3 (${describe(error)}); the next invocation tries again.`;
  }
  const written = entry.pendingRecords.map((k) => `s3://${env.ARTIFACTS_BUCKET}/${k}`).join(', ');
  logger.info(`rollback: wrote the pending record of an earlier rollback: ${written}`);
  return `The record that rollback could not write is written now: ${written}.`;
}

/** The newest rollback whose result is this live release: the standby is used up by it. */
async function rolledBackAlready(run: Run, live: ServedModel): Promise<LedgerEntry | undefined> {
  try {
    return await findRollbackTo(run.deps.dynamodb, run.env.ROLLBACK_TABLE, run.env.MODEL_NAME, live);
  } catch (error) {
    logger.warn('rollback: cannot query the rollback ledger; treating the missing standby as a refusal', {
      problem: describe(error),
    });
    return undefined;
  }
}

function duplicate(
  existing: LedgerEntry | undefined,
  what: string,
  pendingWritten: string | null = null,
): RollbackResult {
  const detail = existing
    ? ` (status "${existing.status}", ${existing.fromVersion} -> ${existing.toVersion}, started ${existing.startedAt} ` +
      `by ${existing.by}${existing.recordKey ? `, record ${existing.recordKey}` : ''})`
    : '';
  const message =
    `Duplicate: ${what}${detail}. Nothing was changed and on-call was not paged again: this is a second alarm ` +
    `for the same incident, or a concurrent invocation.${pendingWritten ? ` ${pendingWritten}` : ''}`;
  logger.info(`rollback: ${message}`);
  return { status: 'duplicate', message, existing };
}

async function refuse(
  run: Run,
  trigger: RollbackTrigger,
  plan: Extract<ReturnType<typeof planRollback>, { kind: 'nothing-to-return-to' }>,
): Promise<RollbackResult> {
  const { deps, env } = run;
  const record = buildRefusalRecord({
    model: env.MODEL_NAME,
    trigger,
    plan,
    liveEndpoint: env.LIVE_ENDPOINT,
    startedAt: run.startedAt,
    finishedAt: deps.now(),
  });
  const recordKey = artifactKeys.rollbackRecord(env.MODEL_NAME, run.startedAt.toISOString());
  const problems: string[] = [];
  try {
    await putRunRecord(
      deps.s3,
      env.ARTIFACTS_BUCKET,
      recordKey,
      json(record),
      'rollback record',
      recordRetry(run),
    );
  } catch (error) {
    problems.push(`The refusal record was not written: ${(error as Error).message}. It is in this page.`);
  }
  const paged = await page(run, rollbackPage(record, problems));
  logger.error(`rollback refused: ${record.summary}`, { recordKey, problems, paged });
  return { status: 'refused', message: record.summary, recordKey, paged };
}

interface FlagStep {
  readonly outcome: FlagOutcome;
  /** What was deployed, or what a person should deploy by hand. */
  readonly document: FlagDocument;
  /** Why the standby cannot be the bridge, when it cannot: the flag then follows the live endpoint. */
  readonly noBridge?: string;
}

/**
 * Points the flag at N-1 on the standby endpoint, unless the standby cannot take the traffic (then
 * users would get errors instead of answers). A concurrent writer's version is built upon; a
 * deployment in progress is stopped.
 */
async function deployRollbackFlag(
  run: Run,
  trigger: RollbackTrigger,
  to: StandbyModel,
  bridge: 'standby' | 'live',
): Promise<FlagStep> {
  const { deps, env, ids } = run;
  const build = (current: FlagDocument | null) =>
    rollbackFlagDocument({
      current,
      model: env.MODEL_NAME,
      toVersion: to.modelVersion,
      endpoint: bridge,
      by: trigger.by,
      at: deps.now(),
      fallbackExperiment: env.EXPERIMENT,
    });
  const label = flagLabel(ids);
  const [standby, currentRead] = await Promise.all([
    describeEndpoint(deps.sagemaker, env.STANDBY_ENDPOINT).then(
      (d): EndpointSeen | undefined => d && { status: d.EndpointStatus, configName: d.EndpointConfigName },
      (error: unknown) => {
        logger.warn('rollback: cannot describe the standby endpoint; trusting the serving state', {
          problem: describe(error),
        });
        return 'unknown' as const;
      },
    ),
    readCurrentFlag(deps.appconfig, ids).then(
      (current) => ({ current }),
      (error: unknown) => ({ error }),
    ),
  ]);
  // Without a bridge the flag names the live endpoint, which answers whatever its config.
  const readiness =
    bridge === 'live' ? ({ ready: true } as const) : standbyReadiness(standby, to, env.STANDBY_ENDPOINT);
  if ('error' in currentRead) {
    return {
      outcome: { outcome: 'failed', detail: `cannot read the ${label}: ${describe(currentRead.error)}` },
      document: build(null),
    };
  }
  let current = currentRead.current;
  if (!readiness.ready) {
    // Not deployed yet: the caller deploys the flag on the live endpoint once that one is updating.
    const liveDocument = rollbackFlagDocument({
      current: current?.document ?? null,
      model: env.MODEL_NAME,
      toVersion: to.modelVersion,
      endpoint: 'live',
      by: trigger.by,
      at: deps.now(),
      fallbackExperiment: env.EXPERIMENT,
    });
    return {
      outcome: {
        outcome: 'skipped',
        detail:
          `${readiness.why}, so it is no warm bridge; the flag was not pointed at it, and names ${to.modelVersion} on ` +
          `the live endpoint only once that endpoint is updating to ${to.modelVersion}'s config`,
      },
      document: liveDocument,
      noBridge: readiness.why,
    };
  }
  // Stored is not served: a hosted configuration version takes effect only once a deployment
  // delivers it (https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-deploying.html). An
  // earlier attempt may have stored this document and then failed to start its deployment, or had it
  // stopped; then the routers still read an older version, and it is deployed again below.
  if (
    current?.document &&
    flagServesEveryone(current.document, to.modelVersion, bridge) &&
    (await storedVersionDeployed(run, current.versionNumber))
  ) {
    return {
      outcome: { outcome: 'already', versionNumber: current.versionNumber },
      document: current.document,
    };
  }
  if (current?.problem)
    logger.warn('rollback: the current flag does not parse; replacing it', { problem: current.problem });

  const description = `rollback to ${to.modelVersion} (${trigger.by}: ${trigger.reason})`;
  for (let attempt = 1; ; attempt++) {
    const document = build(current?.document ?? null);
    try {
      // A rollback has no next poll: a StartDeployment refused for a transient reason is tried again
      // here (bounded), or the routers keep sending everyone to the version rolled back from until the
      // live endpoint's update ends, minutes later.
      const deployed = await deployFlag(deps.appconfig, ids, document, description, {
        latestVersionNumber: current?.versionNumber,
        whenDeploymentInProgress: 'stop',
        sleep: deps.sleep,
        transientRetryDelaysMs: ROLLBACK_FLAG_RETRY_DELAYS_MS,
      });
      return {
        outcome: {
          outcome: 'deployed',
          versionNumber: deployed.versionNumber,
          deploymentNumber: deployed.deploymentNumber,
          stoppedDeployments: deployed.stoppedDeployments.map((d) => d.deploymentNumber),
          at: deps.now(),
        },
        document,
      };
    } catch (error) {
      if (error instanceof FlagWriteConflict && attempt < FLAG_WRITE_ATTEMPTS) {
        logger.warn('rollback: another writer changed the flag meanwhile; rebuilding on top of it', {
          problem: error.message,
        });
        try {
          current = await readCurrentFlag(deps.appconfig, ids);
          continue;
        } catch (readError) {
          return {
            outcome: { outcome: 'failed', detail: `cannot read the ${label} again: ${describe(readError)}` },
            document,
          };
        }
      }
      return {
        outcome: { outcome: 'failed', detail: `cannot deploy the ${label}: ${describe(error)}` },
        document,
      };
    }
  }
}

/**
 * Whether the newest deployment of the flag's environment delivers `versionNumber`
 * (ListDeployments, newest first:
 * https://docs.aws.amazon.com/appconfig/2019-10-09/APIReference/API_ListDeployments.html). When
 * AppConfig cannot say, false: deploying the same document again is harmless, trusting an
 * undeployed one leaves users where they are.
 */
async function storedVersionDeployed(run: Run, versionNumber: number): Promise<boolean> {
  try {
    return await isVersionDeployed(run.deps.appconfig, run.ids, versionNumber);
  } catch (error) {
    logger.warn('rollback: cannot tell whether the stored flag was deployed; deploying it again', {
      problem: describe(error),
    });
    return false;
  }
}

/**
 * What the live endpoint serves when that is neither the serving state's live config nor its
 * rolled-back one (a release whose canary passed but which was never promoted), from the tags
 * every released model carries; null otherwise (a shadow config, whose production variant is the
 * state's live model, included), or when the endpoint cannot be read (then the serving state is
 * trusted, as before).
 */
async function unpromotedRelease(
  run: Run,
  state: ServingState,
  seen: Awaited<ReturnType<typeof describeEndpoint>> | 'unknown',
): Promise<ServedModel | null> {
  const { deps } = run;
  if (seen === 'unknown') return null;
  try {
    const config = seen?.EndpointConfigName;
    if (seen?.EndpointStatus !== 'InService' || config === undefined) return null;
    if (config === state.live.configName || config === state.standby?.liveConfigName) return null;
    const variant = (await describeEndpointConfig(deps.sagemaker, config)).ProductionVariants?.find(
      (v) => v.VariantName === LIVE_VARIANT,
    );
    const modelName = variant?.ModelName ?? 'unknown';
    // A shadow config keeps the state's live model as its production variant: that model is what
    // serves (a shadow answers no one), so nothing unpromoted does.
    if (modelName === state.live.modelName) return null;
    return await describeRelease(run, config, modelName);
  } catch (error) {
    logger.warn('rollback: cannot tell what the live endpoint serves; trusting the serving state', {
      problem: describe(error),
    });
    return null;
  }
}

/** The release a config on the live endpoint holds, from its model's tags. */
async function describeRelease(run: Run, config: string, modelName: string): Promise<ServedModel> {
  const tags = await modelTags(run.deps.sagemaker, modelName);
  return {
    endpointName: run.env.LIVE_ENDPOINT,
    configName: config,
    modelName,
    modelVersion: tags.ModelVersion ?? `unpromoted config ${config}`,
    executionId: tags.PipelineExecutionId ?? config,
  };
}

/**
 * The release a candidate's deployment is putting on the live endpoint. When SageMaker cannot say,
 * the config names it (the rollback still stops the deployment; its record is then kept under the
 * config's name, not beside the run).
 */
async function releaseOfConfig(run: Run, config: string): Promise<ServedModel> {
  try {
    const variant = (await describeEndpointConfig(run.deps.sagemaker, config)).ProductionVariants?.find(
      (v) => v.VariantName === LIVE_VARIANT,
    );
    return await describeRelease(run, config, variant?.ModelName ?? 'unknown');
  } catch (error) {
    logger.warn('rollback: cannot tell which release the deployment puts live; naming it by its config', {
      config,
      problem: describe(error),
    });
    return {
      endpointName: run.env.LIVE_ENDPOINT,
      configName: config,
      modelName: 'unknown',
      modelVersion: `unpromoted config ${config}`,
      executionId: config,
    };
  }
}

async function modelTags(sagemaker: Deps['sagemaker'], modelName: string): Promise<Record<string, string>> {
  const model = await sagemaker.send(new DescribeModelCommand({ ModelName: modelName }));
  const listed = await sagemaker.send(new ListTagsCommand({ ResourceArn: model.ModelArn }));
  return Object.fromEntries((listed.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** DescribeEndpoint of the live endpoint: undefined when it does not exist, 'unknown' when the call failed. */
async function describeLive(run: Run): Promise<Awaited<ReturnType<typeof describeEndpoint>> | 'unknown'> {
  try {
    return await describeEndpoint(run.deps.sagemaker, run.env.LIVE_ENDPOINT);
  } catch (error) {
    logger.warn('rollback: cannot tell what the live endpoint serves; trusting the serving state', {
      problem: describe(error),
    });
    return 'unknown';
  }
}

/** The serving state, or null when there is none. */
/**
 * Says why, when the live endpoint is in the middle of a blue/green update with auto-rollback
 * alarms (the canary stage's), else undefined. A describe failure is not a reason to wait.
 */
async function guardedReleaseInProgress(run: Run): Promise<string | undefined> {
  try {
    const d = await describeEndpoint(run.deps.sagemaker, run.env.LIVE_ENDPOINT);
    const busy = d?.EndpointStatus === 'Updating' || d?.EndpointStatus === 'RollingBack';
    const guarded = (d?.LastDeploymentConfig?.AutoRollbackConfiguration?.Alarms?.length ?? 0) > 0;
    return busy && guarded ? `status ${d?.EndpointStatus}` : undefined;
  } catch (error) {
    logger.warn('rollback: cannot tell whether a release is in progress; rolling back', {
      problem: describe(error),
    });
    return undefined;
  }
}

async function readServingState(
  s3: S3Client,
  bucket: string,
  key: string,
  url: string,
): Promise<ServingState | null> {
  let text: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await res.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return null;
    throw new Error(`cannot read ${url}: ${describe(error)}`, { cause: error });
  }
  return parseServingRecord(servingStateSchema, text, url);
}

/** Publishes the page; false (and an ERROR log line a metric filter can count) when SNS refuses. */
async function page(run: Run, message: Page): Promise<boolean> {
  try {
    await run.deps.sns.send(
      new PublishCommand({
        TopicArn: run.env.PAGING_TOPIC_ARN,
        Subject: message.subject,
        Message: message.body,
      }),
    );
    return true;
  } catch (error) {
    logger.error('rollback: PAGING FAILED: on-call was not told; the page follows', {
      problem: describe(error),
      subject: message.subject,
      body: message.body,
    });
    return false;
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
