/**
 * Shadow stage (CodePipeline Lambda invoke action of the release pipeline, after the regression
 * gate and before the canary). The candidate joins the live endpoint as a shadow variant: it gets a
 * copy of a share of production's requests, its answers go nowhere but data capture. After the
 * window the stage compares errors, latency and prediction agreement with production, writes
 * `shadow-report.json`, and puts the production config back.
 *
 * Advisory: it never fails the release on the candidate's behaviour, only when the endpoint cannot
 * be changed or put back. It polls with a continuation token through three phases: `adding` (the
 * endpoint is updated to the shadow config), `observing` (the window), `restoring` (production's
 * config goes back). Once the shadow config is in service, the production config is always put
 * back, whatever the metrics or data capture reads give.
 */
import { UpdateEndpointCommand, type DescribeEndpointCommandOutput } from '@aws-sdk/client-sagemaker';
import type { Context } from 'aws-lambda';
import { artifactKeys, type ReleaseSettings } from '../core/contracts/release-settings';
import {
  createModelSpec,
  LIVE_VARIANT,
  releaseNames,
  SHADOW_VARIANT,
  shadowConfigSpec,
  KEEP_FLEET_SIZE,
  KEEP_FLEET_SIZE_CLI,
} from '../core/serving/endpoint-spec';
import {
  modelArtifactRecordSchema,
  ServingRecordError,
  type ModelArtifactRecord,
} from '../core/serving/serving-records';
import { compareShadow } from '../core/serving/shadow';
import { isEndpointBusyRefusal, isTransientError } from '../core/serving/transient-error';
import {
  shadowFindings,
  shadowReportRecordSchema,
  shadowSummary,
  type CaptureSummary,
  type ShadowReportRecord,
} from '../core/serving/shadow-report';
import {
  decodeShadowToken,
  encodeShadowToken,
  ShadowTokenError,
  type ShadowState,
} from '../core/serving/shadow-token';
import { AgreementTally } from '../core/serving/data-capture';
import { parseJobEvent, runParamsSchema } from '../shared/codepipeline-job';
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
  servingContext,
  servingDeps,
  servingEnv,
  type ServingDeps,
} from '../shared/serving';
import type { ServingEnv } from '../core/contracts/handler-env';
import { loadReleaseSettings } from '../shared/settings';
import { DEFAULT_CAPTURE_LIMITS, readCaptureAgreement, type CaptureLimits } from './capture';
import { readWindowMetrics, type WindowMetrics } from './metrics';

/** Everything external the handler touches, injectable in tests. */
export interface Deps extends ServingDeps {
  /** Bounds of the data capture read. @default DEFAULT_CAPTURE_LIMITS */
  readonly captureLimits?: CaptureLimits;
}

/**
 * How long after the window the comparison waits: CloudWatch publishes a minute's datapoint and
 * SageMaker flushes its capture files a little after the minute ends.
 */
export const SETTLE_MS = 2 * 60_000;

/**
 * How long a transient failure is tried again at each poll before the stage fails: from the end of
 * the window (and its settling time) in the observing phase, from the start of the other phases.
 * The update back to the production config counts from the end of the window too.
 */
export const RESTORE_RETRY_MS = 30 * 60_000;

/** Where a phase's RESTORE_RETRY_MS of transient retries counts from. */
function transientRetryFrom(state: ShadowState): number {
  return state.phase === 'observing'
    ? Math.max(state.windowEndMs + SETTLE_MS, state.phaseStartedAtMs)
    : state.phaseStartedAtMs;
}

const TRANSITIONAL = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack']);
const VARIANTS = { production: LIVE_VARIANT, shadow: SHADOW_VARIANT } as const;

/** What every phase needs. */
interface Stage {
  readonly deps: Deps;
  readonly env: ServingEnv;
  readonly settings: ReleaseSettings;
  readonly executionId: string;
  readonly model: string;
  readonly bucket: string;
  readonly endpointName: string;
  readonly reportKey: string;
  readonly reportUrl: string;
}

/** The handler, over the given clients and clock. */
export function createHandler(deps: Deps) {
  return async (event: unknown, context?: Context): Promise<JobOutcome> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    return runJob(deps.codepipeline, event, async () => {
      const job = parseJobEvent(event, runParamsSchema);
      const { executionId } = job.params;
      logger.appendKeys({ executionId, jobId: job.id });
      const env = servingEnv();
      const settings = await loadReleaseSettings(deps.ssm, env.RELEASE_SETTINGS_PARAMETER);
      const model = settings.model;
      const reportKey = artifactKeys.shadowReport(model, executionId);
      const stage: Stage = {
        deps,
        env,
        settings,
        executionId,
        model,
        bucket: env.ARTIFACTS_BUCKET,
        endpointName: env.LIVE_ENDPOINT,
        reportKey,
        reportUrl: `s3://${env.ARTIFACTS_BUCKET}/${reportKey}`,
      };
      if (job.continuationToken === undefined) return start(stage);
      let state: ShadowState;
      try {
        state = decodeShadowToken(job.continuationToken);
      } catch (error) {
        if (error instanceof ShadowTokenError) return failed(error.message);
        throw error;
      }
      logger.appendKeys({ phase: state.phase, polls: state.polls });
      try {
        switch (state.phase) {
          case 'adding':
            return await pollAdding(stage, state);
          case 'observing':
            return await pollObserving(stage, state);
          case 'restoring':
            return await pollRestoring(stage, state);
        }
      } catch (error) {
        // A poll that meets a transient failure (DescribeEndpoint throttled, a 5xx, a timeout: the
        // SDK already retried it) tries again at the next poll: failing would leave the live
        // endpoint on the shadow config until a person retried the stage.
        const waited = deps.now().getTime() - transientRetryFrom(state);
        if (!isTransientError(error) || waited >= RESTORE_RETRY_MS) throw error;
        logger.warn('transient failure during a poll; trying again at the next poll', {
          error: error as Error,
        });
        return inProgress(
          { ...state, polls: state.polls + 1 },
          `the shadow stage's ${state.phase} poll paused by a transient failure (${describe(error)}); it ` +
            `tries again at its next poll${waited > 0 ? ` (waited ${formatDuration(waited)} of ${formatDuration(RESTORE_RETRY_MS)})` : ''}`,
        );
      }
    });
  };
}

// ---------------------------------------------------------------------------------------------
// First invocation
// ---------------------------------------------------------------------------------------------

async function start(stage: Stage): Promise<JobOutcome> {
  const { deps, env, settings, executionId, endpointName } = stage;
  let artifact: ModelArtifactRecord;
  try {
    artifact = await readJsonRecord(
      deps,
      stage.bucket,
      artifactKeys.modelArtifact(stage.model, executionId),
      modelArtifactRecordSchema,
      'the PublishModel stage of this run did not publish the model archive (it writes the archive and ' +
        "model-artifact.json); check the PublishModel stage's message and rerun the pipeline. " +
        'The shadow stage changed nothing.',
    );
  } catch (error) {
    if (!(error instanceof ServingRecordError)) throw error;
    return failed(
      `${error.message}. The PublishModel stage of this run wrote it; check its message and rerun the pipeline. ` +
        'The shadow stage changed nothing.',
    );
  }
  const names = releaseNames(env.SERVING_NAME_PREFIX, executionId);
  const live = await describeEndpoint(deps.sagemaker, endpointName);
  if (!live) return skipFirstRelease(stage);

  const status = live.EndpointStatus ?? 'unknown';
  const productionConfig = live.EndpointConfigName ?? 'unknown';
  if (productionConfig === names.shadowConfig) return resume(stage, live, names.shadowConfig);
  if (status !== 'InService') {
    if (TRANSITIONAL.has(status)) {
      return failed(
        `live endpoint ${endpointName} is ${status} (on config ${productionConfig}), not InService: another update ` +
          'is in progress. The shadow stage changed nothing. Retry the stage when the endpoint is InService ' +
          `(SageMaker console > Inference > Endpoints > ${endpointName}).`,
      );
    }
    return failed(
      `live endpoint ${endpointName} is ${status}${reason(live)} (on config ${productionConfig}), not InService. ` +
        'The shadow stage changed nothing. Repair the endpoint first (put a working config back with ' +
        `${updateCommand(endpointName, '<config>')}), then retry the stage.`,
    );
  }

  const config = await describeEndpointConfig(deps.sagemaker, productionConfig);
  const running = config.ShadowProductionVariants ?? [];
  if (running.length > 0) {
    return failed(
      `live endpoint ${endpointName} is on config ${productionConfig}, which already has a shadow variant ` +
        `(${running.map((v) => `${v.VariantName}: model ${v.ModelName}`).join(', ')}): an earlier release's shadow ` +
        'stage did not put production back. The shadow stage changed nothing. Put the production config back ' +
        `(the config named live.configName in s3://${stage.bucket}/${artifactKeys.servingState(stage.model)}) with ` +
        `${updateCommand(endpointName, '<config>')}, then retry the stage.`,
    );
  }
  const production = (config.ProductionVariants ?? []).find((v) => v.VariantName === LIVE_VARIANT);
  if (!production?.ModelName || !production.InstanceType) {
    const have = (config.ProductionVariants ?? []).map((v) => `"${v.VariantName}"`).join(', ') || 'none';
    return failed(
      `config ${productionConfig} of live endpoint ${endpointName} has no instance-based production variant named ` +
        `"${LIVE_VARIANT}" (it has ${have}); the release path names the live variant "${LIVE_VARIANT}", so this ` +
        'endpoint was not created by it. The shadow stage changed nothing. Put a config made by the release path ' +
        'back on the endpoint, then retry the stage.',
    );
  }
  const instanceCount =
    live.ProductionVariants?.find((v) => v.VariantName === LIVE_VARIANT)?.CurrentInstanceCount ??
    production.InitialInstanceCount ??
    settings.serving.initialInstanceCount;

  // The candidate's archive must be the one that was evaluated, before SageMaker ever loads it.
  const archiveProblem = await publishedArchiveProblem(deps, stage.bucket, stage.model, artifact);
  if (archiveProblem !== null) return failed(`${archiveProblem}. The shadow stage changed nothing.`);

  const ctx = servingContext(env);
  await ensureModel(
    deps.sagemaker,
    createModelSpec(ctx, {
      modelName: names.model,
      modelDataUrl: artifact.modelDataUrl,
      modelVersion: artifact.commitId,
      executionId,
    }),
  );
  // Production keeps its model, instance type and current fleet size: an update that changed the
  // instance type of a variant under autoscaling would be refused.
  await ensureEndpointConfig(
    deps.sagemaker,
    shadowConfigSpec(ctx, settings.serving, {
      configName: names.shadowConfig,
      endpointName,
      production: {
        modelName: production.ModelName,
        instanceType: production.InstanceType,
        instanceCount,
      },
      candidateModelName: names.model,
    }),
  );
  try {
    await deps.sagemaker.send(
      new UpdateEndpointCommand({ EndpointName: endpointName, EndpointConfigName: names.shadowConfig }),
    );
  } catch (error) {
    return failed(
      `SageMaker refused to update live endpoint ${endpointName} to the shadow config ${names.shadowConfig}: ` +
        `${describe(error)}. Production still serves ${productionConfig}, unchanged. Retry the stage; if it ` +
        "is refused again, check serving.shadow in the model config against the account's SageMaker quotas.",
    );
  }
  const now = deps.now().getTime();
  logger.info('shadow config requested', { productionConfig, shadowConfig: names.shadowConfig });
  return inProgress(
    {
      phase: 'adding',
      endpointName,
      productionConfigName: productionConfig,
      shadowConfigName: names.shadowConfig,
      startedAtMs: now,
      phaseStartedAtMs: now,
      polls: 0,
    },
    `updating live endpoint ${endpointName} from ${productionConfig} to the shadow config ${names.shadowConfig}: ` +
      `production keeps model ${production.ModelName} on ${instanceCount} × ${production.InstanceType}; the candidate ` +
      `${names.model} gets a copy of ${settings.serving.shadow.samplingPercent}% of requests`,
  );
}

async function skipFirstRelease(stage: Stage): Promise<JobOutcome> {
  const reasonText =
    `first release: live endpoint ${stage.endpointName} does not exist yet, so there is no production model ` +
    'to shadow the candidate against';
  const record: ShadowReportRecord = {
    schemaVersion: 1,
    model: stage.model,
    executionId: stage.executionId,
    endpointName: stage.endpointName,
    status: 'skipped',
    reason: reasonText,
    summary: `shadow comparison skipped: ${reasonText}`,
    findings: [],
    writtenAt: stage.deps.now().toISOString(),
  };
  await writeReport(stage, record);
  logger.info('first release: shadow skipped');
  return {
    status: 'succeeded',
    summary: `${record.summary}. Nothing was changed.\nReport: ${stage.reportUrl}`,
    outputVariables: { ShadowReport: stage.reportUrl },
  };
}

/**
 * The endpoint is on this run's shadow config when the stage starts: an earlier attempt did not
 * finish. If that attempt wrote its report, the production config is known and goes back now.
 */
async function resume(
  stage: Stage,
  live: DescribeEndpointCommandOutput,
  shadowConfig: string,
): Promise<JobOutcome> {
  const status = live.EndpointStatus ?? 'unknown';
  const existing = await readExistingReport(stage);
  if (existing?.status === 'compared' && status === 'InService') {
    return restore(
      stage,
      {
        endpointName: stage.endpointName,
        productionConfigName: existing.productionConfig,
        shadowConfigName: shadowConfig,
      },
      `an earlier attempt of this stage compared the candidate (report ${stage.reportUrl}) but left live endpoint ` +
        `${stage.endpointName} on the shadow config ${shadowConfig}; putting production config ` +
        `${existing.productionConfig} back`,
    );
  }
  return failed(
    `live endpoint ${stage.endpointName} is ${status} on this run's shadow config ${shadowConfig}, left by an ` +
      'earlier attempt of this stage that did not finish, and this attempt cannot tell which config served before ' +
      `it. Put production back with ${updateCommand(stage.endpointName, '<config>')} (the config that served ` +
      `before is live.configName in s3://${stage.bucket}/${artifactKeys.servingState(stage.model)}, and is named in ` +
      "the earlier attempt's summary), wait until the endpoint is InService, then retry the stage.",
  );
}

// ---------------------------------------------------------------------------------------------
// Polls
// ---------------------------------------------------------------------------------------------

async function pollAdding(stage: Stage, state: ShadowState & { phase: 'adding' }): Promise<JobOutcome> {
  const { endpointName, productionConfigName: production, shadowConfigName: shadow } = state;
  const live = await describeEndpoint(stage.deps.sagemaker, endpointName);
  if (!live) return failed(endpointGone(endpointName, 'while the shadow config was being applied'));
  const now = stage.deps.now().getTime();
  const status = live.EndpointStatus ?? 'unknown';
  const config = live.EndpointConfigName ?? 'unknown';
  if (TRANSITIONAL.has(status)) {
    return inProgress(
      { ...state, polls: state.polls + 1 },
      `live endpoint ${endpointName} is ${status} towards the shadow config ${shadow} ` +
        `(${formatDuration(now - state.phaseStartedAtMs)} so far)`,
    );
  }
  if (status === 'InService' && config === shadow) {
    const windowMs = stage.settings.serving.shadow.windowMinutes * 60_000;
    logger.info('shadow variant in service; window starts');
    return inProgress(
      {
        ...state,
        phase: 'observing',
        phaseStartedAtMs: now,
        polls: 0,
        windowStartMs: now,
        windowEndMs: now + windowMs,
      },
      `the candidate runs as shadow variant on live endpoint ${endpointName}; comparing until ` +
        `${new Date(now + windowMs).toISOString()} (${formatDuration(windowMs)})`,
    );
  }
  if (status === 'InService' && config === production) {
    return failed(
      `SageMaker did not apply the shadow config ${shadow} to live endpoint ${endpointName} and rolled the update ` +
        `back${reason(live)}. Production still serves ${production}, unchanged. Check that the candidate model ` +
        `can start (CloudWatch log group /aws/sagemaker/Endpoints/${endpointName}), then retry the stage.`,
    );
  }
  if (status === 'InService') {
    return failed(
      `live endpoint ${endpointName} is InService on config ${config}, neither the shadow config ${shadow} nor the ` +
        `production config ${production}: something else updated it while the shadow config was being applied. ` +
        `The shadow stage put nothing back. Check that ${config} is meant to serve, then retry the stage.`,
    );
  }
  return failed(
    `updating live endpoint ${endpointName} to the shadow config ${shadow} failed: the endpoint is ` +
      `${status}${reason(live)}. Production served ${production} before this stage and may not be serving now. ` +
      `Put it back with ${updateCommand(endpointName, production)}, wait until the endpoint is InService, then ` +
      'retry the stage.',
  );
}

async function pollObserving(stage: Stage, state: ShadowState & { phase: 'observing' }): Promise<JobOutcome> {
  const { endpointName, productionConfigName: production, shadowConfigName: shadow } = state;
  const live = await describeEndpoint(stage.deps.sagemaker, endpointName);
  if (!live) return failed(endpointGone(endpointName, 'during the shadow window'));
  const now = stage.deps.now().getTime();
  const status = live.EndpointStatus ?? 'unknown';
  const config = live.EndpointConfigName ?? 'unknown';
  const next = { ...state, polls: state.polls + 1 };
  if (config !== shadow) {
    return failed(
      `live endpoint ${endpointName} left the shadow config ${shadow} during the shadow window: it is ${status} on ` +
        `${config} (something else updated it, e.g. a rollback). The shadow stage did not touch it and compared ` +
        `nothing. Check that ${config} is meant to serve, then retry the stage.`,
    );
  }
  if (!TRANSITIONAL.has(status) && status !== 'InService') {
    return failed(
      `live endpoint ${endpointName} is ${status}${reason(live)} during the shadow window, on the shadow config ` +
        `${shadow}. Production served ${production} before this stage and may not be serving now. Put it back ` +
        `with ${updateCommand(endpointName, production)}, wait until the endpoint is InService, then retry the stage.`,
    );
  }
  if (now < state.windowEndMs) {
    return inProgress(
      next,
      `the candidate runs as shadow variant on live endpoint ${endpointName}: ` +
        `${formatDuration(state.windowEndMs - now)} of the ${formatDuration(state.windowEndMs - state.windowStartMs)} ` +
        `window left (ends ${new Date(state.windowEndMs).toISOString()})`,
    );
  }
  if (now < state.windowEndMs + SETTLE_MS) {
    return inProgress(
      next,
      `the shadow window ended at ${new Date(state.windowEndMs).toISOString()}; comparing from ` +
        `${new Date(state.windowEndMs + SETTLE_MS).toISOString()}, once CloudWatch and data capture have the last minute`,
    );
  }
  if (status !== 'InService') {
    return inProgress(
      next,
      `the shadow window ended; waiting for live endpoint ${endpointName} (${status}) to be InService before ` +
        `putting production config ${production} back`,
    );
  }
  return compareAndRestore(stage, state);
}

async function compareAndRestore(
  stage: Stage,
  state: ShadowState & { phase: 'observing' },
): Promise<JobOutcome> {
  const { deps, endpointName } = stage;
  const window = { startMs: state.windowStartMs, endMs: state.windowEndMs };
  let metrics: WindowMetrics | undefined;
  let metricsError: string | null = null;
  try {
    metrics = await readWindowMetrics(deps.cloudwatch, { endpointName, variants: VARIANTS, ...window });
  } catch (error) {
    metricsError = describe(error);
    logger.warn('CloudWatch metrics unavailable; restoring production anyway', { error: error as Error });
  }
  const capture = await readCapture(stage, state);
  const report = metrics
    ? compareShadow({
        production: metrics.production,
        shadow: metrics.shadow,
        agreement: { agreements: capture.agreement.agreements, compared: capture.agreement.compared },
        capture: { agreement: capture.agreement, error: capture.error },
      })
    : null;
  const findings = shadowFindings(report, metricsError, capture);
  const windowMinutes = Math.round((window.endMs - window.startMs) / 60_000);
  const record: ShadowReportRecord = {
    schemaVersion: 1,
    model: stage.model,
    executionId: stage.executionId,
    endpointName,
    status: 'compared',
    candidateModel: releaseNames(stage.env.SERVING_NAME_PREFIX, stage.executionId).model,
    window: { start: new Date(window.startMs).toISOString(), end: new Date(window.endMs).toISOString() },
    productionConfig: state.productionConfigName,
    shadowConfig: state.shadowConfigName,
    report,
    metricsError,
    capture,
    summary: shadowSummary(report, findings, windowMinutes),
    findings,
    writtenAt: deps.now().toISOString(),
  };
  // The production config goes back even when the report cannot be written.
  let writeError: Error | undefined;
  try {
    await writeReport(stage, record);
  } catch (error) {
    writeError = error as Error;
  }
  // A transient refusal (throttling, a 5xx, a timeout: the SDK already retried it) of the update
  // that puts production back, or SageMaker's "Cannot update in-progress endpoint", is tried again
  // at the next poll, from this same phase, for up to RESTORE_RETRY_MS: failing here would leave the
  // candidate's shadow instances running, and serving/state.json naming a config the endpoint is not
  // on, until a person retried the stage. The next poll looks at the endpoint first: if another
  // update (a rollback) is what was in progress, it waits for it and then fails without touching it.
  let deferred = false;
  const retryLater = (error: unknown): JobOutcome | undefined => {
    const waited = deps.now().getTime() - (state.windowEndMs + SETTLE_MS);
    if (!(isTransientError(error) || isEndpointBusyRefusal(error)) || waited >= RESTORE_RETRY_MS)
      return undefined;
    deferred = true;
    return inProgress(
      { ...state, polls: state.polls + 1 },
      `compared over ${formatDuration(window.endMs - window.startMs)}; putting production config ` +
        `${state.productionConfigName} back on live endpoint ${endpointName} paused by a refusal ` +
        `(${describe(error)}): the stage tries again at its next poll (waited ${formatDuration(waited)} of ` +
        `${formatDuration(RESTORE_RETRY_MS)}). Report: ${stage.reportUrl}`,
    );
  };
  const restoring = await restore(
    stage,
    state,
    `compared over ${formatDuration(window.endMs - window.startMs)}; putting production config ` +
      `${state.productionConfigName} back on live endpoint ${endpointName}. Report: ${stage.reportUrl}`,
    writeError ? undefined : stage.reportUrl,
    retryLater,
  );
  if (deferred) return restoring;
  if (writeError && restoring.status !== 'failed') {
    return failed(
      `${writeError.message}. Production config ${state.productionConfigName} is being put back on live endpoint ` +
        `${endpointName}; retry the stage to run the comparison again.`,
    );
  }
  return restoring;
}

async function pollRestoring(stage: Stage, state: ShadowState & { phase: 'restoring' }): Promise<JobOutcome> {
  const { endpointName, productionConfigName: production, shadowConfigName: shadow } = state;
  const live = await describeEndpoint(stage.deps.sagemaker, endpointName);
  if (!live) return failed(endpointGone(endpointName, 'while the production config was being put back'));
  const now = stage.deps.now().getTime();
  const status = live.EndpointStatus ?? 'unknown';
  const config = live.EndpointConfigName ?? 'unknown';
  if (TRANSITIONAL.has(status)) {
    return inProgress(
      { ...state, polls: state.polls + 1 },
      `putting production config ${production} back on live endpoint ${endpointName}: ${status} ` +
        `(${formatDuration(now - state.phaseStartedAtMs)} so far). Report: ${stage.reportUrl}`,
    );
  }
  if (status === 'InService' && config === production) {
    const record = await readJsonRecord(
      stage.deps,
      stage.bucket,
      stage.reportKey,
      shadowReportRecordSchema,
      'this stage wrote it before putting production back, and it is gone; retry the stage to compare again',
    );
    logger.info('production config restored', { productionConfig: production });
    return {
      status: 'succeeded',
      summary:
        `${record.summary}\nProduction config ${production} is back on live endpoint ${endpointName}. ` +
        `Report: ${stage.reportUrl}`,
      outputVariables: { ShadowReport: stage.reportUrl },
    };
  }
  if (status === 'InService' && config === shadow) {
    return failed(
      `SageMaker did not put production config ${production} back on live endpoint ${endpointName} and rolled ` +
        `back to the shadow config ${shadow}${reason(live)}. Production's model still serves, with the candidate ` +
        'as shadow variant beside it (its instances cost money until it is removed). Retry the stage (it puts ' +
        `production back first), or run ${updateCommand(endpointName, production)}. The comparison is in ` +
        `${stage.reportUrl}.`,
    );
  }
  if (status === 'InService') {
    return failed(
      `live endpoint ${endpointName} is InService on config ${config}, not the production config ${production}: ` +
        'something else updated it while production was being put back. The comparison is complete ' +
        `(${stage.reportUrl}); check that ${config} is meant to serve. Retrying the stage runs the comparison again.`,
    );
  }
  return failed(
    `putting production config ${production} back on live endpoint ${endpointName} failed: the endpoint is ` +
      `${status}${reason(live)}, on config ${config}, and may not be serving. Run ` +
      `${updateCommand(endpointName, production)} and wait until it is InService. The comparison is complete ` +
      `(${stage.reportUrl}); retrying the stage runs it again.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/**
 * `UpdateEndpoint` back to the production config, and the `restoring` token. When the update is
 * refused, `retryLater` may answer instead (an in-progress outcome that tries again later).
 */
async function restore(
  stage: Stage,
  target: { endpointName: string; productionConfigName: string; shadowConfigName: string },
  summary: string,
  reportUrl: string | undefined = stage.reportUrl,
  retryLater: (error: unknown) => JobOutcome | undefined = () => undefined,
): Promise<JobOutcome> {
  const { endpointName, productionConfigName: production, shadowConfigName: shadow } = target;
  try {
    await stage.deps.sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: endpointName,
        EndpointConfigName: production,
        ...KEEP_FLEET_SIZE,
      }),
    );
  } catch (error) {
    const later = retryLater(error);
    if (later) return later;
    return failed(
      `could not put production config ${production} back on live endpoint ${endpointName}: ${describe(error)}. ` +
        `The endpoint still runs the shadow config ${shadow} (production's model plus the candidate as shadow ` +
        `variant, whose instances cost money). Retry the stage (it puts production back first), or run ` +
        `${updateCommand(endpointName, production)}.` +
        (reportUrl ? ` The comparison is in ${reportUrl}.` : ''),
    );
  }
  const now = stage.deps.now().getTime();
  logger.info('production config requested back', { productionConfig: production });
  return inProgress(
    {
      phase: 'restoring',
      endpointName,
      productionConfigName: production,
      shadowConfigName: shadow,
      startedAtMs: now,
      phaseStartedAtMs: now,
      polls: 0,
    },
    summary,
  );
}

async function readCapture(
  stage: Stage,
  state: ShadowState & { phase: 'observing' },
): Promise<CaptureSummary> {
  const empty = (location: string, error: string): CaptureSummary => ({
    location,
    filesFound: 0,
    filesRead: 0,
    recordsRead: 0,
    unparseable: 0,
    unparseableExamples: [],
    capped: false,
    cappedNote: null,
    error,
    agreement: new AgreementTally(VARIANTS).result(),
  });
  let destination: string | undefined;
  try {
    const config = await describeEndpointConfig(stage.deps.sagemaker, state.shadowConfigName);
    if (config.DataCaptureConfig?.EnableCapture === false) {
      return empty(
        'none',
        `data capture is off in endpoint config ${state.shadowConfigName} (serving.dataCapture.samplingPercent is 0)`,
      );
    }
    destination = config.DataCaptureConfig?.DestinationS3Uri;
  } catch (error) {
    return empty('unknown', `cannot describe endpoint config ${state.shadowConfigName}: ${describe(error)}`);
  }
  if (!destination) {
    return empty('none', `endpoint config ${state.shadowConfigName} has no data capture destination`);
  }
  return readCaptureAgreement(stage.deps.s3, {
    destinationS3Uri: destination,
    endpointName: state.endpointName,
    variants: VARIANTS,
    startMs: state.windowStartMs,
    // A capture file is filed under the hour it was started in, and the last ones of the window are
    // written during the settling time.
    endMs: state.windowEndMs + SETTLE_MS,
    limits: stage.deps.captureLimits ?? DEFAULT_CAPTURE_LIMITS,
  });
}

async function writeReport(stage: Stage, record: ShadowReportRecord): Promise<void> {
  const valid = shadowReportRecordSchema.parse(record);
  await putRunRecord(
    stage.deps.s3,
    stage.bucket,
    stage.reportKey,
    `${JSON.stringify(valid, null, 2)}\n`,
    'shadow report',
  );
}

/** This run's report, or undefined when there is none yet. */
async function readExistingReport(stage: Stage): Promise<ShadowReportRecord | undefined> {
  try {
    return await readJsonRecord(
      stage.deps,
      stage.bucket,
      stage.reportKey,
      shadowReportRecordSchema,
      'none yet',
    );
  } catch (error) {
    const cause = (error as { cause?: { name?: string } }).cause;
    if (cause?.name === 'NoSuchKey' || cause?.name === 'NotFound') return undefined;
    throw error;
  }
}

function inProgress(state: ShadowState, summary: string): JobOutcome {
  return { status: 'in-progress', continuationToken: encodeShadowToken(state), summary };
}

function failed(message: string): JobOutcome {
  return { status: 'failed', message };
}

function endpointGone(endpointName: string, when: string): string {
  return (
    `live endpoint ${endpointName} no longer exists: it was deleted ${when}. Nothing serves from it and the ` +
    'shadow stage has nothing to put back. Rerun the pipeline: without a live endpoint the release creates it.'
  );
}

function reason(live: DescribeEndpointCommandOutput): string {
  return live.FailureReason ? ` (${live.FailureReason})` : '';
}

function updateCommand(endpointName: string, config: string): string {
  return `aws sagemaker update-endpoint --endpoint-name ${endpointName} --endpoint-config-name ${config} ${KEEP_FLEET_SIZE_CLI}`;
}

/** `AccessDenied: ...`; a plain Error's message alone. */
function describe(error: unknown): string {
  const e = error as { name?: string; message?: string };
  const message = e.message ?? String(error);
  return e.name && e.name !== 'Error' ? `${e.name}: ${message}` : message;
}

/** "45 s", "60 min", "2 h 5 min": minutes up to two hours, as windows are configured in minutes. */
function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 120) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

export const handler = createHandler(servingDeps());
