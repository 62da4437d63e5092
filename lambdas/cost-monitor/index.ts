/**
 * The cost monitor (EventBridge Scheduler, `monitoring.cost.schedule`, event `{"model": "..."}`).
 * For the last full clock hour it reads the invocations of the live endpoint's `live` variant and
 * the standby endpoint's `standby` variant (CloudWatch `AWS/SageMaker` `Invocations`, Sum) and
 * the instances each has in service (`DescribeEndpoint`; a missing endpoint counts 0), prices them
 * with the configured pricing (core/monitoring/cost-monitor.ts) and publishes `MLPlatform/Cost`
 * `EstimatedDailyCost` and `EstimatedMonthlyCost` (None, in `pricing.currency`), dimension Model.
 *
 * A full clock hour, not the 60 minutes before the run: its datapoints are complete (SageMaker
 * publishes each minute within about a minute) and it is one aligned CloudWatch period.
 *
 * Any failure throws: the scheduler retries and, after its last retry, keeps the event in its
 * dead-letter queue.
 */
import {
  CloudWatchClient,
  GetMetricDataCommand,
  PutMetricDataCommand,
  type MetricDatum,
} from '@aws-sdk/client-cloudwatch';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { describeError } from '../ab-analysis/query';
import { formatMoney, UnknownPriceError } from '../core/monitoring/cost';
import {
  estimateServingCostRate,
  type EndpointUsage,
  type ServingCostRate,
} from '../core/monitoring/cost-monitor';
import { LIVE_VARIANT, STANDBY_VARIANT } from '../core/serving/endpoint-spec';
import { logger } from '../shared/logger';
import { describeEndpoint } from '../shared/serving';
import {
  parseModelEvent,
  scheduledHandler,
  type ScheduledHandler,
  type ScheduledJob,
} from '../shared/scheduled-job';
import { parseEnvironment } from '../shared/settings';
import { lazy } from '../shared/lazy';
import { METRIC_NAMESPACES } from '../core/contracts/metric-names';

export const COST_METRICS_NAMESPACE = METRIC_NAMESPACES.cost;

const HOUR_MS = 3_600_000;

/** Everything external the handler touches; tests pass their own. */
export interface Deps {
  readonly ssm: SSMClient;
  readonly cloudwatch: CloudWatchClient;
  readonly sagemaker: SageMakerClient;
  readonly now: () => Date;
}

/** Environment the model stack deploys the function with. */
export const costMonitorEnvSchema = z.object({
  RELEASE_SETTINGS_PARAMETER: z.string().min(1),
  LIVE_ENDPOINT: z.string().min(1),
  STANDBY_ENDPOINT: z.string().min(1),
});
export type CostMonitorEnv = z.output<typeof costMonitorEnvSchema>;

export function costMonitorEnv(env: NodeJS.ProcessEnv = process.env): CostMonitorEnv {
  return parseEnvironment(costMonitorEnvSchema, env, "cost monitor's");
}

/** What the invocation returns (shown by a test invoke in the console). */
export interface CostMonitorResult {
  readonly model: string;
  /** The hour measured, ISO 8601: [start, end). */
  readonly hour: { readonly start: string; readonly end: string };
  readonly endpoints: readonly EndpointUsage[];
  readonly estimate: ServingCostRate;
  readonly metricsPublished: number;
  readonly summary: string;
}

const costMonitorJob: ScheduledJob<{ model: string }, CostMonitorEnv> = {
  name: 'Cost monitor',
  verb: 'monitors',
  parseEvent: parseModelEvent,
  env: costMonitorEnv,
};

export function createHandler(deps: Deps): ScheduledHandler<CostMonitorResult> {
  return scheduledHandler(costMonitorJob, deps, async ({ model, env, settings, label }) => {
    const now = deps.now();
    const end = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
    const start = new Date(end.getTime() - HOUR_MS);
    const { serving } = settings;
    const wanted = [
      {
        role: 'live',
        endpointName: env.LIVE_ENDPOINT,
        variant: LIVE_VARIANT,
        instanceType: serving.instanceType,
      },
      {
        role: 'standby',
        endpointName: env.STANDBY_ENDPOINT,
        variant: STANDBY_VARIANT,
        instanceType: serving.standby.instanceType ?? serving.instanceType,
      },
    ] as const;

    const invocations = await readInvocations(deps.cloudwatch, wanted, start, end);
    const endpoints: EndpointUsage[] = [];
    for (const [i, e] of wanted.entries()) {
      endpoints.push({
        role: e.role,
        endpointName: e.endpointName,
        instanceType: e.instanceType,
        instanceCount: await instancesInService(deps.sagemaker, e.endpointName, e.variant),
        invocations: invocations[i],
      });
    }

    let estimate: ServingCostRate;
    try {
      estimate = estimateServingCostRate(endpoints, settings.cost.pricing, settings.pricing);
    } catch (error) {
      if (!(error instanceof UnknownPriceError)) throw error;
      throw new Error(
        `${error.message.replace(/\.$/, '')} in config/platform.yaml and redeploy, so that the release settings ` +
          `carry it (${env.RELEASE_SETTINGS_PARAMETER})`,
        { cause: error },
      );
    }

    const data = costMetricData(model, now, estimate);
    try {
      await deps.cloudwatch.send(
        new PutMetricDataCommand({ Namespace: COST_METRICS_NAMESPACE, MetricData: data }),
      );
    } catch (error) {
      throw new Error(
        `cannot publish the metrics to CloudWatch (namespace ${COST_METRICS_NAMESPACE}): ${describeError(error)}; ` +
          "check the function's role (cloudwatch:PutMetricData for that namespace)",
        { cause: error },
      );
    }

    const summary = summarise(label, estimate, endpoints, start, end);
    logger.info('estimated cost published', {
      hourly: estimate.hourly,
      daily: estimate.daily,
      monthly: estimate.monthly,
      currency: estimate.currency,
      endpoints,
    });
    return {
      model,
      hour: { start: start.toISOString(), end: end.toISOString() },
      endpoints,
      estimate,
      metricsPublished: data.length,
      summary,
    };
  });
}

/** `EstimatedDailyCost` and `EstimatedMonthlyCost`, in the pricing currency. */
export function costMetricData(model: string, timestamp: Date, estimate: ServingCostRate): MetricDatum[] {
  const dimensions = [{ Name: 'Model', Value: model }];
  return [
    {
      MetricName: 'EstimatedDailyCost',
      Dimensions: dimensions,
      Timestamp: timestamp,
      Value: estimate.daily,
      Unit: 'None',
    },
    {
      MetricName: 'EstimatedMonthlyCost',
      Dimensions: dimensions,
      Timestamp: timestamp,
      Value: estimate.monthly,
      Unit: 'None',
    },
  ];
}

/** `Invocations` Sum of each endpoint variant over [start, end); 0 without datapoints. */
async function readInvocations(
  cloudwatch: CloudWatchClient,
  endpoints: readonly { readonly endpointName: string; readonly variant: string }[],
  start: Date,
  end: Date,
): Promise<number[]> {
  let results;
  try {
    const res = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        MetricDataQueries: endpoints.map((e, i) => ({
          Id: `invocations${i}`,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SageMaker',
              MetricName: 'Invocations',
              Dimensions: [
                { Name: 'EndpointName', Value: e.endpointName },
                { Name: 'VariantName', Value: e.variant },
              ],
            },
            Period: (end.getTime() - start.getTime()) / 1000,
            Stat: 'Sum',
          },
        })),
      }),
    );
    results = res.MetricDataResults ?? [];
  } catch (error) {
    throw new Error(
      `cannot read the endpoints' invocations from CloudWatch (AWS/SageMaker Invocations, ${start.toISOString()} to ` +
        `${end.toISOString()}): ${describeError(error)}; check the function's role (cloudwatch:GetMetricData)`,
      { cause: error },
    );
  }
  return endpoints.map((e, i) => {
    const result = results.find((r) => r.Id === `invocations${i}`);
    if (result?.StatusCode && result.StatusCode !== 'Complete') {
      throw new Error(
        `CloudWatch answered the invocations of ${e.endpointName} (variant ${e.variant}) with status ` +
          `${result.StatusCode}${result.Messages?.length ? ` (${result.Messages.map((m) => m.Value).join('; ')})` : ''}; ` +
          'the next scheduled run reads the hour again',
      );
    }
    return (result?.Values ?? []).reduce((sum, v) => sum + v, 0);
  });
}

/** `CurrentInstanceCount` of the variant; 0 when the endpoint does not exist or has no instance yet. */
async function instancesInService(
  sagemaker: SageMakerClient,
  endpointName: string,
  variant: string,
): Promise<number> {
  let endpoint;
  try {
    endpoint = await describeEndpoint(sagemaker, endpointName);
  } catch (error) {
    throw new Error(
      `cannot describe endpoint ${endpointName}: ${describeError(error)}; check the function's role ` +
        '(sagemaker:DescribeEndpoint on that endpoint)',
      { cause: error },
    );
  }
  const variants = endpoint?.ProductionVariants ?? [];
  if (variants.length === 0) return 0;
  const found = variants.find((v) => v.VariantName === variant);
  if (!found) {
    throw new Error(
      `endpoint ${endpointName} has no production variant named "${variant}" (it has: ` +
        `${variants.map((v) => v.VariantName).join(', ')}), but every config the release path deploys names it so; ` +
        'the endpoint was changed outside the release path: check it in the SageMaker console',
    );
  }
  return found.CurrentInstanceCount ?? 0;
}

function summarise(
  label: string,
  estimate: ServingCostRate,
  endpoints: readonly EndpointUsage[],
  start: Date,
  end: Date,
): string {
  const money = (amount: number) => formatMoney(amount, estimate.currency);
  const hour = `${start.toISOString().slice(11, 16)}-${end.toISOString().slice(11, 16)} UTC on ${start.toISOString().slice(0, 10)}`;
  return [
    `${label}: about ${money(estimate.daily)} a day, ${money(estimate.monthly)} a month (the hour ${hour} cost ` +
      `${money(estimate.hourly)}: × 24 a day, × 730 a month; prices as of ${estimate.pricingAsOf})`,
    ...endpoints.map(
      (e) =>
        `${e.role} endpoint ${e.endpointName}: ` +
        `${e.instanceCount > 0 ? `${e.instanceCount} × ${e.instanceType}` : 'no instance'} in service, ` +
        `${e.invocations} invocations`,
    ),
    `hourly: ${estimate.lines.map((line) => `${line.item} ${money(line.hourly)}`).join('; ') || 'nothing'}`,
  ].join('\n');
}

let defaults: Deps | undefined;

/** Clients created once per container. */
export function defaultDeps(): Deps {
  defaults ??= {
    ssm: lazy(() => new SSMClient({})),
    cloudwatch: lazy(() => new CloudWatchClient({})),
    sagemaker: lazy(() => new SageMakerClient({})),
    now: () => new Date(),
  };
  return defaults;
}

export const handler = createHandler(defaultDeps());
