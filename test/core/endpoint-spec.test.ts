import fc from 'fast-check';
import {
  canaryDeploymentConfig,
  canaryInstanceCount,
  createModelSpec,
  endpointNames,
  liveConfigSpec,
  liveFleetSize,
  releaseNamePatterns,
  releaseNames,
  SAGEMAKER_NAME_LIMIT,
  sageMakerName,
  scalableTargetSpec,
  scalingPolicySpec,
  shadowConfigSpec,
  standbyConfigFor,
  standbyConfigSpec,
  type EndpointConfigSpec,
  type ServingContext,
  type ServingSettings,
} from '../../lambdas/core/serving/endpoint-spec';
import { modelSchema } from '../../lambdas/core/contracts/config-schema';
import {
  blueGreenVariantNameProblems,
  dataCaptureSamplingProblems,
  shadowVariantProblems,
} from '../../lib/nag/sagemaker-rules';

/** SageMaker's pattern for model, endpoint config and endpoint names. */
const SAGEMAKER_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

const KMS = 'arn:aws:kms:eu-west-1:123456789012:key/1b2c3d4e-0000-4000-8000-000000000000';
const ctx: ServingContext = {
  model: 'document-classifier',
  namePrefix: 'mlops-document-classifier',
  executionRoleArn: 'arn:aws:iam::123456789012:role/mlops-document-classifier-sagemaker',
  kmsKeyArn: KMS,
  dataCaptureS3Uri: 's3://mlops-data-capture/document-classifier',
  image:
    '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312-ubuntu22.04-sagemaker',
};

/** The schema's defaults: what a model gets that sets nothing under `serving`. */
const defaults: ServingSettings = {
  instanceType: 'ml.m5.large',
  initialInstanceCount: 2,
  autoscaling: { minInstances: 1, maxInstances: 4, targetInvocationsPerInstance: 100 },
  standby: { instanceCount: 1 },
  dataCapture: { samplingPercent: 20 },
  shadow: { samplingPercent: 50, windowMinutes: 60, instanceCount: 1 },
  canary: {
    sizePercent: 10,
    waitMinutes: 10,
    maxExecutionTimeoutMinutes: 120,
    maxServerErrorRatePercent: 1,
    maxP99LatencyMs: 1000,
  },
};

function settings(overrides: {
  readonly [K in keyof ServingSettings]?: Partial<ServingSettings[K]> | ServingSettings[K];
}): ServingSettings {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    const base = defaults[key as keyof ServingSettings];
    out[key] = typeof base === 'object' ? { ...base, ...(value as object) } : value;
  }
  return out as unknown as ServingSettings;
}

/** A lower-case kebab name like the schema allows (`<platform>-<model>`), up to `max` characters. */
const kebab = (max: number) =>
  fc
    .tuple(
      fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/),
      fc.array(fc.stringMatching(/^[a-z0-9]{1,15}$/), { maxLength: 8 }),
    )
    .map(([first, rest]) => [first, ...rest].join('-').slice(0, max).replace(/-+$/, ''));

const uuid = fc.uuid();

const variantNamesOf = (spec: EndpointConfigSpec) => spec.ProductionVariants.map((v) => v.VariantName);

describe('the test settings', () => {
  test('are the schema defaults, so the tests below describe what a model gets by default', () => {
    const parsed = modelSchema.shape.serving.parse(undefined);
    // `retired` is the stack's business (retirement), not the endpoint spec's.
    const { image, retired, ...serving } = parsed;
    expect(retired).toBe(false);
    expect(image).toEqual({
      repository: 'pytorch-inference',
      tag: '2.6.0-cpu-py312-ubuntu22.04-sagemaker',
      account: '763104351884',
    });
    expect(serving).toEqual(defaults);
  });
});

describe('sageMakerName', () => {
  test('a name that fits is prefix-suffix, unchanged', () => {
    expect(sageMakerName('mlops-document-classifier', 'live')).toBe('mlops-document-classifier-live');
  });

  test('a name one character too long is shortened to exactly 63, keeping the suffix whole', () => {
    const prefix = `mlops-${'a'.repeat(53)}`; // 59 + '-live' = 64
    const name = sageMakerName(prefix, 'live');
    expect(name).toHaveLength(SAGEMAKER_NAME_LIMIT);
    expect(name).toMatch(/^mlops-a{45}-[0-9a-f]{6}-live$/);
  });

  test('the shortened prefix loses trailing hyphens, so the name has no "--" before its hash', () => {
    // The cut falls right after "-": room is 63 - 4 - 6 - 2 = 51 characters.
    const prefix = `${'a'.repeat(50)}-bcdefghijklmnop`;
    expect(sageMakerName(prefix, 'live')).toMatch(/^a{50}-[0-9a-f]{6}-live$/);
  });

  test('a suffix that leaves no room for the prefix is refused', () => {
    expect(() => sageMakerName('mlops-model', 'x'.repeat(56))).toThrow(
      new RangeError(`name suffix "${'x'.repeat(56)}" leaves no room in 63 characters`),
    );
  });

  test('property: never longer than 63 characters, and the same inputs give the same name', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ maxLength: 40 }), (p, s) => {
        const name = sageMakerName(p, s);
        expect(name.length).toBeLessThanOrEqual(SAGEMAKER_NAME_LIMIT);
        expect(sageMakerName(p, s)).toBe(name);
        expect(name.endsWith(`-${s}`)).toBe(true);
      }),
    );
  });

  test('property: kebab-case inputs always give a name SageMaker accepts', () => {
    fc.assert(
      fc.property(kebab(120), kebab(24), (prefix, suffix) => {
        expect(sageMakerName(prefix, suffix)).toMatch(SAGEMAKER_NAME);
      }),
    );
  });

  test('property: different long prefixes give different names', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 60, maxLength: 120 }),
        fc.string({ minLength: 60, maxLength: 120 }),
        fc.constantFrom('live', 'standby', '0a1b2c3d-shadow'),
        (a, b, suffix) => {
          fc.pre(a !== b);
          expect(sageMakerName(a, suffix)).not.toBe(sageMakerName(b, suffix));
        },
      ),
    );
  });

  test('two long prefixes that differ only after the cut still get different names', () => {
    const common = `mlops-${'x'.repeat(60)}`;
    const a = sageMakerName(`${common}-churn`, 'live');
    const b = sageMakerName(`${common}-fraud`, 'live');
    expect(a).toHaveLength(63);
    expect(b).toHaveLength(63);
    expect(a).not.toBe(b);
    expect(a.slice(0, 51)).toBe(b.slice(0, 51));
  });
});

describe('endpointNames', () => {
  test('the live and standby endpoint of a model', () => {
    expect(endpointNames('mlops-document-classifier')).toEqual({
      live: 'mlops-document-classifier-live',
      standby: 'mlops-document-classifier-standby',
    });
  });
});

describe('releaseNames', () => {
  const executionId = 'b59babff-5f34-4ef6-8f26-6e21fc1e4e4c';

  test('names what one release creates from the first 8 hex digits of the execution id', () => {
    expect(releaseNames('mlops-document-classifier', executionId)).toEqual({
      model: 'mlops-document-classifier-b59babff',
      liveConfig: 'mlops-document-classifier-b59babff-live',
      shadowConfig: 'mlops-document-classifier-b59babff-shadow',
      standbyConfig: 'mlops-document-classifier-b59babff-standby',
    });
  });

  test('a retried invocation gets the same names, whatever the case of the id', () => {
    expect(releaseNames('mlops-m', executionId.toUpperCase())).toEqual(releaseNames('mlops-m', executionId));
  });

  test.each(['', '----', '{}/'])('an execution id without letters or digits (%p) is refused', (id) => {
    expect(() => releaseNames('mlops-m', id)).toThrow(
      new RangeError(`execution id "${id}" has no letters or digits`),
    );
  });

  test('property: for the longest prefix the schema allows, the names are distinct and valid', () => {
    // platform name ≤ 20, model name ≤ 40: the prefix is at most 61 characters.
    fc.assert(
      fc.property(fc.tuple(kebab(20), kebab(40)), uuid, ([platform, model], id) => {
        const names = releaseNames(`${platform}-${model}`, id);
        const all = Object.values(names);
        expect(new Set(all).size).toBe(4);
        for (const name of all) expect(name).toMatch(SAGEMAKER_NAME);
        expect(releaseNames(`${platform}-${model}`, id)).toEqual(names);
      }),
    );
  });
});

describe('standbyConfigFor', () => {
  const executionId = 'b59babff-5f34-4ef6-8f26-6e21fc1e4e4c';
  const prefix = 'mlops-document-classifier';

  test('a config of its own per model the run must put on the standby, the same on every retry', () => {
    const v1 = standbyConfigFor(prefix, executionId, 'mlops-document-classifier-11111111');
    const v2 = standbyConfigFor(prefix, executionId, 'mlops-document-classifier-22222222');
    expect(v1).not.toBe(v2);
    expect(v1).not.toBe(releaseNames(prefix, executionId).standbyConfig);
    expect(standbyConfigFor(prefix, executionId, 'mlops-document-classifier-11111111')).toBe(v1);
  });

  test('property: it has the shape IAM allows for a standby config (releaseNamePatterns), for any prefix', () => {
    fc.assert(
      fc.property(fc.tuple(kebab(20), kebab(40)), uuid, kebab(30), ([platform, model], id, served) => {
        const pattern = releaseNamePatterns(`${platform}-${model}`).standbyConfig;
        const name = standbyConfigFor(`${platform}-${model}`, id, served);
        expect(name).toMatch(SAGEMAKER_NAME);
        expect(name).toHaveLength(pattern.length);
        expect([...pattern].every((c, i) => c === '?' || c === name[i])).toBe(true);
      }),
    );
  });
});

describe('createModelSpec', () => {
  test('runs the inference image with network isolation, tagged with model, version and execution', () => {
    expect(
      createModelSpec(ctx, {
        modelName: 'mlops-document-classifier-b59babff',
        modelDataUrl: 's3://artifacts/models/document-classifier/runs/b59babff/model.tar.gz',
        modelVersion: '4f1c2e9',
        executionId: 'b59babff-5f34-4ef6-8f26-6e21fc1e4e4c',
      }),
    ).toEqual({
      ModelName: 'mlops-document-classifier-b59babff',
      ExecutionRoleArn: ctx.executionRoleArn,
      PrimaryContainer: {
        Image: ctx.image,
        ModelDataUrl: 's3://artifacts/models/document-classifier/runs/b59babff/model.tar.gz',
        Environment: { MODEL_NAME: 'document-classifier', MODEL_VERSION: '4f1c2e9' },
      },
      EnableNetworkIsolation: true,
      Tags: [
        { Key: 'Model', Value: 'document-classifier' },
        { Key: 'ModelVersion', Value: '4f1c2e9' },
        { Key: 'PipelineExecutionId', Value: 'b59babff-5f34-4ef6-8f26-6e21fc1e4e4c' },
      ],
    });
  });
});

describe('liveConfigSpec', () => {
  const live = (s: ServingSettings = defaults, configName = 'cfg-b2', modelName = 'model-b2') =>
    liveConfigSpec(ctx, s, {
      configName,
      modelName,
      instanceCount: 3,
      endpointName: 'mlops-document-classifier-live',
    });

  test('one production variant named live, encrypted, capturing to the endpoint’s own prefix', () => {
    expect(live()).toEqual({
      EndpointConfigName: 'cfg-b2',
      ProductionVariants: [
        {
          VariantName: 'live',
          ModelName: 'model-b2',
          InstanceType: 'ml.m5.large',
          InitialInstanceCount: 3,
          InitialVariantWeight: 1,
        },
      ],
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 20,
        DestinationS3Uri: 's3://mlops-data-capture/document-classifier/mlops-document-classifier-live',
        KmsKeyId: KMS,
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
      },
      KmsKeyId: KMS,
      Tags: [
        { Key: 'Model', Value: 'document-classifier' },
        { Key: 'EndpointRole', Value: 'live' },
      ],
    });
  });

  test('sampling 0 turns capture off (SageMaker refuses a 0 % capture, so 1 % is sent with it)', () => {
    const capture = live(settings({ dataCapture: { samplingPercent: 0 } })).DataCaptureConfig;
    expect(capture.EnableCapture).toBe(false);
    expect(capture.InitialSamplingPercentage).toBe(1);
  });

  test('property: every data capture sampling the schema accepts is one SageMaker accepts', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -10, max: 110 }), fc.double({ min: -10, max: 110, noNaN: true })),
        (samplingPercent) => {
          const parsed = modelSchema.shape.serving.safeParse({ dataCapture: { samplingPercent } });
          fc.pre(parsed.success);
          const spec = live(settings({ dataCapture: { samplingPercent } }));
          expect(
            dataCaptureSamplingProblems({
              endpointConfig: spec.EndpointConfigName,
              samplingPercent: spec.DataCaptureConfig.InitialSamplingPercentage,
            }),
          ).toEqual([]);
        },
      ),
    );
  });

  test('property: a blue/green update from one live config to another keeps the variant names', () => {
    fc.assert(
      fc.property(kebab(30), kebab(30), fc.integer({ min: 0, max: 100 }), (a, b, sampling) => {
        const s = settings({ dataCapture: { samplingPercent: sampling } });
        const current = live(s, `${a}-cfg`, `${a}-model`);
        const next = live(s, `${b}-cfg`, `${b}-model`);
        expect(
          blueGreenVariantNameProblems(
            { endpointConfig: current.EndpointConfigName, variantNames: variantNamesOf(current) },
            { endpointConfig: next.EndpointConfigName, variantNames: variantNamesOf(next) },
          ),
        ).toEqual([]);
        expect(
          dataCaptureSamplingProblems({
            endpointConfig: next.EndpointConfigName,
            samplingPercent: next.DataCaptureConfig.InitialSamplingPercentage,
          }),
        ).toEqual([]);
      }),
    );
  });
});

describe('shadowConfigSpec', () => {
  const production = { modelName: 'model-a1', instanceType: 'ml.g5.xlarge', instanceCount: 4 };
  const shadow = (s: ServingSettings = defaults) =>
    shadowConfigSpec(ctx, s, {
      configName: 'cfg-b2-shadow',
      endpointName: 'mlops-document-classifier-live',
      production,
      candidateModelName: 'model-b2',
    });

  test('keeps production as it runs and adds the candidate as the shadow variant at the sampled weight', () => {
    const spec = shadow();
    expect(spec.ProductionVariants).toEqual([
      {
        VariantName: 'live',
        ModelName: 'model-a1',
        InstanceType: 'ml.g5.xlarge',
        InitialInstanceCount: 4,
        InitialVariantWeight: 1,
      },
    ]);
    expect(spec.ShadowProductionVariants).toEqual([
      {
        VariantName: 'shadow',
        ModelName: 'model-b2',
        InstanceType: 'ml.m5.large',
        InitialInstanceCount: 1,
        InitialVariantWeight: 0.5,
      },
    ]);
    expect(spec.KmsKeyId).toBe(KMS);
    expect(spec.DataCaptureConfig).toMatchObject({
      KmsKeyId: KMS,
      DestinationS3Uri: 's3://mlops-data-capture/document-classifier/mlops-document-classifier-live',
    });
    expect(spec.Tags).toContainEqual({ Key: 'EndpointRole', Value: 'shadow' });
  });

  test('the shadow weight is samplingPercent / 100, relative to production’s weight of 1', () => {
    const spec = shadow(settings({ shadow: { samplingPercent: 5, instanceCount: 2 } }));
    expect(spec.ShadowProductionVariants?.[0]).toMatchObject({
      InitialVariantWeight: 0.05,
      InitialInstanceCount: 2,
    });
  });

  test('property: SageMaker’s shadow rules and blue/green from and back to a live config hold', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 100, noNaN: true }),
        fc.integer({ min: 1, max: 100 }),
        (samplingPercent, instanceCount) => {
          const spec = shadow(settings({ shadow: { samplingPercent, instanceCount } }));
          expect(
            shadowVariantProblems({
              endpointConfig: spec.EndpointConfigName,
              productionVariants: variantNamesOf(spec),
              shadowVariants: (spec.ShadowProductionVariants ?? []).map((v) => v.VariantName),
            }),
          ).toEqual([]);
          const weight = spec.ShadowProductionVariants?.[0].InitialVariantWeight ?? 0;
          expect(weight).toBeGreaterThan(0);
          expect(weight).toBeLessThanOrEqual(1);
          const liveSpec = liveConfigSpec(ctx, defaults, {
            configName: 'cfg-a1',
            modelName: 'model-a1',
            instanceCount: 4,
            endpointName: 'mlops-document-classifier-live',
          });
          const names = (c: EndpointConfigSpec) => ({
            endpointConfig: c.EndpointConfigName,
            variantNames: variantNamesOf(c),
          });
          expect(blueGreenVariantNameProblems(names(liveSpec), names(spec))).toEqual([]);
          expect(blueGreenVariantNameProblems(names(spec), names(liveSpec))).toEqual([]);
        },
      ),
    );
  });
});

describe('standbyConfigSpec', () => {
  const standby = (s: ServingSettings) =>
    standbyConfigSpec(ctx, s, {
      configName: 'cfg-a1-standby',
      modelName: 'model-a1',
      endpointName: 'mlops-document-classifier-standby',
    });

  test('the previous model on the standby fleet, on the live instance type by default, captured too', () => {
    expect(standby(settings({ standby: { instanceCount: 2 } }))).toEqual({
      EndpointConfigName: 'cfg-a1-standby',
      ProductionVariants: [
        {
          VariantName: 'standby',
          ModelName: 'model-a1',
          InstanceType: 'ml.m5.large',
          InitialInstanceCount: 2,
          InitialVariantWeight: 1,
        },
      ],
      DataCaptureConfig: expect.objectContaining({
        EnableCapture: true,
        KmsKeyId: KMS,
        DestinationS3Uri: 's3://mlops-data-capture/document-classifier/mlops-document-classifier-standby',
      }),
      KmsKeyId: KMS,
      Tags: [
        { Key: 'Model', Value: 'document-classifier' },
        { Key: 'EndpointRole', Value: 'standby' },
      ],
    });
  });

  test('a standby instance type in config wins over the live one', () => {
    const spec = standby(settings({ standby: { instanceType: 'ml.m5.xlarge', instanceCount: 1 } }));
    expect(spec.ProductionVariants[0].InstanceType).toBe('ml.m5.xlarge');
  });
});

describe('canaryInstanceCount', () => {
  test.each([
    [10, 2, 1],
    [10, 10, 1],
    [25, 20, 5],
    [10, 25, 2],
    [50, 3, 1],
    [50, 7, 3],
    [1, 100, 1],
    [12.5, 8, 1],
  ])('%p %% of a fleet of %p is %p instance(s)', (sizePercent, fleet, expected) => {
    expect(canaryInstanceCount(sizePercent, fleet)).toBe(expected);
  });

  test.each([1, 0, 1.5])('a fleet of %p is refused, naming the setting to raise', (fleet) => {
    expect(() => canaryInstanceCount(10, fleet)).toThrow(
      new RangeError(
        `a canary needs a fleet of at least 2 instances (got ${fleet}): one canary instance may be at most 50% of the fleet; ` +
          'raise serving.initialInstanceCount',
      ),
    );
  });

  test.each([0, 0.5, 51, Number.NaN])('a canary size of %p %% is refused', (sizePercent) => {
    expect(() => canaryInstanceCount(sizePercent, 10)).toThrow(
      new RangeError(
        `canary size must be 1..50% of the fleet (got ${sizePercent}); set serving.canary.sizePercent`,
      ),
    );
  });

  test('property: a whole number of instances, at least 1, never more than half the fleet nor than asked', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 50 }), fc.double({ min: 1, max: 50, noNaN: true })),
        fc.integer({ min: 2, max: 1000 }),
        (sizePercent, fleet) => {
          const n = canaryInstanceCount(sizePercent, fleet);
          expect(Number.isInteger(n)).toBe(true);
          expect(n).toBeGreaterThanOrEqual(1);
          expect(n).toBeLessThanOrEqual(Math.floor(fleet / 2));
          // Rounded down, unless that is no instance at all.
          expect(n === 1 || n <= (fleet * sizePercent) / 100).toBe(true);
          expect(n + 1).toBeGreaterThan((fleet * sizePercent) / 100);
        },
      ),
    );
  });
});

describe('canaryDeploymentConfig', () => {
  const alarms = ['mlops-document-classifier-5xx', 'mlops-document-classifier-p99'];

  test('blue/green with an instance-count canary, its bake, the final bake and the timeout from config', () => {
    expect(canaryDeploymentConfig(defaults, { fleet: 4, alarmNames: alarms })).toEqual({
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: {
          Type: 'CANARY',
          CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 },
          WaitIntervalInSeconds: 600,
        },
        TerminationWaitInSeconds: 600,
        MaximumExecutionTimeoutInSeconds: 7200,
      },
      AutoRollbackConfiguration: {
        Alarms: [
          { AlarmName: 'mlops-document-classifier-5xx' },
          { AlarmName: 'mlops-document-classifier-p99' },
        ],
      },
    });
  });

  test('the canary grows with the fleet', () => {
    const s = settings({ canary: { sizePercent: 25 } });
    const spec = canaryDeploymentConfig(s, { fleet: 20, alarmNames: alarms });
    expect(spec.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.CanarySize).toEqual({
      Type: 'INSTANCE_COUNT',
      Value: 5,
    });
  });

  test.each([0, 11])('%p alarms are refused: SageMaker takes 1..10', (count) => {
    const names = Array.from({ length: count }, (_, i) => `alarm-${i}`);
    expect(() => canaryDeploymentConfig(defaults, { fleet: 4, alarmNames: names })).toThrow(
      new RangeError(`auto-rollback needs 1..10 alarms (SageMaker's limit), got ${count}`),
    );
  });

  test('10 alarms are accepted', () => {
    const names = Array.from({ length: 10 }, (_, i) => `alarm-${i}`);
    expect(
      canaryDeploymentConfig(defaults, { fleet: 4, alarmNames: names }).AutoRollbackConfiguration.Alarms,
    ).toHaveLength(10);
  });

  test.each([
    [30, 60],
    [30, 45],
    [1, 9],
    [10, 481],
  ])(
    'wait %p min with a timeout of %p min is refused with the reason',
    (waitMinutes, maxExecutionTimeoutMinutes) => {
      const s = settings({ canary: { waitMinutes, maxExecutionTimeoutMinutes } });
      expect(() => canaryDeploymentConfig(s, { fleet: 4, alarmNames: alarms })).toThrow(
        new RangeError(
          `serving.canary.maxExecutionTimeoutMinutes ${maxExecutionTimeoutMinutes} must be 10..480 and exceed ` +
            `twice serving.canary.waitMinutes (${waitMinutes}): the canary wait and the final bake both count`,
        ),
      );
    },
  );

  test('a timeout just above twice the wait is accepted', () => {
    const s = settings({ canary: { waitMinutes: 30, maxExecutionTimeoutMinutes: 61 } });
    expect(
      canaryDeploymentConfig(s, { fleet: 4, alarmNames: alarms }).BlueGreenUpdatePolicy
        .MaximumExecutionTimeoutInSeconds,
    ).toBe(3660);
  });

  test('a fleet of one cannot have a canary', () => {
    expect(() => canaryDeploymentConfig(defaults, { fleet: 1, alarmNames: alarms })).toThrow(
      /raise serving\.initialInstanceCount$/,
    );
  });
});

describe('autoscaling specs', () => {
  test('the scalable target is the live variant within the configured limits', () => {
    expect(scalableTargetSpec(defaults, 'mlops-document-classifier-live')).toEqual({
      ServiceNamespace: 'sagemaker',
      ResourceId: 'endpoint/mlops-document-classifier-live/variant/live',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 1,
      MaxCapacity: 4,
    });
  });

  test('the policy tracks invocations per instance at the configured target', () => {
    expect(
      scalingPolicySpec(
        settings({ autoscaling: { targetInvocationsPerInstance: 120 } }),
        'mlops-document-classifier-live',
      ),
    ).toEqual({
      PolicyName: 'mlops-document-classifier-live-invocations-per-instance',
      ServiceNamespace: 'sagemaker',
      ResourceId: 'endpoint/mlops-document-classifier-live/variant/live',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 120,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      },
    });
  });
});

describe('liveFleetSize', () => {
  const s = settings({ initialInstanceCount: 2, autoscaling: { minInstances: 2, maxInstances: 6 } });

  test.each([
    [undefined, 2],
    [1, 2],
    [2, 2],
    [5, 5],
    [9, 6],
  ])('with %p instances running now, the new fleet has %p', (current, expected) => {
    expect(liveFleetSize(s, current)).toBe(expected);
  });

  test('property: within the limits, never below the config nor below a scaled-out fleet', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 100 }),
        fc.option(fc.integer({ min: 0, max: 150 }), { nil: undefined }),
        (a, b, initialInstanceCount, current) => {
          const [minInstances, maxInstances] = a <= b ? [a, b] : [b, a];
          const size = liveFleetSize(
            settings({ initialInstanceCount, autoscaling: { minInstances, maxInstances } }),
            current,
          );
          expect(size).toBeGreaterThanOrEqual(minInstances);
          expect(size).toBeLessThanOrEqual(maxInstances);
          expect(size).toBeGreaterThanOrEqual(Math.min(maxInstances, initialInstanceCount));
          expect(size).toBeGreaterThanOrEqual(Math.min(maxInstances, current ?? 0));
        },
      ),
    );
  });
});
