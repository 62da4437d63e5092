/**
 * What the canary stage tells a person, as pure functions of what it saw: the handler does the I/O
 * and these say what happened, what state the live endpoint is in now, and what to do.
 */
import type { CanaryStep, EndpointDescription } from '../core/serving/canary';

/** How the stage refers to one release attempt in its messages. */
export interface ReleaseAttempt {
  readonly endpointName: string;
  /** The candidate's endpoint config. */
  readonly candidateConfig: string;
  /** The config that served before; null on a first release. */
  readonly previousConfig: string | null;
}

/** The live endpoint is not InService when the stage starts: nothing is changed. */
export function endpointBusyMessage(endpointName: string, describe: EndpointDescription): string {
  const status = describe.EndpointStatus ?? 'missing a status';
  const reason = describe.FailureReason?.trim() || 'none given';
  const config = describe.EndpointConfigName ? ` (config "${describe.EndpointConfigName}")` : '';
  const head = `Canary not started: the live endpoint "${endpointName}"${config} is ${status}`;
  const done = 'Nothing was changed.';
  switch (status) {
    case 'Creating':
    case 'Updating':
      return `${head}: another deployment is in progress. ${done} Retry the stage once it is InService.`;
    case 'SystemUpdating':
      return `${head}: SageMaker is maintaining it. ${done} Retry the stage once it is InService.`;
    case 'RollingBack':
      return `${head}: a rollback is in progress. ${done} Retry the stage once it is InService.`;
    case 'Failed':
      return (
        `${head} (FailureReason: ${reason}). ${done} A Failed endpoint cannot take an update: fix the cause ` +
        'the FailureReason names and bring the endpoint back InService (or delete it, so that the next ' +
        'release creates it again), then retry the stage.'
      );
    case 'UpdateRollbackFailed':
      return (
        `${head} (FailureReason: ${reason}): an earlier deployment and its rollback both failed, so it may ` +
        `serve a mix of configs. ${done} An operator must bring it back InService (check DescribeEndpoint ` +
        'ProductionVariants, run the rollback), then retry the stage.'
      );
    default:
      return `${head}. ${done} Retry the stage once it is InService.`;
  }
}

/** The live endpoint's config has no production variant named `live`: a blue/green update would be refused. */
export function noLiveVariantMessage(
  endpointName: string,
  describe: EndpointDescription,
  liveVariant: string,
): string {
  const variants = (describe.ProductionVariants ?? []).map((v) => `"${v.VariantName ?? '?'}"`);
  return (
    `Canary not started: the live endpoint "${endpointName}" serves config "${describe.EndpointConfigName ?? 'unknown'}" ` +
    `with production variant(s) ${variants.join(', ') || 'none'}, not one named "${liveVariant}", and a ` +
    'blue/green update must keep the variant names. Nothing was changed. Put a config whose production ' +
    `variant is named "${liveVariant}" back on the endpoint (the previous release's live config, or run the ` +
    'rollback), then retry the stage.'
  );
}

/**
 * A failed poll of a first release. canaryStep speaks of rollbacks and the standby endpoint, which a
 * first release has neither of; its timeout and unknown-status messages hold as they are.
 */
export function firstReleaseFailure(
  attempt: ReleaseAttempt,
  describe: EndpointDescription,
  step: Extract<CanaryStep, { kind: 'fail' }>,
): string {
  const reason = describe.FailureReason?.trim() || 'none given';
  const endpoint = `endpoint "${attempt.endpointName}"`;
  if (describe.EndpointStatus === 'Failed') {
    return (
      `First release failed: creating ${endpoint} with config "${attempt.candidateConfig}" failed ` +
      `(FailureReason: ${reason}). Nothing served before this release, so no traffic is affected. Fix the ` +
      `cause the FailureReason names (often the model image, the artifact, or the instance quota), delete ` +
      `the failed endpoint (aws sagemaker delete-endpoint --endpoint-name ${attempt.endpointName}), then ` +
      'rerun the release.'
    );
  }
  if (describe.EndpointStatus === 'InService' && describe.EndpointConfigName !== attempt.candidateConfig) {
    return (
      `First release failed: ${endpoint} was created with config "${attempt.candidateConfig}" but now serves ` +
      `"${describe.EndpointConfigName ?? 'unknown'}": something else updated it while this stage waited. ` +
      'Find who did (CloudTrail UpdateEndpoint events on the endpoint), then rerun the release.'
    );
  }
  return `First release: ${step.message}`;
}

/** The live endpoint disappeared while the stage polled it. */
export function endpointGoneMessage(attempt: ReleaseAttempt): string {
  const before =
    attempt.previousConfig === null
      ? 'It was being created by this release'
      : `It was being updated from config "${attempt.previousConfig}"`;
  return (
    `Canary failed: the live endpoint "${attempt.endpointName}" no longer exists; it was deleted while this ` +
    `stage waited. ${before} to "${attempt.candidateConfig}". Nothing serves the live endpoint's callers now: ` +
    'run the rollback if a standby endpoint exists, then rerun the release, which creates the live endpoint again.'
  );
}

/** The canary passed, but what must follow (autoscaling, the record) did not happen. */
export function liveButIncompleteMessage(attempt: ReleaseAttempt, what: string, fix: string): string {
  return (
    `The candidate config "${attempt.candidateConfig}" IS live on endpoint "${attempt.endpointName}" (the ` +
    `canary passed), but ${what}. ${fix} Then retry the stage: it finds the candidate live, changes nothing ` +
    'on the endpoint, and finishes the autoscaling and the canary record.'
  );
}

/** What a person sees while the stage waits. */
export function waitSummary(attempt: ReleaseAttempt, reason: string, polls: number): string {
  const what =
    attempt.previousConfig === null
      ? `First release of config "${attempt.candidateConfig}" on "${attempt.endpointName}"`
      : `Canary of config "${attempt.candidateConfig}" on "${attempt.endpointName}"`;
  return `${what}: ${reason} (poll ${polls}).`;
}

/** A first release passed: the live endpoint exists, with the candidate. */
export function firstReleaseSummary(attempt: ReleaseAttempt, describe: EndpointDescription): string {
  const variants = (describe.ProductionVariants ?? [])
    .map((v) => `${v.VariantName ?? '?'} ${v.CurrentInstanceCount ?? '?'} instance(s)`)
    .join(', ');
  return (
    `First release: the live endpoint "${attempt.endpointName}" is InService with the candidate config ` +
    `"${attempt.candidateConfig}"${variants ? ` (variants: ${variants})` : ''}. No canary ran: nothing ` +
    'served before this release.'
  );
}
