import {
  CloudWatchClient,
  GetMetricDataCommand,
  ListMetricsCommand,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { costMonitorEnvSchema, createHandler, type Deps } from '../../lambdas/cost-monitor';
import { logger } from '../../lambdas/shared/logger';
import { releaseSettings, type ReleaseSettings } from '../../lambdas/core/contracts/release-settings';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const PARAMETER = '/mlops/document-classifier/release-settings';
const LIVE = 'mlops-document-classifier-live';
const STANDBY = 'mlops-document-classifier-standby';
/** 10:15 UTC: the hour measured is 09:00-10:00. */
const T0 = new Date('2026-11-27T10:15:00.000Z');
const at = (hhmm: string) => new Date(`2026-11-27T${hhmm}:00.000Z`);
const RERUN =
  " The schedule retries; after its last retry the event waits in the schedule's dead-letter queue. After " +
  `fixing it, rerun by invoking the function with {"model":"${MODEL}"}.`;

async function failureOf(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.resolved)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return (outcome.error as Error).message;
}

describe('cost monitor handler', () => {
  const moto = useMoto();
  let cloudwatch: CloudWatchClient;
  let sagemaker: SageMakerClient;
  let ssm: SSMClient;
  let deps: Deps;
  let settings: ReleaseSettings;
  let parameters = 0;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    cloudwatch = new CloudWatchClient(moto.clientConfig);
    sagemaker = new SageMakerClient(moto.clientConfig);
    ssm = new SSMClient(moto.clientConfig);
  });

  beforeEach(async () => {
    const config = shippedConfig();
    const shipped = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === MODEL)!,
    );
    expect(shipped.cost.pricing).toEqual({ kind: 'sagemaker' });
    // moto refuses ml.g5.* instance types; prices exact in binary keep every figure exact.
    settings = {
      ...shipped,
      serving: {
        ...shipped.serving,
        instanceType: 'ml.g4dn.xlarge',
        standby: { ...shipped.serving.standby, instanceType: 'ml.m5.large' },
      },
      pricing: {
        ...shipped.pricing,
        currency: 'USD',
        asOf: '2026-11-01',
        sagemakerInstances: {
          ...shipped.pricing.sagemakerInstances,
          'ml.g4dn.xlarge': 0.75,
          'ml.m5.large': 0.125,
        },
        tokenModels: { 'claude-haiku': { inputPer1k: 0.25, outputPer1k: 1 } },
      },
    };
    await useSettings(settings);
    Object.assign(process.env, { AWS_REGION: 'eu-west-1', LIVE_ENDPOINT: LIVE, STANDBY_ENDPOINT: STANDBY });
    deps = { ssm, cloudwatch, sagemaker, now: () => T0 };
  });

  /** Publishes the settings under a new parameter name: the handler caches settings per name. */
  async function useSettings(value: ReleaseSettings): Promise<void> {
    parameters += 1;
    const name = `${PARAMETER}-${parameters}`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'String', Value: JSON.stringify(value) }));
    process.env.RELEASE_SETTINGS_PARAMETER = name;
  }

  const run = (event: unknown = { model: MODEL }) => createHandler(deps)(event);

  async function createEndpoint(
    name: string,
    variant: string,
    instanceType: string,
    count: number,
  ): Promise<void> {
    await sagemaker.send(
      new CreateModelCommand({
        ModelName: `${name}-model`,
        ExecutionRoleArn: 'arn:aws:iam::123456789012:role/sagemaker-execution',
        PrimaryContainer: {
          Image: '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0-cpu',
        },
      }),
    );
    await sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: `${name}-config`,
        ProductionVariants: [
          {
            VariantName: variant,
            ModelName: `${name}-model`,
            InstanceType: instanceType as 'ml.m5.large',
            InitialInstanceCount: count,
          },
        ],
      }),
    );
    await sagemaker.send(
      new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }),
    );
  }

  /** Fake AWS/SageMaker Invocations datapoints of one endpoint variant. */
  async function invocations(endpoint: string, variant: string, points: [Date, number][]): Promise<void> {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SageMaker',
        MetricData: points.map(([Timestamp, Value]) => ({
          MetricName: 'Invocations',
          Dimensions: [
            { Name: 'EndpointName', Value: endpoint },
            { Name: 'VariantName', Value: variant },
          ],
          Timestamp,
          Value,
          Unit: 'None',
        })),
      }),
    );
  }

  /** Every metric of MLPlatform/Cost read back: name → datapoints around T0. */
  async function published(): Promise<Record<string, number[]>> {
    const listed = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'MLPlatform/Cost' }));
    const metrics = listed.Metrics ?? [];
    if (metrics.length === 0) return {};
    const data = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(T0.getTime() - 3_600_000),
        EndTime: new Date(T0.getTime() + 3_600_000),
        MetricDataQueries: metrics.map((metric, i) => ({
          Id: `m${i}`,
          MetricStat: { Metric: metric, Period: 60, Stat: 'Maximum' },
        })),
      }),
    );
    return Object.fromEntries(
      metrics.map((metric, i) => {
        expect(metric.Dimensions).toEqual([{ Name: 'Model', Value: MODEL }]);
        return [metric.MetricName!, data.MetricDataResults?.find((r) => r.Id === `m${i}`)?.Values ?? []];
      }),
    );
  }

  /** The live and standby fleets, and the hour's invocations with datapoints just outside it. */
  async function servingFleet(): Promise<void> {
    await createEndpoint(LIVE, 'live', 'ml.g4dn.xlarge', 2);
    await createEndpoint(STANDBY, 'standby', 'ml.m5.large', 1);
    await invocations(LIVE, 'live', [
      [at('08:59'), 9999],
      [at('09:00'), 300],
      [at('09:59'), 450],
      [at('10:00'), 8888],
    ]);
    await invocations(LIVE, 'shadow', [[at('09:30'), 7777]]);
    await invocations(STANDBY, 'standby', [[at('09:10'), 250]]);
  }

  test('prices the instances in service for the last full hour; publishes a day (× 24) and a month (× 730)', async () => {
    await servingFleet();

    const result = await run();

    // 2 × 0.75 + 1 × 0.125 = 1.625 an hour.
    expect(await published()).toEqual({ EstimatedDailyCost: [39], EstimatedMonthlyCost: [1186.25] });
    expect(result).toEqual({
      model: MODEL,
      hour: { start: '2026-11-27T09:00:00.000Z', end: '2026-11-27T10:00:00.000Z' },
      endpoints: [
        {
          role: 'live',
          endpointName: LIVE,
          instanceType: 'ml.g4dn.xlarge',
          instanceCount: 2,
          invocations: 750,
        },
        {
          role: 'standby',
          endpointName: STANDBY,
          instanceType: 'ml.m5.large',
          instanceCount: 1,
          invocations: 250,
        },
      ],
      estimate: {
        currency: 'USD',
        pricingAsOf: '2026-11-01',
        invocations: 1000,
        hourly: 1.625,
        daily: 39,
        monthly: 1186.25,
        lines: [
          { component: 'live-endpoint', item: 'live endpoint: 2 × ml.g4dn.xlarge', hourly: 1.5 },
          { component: 'standby-endpoint', item: 'standby endpoint: 1 × ml.m5.large', hourly: 0.125 },
        ],
      },
      metricsPublished: 2,
      summary: [
        `Cost monitor of ${MODEL}: about $39.00 a day, $1,186.25 a month (the hour 09:00-10:00 UTC on 2026-11-27 ` +
          'cost $1.63: × 24 a day, × 730 a month; prices as of 2026-11-01)',
        `live endpoint ${LIVE}: 2 × ml.g4dn.xlarge in service, 750 invocations`,
        `standby endpoint ${STANDBY}: 1 × ml.m5.large in service, 250 invocations`,
        'hourly: live endpoint: 2 × ml.g4dn.xlarge $1.50; standby endpoint: 1 × ml.m5.large $0.125',
      ].join('\n'),
    });
  });

  test('no standby endpoint yet (first release): it counts 0 instances and 0 invocations', async () => {
    await createEndpoint(LIVE, 'live', 'ml.g4dn.xlarge', 2);
    await invocations(LIVE, 'live', [[at('09:30'), 120]]);

    const result = await run();

    expect(result.endpoints[1]).toEqual({
      role: 'standby',
      endpointName: STANDBY,
      instanceType: 'ml.m5.large',
      instanceCount: 0,
      invocations: 0,
    });
    expect(result.estimate).toMatchObject({ hourly: 1.5, daily: 36, monthly: 1095, invocations: 120 });
    expect(result.summary.split('\n').slice(2)).toEqual([
      `standby endpoint ${STANDBY}: no instance in service, 0 invocations`,
      'hourly: live endpoint: 2 × ml.g4dn.xlarge $1.50',
    ]);
    expect(await published()).toEqual({ EstimatedDailyCost: [36], EstimatedMonthlyCost: [1095] });
  });

  test('never released: no endpoint, a cost of 0 is published', async () => {
    const result = await run();
    expect(result.estimate).toMatchObject({ hourly: 0, daily: 0, monthly: 0, lines: [] });
    expect(result.summary.split('\n').at(-1)).toBe('hourly: nothing');
    expect(await published()).toEqual({ EstimatedDailyCost: [0], EstimatedMonthlyCost: [0] });
  });

  test('token-priced: invocations of both endpoints × the tokens of a request', async () => {
    await useSettings({
      ...settings,
      cost: {
        ...settings.cost,
        pricing: { kind: 'token', model: 'claude-haiku', avgInputTokens: 512, avgOutputTokens: 256 },
      },
    });
    await servingFleet();

    const result = await run();

    // 1000 × (512 × 0.25 + 256 × 1) / 1000 = 384 an hour.
    expect(result.estimate).toEqual({
      currency: 'USD',
      pricingAsOf: '2026-11-01',
      invocations: 1000,
      hourly: 384,
      daily: 9216,
      monthly: 280_320,
      lines: [
        { component: 'input-tokens', item: 'input tokens (claude-haiku): 1000 × 512', hourly: 128 },
        { component: 'output-tokens', item: 'output tokens (claude-haiku): 1000 × 256', hourly: 256 },
      ],
    });
    expect(await published()).toEqual({ EstimatedDailyCost: [9216], EstimatedMonthlyCost: [280_320] });
  });

  test('an instance type in service without a price: says where to add it, publishes nothing', async () => {
    const { 'ml.m5.large': _dropped, ...prices } = settings.pricing.sagemakerInstances;
    await useSettings({ ...settings, pricing: { ...settings.pricing, sagemakerInstances: prices } });
    await servingFleet();

    expect(await failureOf(run())).toBe(
      `Cost monitor of ${MODEL} failed: No price for SageMaker instance type "ml.m5.large" (standby endpoint ` +
        `${STANDBY}) in the pricing table; known: ${Object.keys(prices).sort().join(', ')}. Fix the name, or add its ` +
        'price under pricing sagemakerInstances in config/platform.yaml and redeploy, so that the release settings ' +
        `carry it (${process.env.RELEASE_SETTINGS_PARAMETER}).${RERUN}`,
    );
    expect(await published()).toEqual({});
  });

  test('an endpoint without the expected variant: fails rather than guess', async () => {
    await createEndpoint(LIVE, 'primary', 'ml.g4dn.xlarge', 2);
    expect(await failureOf(run())).toBe(
      `Cost monitor of ${MODEL} failed: endpoint ${LIVE} has no production variant named "live" (it has: primary), ` +
        'but every config the release path deploys names it so; the endpoint was changed outside the release path: ' +
        `check it in the SageMaker console.${RERUN}`,
    );
  });

  test('DescribeEndpoint refused: names the permission', async () => {
    const refusing = new SageMakerClient(moto.clientConfig);
    mockClient(refusing)
      .on(DescribeEndpointCommand)
      .rejects(
        Object.assign(new Error('not authorized to perform sagemaker:DescribeEndpoint'), {
          name: 'AccessDeniedException',
        }),
      );
    deps = { ...deps, sagemaker: refusing };
    expect(await failureOf(run())).toBe(
      `Cost monitor of ${MODEL} failed: cannot describe endpoint ${LIVE}: AccessDeniedException: not authorized to ` +
        "perform sagemaker:DescribeEndpoint; check the function's role (sagemaker:DescribeEndpoint on that " +
        `endpoint).${RERUN}`,
    );
  });

  test('GetMetricData refused: names the permission and the hour', async () => {
    const refusing = new CloudWatchClient(moto.clientConfig);
    mockClient(refusing)
      .on(GetMetricDataCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    deps = { ...deps, cloudwatch: refusing };
    expect(await failureOf(run())).toBe(
      `Cost monitor of ${MODEL} failed: cannot read the endpoints' invocations from CloudWatch (AWS/SageMaker ` +
        'Invocations, 2026-11-27T09:00:00.000Z to 2026-11-27T10:00:00.000Z): AccessDenied: not authorized; check ' +
        `the function's role (cloudwatch:GetMetricData).${RERUN}`,
    );
  });

  test('an event for another model, and a missing environment variable', async () => {
    expect(await failureOf(run({ model: 'fraud-scorer' }))).toBe(
      'Cost monitor of fraud-scorer failed: the event names model "fraud-scorer" but this function monitors ' +
        `"${MODEL}" (release settings ${process.env.RELEASE_SETTINGS_PARAMETER}): fix the schedule's input or ` +
        'invoke the function of fraud-scorer.',
    );
    delete process.env.STANDBY_ENDPOINT;
    expect(await failureOf(run())).toBe(
      `Cost monitor of ${MODEL} failed: environment STANDBY_ENDPOINT missing or invalid; the function was deployed ` +
        "without the cost monitor's settings: redeploy the model stack.",
    );
    expect(Object.keys(costMonitorEnvSchema.shape)).toEqual([
      'RELEASE_SETTINGS_PARAMETER',
      'LIVE_ENDPOINT',
      'STANDBY_ENDPOINT',
    ]);
    expect(await published()).toEqual({});
  });
});
