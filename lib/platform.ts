import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';
import { modelStackId } from './config/resource-names';
import type { PlatformConfig } from '../lambdas/core/contracts/config-schema';
import { acknowledgeNistFindings } from './nag/nist-acknowledgements';
import { acknowledgeReviewedWildcards } from './nag/reviewed-wildcards';
import { SageMakerServiceRulesChecks } from './nag/sagemaker-rules';
import { ModelStack } from './stacks/model-stack';
import { SharedStack } from './stacks/shared-stack';

export interface Platform {
  readonly shared: SharedStack;
  readonly models: readonly ModelStack[];
}

/** Builds the whole platform into `app`: the shared stack, one stack per model, tags and cdk-nag. */
export function buildPlatform(app: App, config: PlatformConfig): Platform {
  const { platform } = config;
  const env = { account: platform.environment.account, region: platform.environment.region };
  const shared = new SharedStack(app, 'Shared', {
    stackName: `${platform.name}-shared`,
    description: `ML release platform (${platform.name}): KMS key, data buckets and on-call paging shared by every model`,
    env,
    platform,
    terminationProtection: true,
  });
  const models = config.models.map(
    (model) =>
      new ModelStack(app, modelStackId(model.name), {
        stackName: `${platform.name}-${model.name}`,
        description: `ML release platform (${platform.name}): release path, serving and monitoring of ${model.name}${model.serving.retired ? ' (retired: serving.retired is true)' : ''}`,
        env,
        // A model that may serve cannot be deleted by one command: its endpoints are not the
        // stack's, so a deletion would orphan them. Lifted by the deploy that retires it
        // (docs/operations.md, Retiring a model); the serving guard covers the rest.
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html
        terminationProtection: !model.serving.retired,
        // Stack tags (cdk.json sets explicitStackTags): how `mlops validate-config --deployed-stacks`
        // finds a model stack whose config file was deleted (lib/config/deployed-stacks.ts).
        tags: { Platform: platform.name, Model: model.name },
        platform,
        model,
        shared,
      }),
  );
  Tags.of(app).add('Platform', platform.name);
  for (const [key, value] of Object.entries(platform.tags)) Tags.of(app).add(key, value);
  acknowledgeReviewedWildcards(app);
  acknowledgeNistFindings(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  // NIST 800-53 rev. 5 looks for what AwsSolutions does not (log encryption, dead-letter handling,
  // replication, backup plans); each acknowledgement sits on the resource it concerns.
  Validations.of(app).addPlugins(new NIST80053R5Checks(app));
  // The release path builds its endpoint configs at run time (checked by ModelEndpoint at synth);
  // this pack guards any endpoint config written as a CloudFormation resource.
  Validations.of(app).addPlugins(new SageMakerServiceRulesChecks(app));
  return { shared, models };
}
