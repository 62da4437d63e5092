import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildPlatform } from '../../lib/platform';
import { rollbackEnvSchema } from '../../lambdas/core/contracts/rollback-env';
import { newApp, shippedConfig } from '../helpers/config-fixture';
import { shippedPlatform } from '../helpers/shipped-platform';
import {
  compileExpressions,
  confidenceAlarmDefinition,
  DISARMED_BAND,
  zExpression,
} from '../../lambdas/core/monitoring/confidence-alarm';

// GIVEN the shipped config (k = 2, 60-s periods, 5 of 5, budget 4000), WHEN the platform is built,
// THEN the model stack watches its live model.
const stack = shippedPlatform().models[0]!;
const template = stack.template;
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any> }
>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const PREFIX = 'mlops-document-classifier';

function alarm(name: string) {
  const found = ofType('AWS::CloudWatch::Alarm').find(
    ([, r]) => r.Properties.AlarmName === `${PREFIX}-${name}`,
  );
  if (!found) throw new Error(`no alarm ${name}`);
  return found[1].Properties;
}

/** The one metric an alarm watches, whether CloudFormation renders it flat or as a query (labels). */
function metricOf(a: Record<string, any>) {
  if (a.MetricName) {
    return {
      Namespace: a.Namespace,
      MetricName: a.MetricName,
      Period: a.Period,
      Stat: a.Statistic ?? a.ExtendedStatistic,
      Dimensions: a.Dimensions,
    };
  }
  const stat = a.Metrics.find((m: any) => m.MetricStat).MetricStat;
  return { ...stat.Metric, Period: stat.Period, Stat: stat.Stat };
}

const rollbackFunctionId = stack.logicalId('Monitoring/Rollback/Function/Resource');
const pagingAction = (a: unknown) => JSON.stringify(a).includes('Paging');
const rollbackAction = (a: unknown) => JSON.stringify(a).includes(rollbackFunctionId);

describe('ModelMonitoring alarms', () => {
  test('confidence: metric math over the router metrics, z < −2 for 5 of 5 one-minute periods, missing data ignored', () => {
    const a = alarm('live-confidence');
    expect(a).toMatchObject({
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: -3,
      TreatMissingData: 'ignore',
    });
    // No EvaluationWindow: CloudWatch's default sliding window, evaluated every minute (the calibrated rule).
    expect(a.EvaluationWindow).toBeUndefined();
    const stats = Object.fromEntries(
      a.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [
        m.Id,
        { name: m.MetricStat.Metric.MetricName, stat: m.MetricStat.Stat, period: m.MetricStat.Period },
      ]),
    );
    // What the router publishes per request (lambdas/router/metrics.ts), aggregated per two-minute
    // period (monitoring.confidenceAlarm.periodSeconds, not the other alarms' 60 s).
    expect(stats).toEqual({
      n: { name: 'Confidence', stat: 'SampleCount', period: 120 },
      s: { name: 'Confidence', stat: 'Sum', period: 120 },
      q: { name: 'ConfidenceSquared', stat: 'Sum', period: 120 },
    });
    for (const m of a.Metrics.filter((q: any) => q.MetricStat)) {
      expect(m.MetricStat.Metric.Namespace).toBe('MLPlatform/Router');
      expect(m.MetricStat.Metric.Dimensions).toEqual([
        { Name: 'Model', Value: 'document-classifier' },
        { Name: 'Variant', Value: 'stable' },
        { Name: 'service', Value: 'document-classifier' },
      ]);
    }
    expect(a.AlarmActions.some(rollbackAction)).toBe(true);
    expect(a.AlarmActions.some(pagingAction)).toBe(true);
    expect(a.AlarmDescription).toContain(
      "more than 3 standard deviations of a 120-second mean below the served version's own live baseline in 3 of the last 5 periods",
    );
  });

  test('the deployed confidence alarm evaluates as its core definition says: disarmed until a promotion, then z per two-minute period', () => {
    const a = alarm('live-confidence');
    const queries = a.Metrics.filter((m: any) => m.Expression).map((m: any) => ({
      id: m.Id,
      expression: m.Expression,
      returnData: m.ReturnData !== false,
    }));
    const deployed = compileExpressions(queries);
    // A period of 100 requests at a collapsed mean 0.2: as deployed (B = 0) it cannot breach.
    const collapsed = { n: 100, s: 20, q: 100 * (0.2 * 0.2 + 0.01) };
    expect(deployed.datapoint(collapsed)).toBeGreaterThan(0);
    // The same template with a live band: what a re-baseline writes (the z expression only).
    const band = { mean: 0.8, periodVariance: 0.0001 };
    const armed = compileExpressions(
      queries.map((q: any) => (q.id === 'z' ? { ...q, expression: zExpression(band) } : q)),
    );
    const z = armed.datapoint(collapsed)!;
    expect(z).toBeCloseTo((0.2 - 0.8) / Math.sqrt(0.01 / 100 + 0.0001), 6);
    expect(z).toBeLessThan(a.Threshold);
    // Nine requests: below nMin = 10, no datapoint.
    expect(armed.datapoint({ n: 9, s: 1.8, q: 0.45 })).toBeNull();
    // The template's queries are the core definition, query for query.
    const core = confidenceAlarmDefinition(
      { stdDevs: 3, breachingPeriods: 3, evaluationPeriods: 5, minRequests: 10, periodSeconds: 120 },
      DISARMED_BAND,
    );
    expect(queries.map((q: any) => q.expression).sort()).toEqual(
      core.expressions.map((e) => e.expression).sort(),
    );
  });

  test('error rate: 5xx share of live invocations, rolls back and pages', () => {
    const a = alarm('live-error-rate');
    expect(a).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'notBreaching',
    });
    expect(a.Metrics.find((m: any) => m.Expression).Expression).toBe(
      'IF(invocations > 0, 100 * errors / invocations, 0)',
    );
    const errors = a.Metrics.find((m: any) => m.Id === 'errors').MetricStat;
    expect(errors).toMatchObject({
      Metric: { Namespace: 'AWS/SageMaker', MetricName: 'Invocation5XXErrors' },
      Period: 60,
      Stat: 'Sum',
    });
    expect(a.AlarmActions.some(rollbackAction)).toBe(true);
  });

  test('latency p95/p99 in microseconds, page only', () => {
    expect(alarm('live-p95-latency')).toMatchObject({
      ExtendedStatistic: 'p95',
      Threshold: 500_000,
      Period: 60,
    });
    expect(alarm('live-p99-latency')).toMatchObject({ ExtendedStatistic: 'p99', Threshold: 1_000_000 });
    for (const name of ['live-p95-latency', 'live-p99-latency']) {
      const actions = alarm(name).AlarmActions;
      expect(actions.some(pagingAction)).toBe(true);
      expect(actions.some(rollbackAction)).toBe(false);
    }
  });

  test('invocation drop: below the anomaly band for 15 minutes; missing data is the drop', () => {
    const a = alarm('live-invocation-drop');
    expect(a).toMatchObject({
      ComparisonOperator: 'LessThanLowerThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
    });
    const band = a.Metrics.find((m: any) => m.Expression?.startsWith('ANOMALY_DETECTION_BAND'));
    expect(band.Expression).toMatch(/^ANOMALY_DETECTION_BAND\(\w+, 3\)$/);
    expect(a.ThresholdMetricId).toBe(band.Id);
  });

  test('invocation drop counts the standby too: a rollback that bridges users to the standby is no drop', () => {
    const a = alarm('live-invocation-drop');
    const endpointsCounted = a.Metrics.filter(
      (m: any) => m.MetricStat?.Metric.MetricName === 'Invocations',
    ).map((m: any) => m.MetricStat.Metric.Dimensions.find((d: any) => d.Name === 'EndpointName').Value);
    expect(endpointsCounted.sort()).toEqual([`${PREFIX}-live`, `${PREFIX}-standby`]);
    const total = a.Metrics.find((m: any) => m.Expression && !m.Expression.startsWith('ANOMALY'));
    expect(total.Expression).toMatch(/^FILL\(\w+, 0\) \+ FILL\(\w+, 0\)$/);
  });

  test('drift and cost: thresholds from config, hourly metrics of the monitors', () => {
    expect(metricOf(alarm('label-drift'))).toMatchObject({
      Namespace: 'MLPlatform/Drift',
      MetricName: 'SignificantLabelDrift',
      Period: 3600,
    });
    expect(alarm('label-drift').Threshold).toBe(0.15);
    expect(metricOf(alarm('cost-budget'))).toMatchObject({
      Namespace: 'MLPlatform/Cost',
      MetricName: 'EstimatedMonthlyCost',
      Period: 3600,
    });
    expect(alarm('cost-budget')).toMatchObject({ Threshold: 4000, EvaluationPeriods: 2 });
  });

  test('every alarm pages, and only confidence and error rate roll back', () => {
    const rollingBack = ofType('AWS::CloudWatch::Alarm')
      .filter(([, r]) => (r.Properties.AlarmActions ?? []).some(rollbackAction))
      .map(([, r]) => r.Properties.AlarmName)
      .sort();
    expect(rollingBack).toEqual([`${PREFIX}-live-confidence`, `${PREFIX}-live-error-rate`]);
    for (const [, r] of ofType('AWS::CloudWatch::Alarm')) {
      expect(r.Properties.AlarmActions.some(pagingAction)).toBe(true);
      expect(r.Properties.AlarmDescription.length).toBeGreaterThan(80);
    }
  });

  test('the prediction-log fallback is counted from the router log and alarmed above 0', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.message = "prediction-log-fallback" }',
      MetricTransformations: [
        { MetricNamespace: 'MLPlatform/Router', MetricName: 'PredictionLogFallbackLines', MetricValue: '1' },
      ],
    });
    expect(alarm('prediction-log-fallback')).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });
});

describe('ModelMonitoring rollback and monitors', () => {
  test('the rollback function gets its whole environment and a KMS-encrypted, recoverable table', () => {
    const fn = ofType('AWS::Lambda::Function').find(
      ([, r]) => r.Properties.FunctionName === `${PREFIX}-rollback`,
    )![1];
    const keys = Object.keys(fn.Properties.Environment.Variables).filter(
      (k) => !['POWERTOOLS_SERVICE_NAME', 'NODE_OPTIONS'].includes(k),
    );
    expect(keys.sort()).toEqual(
      Object.keys(rollbackEnvSchema.shape)
        .filter((k) => !k.startsWith('POWERTOOLS_'))
        .sort(),
    );
    expect(fn.Properties.Timeout).toBe(900);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: `${PREFIX}-rollbacks`,
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
    });
    // CloudWatch may invoke it as an alarm action.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'lambda.alarms.cloudwatch.amazonaws.com',
      Action: 'lambda:InvokeFunction',
    });
  });

  test('a gradual flag rollout for promotions does not make rollbacks gradual: the rollback deploys the flag at once', () => {
    // GIVEN promotions roll the flag out over 20 minutes and bake 10.
    const config = structuredClone(shippedConfig());
    (config.models[0] as any).routing.flagDeployment = { durationMinutes: 20, bakeMinutes: 10 };
    const gradual = Template.fromStack(buildPlatform(newApp(), config).models[0]).toJSON()
      .Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    const env = (name: string) =>
      Object.values(gradual).find((r) => r.Properties?.FunctionName === `${PREFIX}-${name}`)!.Properties
        .Environment.Variables;
    const strategy = (ref: { Ref: string }) => gradual[ref.Ref]!;
    // THEN promotion uses the configured rollout, and the rollback one that reaches every router at once.
    expect(strategy(env('promotion').APPCONFIG_STRATEGY_ID).Properties).toMatchObject({
      DeploymentDurationInMinutes: 20,
      FinalBakeTimeInMinutes: 10,
    });
    expect(strategy(env('rollback').APPCONFIG_STRATEGY_ID)).toMatchObject({
      Type: 'AWS::AppConfig::DeploymentStrategy',
      Properties: { DeploymentDurationInMinutes: 0, FinalBakeTimeInMinutes: 0, GrowthFactor: 100 },
    });
  });

  test('the rollback may change only SageMaker variant autoscaling, and hears when the live endpoint is in service again', () => {
    const rollbackRole = stack.logicalId('Monitoring/Rollback/Role/Resource');
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === rollbackRole))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    const deregister = statements.find((s: any) =>
      [s.Action].flat().includes('application-autoscaling:DeregisterScalableTarget'),
    );
    expect(deregister.Condition).toEqual({
      StringEquals: {
        'application-autoscaling:service-namespace': 'sagemaker',
        'application-autoscaling:scalable-dimension': 'sagemaker:variant:DesiredInstanceCount',
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.sagemaker'],
        'detail-type': ['SageMaker Endpoint State Change'],
        detail: { EndpointName: [`${PREFIX}-live`] },
      },
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [rollbackFunctionId, 'Arn'] } })]),
    });
  });

  test('promotion may rewrite only the confidence alarm, and write the flag', () => {
    const promotionRole = stack.logicalId('Serving/Promotion/Role/Resource');
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === promotionRole))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    const put = statements.find((s: any) => [s.Action].flat().includes('cloudwatch:PutMetricAlarm'));
    expect([put.Resource].flat()).toHaveLength(1);
    expect(JSON.stringify(put.Resource)).toContain(stack.logicalId('Monitoring/Confidence/Resource'));
    expect([put.Action].flat()).toContain('cloudwatch:SetAlarmState');
    const actions = statements.flatMap((s: any) => [s.Action].flat());
    expect(actions).toEqual(
      expect.arrayContaining(['appconfig:CreateHostedConfigurationVersion', 'appconfig:StartDeployment']),
    );
    // A retried promotion finds whether the flag version an earlier attempt stored was deployed.
    const list = statements.find((s: any) => [s.Action].flat().includes('appconfig:ListDeployments'));
    expect(JSON.stringify(list.Resource)).toContain('/environment/');
    expect([list.Resource].flat()).not.toContain('*');
  });

  test("the rollback reads the live endpoint's traffic, to page when the standby lacks capacity for it", () => {
    const rollbackRole = stack.logicalId('Monitoring/Rollback/Role/Resource');
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === rollbackRole))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    const read = statements.find((s: any) => [s.Action].flat().includes('cloudwatch:GetMetricData'));
    // On "*" (GetMetricData has no resource-level permissions), merged with the other read-only "*" grant only.
    expect(read.Resource).toBe('*');
    expect([read.Action].flat().sort()).toEqual([
      'application-autoscaling:DescribeScalableTargets',
      'cloudwatch:GetMetricData',
    ]);
    const describe = statements.find((s: any) => [s.Action].flat().includes('sagemaker:DescribeEndpoint'));
    expect(JSON.stringify(describe.Resource)).toContain(`endpoint/${PREFIX}-standby`);
  });

  test("the rollback may rewrite only the confidence alarm, and read and write only the versions' baseline records", () => {
    const rollbackRole = stack.logicalId('Monitoring/Rollback/Role/Resource');
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === rollbackRole))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    const put = statements.find((s: any) => [s.Action].flat().includes('cloudwatch:PutMetricAlarm'));
    // SetAlarmState: a re-baseline clears an ALARM kept from the previous band (lambdas/shared/confidence-alarm.ts).
    expect([put.Action].flat().sort()).toEqual([
      'cloudwatch:DescribeAlarms',
      'cloudwatch:PutMetricAlarm',
      'cloudwatch:SetAlarmState',
    ]);
    expect([put.Resource].flat()).toHaveLength(1);
    expect(JSON.stringify(put.Resource)).toContain(`:alarm:${PREFIX}-live-confidence"`);
    // A deferred rollback is looked at again: the error-rate alarm that invokes it is readable, no more.
    const read = statements.filter((s: any) => [s.Action].flat().join() === 'cloudwatch:DescribeAlarms');
    expect(read).toHaveLength(1);
    expect([read[0].Resource].flat()).toHaveLength(1);
    expect(JSON.stringify(read[0].Resource)).toContain(`:alarm:${PREFIX}-live-error-rate"`);
    const records = statements.filter((s: any) =>
      JSON.stringify(s.Resource).includes('/serving/confidence-baselines/'),
    );
    expect(records).toHaveLength(1);
    expect(JSON.stringify(records[0].Resource)).toContain(
      '/models/document-classifier/serving/confidence-baselines/*',
    );
    // The environment names the ARN the alarm's Lambda action carries, and the provisional width.
    const fn = ofType('AWS::Lambda::Function').find(
      ([, r]) => r.Properties.FunctionName === `${PREFIX}-rollback`,
    )![1];
    const env = fn.Properties.Environment.Variables;
    expect(env.CONFIDENCE_ALARM_NAME).toBe(`${PREFIX}-live-confidence`);
    expect(JSON.stringify(env.CONFIDENCE_ROLLBACK_ACTION_ARN)).toContain(`:function:${PREFIX}-rollback`);
    expect(env.CONFIDENCE_PROVISIONAL_STD_DEV).toBe('0.05');
  });

  test("the rollback-requested alarm evaluates the rollback's own metric, pages (never rolls back again), and only the rollback may set its state", () => {
    // GIVEN the alarm the rollback holds in ALARM to stop a canary's deployment.
    const requested = alarm('live-rollback-requested');
    expect(metricOf(requested)).toEqual({
      Namespace: 'MLPlatform/Rollback',
      MetricName: 'RollbackRequested',
      Period: 60,
      Stat: 'Maximum',
      Dimensions: [{ Name: 'Model', Value: 'document-classifier' }],
    });
    // One datapoint puts it in ALARM for its minute; without datapoints it returns to OK by itself.
    expect(requested).toMatchObject({
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(requested.AlarmDescription).toMatch(/rolls that deployment back/);
    expect(requested.AlarmActions.some(pagingAction)).toBe(true);
    expect(requested.AlarmActions.some(rollbackAction)).toBe(false);
    // THEN the rollback role may set the state of that one alarm, by its ARN, and nothing more there.
    const rollbackRole = stack.logicalId('Monitoring/Rollback/Role/Resource');
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === rollbackRole))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    const onIt = statements.filter((s: any) => JSON.stringify(s.Resource).includes(':alarm:'));
    const set = onIt.find((s: any) => JSON.stringify(s.Resource).includes('live-rollback-requested'));
    expect(set.Action).toBe('cloudwatch:SetAlarmState');
    expect([set.Resource].flat()).toHaveLength(1);
    expect(JSON.stringify(set.Resource)).toContain(`:alarm:${PREFIX}-live-rollback-requested"`);
    // The metric is published under the namespace the role may write to, by condition.
    const put = statements.find((s: any) => s.Action === 'cloudwatch:PutMetricData');
    expect(put.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'MLPlatform/Rollback' } });
    const fn = ofType('AWS::Lambda::Function').find(
      ([, r]) => r.Properties.FunctionName === `${PREFIX}-rollback`,
    )![1];
    expect(fn.Properties.Environment.Variables.ROLLBACK_REQUESTED_ALARM_NAME).toBe(
      `${PREFIX}-live-rollback-requested`,
    );
  });

  test('the confidence baseline job runs every 15 minutes, may arm only the confidence alarm, and reads and writes only the baseline records and the serving state', () => {
    const schedule = ofType('AWS::Scheduler::Schedule').find(
      ([, r]) => r.Properties.Name === `${PREFIX}-confidence-baseline`,
    )![1].Properties;
    expect(schedule.ScheduleExpression).toBe('rate(15 minutes)');
    expect(schedule.Target.RetryPolicy.MaximumRetryAttempts).toBe(2);
    expect(JSON.stringify(schedule.Target.DeadLetterConfig.Arn)).toContain(
      stack.logicalId('Monitoring/MonitorDlq/Resource'),
    );
    expect(JSON.parse(schedule.Target.Input)).toEqual({ model: 'document-classifier' });

    const fnId = stack.logicalId('Monitoring/ConfidenceBaseline/Function/Resource');
    const fn = resources[fnId]!.Properties;
    expect(fn.FunctionName).toBe(`${PREFIX}-confidence-baseline`);
    const env = fn.Environment.Variables;
    expect(env.CONFIDENCE_ALARM_NAME).toBe(`${PREFIX}-live-confidence`);
    // The ARN the alarm's rollback action carries, so that arming puts back exactly that action.
    const rollbackId = stack.logicalId('Monitoring/Rollback/Function/Resource');
    expect(env.CONFIDENCE_ROLLBACK_ACTION_ARN).toEqual({ 'Fn::GetAtt': [rollbackId, 'Arn'] });
    expect(alarm('live-confidence').AlarmActions).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': [rollbackId, 'Arn'] }]),
    );
    // A failed run after Lambda's retries lands in the monitors' dead-letter queue, which pages.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });

    const roleId = stack.logicalId('Monitoring/ConfidenceBaseline/Role/Resource');
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === roleId))
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
    const alarmWrite = statements.filter((s: any) =>
      [s.Action].flat().some((a: string) => a === 'cloudwatch:PutMetricAlarm'),
    );
    expect(alarmWrite).toHaveLength(1);
    expect([alarmWrite[0].Action].flat()).toContain('cloudwatch:SetAlarmState');
    expect([alarmWrite[0].Resource].flat()).toEqual([
      {
        'Fn::GetAtt': [stack.logicalId('Monitoring/Confidence/Resource'), 'Arn'],
      },
    ]);
    const onStar = statements.filter((s: any) => [s.Resource].flat().includes('*'));
    expect(onStar.flatMap((s: any) => [s.Action].flat())).toEqual(['cloudwatch:GetMetricData']);
    // A later release's canary mixes into the window: it reads the canary records and the live endpoint.
    const canaries = statements.filter((s: any) =>
      JSON.stringify(s.Resource).includes('/runs/*/canary.json'),
    );
    expect(canaries.flatMap((s: any) => [s.Action].flat())).toEqual(['s3:GetObject']);
    const describe = statements.filter((s: any) => [s.Action].flat().includes('sagemaker:DescribeEndpoint'));
    expect(describe).toHaveLength(1);
    expect(JSON.stringify(describe[0].Resource)).toContain(`endpoint/${PREFIX}-live"`);
    const writes = statements.filter((s: any) => [s.Action].flat().includes('s3:PutObject'));
    expect(writes).toHaveLength(1);
    expect(JSON.stringify(writes[0].Resource)).toContain(
      '/models/document-classifier/serving/confidence-baselines/*',
    );
    const reads = statements.filter((s: any) => [s.Action].flat().includes('s3:GetObject'));
    expect(reads.map((s: any) => JSON.stringify(s.Resource)).join(' ')).toContain(
      '/models/document-classifier/serving/state.json',
    );
  });

  test('drift, cost and production-sample jobs run on their schedules with retries and a dead-letter queue', () => {
    const schedules = Object.fromEntries(
      ofType('AWS::Scheduler::Schedule').map(([, r]) => [r.Properties.Name, r.Properties]),
    );
    expect(schedules[`${PREFIX}-drift-monitor`].ScheduleExpression).toBe('rate(1 hour)');
    expect(schedules[`${PREFIX}-cost-monitor`].ScheduleExpression).toBe('rate(1 hour)');
    expect(schedules[`${PREFIX}-production-sample`].ScheduleExpression).toBe('cron(0 4 ? * MON *)');
    for (const name of [`${PREFIX}-drift-monitor`, `${PREFIX}-cost-monitor`, `${PREFIX}-production-sample`]) {
      expect(schedules[name].Target.RetryPolicy.MaximumRetryAttempts).toBe(2);
      expect(schedules[name].Target.DeadLetterConfig.Arn).toBeDefined();
      expect(JSON.parse(schedules[name].Target.Input)).toEqual({ model: 'document-classifier' });
    }
  });

  test('a dashboard per model with the alarm states, confidence against its threshold and the last rollbacks', () => {
    const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboard.Properties.DashboardName).toBe(PREFIX);
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of [
      'Alarms',
      'Traffic and errors per variant (router)',
      'Model latency percentiles',
      'Confidence alarm: z of the mean confidence against −k',
      'Predicted-label drift',
      'Estimated monthly cost',
      'A/B error rate per variant, since the experiment started (always-valid 95% interval)',
      'A/B mean confidence per variant, since the experiment started (always-valid 95% interval)',
      'Last rollbacks',
    ]) {
      expect(body).toContain(title);
    }
  });

  test("the A/B widgets draw each variant's estimate between its bounds, the metrics the analysis publishes", () => {
    const [[, dashboard]] = ofType('AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    // The analysis Lambda publishes <Metric>, <Metric>Lower, <Metric>Upper per variant (lambdas/ab-analysis/metrics.ts).
    for (const metric of ['ErrorRate', 'MeanConfidence']) {
      for (const bound of ['', 'Lower', 'Upper']) {
        for (const variant of ['stable', 'candidate']) {
          expect(body).toContain(
            `[\\"MLPlatform/AB\\",\\"${metric}${bound}\\",\\"Model\\",\\"document-classifier\\",\\"Variant\\",\\"${variant}\\"`,
          );
        }
      }
    }
  });
});
