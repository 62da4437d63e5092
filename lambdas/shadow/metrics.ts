/**
 * The two variants' traffic over the shadow window, from SageMaker's CloudWatch metrics: one
 * `GetMetricData` call whose single period covers the whole window.
 */
import {
  GetMetricDataCommand,
  type CloudWatchClient,
  type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { VariantWindowSummary } from '../core/serving/shadow';

/** The variants compared, by their SageMaker variant names. */
export interface MetricVariants {
  readonly production: string;
  readonly shadow: string;
}

export interface WindowMetrics {
  readonly production: VariantWindowSummary;
  readonly shadow: VariantWindowSummary;
}

const SUMS = [
  ['invocations', 'Invocations'],
  ['errors5xx', 'Invocation5XXErrors'],
  ['errors4xx', 'Invocation4XXErrors'],
] as const;
const PERCENTILES = ['p50', 'p95', 'p99'] as const;

/** One period for the whole window: its length rounded up to whole minutes (CloudWatch's unit). */
export function windowPeriodSeconds(startMs: number, endMs: number): number {
  return Math.max(60, Math.ceil((endMs - startMs) / 60_000) * 60);
}

/** The queries, with ids like `production_invocations` and `shadow_p95`. */
export function windowQueries(
  endpointName: string,
  variants: MetricVariants,
  period: number,
): MetricDataQuery[] {
  const queries: MetricDataQuery[] = [];
  for (const side of ['production', 'shadow'] as const) {
    const metric = (MetricName: string) => ({
      Namespace: 'AWS/SageMaker',
      MetricName,
      Dimensions: [
        { Name: 'EndpointName', Value: endpointName },
        { Name: 'VariantName', Value: variants[side] },
      ],
    });
    for (const [key, name] of SUMS) {
      queries.push({
        Id: `${side}_${key}`,
        MetricStat: { Metric: metric(name), Period: period, Stat: 'Sum' },
        ReturnData: true,
      });
    }
    for (const p of PERCENTILES) {
      queries.push({
        Id: `${side}_${p}`,
        MetricStat: { Metric: metric('ModelLatency'), Period: period, Stat: p },
        ReturnData: true,
      });
    }
  }
  return queries;
}

/**
 * Reads the window's sums and latency percentiles of both variants. Throws when CloudWatch refuses
 * or answers a query with an error; the caller reports metrics as unavailable.
 */
export async function readWindowMetrics(
  cloudwatch: CloudWatchClient,
  input: {
    readonly endpointName: string;
    readonly variants: MetricVariants;
    readonly startMs: number;
    readonly endMs: number;
  },
): Promise<WindowMetrics> {
  const period = windowPeriodSeconds(input.startMs, input.endMs);
  const values = new Map<string, number[]>();
  let nextToken: string | undefined;
  do {
    const res = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(input.startMs),
        EndTime: new Date(input.startMs + period * 1000),
        MetricDataQueries: windowQueries(input.endpointName, input.variants, period),
        NextToken: nextToken,
      }),
    );
    for (const result of res.MetricDataResults ?? []) {
      if (result.StatusCode === 'InternalError' || result.StatusCode === 'Forbidden') {
        const detail = (result.Messages ?? [])
          .map((m) => m.Value)
          .filter(Boolean)
          .join('; ');
        throw new Error(
          `CloudWatch answered ${result.StatusCode} for ${result.Id ?? 'a query'}${detail ? ` (${detail})` : ''}`,
        );
      }
      if (!result.Id) continue;
      values.set(result.Id, [...(values.get(result.Id) ?? []), ...(result.Values ?? [])]);
    }
    nextToken = res.NextToken;
  } while (nextToken);

  const summary = (side: 'production' | 'shadow'): VariantWindowSummary => {
    const sum = (key: string) => Math.round((values.get(`${side}_${key}`) ?? []).reduce((a, b) => a + b, 0));
    // With one period there is one datapoint; should CloudWatch split the window, percentiles of
    // the parts cannot be combined, so the largest is reported (an upper bound, never flattering).
    const percentile = (p: string) => {
      const v = values.get(`${side}_${p}`) ?? [];
      return v.length === 0 ? undefined : Math.max(...v) / 1000; // ModelLatency is in microseconds
    };
    const [p50, p95, p99] = PERCENTILES.map(percentile);
    return {
      invocations: sum('invocations'),
      errors5xx: sum('errors5xx'),
      errors4xx: sum('errors4xx'),
      latencyMs: p50 === undefined || p95 === undefined || p99 === undefined ? null : { p50, p95, p99 },
    };
  };
  return { production: summary('production'), shadow: summary('shadow') };
}
