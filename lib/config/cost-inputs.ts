import type { ServingDeployment } from '../../lambdas/core/cost';
import type { ModelConfig } from './schema';

/**
 * What a model's config costs to serve: the live fleet at its initial size, the warm standby
 * (always on), and the shadow variant for its window at every release.
 */
export function servingDeployment(model: Pick<ModelConfig, 'cost' | 'serving'>): ServingDeployment {
  const { pricing, releasesPerMonth } = model.cost;
  if (pricing.kind === 'token') {
    return {
      kind: 'token',
      model: pricing.model,
      avgInputTokens: pricing.avgInputTokens,
      avgOutputTokens: pricing.avgOutputTokens,
    };
  }
  const { serving } = model;
  return {
    kind: 'sagemaker',
    instanceType: serving.instanceType,
    instanceCount: serving.initialInstanceCount,
    standby: {
      instanceType: serving.standby.instanceType ?? serving.instanceType,
      instanceCount: serving.standby.instanceCount,
    },
    shadow: {
      instanceType: serving.instanceType,
      instanceCount: serving.shadow.instanceCount,
      hoursPerMonth: Math.min(744, (serving.shadow.windowMinutes / 60) * releasesPerMonth),
    },
  };
}
