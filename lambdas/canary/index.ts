/**
 * Canary release (CodePipeline Lambda invoke action, release pipeline, after the shadow stage).
 *
 * The first invocation puts the candidate on the live endpoint: a blue/green `UpdateEndpoint`
 * with canary traffic routing and auto-rollback alarms or, when no live endpoint exists yet, a
 * first release that creates it (nothing to protect, so no canary). It returns a continuation
 * token, and each re-invocation reads the endpoint and the alarms back (core/serving/canary.ts decides).
 * The stage passes only when the candidate's config is in service: SageMaker can roll back and
 * report InService as if nothing happened. On a pass it registers the live variant's autoscaling,
 * writes the canary record that promotion reads, and commits the serving state (./commit.ts).
 *
 * Before it touches a live endpoint, it refreshes the standby endpoint with the model that serves
 * now (./standby.ts), so that from the moment the candidate serves, the version before it is warm
 * for a rollback: there is no window between Canary and Promotion in which the records, the flag
 * or the standby still describe the release before.
 */
import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateEndpointCommand,
  UpdateEndpointCommand,
  type DescribeEndpointCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { AppConfigClient } from '@aws-sdk/client-appconfig';
import type { Context } from 'aws-lambda';
import { artifactKeys, type ReleaseSettings } from '../core/contracts/release-settings';
import { confidenceAlarmName } from '../core/contracts/metric-names';
import {
  canaryGuardrails,
  canaryStep,
  CanaryTokenError,
  decodeCanaryToken,
  deploymentAlarms,
  encodeCanaryToken,
  type AlarmStatus,
  type CanaryState,
} from '../core/serving/canary';
import {
  canaryDeploymentConfig,
  createModelSpec,
  KEEP_FLEET_SIZE,
  KEEP_FLEET_SIZE_CLI,
  liveConfigSpec,
  liveFleetSize,
  LIVE_VARIANT,
  releaseNames,
  scalableTargetSpec,
  scalingPolicySpec,
  type ReleaseNames,
  type ServingContext,
  type ServingSettings,
} from '../core/serving/endpoint-spec';
import {
  canaryRecordSchema,
  modelArtifactRecordSchema,
  SERVING_RECORD_SCHEMA_VERSION,
  servingStateSchema,
  parseServingRecord,
  type CanaryRecord,
  type ModelArtifactRecord,
  type ServingState,
} from '../core/serving/serving-records';
import { parseJobEvent, runParamsSchema, type RunParams } from '../shared/codepipeline-job';
import { runJob, type JobOutcome } from '../shared/job-result';
import { logger } from '../shared/logger';
import { putRunRecord } from '../shared/run-records';
import {
  describeEndpoint,
  describeEndpointConfig,
  ensureEndpointConfig,
  ensureModel,
  publishedArchiveProblem,
  readJsonRecord,
  rollbackAlarmNames,
  servingContext,
  servingDeps,
  servingEnv,
  type ServingDeps,
} from '../shared/serving';
import { loadReleaseSettings } from '../shared/settings';
import {
  endpointBusyMessage,
  endpointGoneMessage,
  firstReleaseFailure,
  firstReleaseSummary,
  liveButIncompleteMessage,
  noLiveVariantMessage,
  waitSummary,
  type ReleaseAttempt,
} from './messages';
import { CommitIncomplete, commitServing } from './commit';
import { readOptionalText } from '../promotion/records';
import { restoreStandby, standbyBeforeCanary, standbyHoldsModelOf } from './standby';
import { moveFlag } from './revert';
import { promotionLiveEnv } from '../promotion/live-model';
import { lazy } from '../shared/lazy';
import { isTransientError } from '../core/serving/transient-error';

/** Everything external the handler touches, injectable in tests: the serving clients, and AppConfig for the flag. */
export type Deps = ServingDeps & { readonly appconfig: AppConfigClient };

type UpdateEndpointInput = ConstructorParameters<typeof UpdateEndpointCommand>[0];

/**
 * How long the stage waits past `serving.canary.maxExecutionTimeoutMinutes` before it gives up.
 * SageMaker enforces that limit on the blue/green update itself and then rolls back, which takes
 * minutes more; the margin lets the stage report SageMaker's own verdict (a rollback, with the
 * alarms) instead of a timeout. A first release has no SageMaker limit: creating a GPU endpoint
 * usually takes 10-20 minutes, far inside the limit plus the margin.
 */
export const TIMEOUT_MARGIN_MINUTES = 30;

/** The stage's limit on one release attempt, in seconds. */
export function canaryLimitSeconds(serving: ServingSettings): number {
  return (serving.canary.maxExecutionTimeoutMinutes + TIMEOUT_MARGIN_MINUTES) * 60;
}

/** The `PreviousConfig` output variable of a first release: CodePipeline variables are strings. */
export const NO_PREVIOUS_CONFIG = 'none';

/** What one invocation works with. */
interface Run {
  readonly deps: Deps;
  readonly params: RunParams;
  readonly settings: ReleaseSettings;
  readonly ctx: ServingContext;
  readonly names: ReleaseNames;
  /** SERVING_NAME_PREFIX, which `names` was made from. */
  readonly namePrefix: string;
  readonly bucket: string;
  readonly endpointName: string;
  readonly standbyEndpoint: string;
  readonly alarmNames: readonly string[];
  /** The live confidence alarm (one of `alarmNames`). */
  readonly confidenceAlarm: string;
}

/** A standby refresh before the canary, under way (from the continuation token). */
interface StandbyWait {
  readonly startedAtMs: number;
  readonly polls: number;
}

/** The handler, over the given clients and clock. */
export function createHandler(deps: Deps) {
  return async (event: unknown, context?: Context): Promise<JobOutcome> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    return runJob(deps.codepipeline, event, async () => {
      const job = parseJobEvent(event, runParamsSchema);
      logger.appendKeys({ executionId: job.params.executionId, jobId: job.id });
      const env = servingEnv();
      const settings = await loadReleaseSettings(deps.ssm, env.RELEASE_SETTINGS_PARAMETER);
      const run: Run = {
        deps,
        params: job.params,
        settings,
        ctx: servingContext(env),
        names: releaseNames(env.SERVING_NAME_PREFIX, job.params.executionId),
        namePrefix: env.SERVING_NAME_PREFIX,
        bucket: env.ARTIFACTS_BUCKET,
        endpointName: env.LIVE_ENDPOINT,
        standbyEndpoint: env.STANDBY_ENDPOINT,
        alarmNames: rollbackAlarmNames(env),
        confidenceAlarm: confidenceAlarmName(env.SERVING_NAME_PREFIX),
      };
      return job.continuationToken === undefined ? start(run) : poll(run, job.continuationToken);
    });
  };
}

// ---------------------------------------------------------------------------------------------
// First invocation
// ---------------------------------------------------------------------------------------------

async function start(run: Run, standbyWait?: StandbyWait): Promise<JobOutcome> {
  const { model } = run.settings;
  const { executionId, commitId } = run.params;
  // A retried canary of a release that was rolled back would send users back to it.
  const rollbackKey = artifactKeys.runRollback(model, executionId);
  if (await objectExists(run, rollbackKey)) {
    return failed(
      `Canary refused: this release was rolled back (s3://${run.bucket}/${rollbackKey}); releasing it again would ` +
        'send users back to the version rolled back from. Nothing was changed on the live endpoint. Release a fixed ' +
        'model through a new pipeline execution.',
    );
  }
  const artifact = await readJsonRecord(
    run.deps,
    run.bucket,
    artifactKeys.modelArtifact(model, executionId),
    modelArtifactRecordSchema,
    'the PublishModel stage of this run did not publish the model archive; only the release pipeline ' +
      'publishes one (a PR run never does). Nothing was changed on the live endpoint: check the ' +
      "PublishModel stage's message, then rerun the release.",
  );
  if (artifact.commitId !== commitId) {
    return failed(
      `Canary not started: the model archive of this run (${artifact.modelDataUrl}) was built from commit ` +
        `${artifact.commitId}, but this run releases commit ${commitId}. Nothing was changed on the live ` +
        'endpoint: rerun the release from the start so that evaluation and release use the same commit.',
    );
  }

  // What SageMaker will download, on this release and on every later scale-out, must be the
  // archive that was evaluated: checked before any model is created.
  const archiveProblem = await publishedArchiveProblem(run.deps, run.bucket, model, artifact);
  if (archiveProblem !== null) {
    return failed(`Canary not started: ${archiveProblem}. Nothing was changed on the live endpoint.`);
  }

  const live = await describeEndpoint(run.deps.sagemaker, run.endpointName);
  if (live === undefined) return startFirstRelease(run, artifact);
  if (live.EndpointStatus !== 'InService') return failed(endpointBusyMessage(run.endpointName, live));
  if (live.EndpointConfigName === run.names.liveConfig) return finishAlreadyLive(run, live);
  return startCanary(run, artifact, live, standbyWait);
}

async function objectExists(run: Run, key: string): Promise<boolean> {
  return (await readOptionalText(run.deps.s3, run.bucket, key)) !== undefined;
}

async function ensureCandidateModel(run: Run, artifact: ModelArtifactRecord): Promise<void> {
  const spec = createModelSpec(run.ctx, {
    modelName: run.names.model,
    modelDataUrl: artifact.modelDataUrl,
    modelVersion: run.params.commitId,
    executionId: run.params.executionId,
  });
  const result = await ensureModel(run.deps.sagemaker, spec);
  logger.info('candidate model', { model: run.names.model, result });
}

async function ensureCandidateConfig(run: Run, instanceCount: number): Promise<void> {
  const spec = liveConfigSpec(run.ctx, run.settings.serving, {
    configName: run.names.liveConfig,
    modelName: run.names.model,
    instanceCount,
    endpointName: run.endpointName,
  });
  const result = await ensureEndpointConfig(run.deps.sagemaker, spec);
  logger.info('candidate endpoint config', { config: run.names.liveConfig, result });
}

/** No live endpoint yet: create it with the candidate. There is nothing to protect, so no canary. */
async function startFirstRelease(run: Run, artifact: ModelArtifactRecord): Promise<JobOutcome> {
  const { serving, model } = run.settings;
  const fleet = liveFleetSize(serving, undefined);
  await ensureCandidateModel(run, artifact);
  await ensureCandidateConfig(run, fleet);
  await run.deps.sagemaker.send(
    new CreateEndpointCommand({
      EndpointName: run.endpointName,
      EndpointConfigName: run.names.liveConfig,
      Tags: [{ Key: 'Model', Value: model }],
    }),
  );
  logger.info('first release: live endpoint created', { endpoint: run.endpointName });
  const token = encodeCanaryToken({
    endpointName: run.endpointName,
    expectedConfigName: run.names.liveConfig,
    previousConfigName: null,
    startedAtMs: run.deps.now().getTime(),
    polls: 0,
    alarmsSeen: [],
  });
  return inProgress(
    token,
    `First release of ${model}: creating the live endpoint "${run.endpointName}" with config ` +
      `"${run.names.liveConfig}" (model "${run.names.model}", version ${run.params.commitId}, ` +
      `${fleet} × ${serving.instanceType}). No canary is possible: nothing serves yet, so there is nothing ` +
      'to protect. The stage passes once the endpoint is InService with this config.',
  );
}

/** A live endpoint serves the previous model: blue/green update with canary routing and auto-rollback. */
async function startCanary(
  run: Run,
  artifact: ModelArtifactRecord,
  live: DescribeEndpointCommandOutput,
  standbyWait: StandbyWait | undefined,
): Promise<JobOutcome> {
  const { serving } = run.settings;
  const variant = live.ProductionVariants?.find((v) => v.VariantName === LIVE_VARIANT);
  const previous = live.EndpointConfigName;
  if (variant === undefined || previous === undefined) {
    return failed(noLiveVariantMessage(run.endpointName, live, LIVE_VARIANT));
  }
  const fleet = liveFleetSize(serving, variant.CurrentInstanceCount);
  const guardrails = canaryGuardrails(run.alarmNames, await readAlarms(run), run.confidenceAlarm);
  // Computed before anything is created: it refuses a fleet too small for a canary.
  const deployment = canaryDeploymentConfig(serving, { fleet, alarmNames: guardrails.guard });
  // An alarm that is already in ALARM would roll the canary back whatever the candidate does, and
  // silently so for every later release while it stays there: refuse, naming it.
  const alarming = guardrails.blocking.map((a) => `"${a}"`);
  if (alarming.length > 0) {
    const one = alarming.length === 1;
    return failed(
      `Canary not started: its guardrail alarm${one ? '' : 's'} ${alarming.join(', ')} ${one ? 'is' : 'are'} already in ` +
        `ALARM, so SageMaker would roll the candidate back whatever it does. Nothing was changed on "${run.endpointName}". ` +
        `Find out why the live model trips ${one ? 'it' : 'them'} (docs/operations.md, "Alarms"), and retry the stage once ` +
        `${one ? 'it is' : 'they are'} OK.`,
    );
  }

  // The model that serves now goes warm onto the standby first: the moment the candidate serves,
  // a rollback returns to it at once.
  const standby = await standbyBeforeCanary({
    deps: run.deps,
    ctx: run.ctx,
    serving,
    names: run.names,
    namePrefix: run.namePrefix,
    executionId: run.params.executionId,
    model: run.settings.model,
    liveEndpoint: run.endpointName,
    standbyEndpoint: run.standbyEndpoint,
    liveConfig: previous,
    waitedSeconds:
      standbyWait === undefined
        ? undefined
        : Math.max(0, (run.deps.now().getTime() - standbyWait.startedAtMs) / 1000),
  });
  if (standby.kind === 'fail') return failed(standby.message);
  if (standby.kind === 'wait') {
    const token = encodeCanaryToken({
      endpointName: run.endpointName,
      expectedConfigName: run.names.liveConfig,
      previousConfigName: previous,
      startedAtMs: standbyWait?.startedAtMs ?? run.deps.now().getTime(),
      polls: (standbyWait?.polls ?? 0) + 1,
      alarmsSeen: [],
      standbyRefresh: true,
    });
    return inProgress(token, standby.summary);
  }

  await ensureCandidateModel(run, artifact);
  await ensureCandidateConfig(run, fleet);

  const notes: string[] = guardrails.leftOut.map(
    (a) =>
      `The confidence alarm "${a}" was already in ALARM on the traffic of the version that serves ("${previous}"), ` +
      "so it is left out of this canary's guardrails: the router's confidence metrics do not say which version " +
      'answered, and it would roll back any candidate at once. The other alarms guard the canary; promotion ' +
      're-baselines the confidence alarm for the candidate.',
  );
  const currentType = await liveInstanceType(run, previous);
  const typeChanges = currentType !== serving.instanceType;
  if (typeChanges) {
    // Application Auto Scaling refuses an update that changes the instance type of a registered variant.
    await deregisterAutoscaling(run);
    notes.push(
      `Autoscaling of the live variant was deregistered first: the instance type changes from ` +
        `${currentType ?? 'unknown'} to ${serving.instanceType}, and SageMaker refuses such an update while ` +
        `autoscaling is registered; the fleet stays at ${fleet} instances until the stage passes and registers it again.`,
    );
  }

  const startedAtMs = run.deps.now().getTime();
  try {
    await run.deps.sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: run.endpointName,
        EndpointConfigName: run.names.liveConfig,
        DeploymentConfig: structuredClone(deployment) as UpdateEndpointInput['DeploymentConfig'],
      }),
    );
  } catch (error) {
    const e = error as Error;
    // No update happened, so the variant keeps its instance type: its autoscaling goes back at once
    // (it was deregistered only because SageMaker refuses an instance type change of a registered
    // variant: https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). Left
    // off, the fleet would not scale until some later canary passed.
    const autoscaling = typeChanges ? await reRegisterAutoscaling(run) : '';
    const restored = await restoreStandby(run.deps, run.standbyEndpoint, await storedServingState(run));
    return failed(
      `Canary not started: SageMaker refused the update of "${run.endpointName}" to config ` +
        `"${run.names.liveConfig}": ${e.name}: ${e.message.replace(/\.$/, '')}. The live endpoint still serves "${previous}" ` +
        'unchanged' +
        autoscaling +
        '. Fix the cause (the auto-rollback alarms must exist; the configs must keep the variant names) and retry the stage.' +
        restored,
    );
  }
  logger.info('canary update started', { endpoint: run.endpointName, from: previous, fleet });

  const token = encodeCanaryToken({
    endpointName: run.endpointName,
    expectedConfigName: run.names.liveConfig,
    previousConfigName: previous,
    startedAtMs,
    polls: 0,
    alarmsSeen: [],
  });
  const policy = deployment.BlueGreenUpdatePolicy;
  const routing = policy.TrafficRoutingConfiguration;
  return inProgress(
    token,
    [
      `Canary started on the live endpoint "${run.endpointName}": blue/green update from config "${previous}" ` +
        `to "${run.names.liveConfig}" (model "${run.names.model}", version ${run.params.commitId}, ` +
        `${fleet} × ${serving.instanceType}); canary ${routing.CanarySize.Value} instance(s) for ` +
        `${routing.WaitIntervalInSeconds / 60} min, then the rest, old fleet kept ${policy.TerminationWaitInSeconds / 60} min; ` +
        `auto-rollback on ${guardrails.guard.map((n) => `"${n}"`).join(', ')}; SageMaker gives up after ` +
        `${policy.MaximumExecutionTimeoutInSeconds / 60} min.`,
      ...notes,
      ...(standby.note === null ? [] : [standby.note]),
    ].join('\n'),
  );
}

/** The instance type of the `live` variant in the config that serves now. */
async function liveInstanceType(run: Run, configName: string): Promise<string | undefined> {
  try {
    const config = await describeEndpointConfig(run.deps.sagemaker, configName);
    return config.ProductionVariants?.find((v) => v.VariantName === LIVE_VARIANT)?.InstanceType;
  } catch (error) {
    const e = error as Error;
    throw new Error(
      `cannot read the live endpoint's current config "${configName}" (needed to compare instance types ` +
        `before the update): ${e.name}: ${e.message}. Nothing was changed on the live endpoint; retry the stage.`,
      { cause: error },
    );
  }
}

/** Registers the live variant's scalable target and its target-tracking policy from the model's config. */
async function registerAutoscaling(run: Run): Promise<void> {
  const { serving } = run.settings;
  await run.deps.autoscaling.send(
    new RegisterScalableTargetCommand(scalableTargetSpec(serving, run.endpointName)),
  );
  await run.deps.autoscaling.send(new PutScalingPolicyCommand(scalingPolicySpec(serving, run.endpointName)));
}

/**
 * After an instance type change was refused: autoscaling of the unchanged live variant, registered
 * again. Returns the clause the failure message adds: what happened to it, and what to do if it
 * could not be registered.
 */
async function reRegisterAutoscaling(run: Run): Promise<string> {
  try {
    await registerAutoscaling(run);
    logger.info('autoscaling registered again after the refused instance type change', {
      endpoint: run.endpointName,
    });
    return '; autoscaling of its live variant, deregistered for the instance type change, was registered again';
  } catch (error) {
    const e = error as Error;
    const target = scalableTargetSpec(run.settings.serving, run.endpointName);
    return (
      `, but autoscaling of its live variant was deregistered for the instance type change and could not be registered ` +
      `again (${e.name}: ${e.message.replace(/\.$/, '')}): the fleet keeps its size but does not scale. Retrying the stage ` +
      'registers it when the canary passes; without a release: aws application-autoscaling register-scalable-target ' +
      `--service-namespace ${target.ServiceNamespace} --resource-id ${target.ResourceId} --scalable-dimension ` +
      `${target.ScalableDimension} --min-capacity ${target.MinCapacity} --max-capacity ${target.MaxCapacity}, then ` +
      `its target-tracking policy "${scalingPolicySpec(run.settings.serving, run.endpointName).PolicyName}" with put-scaling-policy`
    );
  }
}

/** Removes the live variant's scaling policy and target; absent ones are fine (idempotent). */
async function deregisterAutoscaling(run: Run): Promise<void> {
  const policy = scalingPolicySpec(run.settings.serving, run.endpointName);
  const target = {
    ServiceNamespace: policy.ServiceNamespace,
    ResourceId: policy.ResourceId,
    ScalableDimension: policy.ScalableDimension,
  };
  const ignoreAbsent = (error: unknown) => {
    if ((error as Error).name !== 'ObjectNotFoundException') throw error;
  };
  await run.deps.autoscaling
    .send(new DeleteScalingPolicyCommand({ ...target, PolicyName: policy.PolicyName }))
    .catch(ignoreAbsent);
  await run.deps.autoscaling.send(new DeregisterScalableTargetCommand(target)).catch(ignoreAbsent);
  logger.info('autoscaling deregistered before an instance type change', { resource: target.ResourceId });
}

// ---------------------------------------------------------------------------------------------
// Re-invocations
// ---------------------------------------------------------------------------------------------

async function poll(run: Run, token: string): Promise<JobOutcome> {
  let state: CanaryState;
  try {
    state = decodeCanaryToken(token);
  } catch (error) {
    if (!(error instanceof CanaryTokenError)) throw error;
    return failed(`${error.message} This invocation changed nothing on the live endpoint.`);
  }
  if (state.endpointName !== run.endpointName || state.expectedConfigName !== run.names.liveConfig) {
    return failed(
      `The continuation token is for config "${state.expectedConfigName}" on endpoint "${state.endpointName}", ` +
        `but this run releases "${run.names.liveConfig}" on "${run.endpointName}"; the token was not written ` +
        'for this run. This invocation changed nothing on the live endpoint. Retry the stage.',
    );
  }
  // Still refreshing the standby: the first invocation's checks again, then the update once it is ready.
  if (state.standbyRefresh) return start(run, { startedAtMs: state.startedAtMs, polls: state.polls });
  if (state.reverting) return pollReverting(run, state);
  const attempt: ReleaseAttempt = {
    endpointName: state.endpointName,
    candidateConfig: state.expectedConfigName,
    previousConfig: state.previousConfigName,
  };

  const live = await describeEndpoint(run.deps.sagemaker, run.endpointName);
  if (live === undefined) return finishFailed(run, state, undefined, endpointGoneMessage(attempt));
  const alarms = await readAlarms(run, deploymentAlarms(live, run.alarmNames));
  const elapsedSeconds = Math.max(0, (run.deps.now().getTime() - state.startedAtMs) / 1000);
  const step = canaryStep(
    state.expectedConfigName,
    live,
    alarms,
    elapsedSeconds,
    canaryLimitSeconds(run.settings.serving),
    { alarmsSeen: state.alarmsSeen, guarded: state.previousConfigName !== null },
  );
  logger.info('canary poll', { polls: state.polls + 1, status: live.EndpointStatus, step: step.kind });

  // A person rolled this release back while its deployment ran (the rollback stops the deployment
  // through an auto-rollback alarm, and writes its record beside this run): the candidate does not
  // pass, even when the deployment finished before SageMaker saw the alarm, and the stage says why.
  const rollback =
    step.kind !== 'wait' && state.previousConfigName !== null ? await rollbackOfThisRun(run) : undefined;
  // Unreadable now (S3 throttled or unavailable): a pass waits for the next poll, within the limit,
  // rather than release a candidate someone may have rolled back; a failure fails as it is.
  if (rollback === UNREADABLE && step.kind === 'pass') {
    const elapsedNow = Math.max(0, (run.deps.now().getTime() - state.startedAtMs) / 1000);
    if (elapsedNow <= canaryLimitSeconds(run.settings.serving)) {
      const polls = state.polls + 1;
      const next = encodeCanaryToken({ ...state, polls, alarmsSeen: step.alarmsSeen });
      return inProgress(
        next,
        `The candidate config "${state.expectedConfigName}" is in service, but whether this release was rolled back ` +
          `could not be read (s3://${run.bucket}/${artifactKeys.runRollback(run.settings.model, run.params.executionId)}); ` +
          'the stage looks again at its next poll before it passes.',
      );
    }
  }
  if (rollback !== undefined && rollback !== UNREADABLE && step.kind !== 'wait') {
    const message =
      `Canary failed: this release was rolled back while its deployment ran (${rollback}), so the candidate ` +
      `config "${state.expectedConfigName}" is not released. ` +
      (step.kind === 'fail'
        ? step.message.replace(/^Canary failed: /, 'SageMaker: ')
        : `SageMaker: ${step.summary}`);
    const failedState = { ...state, alarmsSeen: step.alarmsSeen };
    return live.EndpointStatus === 'InService' && live.EndpointConfigName === state.expectedConfigName
      ? revertCandidate(run, failedState, live, message)
      : finishFailed(run, failedState, live, message);
  }

  switch (step.kind) {
    case 'wait': {
      const polls = state.polls + 1;
      const next = encodeCanaryToken({ ...state, polls, alarmsSeen: step.alarmsSeen });
      return inProgress(next, waitSummary(attempt, step.reason, polls));
    }
    case 'pass':
      return finishLive(run, {
        polls: state.polls,
        previousConfig: state.previousConfigName,
        startedAtMs: state.startedAtMs,
        alarmsSeen: step.alarmsSeen,
        summary: state.previousConfigName === null ? firstReleaseSummary(attempt, live) : step.summary,
      });
    case 'fail': {
      const message =
        state.previousConfigName === null ? firstReleaseFailure(attempt, live, step) : step.message;
      const failedState = { ...state, alarmsSeen: step.alarmsSeen };
      return state.previousConfigName !== null &&
        live.EndpointStatus === 'InService' &&
        live.EndpointConfigName === state.expectedConfigName
        ? revertCandidate(run, failedState, live, message)
        : finishFailed(run, failedState, live, message);
    }
  }
}

/**
 * The candidate serves but does not pass: its previous config goes back onto the live endpoint, a
 * blue/green update of several minutes during which the live endpoint still answers with the
 * candidate. When the standby holds the version before warm (the stage put it there before the
 * canary), the flag sends that version's users to the standby meanwhile, and the stage finishes at a
 * later poll (pollReverting), once the live endpoint serves the previous config again. Without a
 * warm standby it fails at once, as the candidate is all there is to answer until then.
 */
async function revertCandidate(
  run: Run,
  state: CanaryState,
  live: DescribeEndpointCommandOutput,
  message: string,
): Promise<JobOutcome> {
  const previous = state.previousConfigName!;
  const back = await putPreviousConfigBack(run, previous);
  if (!back.ok) return finishFailed(run, state, live, message + back.text);
  const version = await versionOfConfig(run, previous);
  if (version === undefined || !(await standbyHoldsModelOf(run.deps, run.standbyEndpoint, previous))) {
    return finishFailed(run, state, live, message + back.text);
  }
  const bridge = await bridgeFlag(run, version, 'standby');
  if (bridge.kind === 'left')
    return finishFailed(run, state, live, `${message}${back.text} Meanwhile ${bridge.text}.`);
  const next = encodeCanaryToken({ ...state, polls: state.polls + 1, reverting: true });
  return inProgress(
    next,
    `${message}${back.text} Meanwhile ${bridge.text}. The stage fails once "${run.endpointName}" serves ` +
      `"${previous}" again, and then points the flag back at it.`,
  );
}

/**
 * A poll while the live endpoint goes back to the previous config (revertCandidate). Once it serves
 * that config, the flag goes back to the live endpoint (the rollback's settle may have done it
 * already: then nothing changes) and the stage fails as a failed canary does (finishFailed restores
 * the standby and writes the record). Every step is idempotent; the wait is bounded by the stage's limit.
 */
async function pollReverting(run: Run, state: CanaryState): Promise<JobOutcome> {
  const previous = state.previousConfigName;
  const failure = await revertedFailure(run, state);
  if (previous === null) return finishFailed(run, state, undefined, failure);
  const live = await describeEndpoint(run.deps.sagemaker, run.endpointName);
  const elapsedSeconds = Math.max(0, (run.deps.now().getTime() - state.startedAtMs) / 1000);
  const withinLimit = elapsedSeconds <= canaryLimitSeconds(run.settings.serving);
  const version = await versionOfConfig(run, previous);
  const wait = (what: string): JobOutcome =>
    inProgress(
      encodeCanaryToken({ ...state, polls: state.polls + 1 }),
      `${failure} The live endpoint "${run.endpointName}" goes back to "${previous}": ${what}.`,
    );

  if (live?.EndpointStatus === 'InService' && live.EndpointConfigName === previous) {
    let flag = 'the flag was left as it is (the version before is not in the serving state)';
    if (version !== undefined) {
      try {
        flag = (await bridgeFlagOrThrow(run, version, 'live')).text;
      } catch (error) {
        if (withinLimit)
          return wait(
            `it serves it again, but the flag could not be moved back yet (${describeError(error)}); the stage tries again at its next poll`,
          );
        flag = `the flag could not be moved back to the live endpoint (${describeError(error)}): run the rollback function's settle, or point the flag at ${version} on the live endpoint`;
      }
    }
    return finishFailed(
      run,
      state,
      live,
      `${failure} "${run.endpointName}" serves "${previous}" again; ${flag}.`,
    );
  }
  let putBack = '';
  if (live?.EndpointStatus === 'InService' && live.EndpointConfigName === state.expectedConfigName) {
    // The update back did not happen (refused, or rolled back): asked again, idempotently.
    const back = await putPreviousConfigBack(run, previous);
    if (!back.ok) return finishStuck(run, state, live, failure + back.text, version);
    putBack = back.text;
  } else if (
    live === undefined ||
    !['Updating', 'SystemUpdating', 'RollingBack'].includes(live.EndpointStatus ?? '')
  ) {
    return finishStuck(
      run,
      state,
      live,
      `${failure} The live endpoint "${run.endpointName}" did not get back to "${previous}": it is ` +
        `${live === undefined ? 'gone' : `${live.EndpointStatus ?? 'unknown'} on config "${live.EndpointConfigName ?? 'unknown'}"`}.`,
      version,
    );
  }
  if (!withinLimit) {
    return finishStuck(
      run,
      state,
      live,
      `${failure} The live endpoint "${run.endpointName}" is still ${live.EndpointStatus} on its way back to "${previous}" ` +
        `after the stage's limit of ${canaryLimitSeconds(run.settings.serving) / 60} min.`,
      version,
    );
  }
  // The bridge again, in case the first attempt could not write it (idempotent: a flag already on the
  // standby, or owned by another writer, is left as it is).
  const bridge =
    version !== undefined && (await standbyHoldsModelOf(run.deps, run.standbyEndpoint, previous))
      ? await bridgeFlag(run, version, 'standby')
      : undefined;
  return wait(
    `${putBack ? `${putBack.trim()} ` : ''}${live.EndpointStatus}${bridge ? `; ${bridge.text}` : ''}`,
  );
}

/** The failure message of a reverted candidate, rebuilt from the token and the run's rollback record. */
async function revertedFailure(run: Run, state: CanaryState): Promise<string> {
  const rollback = await rollbackOfThisRun(run);
  const candidate = `the candidate config "${state.expectedConfigName}"`;
  if (typeof rollback === 'string') {
    return (
      `Canary failed: this release was rolled back while its deployment ran (${rollback}), so ${candidate} is not ` +
      `released; it served on "${run.endpointName}".`
    );
  }
  const cause =
    state.alarmsSeen.length > 0
      ? `${state.alarmsSeen.map((a) => `"${a}"`).join(', ')} went off while ${candidate} served on "${run.endpointName}"`
      : `${candidate} served on "${run.endpointName}" but did not pass its checks`;
  return `Canary failed: ${cause}, so it is not released.`;
}

/**
 * The live endpoint did not get back to the previous config: the stage fails without restoring the
 * standby, which keeps the version before warm for the users the flag sends there.
 */
async function finishStuck(
  run: Run,
  state: CanaryState,
  live: DescribeEndpointCommandOutput | undefined,
  message: string,
  version: string | undefined,
): Promise<JobOutcome> {
  return finishFailed(
    run,
    state,
    live,
    `${message} The standby endpoint "${run.standbyEndpoint}" keeps ${version ?? 'the version before'} warm, and the ` +
      `flag keeps sending its users there. Run the rollback function (docs/operations.md, "Rollback"), or put ` +
      `"${state.previousConfigName}" back on "${run.endpointName}" by hand and then point the flag at the live endpoint.`,
    { keepStandby: true },
  );
}

/** The model version of `configName` when the serving state names it live (the version before the candidate). */
async function versionOfConfig(run: Run, configName: string): Promise<string | undefined> {
  const stored = await storedServingState(run).catch(() => undefined);
  return stored?.live.configName === configName ? stored.live.modelVersion : undefined;
}

/** Moves the flag's version between the endpoints (./revert.ts); throws what the flag writer throws. */
async function bridgeFlagOrThrow(run: Run, version: string, to: 'standby' | 'live') {
  return moveFlag(run.deps.appconfig, promotionLiveEnv(), {
    model: run.settings.model,
    modelVersion: version,
    executionId: run.params.executionId,
    now: run.deps.now(),
    from: to === 'standby' ? 'live' : 'standby',
    to,
  });
}

/**
 * bridgeFlagOrThrow, where a failure is said, not thrown: the stage is reverting anyway and tries
 * again at its next poll. A FlagWriteConflict means another writer (a person's rollback) stored a
 * version meanwhile: the next poll reads it, and leaves it when it names something else.
 */
async function bridgeFlag(
  run: Run,
  version: string,
  to: 'standby' | 'live',
): Promise<{ readonly kind: 'moved' | 'already' | 'left' | 'retry'; readonly text: string }> {
  try {
    return await bridgeFlagOrThrow(run, version, to);
  } catch (error) {
    logger.warn('canary: cannot move the flag', { to, problem: describeError(error) });
    return {
      kind: 'retry',
      text: `the flag could not be moved to the ${to} endpoint yet (${describeError(error)}); the stage tries again at its next poll`,
    };
  }
}

function describeError(error: unknown): string {
  const e = error as Error;
  return `${e.name}: ${e.message}`;
}

/**
 * The candidate serves but did not pass: the previous config goes back, keeping the fleet's size.
 * Returns the sentence that says what happened.
 */
async function putPreviousConfigBack(
  run: Run,
  previous: string,
): Promise<{ readonly ok: boolean; readonly text: string }> {
  try {
    await run.deps.sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: run.endpointName,
        EndpointConfigName: previous,
        ...KEEP_FLEET_SIZE,
      }),
    );
    return {
      ok: true,
      text:
        ` The stage put the previous config "${previous}" back on "${run.endpointName}" (UpdateEndpoint accepted; ` +
        'it takes several minutes, the candidate serves until then).',
    };
  } catch (error) {
    const e = error as Error;
    return {
      ok: false,
      text:
        ` The stage could not put the previous config "${previous}" back (${e.name}: ${e.message}): the candidate ` +
        `STILL SERVES. Run the rollback function, or: aws sagemaker update-endpoint --endpoint-name ${run.endpointName} ` +
        `--endpoint-config-name ${previous} ${KEEP_FLEET_SIZE_CLI}.`,
    };
  }
}

/** The run's rollback record could not be read (S3 refused for a reason other than its absence). */
const UNREADABLE = Symbol('unreadable');

/**
 * Who rolled this run's release back and why, with the record's place, when the rollback function
 * left its record beside the run (models/<model>/runs/<execution>/rollback.json); else undefined.
 */
async function rollbackOfThisRun(run: Run): Promise<string | typeof UNREADABLE | undefined> {
  const key = artifactKeys.runRollback(run.settings.model, run.params.executionId);
  let text: string | undefined;
  try {
    text = await readOptionalText(run.deps.s3, run.bucket, key);
  } catch (error) {
    logger.warn('canary: cannot read whether this release was rolled back', {
      key,
      problem: (error as Error).message,
    });
    return UNREADABLE;
  }
  if (text === undefined) return undefined;
  let who = 'a rollback';
  try {
    const record = JSON.parse(text) as { status?: unknown; trigger?: { by?: unknown; reason?: unknown } };
    const by = typeof record.trigger?.by === 'string' ? record.trigger.by : 'someone';
    const reason = typeof record.trigger?.reason === 'string' ? `: ${record.trigger.reason}` : '';
    const status = typeof record.status === 'string' ? `, rollback ${record.status}` : '';
    who = `requested by ${by}${reason}${status}`;
  } catch {
    logger.warn('canary: the rollback record of this run does not parse', { key });
  }
  return `${who}; record s3://${run.bucket}/${key}`;
}

/** The states of `names` (default: every configured auto-rollback alarm). */
async function readAlarms(run: Run, names: readonly string[] = run.alarmNames): Promise<AlarmStatus[]> {
  const res = await run.deps.cloudwatch.send(
    new DescribeAlarmsCommand({
      AlarmNames: [...names],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    }),
  );
  return [...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? [])].map((a) => ({
    name: a.AlarmName ?? '',
    state: a.StateValue ?? 'INSUFFICIENT_DATA',
  }));
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

/**
 * The stage was retried after the candidate went live (e.g. the record could not be written):
 * finish what a pass does. The config that served before comes from the serving state: before this
 * run's commit (finishLive) it names the previous release live; after it, on the standby.
 */
async function finishAlreadyLive(run: Run, live: DescribeEndpointCommandOutput): Promise<JobOutcome> {
  const previousConfig = await previousLiveConfig(run);
  const alarms = await readAlarms(run, deploymentAlarms(live, run.alarmNames));
  // InService with the candidate's config: canaryStep passes (its summary describes the endpoint)
  // unless a guardrail alarm is in ALARM.
  // Guarded as the polls are: a first release (nothing served before, no blue/green deployment with
  // auto-rollback alarms) has no guardrails to heed.
  const deployedWithAlarms = (live.LastDeploymentConfig?.AutoRollbackConfiguration?.Alarms?.length ?? 0) > 0;
  const step = canaryStep(run.names.liveConfig, live, alarms, 0, canaryLimitSeconds(run.settings.serving), {
    guarded: previousConfig !== null || deployedWithAlarms,
  });
  if (step.kind === 'fail') {
    // A retry does not pass a candidate its guardrails now warn about. Nothing is put back: the
    // earlier attempt may have committed the serving state to it, and returning from it is the
    // rollback function's (its alarm action, or a person), which rewrites those records too.
    return failed(
      `${step.message}\nThe candidate was already live from an earlier attempt of this run; this retry changed ` +
        `nothing. If the alarm stays in ALARM, roll back: invoke ${run.settings.model}'s rollback function ` +
        `(docs/operations.md, "Rollback").`,
    );
  }
  const found = step.kind === 'pass' ? ` ${step.summary}` : '';
  return finishLive(run, {
    previousConfig,
    startedAtMs: run.deps.now().getTime(),
    alarmsSeen: [],
    summary: `The candidate was already live from an earlier attempt of this run; nothing was updated.${found}`,
  });
}

async function previousLiveConfig(run: Run): Promise<string | null> {
  const key = artifactKeys.servingState(run.settings.model);
  try {
    const state = await readJsonRecord(
      run.deps,
      run.bucket,
      key,
      servingStateSchema,
      'no release was promoted yet',
    );
    // Before this run's commit the state names the previous release live; after it, on the standby.
    if (state.live.executionId !== run.params.executionId) return state.live.configName;
    return state.standby?.liveConfigName ?? null;
  } catch (error) {
    const cause = (error as { cause?: { name?: string } }).cause;
    if (cause?.name === 'NoSuchKey' || cause?.name === 'NotFound') return null;
    const attempt = {
      endpointName: run.endpointName,
      candidateConfig: run.names.liveConfig,
      previousConfig: null,
    };
    throw new Error(
      liveButIncompleteMessage(
        attempt,
        `the config that served before it could not be read: ${(error as Error).message}`,
        'Promotion needs it to keep the previous model warm on the standby endpoint: restore the serving ' +
          'state (the bucket is versioned).',
      ),
      { cause: error },
    );
  }
}

interface LiveOutcome {
  /** Polls so far (from the continuation token). */
  readonly polls?: number;
  readonly previousConfig: string | null;
  readonly startedAtMs: number;
  readonly alarmsSeen: readonly string[];
  readonly summary: string;
}

/** The candidate is in service: register autoscaling, record, succeed. */
async function finishLive(run: Run, live: LiveOutcome): Promise<JobOutcome> {
  const { serving } = run.settings;
  const attempt: ReleaseAttempt = {
    endpointName: run.endpointName,
    candidateConfig: run.names.liveConfig,
    previousConfig: live.previousConfig,
  };
  // The candidate serves whatever happens next: a step that fails transiently is retried at the
  // next poll (each is idempotent), within the stage's limit.
  const retry = (what: string, retryable: boolean): JobOutcome | undefined => {
    const elapsedSeconds = (run.deps.now().getTime() - live.startedAtMs) / 1000;
    if (!retryable || elapsedSeconds > canaryLimitSeconds(serving)) return undefined;
    const token = encodeCanaryToken({
      endpointName: run.endpointName,
      expectedConfigName: run.names.liveConfig,
      previousConfigName: live.previousConfig,
      startedAtMs: live.startedAtMs,
      polls: (live.polls ?? 0) + 1,
      alarmsSeen: [...live.alarmsSeen],
    });
    return inProgress(
      token,
      `The candidate serves; ${what}. A transient failure: the stage tries again at its next poll; what is done stays done.`,
    );
  };

  // Autoscaling that cannot be registered fails the stage, but only after the records say what
  // serves: the fleet keeps its size meanwhile, while records naming the version before would
  // mislead the rollback and label the candidate's answers wrongly.
  let autoscalingProblem: string | undefined;
  try {
    await registerAutoscaling(run);
  } catch (error) {
    const e = error as Error;
    const what = `autoscaling of its live variant could not be registered: ${e.name}: ${e.message}`;
    const later = retry(what, isTransientError(error));
    if (later) return later;
    autoscalingProblem = what;
  }

  const key = artifactKeys.canary(run.settings.model, run.params.executionId);
  const where = `s3://${run.bucket}/${key}`;
  try {
    await writeRecord(run, key, {
      previousConfigName: live.previousConfig,
      outcome: 'live',
      detail: live.summary,
      alarmsSeen: live.alarmsSeen,
      startedAtMs: live.startedAtMs,
    });
  } catch (error) {
    const later = retry(
      `the canary record could not be written: ${(error as Error).message}`,
      isTransientError(error),
    );
    if (later) return later;
    return failed(
      liveButIncompleteMessage(
        attempt,
        `the canary record could not be written, and promotion needs it: ${(error as Error).message}`,
        'Fix the cause.',
      ),
    );
  }

  // The candidate serves: the serving state, the flag and the confidence alarm say so now, not at Promotion.
  let committed: string[];
  try {
    committed = await commitServing({
      deps: run.deps,
      settings: run.settings,
      bucket: run.bucket,
      executionId: run.params.executionId,
      modelVersion: run.params.commitId,
      liveEndpoint: run.endpointName,
      standbyEndpoint: run.standbyEndpoint,
      candidateModelName: run.names.model,
      candidateConfigName: run.names.liveConfig,
      previousConfigName: live.previousConfig,
      standbyConfigName: run.names.standbyConfig,
    });
  } catch (error) {
    if (!(error instanceof CommitIncomplete)) throw error;
    const later = retry(error.message, error.retryLater);
    if (later) return later;
    return failed(
      liveButIncompleteMessage(
        attempt,
        `${error.message}; until it is, the records, the flag or the confidence alarm still describe the version before`,
        'Fix the cause.',
      ),
    );
  }
  if (autoscalingProblem !== undefined) {
    return failed(
      liveButIncompleteMessage(
        attempt,
        autoscalingProblem,
        "The fleet keeps its current size until it is. Check the function's role (application-autoscaling:" +
          'RegisterScalableTarget and PutScalingPolicy, and iam:CreateServiceLinkedRole the first time).',
      ),
    );
  }
  const { minInstances, maxInstances, targetInvocationsPerInstance } = serving.autoscaling;
  return {
    status: 'succeeded',
    summary: [
      live.summary,
      `Autoscaling: ${minInstances}-${maxInstances} instances, target ${targetInvocationsPerInstance} invocations per instance per minute.`,
      `canary record: ${where}`,
      ...committed.map((line) => `${line.charAt(0).toUpperCase()}${line.slice(1)}.`),
    ].join('\n'),
    outputVariables: {
      CandidateConfig: run.names.liveConfig,
      PreviousConfig: live.previousConfig ?? NO_PREVIOUS_CONFIG,
    },
  };
}

/** The candidate is not in service: record what happened, fail with the message. */
async function finishFailed(
  run: Run,
  state: CanaryState,
  live: DescribeEndpointCommandOutput | undefined,
  failure: string,
  options: { readonly keepStandby?: boolean } = {},
): Promise<JobOutcome> {
  let message = failure;
  const rolledBack =
    state.previousConfigName !== null &&
    live?.EndpointStatus === 'InService' &&
    live.EndpointConfigName === state.previousConfigName;
  if (state.previousConfigName !== null && options.keepStandby !== true) {
    // The standby was refreshed with the model that serves for this canary; the serving state still
    // names the release before it there, as the rollback target.
    message += await restoreStandby(
      run.deps,
      run.standbyEndpoint,
      await storedServingState(run).catch(() => undefined),
    );
  }
  const key = artifactKeys.canary(run.settings.model, run.params.executionId);
  try {
    await writeRecord(run, key, {
      previousConfigName: state.previousConfigName,
      outcome: rolledBack ? 'rolled-back' : 'failed',
      detail: message,
      alarmsSeen: state.alarmsSeen,
      startedAtMs: state.startedAtMs,
    });
  } catch (error) {
    return failed(`${message}\nThe canary record could not be written either: ${(error as Error).message}`);
  }
  return failed(`${message}\ncanary record: s3://${run.bucket}/${key}`);
}

async function writeRecord(
  run: Run,
  key: string,
  outcome: Pick<CanaryRecord, 'previousConfigName' | 'outcome' | 'detail'> & {
    readonly alarmsSeen: readonly string[];
    readonly startedAtMs: number;
  },
): Promise<void> {
  const record: CanaryRecord = canaryRecordSchema.parse({
    schemaVersion: SERVING_RECORD_SCHEMA_VERSION,
    model: run.settings.model,
    executionId: run.params.executionId,
    modelVersion: run.params.commitId,
    endpointName: run.endpointName,
    candidateModelName: run.names.model,
    candidateConfigName: run.names.liveConfig,
    previousConfigName: outcome.previousConfigName,
    outcome: outcome.outcome,
    detail: outcome.detail,
    alarmsSeen: [...outcome.alarmsSeen],
    startedAt: new Date(outcome.startedAtMs).toISOString(),
    finishedAt: run.deps.now().toISOString(),
  });
  await putRunRecord(run.deps.s3, run.bucket, key, `${JSON.stringify(record, null, 2)}\n`, 'canary record');
}

/** The serving state as stored, or undefined when there is none yet. */
async function storedServingState(run: Run): Promise<ServingState | undefined> {
  const key = artifactKeys.servingState(run.settings.model);
  const text = await readOptionalText(run.deps.s3, run.bucket, key);
  return text === undefined
    ? undefined
    : parseServingRecord(servingStateSchema, text, `s3://${run.bucket}/${key}`);
}

function failed(message: string): JobOutcome {
  return { status: 'failed', message };
}

function inProgress(continuationToken: string, summary: string): JobOutcome {
  return { status: 'in-progress', continuationToken, summary };
}

let defaults: Deps | undefined;

/** Clients created once per container. */
export function defaultDeps(): Deps {
  defaults ??= { ...servingDeps(), appconfig: lazy(() => new AppConfigClient({})) };
  return defaults;
}

export const handler = createHandler(defaultDeps());
