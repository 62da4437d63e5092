import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLetterAlarmProps {
  readonly queue: sqs.IQueue;
  /** Alarm name; starts with `<platform>-` so the paging topic accepts it. */
  readonly alarmName: string;
  /** What lands in the queue and what the on-call should do, in a sentence. */
  readonly description: string;
  readonly pagingTopic: sns.ITopic;
}

/**
 * Pages as soon as one message waits in a dead-letter queue: a dead letter is work that failed for
 * good (a monitor that did not run, an analysis that was not published, a page not delivered), and a
 * queue nobody watches only hides it.
 */
export class DeadLetterAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterAlarmProps) {
    super(scope, id);
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmName: props.alarmName,
      alarmDescription: props.description,
      metric: props.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new cwActions.SnsAction(props.pagingTopic));
  }
}
