/**
 * The standby refresh: the model that served live before this release goes, warm, onto the standby
 * endpoint, so a rollback can send traffic to it without starting an instance. Each invocation
 * looks at the standby endpoint and does the one thing that moves it toward the target config:
 * create it, update it, or wait. A retried stage therefore picks up where the last one stopped.
 */
import {
  CreateEndpointCommand,
  UpdateEndpointCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { LIVE_VARIANT } from '../core/serving/endpoint-spec';
import { describeEndpoint, describeEndpointConfig, isNotFound } from '../shared/serving';
import { StageFailure } from './failure';

/** How long the stage waits for the standby endpoint before it gives up (a GPU endpoint takes ~10 min). */
export const STANDBY_REFRESH_TIMEOUT_SECONDS = 60 * 60;

/** The fields of `DescribeEndpoint` the decision reads (structurally compatible with the SDK's output). */
export interface StandbyDescription {
  readonly EndpointStatus?: string;
  readonly EndpointConfigName?: string;
  readonly FailureReason?: string;
}

/** What the stage does about the standby endpoint after one look at it. */
export type StandbyStep =
  | { readonly kind: 'ready' }
  | { readonly kind: 'create' }
  | { readonly kind: 'update'; readonly from: string }
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'fail'; readonly message: string };

/** Which endpoint gets which config, and what the messages say about the live endpoint. */
export interface StandbyTarget {
  /** The model's name from its config, tagged on the endpoint. */
  readonly model: string;
  readonly standbyEndpoint: string;
  readonly standbyConfigName: string;
  readonly liveEndpoint: string;
  /**
   * What a failure leaves unchanged, for its message. Defaults to promotion's situation (the
   * candidate live, nothing promoted); the canary stage, which refreshes the standby before it
   * touches the live endpoint, says so instead.
   */
  readonly unchanged?: string;
}

const TRANSITIONAL = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting']);

/**
 * Decides the next move from one `DescribeEndpoint` of the standby (undefined: it does not exist).
 * `waitedSeconds` is set when this invocation continues a refresh the stage started (a continuation
 * token): then an endpoint back InService on another config means the refresh was rolled back, and
 * the stage fails instead of trying again on its own; a retried stage (no token) updates again.
 */
export function standbyStep(
  target: StandbyTarget,
  describe: StandbyDescription | undefined,
  waitedSeconds: number | undefined,
): StandbyStep {
  const standby = `the standby endpoint "${target.standbyEndpoint}"`;
  const unchanged =
    target.unchanged ??
    `the candidate serves on the live endpoint "${target.liveEndpoint}"; the baseline was NOT updated and ` +
      'no release record or serving state was written';
  if (describe === undefined) return { kind: 'create' };
  const status = describe.EndpointStatus ?? 'missing';
  const config = describe.EndpointConfigName ?? 'unknown';
  const reason = describe.FailureReason?.trim() || 'none given';

  if (status === 'InService') {
    if (config === target.standbyConfigName) return { kind: 'ready' };
    if (waitedSeconds === undefined) return { kind: 'update', from: config };
    return {
      kind: 'fail',
      message:
        `Standby refresh failed (FailureReason: ${reason}): ${unchanged}; ${standby} still holds config ` +
        `"${config}", not "${target.standbyConfigName}". Retry the stage: it updates the standby again.`,
    };
  }
  if (TRANSITIONAL.has(status)) {
    const what = `${standby} is ${status} (config "${config}")`;
    const waited = waitedSeconds ?? 0;
    if (waited > STANDBY_REFRESH_TIMEOUT_SECONDS) {
      return {
        kind: 'fail',
        message:
          `Standby refresh timed out after ${formatDuration(waited)} (limit ${formatDuration(STANDBY_REFRESH_TIMEOUT_SECONDS)}): ` +
          `${what}; ${unchanged}. SageMaker may still finish: retry the stage once DescribeEndpoint shows ` +
          `"${target.standbyEndpoint}" InService.`,
      };
    }
    return {
      kind: 'wait',
      reason: `${what}; waited ${formatDuration(waited)} of ${formatDuration(STANDBY_REFRESH_TIMEOUT_SECONDS)}`,
    };
  }
  if (status === 'Failed') {
    return {
      kind: 'fail',
      message:
        `Standby refresh failed (FailureReason: ${reason}): ${unchanged}; ${standby} is Failed (config ` +
        `"${config}") and serves nothing. Fix the cause the FailureReason names (often the instance quota), ` +
        `delete the Failed endpoint (aws sagemaker delete-endpoint --endpoint-name ${target.standbyEndpoint}), ` +
        'then retry the stage: it creates the standby again.',
    };
  }
  if (status === 'UpdateRollbackFailed') {
    return {
      kind: 'fail',
      message:
        `Standby refresh failed and needs an operator: both the update of ${standby} and SageMaker's rollback ` +
        `failed (FailureReason: ${reason}), so it may serve a mix of models; ${unchanged}. Check DescribeEndpoint ` +
        'of the standby; unless a rollback sends traffic to it, delete it and retry the stage.',
    };
  }
  return {
    kind: 'fail',
    message:
      `Standby refresh failed: ${standby} has status "${status}" (config "${config}"), which promotion cannot ` +
      `act on; ${unchanged}. Check whether someone changed the endpoint by hand; once it is InService or ` +
      'deleted, retry the stage.',
  };
}

/** The model of the previous live config's `live` variant: what the standby must keep warm. */
export async function previousLiveModel(
  sagemaker: SageMakerClient,
  previousConfigName: string,
): Promise<string> {
  let variants: readonly { VariantName?: string; ModelName?: string }[];
  try {
    variants = (await describeEndpointConfig(sagemaker, previousConfigName)).ProductionVariants ?? [];
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new StageFailure(
      `the previous live config "${previousConfigName}" no longer exists, so promotion cannot tell which model ` +
        'to keep warm on the standby endpoint; it must not be deleted while it is the rollback target. ' +
        'Nothing promoted: restore it (same name, the previous model as variant "live") and retry the stage.',
      { cause: error },
    );
  }
  const live = variants.find((v) => v.VariantName === LIVE_VARIANT);
  if (!live?.ModelName) {
    const names = variants.map((v) => v.VariantName ?? '?').join(', ') || 'none';
    throw new StageFailure(
      `the previous live config "${previousConfigName}" has no production variant "${LIVE_VARIANT}" (variants: ` +
        `${names}); it was not made by this platform. Nothing promoted: put a config made by the release ` +
        'pipeline back on the live endpoint, or release again.',
    );
  }
  return live.ModelName;
}

/** Describes the standby endpoint and does the step's SageMaker call, if any. */
export async function advanceStandby(
  sagemaker: SageMakerClient,
  target: StandbyTarget,
  waitedSeconds: number | undefined,
): Promise<StandbyStep> {
  const step = standbyStep(target, await describeEndpoint(sagemaker, target.standbyEndpoint), waitedSeconds);
  if (step.kind === 'create') {
    await sagemaker.send(
      new CreateEndpointCommand({
        EndpointName: target.standbyEndpoint,
        EndpointConfigName: target.standbyConfigName,
        Tags: [{ Key: 'Model', Value: target.model }],
      }),
    );
  } else if (step.kind === 'update') {
    // No DeploymentConfig: the standby takes no traffic while it is refreshed, so there is nothing to guard.
    await sagemaker.send(
      new UpdateEndpointCommand({
        EndpointName: target.standbyEndpoint,
        EndpointConfigName: target.standbyConfigName,
      }),
    );
  }
  return step;
}

/** "45 s", "12 min", "1 h 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}
