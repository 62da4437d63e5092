/**
 * The canary's commit of the serving state (issue 11: close the canary-to-promotion window).
 *
 * Once the canary passes, the live endpoint serves the candidate N; from that moment the platform
 * must describe N, not wait for Promotion (which may be minutes away, or never run when a run is
 * stopped): else a rollback returns to N-2, the router labels N's answers as N-1's and the
 * confidence alarm judges N by N-1's band. So the canary stage itself, in this order:
 * 1. `serving/state.json`: N live, N-1 on the standby (warmed before the canary, ./standby.ts);
 * 2. the flag: stable → N on the live endpoint, so predictions are labelled N;
 * 3. the confidence alarm: N's band, provisional around its production-like eval mean until its
 *    own live baseline exists.
 * Each step compares what exists with what it would write and changes only what differs, so a
 * retried stage (which finds the candidate live) finishes what an earlier attempt left. What is
 * left for Promotion is what belongs to "accepted": the release record, the baseline report and
 * its per-example results.
 */
import type { AppConfigClient } from '@aws-sdk/client-appconfig';
import { artifactKeys, type ReleaseSettings } from '../core/contracts/release-settings';
import { parseEvalReport } from '../core/gates/eval-report';
import {
  parseServingRecord,
  SERVING_RECORD_SCHEMA_VERSION,
  servingStateSchema,
  type ServingState,
} from '../core/serving/serving-records';
import { identifyStandbyModel, recordText } from '../promotion/commit';
import { confidenceFloor, pointFlagAtRelease, promotionLiveEnv } from '../promotion/live-model';
import { readOptionalText } from '../promotion/records';
import { previousLiveModel } from '../promotion/standby';
import { rebaselineConfidenceAlarm } from '../shared/confidence-alarm';
import { putRunRecord } from '../shared/run-records';
import { FlagDeploymentInProgress } from '../shared/flag-writer';
import { isTransientError } from '../core/serving/transient-error';
import { describeEndpoint, describeEndpointConfig, type ServingDeps } from '../shared/serving';

export interface CommitInput {
  readonly deps: ServingDeps & { readonly appconfig: AppConfigClient };
  readonly settings: ReleaseSettings;
  readonly bucket: string;
  readonly executionId: string;
  /** The candidate's version (the commit). */
  readonly modelVersion: string;
  readonly liveEndpoint: string;
  readonly standbyEndpoint: string;
  readonly candidateModelName: string;
  readonly candidateConfigName: string;
  /** The config that served before; null on a first release. */
  readonly previousConfigName: string | null;
  /** The standby config this run refreshed before the canary. */
  readonly standbyConfigName: string;
}

/** Thrown with what is done and what is not; the stage fails with it, and a retry finishes. */
export class CommitIncomplete extends Error {
  override readonly name = 'CommitIncomplete';
  /**
   * True when a moment later is likely to succeed: a transient AWS failure, or another flag
   * deployment in progress (it ends within its strategy's duration).
   */
  readonly retryLater: boolean;
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.retryLater = isTransientError(options.cause) || options.cause instanceof FlagDeploymentInProgress;
  }
}

/** Runs the three steps; returns one line per step for the stage's summary. */
export async function commitServing(input: CommitInput): Promise<string[]> {
  const done: string[] = [];
  const step = async (what: string, run: () => Promise<string>) => {
    try {
      done.push(await run());
    } catch (error) {
      throw new CommitIncomplete(
        `the ${what} could not be updated: ${(error as Error).message}` +
          (done.length > 0 ? ` (done: ${done.join('; ')})` : ''),
        { cause: error },
      );
    }
  };
  await step('serving state', () => writeServingState(input));
  const liveEnv = promotionLiveEnv();
  await step('flag', async () => {
    const point = () =>
      pointFlagAtRelease(input.deps.appconfig, liveEnv, {
        model: input.settings.model,
        modelVersion: input.modelVersion,
        executionId: input.executionId,
        now: input.deps.now(),
      });
    try {
      return await point();
    } catch (error) {
      if (isTransientError(error) || error instanceof FlagDeploymentInProgress) throw error;
      // A refused StartDeployment leaves the version stored: the second try deploys that version
      // (pointFlagAtRelease checks stored against deployed) instead of storing another.
      return point();
    }
  });
  await step('confidence alarm', async () => {
    const text = await readOptionalText(
      input.deps.s3,
      input.bucket,
      artifactKeys.evalReport(input.settings.model, input.executionId),
    );
    if (text === undefined) throw new Error("this run's eval report is missing");
    const report = parseEvalReport(text, `the eval report of execution ${input.executionId}`);
    const floor = confidenceFloor(report, input.settings);
    return rebaselineConfidenceAlarm(
      { cloudwatch: input.deps.cloudwatch, s3: input.deps.s3 },
      {
        alarmName: liveEnv.CONFIDENCE_ALARM_NAME,
        rollbackActionArn: liveEnv.CONFIDENCE_ROLLBACK_ACTION_ARN,
        bucket: input.bucket,
        model: input.settings.model,
        modelVersion: input.modelVersion,
        servedSince: input.deps.now(),
        evalMean: floor.mean,
        provisionalStdDev: input.settings.monitoring.confidenceAlarm.provisionalStdDev,
        by: `canary ${input.executionId}`,
      },
    );
  });
  return done;
}

/** The serving state once the candidate serves: N live, N-1 on the standby; unless already written. */
async function writeServingState(input: CommitInput): Promise<string> {
  const { deps, bucket, settings } = input;
  const key = artifactKeys.servingState(settings.model);
  const url = `s3://${bucket}/${key}`;
  const storedText = await readOptionalText(deps.s3, bucket, key);
  const stored =
    storedText === undefined ? undefined : parseServingRecord(servingStateSchema, storedText, url);
  if (
    stored?.live.executionId === input.executionId &&
    stored.live.configName === input.candidateConfigName &&
    (stored.standby?.liveConfigName ?? null) === input.previousConfigName
  ) {
    return `the serving state ${url} already names ${input.modelVersion} live`;
  }
  let standby: ServingState['standby'] = null;
  if (input.previousConfigName !== null) {
    const modelName = await previousLiveModel(deps.sagemaker, input.previousConfigName);
    const model = await identifyStandbyModel(deps.sagemaker, stored, input.previousConfigName, modelName);
    standby = {
      endpointName: input.standbyEndpoint,
      configName: await standbyConfigHolding(input, modelName),
      modelName,
      modelVersion: model.modelVersion,
      executionId: model.executionId,
      liveConfigName: input.previousConfigName,
    };
  }
  const state: ServingState = {
    schemaVersion: SERVING_RECORD_SCHEMA_VERSION,
    model: settings.model,
    live: {
      endpointName: input.liveEndpoint,
      configName: input.candidateConfigName,
      modelName: input.candidateModelName,
      modelVersion: input.modelVersion,
      executionId: input.executionId,
    },
    standby,
    updatedAt: deps.now().toISOString(),
    updatedBy: `canary ${input.executionId}`,
  };
  await putRunRecord(deps.s3, bucket, key, recordText(servingStateSchema.parse(state)), 'serving state');
  return (
    `the serving state ${url} names ${input.modelVersion} live` +
    (standby === null ? ' (no standby: first release)' : ` and ${standby.modelVersion} on the standby`)
  );
}

/**
 * The standby config that holds N-1: this run's, unless the standby kept an earlier config with
 * that model (after a rollback it already held what went back live, ./standby.ts).
 */
async function standbyConfigHolding(input: CommitInput, modelName: string): Promise<string> {
  const seen = await describeEndpoint(input.deps.sagemaker, input.standbyEndpoint);
  const config = seen?.EndpointConfigName;
  if (config !== undefined && config !== input.standbyConfigName) {
    const variants = (await describeEndpointConfig(input.deps.sagemaker, config)).ProductionVariants ?? [];
    if (variants.some((v) => v.ModelName === modelName)) return config;
  }
  return input.standbyConfigName;
}
