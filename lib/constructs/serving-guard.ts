import { CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';
import type { ServingGuardProperties } from '../../lambdas/core/serving/serving-guard';
import { reviewWildcards } from '../nag/reviewed-wildcards';
import type { ModelConfig, PlatformSettings } from '../../lambdas/core/contracts/config-schema';
import { GateFunction } from './gate-function';

export interface ServingGuardProps {
  readonly platform: PlatformSettings;
  readonly model: ModelConfig;
  /** The live and standby endpoints the release path creates for the model. */
  readonly endpointNames: { readonly live: string; readonly standby: string };
}

/**
 * The custom resource that keeps a model stack from orphaning or deleting serving endpoints by
 * accident (lambdas/core/serving/serving-guard.ts): with `serving.retired: true` a deploy deletes the
 * endpoints; a stack deletion is refused while one still serves.
 *
 * Why a custom resource: the endpoints are not CloudFormation resources (docs/serving.md), so no
 * DeletionPolicy, stack policy or termination protection can see them. Termination protection
 * (lib/platform.ts) refuses `delete-stack` on a model that is not retired; but the CDK CLI lifts it
 * before it executes the change set that retires the model, so if that deploy fails the stack is
 * unprotected while the endpoints still serve. The guard covers that gap and a person who lifts
 * the protection by hand.
 */
export class ServingGuard extends Construct {
  readonly function: GateFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ServingGuardProps) {
    super(scope, id);
    const { platform, model } = props;
    const stack = Stack.of(this);
    const prefix = `${platform.name}-${model.name}`;
    const retired = model.serving.retired;
    this.function = new GateFunction(this, 'Function', {
      handler: 'serving-guard',
      functionName: `${prefix}-serving-guard`,
      description: `${model.name}: deletes the endpoints of a retired model; refuses a stack deletion while they serve`,
      environment: {},
      timeout: Duration.minutes(2),
      memorySize: 256,
    });
    Validations.of(this.function.function).acknowledge({
      id: 'NIST.800.53.R5-LambdaDLQ',
      reason:
        "Invoked by CloudFormation as a custom resource: every outcome, a failure included, is answered on the request's response URL and shown in the stack events, and a failure fails the deploy where the operator looks; a dead-letter copy of the request could not answer it.",
    });
    const endpoints = [props.endpointNames.live, props.endpointNames.standby];
    const endpointArns = endpoints.map((name) =>
      stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: name }),
    );
    const role = this.function.role;
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint'], resources: endpointArns }),
    );
    // Only a retired model's guard may delete: a model that serves has a guard that cannot.
    if (retired) {
      role.addToPolicy(
        new iam.PolicyStatement({ actions: ['sagemaker:DeleteEndpoint'], resources: endpointArns }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'application-autoscaling:DescribeScalableTargets',
            'application-autoscaling:DeregisterScalableTarget',
          ],
          resources: ['*'],
          // SageMaker variants' instance counts only, not any other service's scalable targets:
          // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsapplicationautoscaling.html
          conditions: {
            StringEquals: {
              'application-autoscaling:service-namespace': 'sagemaker',
              'application-autoscaling:scalable-dimension': 'sagemaker:variant:DesiredInstanceCount',
            },
          },
        }),
      );
      // Before it deletes, the guard checks that callers stopped (the endpoints' recent Invocations).
      // GetMetricData supports no resource-level permissions:
      // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
      role.addToPolicy(new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }));
      reviewWildcards(role, {
        finding: /^Resource::\*$/,
        starActions: [
          'application-autoscaling:DeregisterScalableTarget',
          'application-autoscaling:DescribeScalableTargets',
          'cloudwatch:GetMetricData',
        ],
        reason:
          'A scalable target ARN carries a generated id, not the endpoint name; the statement is conditioned on the sagemaker namespace and the variant instance-count dimension. cloudwatch:GetMetricData has no resource-level permissions; it only reads metrics.',
      });
    }
    const properties: Omit<ServingGuardProperties, 'ServiceToken'> = {
      Model: model.name,
      StackName: stack.stackName,
      CdkStackId: stack.artifactId,
      // CloudFormation hands custom resources strings.
      Retired: retired ? 'true' : 'false',
      Endpoints: endpoints,
    };
    // CloudFormation invokes the function itself and waits for its answer on the request's URL:
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources-lambda.html
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.function.functionArn,
      resourceType: 'Custom::ServingGuard',
      properties,
    });
  }

  /**
   * Makes the guard depend on everything else in the model stack: CloudFormation deletes a stack's
   * resources in reverse order of their dependencies, so the guard is deleted first and a refusal
   * leaves the rest in place; on an update it runs last, after the pipelines and alarms are stopped.
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html
   */
  runAfter(...constructs: IConstruct[]): void {
    this.resource.node.addDependency(...constructs);
  }
}
