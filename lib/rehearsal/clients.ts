/**
 * Fake AWS SDK v3 clients over the emulated cloud: each has the client's `send(command)` and
 * answers the commands the handlers send, dispatching on the command's class name. Every call
 * passes through fault injection first (`Cloud.checkFault`).
 *
 * They are handed to the handlers through the handlers' own dependency injection (`createHandler
 * (deps)`), cast to the SDK client types: the handlers run unchanged.
 */
import { awsError, Cloud, TARGET_TRACKING, type AttrValue, type EndpointConfig } from './cloud';

interface Command {
  readonly input: Record<string, unknown>;
}

type Handler = (input: Record<string, unknown>) => unknown;

/** A client whose `send` dispatches by command name; an unknown command is a loud error. */
function fakeClient(
  cloud: Cloud,
  service: string,
  handlers: Record<string, Handler>,
): { send: (c: Command) => Promise<unknown> } {
  return {
    send: async (command: Command) => {
      const name = commandName(command);
      cloud.checkFault(name);
      const handler = handlers[name];
      if (!handler)
        throw new Error(
          `the rehearsal's ${service} does not emulate ${name}; add it to lib/rehearsal/clients.ts`,
        );
      // Inputs are copied so a handler cannot change what the cloud stored by mutating its request.
      return handler(copyInput(command.input));
    },
  };
}

const commandNames = new WeakMap<object, string>();

/** `GetObjectCommand` → `GetObject`, once per command class. */
function commandName(command: Command): string {
  let name = commandNames.get(command.constructor);
  if (name === undefined) {
    name = command.constructor.name.replace(/Command$/, '');
    commandNames.set(command.constructor, name);
  }
  return name;
}

/**
 * A deep copy of a command's input, as `structuredClone` makes it: plain objects, arrays, byte
 * arrays and dates are copied here (the inputs the handlers send are made of these, and copying
 * them by hand is several times faster); anything else goes to `structuredClone`.
 */
function copyInput<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyInput) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = copyInput((value as Record<string, unknown>)[key]);
    return out as T;
  }
  return structuredClone(value);
}

function body(text: string) {
  return {
    transformToString: async () => text,
    transformToByteArray: async () => new TextEncoder().encode(text),
  };
}

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  return String(value ?? '');
}

// ---------------------------------------------------------------------------------------------
// S3 (versioned bucket: every PutObject is a new version; GetObject reads the newest)
// ---------------------------------------------------------------------------------------------

function s3(cloud: Cloud) {
  return fakeClient(cloud, 'S3', {
    GetObject: (i) => {
      const versions = cloud.s3.get(`${i.Bucket}/${i.Key}`);
      if (!versions || versions.length === 0)
        throw awsError('NoSuchKey', 'The specified key does not exist.', 404);
      return { Body: body(versions.at(-1)!), ContentType: 'application/json', ETag: `"${versions.length}"` };
    },
    HeadObject: (i) => {
      const id = `${i.Bucket}/${i.Key}`;
      const versions = cloud.s3.get(id);
      if (!versions || versions.length === 0) throw awsError('NotFound', 'Not Found', 404);
      return { ContentLength: versions.at(-1)!.length, ChecksumSHA256: cloud.s3Checksums.get(id) };
    },
    PutObject: (i) => {
      const id = `${i.Bucket}/${i.Key}`;
      const versions = cloud.s3.get(id) ?? [];
      // Conditional write on the ETag: 412 when the object changed (or is gone) since it was read
      // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
      if (typeof i.IfMatch === 'string' && i.IfMatch !== `"${versions.length}"`)
        throw awsError(
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
          412,
        );
      versions.push(toText(i.Body));
      cloud.s3.set(id, versions);
      // A checksum is kept only for the version written with it (S3 full-object checksums).
      if (typeof i.ChecksumSHA256 === 'string') cloud.s3Checksums.set(id, i.ChecksumSHA256);
      else cloud.s3Checksums.delete(id);
      return { VersionId: String(versions.length), ETag: `"${versions.length}"` };
    },
    ListObjectsV2: (i) => {
      const prefix = `${i.Bucket}/${(i.Prefix as string | undefined) ?? ''}`;
      const contents = [...cloud.s3.entries()]
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => ({ Key: k.slice(String(i.Bucket).length + 1), Size: v.at(-1)!.length }));
      return { Contents: contents, IsTruncated: false, KeyCount: contents.length };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// SSM, CodePipeline, SNS
// ---------------------------------------------------------------------------------------------

function ssm(cloud: Cloud) {
  return fakeClient(cloud, 'SSM', {
    GetParameter: (i) => {
      const value = cloud.ssm.get(String(i.Name));
      if (value === undefined) throw awsError('ParameterNotFound', `Parameter ${i.Name} not found.`);
      return { Parameter: { Name: i.Name, Value: value, Type: 'String' } };
    },
  });
}

function codepipeline(cloud: Cloud) {
  return fakeClient(cloud, 'CodePipeline', {
    PutJobSuccessResult: (i) => {
      cloud.jobResults.push({ atMs: cloud.nowMs, jobId: String(i.jobId), kind: 'success', detail: i });
      return {};
    },
    PutJobFailureResult: (i) => {
      cloud.jobResults.push({ atMs: cloud.nowMs, jobId: String(i.jobId), kind: 'failure', detail: i });
      return {};
    },
  });
}

function sns(cloud: Cloud) {
  return fakeClient(cloud, 'SNS', {
    Publish: (i) => {
      cloud.pages.push({
        atMs: cloud.nowMs,
        subject: String(i.Subject ?? ''),
        body: String(i.Message ?? ''),
      });
      cloud.log('pager', `page: ${String(i.Subject ?? '')}`);
      return { MessageId: cloud.random.hex(8) };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// SageMaker
// ---------------------------------------------------------------------------------------------

function sagemaker(cloud: Cloud) {
  return fakeClient(cloud, 'SageMaker', {
    DescribeEndpoint: (i) => {
      cloud.settle();
      return cloud.describeEndpoint(String(i.EndpointName));
    },
    DescribeEndpointConfig: (i) => {
      const c = cloud.configs.get(String(i.EndpointConfigName));
      if (!c)
        throw awsError(
          'ValidationException',
          `Could not find endpoint configuration "${i.EndpointConfigName}".`,
        );
      return c;
    },
    CreateEndpointConfig: (i) => {
      const name = String(i.EndpointConfigName);
      if (cloud.configs.has(name))
        throw awsError(
          'ValidationException',
          `Cannot create already existing endpoint configuration "${name}".`,
        );
      const config = i as unknown as EndpointConfig;
      // "If you use this field, you can only specify one variant for ProductionVariants and one
      // variant for ShadowProductionVariants" (ShadowProductionVariants, API_CreateEndpointConfig).
      const shadows = config.ShadowProductionVariants?.length ?? 0;
      if (shadows > 0 && (config.ProductionVariants.length !== 1 || shadows !== 1)) {
        throw awsError(
          'ValidationException',
          'An endpoint config with ShadowProductionVariants must have exactly one production variant and one shadow variant.',
        );
      }
      cloud.configs.set(name, config);
      return { EndpointConfigArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint-config/${name}` };
    },
    CreateModel: (i) => {
      const name = String(i.ModelName);
      if (cloud.models.has(name))
        throw awsError('ValidationException', `Cannot create already existing model "${name}".`);
      const container = (i.PrimaryContainer ?? {}) as {
        Image?: string;
        ModelDataUrl?: string;
        Environment?: Record<string, string>;
      };
      const arn = `arn:aws:sagemaker:eu-west-1:123456789012:model/${name}`;
      cloud.models.set(name, {
        name,
        arn,
        image: container.Image ?? '',
        modelDataUrl: container.ModelDataUrl ?? '',
        environment: container.Environment ?? {},
        tags: (i.Tags as { Key: string; Value: string }[] | undefined) ?? [],
      });
      return { ModelArn: arn };
    },
    DescribeModel: (i) => {
      const m = cloud.models.get(String(i.ModelName));
      if (!m) throw awsError('ValidationException', `Could not find model "${i.ModelName}".`);
      return {
        ModelName: m.name,
        ModelArn: m.arn,
        PrimaryContainer: { Image: m.image, ModelDataUrl: m.modelDataUrl, Environment: m.environment },
      };
    },
    ListTags: (i) => {
      const m = [...cloud.models.values()].find((x) => x.arn === i.ResourceArn);
      return { Tags: m?.tags ?? [] };
    },
    CreateEndpoint: (i) => {
      cloud.createEndpoint(String(i.EndpointName), String(i.EndpointConfigName));
      return { EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${i.EndpointName}` };
    },
    DeleteEndpoint: (i) => {
      cloud.settle();
      cloud.deleteEndpoint(String(i.EndpointName));
      return {};
    },
    UpdateEndpoint: (i) => {
      cloud.settle();
      cloud.updateEndpoint(i as Parameters<Cloud['updateEndpoint']>[0]);
      return { EndpointArn: `arn:aws:sagemaker:eu-west-1:123456789012:endpoint/${i.EndpointName}` };
    },
  });
}

function sagemakerRuntime(cloud: Cloud) {
  return {
    send: async (command: Command) => {
      cloud.settle();
      return cloud.invoke(command.input as Parameters<Cloud['invoke']>[0]);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Application Auto Scaling
// ---------------------------------------------------------------------------------------------

function autoscaling(cloud: Cloud) {
  const notFound = (id: unknown) =>
    awsError('ObjectNotFoundException', `No scalable target registered for ${id}.`);
  return fakeClient(cloud, 'ApplicationAutoScaling', {
    RegisterScalableTarget: (i) => {
      const id = String(i.ResourceId);
      const existing = cloud.scalableTargets.get(id);
      cloud.scalableTargets.set(id, {
        resourceId: id,
        min: Number(i.MinCapacity ?? existing?.min ?? 1),
        max: Number(i.MaxCapacity ?? existing?.max ?? 1),
        policy: existing?.policy,
      });
      cloud.log('autoscaling', `registered ${id} (${i.MinCapacity}-${i.MaxCapacity})`);
      return {};
    },
    PutScalingPolicy: (i) => {
      const target = cloud.scalableTargets.get(String(i.ResourceId));
      if (!target) throw notFound(i.ResourceId);
      const config = i.TargetTrackingScalingPolicyConfiguration as
        | {
            TargetValue?: number;
            ScaleInCooldown?: number;
            ScaleOutCooldown?: number;
            DisableScaleIn?: boolean;
          }
        | undefined;
      const name = String(i.PolicyName);
      // PutScalingPolicy "creates or updates a scaling policy" (API_PutScalingPolicy): an update of the
      // same policy keeps its alarms, and what they have seen.
      const previous = target.policy?.name === name ? target.policy : undefined;
      const cooldownMs = (s: number | undefined) =>
        1000 * Number(s ?? TARGET_TRACKING.defaultCooldownSeconds);
      target.policy = {
        name,
        target: Number(config?.TargetValue ?? 1),
        scaleInCooldownMs: cooldownMs(config?.ScaleInCooldown),
        scaleOutCooldownMs: cooldownMs(config?.ScaleOutCooldown),
        disableScaleIn: config?.DisableScaleIn === true,
        datapoints: previous?.datapoints ?? [],
        lastScaleOut: previous?.lastScaleOut,
        lastScaleInAtMs: previous?.lastScaleInAtMs,
      };
      return { PolicyARN: `arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:${i.PolicyName}` };
    },
    DeleteScalingPolicy: (i) => {
      const target = cloud.scalableTargets.get(String(i.ResourceId));
      if (!target?.policy) throw awsError('ObjectNotFoundException', `No scaling policy ${i.PolicyName}.`);
      target.policy = undefined;
      return {};
    },
    DeregisterScalableTarget: (i) => {
      const id = String(i.ResourceId);
      if (!cloud.scalableTargets.has(id)) throw notFound(id);
      cloud.scalableTargets.delete(id);
      cloud.log('autoscaling', `deregistered ${id}`);
      return {};
    },
    DescribeScalableTargets: (i) => {
      const ids = (i.ResourceIds as string[] | undefined) ?? [...cloud.scalableTargets.keys()];
      return {
        ScalableTargets: ids
          .map((id) => cloud.scalableTargets.get(id))
          .filter((t) => t !== undefined)
          .map((t) => ({
            ServiceNamespace: 'sagemaker',
            ResourceId: t.resourceId,
            ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
            MinCapacity: t.min,
            MaxCapacity: t.max,
          })),
      };
    },
    DescribeScalingPolicies: (i) => {
      const t = cloud.scalableTargets.get(String(i.ResourceId));
      return { ScalingPolicies: t?.policy ? [{ PolicyName: t.policy.name, ResourceId: t.resourceId }] : [] };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// CloudWatch
// ---------------------------------------------------------------------------------------------

function cloudwatch(cloud: Cloud) {
  return fakeClient(cloud, 'CloudWatch', {
    DescribeAlarms: (i) => {
      const names = (i.AlarmNames as string[] | undefined) ?? [...cloud.alarms.alarms.keys()];
      return {
        MetricAlarms: names
          .map((n) => cloud.alarms.alarms.get(n))
          .filter((a) => a !== undefined)
          .map((a) => ({
            ...a.definition.raw,
            AlarmName: a.definition.name,
            Threshold: a.definition.threshold,
            StateValue: a.state,
            StateReason: a.reason,
            StateUpdatedTimestamp: new Date(a.changedAtMs),
          })),
        CompositeAlarms: [],
      };
    },
    PutMetricAlarm: (i) => {
      const name = String(i.AlarmName);
      const before = cloud.alarms.alarms.get(name)?.definition.threshold;
      // Undefined fields are not part of the new configuration.
      const props = Object.fromEntries(Object.entries(i).filter(([, v]) => v !== undefined));
      cloud.alarms.put(name, props);
      cloud.log(
        'cloudwatch',
        `alarm ${name}: threshold ${before} → ${i.Threshold} (state ${cloud.alarms.state(name)} kept)`,
      );
      return {};
    },
    SetAlarmState: (i) => {
      const name = String(i.AlarmName);
      if (!cloud.alarms.alarms.has(name)) {
        throw Object.assign(new Error(`Alarm ${name} does not exist.`), { name: 'ResourceNotFound' });
      }
      const from = cloud.alarms.state(name);
      cloud.alarms.setState(name, String(i.StateValue), String(i.StateReason ?? ''), cloud.nowMs);
      // No change, no action and nothing in the alarm's history (API_SetAlarmState.html).
      if (from === String(i.StateValue)) return {};
      cloud.log(
        'cloudwatch',
        `alarm ${name}: ${from} → ${String(i.StateValue)} (SetAlarmState: ${String(i.StateReason ?? '')})`,
      );
      return {};
    },
    PutMetricData: (i) => {
      for (const d of (i.MetricData as {
        MetricName: string;
        Dimensions?: { Name: string; Value: string }[];
        Value?: number;
      }[]) ?? []) {
        const dims = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
        cloud.metrics.put(String(i.Namespace), d.MetricName, dims, cloud.nowMs, Number(d.Value ?? 0));
      }
      return {};
    },
    GetMetricData: (i) => {
      // One datapoint per period with samples, from StartTime up to EndTime, oldest first; no page
      // is ever needed at the rehearsal's sizes.
      const start = new Date(i.StartTime as Date).getTime();
      const end = new Date(i.EndTime as Date).getTime();
      const queries =
        (i.MetricDataQueries as {
          Id: string;
          MetricStat?: {
            Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: string }[] };
            Period: number;
            Stat: string;
          };
        }[]) ?? [];
      return {
        MetricDataResults: queries.map((q) => {
          const s = q.MetricStat;
          if (!s) return { Id: q.Id, StatusCode: 'Complete', Values: [], Timestamps: [] };
          const dims = Object.fromEntries((s.Metric.Dimensions ?? []).map((x) => [x.Name, x.Value]));
          const periodMs = s.Period * 1000;
          const values: number[] = [];
          const timestamps: Date[] = [];
          for (let t = start; t === start || t < end; t += periodMs) {
            const samples = cloud.metrics.samples(s.Metric.Namespace, s.Metric.MetricName, dims, t, periodMs);
            const value = samplesStatistic(s.Stat, samples);
            if (value === undefined) continue;
            values.push(value);
            timestamps.push(new Date(t));
          }
          return { Id: q.Id, StatusCode: 'Complete', Values: values, Timestamps: timestamps };
        }),
      };
    },
  });
}

function samplesStatistic(stat: string, values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  if (stat === 'Sum') return values.reduce((a, b) => a + b, 0);
  if (stat === 'SampleCount') return values.length;
  if (stat === 'Average') return values.reduce((a, b) => a + b, 0) / values.length;
  const p = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (p) {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[
      Math.min(sorted.length - 1, Math.max(0, Math.ceil((Number(p[1]) / 100) * sorted.length) - 1))
    ];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// AppConfig (hosted versions and deployments) and AppConfigData (the router's reads)
// ---------------------------------------------------------------------------------------------

function appconfig(cloud: Cloud) {
  return fakeClient(cloud, 'AppConfig', {
    ListHostedConfigurationVersions: () => ({
      Items: cloud.hostedVersions.map((v) => ({ VersionNumber: v.number })),
    }),
    GetHostedConfigurationVersion: (i) => {
      const v = cloud.hostedVersions[Number(i.VersionNumber) - 1];
      if (!v) throw awsError('ResourceNotFoundException', `Version ${i.VersionNumber} not found.`, 404);
      return {
        VersionNumber: v.number,
        Content: new TextEncoder().encode(v.content),
        ContentType: 'application/json',
      };
    },
    CreateHostedConfigurationVersion: (i) => {
      // LatestVersionNumber is a locking token: a write based on an older version is refused
      // (API_CreateHostedConfigurationVersion).
      const latest = cloud.hostedVersions.length === 0 ? undefined : cloud.hostedVersions.length;
      if (i.LatestVersionNumber !== undefined && i.LatestVersionNumber !== latest) {
        throw awsError(
          'ConflictException',
          `LatestVersionNumber ${i.LatestVersionNumber} is not the latest (${latest}).`,
          409,
        );
      }
      const number = cloud.hostedVersions.length + 1;
      cloud.hostedVersions.push({
        number,
        content: toText(i.Content),
        description: String(i.Description ?? ''),
      });
      return { VersionNumber: number };
    },
    StartDeployment: (i) => {
      cloud.settle();
      // One deployment per environment at a time (appconfig-deploying.html): a second is refused.
      if (cloud.flagDeployments.some((d) => d.state === 'DEPLOYING' || d.state === 'BAKING')) {
        throw awsError('ConflictException', 'A deployment is already in progress for this environment.', 409);
      }
      const strategyId = String(i.DeploymentStrategyId);
      const strategy = cloud.strategies.get(strategyId);
      if (!strategy)
        throw awsError('ResourceNotFoundException', `Deployment strategy ${strategyId} not found.`, 404);
      const previous = [...cloud.flagDeployments].reverse().find((d) => d.state === 'COMPLETE');
      const deployment = {
        number: cloud.flagDeployments.length + 1,
        version: Number(i.ConfigurationVersion),
        previousVersion: previous?.version,
        strategyId,
        startedAt: cloud.nowMs,
        durationMs: strategy.durationMinutes * 60_000,
        bakeMs: strategy.bakeMinutes * 60_000,
        growthFactor: strategy.growthFactor,
        state: 'DEPLOYING' as const,
      };
      cloud.flagDeployments.push(deployment);
      cloud.settle();
      const doc = cloud.hostedVersions[deployment.version - 1]?.content ?? '';
      cloud.log(
        'appconfig',
        `flag version ${deployment.version} deploying (${strategy.durationMinutes} min, bake ${strategy.bakeMinutes} min): ${flagSummary(doc)}`,
      );
      return { DeploymentNumber: deployment.number, State: deployment.state };
    },
    ListDeployments: () => {
      cloud.settle();
      return {
        Items: [...cloud.flagDeployments].reverse().map((d) => ({
          DeploymentNumber: d.number,
          ConfigurationVersion: String(d.version),
          State: d.state,
        })),
      };
    },
    StopDeployment: (i) => {
      cloud.settle();
      const d = cloud.flagDeployments.find((x) => x.number === Number(i.DeploymentNumber));
      if (!d) throw awsError('ResourceNotFoundException', 'Deployment not found.', 404);
      if (d.state === 'COMPLETE' && i.AllowRevert !== true)
        throw awsError('BadRequestException', 'Deployment is complete.');
      d.state = 'ROLLED_BACK';
      cloud.log('appconfig', `flag deployment ${d.number} stopped`);
      return { DeploymentNumber: d.number, State: d.state };
    },
  });
}

/** What a flag document says, shortly, for the timeline. */
export function flagSummary(text: string): string {
  try {
    const doc = JSON.parse(text) as { stable?: { modelVersion?: string; endpoint?: string } };
    return `stable ${doc.stable?.modelVersion?.slice(0, 7)} on ${doc.stable?.endpoint}`;
  } catch {
    return 'unreadable';
  }
}

/**
 * AppConfigData for one router container: a session, then GetLatestConfiguration answering the
 * version deployed to this container, with an empty body when it has not changed since the last
 * call of the session (API_appconfigdata_GetLatestConfiguration).
 */
export function appConfigData(cloud: Cloud, container: number, containers: number) {
  let lastSeen: number | undefined;
  return {
    send: async (command: Command) => {
      const name = commandName(command);
      cloud.checkFault(name);
      cloud.settle();
      if (name === 'StartConfigurationSession') return { InitialConfigurationToken: `token-${container}` };
      if (name === 'GetLatestConfiguration') {
        const v = cloud.flagVersionFor(container, containers);
        const changed = v !== undefined && v.number !== lastSeen;
        lastSeen = v?.number;
        return {
          NextPollConfigurationToken: `token-${container}`,
          NextPollIntervalInSeconds: 15,
          ContentType: 'application/json',
          Configuration: new TextEncoder().encode(changed ? v.content : ''),
        };
      }
      throw new Error(`the rehearsal's AppConfigData does not emulate ${name}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// DynamoDB (conditional writes: developerguide/Expressions.ConditionExpressions.html)
// ---------------------------------------------------------------------------------------------

function attr(v: AttrValue | undefined): string | number | null | undefined {
  if (v === undefined) return undefined;
  if (v.S !== undefined) return v.S;
  if (v.N !== undefined) return Number(v.N);
  if (v.NULL) return null;
  return undefined;
}

/** Conditions of the forms the ledger writes: comparisons, begins_with, attribute_(not_)exists, AND, OR, parentheses. */
export function evaluateCondition(
  text: string,
  item: Record<string, AttrValue> | undefined,
  names: Record<string, string>,
  values: Record<string, AttrValue>,
): boolean {
  const tokens = text.match(/\(|\)|,|<>|<=|>=|=|<|>|[#:]?[A-Za-z_][A-Za-z0-9_]*/g) ?? [];
  let pos = 0;
  const path = (t: string) => (t.startsWith('#') ? names[t]! : t);
  const operand = (t: string) => (t.startsWith(':') ? attr(values[t]) : attr(item?.[path(t)]));
  const primary = (): boolean => {
    const t = tokens[pos++]!;
    if (t === '(') {
      const v = or();
      pos++;
      return v;
    }
    if (t === 'attribute_not_exists' || t === 'attribute_exists' || t === 'begins_with') {
      pos++; // (
      const a = tokens[pos++]!;
      let b: string | undefined;
      if (tokens[pos] === ',') {
        pos++;
        b = tokens[pos++];
      }
      pos++; // )
      const exists = item !== undefined && item[path(a)] !== undefined;
      if (t === 'attribute_not_exists') return !exists;
      if (t === 'attribute_exists') return exists;
      const s = operand(a);
      return typeof s === 'string' && s.startsWith(String(operand(b!)));
    }
    const left = operand(t);
    const op = tokens[pos++]!;
    const right = operand(tokens[pos++]!);
    if (left === undefined || right === undefined) return false;
    switch (op) {
      case '=':
        return left === right;
      case '<>':
        return left !== right;
      case '<':
        return left! < right!;
      case '>':
        return left! > right!;
      case '<=':
        return left! <= right!;
      default:
        return left! >= right!;
    }
  };
  const and = (): boolean => {
    let v = primary();
    while (tokens[pos]?.toUpperCase() === 'AND') {
      pos++;
      const r = primary();
      v = v && r;
    }
    return v;
  };
  const or = (): boolean => {
    let v = and();
    while (tokens[pos]?.toUpperCase() === 'OR') {
      pos++;
      const r = and();
      v = v || r;
    }
    return v;
  };
  return or();
}

function dynamodb(cloud: Cloud) {
  const table = (name: unknown) => {
    let t = cloud.tables.get(String(name));
    if (!t) cloud.tables.set(String(name), (t = new Map()));
    return t;
  };
  const keyOf = (k: Record<string, AttrValue>) => `${attr(k.pk)}|${attr(k.sk)}`;
  return fakeClient(cloud, 'DynamoDB', {
    PutItem: (i) => {
      const item = i.Item as Record<string, AttrValue>;
      const t = table(i.TableName);
      const old = t.get(keyOf(item));
      if (
        i.ConditionExpression &&
        !evaluateCondition(
          String(i.ConditionExpression),
          old,
          (i.ExpressionAttributeNames as Record<string, string>) ?? {},
          (i.ExpressionAttributeValues as Record<string, AttrValue>) ?? {},
        )
      ) {
        throw awsError('ConditionalCheckFailedException', 'The conditional request failed');
      }
      t.set(keyOf(item), item);
      return i.ReturnValues === 'ALL_OLD' && old ? { Attributes: old } : {};
    },
    GetItem: (i) => ({ Item: table(i.TableName).get(keyOf(i.Key as Record<string, AttrValue>)) }),
    UpdateItem: (i) => {
      const t = table(i.TableName);
      const key = keyOf(i.Key as Record<string, AttrValue>);
      const item = { ...(t.get(key) ?? (i.Key as Record<string, AttrValue>)) };
      const names = (i.ExpressionAttributeNames as Record<string, string>) ?? {};
      const values = (i.ExpressionAttributeValues as Record<string, AttrValue>) ?? {};
      for (const part of String(i.UpdateExpression)
        .replace(/^SET\s+/i, '')
        .split(',')) {
        const [lhs, rhs] = part.split('=').map((s) => s.trim()) as [string, string];
        item[lhs.startsWith('#') ? names[lhs]! : lhs] = values[rhs]!;
      }
      t.set(key, item);
      return {};
    },
    Query: (i) => {
      const names = (i.ExpressionAttributeNames as Record<string, string>) ?? {};
      const values = (i.ExpressionAttributeValues as Record<string, AttrValue>) ?? {};
      const items = [...table(i.TableName).values()].filter(
        (item) =>
          evaluateCondition(String(i.KeyConditionExpression), item, names, values) &&
          (!i.FilterExpression || evaluateCondition(String(i.FilterExpression), item, names, values)),
      );
      return { Items: items, Count: items.length };
    },
  });
}

/** Every client the handlers take, over one cloud. */
export function clients(cloud: Cloud) {
  return {
    s3: s3(cloud),
    ssm: ssm(cloud),
    codepipeline: codepipeline(cloud),
    sns: sns(cloud),
    sagemaker: sagemaker(cloud),
    sagemakerRuntime: sagemakerRuntime(cloud),
    autoscaling: autoscaling(cloud),
    cloudwatch: cloudwatch(cloud),
    appconfig: appconfig(cloud),
    dynamodb: dynamodb(cloud),
  };
}
