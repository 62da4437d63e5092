/**
 * What the standby capacity check reads: the live endpoint's recent traffic (the Sum of its
 * `Invocations` over the last minutes, "the number of InvokeEndpoint requests sent to a model
 * endpoint": https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html) and the
 * standby's instances in service (`CurrentInstanceCount` of DescribeEndpoint).
 */
import { GetMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { LIVE_VARIANT } from '../core/serving/endpoint-spec';
import { describeEndpoint } from '../shared/serving';

/** The window the rate is averaged over: long enough to smooth a minute, short enough to be now. */
export const TRAFFIC_WINDOW_MINUTES = 5;

/** Requests per minute the live variant took over the last minutes; null when CloudWatch cannot tell. */
export async function liveRequestsPerMinute(
  cloudwatch: CloudWatchClient,
  liveEndpoint: string,
  now: Date,
): Promise<number | null> {
  const start = new Date(now.getTime() - TRAFFIC_WINDOW_MINUTES * 60_000);
  const result = await cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: start,
      EndTime: now,
      MetricDataQueries: [
        {
          Id: 'invocations',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SageMaker',
              MetricName: 'Invocations',
              Dimensions: [
                { Name: 'EndpointName', Value: liveEndpoint },
                { Name: 'VariantName', Value: LIVE_VARIANT },
              ],
            },
            Period: TRAFFIC_WINDOW_MINUTES * 60,
            Stat: 'Sum',
          },
          ReturnData: true,
        },
      ],
    }),
  );
  const values = result.MetricDataResults?.[0]?.Values ?? [];
  if (values.length === 0) return 0;
  return values.reduce((a, b) => a + b, 0) / TRAFFIC_WINDOW_MINUTES;
}

/**
 * The standby's instances in service (all its production variants; a variant that does not say
 * counts as the one instance a variant in service has at least); null when it has no variant.
 */
export async function standbyInstances(
  sagemaker: SageMakerClient,
  standbyEndpoint: string,
): Promise<number | null> {
  const d = await describeEndpoint(sagemaker, standbyEndpoint);
  const variants = d?.ProductionVariants ?? [];
  if (variants.length === 0) return null;
  return variants.reduce((sum, v) => sum + Math.max(1, v.CurrentInstanceCount ?? 1), 0);
}
