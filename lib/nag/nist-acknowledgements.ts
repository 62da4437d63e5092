/**
 * Acknowledgements of NIST 800-53 rev. 5 findings that hold for a whole class of resources, each
 * given on the one resource it concerns and only when the evidence for its reason is in the
 * construct tree: a function acknowledged for having no dead-letter queue has an on-failure
 * destination, a pipeline caller, an event source or a function URL; a policy acknowledged as
 * inline is attached to exactly one role. A resource without that evidence keeps its finding.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

const NIST = 'NIST.800.53.R5';

const pipelineActions = new WeakSet<IConstruct>();

/** Records that CodePipeline invokes this function as an action (it reports job results). */
export function markPipelineAction(fn: lambda.IFunction): void {
  pipelineActions.add(fn);
}

/** Why a function needs no dead-letter queue of its own, from how it is invoked; undefined if unknown. */
export function deadLetterHandling(fn: lambda.Function, reportsPipelineJobs: boolean): string | undefined {
  const invokeConfig = fn.node.tryFindChild('EventInvokeConfig')?.node.defaultChild;
  if (invokeConfig instanceof lambda.CfnEventInvokeConfig) {
    const onFailure = Stack.of(fn).resolve(invokeConfig.destinationConfig) as
      { onFailure?: { destination?: unknown } } | undefined;
    if (onFailure?.onFailure?.destination !== undefined) {
      return 'Asynchronous invocations that still fail after Lambda retries go to the on-failure destination (an alarmed dead-letter queue or the paging topic), which carries more than a dead-letter queue: the error and the request.';
    }
  }
  if (reportsPipelineJobs) {
    return 'Invoked by CodePipeline as a pipeline action: a run that fails reports PutJobFailureResult or times out, and the pipeline execution fails where the team looks; a dead-letter copy of the job event could not resume it.';
  }
  if (fn.node.children.some((c) => c instanceof lambda.EventSourceMapping)) {
    return 'Invoked by an SQS event source mapping: a batch that keeps failing moves to the source queue’s own alarmed dead-letter queue (redrive policy), not to a function dead-letter queue.';
  }
  if (fn.node.children.some((c) => c instanceof lambda.FunctionUrl)) {
    return 'Invoked synchronously through its function URL: the caller receives the error; there is no asynchronous event to keep.';
  }
  return undefined;
}

/** Acknowledges NIST findings whose evidence is in the tree. Call once the app is built. */
export function acknowledgeNistFindings(root: IConstruct): void {
  for (const node of root.node.findAll()) {
    if (node instanceof iam.CfnPolicy) acknowledgeInlinePolicy(node);
    if (node instanceof lambda.Function) {
      const reason = deadLetterHandling(node, pipelineActions.has(node));
      if (reason) Validations.of(node).acknowledge({ id: `${NIST}-LambdaDLQ`, reason });
    }
  }
}

function acknowledgeInlinePolicy(policy: iam.CfnPolicy): void {
  const attached = (value: unknown) => {
    const resolved = Stack.of(policy).resolve(value) as unknown[] | undefined;
    return Array.isArray(resolved) ? resolved.length : 0;
  };
  if (attached(policy.roles) !== 1 || attached(policy.users) > 0 || attached(policy.groups) > 0) return;
  Validations.of(policy).acknowledge({
    id: `${NIST}-IAMNoInlinePolicy`,
    reason:
      'The policy CDK writes for exactly one role, created, changed and deleted with it; its grants name this role’s resources only. A customer-managed policy would be a second object that could be attached elsewhere, which is what least privilege avoids here.',
  });
}
