/**
 * What the serving stages ask SageMaker for: resource names, and the request bodies of
 * `CreateModel`, `CreateEndpointConfig`, `UpdateEndpoint`'s `DeploymentConfig` and the
 * autoscaling calls. Pure: the construct builds the same specs at synth to refuse a config
 * SageMaker would refuse, and the handlers send them at run time, so the two cannot disagree.
 *
 * The shapes are structurally compatible with the AWS SDK v3 inputs (PascalCase), without
 * importing the SDK.
 */
import { createHash } from 'node:crypto';

/**
 * Variant names. Blue/green updates require the new config to keep the old variant names, so
 * every live config names its production variant `live`; the shadow variant exists only while
 * the shadow stage runs, and the standby endpoint has its own.
 */
export const LIVE_VARIANT = 'live';
export const SHADOW_VARIANT = 'shadow';
export const STANDBY_VARIANT = 'standby';

/**
 * `UpdateEndpoint` options that keep the fleet the endpoint runs now: without them SageMaker resets
 * each variant to the new config's `InitialInstanceCount`, so putting an older config back (a
 * rollback, the end of a shadow) would shrink a fleet that autoscaling grew. "To retain the variant
 * properties of an endpoint when updating it, set RetainAllVariantProperties to true"
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html); same-named
 * variants then keep their DesiredInstanceCount
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
 */
export const KEEP_FLEET_SIZE = { RetainAllVariantProperties: true } as const;

/** The same, for a command a person runs: `aws sagemaker update-endpoint ... <this>`. */
export const KEEP_FLEET_SIZE_CLI = '--retain-all-variant-properties';

/** SageMaker's limit on model, endpoint config and endpoint names. */
export const SAGEMAKER_NAME_LIMIT = 63;

/** The serving settings of a model (the `serving` section of its config, defaults applied). */
export interface ServingSettings {
  readonly instanceType: string;
  readonly initialInstanceCount: number;
  readonly autoscaling: {
    readonly minInstances: number;
    readonly maxInstances: number;
    readonly targetInvocationsPerInstance: number;
  };
  readonly standby: { readonly instanceType?: string; readonly instanceCount: number };
  readonly dataCapture: { readonly samplingPercent: number };
  readonly shadow: {
    readonly samplingPercent: number;
    readonly windowMinutes: number;
    readonly instanceCount: number;
  };
  readonly canary: {
    readonly sizePercent: number;
    readonly waitMinutes: number;
    readonly maxExecutionTimeoutMinutes: number;
    readonly maxServerErrorRatePercent: number;
    readonly maxP99LatencyMs: number;
  };
}

/** Where and with what the model's endpoints run; the model stack provides it as environment. */
export interface ServingContext {
  /** The model's name from its config, e.g. `document-classifier`. */
  readonly model: string;
  /** Prefix of every SageMaker resource name of this model, `<platform>-<model>`. */
  readonly namePrefix: string;
  /** Role SageMaker assumes to pull the image and model and write data capture. */
  readonly executionRoleArn: string;
  /** Encrypts the endpoints' storage volumes and data capture. */
  readonly kmsKeyArn: string;
  /** `s3://<data-capture bucket>/<model>`: each endpoint captures under its own name. */
  readonly dataCaptureS3Uri: string;
  /** Full ECR image URI of the inference container. */
  readonly image: string;
}

/**
 * A SageMaker name: `prefix-suffix` when it fits in 63 characters, else the prefix shortened
 * and marked with 6 hex digits of its SHA-256, so different long prefixes stay different and
 * the same inputs always give the same name (handlers retry by name).
 */
export function sageMakerName(prefix: string, suffix: string): string {
  const full = `${prefix}-${suffix}`;
  if (full.length <= SAGEMAKER_NAME_LIMIT) return full;
  const mark = createHash('sha256').update(prefix).digest('hex').slice(0, 6);
  const room = SAGEMAKER_NAME_LIMIT - suffix.length - mark.length - 2;
  if (room < 1)
    throw new RangeError(`name suffix "${suffix}" leaves no room in ${SAGEMAKER_NAME_LIMIT} characters`);
  return `${prefix.slice(0, room).replace(/-+$/, '')}-${mark}-${suffix}`;
}

/** The two endpoints of a model. They live as long as the model; releases change their configs. */
export function endpointNames(namePrefix: string): { readonly live: string; readonly standby: string } {
  return { live: sageMakerName(namePrefix, 'live'), standby: sageMakerName(namePrefix, 'standby') };
}

/**
 * IAM patterns that match exactly the names `releaseNames` can return for this prefix: one `?`
 * per character of the release id, no `*`. A `<prefix>-*` pattern would also match every name
 * of a model whose name extends this one (`document-classifier` → `document-classifier-v2-…`).
 */
export function releaseNamePatterns(namePrefix: string): ReleaseNames {
  return releaseNamesOf(namePrefix, '?'.repeat(RELEASE_ID_LENGTH));
}

/**
 * Names of what one release creates, derived from the pipeline execution id so a retried
 * invocation finds what an earlier one created instead of creating it twice.
 */
export interface ReleaseNames {
  /** The candidate's SageMaker model. */
  readonly model: string;
  /** The candidate as the live endpoint's only production variant. */
  readonly liveConfig: string;
  /** The current production variant plus the candidate as a shadow variant. */
  readonly shadowConfig: string;
  /** The model that served before this release, on the standby endpoint. */
  readonly standbyConfig: string;
}

export function releaseNames(namePrefix: string, executionId: string): ReleaseNames {
  // Execution ids are UUIDs; 8 hex digits keep names short and are unique per model in practice,
  // and the full id is in every record and tag.
  const id = executionId
    .replace(/[^a-zA-Z0-9]/g, '')
    .slice(0, RELEASE_ID_LENGTH)
    .toLowerCase();
  if (id.length === 0) throw new RangeError(`execution id "${executionId}" has no letters or digits`);
  return releaseNamesOf(namePrefix, id.padEnd(RELEASE_ID_LENGTH, '0'));
}

/**
 * The standby config a release uses when its own (`releaseNames(...).standbyConfig`) already holds
 * another model: its canary refreshed the standby with the model that served then, a rollback
 * changed what serves, and a retried canary must put that one on the standby. Endpoint configs
 * cannot be changed, only made anew, so it gets a name of its own, of the same shape (IAM allows
 * exactly `releaseNamePatterns`): the release id is the first hex digits of a hash of the execution
 * id and the model, the same on every poll and retry of the run.
 */
export function standbyConfigFor(namePrefix: string, executionId: string, modelName: string): string {
  const id = createHash('sha256').update(`${executionId}\0standby\0${modelName}`).digest('hex');
  return releaseNames(namePrefix, id).standbyConfig;
}

/** Characters of the execution id in a release's resource names; always exactly this many. */
export const RELEASE_ID_LENGTH = 8;

function releaseNamesOf(namePrefix: string, id: string): ReleaseNames {
  return {
    model: sageMakerName(namePrefix, id),
    liveConfig: sageMakerName(namePrefix, `${id}-live`),
    shadowConfig: sageMakerName(namePrefix, `${id}-shadow`),
    standbyConfig: sageMakerName(namePrefix, `${id}-standby`),
  };
}

interface Tag {
  readonly Key: string;
  readonly Value: string;
}

/** `CreateModel` input. Network isolation: the container needs no network, SageMaker fetches the model. */
export interface CreateModelSpec {
  readonly ModelName: string;
  readonly ExecutionRoleArn: string;
  readonly PrimaryContainer: {
    readonly Image: string;
    readonly ModelDataUrl: string;
    readonly Environment: Record<string, string>;
  };
  readonly EnableNetworkIsolation: true;
  readonly Tags: readonly Tag[];
}

export function createModelSpec(
  ctx: ServingContext,
  input: {
    readonly modelName: string;
    readonly modelDataUrl: string;
    readonly modelVersion: string;
    readonly executionId: string;
  },
): CreateModelSpec {
  return {
    ModelName: input.modelName,
    ExecutionRoleArn: ctx.executionRoleArn,
    PrimaryContainer: {
      Image: ctx.image,
      ModelDataUrl: input.modelDataUrl,
      Environment: { MODEL_NAME: ctx.model, MODEL_VERSION: input.modelVersion },
    },
    EnableNetworkIsolation: true,
    Tags: [
      { Key: 'Model', Value: ctx.model },
      { Key: 'ModelVersion', Value: input.modelVersion },
      { Key: 'PipelineExecutionId', Value: input.executionId },
    ],
  };
}

export interface ProductionVariantSpec {
  readonly VariantName: string;
  readonly ModelName: string;
  readonly InstanceType: string;
  readonly InitialInstanceCount: number;
  readonly InitialVariantWeight: number;
}

/** `CreateEndpointConfig` input. */
export interface EndpointConfigSpec {
  readonly EndpointConfigName: string;
  readonly ProductionVariants: readonly ProductionVariantSpec[];
  readonly ShadowProductionVariants?: readonly ProductionVariantSpec[];
  readonly DataCaptureConfig: {
    readonly EnableCapture: boolean;
    readonly InitialSamplingPercentage: number;
    readonly DestinationS3Uri: string;
    readonly KmsKeyId: string;
    readonly CaptureOptions: readonly { readonly CaptureMode: 'Input' | 'Output' }[];
    readonly CaptureContentTypeHeader: { readonly JsonContentTypes: readonly string[] };
  };
  readonly KmsKeyId: string;
  readonly Tags: readonly Tag[];
}

function dataCapture(ctx: ServingContext, endpointName: string, samplingPercent: number) {
  return {
    // SageMaker refuses a 0% capture; 0 in config means "off".
    EnableCapture: samplingPercent > 0,
    InitialSamplingPercentage: Math.max(1, samplingPercent),
    DestinationS3Uri: `${ctx.dataCaptureS3Uri}/${endpointName}`,
    KmsKeyId: ctx.kmsKeyArn,
    CaptureOptions: [{ CaptureMode: 'Input' as const }, { CaptureMode: 'Output' as const }],
    // JSON payloads are captured as text, so the shadow comparison can read predictions.
    CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
  };
}

function configTags(ctx: ServingContext, role: string): Tag[] {
  return [
    { Key: 'Model', Value: ctx.model },
    { Key: 'EndpointRole', Value: role },
  ];
}

/** The live endpoint with the given model as its only production variant. */
export function liveConfigSpec(
  ctx: ServingContext,
  settings: ServingSettings,
  input: {
    readonly configName: string;
    readonly modelName: string;
    readonly instanceCount: number;
    readonly endpointName: string;
  },
): EndpointConfigSpec {
  return {
    EndpointConfigName: input.configName,
    ProductionVariants: [
      {
        VariantName: LIVE_VARIANT,
        ModelName: input.modelName,
        InstanceType: settings.instanceType,
        InitialInstanceCount: input.instanceCount,
        InitialVariantWeight: 1,
      },
    ],
    DataCaptureConfig: dataCapture(ctx, input.endpointName, settings.dataCapture.samplingPercent),
    KmsKeyId: ctx.kmsKeyArn,
    Tags: configTags(ctx, 'live'),
  };
}

/**
 * The live endpoint during the shadow stage: the current production variant unchanged, plus the
 * candidate as the only shadow variant. A shadow variant's weight relative to production is the
 * share of requests copied to it.
 */
export function shadowConfigSpec(
  ctx: ServingContext,
  settings: ServingSettings,
  input: {
    readonly configName: string;
    readonly endpointName: string;
    readonly production: {
      readonly modelName: string;
      readonly instanceType: string;
      readonly instanceCount: number;
    };
    readonly candidateModelName: string;
  },
): EndpointConfigSpec {
  return {
    EndpointConfigName: input.configName,
    ProductionVariants: [
      {
        VariantName: LIVE_VARIANT,
        ModelName: input.production.modelName,
        InstanceType: input.production.instanceType,
        InitialInstanceCount: input.production.instanceCount,
        InitialVariantWeight: 1,
      },
    ],
    ShadowProductionVariants: [
      {
        VariantName: SHADOW_VARIANT,
        ModelName: input.candidateModelName,
        InstanceType: settings.instanceType,
        InitialInstanceCount: settings.shadow.instanceCount,
        InitialVariantWeight: settings.shadow.samplingPercent / 100,
      },
    ],
    DataCaptureConfig: dataCapture(ctx, input.endpointName, settings.dataCapture.samplingPercent),
    KmsKeyId: ctx.kmsKeyArn,
    Tags: configTags(ctx, 'shadow'),
  };
}

/** The standby endpoint: the previous model, warm, on the smallest fleet the config allows. */
export function standbyConfigSpec(
  ctx: ServingContext,
  settings: ServingSettings,
  input: { readonly configName: string; readonly modelName: string; readonly endpointName: string },
): EndpointConfigSpec {
  return {
    EndpointConfigName: input.configName,
    ProductionVariants: [
      {
        VariantName: STANDBY_VARIANT,
        ModelName: input.modelName,
        InstanceType: settings.standby.instanceType ?? settings.instanceType,
        InitialInstanceCount: settings.standby.instanceCount,
        InitialVariantWeight: 1,
      },
    ],
    // After a rollback the standby serves real users: capture it like the live endpoint.
    DataCaptureConfig: dataCapture(ctx, input.endpointName, settings.dataCapture.samplingPercent),
    KmsKeyId: ctx.kmsKeyArn,
    Tags: configTags(ctx, 'standby'),
  };
}

/**
 * Instances of the canary step: `sizePercent` of the fleet rounded down, at least one. The
 * platform sends the canary as `INSTANCE_COUNT`, because SageMaker does not document how it
 * rounds a `CAPACITY_PERCENT` that is not a whole number of instances.
 * Throws RangeError when one instance is more than half the fleet (SageMaker's ceiling).
 */
export function canaryInstanceCount(sizePercent: number, fleet: number): number {
  if (!Number.isInteger(fleet) || fleet < 2) {
    throw new RangeError(
      `a canary needs a fleet of at least 2 instances (got ${fleet}): one canary instance may be at most 50% of the fleet; ` +
        'raise serving.initialInstanceCount',
    );
  }
  if (!(sizePercent >= 1 && sizePercent <= 50)) {
    throw new RangeError(
      `canary size must be 1..50% of the fleet (got ${sizePercent}); set serving.canary.sizePercent`,
    );
  }
  return Math.min(Math.floor(fleet / 2), Math.max(1, Math.floor((fleet * sizePercent) / 100)));
}

/** `UpdateEndpoint`'s `DeploymentConfig` for the canary stage. */
export interface DeploymentConfigSpec {
  readonly BlueGreenUpdatePolicy: {
    readonly TrafficRoutingConfiguration: {
      readonly Type: 'CANARY';
      readonly CanarySize: { readonly Type: 'INSTANCE_COUNT'; readonly Value: number };
      readonly WaitIntervalInSeconds: number;
    };
    readonly TerminationWaitInSeconds: number;
    readonly MaximumExecutionTimeoutInSeconds: number;
  };
  readonly AutoRollbackConfiguration: { readonly Alarms: readonly { readonly AlarmName: string }[] };
}

/**
 * Blue/green with canary traffic routing: the canary instances take their share of traffic for
 * `waitMinutes` while the alarms watch, then the rest shifts; the old fleet is kept for another
 * `waitMinutes` (the final bake) so a late alarm can still roll back without a cold start.
 */
export function canaryDeploymentConfig(
  settings: ServingSettings,
  input: { readonly fleet: number; readonly alarmNames: readonly string[] },
): DeploymentConfigSpec {
  if (input.alarmNames.length === 0 || input.alarmNames.length > 10) {
    throw new RangeError(
      `auto-rollback needs 1..10 alarms (SageMaker's limit), got ${input.alarmNames.length}`,
    );
  }
  const wait = settings.canary.waitMinutes * 60;
  const max = settings.canary.maxExecutionTimeoutMinutes * 60;
  // SageMaker: MaximumExecutionTimeoutInSeconds is 600..28800 and must exceed the wait interval
  // plus the final bake; the model schema refuses settings outside that, so no value is adjusted here.
  if (max < 600 || max > 28_800 || max <= 2 * wait) {
    throw new RangeError(
      `serving.canary.maxExecutionTimeoutMinutes ${settings.canary.maxExecutionTimeoutMinutes} must be 10..480 and exceed ` +
        `twice serving.canary.waitMinutes (${settings.canary.waitMinutes}): the canary wait and the final bake both count`,
    );
  }
  return {
    BlueGreenUpdatePolicy: {
      TrafficRoutingConfiguration: {
        Type: 'CANARY',
        CanarySize: {
          Type: 'INSTANCE_COUNT',
          Value: canaryInstanceCount(settings.canary.sizePercent, input.fleet),
        },
        WaitIntervalInSeconds: wait,
      },
      TerminationWaitInSeconds: wait,
      MaximumExecutionTimeoutInSeconds: max,
    },
    AutoRollbackConfiguration: { Alarms: input.alarmNames.map((AlarmName) => ({ AlarmName })) },
  };
}

/** Application Auto Scaling's id of the live production variant. */
export function scalableTargetResourceId(endpointName: string): string {
  return `endpoint/${endpointName}/variant/${LIVE_VARIANT}`;
}

/** `RegisterScalableTarget` input for the live variant. */
export function scalableTargetSpec(settings: Pick<ServingSettings, 'autoscaling'>, endpointName: string) {
  return {
    ServiceNamespace: 'sagemaker' as const,
    ResourceId: scalableTargetResourceId(endpointName),
    ScalableDimension: 'sagemaker:variant:DesiredInstanceCount' as const,
    MinCapacity: settings.autoscaling.minInstances,
    MaxCapacity: settings.autoscaling.maxInstances,
  };
}

/** `PutScalingPolicy` input: target tracking on invocations per instance. */
export function scalingPolicySpec(settings: Pick<ServingSettings, 'autoscaling'>, endpointName: string) {
  return {
    PolicyName: `${endpointName}-invocations-per-instance`,
    ServiceNamespace: 'sagemaker' as const,
    ResourceId: scalableTargetResourceId(endpointName),
    ScalableDimension: 'sagemaker:variant:DesiredInstanceCount' as const,
    PolicyType: 'TargetTrackingScaling' as const,
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: settings.autoscaling.targetInvocationsPerInstance,
      PredefinedMetricSpecification: {
        PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' as const,
      },
      ScaleInCooldown: 300,
      ScaleOutCooldown: 60,
    },
  };
}

/**
 * Instances of the new live fleet: what the config asks for, or what autoscaling runs now if
 * that is more (a release must not shrink a fleet that scaled out for load), within the limits.
 */
export function liveFleetSize(settings: ServingSettings, currentInstances: number | undefined): number {
  const wanted = Math.max(settings.initialInstanceCount, currentInstances ?? 0);
  return Math.min(Math.max(wanted, settings.autoscaling.minInstances), settings.autoscaling.maxInstances);
}
