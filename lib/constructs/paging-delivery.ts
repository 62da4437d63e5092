import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PlatformSettings } from '../../lambdas/core/contracts/config-schema';
import { DeadLetterAlarm } from './dead-letter-alarm';

export interface PagingDeliveryProps {
  /** The paging topic, named by `pagingTopicName`. */
  readonly topic: sns.Topic;
  /** Platform name: only alarms named `<name>-*` may publish. */
  readonly platformName: string;
  readonly subscriptions: PlatformSettings['paging']['subscriptions'];
  /** Encrypts the dead-letter queue (the topic's key). */
  readonly key: kms.IKey;
}

/** `<platform>-paging`: a name, so the key policy can name the topic without a circular reference. */
export function pagingTopicName(platformName: string): string {
  return `${platformName}-paging`;
}

/**
 * What makes a page on the on-call topic provably get somewhere:
 * - its policy allows CloudWatch to publish, for this account's alarms of this platform only (a
 *   topic policy written by CDK replaces SNS's default policy, which alone would let alarms publish);
 * - every subscription has a dead-letter queue, so a page SNS could not deliver is kept, not dropped;
 * - an alarm watches each dead-letter queue and pages through the other subscriptions.
 */
export class PagingDelivery extends Construct {
  /** Pages SNS gave up delivering, one queue for every subscription. */
  readonly deadLetterQueue: sqs.Queue;
  /** In ALARM while any undeliverable page waits in the dead-letter queue. */
  readonly undeliveredAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: PagingDeliveryProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { topic } = props;
    const name = pagingTopicName(props.platformName);
    // https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html (aws:SourceAccount,
    // aws:SourceArn): the confused-deputy guard for a service principal.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisPlatformPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${props.platformName}-*`,
          },
        },
      }),
    );

    // SNS retries an e-mail, SMS or HTTPS subscriber, then discards the message unless the
    // subscription has a dead-letter queue: https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: `${name}-undelivered`,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the paging subscriptions (their redrive policy).',
    });
    for (const sub of props.subscriptions) {
      const options = { deadLetterQueue: this.deadLetterQueue };
      topic.addSubscription(
        sub.protocol === 'email'
          ? new subscriptions.EmailSubscription(sub.endpoint, options)
          : sub.protocol === 'https'
            ? new subscriptions.UrlSubscription(sub.endpoint, {
                ...options,
                protocol: sns.SubscriptionProtocol.HTTPS,
              })
            : new subscriptions.SmsSubscription(sub.endpoint, options),
      );
    }
    // Through the same topic: a subscriber that failed is rarely the only one.
    this.undeliveredAlarm = new DeadLetterAlarm(this, 'Undelivered', {
      queue: this.deadLetterQueue,
      alarmName: `${name}-undelivered`,
      description:
        'A page could not be delivered to one subscriber and is kept in the dead-letter queue: check the subscriptions (docs/security.md, "Paging").',
      pagingTopic: topic,
    }).alarm;
  }
}
