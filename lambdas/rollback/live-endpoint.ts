/**
 * Puts the N-1 config back on the live endpoint: waits out an update already in progress (within
 * the invocation's time), then UpdateEndpoint without DeploymentConfig (leaving a bad model, there
 * is nothing to canary) keeping the current fleet size, retrying throttling and other transient
 * refusals (a 5xx, a timeout). Never throws: every failure is an outcome.
 */
import { UpdateEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { KEEP_FLEET_SIZE } from '../core/serving/endpoint-spec';
import { liveEndpointStep, type EndpointOutcome, type EndpointSeen } from '../core/serving/rollback';
import { isEndpointBusyRefusal, isTransientError } from '../core/serving/transient-error';
import { describeEndpoint } from '../shared/serving';

export interface LiveEndpointOptions {
  readonly sagemaker: SageMakerClient;
  readonly endpointName: string;
  /** N-1's config on the live endpoint (`standby.liveConfigName` of the serving state). */
  readonly targetConfig: string;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /** Epoch ms after which the function stops waiting for a busy endpoint. */
  readonly deadlineMs: number;
  /** @default POLL_INTERVAL_MS */
  readonly pollMs?: number;
  readonly log: (message: string, attributes: Record<string, unknown>) => void;
  /**
   * Runs once, right before the first UpdateEndpoint, with the config the endpoint serves then (the
   * autoscaling step of an instance type change). A throw fails the step without an update.
   */
  readonly prepareUpdate?: (currentConfig: string | undefined) => Promise<void>;
  /**
   * Runs on each look at a busy endpoint, before the wait (stopping a candidate's deployment: the
   * request is repeated until SageMaker rolls back). Must not throw.
   */
  readonly onBusy?: (status: string) => Promise<void>;
}

/** Between two looks at a busy endpoint. */
export const POLL_INTERVAL_MS = 15_000;
/** Waits between throttled calls; SageMaker's control plane throttles at a few calls per second. */
export const THROTTLE_DELAYS_MS = [1000, 2000, 4000, 8000];

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException']);

export function isThrottling(error: unknown): boolean {
  return THROTTLING.has((error as Error | undefined)?.name ?? '');
}

export type LiveEndpointResult = EndpointOutcome & { readonly statusSeen: string | null };

export async function putPreviousConfigLive(options: LiveEndpointOptions): Promise<LiveEndpointResult> {
  const { sagemaker, endpointName, targetConfig, now, sleep, deadlineMs, log } = options;
  const pollMs = options.pollMs ?? POLL_INTERVAL_MS;
  const started = now().getTime();
  const waited = () => Math.round((now().getTime() - started) / 1000);
  /** Calls refused for now (throttled, 5xx, timeout) and waited out so far. */
  let throttled = 0;
  let allThrottled = true;
  let lastStatus: string | null = null;
  let prepared = false;

  for (;;) {
    let seen: EndpointSeen | undefined;
    try {
      const d = await describeEndpoint(sagemaker, endpointName);
      seen = d && {
        status: d.EndpointStatus,
        configName: d.EndpointConfigName,
        failureReason: d.FailureReason,
      };
    } catch (error) {
      // Throttling, and a 5xx or timeout the SDK's own retries did not get past: waited out the same
      // way (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
      if (isTransientError(error) && throttled < THROTTLE_DELAYS_MS.length) {
        if (!isThrottling(error)) allThrottled = false;
        await sleep(THROTTLE_DELAYS_MS[throttled++]!);
        continue;
      }
      return failed(`DescribeEndpoint failed: ${describe(error)}`, lastStatus);
    }
    lastStatus = seen?.status ?? null;
    const step = liveEndpointStep(seen, endpointName, targetConfig);
    switch (step.action) {
      case 'already':
        return { outcome: 'already', statusSeen: lastStatus };
      case 'cannot':
        return failed(step.why, lastStatus);
      case 'wait':
        if (options.onBusy) await options.onBusy(step.status);
        if (now().getTime() + pollMs > deadlineMs) {
          return { outcome: 'pending', status: step.status, waitedSeconds: waited(), statusSeen: lastStatus };
        }
        log('rollback: the live endpoint is busy; waiting', {
          endpointName,
          status: step.status,
          waitedSeconds: waited(),
        });
        await sleep(pollMs);
        continue;
      case 'update':
        break;
    }
    if (!prepared && options.prepareUpdate) {
      try {
        await options.prepareUpdate(seen?.configName);
      } catch (error) {
        return failed(`not updated: ${describe(error)}`, lastStatus);
      }
    }
    prepared = true;

    try {
      await sagemaker.send(
        new UpdateEndpointCommand({
          EndpointName: endpointName,
          EndpointConfigName: targetConfig,
          ...KEEP_FLEET_SIZE,
        }),
      );
      return { outcome: 'update-started', at: now(), waitedSeconds: waited(), statusSeen: lastStatus };
    } catch (error) {
      if (isTransientError(error) && throttled < THROTTLE_DELAYS_MS.length) {
        if (!isThrottling(error)) allThrottled = false;
        log('rollback: UpdateEndpoint refused for now; retrying', {
          endpointName,
          attempt: throttled + 1,
          error: describe(error),
        });
        await sleep(THROTTLE_DELAYS_MS[throttled++]!);
        continue;
      }
      if (isEndpointBusyRefusal(error)) {
        // Another update started between DescribeEndpoint and UpdateEndpoint: wait it out as well.
        if (now().getTime() + pollMs > deadlineMs) {
          return { outcome: 'pending', status: 'Updating', waitedSeconds: waited(), statusSeen: lastStatus };
        }
        await sleep(pollMs);
        continue;
      }
      const tries =
        throttled > 0
          ? ` (after ${throttled} ${allThrottled ? 'throttled' : 'throttled or unavailable'} attempt(s))`
          : '';
      return failed(
        `UpdateEndpoint to config "${targetConfig}" failed${tries}: ${describe(error)}`,
        lastStatus,
      );
    }
  }
}

function failed(detail: string, statusSeen: string | null): LiveEndpointResult {
  return { outcome: 'failed', detail, statusSeen };
}

export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
