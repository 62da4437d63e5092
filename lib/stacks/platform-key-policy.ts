/**
 * The platform key's policy: administration apart from use, and every use bound to a service and a
 * source. Replaces CDK's default statement (account root, `kms:*`), under which any principal an IAM
 * policy allowed could decrypt anything the key protects, directly, with no service in between.
 *
 * Key policies: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 * `kms:ViaService`: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Services through which the platform's roles use the key. Each encrypts on the caller's behalf, so
 * the caller also needs that service's own permission on the resource (a bucket prefix, a topic, a
 * queue, a secret, a table): the key adds no access of its own.
 */
export const KEY_USE_SERVICES = [
  's3', // buckets: DVC remote, artifacts, prediction logs, data capture, pipeline artifacts, Athena results
  'sns', // publishing to the encrypted paging topic
  'sqs', // dead-letter queues
  'secretsmanager', // the router's input HMAC key, the GitHub token
  'dynamodb', // rollback ledger
  'firehose', // prediction-log delivery stream
  'codebuild', // build output artifacts of the evaluation and code-quality projects
] as const;

/** Key administration, without any cryptographic use (Encrypt, Decrypt, ReEncrypt, GenerateDataKey). */
export const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
] as const;

export interface PlatformKeyPolicyProps {
  /** Platform name: every alarm and log group of the platform starts with `<name>-`. */
  readonly platformName: string;
  /**
   * ARN of the paging topic, the one source of messages into the paging dead-letter queue. Built
   * from the topic's name: a reference would be circular (the topic is encrypted with this key).
   */
  readonly pagingTopicArn: string;
}

/** The statements of the platform key's policy (`*` as resource in a key policy means this key). */
export function platformKeyPolicy(stack: Stack, props: PlatformKeyPolicyProps): iam.PolicyDocument {
  const { account, region, partition } = stack;
  const root = new iam.AccountRootPrincipal();
  const logGroupArn = (name: string) => `arn:${partition}:logs:${region}:${account}:log-group:${name}`;
  return new iam.PolicyDocument({
    statements: [
      // Administration goes to whoever the account's IAM policies name (the deploy role, key
      // administrators); it includes no cryptographic use, so administering is not reading.
      new iam.PolicyStatement({
        sid: 'KeyAdministrationWithoutUse',
        principals: [root],
        actions: [...KEY_ADMIN_ACTIONS],
        resources: ['*'],
      }),
      // Use by this account's principals, only through the platform's services: a role that may
      // kms:Decrypt cannot decrypt a blob directly; it reads data through a service that checks that
      // role's permission on the resource as well.
      new iam.PolicyStatement({
        sid: 'KeyUseOnlyThroughPlatformServices',
        principals: [root],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:CallerAccount': account,
            'kms:ViaService': KEY_USE_SERVICES.map((s) => `${s}.${region}.amazonaws.com`),
          },
        },
      }),
      // SageMaker (endpoint volumes and data capture), DynamoDB and Firehose hold the key through
      // grants they create when a principal of this account creates the resource.
      new iam.PolicyStatement({
        sid: 'GrantsOnlyForAwsResources',
        principals: [root],
        actions: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:CallerAccount': account },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      }),
      // CloudWatch alarms publish to the encrypted paging topic: only this account's alarms of this
      // platform. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisPlatformPublishToPaging',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: {
            'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:${props.platformName}-*`,
          },
        },
      }),
      // SNS moves undeliverable pages into the encrypted dead-letter queue: only from the paging topic.
      // https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html
      new iam.PolicyStatement({
        sid: 'PagingTopicWritesItsDeadLetterQueue',
        principals: [new iam.ServicePrincipal('sns.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnEquals: { 'aws:SourceArn': props.pagingTopicArn },
        },
      }),
      // CloudWatch Logs encrypts the platform's log groups, bound by the encryption context to them.
      // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsEncryptsPlatformLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': PLATFORM_LOG_GROUP_PREFIXES.map((p) =>
              logGroupArn(`${p}${props.platformName}-*`),
            ),
          },
        },
      }),
    ],
  });
}

/** Where the platform's log groups live; each name continues with `<platform>-`. */
export const PLATFORM_LOG_GROUP_PREFIXES = [
  '/aws/lambda/',
  '/aws/codebuild/',
  '/aws/kinesisfirehose/',
  '/aws/sagemaker/Endpoints/',
] as const;
