/**
 * The router's CloudWatch metrics, as embedded metric format (EMF) log lines through Powertools
 * Metrics: one line per request, published before the handler returns.
 *
 * Namespace `MLPlatform/Router`. Alarms and dashboards must name every dimension of a metric:
 * - per request, dimensions {service, Model, ModelVersion, Variant} (service is the model name,
 *   Powertools' default dimension): `Requests` (Count, 1), `Errors` (Count, 1 or 0: its Average is
 *   the error rate), `LatencyMs` (Milliseconds, what the caller waited) and `Confidence` (None, only
 *   when the model answered a confidence in [0, 1]);
 * - `Confidence` and `ConfidenceSquared` (its square) with dimensions {service, Model, Variant}, on
 *   one line: what the confidence alarm watches. CloudWatch keeps SampleCount and Sum of each per
 *   period, so the alarm gets n, the mean and the variance of the period's confidences
 *   (lambdas/core/monitoring/confidence-alarm.ts);
 * - per model, dimensions {service, Model}: `FlagUnavailable` (Count, per request routed without a
 *   current flag), `BadRequests` (Count) and `InternalErrors` (Count, a router bug or an unreadable
 *   HMAC key).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Variant } from '../core/routing/assignment';
import { CONFIDENCE_METRIC, CONFIDENCE_SQUARED_METRIC } from '../core/monitoring/confidence-alarm';
import { METRIC_NAMESPACES } from '../core/contracts/metric-names';

export const ROUTER_METRICS_NAMESPACE = METRIC_NAMESPACES.router;
/** Dimensions of Requests, Errors, LatencyMs and Confidence, in this order. */
export const REQUEST_METRIC_DIMENSIONS = ['service', 'Model', 'ModelVersion', 'Variant'] as const;
/** Dimensions of the version-free `Confidence` the confidence alarm watches. */
export const ALARM_CONFIDENCE_DIMENSIONS = ['service', 'Model', 'Variant'] as const;
/** Dimensions of FlagUnavailable, BadRequests and InternalErrors. */
export const MODEL_METRIC_DIMENSIONS = ['service', 'Model'] as const;

export type ModelMetricName = 'FlagUnavailable' | 'BadRequests' | 'InternalErrors';

/** The router's metrics instance: namespace MLPlatform/Router, service = the model. */
export function routerMetrics(model: string): Metrics {
  return new Metrics({ namespace: ROUTER_METRICS_NAMESPACE, serviceName: model });
}

export interface RequestMetrics {
  readonly model: string;
  readonly modelVersion: string;
  readonly variant: Variant;
  readonly latencyMs: number;
  readonly confidence: number | null;
  readonly failed: boolean;
}

/**
 * Publishes one request's metrics as one EMF line. The dimensions are added and published in the
 * same synchronous call, and `publishStoredMetrics` clears them: nothing carries over to the next
 * request.
 */
export function publishRequestMetrics(metrics: Metrics, sample: RequestMetrics): void {
  metrics.clearDimensions();
  metrics.clearMetrics();
  try {
    metrics.addDimension('Model', sample.model);
    metrics.addDimension('ModelVersion', sample.modelVersion);
    metrics.addDimension('Variant', sample.variant);
    metrics.addMetric('Requests', MetricUnit.Count, 1);
    metrics.addMetric('Errors', MetricUnit.Count, sample.failed ? 1 : 0);
    metrics.addMetric('LatencyMs', MetricUnit.Milliseconds, sample.latencyMs);
    if (sample.confidence !== null) metrics.addMetric('Confidence', MetricUnit.NoUnit, sample.confidence);
  } finally {
    metrics.publishStoredMetrics();
  }
  // The same confidence without ModelVersion, and its square: the confidence alarm watches metrics
  // that do not change name with every release (a re-baseline rewrites only its expression).
  // One line for both (a single-metric instance would publish each on its own line).
  if (sample.confidence !== null) {
    metrics.clearDimensions();
    metrics.clearMetrics();
    try {
      metrics.addDimension('Model', sample.model);
      metrics.addDimension('Variant', sample.variant);
      metrics.addMetric(CONFIDENCE_METRIC, MetricUnit.NoUnit, sample.confidence);
      metrics.addMetric(CONFIDENCE_SQUARED_METRIC, MetricUnit.NoUnit, sample.confidence * sample.confidence);
    } finally {
      metrics.publishStoredMetrics();
    }
  }
}

/** Publishes one count with dimensions {service, Model}, on its own EMF line. */
export function publishModelCount(metrics: Metrics, model: string, name: ModelMetricName): void {
  metrics.singleMetric().addDimension('Model', model).addMetric(name, MetricUnit.Count, 1);
}
