/**
 * Serving guard: the custom resource of a model stack that deletes a retired model's endpoints and
 * refuses a stack deletion while an endpoint still serves (lambdas/core/serving/serving-guard.ts decides).
 *
 * CloudFormation invokes it directly (the function is the resource's service token) and waits for
 * the answer on the request's pre-signed ResponseURL: every path, a failure included, answers, or
 * the stack would wait an hour for it.
 */
import {
  ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DeleteEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { scalableTargetResourceId } from '../core/serving/endpoint-spec';
import {
  customResourceEventSchema,
  guardPhysicalId,
  guardResponse,
  planServingGuard,
  RECENT_TRAFFIC_MINUTES,
  type CustomResourceEvent,
  type EndpointSeen,
  type GuardResponse,
} from '../core/serving/serving-guard';
import { lazy } from '../shared/lazy';
import { logger } from '../shared/logger';
import { describeEndpoint, isNotFound } from '../shared/serving';

/** Everything external the handler touches; tests pass their own. */
export interface Deps {
  readonly sagemaker: SageMakerClient;
  readonly autoscaling: ApplicationAutoScalingClient;
  /** The endpoints' recent Invocations, before a retiring deploy deletes them. */
  readonly cloudwatch: CloudWatchClient;
  readonly now: () => Date;
  /** PUTs the response to CloudFormation's pre-signed URL. */
  readonly respond: (url: string, body: GuardResponse) => Promise<void>;
}

/**
 * The pre-signed URL is signed without a content type, so none is sent (as AWS's cfn-response
 * module does): https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-lambda-function-code-cfnresponsemodule.html
 */
async function putResponse(url: string, body: GuardResponse): Promise<void> {
  const text = JSON.stringify(body);
  const res = await fetch(url, { method: 'PUT', body: text, headers: { 'content-type': '' } });
  if (!res.ok) throw new Error(`CloudFormation's response URL answered ${res.status}`);
}

let defaults: Deps | undefined;

/**
 * Clients created once per container, on first use (lambdas/shared/lazy.ts): built here, at module
 * load, they would load the AWS SDK at init.
 */
export function servingGuardDeps(): Deps {
  defaults ??= {
    sagemaker: lazy(() => new SageMakerClient({})),
    autoscaling: lazy(() => new ApplicationAutoScalingClient({})),
    cloudwatch: lazy(() => new CloudWatchClient({})),
    now: () => new Date(),
    respond: putResponse,
  };
  return defaults;
}

export interface GuardResult {
  readonly status: GuardResponse['Status'] | 'unreadable';
  readonly message: string;
}

export function createHandler(deps: Deps) {
  return async (event: unknown): Promise<GuardResult> => {
    logger.resetKeys();
    const parsed = customResourceEventSchema.safeParse(event);
    if (!parsed.success) {
      // Without a readable ResponseURL there is no one to answer; CloudFormation times out.
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`);
      const message = `not a CloudFormation custom-resource request for the serving guard (${problems.join('; ')})`;
      logger.error(message);
      const url = (event as { ResponseURL?: unknown } | null)?.ResponseURL;
      const e = event as Partial<CustomResourceEvent> | null;
      if (typeof url === 'string' && e?.StackId && e.RequestId && e.LogicalResourceId) {
        const body = guardResponse(
          { StackId: e.StackId, RequestId: e.RequestId, LogicalResourceId: e.LogicalResourceId },
          e.PhysicalResourceId ?? `${e.LogicalResourceId}-unreadable`,
          { ok: false, message },
        );
        await deps.respond(url, body);
        return { status: body.Status, message };
      }
      return { status: 'unreadable', message };
    }
    const request = parsed.data;
    const props = request.ResourceProperties;
    logger.appendKeys({ requestType: request.RequestType, model: props.Model });
    let outcome: { ok: boolean; message: string; deleted?: readonly string[] };
    try {
      outcome = await guard(deps, request);
    } catch (error) {
      outcome = {
        ok: false,
        message: `the serving guard failed: ${(error as Error).name}: ${(error as Error).message}. What it did before the error stays done; it is safe to repeat: deploy (or delete) again once the cause is fixed.`,
      };
    }
    // A Delete of a resource whose Create never answered (a rollback) carries that resource's id.
    const physicalId = request.PhysicalResourceId ?? guardPhysicalId(props);
    const body = guardResponse(request, physicalId, outcome);
    (outcome.ok ? logger.info : logger.error).call(logger, outcome.message);
    await deps.respond(request.ResponseURL, body);
    return { status: body.Status, message: outcome.message };
  };
}

export const handler = createHandler(servingGuardDeps());

async function guard(
  deps: Deps,
  request: CustomResourceEvent,
): Promise<{ ok: boolean; message: string; deleted?: readonly string[] }> {
  const props = request.ResourceProperties;
  const retiring = request.RequestType !== 'Delete' && props.Retired === 'true';
  const seen: EndpointSeen[] = await Promise.all(
    props.Endpoints.map(async (name) => {
      const described = await describeEndpoint(deps.sagemaker, name);
      const variants = (described?.ProductionVariants ?? []).map((v) => v.VariantName ?? '');
      return {
        name,
        status: described?.EndpointStatus ?? 'absent',
        ...(retiring && described ? { recentRequests: await recentRequests(deps, name, variants) } : {}),
      };
    }),
  );
  const plan = planServingGuard(request.RequestType, props, seen);
  if (plan.kind === 'refuse') return { ok: false, message: plan.message };
  if (plan.kind === 'nothing') return { ok: true, message: plan.message };
  for (const name of plan.endpoints) {
    // DeleteEndpoint deregisters a scaled variant only if the caller may; done first, explicitly:
    // https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html
    const target = {
      ServiceNamespace: 'sagemaker' as const,
      ResourceId: scalableTargetResourceId(name),
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount' as const,
    };
    const registered = await deps.autoscaling.send(
      new DescribeScalableTargetsCommand({
        ServiceNamespace: target.ServiceNamespace,
        ResourceIds: [target.ResourceId],
        ScalableDimension: target.ScalableDimension,
      }),
    );
    if ((registered.ScalableTargets ?? []).length > 0) {
      await deps.autoscaling.send(new DeregisterScalableTargetCommand(target));
    }
    await deps.sagemaker.send(new DeleteEndpointCommand({ EndpointName: name })).catch((error: unknown) => {
      // Gone between Describe and Delete (a retry, or a person): what was asked for.
      if (!isNotFound(error)) throw error;
    });
  }
  return {
    ok: true,
    message: `${plan.message}. The endpoint configs, models, data capture and logs are kept.`,
    deleted: plan.endpoints,
  };
}

/**
 * The Sum of the endpoint's `Invocations` ("the number of InvokeEndpoint requests sent to a model
 * endpoint", per EndpointName and VariantName:
 * https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html) over the last
 * RECENT_TRAFFIC_MINUTES; null when CloudWatch cannot tell (then the guard refuses: it cannot show
 * that nobody calls the endpoint).
 */
async function recentRequests(
  deps: Deps,
  endpoint: string,
  variants: readonly string[],
): Promise<number | null> {
  const end = deps.now();
  const start = new Date(end.getTime() - RECENT_TRAFFIC_MINUTES * 60_000);
  try {
    const result = await deps.cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: end,
        MetricDataQueries: variants.map((variant, i) => ({
          Id: `v${i}`,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SageMaker',
              MetricName: 'Invocations',
              Dimensions: [
                { Name: 'EndpointName', Value: endpoint },
                { Name: 'VariantName', Value: variant },
              ],
            },
            Period: 60,
            Stat: 'Sum',
          },
          ReturnData: true,
        })),
      }),
    );
    return (result.MetricDataResults ?? []).flatMap((r) => r.Values ?? []).reduce((a, b) => a + b, 0);
  } catch (error) {
    logger.warn('serving guard: cannot read the endpoint traffic', {
      endpoint,
      problem: `${(error as Error).name}: ${(error as Error).message}`,
    });
    return null;
  }
}
