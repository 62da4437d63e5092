import { Aspects, CfnOutput, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { ModelConfig, PlatformSettings } from '../../lambdas/core/contracts/config-schema';
import { releaseSettings } from '../../lambdas/core/contracts/release-settings';
import { EncryptLogGroupsWith } from '../constructs/log-encryption';
import { ModelEndpoint } from '../constructs/model-endpoint';
import { ModelMonitoring } from '../constructs/model-monitoring';
import { ModelPipeline } from '../constructs/model-pipeline';
import { ModelRouting } from '../constructs/model-routing';
import { ServingGuard } from '../constructs/serving-guard';
import { RetiredModel } from './retirement';
import { SharedBucketPurpose, sharedBucketName, type SharedResources } from './shared-stack';

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
 * Everything one model owns: its release settings (the contract the stage functions read, so that
 * thresholds change with a deploy, not a code change), its release pipelines and its serving.
 */
export class ModelStack extends Stack {
  readonly releaseSettings: ssm.StringParameter;
  readonly pipeline: ModelPipeline;
  readonly endpoint: ModelEndpoint;
  readonly routing: ModelRouting;
  readonly monitoring: ModelMonitoring;
  /** Deletes a retired model's endpoints; refuses a stack deletion while they serve. */
  readonly servingGuard: ServingGuard;

  /**
   * The shared buckets by name rather than by CloudFormation export: exports pin the shared stack
   * (an exported value cannot change while a model stack imports it), and names keep IAM findings
   * stable for review. The key ARN stays a reference, which also orders the deployment.
   */
  private importShared(platform: PlatformSettings, shared: SharedResources): SharedResources {
    const key = kms.Key.fromKeyArn(this, 'PlatformKey', shared.key.keyArn);
    const bucket = (id: string, purpose: SharedBucketPurpose, encrypted = true) =>
      s3.Bucket.fromBucketAttributes(this, id, {
        bucketName: sharedBucketName(platform, purpose),
        encryptionKey: encrypted ? key : undefined,
      });
    return {
      key,
      dvcRemoteBucket: bucket('DvcRemote', 'dvc-remote'),
      artifactsBucket: bucket('Artifacts', 'artifacts'),
      predictionLogsBucket: bucket('PredictionLogs', 'prediction-logs'),
      dataCaptureBucket: bucket('DataCapture', 'data-capture'),
      accessLogsBucket: bucket('AccessLogs', 'access-logs', false),
      athenaResultsBucket: bucket('AthenaResults', 'athena-results'),
      pagingTopic: shared.pagingTopic,
    };
  }

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

    const shared = this.importShared(platform, props.shared);
    Aspects.of(this).add(new EncryptLogGroupsWith(shared.key));
    this.pipeline = new ModelPipeline(this, 'ReleasePath', {
      platform,
      model,
      shared,
      releaseSettings: this.releaseSettings,
    });
    this.endpoint = new ModelEndpoint(this, 'Serving', {
      platform,
      model,
      shared,
      releaseSettings: this.releaseSettings,
      pipeline: this.pipeline,
    });

    this.routing = new ModelRouting(this, 'Routing', {
      platform,
      model,
      shared,
      releaseSettings: this.releaseSettings,
      endpointNames: this.endpoint.endpointNames,
    });

    this.monitoring = new ModelMonitoring(this, 'Monitoring', {
      platform,
      model,
      shared,
      releaseSettings: this.releaseSettings,
      endpoint: this.endpoint,
      routing: this.routing,
    });

    this.servingGuard = new ServingGuard(this, 'ServingGuard', {
      platform,
      model,
      endpointNames: this.endpoint.endpointNames,
    });
    this.servingGuard.runAfter(
      this.releaseSettings,
      this.pipeline,
      this.endpoint,
      this.routing,
      this.monitoring,
    );
    // A retired model: pipelines stopped, alarms and schedules off, data kept (./retirement.ts).
    if (model.serving.retired) Aspects.of(this).add(new RetiredModel());

    new CfnOutput(this, 'Dashboard', {
      value: this.monitoring.dashboard.dashboardName,
      description: 'CloudWatch dashboard of this model.',
    });
    new CfnOutput(this, 'RollbackFunction', {
      value: this.monitoring.rollback.function.functionName,
      description:
        'Invoke with {"model": "...", "reason": "..."} to serve the previous model (docs/operations.md).',
    });
    new CfnOutput(this, 'PrPipeline', {
      value: this.pipeline.prPipeline.pipelineName,
      description: 'Runs every gate on pull requests and comments the report; never deploys.',
    });
    new CfnOutput(this, 'ReleasePipeline', {
      value: this.pipeline.releasePipeline.pipelineName,
      description: 'Runs every gate on the main branch, then releases.',
    });
    new CfnOutput(this, 'LiveEndpoint', {
      value: this.endpoint.endpointNames.live,
      description: 'SageMaker endpoint serving the current model; created by the first release.',
    });
    new CfnOutput(this, 'StandbyEndpoint', {
      value: this.endpoint.endpointNames.standby,
      description: 'Warm endpoint with the previous model, for rollback; created by the second release.',
    });
    new CfnOutput(this, 'ServingExecutionRole', {
      value: this.endpoint.executionRole.roleArn,
      description: 'Role SageMaker assumes to serve this model.',
    });
    new CfnOutput(this, 'ReleaseSettingsParameter', {
      value: this.releaseSettings.parameterName,
      description: 'SSM parameter with the thresholds and settings the release gates apply.',
    });
  }
}
