import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PlatformSettings } from '../../lambdas/core/contracts/config-schema';
import { PagingDelivery, pagingTopicName } from '../constructs/paging-delivery';
import { platformKeyPolicy } from './platform-key-policy';

export type SharedBucketPurpose =
  'access-logs' | 'dvc-remote' | 'artifacts' | 'prediction-logs' | 'data-capture' | 'athena-results';

/** Prefix, in the access-log bucket, of the access logs of every pipeline artifact store. */
export const PIPELINE_ARTIFACTS_LOG_PREFIX = 'pipeline-artifacts/';

/** `<platform>-<purpose>-<account>-<region>`: readable in the console, unique across accounts. */
export function sharedBucketName(platform: PlatformSettings, purpose: SharedBucketPurpose): string {
  return `${platform.name}-${purpose}-${platform.environment.account}-${platform.environment.region}`;
}

/** Glue database of the prediction logs (Glue names: lower case and underscores). */
export function predictionsDatabaseName(platform: PlatformSettings): string {
  return `${platform.name.replace(/-/g, '_')}_predictions`;
}

export const PREDICTIONS_TABLE = 'predictions';

/** Columns of a prediction log line, as the router writes them (lambdas/core/routing/prediction-record.ts). */
export const PREDICTION_COLUMNS: readonly (readonly [string, string])[] = [
  ['request_id', 'string'],
  ['ts', 'string'],
  ['model_version', 'string'],
  ['variant', 'string'],
  ['endpoint', 'string'],
  ['routed_by', 'string'],
  ['active_flags', 'array<string>'],
  ['user_bucket', 'int'],
  ['input_hmac', 'string'],
  ['label', 'string'],
  ['confidence', 'double'],
  ['latency_ms', 'double'],
  ['error', 'string'],
  ['inference_id', 'string'],
];

export interface SharedStackProps extends StackProps {
  /** The validated platform settings (`config/platform.yaml`). */
  readonly platform: PlatformSettings;
}

/** The shared resources every model stack receives. */
export interface SharedResources {
  readonly key: kms.IKey;
  /** DVC remote: eval sets and references, content-addressed by md5, immutable once written. */
  readonly dvcRemoteBucket: s3.IBucket;
  /** Baselines, eval reports, gate decisions and release records. */
  readonly artifactsBucket: s3.IBucket;
  /** Every prediction the router serves, for Athena and the drift monitor. */
  readonly predictionLogsBucket: s3.IBucket;
  /** SageMaker endpoint data capture. */
  readonly dataCaptureBucket: s3.IBucket;
  /** Target of S3 server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /** Athena query results of the nightly analysis: short-lived. */
  readonly athenaResultsBucket: s3.IBucket;
  /** On-call paging: alarms and rollbacks publish here. */
  readonly pagingTopic: sns.ITopic;
}

/**
 * The platform's shared stack: one customer-managed key, the buckets every model uses, and the
 * on-call paging topic. Data stores are retained on stack deletion: eval sets, release records
 * and prediction logs outlive any stack.
 */
export class SharedStack extends Stack implements SharedResources {
  readonly key: kms.Key;
  readonly dvcRemoteBucket: s3.Bucket;
  readonly artifactsBucket: s3.Bucket;
  readonly predictionLogsBucket: s3.Bucket;
  readonly dataCaptureBucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;
  readonly athenaResultsBucket: s3.Bucket;
  readonly pagingTopic: sns.Topic;
  /** Pages SNS could not deliver; an alarm pages when one arrives. */
  readonly pagingDeadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: SharedStackProps) {
    super(scope, id, props);
    const { platform } = props;
    const { storage } = platform;
    const prefix = platform.name;

    this.key = new kms.Key(this, 'PlatformKey', {
      alias: `alias/${prefix}/platform`,
      description: `${prefix}: encrypts eval sets, artifacts, prediction logs, data capture, logs and paging`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
      policy: platformKeyPolicy(this, {
        platformName: prefix,
        pagingTopicArn: this.formatArn({ service: 'sns', resource: pagingTopicName(prefix) }),
      }),
    });

    const bucketName = (purpose: SharedBucketPurpose) => sharedBucketName(platform, purpose);

    // S3 server access logging cannot deliver to an SSE-KMS bucket, so this one bucket uses
    // SSE-S3: https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      bucketName: bucketName('access-logs'),
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(storage.accessLogs.expireAfterDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    const dataBucket = (id: string, purpose: SharedBucketPurpose, extra: Partial<s3.BucketProps>) =>
      new s3.Bucket(this, id, {
        bucketName: bucketName(purpose),
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.key,
        bucketKeyEnabled: true, // one KMS call per object batch, not per object: cost
        enforceSSL: true,
        minimumTLSVersion: 1.2,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned: true,
        serverAccessLogsBucket: this.accessLogsBucket,
        serverAccessLogsPrefix: `${purpose}/`,
        removalPolicy: RemovalPolicy.RETAIN,
        ...extra,
      });

    // Datasets and release records are immutable once written: every version is locked for the
    // configured retention, and superseded versions are kept (moved to cheaper storage).
    const retention =
      storage.datasetRetention.mode === 'COMPLIANCE'
        ? s3.ObjectLockRetention.compliance(Duration.days(storage.datasetRetention.days))
        : s3.ObjectLockRetention.governance(Duration.days(storage.datasetRetention.days));
    const keepHistory: s3.LifecycleRule = {
      id: 'keep-history-in-infrequent-access',
      noncurrentVersionTransitions: [
        {
          storageClass: s3.StorageClass.INFREQUENT_ACCESS,
          transitionAfter: Duration.days(storage.noncurrentVersions.infrequentAccessAfterDays),
        },
      ],
      abortIncompleteMultipartUploadAfter: Duration.days(7),
    };

    this.dvcRemoteBucket = dataBucket('DvcRemote', 'dvc-remote', {
      objectLockEnabled: true,
      objectLockDefaultRetention: retention,
      lifecycleRules: [keepHistory],
    });
    this.artifactsBucket = dataBucket('Artifacts', 'artifacts', {
      objectLockEnabled: true,
      objectLockDefaultRetention: retention,
      lifecycleRules: [keepHistory],
    });
    this.predictionLogsBucket = dataBucket('PredictionLogs', 'prediction-logs', {
      lifecycleRules: [
        {
          id: 'tier-then-expire-prediction-logs',
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(storage.predictionLogs.infrequentAccessAfterDays),
            },
          ],
          expiration: Duration.days(storage.predictionLogs.expireAfterDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
    this.dataCaptureBucket = dataBucket('DataCapture', 'data-capture', {
      lifecycleRules: [
        {
          id: 'expire-data-capture',
          expiration: Duration.days(storage.dataCapture.expireAfterDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });

    // Each pipeline of each model has its own artifact store in its model stack (one shared store
    // let a pull request's build write what another model's release read). S3 delivers their
    // access logs here; the source-account and source-ARN conditions are the ones the S3 guide gives:
    // https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    this.accessLogsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogsOfPipelineArtifactStores',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.accessLogsBucket.arnForObjects(`${PIPELINE_ARTIFACTS_LOG_PREFIX}*`)],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': `arn:${this.partition}:s3:::${prefix}-*` },
        },
      }),
    );

    this.athenaResultsBucket = dataBucket('AthenaResults', 'athena-results', {
      lifecycleRules: [
        {
          id: 'expire-athena-results',
          expiration: Duration.days(storage.athenaResults.expireAfterDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });

    // Replication is a disaster-recovery choice of the platform team (a second region, its own key
    // and its own cost), not a default; each bucket says why one region is enough for what it holds.
    const singleRegion: [s3.Bucket, string][] = [
      [
        this.accessLogsBucket,
        'S3 server access logs, kept for the configured days for investigation; a copy in a second region adds cost, not recovery.',
      ],
      [
        this.dvcRemoteBucket,
        'Eval sets are versioned and Object-Locked (no version can be deleted or overwritten during retention) and each is pinned by md5 in the model repository, where its source lives; replicate it in a second region if the platform must survive a regional loss.',
      ],
      [
        this.artifactsBucket,
        'Release records, baselines and archives are versioned and Object-Locked; a release can be rebuilt from its pinned data and commit. Replicate it in a second region if the platform must survive a regional loss.',
      ],
      [
        this.predictionLogsBucket,
        'Prediction logs expire after the configured days and serve monitoring in this region; losing a region loses the endpoints they describe too.',
      ],
      [
        this.dataCaptureBucket,
        'Data capture expires after the configured days and is sampled for evaluation; it is re-created by live traffic.',
      ],
      [
        this.athenaResultsBucket,
        'Athena query results, re-created by the next query and expired after the configured days.',
      ],
    ];
    for (const [bucket, reason] of singleRegion) {
      Validations.of(bucket).acknowledge({ id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason });
    }
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
      reason:
        'S3 server access logging cannot deliver to a bucket encrypted with SSE-KMS: https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html',
    });

    // One table over every model's prediction logs; partition projection computes partitions
    // from the query (model = ..., dt = ...), so nothing has to crawl or add partitions.
    const database = new glue.CfnDatabase(this, 'PredictionsDatabase', {
      catalogId: this.account,
      databaseInput: {
        name: predictionsDatabaseName(platform),
        description: `${prefix}: prediction logs of every model, written by the routers through Firehose`,
      },
    });
    const table = new glue.CfnTable(this, 'PredictionsTable', {
      catalogId: this.account,
      databaseName: predictionsDatabaseName(platform),
      tableInput: {
        name: PREDICTIONS_TABLE,
        description:
          'One JSON line per prediction (lambdas/core/routing/prediction-record.ts); partitioned by model and UTC day.',
        tableType: 'EXTERNAL_TABLE',
        partitionKeys: [
          { name: 'model', type: 'string' },
          { name: 'dt', type: 'string' },
        ],
        parameters: {
          classification: 'json',
          'projection.enabled': 'true',
          'projection.model.type': 'injected',
          'projection.dt.type': 'date',
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': '2026-01-01,NOW',
          'projection.dt.interval': '1',
          'projection.dt.interval.unit': 'DAYS',
          'storage.location.template': `s3://${this.predictionLogsBucket.bucketName}/model=\${model}/dt=\${dt}/`,
        },
        storageDescriptor: {
          location: `s3://${this.predictionLogsBucket.bucketName}/`,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: {
            serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
            parameters: { 'ignore.malformed.json': 'true' },
          },
          columns: PREDICTION_COLUMNS.map(([name, type]) => ({ name, type })),
        },
      },
    });
    table.addResourceDependency(database);

    this.pagingTopic = new sns.Topic(this, 'Paging', {
      topicName: pagingTopicName(prefix),
      displayName: `${prefix} ML platform on-call`,
      masterKey: this.key,
      enforceSSL: true,
    });
    const paging = new PagingDelivery(this, 'PagingDelivery', {
      topic: this.pagingTopic,
      platformName: prefix,
      subscriptions: platform.paging.subscriptions,
      key: this.key,
    });
    this.pagingDeadLetterQueue = paging.deadLetterQueue;

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description, exportName: `${prefix}-${id}` });
    output('PlatformKeyArn', this.key.keyArn, 'KMS key that encrypts every platform data store.');
    output(
      'DvcRemoteBucketName',
      this.dvcRemoteBucket.bucketName,
      'DVC remote: set `dvc remote add -d platform s3://<this>`.',
    );
    output(
      'ArtifactsBucketName',
      this.artifactsBucket.bucketName,
      'Baselines, eval reports, release records.',
    );
    output('PredictionLogsBucketName', this.predictionLogsBucket.bucketName, 'Prediction logs (Athena).');
    output('DataCaptureBucketName', this.dataCaptureBucket.bucketName, 'SageMaker data capture.');
    output(
      'AccessLogsBucketName',
      this.accessLogsBucket.bucketName,
      'S3 server access logs of the platform buckets.',
    );
    output('PagingTopicArn', this.pagingTopic.topicArn, 'On-call paging topic.');
  }
}
