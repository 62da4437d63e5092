/**
 * The CloudWatch metrics of one nightly analysis (cumulative up to that day), dated at the day's start (00:00 UTC) so that a
 * one-day period on the dashboard holds exactly that day. A rerun of the same day adds a second,
 * identical datapoint: read these metrics with Average or Maximum, never Sum.
 */
import type { MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { AB_VARIANT_INTERVAL_METRICS, type ExperimentAnalysis } from '../core/routing/ab-experiment';
import type { SequenceInterval } from '../core/statistics/ab-stats';
import { METRIC_NAMESPACES } from '../core/contracts/metric-names';

export const AB_METRICS_NAMESPACE = METRIC_NAMESPACES.ab;

/** CloudWatch refuses datapoints older than two weeks; an hour's margin for the call itself. */
export const MAX_METRIC_AGE_MS = 14 * 86_400_000 - 3_600_000;

/**
 * Per variant (dimensions Model, Variant): `Requests` since the experiment started, and, when
 * estimated, `ErrorRate` (percent) and `MeanConfidence`, each with `…Lower` and `…Upper`: the
 * always-valid interval the dashboard draws around it. Per model (dimension Model):
 * `SampleRatioMismatch` (1 or 0, when the split was checked) and, when the variants were
 * compared, `ErrorRateDifference` (candidate minus stable, percentage points) and
 * `ConfidenceDifference` (candidate minus stable mean confidence), each with `…Lower`/`…Upper`.
 */
export function abMetricData(model: string, timestamp: Date, analysis: ExperimentAnalysis): MetricDatum[] {
  const data: MetricDatum[] = [];
  const put = (name: string, value: number, unit: StandardUnit, variant?: 'stable' | 'candidate') => {
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
  const putInterval = (
    name: string,
    interval: SequenceInterval,
    unit: StandardUnit,
    scale: number,
    variant?: 'stable' | 'candidate',
  ) => {
    put(name, interval.estimate * scale, unit, variant);
    put(`${name}Lower`, interval.lower * scale, unit, variant);
    put(`${name}Upper`, interval.upper * scale, unit, variant);
  };
  if (analysis.experiment === null) return data;
  for (const variant of ['stable', 'candidate'] as const) {
    const stats = analysis[variant];
    put('Requests', stats?.requests ?? 0, 'Count', variant);
    if (!stats) continue;
    // An error rate cannot be below 0 %: the interval is drawn clipped there.
    if (stats.errorRate)
      putInterval(
        AB_VARIANT_INTERVAL_METRICS.errorRate,
        clip(stats.errorRate, 0, 1),
        'Percent',
        100,
        variant,
      );
    if (stats.meanConfidence)
      putInterval(
        AB_VARIANT_INTERVAL_METRICS.meanConfidence,
        clip(stats.meanConfidence, 0, 1),
        'None',
        1,
        variant,
      );
  }
  if (analysis.split) put('SampleRatioMismatch', analysis.split.broken ? 1 : 0, 'None');
  if (analysis.status === 'compared') {
    for (const c of analysis.comparisons) {
      if (c.metric === 'error-rate') putInterval('ErrorRateDifference', c.difference, 'Percent', 100);
      else putInterval('ConfidenceDifference', c.difference, 'None', 1);
    }
  }
  return data;
}

function clip(interval: SequenceInterval, low: number, high: number): SequenceInterval {
  return { ...interval, lower: Math.max(low, interval.lower), upper: Math.min(high, interval.upper) };
}
