import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import type { confidenceAlarmDefinition } from '../../lambdas/core/monitoring/confidence-alarm';

export interface DeployedConfidenceAlarm {
  readonly name: string;
  readonly model: string;
  readonly definition: ReturnType<typeof confidenceAlarmDefinition>;
  readonly actions: string[];
  readonly description?: string;
  /** The router's metric dimensions besides Model and Variant (the Powertools `service` one by default). */
  readonly withServiceDimension?: boolean;
}

/** Puts the confidence alarm as the stack deploys it (n, s, q from the router's metrics, then the z expressions). */
export async function putConfidenceAlarm(
  cloudwatch: CloudWatchClient,
  a: DeployedConfidenceAlarm,
): Promise<void> {
  const d = a.definition;
  const stat = (id: string, metricName: string, statistic: string) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: 'MLPlatform/Router',
        MetricName: metricName,
        Dimensions: [
          { Name: 'Model', Value: a.model },
          { Name: 'Variant', Value: 'stable' },
          ...((a.withServiceDimension ?? true) ? [{ Name: 'service', Value: a.model }] : []),
        ],
      },
      Period: 60,
      Stat: statistic,
    },
  });
  await cloudwatch.send(
    new PutMetricAlarmCommand({
      AlarmName: a.name,
      AlarmDescription: a.description,
      AlarmActions: a.actions,
      EvaluationPeriods: d.evaluationPeriods,
      DatapointsToAlarm: d.datapointsToAlarm,
      Threshold: d.threshold,
      ComparisonOperator: d.comparisonOperator,
      TreatMissingData: d.treatMissingData,
      Metrics: [
        stat('n', 'Confidence', 'SampleCount'),
        stat('s', 'Confidence', 'Sum'),
        stat('q', 'ConfidenceSquared', 'Sum'),
        ...d.expressions.map((e) => ({ Id: e.id, Expression: e.expression, ReturnData: e.returnData })),
      ],
    }),
  );
}
