import { CfnResource, RemovalPolicy, Validations, type IAspect } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { FIRST_STAGE_AFTER_SOURCE, RETIRED_TRANSITION_REASON } from '../../lambdas/core/contracts/retirement';

/** Resource types that hold data or records: kept when a retired model's stack is deleted. */
const KEPT: readonly (new (...args: never[]) => CfnResource)[] = [
  logs.CfnLogGroup,
  s3.CfnBucket,
  dynamodb.CfnTable,
  sqs.CfnQueue,
  secretsmanager.CfnSecret,
];

/**
 * What `serving.retired: true` does to a model stack besides deleting its endpoints (the serving
 * guard does that): nothing of the model runs any more, and nothing it wrote is lost when the stack
 * is deleted.
 *
 * - Both pipelines stop after Source (an inbound transition disabled by CloudFormation), so no
 *   GPU evaluation runs and nothing is released.
 * - Every alarm keeps its state but calls no action (no page, no rollback); every EventBridge rule
 *   and schedule is disabled (no monitor runs against endpoints that are gone).
 * - Log groups, buckets, tables, queues and secrets get DeletionPolicy Retain, which also holds when
 *   the stack is deleted: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
 *
 * Un-retiring (removing the key) and deploying puts all of it back.
 */
export class RetiredModel implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof cloudwatch.CfnAlarm || node instanceof cloudwatch.CfnCompositeAlarm) {
      node.actionsEnabled = false;
      Validations.of(node).acknowledge({
        id: 'NIST.800.53.R5-CloudWatchAlarmAction',
        reason:
          'The model is retired (serving.retired): its endpoints are deleted, so its alarms keep their history but call no action; removing the key and deploying arms them again.',
      });
    } else if (node instanceof events.CfnRule) {
      node.state = 'DISABLED';
    } else if (node instanceof scheduler.CfnSchedule) {
      node.state = 'DISABLED';
    } else if (node instanceof codepipeline.CfnPipeline) {
      node.addPropertyOverride('DisableInboundStageTransitions', [
        { StageName: FIRST_STAGE_AFTER_SOURCE, Reason: RETIRED_TRANSITION_REASON },
      ]);
    }
    if (KEPT.some((type) => node instanceof type)) {
      (node as CfnResource).applyRemovalPolicy(RemovalPolicy.RETAIN);
    }
  }
}
