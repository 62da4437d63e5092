/**
 * The live variant's autoscaling around a rollback. SageMaker refuses an update that changes the
 * instance type of a variant registered with Application Auto Scaling: the scaling policy is
 * deleted and the variant deregistered first, and both are registered again once the update has
 * ended (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). Changing
 * only the model is allowed while registered, so a rollback that keeps the instance type leaves
 * autoscaling alone.
 */
import {
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  type ApplicationAutoScalingClient,
} from '@aws-sdk/client-application-auto-scaling';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import {
  LIVE_VARIANT,
  scalableTargetSpec,
  scalingPolicySpec,
  type ServingSettings,
} from '../core/serving/endpoint-spec';
import { describeEndpointConfig } from '../shared/serving';

export type AutoscalingSettings = Pick<ServingSettings, 'autoscaling'>;

/** The instance type of the live variant in `from` and in `to`, when they differ; else undefined. */
export async function instanceTypeChange(
  sagemaker: SageMakerClient,
  from: string,
  to: string,
): Promise<{ readonly from: string; readonly to: string } | undefined> {
  const typeOf = async (config: string) =>
    (await describeEndpointConfig(sagemaker, config)).ProductionVariants?.find(
      (v) => v.VariantName === LIVE_VARIANT,
    )?.InstanceType ?? 'unknown';
  const [a, b] = await Promise.all([typeOf(from), typeOf(to)]);
  return a === b ? undefined : { from: a, to: b };
}

/** Deletes the scaling policy and deregisters the live variant; absent ones are fine (a retry). */
export async function suspendAutoscaling(
  autoscaling: ApplicationAutoScalingClient,
  settings: AutoscalingSettings,
  endpointName: string,
): Promise<void> {
  const policy = scalingPolicySpec(settings, endpointName);
  const target = {
    ServiceNamespace: policy.ServiceNamespace,
    ResourceId: policy.ResourceId,
    ScalableDimension: policy.ScalableDimension,
  };
  const ignoreAbsent = (error: unknown) => {
    if ((error as Error).name !== 'ObjectNotFoundException') throw error;
  };
  await autoscaling
    .send(new DeleteScalingPolicyCommand({ ...target, PolicyName: policy.PolicyName }))
    .catch(ignoreAbsent);
  await autoscaling.send(new DeregisterScalableTargetCommand(target)).catch(ignoreAbsent);
}

/**
 * Registers the live variant and its target-tracking policy from the model's config, unless a
 * registration exists (an operator's own limits are kept). Returns what it did.
 */
export async function ensureAutoscaling(
  autoscaling: ApplicationAutoScalingClient,
  settings: AutoscalingSettings,
  endpointName: string,
): Promise<'registered' | 'already registered'> {
  const target = scalableTargetSpec(settings, endpointName);
  const found = await autoscaling.send(
    new DescribeScalableTargetsCommand({
      ServiceNamespace: target.ServiceNamespace,
      ResourceIds: [target.ResourceId],
      ScalableDimension: target.ScalableDimension,
    }),
  );
  if ((found.ScalableTargets ?? []).length > 0) return 'already registered';
  await autoscaling.send(new RegisterScalableTargetCommand(target));
  await autoscaling.send(new PutScalingPolicyCommand(scalingPolicySpec(settings, endpointName)));
  return 'registered';
}
