/**
 * Model stacks that are deployed but have no config file any more. `cdk deploy` never deletes a
 * stack that left the app, so deleting a model's YAML leaves its stack, and the endpoints the
 * release path made, running with nothing to update, roll back or delete them. `cdk synth` cannot
 * see deployed stacks (it needs no AWS account); `mlops validate-config --deployed-stacks` reads
 * what `aws cloudformation describe-stacks` prints and refuses such a config, naming the fix.
 */
import * as path from 'node:path';
import { z } from 'zod';
import type { ConfigProblem } from './problems';
import { modelStackId } from './resource-names';
import type { PlatformConfig } from '../../lambdas/core/contracts/config-schema';

/** The part of `aws cloudformation describe-stacks --output json` this reads. */
const describeStacksSchema = z.object({
  Stacks: z.array(
    z.object({
      StackName: z.string(),
      StackStatus: z.string(),
      Tags: z.array(z.object({ Key: z.string(), Value: z.string() })).optional(),
    }),
  ),
});
export type DeployedStack = z.output<typeof describeStacksSchema>['Stacks'][number];

/** The stacks in describe-stacks output, or why the text is not that output. */
export function parseDeployedStacks(text: string): { stacks: DeployedStack[] } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { error: `not JSON (${(err as Error).message})` };
  }
  const parsed = describeStacksSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    return {
      error: `not the output of aws cloudformation describe-stacks --output json (${first.path.join('.') || 'top level'}: ${first.message})`,
    };
  }
  return { stacks: parsed.data.Stacks };
}

/**
 * One problem per deployed model stack of this platform (tags `Platform` and `Model`, as the model
 * stacks carry them) whose model has no file in the config.
 */
export function modelStacksWithoutConfig(
  config: PlatformConfig,
  stacks: readonly DeployedStack[],
  configDir: string,
): ConfigProblem[] {
  const known = new Set(config.models.map((m) => m.name));
  const platform = config.platform.name;
  return stacks.flatMap((stack) => {
    const tag = (key: string) => stack.Tags?.find((t) => t.Key === key)?.Value;
    const model = tag('Model');
    if (tag('Platform') !== platform || model === undefined || known.has(model)) return [];
    if (stack.StackStatus === 'DELETE_COMPLETE') return [];
    const prefix = `${platform}-${model}`;
    return [
      {
        file: path.join(configDir, 'models', `${model}.yaml`),
        path: '',
        message:
          `missing, but the stack ${stack.StackName} (${stack.StackStatus}) of model ${model} is deployed: its endpoints ` +
          `${prefix}-live and ${prefix}-standby may still serve, and no deploy would ever update or delete them. Put the ` +
          `file back with serving.retired: true, npx cdk deploy ${modelStackId(model)} (it deletes the endpoints), ` +
          `npx cdk destroy ${modelStackId(model)}, then remove the file (docs/operations.md, Retiring a model)`,
      },
    ];
  });
}
