import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { artifactKeys } from '../../lambdas/core/contracts/release-settings';
import type { ModelConfig, PlatformSettings } from '../../lambdas/core/contracts/config-schema';
import type { ServingEnv } from '../../lambdas/core/contracts/handler-env';
import {
  endpointNames,
  liveConfigSpec,
  releaseNamePatterns,
  LIVE_VARIANT,
  releaseNames,
  shadowConfigSpec,
  standbyConfigSpec,
  type ServingContext,
} from '../../lambdas/core/serving/endpoint-spec';
import {
  autoscalingProblems,
  blueGreenVariantNameProblems,
  canarySizeProblems,
  dataCaptureSamplingProblems,
  shadowSamplingProblems,
  shadowVariantProblems,
} from '../nag/sagemaker-rules';
import { NAG_PARTITION, reviewWildcards, type WildcardReview } from '../nag/reviewed-wildcards';
import type { SharedResources } from '../stacks/shared-stack';
import { publishedArchivePrefix } from '../../lambdas/core/gates/model-publication';
import { GateFunction } from './gate-function';
import { grantMissingKeyAsNotFound } from './grants';
import { confidenceAlarmName, rollbackRequestedAlarmName } from '../../lambdas/core/contracts/metric-names';
import { ACTION_NAMES, ModelPipeline } from './model-pipeline';

/** Days SageMaker endpoint logs are kept: the same as the platform's function logs. */
export const ENDPOINT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

/** The log group SageMaker writes an endpoint's container logs to. */
export function endpointLogGroupName(endpoint: string): string {
  return `/aws/sagemaker/Endpoints/${endpoint}`;
}

export interface ModelEndpointProps {
  readonly platform: PlatformSettings;
  readonly model: ModelConfig;
  /** Key (endpoint volumes, data capture), artifacts bucket (model archives, records), data-capture bucket, paging topic. */
  readonly shared: SharedResources;
  /** The model's release settings; the serving functions read the serving section from it. */
  readonly releaseSettings: ssm.IStringParameter;
  /** The release pipeline gets the Shadow, Canary and Promotion stages, in that order. */
  readonly pipeline: ModelPipeline;
}

/**
 * Serving of one model: the SageMaker execution role, the canary's auto-rollback alarms, and the
 * three release stages (shadow, canary, promotion) that create and update the live and standby
 * endpoints.
 *
 * The endpoints themselves are not CloudFormation resources, on purpose: every release replaces
 * the live endpoint's config, so a CloudFormation-owned endpoint would drift at the first
 * release, and the next `cdk deploy` that touched it would silently put the first model back.
 * The release path is their only owner (docs/serving.md). The endpoint specs are built here at
 * synth with the same functions the stages use at run time, and checked against the rules
 * SageMaker enforces, so a config SageMaker would refuse fails the synth instead of a release.
 */
export class ModelEndpoint extends Construct {
  /** Role SageMaker assumes for the model's endpoints. */
  readonly executionRole: iam.Role;
  /** The live and standby endpoint names. */
  readonly endpointNames: { readonly live: string; readonly standby: string };
  /** `/aws/sagemaker/Endpoints/<endpoint>` of the live and the standby endpoint, created with the stack. */
  readonly endpointLogGroups: readonly logs.LogGroup[];
  /** 5xx rate of the live variant: rolls a canary back, and pages. */
  readonly serverErrorRateAlarm: cloudwatch.Alarm;
  /** p99 model latency of the live variant: rolls a canary back, and pages. */
  readonly latencyAlarm: cloudwatch.Alarm;
  readonly shadow: GateFunction;
  readonly canary: GateFunction;
  readonly promotion: GateFunction;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const { platform, model, shared } = props;
    const serving = model.serving;
    const stack = Stack.of(this);
    const prefix = `${platform.name}-${model.name}`;
    this.endpointNames = endpointNames(prefix);
    // By digest when the config gives one: a tag can be moved to another image, a digest cannot.
    const reference = serving.image.digest ? `@${serving.image.digest}` : `:${serving.image.tag}`;
    const image = `${serving.image.account}.dkr.ecr.${stack.region}.${stack.urlSuffix}/${serving.image.repository}${reference}`;

    this.node.addValidation({ validate: () => servingProblems(model, prefix) });

    // ---- SageMaker execution role -----------------------------------------------------------
    // Only SageMaker acting for this account may assume it (confused deputy):
    // https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-pass-role
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
    this.executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `${prefix}: what SageMaker may touch to serve ${model.name}`,
    });
    const sageMakerArn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'sagemaker', resource, resourceName });
    // The endpoints' log groups exist before the first release, with retention and the platform key
    // (lib/constructs/log-encryption.ts): created by SageMaker at run time they would keep logs
    // forever, unencrypted by the key, and the role would need logs:CreateLogGroup. They are
    // retained: the endpoints are the release path's and may outlive this stack.
    // https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html
    this.endpointLogGroups = [this.endpointNames.live, this.endpointNames.standby].map(
      (endpoint, i) =>
        new logs.LogGroup(this, i === 0 ? 'LiveEndpointLogs' : 'StandbyEndpointLogs', {
          logGroupName: endpointLogGroupName(endpoint),
          retention: ENDPOINT_LOG_RETENTION,
          removalPolicy: RemovalPolicy.RETAIN,
        }),
    );
    // Only published, content-addressed archives: the PublishModel step is their one writer.
    const modelArchives = shared.artifactsBucket.arnForObjects(`${publishedArchivePrefix(model.name)}*`);
    const captureObjects = shared.dataCaptureBucket.arnForObjects(`${model.name}/*`);
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [modelArchives] }),
    );
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [captureObjects] }),
    );
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [shared.key.keyArn],
      }),
    );
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        resources: [
          stack.formatArn({
            service: 'ecr',
            account: serving.image.account,
            resource: 'repository',
            resourceName: serving.image.repository,
          }),
        ],
      }),
    );
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
    );
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        // A log group's ARN attribute ends in `:*`, which covers its streams.
        resources: this.endpointLogGroups.map((g) => g.logGroupArn),
      }),
    );
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'AWS/SageMaker'] } },
      }),
    );

    // ---- Auto-rollback alarms of the canary (and pages outside a deployment) -----------------
    const dimensions = { EndpointName: this.endpointNames.live, VariantName: LIVE_VARIANT };
    const minute = Duration.minutes(1);
    const sageMakerMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: dimensions,
        statistic,
        period: minute,
      });
    const { maxServerErrorRatePercent, maxP99LatencyMs } = serving.canary;
    this.serverErrorRateAlarm = new cloudwatch.Alarm(this, 'ServerErrorRate', {
      alarmName: rollbackAlarmNameOf(prefix, '5xx-rate'),
      alarmDescription:
        `${model.name}: more than ${maxServerErrorRatePercent}% of requests to the live endpoint ${this.endpointNames.live} ` +
        `failed with a 5xx in 2 consecutive minutes. During a canary SageMaker rolls the update back by itself; ` +
        `otherwise check the endpoint's CloudWatch logs (/aws/sagemaker/Endpoints/${this.endpointNames.live}) ` +
        `and roll back to the standby model if the errors started with a release (docs/serving.md).`,
      metric: new cloudwatch.MathExpression({
        // No traffic is no evidence of errors: 0, not missing.
        expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
        usingMetrics: {
          errors: sageMakerMetric('Invocation5XXErrors', 'Sum'),
          invocations: sageMakerMetric('Invocations', 'Sum'),
        },
        period: minute,
        label: '5xx rate (%)',
      }),
      threshold: maxServerErrorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = new cloudwatch.Alarm(this, 'ModelLatencyP99', {
      alarmName: rollbackAlarmNameOf(prefix, 'p99-model-latency'),
      alarmDescription:
        `${model.name}: p99 model latency of the live endpoint ${this.endpointNames.live} was above ${maxP99LatencyMs} ms ` +
        `in 2 consecutive minutes. During a canary SageMaker rolls the update back by itself; otherwise compare ` +
        `with the release history (a new model?) and the instance count (autoscaling at its maximum?).`,
      // SageMaker reports ModelLatency in microseconds.
      metric: sageMakerMetric('ModelLatency', 'p99'),
      threshold: maxP99LatencyMs * 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const page = new cwActions.SnsAction(shared.pagingTopic);
    for (const alarm of [this.serverErrorRateAlarm, this.latencyAlarm]) alarm.addAlarmAction(page);
    // Literal names (not references): the stage functions pass them to SageMaker as they are.
    // The confidence alarm belongs to ModelMonitoring (its threshold follows each promotion); a
    // canary that lowers the stable model's confidence is rolled back by it too.
    const rollbackAlarmNames = [
      rollbackAlarmNameOf(prefix, '5xx-rate'),
      rollbackAlarmNameOf(prefix, 'p99-model-latency'),
      confidenceAlarmName(prefix),
      // The rollback function puts it in ALARM to stop this deployment when a person rolls the
      // candidate back during its canary (ModelMonitoring, "Stopping the live endpoint's deployment").
      rollbackRequestedAlarmName(prefix),
    ];
    const rollbackAlarmArns = rollbackAlarmNames.map((name) =>
      stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: name,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    // SageMaker reads the alarms during a guarded update with the endpoint's execution role.
    this.executionRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: rollbackAlarmArns }),
    );

    // ---- Release stages -----------------------------------------------------------------------
    const environment: ServingEnv = {
      RELEASE_SETTINGS_PARAMETER: props.releaseSettings.parameterName,
      ARTIFACTS_BUCKET: shared.artifactsBucket.bucketName,
      MODEL_NAME: model.name,
      SERVING_NAME_PREFIX: prefix,
      EXECUTION_ROLE_ARN: this.executionRole.roleArn,
      KMS_KEY_ARN: shared.key.keyArn,
      DATA_CAPTURE_S3_URI: `s3://${shared.dataCaptureBucket.bucketName}/${model.name}`,
      INFERENCE_IMAGE: image,
      LIVE_ENDPOINT: this.endpointNames.live,
      STANDBY_ENDPOINT: this.endpointNames.standby,
      ROLLBACK_ALARMS: rollbackAlarmNames.join(','),
    };
    const fn = (id: string, handler: string, description: string, memorySize = 512) =>
      new GateFunction(this, id, {
        handler,
        functionName: `${prefix}-${handler}`,
        description: `${model.name}: ${description}`,
        environment: { ...environment },
        timeout: Duration.minutes(5),
        memorySize,
      });
    this.shadow = fn(
      'Shadow',
      'shadow',
      'runs the candidate as a shadow variant and reports the comparison (advisory)',
      // Reads data-capture files to pair predictions.
      1024,
    );
    this.canary = fn('Canary', 'canary', 'blue/green canary update of the live endpoint with auto-rollback');
    this.promotion = fn(
      'Promotion',
      'promotion',
      'moves the previous model to standby and makes the candidate the baseline',
    );

    const endpoints = [this.endpointNames.live, this.endpointNames.standby].map((n) =>
      sageMakerArn('endpoint', n),
    );
    // Exactly the names a release of this model creates (see releaseNamePatterns).
    const patterns = releaseNamePatterns(prefix);
    const models = sageMakerArn('model', patterns.model);
    const configs = [patterns.liveConfig, patterns.shadowConfig, patterns.standbyConfig].map((n) =>
      sageMakerArn('endpoint-config', n),
    );
    const runRecords = shared.artifactsBucket.arnForObjects(`models/${model.name}/runs/*`);
    for (const stage of [this.shadow, this.canary, this.promotion]) {
      props.releaseSettings.grantRead(stage.role);
      stage.allowReportingJobResults();
      const role = stage.role;
      // The guardrails the specs set, enforced by IAM too: a model without network isolation, or
      // an endpoint config whose volumes use another key, is refused whatever the code sends.
      // Condition keys: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['sagemaker:CreateModel'],
          resources: [models],
          conditions: { Bool: { 'sagemaker:NetworkIsolation': 'true' } },
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['sagemaker:DescribeModel', 'sagemaker:AddTags'],
          resources: [models],
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['sagemaker:CreateEndpointConfig'],
          resources: configs,
          conditions: { StringEquals: { 'sagemaker:VolumeKmsKey': shared.key.keyArn } },
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:AddTags'],
          resources: configs,
        }),
      );
      // Creating or updating an endpoint is authorised on the endpoint and on the config it gets.
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'sagemaker:CreateEndpoint',
            'sagemaker:UpdateEndpoint',
            'sagemaker:DescribeEndpoint',
            'sagemaker:AddTags',
          ],
          resources: [...endpoints, ...configs],
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['iam:PassRole'],
          resources: [this.executionRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
        }),
      );
      // Endpoint configs name the platform key: SageMaker creates grants on it for the volumes.
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['kms:CreateGrant', 'kms:DescribeKey'],
          resources: [shared.key.keyArn],
          conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [runRecords],
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [shared.key.keyArn],
        }),
      );
      grantMissingKeyAsNotFound(role, shared.artifactsBucket);
    }

    // Shadow and canary create the candidate's SageMaker model: first they check the published
    // archive's SHA-256 (HeadObject needs s3:GetObject) against the release record.
    for (const stage of [this.shadow, this.canary]) {
      stage.role.addToPolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [modelArchives] }),
      );
    }

    // Shadow: the window's metrics and the captured requests of both variants.
    this.shadow.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
    );
    this.shadow.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [captureObjects] }),
    );
    this.shadow.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [shared.dataCaptureBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${model.name}/*`] } },
      }),
    );

    // Canary: the auto-rollback alarms' states, and autoscaling of the live variant.
    this.canary.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: rollbackAlarmArns,
      }),
    );
    this.canary.role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'application-autoscaling:RegisterScalableTarget',
          'application-autoscaling:DeregisterScalableTarget',
          'application-autoscaling:PutScalingPolicy',
          'application-autoscaling:DeleteScalingPolicy',
          'application-autoscaling:DescribeScalableTargets',
          'application-autoscaling:DescribeScalingPolicies',
        ],
        resources: ['*'],
        // SageMaker variants' instance counts only, not any other service's scalable targets:
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsapplicationautoscaling.html
        conditions: {
          StringEquals: {
            'application-autoscaling:service-namespace': 'sagemaker',
            'application-autoscaling:scalable-dimension': 'sagemaker:variant:DesiredInstanceCount',
          },
        },
      }),
    );
    // Registering a SageMaker variant makes Application Auto Scaling create its service-linked role once.
    this.canary.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [
          stack.formatArn({
            service: 'iam',
            region: '',
            resource: 'role',
            resourceName:
              'aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
          }),
        ],
        conditions: {
          StringLike: { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' },
        },
      }),
    );
    // The canary commits the serving state once the candidate serves (lambdas/canary/commit.ts); a
    // retried canary that finds the candidate already live learns the previous config from it.
    this.canary.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [shared.artifactsBucket.arnForObjects(artifactKeys.servingState(model.name))],
      }),
    );
    // Without a serving state that names the previous model, its version is read from its tags.
    this.canary.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:ListTags'], resources: [models] }),
    );
    // Autoscaling changes the variant's instance count through SageMaker with the caller's rights.
    this.canary.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:UpdateEndpointWeightsAndCapacities'],
        resources: [endpoints[0]],
      }),
    );

    // Promotion: the serving state, the release record, the promoted model's per-example results and,
    // last, the baseline report that names them.
    this.promotion.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [
          shared.artifactsBucket.arnForObjects(artifactKeys.servingState(model.name)),
          shared.artifactsBucket.arnForObjects(artifactKeys.baseline(model.name)),
          shared.artifactsBucket.arnForObjects(`${artifactKeys.baselinePredictions(model.name)}*`),
        ],
      }),
    );
    // Reading the release record back makes a retried promotion safe.
    this.promotion.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [shared.artifactsBucket.arnForObjects(`models/${model.name}/releases/*`)],
      }),
    );
    // Without a serving state, the previous model's version is read from its tags.
    this.promotion.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:ListTags'], resources: [models] }),
    );

    props.pipeline.addReleaseLambdaStage('Shadow', ACTION_NAMES.shadow, this.shadow);
    props.pipeline.addReleaseLambdaStage('Canary', ACTION_NAMES.canary, this.canary);
    props.pipeline.addReleaseLambdaStage('Promotion', ACTION_NAMES.promotion, this.promotion);

    this.reviewWildcards(model.name);
  }

  private reviewWildcards(model: string): void {
    const p = NAG_PARTITION;
    const bucket = (purpose: string) => `[a-z0-9-]+-${purpose}-[0-9]+-[a-z0-9-]+`;
    const runRecords: WildcardReview = {
      finding: new RegExp(
        `^Resource::arn:${p}:s3:::${bucket('artifacts')}/models/${model}/(runs|releases)/\\*$`,
      ),
      reason: `This model's run records and release records; keys carry the pipeline execution id.`,
    };
    const capture: WildcardReview = {
      finding: new RegExp(`^Resource::arn:${p}:s3:::${bucket('data-capture')}/${model}/\\*$`),
      reason: `Data capture of this model's endpoints only; SageMaker names the files by time.`,
    };
    const publishedArchives: WildcardReview = {
      finding: new RegExp(
        `^Resource::arn:${p}:s3:::${bucket('artifacts')}/models/${model}/archives/sha256/\\*$`,
      ),
      reason: "This model's published archives; each key is the archive's SHA-256.",
    };
    const kmsDataKey: WildcardReview = {
      finding: /^Action::kms:(GenerateDataKey|ReEncrypt)\*$/,
      reason: 'KMS data-key actions, granted by CDK on the platform key only.',
    };
    reviewWildcards(this.executionRole, capture, publishedArchives, {
      finding: /^Resource::\*$/,
      starActions: ['cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken'],
      reason:
        'ecr:GetAuthorizationToken has no resource-level permissions; cloudwatch:PutMetricData has none either and is limited to the SageMaker namespaces by condition.',
    });
    for (const stage of [this.shadow, this.canary, this.promotion]) {
      reviewWildcards(stage.role, runRecords, kmsDataKey);
    }
    reviewWildcards(this.promotion.role, {
      finding: new RegExp(
        `^Resource::arn:${p}:s3:::${bucket('artifacts')}/models/${model}/baseline/predictions/\\*$`,
      ),
      reason: "The baseline's per-example results; each release's files are kept under its execution id.",
    });
    for (const stage of [this.shadow, this.canary]) reviewWildcards(stage.role, publishedArchives);
    reviewWildcards(this.shadow.role, capture, {
      finding: /^Resource::\*$/,
      starActions: ['cloudwatch:GetMetricData'],
      reason: 'cloudwatch:GetMetricData has no resource-level permissions.',
    });
    reviewWildcards(this.canary.role, {
      finding: /^Resource::\*$/,
      starActions: [
        'application-autoscaling:DeleteScalingPolicy',
        'application-autoscaling:DeregisterScalableTarget',
        'application-autoscaling:DescribeScalableTargets',
        'application-autoscaling:DescribeScalingPolicies',
        'application-autoscaling:PutScalingPolicy',
        'application-autoscaling:RegisterScalableTarget',
      ],
      reason:
        'Application Auto Scaling actions take the scalable target as a parameter; the statement is conditioned on the sagemaker service namespace and the variant instance-count dimension.',
    });
  }
}

/** Name of a live-endpoint alarm that rolls a canary back. */
function rollbackAlarmNameOf(prefix: string, what: '5xx-rate' | 'p99-model-latency'): string {
  return `${prefix}-live-${what}`;
}

/**
 * What SageMaker would refuse in this model's serving config, found by building the specs the
 * stages will send and checking them against the service's rules. Names are placeholders: the
 * rules read variant names, counts and percentages only.
 */
export function servingProblems(model: ModelConfig, prefix: string): string[] {
  const serving = model.serving;
  const ctx: ServingContext = {
    model: model.name,
    namePrefix: prefix,
    executionRoleArn: 'arn:aws:iam::000000000000:role/synth-check',
    kmsKeyArn: 'arn:aws:kms:eu-west-1:000000000000:key/synth-check',
    dataCaptureS3Uri: `s3://synth-check/${model.name}`,
    image: 'synth-check',
  };
  const names = releaseNames(prefix, '00000000-synth-check');
  const endpoint = endpointNames(prefix).live;
  const live = liveConfigSpec(ctx, serving, {
    configName: names.liveConfig,
    modelName: names.model,
    instanceCount: serving.initialInstanceCount,
    endpointName: endpoint,
  });
  const shadow = shadowConfigSpec(ctx, serving, {
    configName: names.shadowConfig,
    endpointName: endpoint,
    production: {
      modelName: 'previous',
      instanceType: serving.instanceType,
      instanceCount: serving.initialInstanceCount,
    },
    candidateModelName: names.model,
  });
  const standby = standbyConfigSpec(ctx, serving, {
    configName: names.standbyConfig,
    modelName: 'previous',
    endpointName: endpointNames(prefix).standby,
  });
  const variantNames = (spec: typeof live) => spec.ProductionVariants.map((v) => v.VariantName);
  const where = `model ${model.name}`;
  const problems = [
    ...shadowVariantProblems({
      endpointConfig: `${where} shadow config`,
      productionVariants: variantNames(shadow),
      shadowVariants: (shadow.ShadowProductionVariants ?? []).map((v) => v.VariantName),
    }),
    // Shadow → candidate, and one release to the next, are blue/green updates of the live endpoint.
    ...blueGreenVariantNameProblems(
      { endpointConfig: `${where} shadow config`, variantNames: variantNames(shadow) },
      { endpointConfig: `${where} live config`, variantNames: variantNames(live) },
    ),
    ...canarySizeProblems({
      variant: `${where} ${LIVE_VARIANT}`,
      sizePercent: serving.canary.sizePercent,
      instanceCount: serving.initialInstanceCount,
    }),
    ...autoscalingProblems({
      variant: `${where} ${LIVE_VARIANT}`,
      minInstances: serving.autoscaling.minInstances,
      initialInstanceCount: serving.initialInstanceCount,
      maxInstances: serving.autoscaling.maxInstances,
    }),
    ...[live, standby].flatMap((spec) =>
      dataCaptureSamplingProblems({
        endpointConfig: `${where} ${spec.ProductionVariants[0]?.VariantName ?? ''} config`,
        samplingPercent: serving.dataCapture.samplingPercent,
      }),
    ),
    ...shadowSamplingProblems({
      variant: `${where} shadow`,
      samplingPercent: serving.shadow.samplingPercent,
    }),
  ];
  return problems;
}
