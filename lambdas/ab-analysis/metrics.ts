/**
 * The CloudWatch metrics of one analysed day, dated at the day's start (00:00 UTC) so that a
 * one-day period on the dashboard holds exactly that day. A rerun of the same day adds a second,
 * identical datapoint: read these metrics with Average or Maximum, never Sum.
 */
import type { MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import type { AbAnalysis, VariantName } from '../core/ab-analysis';
import { METRIC_NAMESPACES } from '../core/metric-names';

export const AB_METRICS_NAMESPACE = METRIC_NAMESPACES.ab;

/** CloudWatch refuses datapoints older than two weeks; an hour's margin for the call itself. */
export const MAX_METRIC_AGE_MS = 14 * 86_400_000 - 3_600_000;

/**
 * Per variant (dimensions Model, Variant): `Requests`, and when the variant served any,
 * `ErrorRate` (percent), `MeanConfidence` (with 2 or more confidence values) and `P95LatencyMs`
 * (when the variant served one model version). Per model (dimension Model):
 * `SampleRatioMismatch` (1 or 0, when any request was logged) and, only when the variants
 * were compared, `ErrorRateDifference` (candidate minus stable, percentage points) and
 * `ConfidenceDifference` (candidate minus stable mean confidence).
 */
export function abMetricData(model: string, timestamp: Date, analysis: AbAnalysis): MetricDatum[] {
  const data: MetricDatum[] = [];
  const put = (name: string, value: number, unit: StandardUnit, variant?: VariantName) => {
    data.push({
      MetricName: name,
      Dimensions: [
        { Name: 'Model', Value: model },
        ...(variant ? [{ Name: 'Variant', Value: variant }] : []),
      ],
      Timestamp: timestamp,
      Value: value,
      Unit: unit,
    });
  };
  for (const variant of ['stable', 'candidate'] as const) {
    const stats = analysis[variant];
    put('Requests', stats?.n ?? 0, 'Count', variant);
    if (!stats) continue;
    put('ErrorRate', stats.errorRate.estimate * 100, 'Percent', variant);
    if (stats.meanConfidence) put('MeanConfidence', stats.meanConfidence.estimate, 'None', variant);
    if (stats.latencyMs) put('P95LatencyMs', stats.latencyMs.p95, 'Milliseconds', variant);
  }
  if (analysis.sampleRatio) put('SampleRatioMismatch', analysis.srm ? 1 : 0, 'None');
  if (analysis.errorRateDifference) {
    put('ErrorRateDifference', analysis.errorRateDifference.estimate * 100, 'Percent');
  }
  if (analysis.meanConfidenceDifference) {
    put('ConfidenceDifference', analysis.meanConfidenceDifference.estimate, 'None');
  }
  return data;
}
