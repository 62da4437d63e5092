/**
 * Promotion (CodePipeline Lambda invoke action), the last stage of the release pipeline: the
 * candidate the canary put live becomes the released model. It checks that the candidate still
 * serves, then writes the release record, the baseline's per-example results and, last, the
 * baseline the next release is compared with: what belongs to "accepted".
 *
 * What belongs to "serving" the canary already did when it passed (lambdas/canary/commit.ts): the
 * standby holds the model that served before, the serving state names the candidate, the flag and
 * the confidence alarm follow it. Promotion finds those done and changes nothing there; it still
 * does them, idempotently, for a run whose canary ran before the canary committed them (the
 * standby refresh then waits with a continuation token).
 *
 * Idempotent: everything is read and checked before anything is changed, and each SageMaker call
 * and each write happens only when what exists differs from the target, so a retried stage
 * finishes what an earlier attempt left and never does anything twice.
 */
import { AppConfigClient } from '@aws-sdk/client-appconfig';
import type { Context } from 'aws-lambda';
import { artifactKeys, type ReleaseSettings } from '../core/contracts/release-settings';
import { releaseNames, standbyConfigSpec, type ReleaseNames } from '../core/serving/endpoint-spec';
import { serializeEvalReport, type EvalReport } from '../core/gates/eval-report';
import {
  buildReleaseRecord,
  ReleaseRecordError,
  releaseRecordSchema,
  type ReleaseRecord,
} from '../core/serving/promotion';
import {
  decodePromotionToken,
  encodePromotionToken,
  type PromotionWaitState,
} from '../core/serving/promotion-token';
import { isTransientError } from '../core/serving/transient-error';
import {
  canaryRecordSchema,
  parseServingRecord,
  servingStateSchema,
  type CanaryRecord,
  type ServingState,
} from '../core/serving/serving-records';
import { parseJobEvent, runParamsSchema, type RunParams } from '../shared/codepipeline-job';
import { runJob, type JobOutcome } from '../shared/job-result';
import { logger } from '../shared/logger';
import {
  describeEndpoint,
  ensureEndpointConfig,
  readJsonRecord,
  servingContext,
  servingDeps,
  servingEnv,
  type ServingDeps,
} from '../shared/serving';
import type { ServingEnv } from '../core/contracts/handler-env';
import { loadReleaseSettings } from '../shared/settings';
import {
  identifyStandbyModel,
  promotedServingState,
  recordText,
  runCommitSteps,
  type CommitStep,
} from './commit';
import { StageFailure } from './failure';
import { rebaselineConfidenceAlarm } from '../shared/confidence-alarm';
import { confidenceFloor, pointFlagAtRelease, promotionLiveEnv } from './live-model';
import { isFlagDeploymentInProgress } from '../shared/flag-writer';
import { readOptionalText, readReleaseEvidence } from './records';
import { planBaselinePredictions } from './baseline-predictions';
import { advanceStandby, previousLiveModel } from './standby';
import { lazy } from '../shared/lazy';

/** Everything external the handler touches, injectable in tests. */
/** The serving clients, and AppConfig for the flag. */
export type Deps = ServingDeps & { readonly appconfig: AppConfigClient };

/** The handler, over the given clients and clock. */
export function createHandler(deps: Deps) {
  return async (event: unknown, context?: Context): Promise<JobOutcome> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    return runJob(deps.codepipeline, event, async () => {
      const job = parseJobEvent(event, runParamsSchema);
      logger.appendKeys({ executionId: job.params.executionId, jobId: job.id });
      const waiting =
        job.continuationToken === undefined ? undefined : decodePromotionToken(job.continuationToken);
      if (job.params.pipeline !== 'release') {
        return failed(
          `promotion runs only in the release pipeline, but UserParameters say pipeline "${job.params.pipeline}"; ` +
            'nothing promoted: fix the pipeline action',
        );
      }
      const env = servingEnv();
      const settings = await loadReleaseSettings(deps.ssm, env.RELEASE_SETTINGS_PARAMETER);
      const run: Run = {
        deps,
        env,
        settings,
        params: job.params,
        waiting,
        now: deps.now(),
        names: releaseNames(env.SERVING_NAME_PREFIX, job.params.executionId),
        url: (key) => `s3://${env.ARTIFACTS_BUCKET}/${key}`,
      };
      try {
        return await promote(run);
      } catch (error) {
        if (error instanceof StageFailure) return failed(error.message);
        throw error;
      }
    });
  };
}

/** One invocation of the stage. */
interface Run {
  readonly deps: Deps;
  readonly env: ServingEnv;
  readonly settings: ReleaseSettings;
  readonly params: RunParams;
  /** Set when this invocation continues a standby refresh (continuation token). */
  readonly waiting: PromotionWaitState | undefined;
  readonly now: Date;
  readonly names: ReleaseNames;
  readonly url: (key: string) => string;
  /** Set once this invocation has seen the standby refresh under way (or done). */
  standbyStarted?: boolean;
  /** The standby config this invocation refreshes to, once known. */
  standbyConfigName?: string;
}

/**
 * Transient failures (throttling, server errors, timeouts, another flag deployment in progress) in a
 * row that the stage retries at its next poll before it fails. Once the canary has passed, the
 * candidate serves on the live endpoint:
 * a promotion that stops half-way leaves the serving state, the flag and the endpoint disagreeing
 * (the router labels the candidate's answers with the previous version) until a person retries it,
 * so the stage finishes on its own what a moment later would let it finish.
 */
export const MAX_TRANSIENT_RETRIES = 10;

async function promote(run: Run): Promise<JobOutcome> {
  try {
    const canary = await candidateStillLive(run);
    const plan = await planPromotion(run, canary);
    if (plan.previousModelName !== null) await pointFlagBeforeStandby(run, plan);
    const inProgress = await refreshStandby(run, plan);
    if (inProgress) return inProgress;
    return await commit(run, canary, plan);
  } catch (error) {
    const retries = run.waiting?.retries ?? 0;
    // Another flag deployment in progress ends by itself too (lambdas/shared/flag-writer.ts).
    const passing = isTransientError(error) || isFlagDeploymentInProgress(error);
    if (!passing || retries >= MAX_TRANSIENT_RETRIES) {
      if (retries > 0 && error instanceof Error) {
        error.message = `${error.message} (after ${retries} transient failure(s) in a row retried at the stage's polls)`;
      }
      throw error;
    }
    const message = error instanceof Error ? error.message : String(error);
    logger.warn('promotion: a transient failure; retrying at the next poll', { retries, message });
    const { env, names, waiting, now } = run;
    return {
      status: 'in-progress',
      continuationToken: encodePromotionToken({
        standbyEndpoint: env.STANDBY_ENDPOINT,
        standbyConfigName: run.standbyConfigName ?? names.standbyConfig,
        startedAtMs: waiting?.startedAtMs ?? now.getTime(),
        polls: (waiting?.polls ?? 0) + 1,
        retries: retries + 1,
        // A refresh this invocation or an earlier one started is continued; otherwise started afresh.
        ...(run.standbyStarted || (waiting !== undefined && waiting.standbyStarted !== false)
          ? {}
          : { standbyStarted: false }),
      }),
      summary:
        `Promotion paused by a transient failure (${retries + 1} of at most ${MAX_TRANSIENT_RETRIES} in a row): ` +
        `${firstLine(message)}. The stage retries at its next poll; what is done stays done.`,
    };
  }
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** 1. The canary put the candidate live, and it still serves. */
async function candidateStillLive(run: Run): Promise<CanaryRecord> {
  const { deps, env, settings, params } = run;
  const canary = await readJsonRecord(
    deps,
    env.ARTIFACTS_BUCKET,
    artifactKeys.canary(settings.model, params.executionId),
    canaryRecordSchema,
    'the canary stage of this run left no record; nothing promoted. Promotion runs after a canary that ' +
      "passed: look at this execution's Canary stage.",
  );
  const rollbackKey = artifactKeys.runRollback(settings.model, params.executionId);
  if ((await readOptionalText(deps.s3, env.ARTIFACTS_BUCKET, rollbackKey)) !== undefined) {
    throw new StageFailure(
      `Promotion refused: this release was rolled back (${run.url(rollbackKey)}); promoting it now would send ` +
        'users back to the version rolled back from. Nothing promoted: the flag, the serving state, the baseline ' +
        'and the standby endpoint are unchanged. Release a fixed model through a new pipeline execution.',
    );
  }
  if (canary.outcome !== 'live') {
    throw new StageFailure(
      `Promotion refused: the canary did not put the candidate live (canary record outcome "${canary.outcome}": ` +
        `${canary.detail}); nothing promoted. The canary stage should have stopped this run: look at its result.`,
    );
  }
  const live = await describeEndpoint(deps.sagemaker, env.LIVE_ENDPOINT);
  if (live?.EndpointStatus !== 'InService' || live.EndpointConfigName !== canary.candidateConfigName) {
    const serves =
      live === undefined
        ? 'it does not exist'
        : live.EndpointStatus === 'InService'
          ? `it serves "${live.EndpointConfigName}"`
          : `it is ${live.EndpointStatus} with config "${live.EndpointConfigName}"`;
    throw new StageFailure(
      `Promotion refused: the live endpoint "${env.LIVE_ENDPOINT}" no longer serves the candidate config ` +
        `"${canary.candidateConfigName}" (${serves}), probably a rollback since the canary; nothing promoted: the ` +
        'baseline, the serving state and the standby endpoint are unchanged. Find out who changed the live ' +
        'endpoint before releasing again.',
    );
  }
  return canary;
}

/** What the promotion writes, and what an earlier attempt already wrote. */
interface Plan {
  readonly record: ReleaseRecord;
  /** The candidate's eval report: its confidence sets the alarm's new floor. */
  readonly evalReport: EvalReport;
  readonly serving: ServingState;
  /** The text of each object once promoted: what an earlier attempt wrote, if it did. */
  readonly bodies: { readonly record: string; readonly serving: string; readonly baseline: string };
  /** What the objects hold now; undefined when absent. */
  readonly stored: {
    readonly record: string | undefined;
    readonly serving: string | undefined;
    readonly baseline: string | undefined;
  };
  /** The previous live model, for the standby; null on a first release. */
  readonly previousModelName: string | null;
  /** Copies of the promoted model's per-example results, written before the baseline report. */
  readonly predictionSteps: readonly CommitStep[];
}

/** 2. Everything the writes need, read and checked before anything changes. */
async function planPromotion(run: Run, canary: CanaryRecord): Promise<Plan> {
  const { deps, env, settings, params, url } = run;
  const { model } = settings;
  const bucket = env.ARTIFACTS_BUCKET;
  const notPromoted =
    `Nothing promoted: the candidate serves on the live endpoint "${env.LIVE_ENDPOINT}", but the baseline, the ` +
    'serving state and the standby endpoint are unchanged.';

  const evidence = await readReleaseEvidence(deps.s3, bucket, model, params.executionId, canary, notPromoted);
  const recordKey = artifactKeys.releaseRecord(model, params.executionId);
  const storedRecordText = await readOptionalText(deps.s3, bucket, recordKey);
  const storedRecord =
    storedRecordText === undefined
      ? undefined
      : parseServingRecord(releaseRecordSchema, storedRecordText, url(recordKey));
  let record: ReleaseRecord;
  try {
    record = buildReleaseRecord({
      model,
      modelVersion: canary.modelVersion,
      modelArtifactSha256: evidence.modelArtifactSha256,
      evalSetMd5s: evidence.evalSetMd5s,
      evalReport: evidence.evalReport,
      thresholds: settings.thresholds,
      decisions: evidence.decisions,
      promotedBy: `pipeline ${process.env.PIPELINE_NAME || 'release'} execution ${params.executionId} (commit ${params.commitId})`,
      // A retry keeps the first attempt's time: the record is then the same, not a new one.
      promotedAt: storedRecord?.promotedAt ?? run.now.toISOString(),
      previousConfigName: canary.previousConfigName,
      candidateConfigName: canary.candidateConfigName,
    });
  } catch (error) {
    if (error instanceof ReleaseRecordError) throw new StageFailure(`${error.message}\n${notPromoted}`);
    throw error;
  }
  if (storedRecord !== undefined) {
    const differs = releaseDifferences(storedRecord, record);
    if (differs.length > 0) {
      throw new StageFailure(
        `Promotion refused: a release record for this execution already exists (${url(recordKey)}) and states ` +
          `another release (it differs in ${differs.join(', ')}). A release record is never overwritten. ` +
          `${notPromoted} Find out who wrote that record (the bucket keeps every version) before releasing again.`,
      );
    }
    // The record an earlier attempt wrote stands; the gates' wording may have changed since.
    record = storedRecord;
  }

  const stateKey = artifactKeys.servingState(model);
  const storedStateText = await readOptionalText(deps.s3, bucket, stateKey);
  const storedState =
    storedStateText === undefined
      ? undefined
      : parseServingRecord(servingStateSchema, storedStateText, url(stateKey));
  const previousModelName =
    canary.previousConfigName === null
      ? null
      : await previousLiveModel(deps.sagemaker, canary.previousConfigName);
  let serving: ServingState;
  if (storedState?.live.executionId === params.executionId) {
    if (!servesThisRelease(storedState, canary)) {
      throw new StageFailure(
        `Promotion stopped: the serving state ${url(stateKey)} names this execution but not its configs (live ` +
          `"${storedState.live.configName}", standby's live config "${storedState.standby?.liveConfigName ?? 'none'}"; ` +
          `this run: "${canary.candidateConfigName}", "${canary.previousConfigName ?? 'none'}"); it was changed ` +
          'since an earlier attempt wrote it. Restore the version that attempt wrote (the bucket keeps every ' +
          'version), then retry the stage.',
      );
    }
    serving = storedState;
  } else {
    const standbyModel =
      canary.previousConfigName === null || previousModelName === null
        ? null
        : await identifyStandbyModel(
            deps.sagemaker,
            storedState,
            canary.previousConfigName,
            previousModelName,
          );
    serving = promotedServingState({
      record,
      canary,
      executionId: params.executionId,
      liveEndpoint: env.LIVE_ENDPOINT,
      standby:
        standbyModel === null
          ? null
          : { endpointName: env.STANDBY_ENDPOINT, configName: run.names.standbyConfig, model: standbyModel },
    });
  }

  const predictions = await planBaselinePredictions(
    deps.s3,
    bucket,
    model,
    params.executionId,
    evidence.evalReport,
    notPromoted,
  );
  return {
    record,
    evalReport: evidence.evalReport,
    serving,
    bodies: {
      record: storedRecordText ?? recordText(record),
      serving:
        serving === storedState && storedStateText !== undefined ? storedStateText : recordText(serving),
      baseline: serializeEvalReport(predictions.report),
    },
    stored: {
      record: storedRecordText,
      serving: storedStateText,
      baseline: await readOptionalText(deps.s3, bucket, artifactKeys.baseline(model)),
    },
    previousModelName,
    predictionSteps: predictions.steps,
  };
}

/**
 * 3. The previous live model, warm on the standby endpoint. Returns the in-progress outcome while
 * SageMaker creates or updates it; undefined when it is ready or there is no previous model.
 */
async function refreshStandby(run: Run, plan: Plan): Promise<JobOutcome | undefined> {
  const { deps, env, names, waiting, now } = run;
  if (plan.previousModelName === null) return undefined;
  // The canary refreshed the standby before it touched the live endpoint and recorded the config
  // that holds the previous model (its own, or one the standby already had): then it is ready.
  const standbyConfig = plan.serving.standby?.configName ?? names.standbyConfig;
  run.standbyConfigName = standbyConfig;
  if (
    waiting !== undefined &&
    waiting.standbyStarted !== false &&
    (waiting.standbyEndpoint !== env.STANDBY_ENDPOINT || waiting.standbyConfigName !== standbyConfig)
  ) {
    throw new StageFailure(
      `the continuation token waits for config "${waiting.standbyConfigName}" on endpoint "${waiting.standbyEndpoint}", ` +
        `but this run puts "${standbyConfig}" on "${env.STANDBY_ENDPOINT}"; the function's settings changed ` +
        'mid-run. Retry the stage.',
    );
  }
  if (standbyConfig === names.standbyConfig) {
    await ensureEndpointConfig(
      deps.sagemaker,
      standbyConfigSpec(servingContext(env), run.settings.serving, {
        configName: names.standbyConfig,
        modelName: plan.previousModelName,
        endpointName: env.STANDBY_ENDPOINT,
      }),
    );
  }
  const target = {
    model: run.settings.model,
    standbyEndpoint: env.STANDBY_ENDPOINT,
    standbyConfigName: standbyConfig,
    liveEndpoint: env.LIVE_ENDPOINT,
  };
  // A token written before the refresh started (a transient failure while reading) continues no refresh.
  const continuing = waiting !== undefined && waiting.standbyStarted !== false;
  const waited = continuing ? Math.max(0, (now.getTime() - waiting.startedAtMs) / 1000) : undefined;
  const step = await advanceStandby(deps.sagemaker, target, waited);
  run.standbyStarted = true;
  if (step.kind === 'ready') return undefined;
  if (step.kind === 'fail') throw new StageFailure(step.message);
  const doing =
    step.kind === 'create'
      ? `creating the standby endpoint "${env.STANDBY_ENDPOINT}" with config "${standbyConfig}"`
      : step.kind === 'update'
        ? `updating the standby endpoint "${env.STANDBY_ENDPOINT}" from config "${step.from}" to "${standbyConfig}"`
        : step.reason;
  logger.info('standby refresh in progress', { step });
  return {
    status: 'in-progress',
    continuationToken: encodePromotionToken({
      standbyEndpoint: env.STANDBY_ENDPOINT,
      standbyConfigName: standbyConfig,
      startedAtMs: waiting?.startedAtMs ?? now.getTime(),
      polls: (waiting?.polls ?? 0) + 1,
    }),
    summary: `Standby refresh (previous model "${plan.previousModelName}"): ${doing}.`,
  };
}

/**
 * 3a. Since the canary passed, the candidate answers on the live endpoint, and the router logs every
 * answer under the flag's stable version: left for the standby refresh (minutes), the flag would
 * label the candidate's answers as the previous version's. So it moves first; best effort, as
 * step 4 points it again (idempotently) and fails the stage if it cannot.
 */
async function pointFlagBeforeStandby(run: Run, plan: Plan): Promise<void> {
  try {
    const line = await pointFlagAtRelease(run.deps.appconfig, promotionLiveEnv(), {
      model: run.settings.model,
      modelVersion: plan.record.modelVersion,
      executionId: run.params.executionId,
      now: new Date(plan.record.promotedAt),
    });
    logger.info(`promotion: before the standby refresh, ${line}`);
  } catch (error) {
    logger.warn('promotion: the flag could not be pointed at the release before the standby refresh', {
      problem: error instanceof Error ? error.message : String(error),
    });
  }
}

/** 4. The writes, then the summary. */
async function commit(run: Run, canary: CanaryRecord, plan: Plan): Promise<JobOutcome> {
  const { env, settings, params, url } = run;
  const bucket = env.ARTIFACTS_BUCKET;
  const keys = {
    record: artifactKeys.releaseRecord(settings.model, params.executionId),
    serving: artifactKeys.servingState(settings.model),
    baseline: artifactKeys.baseline(settings.model),
  };
  const step = (what: string, key: string, part: keyof Plan['bodies']): CommitStep => ({
    what,
    bucket,
    key,
    body: plan.bodies[part],
    stored: plan.stored[part],
  });
  // In this order: the record first, as the evidence for what the others state; the baseline last,
  // because the next release's regression gate compares against it. Steps added later (issue 7: the
  // confidence alarm threshold, from the promoted eval report) go before the baseline.
  const steps = [
    step('release record', keys.record, 'record'),
    step('serving state', keys.serving, 'serving'),
    // Before the baseline report: it names these files (lambdas/promotion/baseline-predictions.ts).
    ...plan.predictionSteps,
    step('baseline', keys.baseline, 'baseline'),
  ];
  const standby = plan.serving.standby;
  const outcomes = await runCommitSteps(
    run.deps.s3,
    steps,
    `The candidate serves on the live endpoint "${env.LIVE_ENDPOINT}"` +
      (standby === null
        ? '.'
        : ` and the standby endpoint "${env.STANDBY_ENDPOINT}" holds the previous model.`),
  );
  logger.info('promoted', { modelVersion: plan.record.modelVersion, outcomes });

  // The platform learns of the new model: the router's flag and the confidence alarm's floor.
  let liveModel: string[];
  try {
    const liveEnv = promotionLiveEnv();
    const floor = confidenceFloor(plan.evalReport, run.settings);
    liveModel = [
      await pointFlagAtRelease(run.deps.appconfig, liveEnv, {
        model: run.settings.model,
        modelVersion: plan.record.modelVersion,
        executionId: params.executionId,
        now: new Date(plan.record.promotedAt),
      }),
      await rebaselineConfidenceAlarm(
        { cloudwatch: run.deps.cloudwatch, s3: run.deps.s3 },
        {
          alarmName: liveEnv.CONFIDENCE_ALARM_NAME,
          rollbackActionArn: liveEnv.CONFIDENCE_ROLLBACK_ACTION_ARN,
          bucket: env.ARTIFACTS_BUCKET,
          model: run.settings.model,
          modelVersion: plan.record.modelVersion,
          servedSince: new Date(plan.record.promotedAt),
          evalMean: floor.mean,
          provisionalStdDev: run.settings.monitoring.confidenceAlarm.provisionalStdDev,
          by: `promotion ${params.executionId}`,
        },
      ),
    ];
  } catch (error) {
    throw new StageFailure(
      `Promotion written (release record, serving state, baseline), but the platform was not told: ${(error as Error).message}. ` +
        'Until it is, the router may still send traffic by the previous flag and the confidence alarm watches the ' +
        "previous model's floor. Retrying the stage completes it; what is done stays done.",
      { cause: error },
    );
  }

  const earlier = (i: number) =>
    outcomes[i] === 'already done' ? ' (already written by an earlier attempt)' : '';
  return {
    status: 'succeeded',
    summary: [
      `Promoted ${plan.record.modelVersion} (execution ${params.executionId}): the live endpoint ` +
        `"${env.LIVE_ENDPOINT}" serves config "${canary.candidateConfigName}".`,
      standby === null
        ? 'Standby now serves nothing (first release).'
        : `Standby now serves ${standby.modelVersion} (execution ${standby.executionId}) on ` +
          `"${standby.endpointName}" with config "${standby.configName}".`,
      `Baseline updated: ${url(keys.baseline)}${earlier(steps.length - 1)}; the artifacts bucket is versioned with Object Lock, so ` +
        'every earlier baseline is kept as a version.',
      ...plan.predictionSteps.map((p, i) => `Kept with it: the ${p.what} ${url(p.key)}${earlier(2 + i)}.`),
      `Serving state: ${url(keys.serving)}${earlier(1)}.`,
      `Release record: ${url(keys.record)}${earlier(0)}.`,
      ...liveModel.map((line) => `${line.charAt(0).toUpperCase()}${line.slice(1)}.`),
    ].join('\n'),
    outputVariables: { ReleaseRecord: url(keys.record) },
  };
}

function failed(message: string): JobOutcome {
  return { status: 'failed', message };
}

/** The fields that say which release a record is about; the others (the gates' wording) may be reworded. */
function releaseDifferences(stored: ReleaseRecord, built: ReleaseRecord): string[] {
  const keys = [
    'model',
    'modelVersion',
    'modelArtifactSha256',
    'evalSetMd5s',
    'evalReport',
    'previousConfigName',
    'candidateConfigName',
  ] as const;
  return keys.filter((k) => JSON.stringify(stored[k]) !== JSON.stringify(built[k]));
}

/** Whether a serving state written for this execution states this canary's configs. */
function servesThisRelease(state: ServingState, canary: CanaryRecord): boolean {
  return (
    state.live.configName === canary.candidateConfigName &&
    (state.standby?.liveConfigName ?? null) === canary.previousConfigName
  );
}

let defaults: Deps | undefined;

/** Clients created once per container. */
export function defaultDeps(): Deps {
  defaults ??= { ...servingDeps(), appconfig: lazy(() => new AppConfigClient({})) };
  return defaults;
}

export const handler = createHandler(defaultDeps());
