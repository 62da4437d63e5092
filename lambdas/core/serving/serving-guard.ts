/**
 * The serving guard: the custom resource every model stack carries so that its SageMaker endpoints,
 * which CloudFormation does not own (docs/serving.md), are neither orphaned by a stack deletion nor
 * deleted by accident.
 *
 * - Create/Update of a model that is not retired: nothing (the endpoints are the release path's).
 * - Create/Update of a retired model (`serving.retired: true`): delete the live and standby
 *   endpoints, so the deploy that retires a model stops its instances; refuse (the deploy rolls
 *   back, the model keeps serving) while a release or rollback is changing one of them.
 * - Delete (the stack is being deleted): refuse while an endpoint exists that is not being deleted.
 *   The stack makes the guard depend on every other resource, so CloudFormation deletes it first and
 *   a refusal leaves everything else in place.
 *
 * Pure: the handler describes the endpoints, calls `planServingGuard`, does what the plan says and
 * answers CloudFormation with `guardResponse`.
 */
import { z } from 'zod';

/** CloudFormation passes custom-resource properties as strings; booleans arrive as "true"/"false". */
export const servingGuardPropertiesSchema = z.object({
  ServiceToken: z.string().min(1),
  /** The model, as in its config file name. */
  Model: z.string().min(1),
  /** The stack, for messages (a person reads them in the stack events). */
  StackName: z.string().min(1),
  /** The id `cdk deploy` selects the stack by, for the commands in messages. */
  CdkStackId: z.string().min(1),
  /** `serving.retired` of the model's config. */
  Retired: z.enum(['true', 'false']),
  /** The endpoints the release path creates for this model: live first, then standby. */
  Endpoints: z.array(z.string().min(1)).min(1),
});
export type ServingGuardProperties = z.output<typeof servingGuardPropertiesSchema>;

/**
 * The request CloudFormation sends a Lambda-backed custom resource
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html).
 */
export const customResourceEventSchema = z.object({
  RequestType: z.enum(['Create', 'Update', 'Delete']),
  ResponseURL: z.url(),
  StackId: z.string().min(1),
  RequestId: z.string().min(1),
  LogicalResourceId: z.string().min(1),
  PhysicalResourceId: z.string().optional(),
  ResourceProperties: servingGuardPropertiesSchema,
});
export type CustomResourceEvent = z.output<typeof customResourceEventSchema>;

/**
 * DescribeEndpoint's EndpointStatus, or `absent`
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html).
 */
export interface EndpointSeen {
  readonly name: string;
  readonly status: string | 'absent';
  /**
   * Requests the endpoint took over the last `RECENT_TRAFFIC_MINUTES` (the Sum of its `Invocations`);
   * null when CloudWatch could not tell; undefined when not asked (a Delete, or not retiring).
   */
  readonly recentRequests?: number | null;
}

/** How far back a retiring deploy looks for callers that still use an endpoint. */
export const RECENT_TRAFFIC_MINUTES = 15;

/** States in which a release, a rollback or SageMaker itself is changing the endpoint. */
const CHANGING = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack']);

export type GuardPlan =
  | { readonly kind: 'nothing'; readonly message: string }
  | { readonly kind: 'delete'; readonly endpoints: readonly string[]; readonly message: string }
  | { readonly kind: 'refuse'; readonly message: string };

const list = (endpoints: readonly EndpointSeen[]) =>
  endpoints.map((e) => `${e.name} (${e.status})`).join(', ');

/** What the guard does for this request, given what SageMaker reports about the endpoints. */
export function planServingGuard(
  requestType: CustomResourceEvent['RequestType'],
  props: Pick<ServingGuardProperties, 'Model' | 'StackName' | 'CdkStackId' | 'Retired'>,
  seen: readonly EndpointSeen[],
): GuardPlan {
  const present = seen.filter((e) => e.status !== 'absent' && e.status !== 'Deleting');
  const file = `config/models/${props.Model}.yaml`;
  if (requestType === 'Delete') {
    if (present.length === 0) {
      return { kind: 'nothing', message: `no endpoint of ${props.Model} serves: the stack may be deleted` };
    }
    return {
      kind: 'refuse',
      message:
        `Refused to delete ${props.StackName}: ${list(present)} still serve ${props.Model}. CloudFormation does not own ` +
        `these endpoints, so deleting the stack would leave them running and billed with nothing to release, roll back ` +
        `or delete them. Nothing else was deleted. Retire the model instead: set serving.retired: true in ${file} and ` +
        `npx cdk deploy ${props.CdkStackId} (it deletes the endpoints), then delete the stack. If this stack is now ` +
        `DELETE_FAILED, delete the endpoints deliberately (aws sagemaker delete-endpoint --endpoint-name <name>) and ` +
        `delete the stack again (docs/operations.md, Retiring a model).`,
    };
  }
  if (props.Retired === 'false') {
    return {
      kind: 'nothing',
      message: `${props.Model} is not retired: its endpoints belong to the release path`,
    };
  }
  const changing = present.filter((e) => CHANGING.has(e.status));
  if (changing.length > 0) {
    return {
      kind: 'refuse',
      message:
        `Refused to retire ${props.Model}: ${list(changing)} is being changed (a release, a rollback or SageMaker ` +
        `maintenance). The deploy rolls back and the model keeps serving as before. Wait until the endpoint is ` +
        `InService or Failed (aws sagemaker describe-endpoint --endpoint-name ${changing[0]!.name}), then deploy again.`,
    };
  }
  if (present.length === 0) {
    return {
      kind: 'nothing',
      message: `${props.Model} is retired and none of its endpoints exists: nothing to delete`,
    };
  }
  // Deleting an endpoint that callers still use answers them with errors: they are told first
  // (docs/operations.md, "Retiring a model"), and the guard checks that they stopped.
  const used = present.filter((e) => e.recentRequests !== undefined && e.recentRequests !== 0);
  if (used.length > 0) {
    const what = used
      .map((e) =>
        e.recentRequests === null
          ? `${e.name} (CloudWatch could not say whether it took requests)`
          : `${e.name} (${e.recentRequests} requests in the last ${RECENT_TRAFFIC_MINUTES} minutes)`,
      )
      .join(', ');
    return {
      kind: 'refuse',
      message:
        `Refused to retire ${props.Model}: ${what} still ${used.length === 1 ? 'has' : 'have'} callers, and deleting ` +
        `${used.length === 1 ? 'it' : 'them'} would answer them with errors. The deploy rolls back and the model keeps ` +
        `serving as before. Tell the callers of the router's function URL and stop the traffic; once the endpoints' ` +
        `Invocations have been 0 for ${RECENT_TRAFFIC_MINUTES} minutes (CloudWatch, AWS/SageMaker Invocations), deploy again.`,
    };
  }
  return {
    kind: 'delete',
    endpoints: present.map((e) => e.name),
    message: `${props.Model} is retired: deleting ${list(present)}`,
  };
}

/**
 * The body the guard PUTs to the request's ResponseURL
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
 * The physical id stays the same on every request, so an update never looks like a replacement
 * (which would make CloudFormation send a Delete for the old one).
 */
export function guardResponse(
  event: Pick<CustomResourceEvent, 'StackId' | 'RequestId' | 'LogicalResourceId'>,
  physicalResourceId: string,
  outcome: { readonly ok: boolean; readonly message: string; readonly deleted?: readonly string[] },
) {
  return {
    Status: outcome.ok ? ('SUCCESS' as const) : ('FAILED' as const),
    // CloudFormation shows the reason in the stack events; it keeps about 4 KB of a response.
    Reason: outcome.message.slice(0, 2000),
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: { Deleted: (outcome.deleted ?? []).join(',') },
  };
}
export type GuardResponse = ReturnType<typeof guardResponse>;

/** The guard's physical id: one per model stack, stable across updates. */
export function guardPhysicalId(props: Pick<ServingGuardProperties, 'StackName'>): string {
  return `${props.StackName}-serving-guard`;
}
