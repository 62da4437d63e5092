/**
 * Things a valid config may still get wrong: printed by `mlops validate-config` (and under
 * `warnings` in its `--json`), never a reason to refuse the config, so its exit code stays 0.
 */
import {
  detectabilityWarning,
  requestsPerMinuteOfMonthly,
} from '../../lambdas/core/monitoring/confidence-alarm';
import { estimateCost, formatMoney } from '../../lambdas/core/monitoring/cost';
import { servingDeployment } from '../../lambdas/core/monitoring/cost';
import type { ConfigProblem } from './problems';
import { modelStackId } from './resource-names';
import type { ModelConfig, PlatformConfig } from '../../lambdas/core/contracts/config-schema';

/** Where a key of a model file is: its file, and its line when the file has one. */
export type ModelLocator = (
  model: ModelConfig,
  path: readonly (string | number)[],
) => { file: string; line?: number };

export type ConfigWarning = ConfigProblem;

/** The cost alarm fires when the estimate is above `cost.monthlyBudget`: above it from the start, it fires on day one. */
function budgetWarning(config: PlatformConfig, model: ModelConfig, at: ModelLocator): ConfigWarning[] {
  const budget = model.cost.monthlyBudget;
  if (budget === undefined) return [];
  const { pricing } = config.platform;
  const estimate = estimateCost(servingDeployment(model), pricing, model.cost.monthlyRequests);
  if (estimate.monthly <= budget) return [];
  const money = (n: number) => formatMoney(n, estimate.currency, { cents: true });
  const path = ['cost', 'monthlyBudget'];
  return [
    {
      ...at(model, path),
      path: path.join('.'),
      message: `the estimated serving cost, ${money(estimate.monthly)} a month, is above this budget of ${money(budget)}, so the budget alarm would fire on day one; raise the budget or shrink serving (see \`mlops estimate-cost --model ${model.name}\`)`,
    },
  ];
}

const repoOf = (m: ModelConfig) => `${m.repository.owner}/${m.repository.name}`;

/**
 * A model file copied from another keeps its repository and DVC pins: both pipelines would then
 * evaluate the other model's code on the other model's data. Two models may share a repository
 * (a monorepo), but not the eval-set pins too. The warning goes on the copy: the model whose name is
 * not its repository's, else the later file.
 */
function copiedModelWarnings(models: readonly ModelConfig[], at: ModelLocator): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  for (const [i, model] of models.entries()) {
    for (const other of models.slice(0, i)) {
      if (repoOf(model) !== repoOf(other)) continue;
      const pins = new Set(other.evalSets.map((s) => s.dvcFile));
      const shared = model.evalSets.filter((s) => pins.has(s.dvcFile)).map((s) => s.dvcFile);
      if (shared.length === 0) continue;
      const otherIsCopy = other.name !== other.repository.name && model.name === model.repository.name;
      const [copy, original] = otherIsCopy ? [other, model] : [model, other];
      const path = ['repository', 'name'];
      warnings.push({
        ...at(copy, path),
        path: path.join('.'),
        message: `same repository (${repoOf(copy)}) and eval-set pins (${shared.join(', ')}) as ${at(original, []).file}: a copied model keeps the original's; point repository and evalSets at this model's own`,
      });
    }
  }
  return warnings;
}

/**
 * detectabilityWarning is seeded and pure, so models with the same monitoring settings and traffic
 * share one simulation (~0.1 s of CPU each; `cdk synth` runs it for every model).
 */
const detectability = new Map<string, string | null>();

/**
 * The confidence alarm cannot catch a 0.1 drop in mean confidence within 10 minutes at the
 * configured traffic (a short seeded simulation of the deployed rule, lambdas/core/monitoring/confidence-alarm.ts).
 */
function confidenceAlarmWarning(model: ModelConfig, at: ModelLocator): ConfigWarning[] {
  const rate = requestsPerMinuteOfMonthly(model.cost.monthlyRequests);
  const key = JSON.stringify([model.monitoring, rate]);
  if (!detectability.has(key)) detectability.set(key, detectabilityWarning(model.monitoring, rate));
  const warning = detectability.get(key)!;
  if (warning === null) return [];
  const path = ['cost', 'monthlyRequests'];
  return [
    {
      ...at(model, path),
      path: path.join('.'),
      message: `${model.cost.monthlyRequests} requests a month: ${warning}; check the traffic, or accept that the alarm catches only larger drops (see \`mlops calibrate-alarm --model ${model.name}\`)`,
    },
  ];
}

/**
 * A retired model is valid config, but its next deploy deletes its endpoints: say so plainly, in
 * case the key was copied from another file.
 */
function retiredWarning(config: PlatformConfig, model: ModelConfig, at: ModelLocator): ConfigWarning[] {
  if (!model.serving.retired) return [];
  const prefix = `${config.platform.name}-${model.name}`;
  const path = ['serving', 'retired'];
  return [
    {
      ...at(model, path),
      path: path.join('.'),
      message: `${model.name} is retired: the next deploy of ${prefix} deletes the endpoints ${prefix}-live and ${prefix}-standby (they stop serving), stops both pipelines and disarms its alarms and schedules; data and logs are kept. Then \`npx cdk destroy ${modelStackId(model.name)}\` may delete the stack (docs/operations.md, Retiring a model). Remove the key to keep the model`,
    },
  ];
}

/** Every warning of a valid config, in model order. */
export function configWarnings(config: PlatformConfig, at: ModelLocator): ConfigWarning[] {
  return [
    ...config.models.flatMap((m) => retiredWarning(config, m, at)),
    ...config.models.flatMap((m) => budgetWarning(config, m, at)),
    ...config.models.flatMap((m) => confidenceAlarmWarning(m, at)),
    ...copiedModelWarnings(config.models, at),
  ];
}
