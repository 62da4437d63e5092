import { ArnFormat, CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { artifactKeys } from '../../lambdas/core/contracts/release-settings';
import type { ModelConfig, PlatformSettings } from '../../lambdas/core/contracts/config-schema';
import {
  CONFIDENCE_ALARM_IDS,
  CONFIDENCE_METRIC,
  CONFIDENCE_SQUARED_METRIC,
  confidenceAlarmDefinition,
  confidenceAlarmSettingsOf,
  DISARMED_BAND,
} from '../../lambdas/core/monitoring/confidence-alarm';
import { AB_INTERVAL_BOUNDS, AB_VARIANT_INTERVAL_METRICS } from '../../lambdas/core/routing/ab-experiment';
import { LIVE_VARIANT, STANDBY_VARIANT, releaseNamePatterns } from '../../lambdas/core/serving/endpoint-spec';
import {
  confidenceAlarmName,
  METRIC_NAMESPACES,
  rollbackRequestedAlarmName,
  ROLLBACK_REQUESTED_METRIC,
} from '../../lambdas/core/contracts/metric-names';
import { ENDPOINT_STATE_CHANGE } from '../../lambdas/core/serving/rollback';
import { NAG_PARTITION, reviewWildcards } from '../nag/reviewed-wildcards';
import type { SharedResources } from '../stacks/shared-stack';
import { DeadLetterAlarm } from './dead-letter-alarm';
import { GateFunction } from './gate-function';
import { grantMissingKeyAsNotFound } from './grants';
import type { PromotionLiveEnv } from '../../lambdas/core/contracts/handler-env';
import type { RollbackEnvInput } from '../../lambdas/core/contracts/rollback-env';
import type { ConfidenceBaselineJobEnv } from '../../lambdas/core/monitoring/confidence-baseline-job';
import type { ModelEndpoint } from './model-endpoint';
import type { ModelRouting } from './model-routing';

export interface ModelMonitoringProps {
  readonly platform: PlatformSettings;
  readonly model: ModelConfig;
  readonly shared: SharedResources;
  readonly releaseSettings: ssm.IStringParameter;
  /** Endpoint names and the canary's guardrail alarms. */
  readonly endpoint: ModelEndpoint;
  /** The flag, the router (its metrics and logs), the Athena workgroup. */
  readonly routing: ModelRouting;
}

/**
 * Keeps watching the live model after its release: the alarms (each with a name and a
 * description that say what happened and what to do first), the rollback function they call,
 * the drift, cost and production-sample jobs, and one dashboard built from the same metric
 * objects as the alarms.
 */
export class ModelMonitoring extends Construct {
  readonly confidenceAlarm: cloudwatch.Alarm;
  readonly errorRateAlarm: cloudwatch.Alarm;
  /** Put in ALARM by the rollback function to stop a canary's deployment on the live endpoint. */
  readonly rollbackRequestedAlarm: cloudwatch.Alarm;
  readonly latencyP95Alarm: cloudwatch.Alarm;
  readonly latencyP99Alarm: cloudwatch.Alarm;
  readonly invocationDropAlarm: cloudwatch.Alarm;
  /** Pages when the standby, while it bridges users after a rollback, gets more than its capacity. */
  readonly standbyCapacityAlarm: cloudwatch.Alarm;
  readonly driftAlarm: cloudwatch.Alarm;
  readonly costAlarm?: cloudwatch.Alarm;
  readonly predictionLogFallbackAlarm: cloudwatch.Alarm;
  readonly rollback: GateFunction;
  readonly rollbackTable: dynamodb.Table;
  readonly driftMonitor: GateFunction;
  readonly costMonitor: GateFunction;
  /** The scheduled job that measures the served version's live confidence baseline and arms the alarm. */
  readonly confidenceBaseline: GateFunction;
  readonly productionSample: GateFunction;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ModelMonitoringProps) {
    super(scope, id);
    const { platform, model, shared, endpoint, routing } = props;
    const monitoring = model.monitoring;
    const stack = Stack.of(this);
    const prefix = `${platform.name}-${model.name}`;
    const live = endpoint.endpointNames.live;
    const standby = endpoint.endpointNames.standby;
    const period = Duration.seconds(monitoring.periodSeconds);
    const page = new cwActions.SnsAction(shared.pagingTopic);

    // ---- Metrics (the dashboard draws the same objects the alarms watch) ----------------------
    const sageMaker = (
      endpointName: string,
      variant: string,
      metricName: string,
      statistic: string,
      p = period,
    ) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: { EndpointName: endpointName, VariantName: variant },
        statistic,
        period: p,
      });
    const liveInvocations = sageMaker(live, LIVE_VARIANT, 'Invocations', 'Sum');
    const liveErrors = sageMaker(live, LIVE_VARIANT, 'Invocation5XXErrors', 'Sum');
    const errorRate = new cloudwatch.MathExpression({
      expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
      usingMetrics: { errors: liveErrors, invocations: liveInvocations },
      period,
      label: 'live 5xx rate (%)',
    });
    const modelLatency = (stat: string) => sageMaker(live, LIVE_VARIANT, 'ModelLatency', stat);
    // The confidence alarm's inputs: the version-free copies the router publishes for it
    // (lambdas/router/metrics.ts). Its expression is built in lambdas/core/monitoring/confidence-alarm.ts, the
    // same code that calibrates it and that a re-baseline uses.
    const alarmSettings = confidenceAlarmSettingsOf(monitoring);
    const deployedDefinition = confidenceAlarmDefinition(alarmSettings, DISARMED_BAND);
    // Its own period (monitoring.confidenceAlarm.periodSeconds), not the other alarms'.
    const confidencePeriod = Duration.seconds(alarmSettings.periodSeconds);
    const routerConfidence = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACES.router,
        metricName,
        dimensionsMap: { service: model.name, Model: model.name, Variant: 'stable' },
        statistic,
        period: confidencePeriod,
      });
    const ids = CONFIDENCE_ALARM_IDS;
    const requestsWithConfidence = routerConfidence(CONFIDENCE_METRIC, 'SampleCount');
    const expressionOf = (id: string) => deployedDefinition.expressions.find((e) => e.id === id)!.expression;
    const confidenceZ = new cloudwatch.MathExpression({
      expression: expressionOf(ids.z),
      usingMetrics: {
        [ids.count]: requestsWithConfidence,
        [ids.sum]: routerConfidence(CONFIDENCE_METRIC, 'Sum'),
        [ids.sumOfSquares]: routerConfidence(CONFIDENCE_SQUARED_METRIC, 'Sum'),
      },
      period: confidencePeriod,
      label: 'z of the mean confidence (stable)',
    });
    const confidenceAlarmSignal = new cloudwatch.MathExpression({
      expression: expressionOf(ids.gated),
      usingMetrics: { [ids.count]: requestsWithConfidence, [ids.z]: confidenceZ },
      period: confidencePeriod,
      label: `z of the mean confidence (stable), periods with ≥ ${alarmSettings.minRequests} requests`,
    });
    const meanConfidence = new cloudwatch.Metric({
      namespace: METRIC_NAMESPACES.router,
      metricName: CONFIDENCE_METRIC,
      dimensionsMap: { service: model.name, Model: model.name, Variant: 'stable' },
      statistic: 'Average',
      period: confidencePeriod,
      label: 'mean confidence (stable)',
    });
    const labelDrift = new cloudwatch.Metric({
      namespace: METRIC_NAMESPACES.drift,
      metricName: 'LabelDrift',
      dimensionsMap: { Model: model.name },
      statistic: 'Maximum',
      period: Duration.hours(1),
      label: 'predicted-label drift (JS distance)',
    });
    // What the drift alarm compares: the distance only when it is beyond sampling noise (chi-square test), else 0.
    const significantLabelDrift = new cloudwatch.Metric({
      namespace: METRIC_NAMESPACES.drift,
      metricName: 'SignificantLabelDrift',
      dimensionsMap: { Model: model.name },
      statistic: 'Maximum',
      period: Duration.hours(1),
      label: 'predicted-label drift beyond sampling noise (JS distance; 0 when not significant)',
    });
    const monthlyCost = new cloudwatch.Metric({
      namespace: METRIC_NAMESPACES.cost,
      metricName: 'EstimatedMonthlyCost',
      dimensionsMap: { Model: model.name },
      statistic: 'Maximum',
      period: Duration.hours(1),
      label: `estimated monthly cost (${platform.pricing.currency})`,
    });
    const timeToRollback = new cloudwatch.Metric({
      namespace: METRIC_NAMESPACES.rollback,
      metricName: 'TimeToRollbackSeconds',
      dimensionsMap: { Model: model.name },
      statistic: 'Maximum',
      period: Duration.hours(1),
      label: 'alarm → N-1 serving (s)',
    });

    // ---- Rollback -----------------------------------------------------------------------------
    this.rollbackTable = new dynamodb.Table(this, 'Rollbacks', {
      tableName: `${prefix}-rollbacks`,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: shared.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.rollbackTable).acknowledge({
      id: 'NIST.800.53.R5-DynamoDBInBackupPlan',
      reason:
        'Point-in-time recovery keeps 35 days of every change, the table is retained on stack deletion, and each rollback is also written to the Object-Locked artifacts bucket (models/<model>/rollbacks/): a Backup plan would add a third copy of a small ledger.',
    });
    this.rollback = new GateFunction(this, 'Rollback', {
      handler: 'rollback',
      functionName: `${prefix}-rollback`,
      description: `${model.name}: serves the previous model (flag, then endpoint); by alarm or by hand`,
      environment: {
        MODEL_NAME: model.name,
        ARTIFACTS_BUCKET: shared.artifactsBucket.bucketName,
        ROLLBACK_TABLE: this.rollbackTable.tableName,
        PAGING_TOPIC_ARN: shared.pagingTopic.topicArn,
        LIVE_ENDPOINT: live,
        STANDBY_ENDPOINT: standby,
        APPCONFIG_APPLICATION_ID: routing.application.ref,
        APPCONFIG_ENVIRONMENT_ID: routing.environment.ref,
        APPCONFIG_PROFILE_ID: routing.profile.ref,
        APPCONFIG_STRATEGY_ID: routing.rollbackDeploymentStrategy.ref,
        EXPERIMENT: model.routing.experiment,
        AUTOSCALING_MIN_INSTANCES: String(model.serving.autoscaling.minInstances),
        AUTOSCALING_MAX_INSTANCES: String(model.serving.autoscaling.maxInstances),
        AUTOSCALING_TARGET_INVOCATIONS: String(model.serving.autoscaling.targetInvocationsPerInstance),
        CONFIDENCE_ALARM_NAME: confidenceAlarmName(prefix),
        // Built from the literal name: the function's own Arn attribute in its environment would be a
        // circular reference. It is the ARN the alarm's Lambda action names (unqualified).
        CONFIDENCE_ROLLBACK_ACTION_ARN: stack.formatArn({
          service: 'lambda',
          resource: 'function',
          resourceName: `${prefix}-rollback`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        CONFIDENCE_PROVISIONAL_STD_DEV: String(monitoring.confidenceAlarm.provisionalStdDev),
        ROLLBACK_REQUESTED_ALARM_NAME: rollbackRequestedAlarmName(prefix),
      } satisfies Required<Omit<RollbackEnvInput, `POWERTOOLS_${string}`>>,
      // Long enough to wait out an endpoint that is already updating.
      timeout: Duration.minutes(15),
    });
    const rollbackRole = this.rollback.role;
    const appConfigArn = (resourceName: string) =>
      stack.formatArn({ service: 'appconfig', resource: 'application', resourceName });
    const app = routing.application.ref;
    const rollback = new cwActions.LambdaAction(this.rollback.function);
    const flagWriter = (role: iam.IRole) => {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'appconfig:CreateHostedConfigurationVersion',
            'appconfig:GetHostedConfigurationVersion',
            'appconfig:ListHostedConfigurationVersions',
          ],
          resources: [
            appConfigArn(`${app}/configurationprofile/${routing.profile.ref}/hostedconfigurationversion/*`),
            appConfigArn(`${app}/configurationprofile/${routing.profile.ref}`),
          ],
        }),
      );
    };
    const servingState = shared.artifactsBucket.arnForObjects(`models/${model.name}/serving/state.json`);
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [servingState] }),
    );
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [
          shared.artifactsBucket.arnForObjects(`models/${model.name}/rollbacks/*`),
          shared.artifactsBucket.arnForObjects(artifactKeys.runRollback(model.name, '*')),
        ],
      }),
    );
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [shared.key.keyArn],
      }),
    );
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        resources: [this.rollbackTable.tableArn],
      }),
    );
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [shared.pagingTopic.topicArn] }),
    );
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:UpdateEndpoint'],
        resources: [
          stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: live }),
          // The configs a release of this model creates, by exact pattern (not `${prefix}-*`,
          // which would cover a model whose name extends this one).
          ...[releaseNamePatterns(prefix)]
            .flatMap((n) => [n.liveConfig, n.shadowConfig, n.standbyConfig])
            .map((n) =>
              stack.formatArn({ service: 'sagemaker', resource: 'endpoint-config', resourceName: n }),
            ),
        ],
      }),
    );
    // The standby must be in service before the flag sends users to it.
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:DescribeEndpoint'],
        resources: [live, standby].map((n) =>
          stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: n }),
        ),
      }),
    );
    grantMissingKeyAsNotFound(rollbackRole, shared.artifactsBucket);
    flagWriter(rollbackRole);
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'appconfig:StartDeployment',
          'appconfig:StopDeployment',
          'appconfig:GetDeployment',
          'appconfig:ListDeployments',
        ],
        resources: [
          appConfigArn(`${app}/environment/${routing.environment.ref}`),
          appConfigArn(`${app}/environment/${routing.environment.ref}/deployment/*`),
          appConfigArn(`${app}/configurationprofile/${routing.profile.ref}`),
          stack.formatArn({
            service: 'appconfig',
            resource: 'deploymentstrategy',
            resourceName: routing.rollbackDeploymentStrategy.ref,
          }),
        ],
      }),
    );
    // An instance type change needs the live variant's autoscaling off during the rollback's update
    // and on again after it. Scalable targets have no ARN the role could name before they exist, so
    // the resource is "*" narrowed by the documented condition keys to SageMaker variant counts
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsapplicationautoscaling.html).
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'application-autoscaling:RegisterScalableTarget',
          'application-autoscaling:DeregisterScalableTarget',
          'application-autoscaling:PutScalingPolicy',
          'application-autoscaling:DeleteScalingPolicy',
        ],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'application-autoscaling:service-namespace': 'sagemaker',
            'application-autoscaling:scalable-dimension': 'sagemaker:variant:DesiredInstanceCount',
          },
        },
      }),
    );
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        // Describe* has no resource-level permissions or condition keys.
        actions: ['application-autoscaling:DescribeScalableTargets'],
        resources: ['*'],
      }),
    );
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        // The instance types to compare; autoscaling sets the variant's count with the caller's rights.
        actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:UpdateEndpointWeightsAndCapacities'],
        resources: [
          // By exact pattern, like UpdateEndpoint above: `${prefix}-*` would cover a model whose name extends this one.
          ...[releaseNamePatterns(prefix)]
            .flatMap((n) => [n.liveConfig, n.shadowConfig, n.standbyConfig])
            .map((n) =>
              stack.formatArn({ service: 'sagemaker', resource: 'endpoint-config', resourceName: n }),
            ),
          stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: live }),
        ],
      }),
    );
    // Which release an unpromoted config on the live endpoint holds (a rollback between canary and
    // promotion returns to the release before it): the ModelVersion tag of its model.
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:DescribeModel', 'sagemaker:ListTags'],
        resources: [
          stack.formatArn({
            service: 'sagemaker',
            resource: 'model',
            resourceName: releaseNamePatterns(prefix).model,
          }),
        ],
      }),
    );
    // The standby is a bridge: when the live endpoint is in service again on N-1's config, the
    // function moves users back to it (SageMaker Endpoint State Change events,
    // https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
    new events.Rule(this, 'LiveEndpointStateChange', {
      ruleName: `${prefix}-live-endpoint-state`,
      description: `${model.name}: the live endpoint changed state; after a rollback, users leave the standby`,
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: [ENDPOINT_STATE_CHANGE],
        detail: { EndpointName: [live] },
      },
      targets: [new eventsTargets.LambdaFunction(this.rollback.function, { retryAttempts: 4 })],
    });
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACES.rollback } },
      }),
    );
    // The live traffic a rollback moves onto the standby, to say when the standby lacks capacity for it.
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
    );

    // ---- Alarms -------------------------------------------------------------------------------
    const breaching = monitoring.breachingDatapoints;
    const runbook = 'docs/operations.md';
    const confidenceRule = monitoring.confidenceAlarm;
    this.confidenceAlarm = new cloudwatch.Alarm(this, 'Confidence', {
      alarmName: confidenceAlarmName(prefix),
      alarmDescription:
        `${model.name}: the mean prediction confidence of the stable model was more than ${monitoring.confidenceStdDevs} standard deviations ` +
        `of a ${alarmSettings.periodSeconds}-second mean below the served version's own live baseline in ${deployedDefinition.datapointsToAlarm} of the last ${deployedDefinition.evaluationPeriods} periods ` +
        `(periods with fewer than ${confidenceRule.minRequestsPerPeriod} requests are skipped). Once the baseline exists the rollback function has put ` +
        `the previous model back (see the paging message and ${runbook}); during the first ${confidenceRule.baselineHours} hours after a promotion ` +
        'the alarm only pages, against a wide provisional band. First check the drift metric: new kinds of input are the usual cause. ' +
        'The expression is rewritten at each promotion, rollback and baseline (docs/statistics.md, "Live detectors").',
      metric: confidenceAlarmSignal,
      // As deployed, B = 0: no mean of confidences in [0, 1] is below it, so a model with no
      // release yet cannot fire. Promotion writes the provisional band, the baseline job the live one.
      threshold: deployedDefinition.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      // M of N periods, evaluated every minute over a sliding window (no EvaluationWindow: the
      // default), so a drop is seen as soon as M whole periods hold it:
      // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html
      evaluationPeriods: deployedDefinition.evaluationPeriods,
      datapointsToAlarm: deployedDefinition.datapointsToAlarm,
      // A quiet period is no evidence either way: keep the state (the invocation-drop alarm owns
      // outages, and a rollback would not cure one).
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.errorRateAlarm = new cloudwatch.Alarm(this, 'ErrorRate', {
      alarmName: `${prefix}-live-error-rate`,
      alarmDescription:
        `${model.name}: more than ${model.serving.canary.maxServerErrorRatePercent}% of live requests failed with a 5xx for ${breaching} consecutive periods. ` +
        `The rollback function has put the previous model back. Check /aws/sagemaker/Endpoints/${live} for the model's errors (${runbook}).`,
      metric: errorRate,
      threshold: model.serving.canary.maxServerErrorRatePercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: breaching,
      datapointsToAlarm: breaching,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const latencyAlarm = (idSuffix: string, stat: 'p95' | 'p99', ms: number) =>
      new cloudwatch.Alarm(this, `Latency${idSuffix}`, {
        alarmName: `${prefix}-live-${stat}-latency`,
        alarmDescription:
          `${model.name}: ${stat} model latency of the live endpoint was above ${ms} ms for ${breaching} consecutive periods. ` +
          'Check whether autoscaling is at its maximum (raise serving.autoscaling.maxInstances) and whether a release just happened.',
        metric: modelLatency(stat),
        threshold: ms * 1000, // SageMaker reports microseconds
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: breaching,
        datapointsToAlarm: breaching,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    this.latencyP95Alarm = latencyAlarm('P95', 'p95', monitoring.latency.p95Ms);
    this.latencyP99Alarm = latencyAlarm('P99', 'p99', monitoring.latency.p99Ms);
    this.invocationDropAlarm = new cloudwatch.AnomalyDetectionAlarm(this, 'InvocationDrop', {
      alarmName: `${prefix}-live-invocation-drop`,
      alarmDescription:
        `${model.name}: invocations (live and standby endpoints together) fell below their usual band (${monitoring.invocationDropStdDevs}σ) for 3 consecutive 5-minute periods. ` +
        'Callers may be failing before they reach the model: check the router (FlagUnavailable, InternalErrors) and the callers.',
      // Live and standby together: after a rollback the router bridges users to the standby until the
      // live endpoint is in service on N-1 again; traffic that moved is no drop. Anomaly detection
      // takes a math expression that returns one time series
      // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricMathAnomalyDetector.html).
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(live, 0) + FILL(standby, 0)',
        usingMetrics: {
          live: sageMaker(live, LIVE_VARIANT, 'Invocations', 'Sum', Duration.minutes(5)),
          standby: sageMaker(standby, STANDBY_VARIANT, 'Invocations', 'Sum', Duration.minutes(5)),
        },
        label: 'invocations, live + standby',
        period: Duration.minutes(5),
      }),
      stdDevs: monitoring.invocationDropStdDevs,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_LOWER_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      // No invocations at all is the drop itself.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    // After a rollback the router sends everyone to the standby until the live endpoint is in service
    // on N-1 again. The standby is not autoscaled and no other alarm watches it: the rollback says at
    // once when the traffic it moved is more than the standby's capacity, and this alarm says so when
    // the traffic grows on the standby afterwards. InvocationsPerInstance is what autoscaling tracks,
    // "1/numberOfInstances ... sent as the value on each request" (API_ScalingPolicyMetric), so its
    // per-minute Sum above the autoscaling target means more instances than the standby has are needed.
    const target = model.serving.autoscaling.targetInvocationsPerInstance;
    this.standbyCapacityAlarm = new cloudwatch.Alarm(this, 'StandbyCapacity', {
      alarmName: `${prefix}-standby-capacity`,
      alarmDescription:
        `${model.name}: the standby endpoint ${standby} lacks capacity: it got more than ${target} requests per minute per instance (the autoscaling target) in the last minute. ` +
        `Users are on the standby after a rollback until the live endpoint ${live} is in service on the previous version; expect higher latency or errors meanwhile. ` +
        `To add capacity: aws sagemaker update-endpoint-weights-and-capacities --endpoint-name ${standby} ` +
        `--desired-weights-and-capacities VariantName=${STANDBY_VARIANT},DesiredInstanceCount=<n> (${runbook}).`,
      metric: sageMaker(standby, STANDBY_VARIANT, 'InvocationsPerInstance', 'Sum', Duration.minutes(1)),
      threshold: target,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // The standby answers nothing outside a rollback: no data is no overload.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.driftAlarm = new cloudwatch.Alarm(this, 'Drift', {
      alarmName: `${prefix}-label-drift`,
      alarmDescription:
        `${model.name}: the distribution of predicted labels drifted more than ${monitoring.drift.maxLabelDrift} (Jensen–Shannon distance) from the reference, beyond sampling noise (chi-square test). ` +
        'Sample production inputs (the production-sample job) and re-evaluate; retrain if the new inputs are here to stay.',
      metric: significantLabelDrift,
      threshold: monitoring.drift.maxLabelDrift,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (model.cost.monthlyBudget !== undefined) {
      this.costAlarm = new cloudwatch.Alarm(this, 'CostBudget', {
        alarmName: `${prefix}-cost-budget`,
        alarmDescription:
          `${model.name}: the estimated monthly serving cost is above the budget of ${model.cost.monthlyBudget} ${platform.pricing.currency}. ` +
          'Check instance counts (autoscaling maximum, standby and shadow sizes) and request volume.',
        metric: monthlyCost,
        threshold: model.cost.monthlyBudget,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    // The prediction log's last resort is a log line; any such line means Firehose and SQS both failed.
    new logs.MetricFilter(this, 'PredictionLogFallbackLines', {
      logGroup: routing.router.logGroup,
      metricNamespace: METRIC_NAMESPACES.router,
      metricName: 'PredictionLogFallbackLines',
      filterPattern: logs.FilterPattern.stringValue('$.message', '=', 'prediction-log-fallback'),
      metricValue: '1',
      defaultValue: 0,
      dimensions: { Model: '$.service' },
    });
    this.predictionLogFallbackAlarm = new cloudwatch.Alarm(this, 'PredictionLogFallback', {
      alarmName: `${prefix}-prediction-log-fallback`,
      alarmDescription:
        `${model.name}: the router wrote predictions to its log because Firehose and the fallback queue both failed. ` +
        'They are not lost: replay them from the router log group (lambdas/shared/prediction-log.ts says how).',
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACES.router,
        metricName: 'PredictionLogFallbackLines',
        dimensionsMap: { Model: model.name },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The canary, once it passes, points the flag at the new model and rewrites the confidence floor
    // (lambdas/canary/commit.ts: no window between Canary and Promotion); promotion does the same,
    // idempotently, for a run whose canary ran before that commit existed.
    const promotionEnv = {
      APPCONFIG_APPLICATION_ID: routing.application.ref,
      APPCONFIG_ENVIRONMENT_ID: routing.environment.ref,
      APPCONFIG_PROFILE_ID: routing.profile.ref,
      APPCONFIG_STRATEGY_ID: routing.deploymentStrategy.ref,
      CONFIDENCE_ALARM_NAME: confidenceAlarmName(prefix),
      // The ARN the alarm's Lambda action names: a provisional band drops it, an armed one adds it back.
      CONFIDENCE_ROLLBACK_ACTION_ARN: this.rollback.function.functionArn,
      EXPERIMENT: model.routing.experiment,
    } satisfies Record<keyof PromotionLiveEnv, string>;
    for (const stage of [endpoint.canary, endpoint.promotion]) {
      for (const [key, value] of Object.entries(promotionEnv)) stage.function.addEnvironment(key, value);
      flagWriter(stage.role);
      stage.role.addToPolicy(
        new iam.PolicyStatement({
          // ListDeployments: whether the flag version an earlier attempt stored was deployed.
          actions: ['appconfig:StartDeployment', 'appconfig:GetDeployment', 'appconfig:ListDeployments'],
          resources: [
            appConfigArn(`${app}/environment/${routing.environment.ref}`),
            appConfigArn(`${app}/environment/${routing.environment.ref}/deployment/*`),
            appConfigArn(`${app}/configurationprofile/${routing.profile.ref}`),
            stack.formatArn({
              service: 'appconfig',
              resource: 'deploymentstrategy',
              resourceName: routing.deploymentStrategy.ref,
            }),
          ],
        }),
      );
      stage.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm', 'cloudwatch:SetAlarmState'],
          resources: [this.confidenceAlarm.alarmArn],
        }),
      );
      // Each version's confidence baseline record (lambdas/core/monitoring/confidence-baseline.ts), read and written
      // when a version starts serving; a version without one yet reads as "not found".
      stage.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:PutObject'],
          resources: [
            shared.artifactsBucket.arnForObjects(`models/${model.name}/serving/confidence-baselines/*`),
          ],
        }),
      );
      grantMissingKeyAsNotFound(stage.role, shared.artifactsBucket);
      reviewWildcards(stage.role, {
        finding: new RegExp(
          `^Resource::arn:${NAG_PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/models/${model.name}/serving/confidence-baselines/\\*$`,
        ),
        reason: "This model's confidence baseline records, one per served version (named by the version).",
      });
      reviewWildcards(stage.role, {
        finding: /^Resource::arn:.*(\/hostedconfigurationversion\/\*|\/deployment\/\*)$/,
        reason: "This profile's hosted versions and this environment's deployments, numbered by AppConfig.",
      });
    }

    // The rollback re-baselines the confidence alarm for the version it returns to. The alarm's ARN
    // from its name: the alarm names this function as an action, so its Arn attribute here would be
    // a cycle (alarm -> function -> its policy -> alarm).
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm', 'cloudwatch:SetAlarmState'],
        resources: [
          stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: confidenceAlarmName(prefix),
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    // Read the restored version's baseline record; write one (baseline: null) when it has none, so
    // that the baseline job can measure it.
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [
          shared.artifactsBucket.arnForObjects(`models/${model.name}/serving/confidence-baselines/*`),
        ],
      }),
    );
    reviewWildcards(rollbackRole, {
      finding: new RegExp(
        `^Resource::arn:${NAG_PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/models/${model.name}/serving/confidence-baselines/\\*$`,
      ),
      reason: "This model's confidence baseline records, one per served version (named by the version).",
    });

    // ---- Stopping the live endpoint's deployment ------------------------------------------------
    // SageMaker has no call that cancels an endpoint update; a blue/green deployment stops when one of
    // its auto-rollback alarms is in ALARM during the deployment ("If any alarms are tripped during a
    // deployment, SageMaker rolls back the deployment":
    // https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AutoRollbackConfig.html). Every
    // canary lists this alarm (ModelEndpoint's ROLLBACK_ALARMS; at most 10 alarms per deployment), and
    // the rollback function puts it in ALARM when a person rolls back a candidate during its canary.
    // It evaluates a metric the function publishes, not only a state the function sets: SetAlarmState
    // is for testing, and "Metric alarms returns to their actual state quickly, often within seconds"
    // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html), which
    // SageMaker's polling of the alarms could miss. With the datapoint the actual state is ALARM for the
    // minute it covers; the function publishes one per poll until SageMaker rolls back, then stops, and
    // the alarm returns to OK by itself (missing data is not breaching).
    this.rollbackRequestedAlarm = new cloudwatch.Alarm(this, 'RollbackRequested', {
      alarmName: rollbackRequestedAlarmName(prefix),
      alarmDescription:
        `${model.name}: a person (or the platform) invoked the rollback while a release's canary was deploying a ` +
        `candidate to the live endpoint ${live}. The rollback function holds this alarm in ALARM until SageMaker ` +
        "rolls that deployment back (this alarm is one of every canary's auto-rollback alarms), so the version " +
        'that served before keeps serving and the candidate is not released. It returns to OK by itself. The ' +
        `rollback's own page says how it went; ${runbook}, "Rollback during a canary".`,
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACES.rollback,
        metricName: ROLLBACK_REQUESTED_METRIC,
        dimensionsMap: { Model: model.name },
        statistic: 'Maximum',
        period: Duration.minutes(1),
        label: 'rollback requested during a deployment (1)',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // A page, not the rollback function: the function is what set it, and a second rollback would
    // find nothing left to return to.
    this.rollbackRequestedAlarm.addAlarmAction(page);
    // Least privilege: SetAlarmState on this one alarm (to act at once, before its next evaluation);
    // the metric is published under the rollback namespace the function already writes to.
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:SetAlarmState'],
        resources: [
          stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: rollbackRequestedAlarmName(prefix),
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    for (const alarm of [this.confidenceAlarm, this.errorRateAlarm]) {
      alarm.addAlarmAction(rollback);
      alarm.addAlarmAction(page);
    }
    // A rollback deferred to a canary's guardrails is looked at again when the release ends: the
    // function reads the state of the alarm that asked for it (lambdas/rollback, settleAndLookAgain).
    // The confidence alarm is already readable (above); the error-rate alarm is read only. Its ARN
    // from its name: its Arn attribute here would be a cycle (alarm -> function -> policy -> alarm).
    rollbackRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [
          stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: `${prefix}-live-error-rate`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    // An alarm invokes the rollback asynchronously: Lambda retries a failed run twice, then hands the
    // event to the on-failure destination, here the paging topic, so a rollback that never happened
    // pages instead of vanishing. A rollback still not run after an hour pages rather than acting late.
    // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    this.rollback.function.configureAsyncInvoke({
      onFailure: new destinations.SnsDestination(shared.pagingTopic),
      maxEventAge: Duration.hours(1),
      retryAttempts: 2,
    });
    for (const alarm of [
      this.latencyP95Alarm,
      this.latencyP99Alarm,
      this.invocationDropAlarm,
      this.standbyCapacityAlarm,
      this.driftAlarm,
      this.predictionLogFallbackAlarm,
      ...(this.costAlarm ? [this.costAlarm] : []),
    ]) {
      alarm.addAlarmAction(page);
    }

    // ---- Scheduled monitors -----------------------------------------------------------------
    const monitorDlq = new sqs.Queue(this, 'MonitorDlq', {
      queueName: `${prefix}-monitor-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: shared.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    new DeadLetterAlarm(this, 'MonitorDeadLetters', {
      queue: monitorDlq,
      alarmName: `${prefix}-monitor-dead-letters`,
      description: `${model.name}: a scheduled monitor (drift, cost, production sample, confidence baseline) failed for good; the message in ${prefix}-monitor-dlq says which and why (docs/operations.md).`,
      pagingTopic: shared.pagingTopic,
    });
    Validations.of(monitorDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the monitor schedules (EventBridge Scheduler), which cdk-nag does not see.',
    });
    const schedulerRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `${prefix}: EventBridge Scheduler starts the monitors`,
    });
    reviewWildcards(schedulerRole, {
      finding: /^Resource::<[A-Za-z0-9]+Function[A-Za-z0-9]+\.Arn>:\*$/,
      reason: 'Invoking a monitor function includes its versions and aliases (ARN suffix :*).',
    });
    const schedule = (id: string, fn: GateFunction, expression: string, what: string) =>
      new scheduler.Schedule(this, id, {
        // The function's name as a literal: a reference would make the name a deploy-time value.
        scheduleName: `${prefix}-${fn.handler}`,
        description: `${model.name}: ${what}`,
        schedule: scheduler.ScheduleExpression.expression(expression),
        target: new schedulerTargets.LambdaInvoke(fn.function, {
          input: scheduler.ScheduleTargetInput.fromObject({ model: model.name }),
          retryAttempts: 2,
          deadLetterQueue: monitorDlq,
          role: schedulerRole,
        }),
      });
    const monitorFn = (
      id: string,
      handler: string,
      description: string,
      environment: Record<string, string>,
    ) => {
      const fn = new GateFunction(this, id, {
        handler,
        functionName: `${prefix}-${handler}`,
        description: `${model.name}: ${description}`,
        environment: {
          RELEASE_SETTINGS_PARAMETER: props.releaseSettings.parameterName,
          ARTIFACTS_BUCKET: shared.artifactsBucket.bucketName,
          ...environment,
        },
        timeout: Duration.minutes(15),
        memorySize: 1024,
      });
      // The schedule invokes asynchronously: a run that fails after Lambda's retries lands in the
      // monitors' dead-letter queue (which pages), as a schedule that could not invoke at all does.
      fn.function.configureAsyncInvoke({ onFailure: new destinations.SqsDestination(monitorDlq) });
      props.releaseSettings.grantRead(fn.role);
      fn.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [shared.key.keyArn],
        }),
      );
      return fn;
    };

    this.driftMonitor = monitorFn(
      'DriftMonitor',
      'drift-monitor',
      'drift of predicted labels from the reference',
      {
        ATHENA_WORKGROUP: routing.workgroupName,
        GLUE_DATABASE: routing.glueDatabase,
        GLUE_TABLE: routing.glueTable,
      },
    );
    routing.grantAnalysisQueries(this.driftMonitor.role);
    this.driftMonitor.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [servingState, shared.artifactsBucket.arnForObjects(`models/${model.name}/runs/*`)],
      }),
    );
    this.driftMonitor.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACES.drift } },
      }),
    );
    // A model never released has no serving state: "not found", not "access denied".
    grantMissingKeyAsNotFound(this.driftMonitor.role, shared.artifactsBucket);
    schedule('DriftSchedule', this.driftMonitor, monitoring.drift.schedule, 'predicted-label drift');

    this.costMonitor = monitorFn('CostMonitor', 'cost-monitor', 'estimated serving cost', {
      LIVE_ENDPOINT: live,
      STANDBY_ENDPOINT: standby,
    });
    this.costMonitor.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:DescribeEndpoint'],
        resources: [live, standby].map((n) =>
          stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: n }),
        ),
      }),
    );
    this.costMonitor.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
    );
    this.costMonitor.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACES.cost } },
      }),
    );
    schedule('CostSchedule', this.costMonitor, monitoring.cost.schedule, 'estimated serving cost');

    // The confidence alarm's live baseline: measured once the served version's baseline window has
    // ended, then the alarm is armed (lambdas/confidence-baseline). Rate-based schedules
    // (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html).
    this.confidenceBaseline = monitorFn(
      'ConfidenceBaseline',
      'confidence-baseline',
      "measures the served version's live confidence baseline and arms the confidence alarm",
      {
        LIVE_ENDPOINT: live,
        CONFIDENCE_ALARM_NAME: confidenceAlarmName(prefix),
        CONFIDENCE_ROLLBACK_ACTION_ARN: this.rollback.function.functionArn,
      } satisfies Omit<ConfidenceBaselineJobEnv, 'RELEASE_SETTINGS_PARAMETER' | 'ARTIFACTS_BUCKET'>,
    );
    const baselineRole = this.confidenceBaseline.role;
    baselineRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:PutMetricAlarm', 'cloudwatch:SetAlarmState'],
        resources: [this.confidenceAlarm.alarmArn],
      }),
    );
    // GetMetricData has no resource-level permissions
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
    baselineRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
    );
    baselineRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [servingState] }),
    );
    baselineRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [
          shared.artifactsBucket.arnForObjects(`models/${model.name}/serving/confidence-baselines/*`),
        ],
      }),
    );
    // A later release's canary mixes its candidate into the router's metrics: the job reads the
    // canary records (listed under the runs) and whether a release updates the live endpoint now.
    baselineRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [shared.artifactsBucket.arnForObjects(`models/${model.name}/runs/*/canary.json`)],
      }),
    );
    baselineRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sagemaker:DescribeEndpoint'],
        resources: [stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: live })],
      }),
    );
    // Before the first release there is no serving state: "not found", not "access denied". The
    // same ListBucket lists the runs for their canary records.
    grantMissingKeyAsNotFound(baselineRole, shared.artifactsBucket);
    reviewWildcards(baselineRole, {
      finding: new RegExp(
        `^Resource::arn:${NAG_PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/models/${model.name}/runs/\\*/canary\\.json$`,
      ),
      reason: "This model's canary records, one per release run (named by the pipeline execution).",
    });
    reviewWildcards(baselineRole, {
      finding: new RegExp(
        `^Resource::arn:${NAG_PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/models/${model.name}/serving/confidence-baselines/\\*$`,
      ),
      reason: "This model's confidence baseline records, one per served version (named by the version).",
    });
    schedule(
      'ConfidenceBaselineSchedule',
      this.confidenceBaseline,
      monitoring.confidenceAlarm.baselineSchedule,
      "the served version's live confidence baseline",
    );

    this.productionSample = monitorFn(
      'ProductionSample',
      'production-sample',
      'samples data capture into a PII-scrubbed production-like eval set',
      {
        DATA_CAPTURE_S3_URI: `s3://${shared.dataCaptureBucket.bucketName}/${model.name}`,
        LIVE_ENDPOINT: live,
        DVC_REMOTE_BUCKET: shared.dvcRemoteBucket.bucketName,
        DVC_REMOTE_PREFIX: model.name,
      },
    );
    this.productionSample.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [shared.dataCaptureBucket.arnForObjects(`${model.name}/*`)],
      }),
    );
    this.productionSample.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [shared.dataCaptureBucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${model.name}/*`] } },
      }),
    );
    this.productionSample.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [
          shared.dvcRemoteBucket.arnForObjects(`${model.name}/files/md5/*`),
          shared.artifactsBucket.arnForObjects(`models/${model.name}/production-samples/*`),
        ],
      }),
    );
    schedule(
      'ProductionSampleSchedule',
      this.productionSample,
      monitoring.productionSample.schedule,
      'production-like eval set from data capture',
    );

    // ---- Dashboard ----------------------------------------------------------------------------
    const routerSearch = (metricName: string, stat: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRIC_NAMESPACES.router},service,Model,ModelVersion,Variant} MetricName="${metricName}" Model="${model.name}"', '${stat}', ${monitoring.periodSeconds})`,
        label,
        period,
      });
    // What the nightly A/B analysis publishes (lambdas/ab-analysis/metrics.ts): each variant's
    // cumulative estimate with its always-valid interval, dated at the analysed day's start.
    const abInterval = (metricName: string, unit: string) =>
      (['stable', 'candidate'] as const).flatMap((variant) =>
        AB_INTERVAL_BOUNDS.map(
          (bound) =>
            new cloudwatch.Metric({
              namespace: METRIC_NAMESPACES.ab,
              metricName: `${metricName}${bound}`,
              dimensionsMap: { Model: model.name, Variant: variant },
              statistic: 'Maximum',
              period: Duration.days(1),
              label: `${variant} ${bound === '' ? 'estimate' : bound.toLowerCase()}${unit}`,
            }),
        ),
      );
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: prefix,
      defaultInterval: Duration.hours(6),
    });
    // CloudFormation takes Tags on dashboards since May 2026 (CDK 2.257 renders them); the
    // installed cfn-lint's schema predates that and calls them unexpected, on this resource only.
    (this.dashboard.node.defaultChild as CfnResource).addMetadata('cfn-lint', {
      config: { ignore_checks: ['E3002'] },
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          `# ${model.name}\n${model.description} Owner: ${model.owner.team} (${model.owner.contact}). ` +
          `Live endpoint \`${live}\`, standby \`${standby}\`. Rollback by hand: invoke \`${prefix}-rollback\` with ` +
          `\`{"model": "${model.name}", "reason": "..."}\` (${runbook}).`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: [
          this.confidenceAlarm,
          this.errorRateAlarm,
          this.latencyP95Alarm,
          this.latencyP99Alarm,
          this.invocationDropAlarm,
          this.standbyCapacityAlarm,
          this.driftAlarm,
          this.predictionLogFallbackAlarm,
          ...(this.costAlarm ? [this.costAlarm] : []),
          endpoint.serverErrorRateAlarm,
          endpoint.latencyAlarm,
        ],
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Traffic and errors per variant (router)',
        left: [routerSearch('Requests', 'Sum', 'requests')],
        right: [routerSearch('Errors', 'Sum', 'errors')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Live endpoint: invocations and 5xx rate',
        left: [liveInvocations],
        right: [errorRate],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Model latency percentiles (µs)',
        left: [modelLatency('p50'), modelLatency('p95'), modelLatency('p99')],
        leftAnnotations: [
          { value: monitoring.latency.p95Ms * 1000, label: 'p95 alarm' },
          { value: monitoring.latency.p99Ms * 1000, label: 'p99 alarm' },
        ],
        width: 12,
      }),
      // The alarm's current definition (each re-baseline rewrites it) against −k; the mean beside it.
      new cloudwatch.AlarmWidget({
        title: 'Confidence alarm: z of the mean confidence against −k',
        alarm: this.confidenceAlarm,
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Mean confidence (stable)',
        left: [meanConfidence],
        width: 6,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Predicted-label drift',
        left: [labelDrift],
        leftAnnotations: [{ value: monitoring.drift.maxLabelDrift, label: 'alarm' }],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Estimated monthly cost',
        left: [monthlyCost],
        leftAnnotations:
          model.cost.monthlyBudget !== undefined
            ? [{ value: model.cost.monthlyBudget, label: 'budget' }]
            : [],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Rollbacks: alarm → previous model serving (s)',
        left: [timeToRollback],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'A/B error rate per variant, since the experiment started (always-valid 95% interval)',
        left: abInterval(AB_VARIANT_INTERVAL_METRICS.errorRate, ' (%)'),
        width: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'A/B mean confidence per variant, since the experiment started (always-valid 95% interval)',
        left: abInterval(AB_VARIANT_INTERVAL_METRICS.meanConfidence, ''),
        width: 6,
      }),
      new cloudwatch.LogQueryWidget({
        title: 'Last rollbacks',
        logGroupNames: [this.rollback.logGroup.logGroupName],
        queryLines: [
          'fields @timestamp, status, fromVersion, toVersion, trigger, reason',
          'filter message = "rollback finished"',
          'sort @timestamp desc',
          'limit 20',
        ],
        width: 12,
      }),
    );

    reviewWildcards(this.rollback.role, {
      finding: new RegExp(
        `^Resource::(\\*|arn:.*(/hostedconfigurationversion/\\*|/deployment/\\*)|arn:.*:s3:::.*/models/${model.name}/(rollbacks/\\*|runs/\\*/rollback\\.json))$`,
      ),
      reason:
        "This profile's hosted versions and this environment's deployments (numbered by AppConfig), this model's rollback records (named by time); PutMetricData and DescribeScalableTargets have no resource-level permissions (PutMetricData is limited to MLPlatform/Rollback by condition), and scalable targets have no ARN before they exist (limited to SageMaker variant counts by the application-autoscaling condition keys).",
      starActions: ['cloudwatch:PutMetricData'],
    });
    const kmsDataKey = {
      finding: /^Action::kms:(GenerateDataKey|ReEncrypt)\*$/,
      reason:
        'KMS data-key actions on the platform key only, granted by CDK for the on-failure destination (the paging topic or the dead-letter queue), usable only through SNS and SQS (key policy).',
    };
    reviewWildcards(this.rollback.role, kmsDataKey, {
      finding: /^Resource::\*$/,
      starActions: [
        'application-autoscaling:DeleteScalingPolicy',
        'application-autoscaling:DeregisterScalableTarget',
        'application-autoscaling:DescribeScalableTargets',
        'application-autoscaling:PutScalingPolicy',
        'application-autoscaling:RegisterScalableTarget',
        'cloudwatch:GetMetricData',
      ],
      reason:
        'Application Auto Scaling: DescribeScalableTargets has no resource-level permissions or condition keys; the others are limited to SageMaker variant instance counts by the service-namespace and scalable-dimension condition keys. cloudwatch:GetMetricData has no resource-level permissions.',
    });
    for (const fn of [this.driftMonitor, this.costMonitor, this.productionSample, this.confidenceBaseline]) {
      // Each alternative is one of this model's prefixes, so a grant on another model's data, or on a
      // whole bucket, is still an unreviewed finding.
      const m = model.name;
      const bucket = (purpose: string) => `[a-z0-9-]+-${purpose}-[0-9]+-[a-z0-9-]+`;
      const prefixes = [
        `${bucket('artifacts')}/models/${m}/(runs|production-samples)`,
        `${bucket('data-capture')}/${m}`,
        `${bucket('dvc-remote')}/${m}/files/md5`,
        `${bucket('prediction-logs')}/model=${m}`,
        `${bucket('athena-results')}/${m}`,
      ];
      reviewWildcards(fn.role, {
        finding: new RegExp(`^Resource::(\\*|arn:${NAG_PARTITION}:s3:::(${prefixes.join('|')})/\\*)$`),
        reason:
          "This model's prefixes only (runs, production samples, data capture, DVC files by md5, its prediction logs and Athena results), and CloudWatch metric calls, which have no resource-level permissions (PutMetricData limited to the monitor's namespace).",
        starActions: ['cloudwatch:GetMetricData', 'cloudwatch:PutMetricData'],
      });
      reviewWildcards(fn.role, kmsDataKey);
    }
  }
}
