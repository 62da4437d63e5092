/**
 * The serving plane in memory, on a virtual clock: SageMaker, Application Auto Scaling,
 * CloudWatch, AppConfig, S3, SSM, DynamoDB, SNS and CodePipeline as far as the release path
 * uses them. The real handlers talk to it through fake SDK clients (`clients()`): objects with
 * the `send(command)` of an SDK v3 client, which dispatch on the command's class name and answer
 * with the SDK's output shapes, or throw errors named as AWS names them.
 *
 * Each behaviour names the AWS documentation it follows. Where AWS documents no number (how long
 * a GPU fleet takes to provision, how long a rollback takes), the emulator uses the constants
 * below and says so.
 */
import { randomUUID } from 'node:crypto';
import { AlarmBook, type AlarmDefinition, MetricStore } from './alarms';
import { awsError, faultError } from './faults';
import type { Random } from './random';
import { EMULATED_ACCOUNT, EMULATED_REGION } from './template';

/** Emulator assumptions, not AWS numbers (AWS documents none). */
export const TIMINGS = {
  /** CreateEndpoint of a GPU endpoint ("usually 10-20 minutes" in practice; not documented). */
  createMs: 10 * 60_000,
  /** Provisioning the new (green) fleet of an update. */
  provisionMs: 6 * 60_000,
  /** Shifting traffic back to the blue fleet after an alarm trips. */
  rollbackMs: 2 * 60_000,
};

/** A fault injected on a call: the next `times` calls of `call` fail with `error`. */
export interface Fault {
  readonly call: string;
  times: number;
  readonly error: string;
}

// Faults as each service returns them (S3 SlowDown, DynamoDB ProvisionedThroughputExceeded, ...): faults.ts.
export { awsError, faultError };

export interface ProductionVariant {
  readonly VariantName: string;
  readonly ModelName: string;
  readonly InstanceType: string;
  readonly InitialInstanceCount: number;
  readonly InitialVariantWeight?: number;
}

export interface EndpointConfig {
  readonly EndpointConfigName: string;
  readonly ProductionVariants: readonly ProductionVariant[];
  readonly ShadowProductionVariants?: readonly ProductionVariant[];
  readonly DataCaptureConfig?: {
    readonly EnableCapture?: boolean;
    readonly InitialSamplingPercentage?: number;
    readonly DestinationS3Uri?: string;
  };
}

/** A fleet serving one config. */
interface Fleet {
  readonly configName: string;
  /** Instances per production variant name. */
  readonly instances: Map<string, number>;
}

type Operation =
  | { readonly kind: 'create'; readonly readyAt: number; readonly target: Fleet }
  | { readonly kind: 'update'; readonly readyAt: number; readonly target: Fleet }
  | {
      readonly kind: 'blue-green';
      readonly target: Fleet;
      phase: 'provisioning' | 'canary' | 'shifted';
      phaseEndsAt: number;
      readonly canaryFraction: number;
      readonly waitMs: number;
      readonly terminationMs: number;
      readonly giveUpAt: number;
      readonly alarms: readonly string[];
    }
  | { readonly kind: 'rolling-back'; readonly readyAt: number; readonly reason: string };

/** The EventBridge event SageMaker sends when an endpoint's status changes. */
export interface EndpointStateChangeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': 'SageMaker Endpoint State Change';
  readonly source: 'aws.sagemaker';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: {
    readonly EndpointName: string;
    readonly EndpointArn: string;
    readonly EndpointConfigName: string | undefined;
    readonly EndpointStatus: string;
    readonly CreationTime: number;
    readonly LastModifiedTime: number;
  };
}

export interface Endpoint {
  readonly name: string;
  status: string;
  /** The fleet serving now (blue during an update). */
  serving: Fleet | undefined;
  op: Operation | undefined;
  failureReason: string | undefined;
  lastDeploymentConfig: unknown;
  readonly createdAt: number;
}

interface Model {
  readonly name: string;
  readonly arn: string;
  readonly image: string;
  readonly modelDataUrl: string;
  readonly environment: Record<string, string>;
  readonly tags: { Key: string; Value: string }[];
}

interface HostedVersion {
  readonly number: number;
  readonly content: string;
  readonly description: string;
}

export interface FlagDeployment {
  readonly number: number;
  readonly version: number;
  readonly previousVersion: number | undefined;
  readonly strategyId: string;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly bakeMs: number;
  readonly growthFactor: number;
  state: 'DEPLOYING' | 'BAKING' | 'COMPLETE' | 'ROLLED_BACK';
}

export interface DeploymentStrategy {
  readonly durationMinutes: number;
  readonly bakeMinutes: number;
  readonly growthFactor: number;
}

export interface ScalableTarget {
  readonly resourceId: string;
  readonly min: number;
  readonly max: number;
  policy: TargetTrackingPolicy | undefined;
}

/**
 * A target tracking policy as the caller put it (`PutScalingPolicy`), with the state of the two
 * alarms Application Auto Scaling manages for it: the per-minute InvocationsPerInstance datapoints
 * they have seen (newest last) and the last scaling activities, for the cooldowns.
 */
export interface TargetTrackingPolicy {
  readonly name: string;
  readonly target: number;
  readonly scaleInCooldownMs: number;
  readonly scaleOutCooldownMs: number;
  readonly disableScaleIn: boolean;
  /** The minutes the alarms saw: requests answered, and requests per instance (the metric). */
  readonly datapoints: { readonly invocations: number; readonly perInstance: number }[];
  lastScaleOut?: { atMs: number; to: number };
  lastScaleInAtMs?: number;
}

/**
 * The alarms target tracking creates and manages. AWS documents that they exist and that the
 * policy is more aggressive in adding capacity than in removing it: it considers utilization low,
 * and removes capacity, only once it passes a threshold sufficiently below the target value
 * (usually more than 10 % lower)
 * (https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html,
 * paraphrased).
 * Their datapoints are not in the user guide; operators report them as they appear in CloudWatch:
 * scale-out 3 datapoints within 3 minutes, scale-in 15 datapoints within 15 minutes
 * (aws/copilot-cli#4233, aws/containers-roadmap#638). The emulator uses those and a scale-in
 * threshold 10 % below the target.
 */
export const TARGET_TRACKING = {
  scaleOutDatapoints: 3,
  scaleInDatapoints: 15,
  scaleInThreshold: 0.9,
  /**
   * "Application Auto Scaling provides a default value of 300 for ... Amazon SageMaker endpoint
   * variants" for both ScaleInCooldown and ScaleOutCooldown (API_TargetTrackingScalingPolicyConfiguration).
   */
  defaultCooldownSeconds: 300,
} as const;

/** One line of the timeline. */
export interface TimelineEvent {
  readonly atMs: number;
  readonly actor: string;
  readonly message: string;
}

/** A request the endpoint answered, for the traffic model and the invariants. */
export interface Answer {
  readonly endpoint: string;
  readonly variant: string;
  readonly modelName: string;
  /** True when the answer came from the canary (green) fleet during a blue/green update. */
  readonly canary: boolean;
}

/** How a model answers; the traffic model decides per model name. */
export type ModelBehaviour = (
  modelName: string,
  random: Random,
) => {
  readonly ok: boolean;
  readonly confidence: number;
  readonly label: string;
  readonly latencyMs: number;
};

export class Cloud {
  nowMs: number;
  readonly timeline: TimelineEvent[] = [];
  readonly faults: Fault[] = [];
  readonly s3 = new Map<string, string[]>();
  /** SHA-256 (base64) of objects written with one, as HeadObject reports it with ChecksumMode ENABLED. */
  readonly s3Checksums = new Map<string, string>();
  readonly ssm = new Map<string, string>();
  readonly models = new Map<string, Model>();
  readonly configs = new Map<string, EndpointConfig>();
  readonly endpoints = new Map<string, Endpoint>();
  readonly scalableTargets = new Map<string, ScalableTarget>();
  readonly hostedVersions: HostedVersion[] = [];
  readonly flagDeployments: FlagDeployment[] = [];
  readonly strategies = new Map<string, DeploymentStrategy>();
  readonly tables = new Map<string, Map<string, Record<string, AttrValue>>>();
  readonly pages: { atMs: number; subject: string; body: string }[] = [];
  readonly jobResults: { atMs: number; jobId: string; kind: 'success' | 'failure'; detail: unknown }[] = [];
  readonly metrics = new MetricStore();
  /** SageMaker's endpoint state-change events not yet delivered to EventBridge targets. */
  readonly endpointEvents: EndpointStateChangeEvent[] = [];
  readonly alarms: AlarmBook;
  /** The answers of the last minute: which model served which request. */
  readonly answers: Answer[] = [];
  /** Called with an alarm's name when it changes state and lists the action ARN. */
  onAlarmAction: (arn: string, alarm: string, state: string, previous: string, reason: string) => void = () =>
    undefined;
  behaviour: ModelBehaviour = () => ({ ok: true, confidence: 0.9, label: 'other', latencyMs: 50 });

  constructor(
    startMs: number,
    readonly random: Random,
    alarmDefinitions: readonly AlarmDefinition[],
  ) {
    this.nowMs = startMs;
    this.alarms = new AlarmBook(alarmDefinitions);
  }

  log(actor: string, message: string): void {
    this.timeline.push({ atMs: this.nowMs, actor, message });
  }

  /** Throws the injected fault for `call`, if one is armed. */
  checkFault(call: string): void {
    const fault = this.faults.find((f) => f.call === call && f.times > 0);
    if (!fault) return;
    fault.times -= 1;
    const error = faultError(fault.error, call);
    const as = error.name === fault.error ? '' : ` as ${error.name}`;
    this.log('fault', `${call} fails with ${fault.error}${as} (${fault.times} more to come)`);
    throw error;
  }

  // -------------------------------------------------------------------------------------------
  // The passing of time
  // -------------------------------------------------------------------------------------------

  /** Moves endpoint operations and flag deployments forward to `nowMs`. */
  settle(): void {
    for (const endpoint of this.endpoints.values()) this.advanceEndpoint(endpoint);
    for (const d of this.flagDeployments) this.advanceDeployment(d);
  }

  /** The next time something changes by itself (an endpoint or a deployment), if any. */
  nextChangeAt(): number | undefined {
    let next: number | undefined;
    const consider = (t: number) => {
      if (t > this.nowMs && (next === undefined || t < next)) next = t;
    };
    for (const e of this.endpoints.values()) {
      const op = e.op;
      if (!op) continue;
      if (op.kind === 'blue-green') consider(Math.min(op.phaseEndsAt, op.giveUpAt));
      else consider(op.readyAt);
    }
    for (const d of this.flagDeployments) {
      if (d.state === 'DEPLOYING') consider(d.startedAt + d.durationMs);
      if (d.state === 'BAKING') consider(d.startedAt + d.durationMs + d.bakeMs);
    }
    return next;
  }

  private advanceEndpoint(e: Endpoint): void {
    for (let guard = 0; guard < 10 && e.op; guard++) {
      const op = e.op;
      const now = this.nowMs;
      if (op.kind === 'create' || op.kind === 'update') {
        if (now < op.readyAt) return;
        e.serving = op.target;
        this.setStatus(e, 'InService');
        e.op = undefined;
        this.log('sagemaker', `${e.name} InService on ${op.target.configName} (${fleetText(op.target)})`);
        return;
      }
      if (op.kind === 'rolling-back') {
        if (now < op.readyAt) return;
        this.setStatus(e, 'InService');
        e.op = undefined;
        this.log('sagemaker', `${e.name} rolled back: InService on ${e.serving?.configName} (${op.reason})`);
        return;
      }
      // Blue/green with canary traffic shifting (docs.aws.amazon.com/sagemaker/latest/dg/
      // deployment-guardrails-blue-green-canary.html): provision the green fleet, route the canary
      // share to it and bake, shift the rest, then keep the blue fleet for the termination wait.
      // Alarms are watched through the baking periods; one in ALARM rolls all traffic back to blue
      // (deployment-guardrails-configuration.html).
      if (now >= op.giveUpAt) {
        this.rollBack(e, 'MaximumExecutionTimeoutInSeconds reached');
        continue;
      }
      if (now < op.phaseEndsAt) return;
      if (op.phase === 'provisioning') {
        op.phase = 'canary';
        op.phaseEndsAt = op.phaseEndsAt + op.waitMs;
        this.log('sagemaker', `${e.name}: canary fleet takes ${pct(op.canaryFraction)} of traffic; baking`);
      } else if (op.phase === 'canary') {
        op.phase = 'shifted';
        op.phaseEndsAt = op.phaseEndsAt + op.terminationMs;
        this.log('sagemaker', `${e.name}: all traffic on the new fleet; old fleet kept for the final bake`);
      } else {
        e.serving = op.target;
        this.setStatus(e, 'InService');
        e.op = undefined;
        this.log('sagemaker', `${e.name} InService on ${op.target.configName} (${fleetText(op.target)})`);
        return;
      }
    }
  }

  /** Checks a guarded update's alarms; any in ALARM rolls it back. Called after every alarm evaluation. */
  watchGuardrails(): void {
    for (const e of this.endpoints.values()) {
      const op = e.op;
      if (op?.kind !== 'blue-green' || op.phase === 'provisioning') continue;
      const tripped = op.alarms.filter((a) => this.alarms.state(a) === 'ALARM');
      if (tripped.length > 0) this.rollBack(e, `alarm(s) ${tripped.join(', ')} in ALARM`);
    }
  }

  /**
   * A status change, and the event SageMaker sends to EventBridge for it: detail-type "SageMaker
   * Endpoint State Change", source aws.sagemaker, detail with EndpointName, EndpointConfigName and
   * EndpointStatus ("SageMaker endpoint state change",
   * https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-endpoint).
   * Events "are delivered to EventBridge in near real time"; the world delivers them to the rules'
   * targets (World.deliverEndpointEvents).
   */
  private setStatus(e: Endpoint, status: string): void {
    if (e.status === status) return;
    e.status = status;
    this.endpointEvents.push(this.stateChangeEvent(e));
  }

  private stateChangeEvent(e: Endpoint): EndpointStateChangeEvent {
    const arn = `arn:aws:sagemaker:${EMULATED_REGION}:${EMULATED_ACCOUNT}:endpoint/${e.name.toLowerCase()}`;
    return {
      version: '0',
      id: `sagemaker-${e.name}-${this.nowMs}-${e.status}`,
      'detail-type': 'SageMaker Endpoint State Change',
      source: 'aws.sagemaker',
      account: EMULATED_ACCOUNT,
      time: new Date(this.nowMs).toISOString(),
      region: EMULATED_REGION,
      resources: [arn],
      detail: {
        EndpointName: e.name,
        EndpointArn: arn,
        EndpointConfigName: e.op && 'target' in e.op ? e.op.target.configName : e.serving?.configName,
        EndpointStatus: e.status,
        CreationTime: e.createdAt,
        LastModifiedTime: this.nowMs,
      },
    };
  }

  private rollBack(e: Endpoint, reason: string): void {
    this.setStatus(e, 'RollingBack');
    e.failureReason = `Deployment rolled back: ${reason}`;
    e.op = { kind: 'rolling-back', readyAt: this.nowMs + TIMINGS.rollbackMs, reason };
    this.log('sagemaker', `${e.name} RollingBack: ${reason}`);
  }

  private advanceDeployment(d: FlagDeployment): void {
    if (d.state === 'DEPLOYING' && this.nowMs >= d.startedAt + d.durationMs) {
      d.state = d.bakeMs > 0 ? 'BAKING' : 'COMPLETE';
    }
    if (d.state === 'BAKING' && this.nowMs >= d.startedAt + d.durationMs + d.bakeMs) d.state = 'COMPLETE';
  }

  // -------------------------------------------------------------------------------------------
  // SageMaker
  // -------------------------------------------------------------------------------------------

  modelVersionOf(modelName: string | undefined): string | undefined {
    return modelName === undefined ? undefined : this.models.get(modelName)?.environment.MODEL_VERSION;
  }

  /** The production variant's model of the config the endpoint serves now. */
  servingModel(endpointName: string, variant?: string): string | undefined {
    const e = this.endpoints.get(endpointName);
    const config = e?.serving ? this.configs.get(e.serving.configName) : undefined;
    const v = variant
      ? config?.ProductionVariants.find((p) => p.VariantName === variant)
      : config?.ProductionVariants[0];
    return v?.ModelName;
  }

  instancesOf(endpointName: string, variant: string): number | undefined {
    return this.endpoints.get(endpointName)?.serving?.instances.get(variant);
  }

  describeEndpoint(name: string) {
    const e = this.endpoints.get(name);
    // A missing endpoint is a ValidationException "Could not find endpoint" (moto and AWS agree).
    if (!e) throw awsError('ValidationException', `Could not find endpoint "${name}".`);
    const config = e.serving ? this.configs.get(e.serving.configName) : undefined;
    return {
      EndpointName: e.name,
      EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${e.name}`,
      EndpointConfigName:
        e.serving?.configName ?? (e.op && 'target' in e.op ? e.op.target.configName : undefined),
      EndpointStatus: e.status,
      FailureReason: e.failureReason,
      LastDeploymentConfig: e.lastDeploymentConfig,
      // "Returns the summary of an in-progress deployment. This field is only returned when the
      // endpoint is creating or updating with a new endpoint configuration"
      // (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html,
      // API_PendingDeploymentSummary.html): while rolling back, the old config is what it returns to.
      PendingDeploymentSummary:
        e.op && 'target' in e.op ? { EndpointConfigName: e.op.target.configName } : undefined,
      ProductionVariants: (config?.ProductionVariants ?? []).map((v) => ({
        VariantName: v.VariantName,
        CurrentInstanceCount: e.serving?.instances.get(v.VariantName),
        DesiredInstanceCount: e.serving?.instances.get(v.VariantName),
        CurrentWeight: v.InitialVariantWeight ?? 1,
        DeployedImages: [],
      })),
      ShadowProductionVariants: (config?.ShadowProductionVariants ?? []).map((v) => ({
        VariantName: v.VariantName,
        CurrentInstanceCount: v.InitialInstanceCount,
      })),
      CreationTime: new Date(e.createdAt),
      LastModifiedTime: new Date(this.nowMs),
    };
  }

  private fleetFor(configName: string, current: Fleet | undefined, retain: boolean): Fleet {
    const config = this.configs.get(configName)!;
    const instances = new Map<string, number>();
    for (const v of config.ProductionVariants) {
      // RetainAllVariantProperties true keeps the instance count of variants of the same name;
      // false (the default) takes the new config's InitialInstanceCount (API_UpdateEndpoint).
      const kept = retain ? current?.instances.get(v.VariantName) : undefined;
      instances.set(v.VariantName, kept ?? v.InitialInstanceCount);
    }
    return { configName, instances };
  }

  createEndpoint(name: string, configName: string): void {
    if (this.endpoints.has(name))
      throw awsError('ValidationException', `Cannot create already existing endpoint "${name}".`);
    if (!this.configs.has(configName))
      throw awsError('ValidationException', `Could not find endpoint configuration "${configName}".`);
    const target = this.fleetFor(configName, undefined, false);
    this.endpoints.set(name, {
      name,
      status: 'Creating',
      serving: undefined,
      op: { kind: 'create', readyAt: this.nowMs + TIMINGS.createMs, target },
      failureReason: undefined,
      lastDeploymentConfig: undefined,
      createdAt: this.nowMs,
    });
    this.log('sagemaker', `${name} Creating with ${configName}`);
    this.endpointEvents.push(this.stateChangeEvent(this.endpoints.get(name)!));
  }

  updateEndpoint(input: {
    EndpointName: string;
    EndpointConfigName: string;
    RetainAllVariantProperties?: boolean;
    DeploymentConfig?: {
      BlueGreenUpdatePolicy?: {
        TrafficRoutingConfiguration?: { CanarySize?: { Value?: number }; WaitIntervalInSeconds?: number };
        TerminationWaitInSeconds?: number;
        MaximumExecutionTimeoutInSeconds?: number;
      };
      AutoRollbackConfiguration?: { Alarms?: { AlarmName?: string }[] };
    };
  }): void {
    const e = this.endpoints.get(input.EndpointName);
    if (!e) throw awsError('ValidationException', `Could not find endpoint "${input.EndpointName}".`);
    const config = this.configs.get(input.EndpointConfigName);
    if (!config)
      throw awsError(
        'ValidationException',
        `Could not find endpoint configuration "${input.EndpointConfigName}".`,
      );
    // One update at a time. AWS documents that UpdateEndpoint sets the status to Updating and back
    // to InService when done (API_UpdateEndpoint), not the refusal of a second update meanwhile:
    // the ValidationException "Cannot update in-progress endpoint" is what SageMaker answers in
    // practice (an assumption, like TIMINGS; faults.ts says the same of AlreadyUpdating).
    if (e.status !== 'InService' && e.status !== 'OutOfService' && e.status !== 'UpdateRollbackFailed') {
      throw awsError(
        'ValidationException',
        `Cannot update in-progress endpoint "${e.name}" (status ${e.status}).`,
      );
    }
    const current = e.serving ? this.configs.get(e.serving.configName) : undefined;
    // Application Auto Scaling refuses an update that changes the instance type of a variant that is
    // a scalable target (docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
    for (const v of config.ProductionVariants) {
      const old = current?.ProductionVariants.find((p) => p.VariantName === v.VariantName);
      const resourceId = `endpoint/${e.name}/variant/${v.VariantName}`;
      if (old && old.InstanceType !== v.InstanceType && this.scalableTargets.has(resourceId)) {
        throw awsError(
          'ValidationException',
          `The variant ${v.VariantName} of endpoint ${e.name} is registered with Application Auto Scaling; ` +
            `deregister it before changing its instance type from ${old.InstanceType} to ${v.InstanceType}.`,
        );
      }
    }
    // SageMaker allows one production variant beside a shadow variant (API_CreateEndpointConfig).
    if ((config.ShadowProductionVariants?.length ?? 0) > 0 && config.ProductionVariants.length !== 1) {
      throw awsError(
        'ValidationException',
        'An endpoint config with a shadow variant must have exactly one production variant.',
      );
    }
    const target = this.fleetFor(
      config.EndpointConfigName,
      e.serving,
      input.RetainAllVariantProperties === true,
    );
    e.failureReason = undefined;
    this.setStatus(e, 'Updating');
    const policy = input.DeploymentConfig?.BlueGreenUpdatePolicy;
    const alarms = (input.DeploymentConfig?.AutoRollbackConfiguration?.Alarms ?? [])
      .map((a) => a.AlarmName ?? '')
      .filter((a) => a !== '');
    e.lastDeploymentConfig = input.DeploymentConfig;
    if (policy?.TrafficRoutingConfiguration) {
      const fleet = [...target.instances.values()].reduce((a, b) => a + b, 0);
      const canary = policy.TrafficRoutingConfiguration.CanarySize?.Value ?? 1;
      e.op = {
        kind: 'blue-green',
        target,
        phase: 'provisioning',
        phaseEndsAt: this.nowMs + TIMINGS.provisionMs,
        canaryFraction: Math.min(0.5, canary / Math.max(1, fleet)),
        waitMs: (policy.TrafficRoutingConfiguration.WaitIntervalInSeconds ?? 0) * 1000,
        terminationMs: (policy.TerminationWaitInSeconds ?? 0) * 1000,
        giveUpAt: this.nowMs + (policy.MaximumExecutionTimeoutInSeconds ?? 28_800) * 1000,
        alarms,
      };
      this.log(
        'sagemaker',
        `${e.name} Updating (blue/green canary) to ${config.EndpointConfigName}; auto-rollback on ${alarms.join(', ') || 'no alarms'}`,
      );
    } else {
      e.op = { kind: 'update', readyAt: this.nowMs + TIMINGS.provisionMs, target };
      this.log('sagemaker', `${e.name} Updating to ${config.EndpointConfigName} (${fleetText(target)})`);
    }
  }

  /**
   * DeleteEndpoint: "SageMaker frees up all of the resources that were deployed when the endpoint
   * was created" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpoint.html).
   * AWS reports the endpoint `Deleting` for a while and then not at all; the emulator removes it at
   * once (the serving guard treats Deleting as gone, and a Deleting endpoint answers no request).
   * The configs and models stay, as in AWS.
   */
  deleteEndpoint(name: string): void {
    if (!this.endpoints.has(name))
      throw awsError('ValidationException', `Could not find endpoint "${name}".`);
    this.endpoints.delete(name);
    this.deletedEndpoints.push({ name, atMs: this.nowMs });
    this.log('sagemaker', `${name} deleted`);
  }

  /** Endpoints deleted so far, and when. */
  readonly deletedEndpoints: { readonly name: string; readonly atMs: number }[] = [];

  /**
   * Which fleet answers a request to the endpoint now: the canary share goes to the green fleet
   * during the canary bake, everything after the shift.
   */
  private answeringFleet(e: Endpoint): { fleet: Fleet; canary: boolean } | undefined {
    const op = e.op;
    if (op?.kind === 'blue-green') {
      if (op.phase === 'shifted') return { fleet: op.target, canary: true };
      if (op.phase === 'canary' && this.random.next() < op.canaryFraction)
        return { fleet: op.target, canary: true };
    }
    return e.serving ? { fleet: e.serving, canary: false } : undefined;
  }

  /** InvokeEndpoint (runtime): answers with the model's behaviour, records metrics and capture. */
  invoke(input: { EndpointName: string; TargetVariant?: string; Body?: unknown; InferenceId?: string }) {
    this.checkFault('InvokeEndpoint');
    const e = this.endpoints.get(input.EndpointName);
    if (!e || !e.serving || e.status === 'Creating' || e.status === 'Failed') {
      throw awsError(
        'ValidationException',
        `Endpoint ${input.EndpointName} of account 123456789012 not found.`,
      );
    }
    const answering = this.answeringFleet(e)!;
    const config = this.configs.get(answering.fleet.configName)!;
    const variant = input.TargetVariant
      ? config.ProductionVariants.find((v) => v.VariantName === input.TargetVariant)
      : config.ProductionVariants[0];
    if (!variant) {
      throw awsError('ValidationException', `Endpoint ${e.name} has no variant ${input.TargetVariant}.`);
    }
    const result = this.behaviour(variant.ModelName, this.random);
    const dims = { EndpointName: e.name, VariantName: variant.VariantName };
    // SageMaker endpoint invocation metrics, per endpoint and variant (monitoring-cloudwatch.html):
    // Invocations, Invocation5XXErrors, ModelLatency in microseconds; InvocationsPerInstance, where
    // "1/numberOfInstances is sent as the value on each request" (API_ScalingPolicyMetric).
    this.metrics.putAll('AWS/SageMaker', dims, this.nowMs, [
      ['Invocations', 1],
      ['InvocationsPerInstance', 1 / Math.max(1, this.instancesOf(e.name, variant.VariantName) ?? 1)],
      ['Invocation5XXErrors', result.ok ? 0 : 1],
      ['ModelLatency', result.latencyMs * 1000],
    ]);
    this.answers.push({
      endpoint: e.name,
      variant: variant.VariantName,
      modelName: variant.ModelName,
      canary: answering.canary,
    });
    const body = JSON.stringify({ label: result.label, confidence: result.confidence });
    this.capture(e, config, variant.VariantName, input, body);
    for (const shadow of config.ShadowProductionVariants ?? []) {
      // A shadow variant gets a copy of the share of requests its weight says; its answer is only captured.
      if (this.random.next() >= (shadow.InitialVariantWeight ?? 1)) continue;
      const s = this.behaviour(shadow.ModelName, this.random);
      const sdims = { EndpointName: e.name, VariantName: shadow.VariantName };
      this.metrics.putAll('AWS/SageMaker', sdims, this.nowMs, [
        ['Invocations', 1],
        ['Invocation5XXErrors', s.ok ? 0 : 1],
        ['ModelLatency', s.latencyMs * 1000],
      ]);
      this.capture(
        e,
        config,
        shadow.VariantName,
        input,
        JSON.stringify({ label: s.label, confidence: s.confidence }),
      );
    }
    if (!result.ok) {
      throw awsError(
        'ModelError',
        'Received server error (500) from primary with message "model failed"',
        424,
      );
    }
    return {
      Body: new TextEncoder().encode(body),
      ContentType: 'application/json',
      InvokedProductionVariant: variant.VariantName,
    };
  }

  /**
   * Data capture, one JSON line per request and variant under
   * `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/` (model-monitor-data-capture-endpoint.html).
   * `eventId` is generated per invocation of each variant; `inferenceId` is what the caller sent.
   */
  private capture(
    e: Endpoint,
    config: EndpointConfig,
    variant: string,
    input: { Body?: unknown; InferenceId?: string },
    output: string,
  ): void {
    const dc = config.DataCaptureConfig;
    // EnableCapture "defaults to enabled" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DataCaptureConfig.html).
    if (!dc || dc.EnableCapture === false || !dc.DestinationS3Uri) return;
    if (this.random.next() * 100 >= (dc.InitialSamplingPercentage ?? 100)) return;
    const d = new Date(this.nowMs);
    const two = (n: number) => String(n).padStart(2, '0');
    const key = `${dc.DestinationS3Uri.replace(/\/+$/, '')}/${e.name}/${variant}/${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCHours())}/${two(d.getUTCMinutes())}-00-000-capture.jsonl`;
    const line = JSON.stringify({
      captureData: {
        endpointInput: {
          observedContentType: 'application/json',
          mode: 'INPUT',
          data: String(input.Body ?? ''),
          encoding: 'JSON',
        },
        endpointOutput: {
          observedContentType: 'application/json',
          mode: 'OUTPUT',
          data: output,
          encoding: 'JSON',
        },
      },
      eventMetadata: {
        eventId: this.random.hex(32),
        ...(input.InferenceId ? { inferenceId: input.InferenceId } : {}),
        inferenceTime: d.toISOString(),
      },
      eventVersion: '0',
    });
    const url = /^s3:\/\/([^/]+)\/(.*)$/.exec(key);
    if (!url) return;
    const id = `${url[1]}/${url[2]}`;
    const versions = this.s3.get(id) ?? [];
    versions.push(`${versions.at(-1) ?? ''}${line}\n`);
    // Only the newest version matters for capture files; keep memory flat.
    if (versions.length > 1) versions.splice(0, versions.length - 1);
    this.s3.set(id, versions);
  }

  // -------------------------------------------------------------------------------------------
  // Application Auto Scaling
  // -------------------------------------------------------------------------------------------

  /**
   * Target tracking on invocations per instance, evaluated at each minute for registered variants of
   * endpoints in service (autoscaling is blocked while an update is in progress:
   * endpoint-scaling-update.html; the alarms' datapoints of those minutes are not recorded, so a
   * fleet an update replaced is judged on its own traffic).
   *
   * - Scale-out: when the last `scaleOutDatapoints` minutes were all above the target, to the count
   *   that brings the metric back to the target. ScaleOutCooldown: "the scaling policy won't
   *   increase the desired capacity again unless either a larger scale out is triggered or the
   *   cooldown period ends".
   * - Scale-in: only when the last `scaleInDatapoints` minutes were all below the scale-in
   *   threshold, and to the count the busiest of those minutes needs at the target: the overview
   *   page says the policy does not scale in when removing capacity would likely push the metric
   *   above the target, and that the conservative scale-in is meant to remove capacity only once
   *   the application no longer sees the level of demand it saw before (paraphrased; so a few idle
   *   minutes inside a busy quarter of an hour remove nothing).
   *   ScaleInCooldown: "scale-in activities are blocked until the cooldown period has expired.
   *   However, if another alarm triggers a scale-out activity during the scale-in cooldown period,
   *   Application Auto Scaling scales out the target immediately. In this case, the scale-in
   *   cooldown period stops" (API_TargetTrackingScalingPolicyConfiguration, ScaleInCooldown /
   *   ScaleOutCooldown). DisableScaleIn true: the policy never removes capacity.
   *
   * A minute without requests counts as a datapoint of 0. CloudWatch treats a minute an
   * event-driven metric did not report as missing, and an alarm whose evaluation range is all
   * missing goes to INSUFFICIENT_DATA and acts not (alarms-and-missing-data.html): if SageMaker
   * reports no Invocations for an idle minute, AWS scales an idle fleet in later than this, never
   * sooner, so the emulator takes the reading that is harder on the release path.
   */
  autoscale(invocationsLastMinute: (endpoint: string, variant: string) => number): void {
    for (const target of this.scalableTargets.values()) {
      const m = /^endpoint\/([^/]+)\/variant\/([^/]+)$/.exec(target.resourceId);
      const policy = target.policy;
      if (!m || !policy) continue;
      const [, endpointName, variant] = m as unknown as [string, string, string];
      const e = this.endpoints.get(endpointName);
      if (!e || e.status !== 'InService' || !e.serving || !e.serving.instances.has(variant)) continue;
      const current = e.serving.instances.get(variant)!;
      const invocations = invocationsLastMinute(endpointName, variant);
      policy.datapoints.push({ invocations, perInstance: invocations / current });
      if (policy.datapoints.length > TARGET_TRACKING.scaleInDatapoints) policy.datapoints.shift();
      const fleetFor = (n: number) =>
        Math.min(target.max, Math.max(target.min, Math.ceil(n / policy.target)));
      const last = (n: number) => (policy.datapoints.length >= n ? policy.datapoints.slice(-n) : undefined);
      const outWindow = last(TARGET_TRACKING.scaleOutDatapoints);
      const inWindow = last(TARGET_TRACKING.scaleInDatapoints);
      const high = outWindow?.every((d) => d.perInstance > policy.target) ?? false;
      const low =
        inWindow?.every((d) => d.perInstance < policy.target * TARGET_TRACKING.scaleInThreshold) ?? false;
      const out = policy.lastScaleOut;
      if (high && fleetFor(invocations) > current) {
        const wanted = fleetFor(invocations);
        if (out && this.nowMs - out.atMs < policy.scaleOutCooldownMs && wanted <= out.to) continue;
        e.serving.instances.set(variant, wanted);
        policy.lastScaleOut = { atMs: this.nowMs, to: wanted };
        policy.lastScaleInAtMs = undefined;
        this.log('autoscaling', `${endpointName}/${variant}: ${current} → ${wanted} instances (scale-out)`);
      } else if (low && !policy.disableScaleIn && inWindow) {
        const wanted = fleetFor(Math.max(...inWindow.map((d) => d.invocations)));
        if (wanted >= current) continue;
        const since = policy.lastScaleInAtMs;
        if (since !== undefined && this.nowMs - since < policy.scaleInCooldownMs) continue;
        e.serving.instances.set(variant, wanted);
        policy.lastScaleInAtMs = this.nowMs;
        this.log('autoscaling', `${endpointName}/${variant}: ${current} → ${wanted} instances (scale-in)`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // AppConfig
  // -------------------------------------------------------------------------------------------

  /**
   * The flag version a router container gets now. During a deployment, AppConfig hands the new
   * version to a growing share of targets: linear growth, "increments of the growth factor evenly
   * distributed over the deployment"; the documented timeline of a 10-hour deployment at 20% is 0%
   * at 0 h, 20% at 2 h, ... 100% at 10 h, so the first step lands one step into the deployment
   * (https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-deployment-strategy.html).
   * Container `i` of `n` is in that share when i/n is below it.
   */
  flagVersionFor(container: number, containers: number): HostedVersion | undefined {
    const last = [...this.flagDeployments].reverse().find((d) => d.state !== 'ROLLED_BACK');
    if (!last) return undefined;
    let share = 1;
    if (last.state === 'DEPLOYING' && last.durationMs > 0) {
      const steps = Math.ceil(100 / last.growthFactor);
      const stepMs = last.durationMs / steps;
      const done = Math.floor((this.nowMs - last.startedAt) / stepMs);
      share = Math.min(1, (done * last.growthFactor) / 100);
    }
    const number = container / containers < share ? last.version : last.previousVersion;
    return number === undefined ? undefined : this.hostedVersions[number - 1];
  }

  /** The newest complete (or in-progress) flag deployment's version. */
  deployedFlag(): string | undefined {
    return this.flagVersionFor(0, 1)?.content;
  }
}

export type AttrValue = { S?: string; N?: string; NULL?: boolean; BOOL?: boolean };

function fleetText(fleet: { readonly instances: Map<string, number> }): string {
  return [...fleet.instances.entries()]
    .map(([v, n]) => `${v}: ${n} instance${n === 1 ? '' : 's'}`)
    .join(', ');
}

function pct(f: number): string {
  return `${Math.round(f * 1000) / 10}%`;
}

export { randomUUID };
