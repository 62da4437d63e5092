/**
 * Whether the standby endpoint can carry everyone while a rollback bridges users to it. The standby
 * is sized to its minimum (one small fleet kept warm); the live fleet is sized by autoscaling to
 * the traffic. Its capacity is counted the way autoscaling counts it: instances times the target
 * invocations per instance per minute (config `serving.autoscaling.targetInvocationsPerInstance`).
 */

export interface StandbyCapacityInput {
  /** Requests per minute the live endpoint took before the rollback (mean of the last minutes); null when unknown. */
  readonly perMinute: number | null;
  /** The standby's instances in service; null when unknown. */
  readonly standbyInstances: number | null;
  readonly targetPerInstance: number;
  readonly standbyEndpoint: string;
  readonly liveEndpoint: string;
  /** The version the standby serves. */
  readonly version: string;
}

/**
 * The page's words when the standby may lack capacity for everyone, or null when it has it. An
 * unknown rate or fleet is said as such: the person paged decides, not a guess.
 */
export function standbyCapacityWarning(input: StandbyCapacityInput): string | null {
  const { perMinute, standbyInstances, targetPerInstance } = input;
  const bridge =
    `until the live endpoint "${input.liveEndpoint}" is in service on ${input.version} (then the router moves ` +
    'everyone back to it on its own)';
  const watch =
    `Watch the standby's ModelLatency and Invocation5XXErrors; to add capacity, raise its instance count: aws ` +
    `sagemaker update-endpoint-weights-and-capacities --endpoint-name ${input.standbyEndpoint} ` +
    `--desired-weights-and-capacities VariantName=standby,DesiredInstanceCount=<n>.`;
  if (perMinute === null || standbyInstances === null) {
    return (
      `The standby endpoint "${input.standbyEndpoint}" now carries everyone ${bridge}, and its capacity could not be ` +
      `checked (${perMinute === null ? 'the live traffic rate' : "the standby's instance count"} could not be read). ${watch}`
    );
  }
  const capacity = standbyInstances * targetPerInstance;
  if (perMinute <= capacity) return null;
  const needed = Math.ceil(perMinute / targetPerInstance);
  return (
    `The standby endpoint "${input.standbyEndpoint}" lacks capacity: it has ${standbyInstances} instance(s), about ` +
    `${capacity} requests per minute at the autoscaling target of ${targetPerInstance} per instance, and now carries ` +
    `everyone, about ${Math.round(perMinute)} requests per minute (${needed} instance(s) at the target), ${bridge}. ` +
    `Expect higher latency or errors meanwhile. ${watch}`
  );
}
