import { CfnOutput, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { ModelConfig, PlatformSettings } from '../config/schema';
import { releaseSettings } from '../config/release-settings';
import type { SharedResources } from './shared-stack';

export interface ModelStackProps extends StackProps {
  /** The platform settings (`config/platform.yaml`). */
  readonly platform: PlatformSettings;
  /** This model's validated config, platform defaults merged in. */
  readonly model: ModelConfig;
  /** Key, buckets and paging topic of the shared stack. */
  readonly shared: SharedResources;
}

/** SSM path of a model's release settings; the gate Lambdas read thresholds from here at run time. */
export function releaseSettingsParameterName(platformName: string, modelName: string): string {
  return `/${platformName}/models/${modelName}/release-settings`;
}

/**
 * Everything one model owns: its release pipelines, endpoints and monitoring (added by the
 * constructs in lib/constructs). Today it publishes the model's release settings, the contract
 * the gate functions read, so that thresholds change with a deploy, not a code change.
 */
export class ModelStack extends Stack {
  readonly releaseSettings: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: ModelStackProps) {
    super(scope, id, props);
    const { platform, model } = props;
    Tags.of(this).add('Model', model.name);
    Tags.of(this).add('OwnerTeam', model.owner.team);

    this.releaseSettings = new ssm.StringParameter(this, 'ReleaseSettings', {
      parameterName: releaseSettingsParameterName(platform.name, model.name),
      description: `${model.name}: thresholds, eval sets and serving settings the release gates apply`,
      stringValue: JSON.stringify(releaseSettings(platform, model)),
      tier: ssm.ParameterTier.STANDARD,
    });

    new CfnOutput(this, 'ReleaseSettingsParameter', {
      value: this.releaseSettings.parameterName,
      description: 'SSM parameter with the thresholds and settings the release gates apply.',
    });
  }
}
