import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as appconfig from 'aws-cdk-lib/aws-appconfig';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { ModelConfig, PlatformSettings } from '../../lambdas/core/contracts/config-schema';
import { flagDocumentJsonSchema } from '../../lambdas/core/routing/flags';
import { NAG_PARTITION, reviewWildcards } from '../nag/reviewed-wildcards';
import { PREDICTIONS_TABLE, predictionsDatabaseName, type SharedResources } from '../stacks/shared-stack';
import type { RouterEnvInput } from '../../lambdas/core/contracts/router-env';
import { DeadLetterAlarm } from './dead-letter-alarm';
import { GateFunction } from './gate-function';
import { grantMissingKeyAsNotFound } from './grants';

/** The router's environment, typed by the schema its handler parses. */
const routerEnvironment = (env: Required<Omit<RouterEnvInput, `POWERTOOLS_${string}`>>) => env;

export interface ModelRoutingProps {
  readonly platform: PlatformSettings;
  readonly model: ModelConfig;
  /** Key, prediction-log, Athena-results and artifacts buckets. */
  readonly shared: SharedResources;
  readonly releaseSettings: ssm.IStringParameter;
  /** The live and standby endpoint names (ModelEndpoint). */
  readonly endpointNames: { readonly live: string; readonly standby: string };
}

/** AppConfig names the router and the release stages use; the IDs are CloudFormation's. */
export const FLAG_ENVIRONMENT = 'live';
export const FLAG_PROFILE = 'model-version';

/**
 * Request routing of one model: the model-version feature flag in AppConfig, the router behind
 * an IAM-authorised function URL, lossless prediction logging (Firehose to S3, an SQS fallback
 * that replays itself), and the nightly A/B analysis with Athena.
 *
 * The flag's content is not a CloudFormation resource, for the reason the endpoints are not
 * (docs/serving.md): promotion and rollback change it at run time, and a template-owned version
 * would be redeployed over a rollback by the next `cdk deploy`. CloudFormation owns the
 * application, environment, profile with its JSON Schema validator, and the deployment strategy.
 */
export class ModelRouting extends Construct {
  readonly router: GateFunction;
  readonly url: lambda.FunctionUrl;
  readonly deliveryStream: firehose.CfnDeliveryStream;
  readonly deliveryRole: iam.Role;
  readonly fallbackQueue: sqs.Queue;
  readonly replay: GateFunction;
  readonly analysis: GateFunction;
  readonly application: appconfig.CfnApplication;
  readonly environment: appconfig.CfnEnvironment;
  readonly profile: appconfig.CfnConfigurationProfile;
  readonly deploymentStrategy: appconfig.CfnDeploymentStrategy;
  /** The rollback's own strategy: every router at once, whatever `routing.flagDeployment` says. */
  readonly rollbackDeploymentStrategy: appconfig.CfnDeploymentStrategy;
  /** Athena workgroup of this model's queries (bytes-scanned cutoff, encrypted results). */
  readonly workgroupName: string;
  readonly glueDatabase: string;
  readonly glueTable: string;
  private readonly shared: SharedResources;
  private readonly modelName: string;

  constructor(scope: Construct, id: string, props: ModelRoutingProps) {
    super(scope, id);
    const { platform, model, shared } = props;
    const routing = model.routing;
    const stack = Stack.of(this);
    const prefix = `${platform.name}-${model.name}`;
    this.shared = shared;
    this.modelName = model.name;
    this.workgroupName = `${prefix}-analysis`;
    this.glueDatabase = predictionsDatabaseName(platform);
    this.glueTable = PREDICTIONS_TABLE;

    // ---- Feature flag -------------------------------------------------------------------------
    this.application = new appconfig.CfnApplication(this, 'FlagApplication', {
      name: prefix,
      description: `${model.name}: which model version serves whom (stable, candidate, split, kill switch)`,
    });
    this.environment = new appconfig.CfnEnvironment(this, 'FlagEnvironment', {
      applicationId: this.application.ref,
      name: FLAG_ENVIRONMENT,
      description: 'The environment the router reads.',
    });
    this.profile = new appconfig.CfnConfigurationProfile(this, 'FlagProfile', {
      applicationId: this.application.ref,
      name: FLAG_PROFILE,
      locationUri: 'hosted',
      type: 'AWS.Freeform',
      description:
        'Flag document (lambdas/core/routing/flags.ts); AppConfig refuses a version its schema rejects.',
      validators: [{ type: 'JSON_SCHEMA', content: JSON.stringify(flagDocumentJsonSchema()) }],
    });
    this.deploymentStrategy = new appconfig.CfnDeploymentStrategy(this, 'FlagDeployment', {
      name: `${prefix}-flag`,
      description:
        routing.flagDeployment.durationMinutes === 0
          ? 'All router instances at once: a rollback cannot wait.'
          : `Linear over ${routing.flagDeployment.durationMinutes} minutes.`,
      deploymentDurationInMinutes: routing.flagDeployment.durationMinutes,
      finalBakeTimeInMinutes: routing.flagDeployment.bakeMinutes,
      growthFactor: 100,
      growthType: 'LINEAR',
      replicateTo: 'NONE',
    });
    // A rollback cannot wait for a gradual rollout: its own strategy deploys to every router at once
    // (0 minutes, growth 100 %, no bake: "Total amount of time for a deployment to last", minimum 0,
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-appconfig-deploymentstrategy.html).
    this.rollbackDeploymentStrategy = new appconfig.CfnDeploymentStrategy(this, 'RollbackFlagDeployment', {
      name: `${prefix}-flag-rollback`,
      description: 'Rollbacks: all router instances at once, no bake.',
      deploymentDurationInMinutes: 0,
      finalBakeTimeInMinutes: 0,
      growthFactor: 100,
      growthType: 'LINEAR',
      replicateTo: 'NONE',
    });
    const flagArn = stack.formatArn({
      service: 'appconfig',
      resource: 'application',
      resourceName: `${this.application.ref}/environment/${this.environment.ref}/configuration/${this.profile.ref}`,
    });

    // ---- Prediction logging ---------------------------------------------------------------------
    const hmacKey = new secretsmanager.Secret(this, 'InputHmacKey', {
      secretName: `${prefix}/prediction-input-hmac-key`,
      description: `${model.name}: key of the HMAC that stands in for inputs in the prediction logs`,
      encryptionKey: shared.key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(hmacKey).acknowledge({
      id: 'NIST.800.53.R5-SecretsManagerRotationEnabled',
      reason:
        'Rotating the HMAC key would change every input hash and break joins of prediction logs across the rotation; rotate it deliberately, with a new experiment.',
    });
    Validations.of(hmacKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the HMAC key would change every input hash and break joins of prediction logs across the rotation; rotate it deliberately, with a new experiment.',
    });

    const fallbackDlq = new sqs.Queue(this, 'PredictionLogFallbackDlq', {
      queueName: `${prefix}-prediction-log-fallback-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: shared.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.fallbackQueue = new sqs.Queue(this, 'PredictionLogFallback', {
      queueName: `${prefix}-prediction-log-fallback`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: shared.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.minutes(6),
      deadLetterQueue: { queue: fallbackDlq, maxReceiveCount: 5 },
    });

    new DeadLetterAlarm(this, 'PredictionLogFallbackDeadLetters', {
      queue: fallbackDlq,
      alarmName: `${prefix}-prediction-log-fallback-dead-letters`,
      description: `${model.name}: prediction-log batches the replay could not deliver to Firehose after 5 tries wait in ${prefix}-prediction-log-fallback-dlq (docs/operations.md).`,
      pagingTopic: shared.pagingTopic,
    });

    const firehoseLogs = new logs.LogGroup(this, 'PredictionLogDeliveryLogs', {
      logGroupName: `/aws/kinesisfirehose/${prefix}-predictions`,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const deliveryLogStream = new logs.LogStream(this, 'PredictionLogDeliveryLogStream', {
      logGroup: firehoseLogs,
      logStreamName: 'S3Delivery',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Written out rather than with the L2 DeliveryStream, whose S3 destination grants read, write
    // and delete on the whole bucket: this role may write under this model's prefixes only.
    const deliveryRole = (this.deliveryRole = new iam.Role(this, 'PredictionLogDeliveryRole', {
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': stack.account } },
      }),
      description: `${prefix}: Firehose writes this model's prediction logs`,
    }));
    const logBucket = shared.predictionLogsBucket;
    const dataPrefix = `model=${model.name}/`;
    const errorPrefix = `errors/model=${model.name}/`;
    deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [logBucket.bucketArn],
      }),
    );
    deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [logBucket.arnForObjects(`${dataPrefix}*`), logBucket.arnForObjects(`${errorPrefix}*`)],
      }),
    );
    deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [shared.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.${stack.urlSuffix}` } },
      }),
    );
    deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:PutLogEvents'],
        resources: [
          stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: `${firehoseLogs.logGroupName}:log-stream:${deliveryLogStream.logStreamName}`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    this.deliveryStream = new firehose.CfnDeliveryStream(this, 'PredictionLog', {
      deliveryStreamName: `${prefix}-predictions`,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: {
        keyType: 'CUSTOMER_MANAGED_CMK',
        keyArn: shared.key.keyArn,
      },
      extendedS3DestinationConfiguration: {
        bucketArn: logBucket.bucketArn,
        roleArn: deliveryRole.roleArn,
        // The Glue table's partition projection reads exactly this layout (UTC arrival day).
        prefix: `${dataPrefix}dt=!{timestamp:yyyy-MM-dd}/`,
        errorOutputPrefix: `${errorPrefix}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`,
        bufferingHints: { intervalInSeconds: 60, sizeInMBs: 5 },
        compressionFormat: 'GZIP',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: shared.key.keyArn } },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: firehoseLogs.logGroupName,
          logStreamName: deliveryLogStream.logStreamName,
        },
      },
    });
    // Firehose checks the role when the stream is created.
    this.deliveryStream.node.addDependency(deliveryRole);
    const putRecords = new iam.PolicyStatement({
      actions: ['firehose:PutRecord', 'firehose:PutRecordBatch'],
      resources: [this.deliveryStream.attrArn],
    });

    // ---- Router -------------------------------------------------------------------------------
    const endpointArns = [props.endpointNames.live, props.endpointNames.standby].map((n) =>
      stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: n }),
    );
    this.router = new GateFunction(this, 'Router', {
      handler: 'router',
      functionName: `${prefix}-router`,
      description: `${model.name}: routes a request to the model version its flag says, logs the prediction`,
      environment: routerEnvironment({
        MODEL_NAME: model.name,
        EXPERIMENT: routing.experiment,
        LIVE_ENDPOINT: props.endpointNames.live,
        STANDBY_ENDPOINT: props.endpointNames.standby,
        APPCONFIG_APPLICATION: prefix,
        APPCONFIG_ENVIRONMENT: FLAG_ENVIRONMENT,
        APPCONFIG_PROFILE: FLAG_PROFILE,
        FLAG_CACHE_SECONDS: String(routing.flagCacheSeconds),
        ROUTER_TIMEOUT_MS: String(routing.timeoutMs),
        ROUTER_RETRIES: String(routing.retries),
        HMAC_SECRET_ARN: hmacKey.secretArn,
        DELIVERY_STREAM_NAME: this.deliveryStream.ref,
        FALLBACK_QUEUE_URL: this.fallbackQueue.queueUrl,
      }),
      // Every attempt may take the full timeout; the log flush after the response needs a little more.
      timeout: Duration.millis(routing.timeoutMs * (routing.retries + 1) + 10_000),
      // A full vCPU at 1769 MB; hashing and JSON are CPU-bound and this path is user-facing.
      memorySize: 1769,
      reservedConcurrentExecutions: routing.reservedConcurrency,
    });
    this.url = this.router.function.addFunctionUrl({
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      // The response streams back before the prediction log is flushed: logging adds no latency.
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });
    const routerRole = this.router.role;
    routerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:InvokeEndpoint'], resources: endpointArns }),
    );
    routerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'],
        resources: [flagArn],
      }),
    );
    hmacKey.grantRead(routerRole);
    routerRole.addToPolicy(putRecords);
    this.fallbackQueue.grantSendMessages(routerRole);

    // ---- Replay of the fallback queue ---------------------------------------------------------
    this.replay = new GateFunction(this, 'PredictionLogReplay', {
      handler: 'prediction-replay',
      functionName: `${prefix}-prediction-log-replay`,
      description: `${model.name}: re-sends predictions that Firehose refused to Firehose`,
      environment: { DELIVERY_STREAM_NAME: this.deliveryStream.ref },
      timeout: Duration.minutes(1),
    });
    this.replay.function.addEventSource(
      new sources.SqsEventSource(this.fallbackQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(20),
        reportBatchItemFailures: true,
      }),
    );
    this.replay.role.addToPolicy(putRecords);

    // ---- Nightly analysis ---------------------------------------------------------------------
    const workgroup = new athena.CfnWorkGroup(this, 'AnalysisWorkgroup', {
      name: this.workgroupName,
      description: `${model.name}: nightly A/B analysis of the prediction logs`,
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: routing.analysis.maxScannedGb * 1_000_000_000,
        resultConfiguration: {
          outputLocation: `s3://${shared.athenaResultsBucket.bucketName}/${model.name}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: shared.key.keyArn },
        },
      },
    });
    this.analysis = new GateFunction(this, 'Analysis', {
      handler: 'ab-analysis',
      functionName: `${prefix}-ab-analysis`,
      description: `${model.name}: nightly per-variant statistics of the prediction logs`,
      timeout: Duration.minutes(15),
      environment: {
        RELEASE_SETTINGS_PARAMETER: props.releaseSettings.parameterName,
        ARTIFACTS_BUCKET: shared.artifactsBucket.bucketName,
        ATHENA_WORKGROUP: workgroup.name,
        GLUE_DATABASE: this.glueDatabase,
        GLUE_TABLE: this.glueTable,
      },
    });
    const analysisRole = this.analysis.role;
    props.releaseSettings.grantRead(analysisRole);
    this.grantAnalysisQueries(analysisRole);
    // It writes each night's report and reads the previous night's (which spares most of the scan).
    analysisRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [shared.artifactsBucket.arnForObjects(`models/${model.name}/ab/*`)],
      }),
    );
    grantMissingKeyAsNotFound(analysisRole, shared.artifactsBucket);
    analysisRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [shared.key.keyArn],
      }),
    );
    analysisRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': 'MLPlatform/AB' } },
      }),
    );
    // No AppConfig access: the analysis reads the split each request was routed by from the
    // prediction log, so an old day is analysed with the flag of that day, not today's.

    const analysisDlq = new sqs.Queue(this, 'AnalysisDlq', {
      queueName: `${prefix}-ab-analysis-dlq`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: shared.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    new DeadLetterAlarm(this, 'AnalysisDeadLetters', {
      queue: analysisDlq,
      alarmName: `${prefix}-ab-analysis-dead-letters`,
      description: `${model.name}: the nightly A/B analysis failed for good; the message in ${prefix}-ab-analysis-dlq says why (docs/operations.md).`,
      pagingTopic: shared.pagingTopic,
    });
    // The schedule invokes asynchronously: a failed run lands in the same queue after Lambda's retries.
    this.analysis.function.configureAsyncInvoke({ onFailure: new destinations.SqsDestination(analysisDlq) });
    Validations.of(analysisDlq).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the nightly schedule (EventBridge Scheduler), which cdk-nag does not see.',
    });
    const schedulerRole = new iam.Role(this, 'NightlyAnalysisRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `${prefix}: EventBridge Scheduler starts the nightly A/B analysis`,
    });
    reviewWildcards(schedulerRole, {
      finding: /^Resource::<[A-Za-z0-9]+Function[A-Za-z0-9]+\.Arn>:\*$/,
      reason: 'Invoking the analysis function includes its versions and aliases (ARN suffix :*).',
    });
    new scheduler.Schedule(this, 'NightlyAnalysis', {
      scheduleName: `${prefix}-ab-analysis`,
      description: `${model.name}: A/B analysis of yesterday's prediction logs (UTC)`,
      schedule: scheduler.ScheduleExpression.expression(routing.analysis.schedule),
      target: new schedulerTargets.LambdaInvoke(this.analysis.function, {
        input: scheduler.ScheduleTargetInput.fromObject({ model: model.name }),
        retryAttempts: 2,
        deadLetterQueue: analysisDlq,
        role: schedulerRole,
      }),
    });

    new CfnOutput(this, 'RouterUrl', {
      value: this.url.url,
      description: `${model.name}: POST {"userId", "input"} here, signed with SigV4 (service lambda).`,
    });
    new CfnOutput(this, 'FlagApplicationId', {
      value: this.application.ref,
      description: `${model.name}: AppConfig application of the model-version flag.`,
    });

    this.reviewWildcards(model.name);
  }

  /**
   * What running an Athena query over this model's prediction logs takes: the workgroup, the
   * Glue table, reading the logs and writing results, under this model's prefixes only.
   */
  grantAnalysisQueries(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
        ],
        resources: [
          Stack.of(this).formatArn({
            service: 'athena',
            resource: 'workgroup',
            resourceName: this.workgroupName,
          }),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartitions'],
        resources: [
          Stack.of(this).formatArn({ service: 'glue', resource: 'catalog' }),
          Stack.of(this).formatArn({
            service: 'glue',
            resource: 'database',
            resourceName: this.glueDatabase,
          }),
          Stack.of(this).formatArn({
            service: 'glue',
            resource: 'table',
            resourceName: `${this.glueDatabase}/${this.glueTable}`,
          }),
        ],
      }),
    );
    // Athena reads this model's logs and writes its results with the caller's rights.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.shared.predictionLogsBucket.arnForObjects(`model=${this.modelName}/*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket', 's3:GetBucketLocation'],
        resources: [this.shared.predictionLogsBucket.bucketArn, this.shared.athenaResultsBucket.bucketArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [this.shared.athenaResultsBucket.arnForObjects(`${this.modelName}/*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [this.shared.key.keyArn],
      }),
    );
  }

  private reviewWildcards(model: string): void {
    const p = NAG_PARTITION;
    const bucket = (purpose: string) => `[a-z0-9-]+-${purpose}-[0-9]+-[a-z0-9-]+`;
    reviewWildcards(this.analysis.role, {
      finding: new RegExp(
        `^Resource::arn:${p}:s3:::(${bucket('prediction-logs')}/model=${model}|${bucket('athena-results')}/${model}|${bucket('artifacts')}/models/${model}/ab)/\\*$`,
      ),
      reason: `This model's prediction logs, its Athena results and its A/B reports; keys carry the day.`,
    });
    reviewWildcards(this.analysis.role, {
      finding: /^Resource::\*$/,
      starActions: ['cloudwatch:PutMetricData'],
      reason:
        'cloudwatch:PutMetricData has no resource-level permissions; a condition limits it to the MLPlatform/AB namespace.',
    });
    reviewWildcards(this.analysis.role, {
      finding: /^Action::kms:(GenerateDataKey|ReEncrypt)\*$/,
      reason:
        'KMS data-key actions on the platform key only, granted by CDK for the dead-letter queue of failed runs (usable only through SQS: key policy).',
    });
    reviewWildcards(this.deliveryRole, {
      finding: new RegExp(
        `^Resource::arn:${p}:s3:::${bucket('prediction-logs')}/(errors/)?model=${model}/\\*$`,
      ),
      reason: `Firehose writes objects it names itself, under this model's log and error prefixes only.`,
    });
    for (const fn of [this.router, this.replay]) {
      reviewWildcards(fn.role, {
        finding: /^Action::kms:(GenerateDataKey|ReEncrypt)\*$/,
        reason:
          'KMS data-key actions, granted by CDK on the platform key only (Firehose and SQS encryption).',
      });
    }
  }
}
