/**
 * Injected faults as each service really returns them. A scenario (or a generated sequence) names a
 * kind of fault (`ThrottlingException`, `InternalFailure`, `ServiceUnavailable`, `TimeoutError`,
 * `AlreadyUpdating`); the emulator throws the error the called service answers for that kind, with
 * its name and HTTP status, as the SDK would throw it. "Already updating" exists only for calls whose
 * resource can be mid-change; for the others (S3, a DynamoDB read, any describe) there is no such
 * fault, and `faultProblem` says so.
 */

/** The fault kinds a scenario may name. */
export const FAULT_ERRORS = [
  'ThrottlingException',
  'InternalFailure',
  'ServiceUnavailable',
  'TimeoutError',
  'AlreadyUpdating',
] as const;

/** An error as the SDK throws it: `name` is the AWS error code. */
export function awsError(name: string, message: string, status = 400): Error {
  const e = new Error(message);
  e.name = name;
  (e as { $metadata?: unknown }).$metadata = { httpStatusCode: status, attempts: 1 };
  return e;
}

const S3_CALLS = new Set(['GetObject', 'PutObject', 'HeadObject', 'ListObjectsV2']);
const DYNAMODB_CALLS = new Set(['PutItem', 'UpdateItem', 'GetItem', 'Query']);

/** Application Auto Scaling calls that change a scalable target or its policies. */
const AUTOSCALING_WRITES = new Set([
  'RegisterScalableTarget',
  'DeregisterScalableTarget',
  'PutScalingPolicy',
  'DeleteScalingPolicy',
]);

/**
 * The calls that can be refused because their resource is already being changed, and how:
 * - SageMaker UpdateEndpoint: an endpoint being updated is refused with a ValidationException
 *   "Cannot update in-progress endpoint", as the emulator's own UpdateEndpoint does (SageMaker
 *   documents only ResourceLimitExceeded for it:
 *   https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html#API_UpdateEndpoint_Errors).
 * - Application Auto Scaling writes: ConcurrentUpdateException, "if you request an update to an
 *   Application Auto Scaling resource that already has a pending update"
 *   (https://docs.aws.amazon.com/botocore/latest/reference/services/application-autoscaling/client/exceptions/ConcurrentUpdateException.html).
 * - AppConfig StartDeployment: ConflictException (HTTP 409); one deployment per environment runs at
 *   a time (https://docs.aws.amazon.com/sdkfornet/v3/apidocs/items/AppConfig/MAppConfigStartDeploymentStartDeploymentRequest.html).
 * - DynamoDB PutItem and UpdateItem: TransactionConflictException, when the item is part of a
 *   TransactWriteItems in progress ("Transaction conflict handling in DynamoDB",
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-conflict-handling).
 *   A read is not refused by a transaction in progress (it reads the last committed item).
 * S3 has no such state: concurrent writes to a key all succeed, the last one wins (a conditional
 * write is refused with 412 only when the object really changed, which the emulator's PutObject
 * does by itself: https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
 */
function alreadyUpdatingError(call: string): Error | undefined {
  if (call === 'UpdateEndpoint')
    return awsError('ValidationException', `Cannot update in-progress endpoint (injected on ${call})`);
  if (AUTOSCALING_WRITES.has(call)) {
    return awsError(
      'ConcurrentUpdateException',
      `The scalable target has a pending update (injected on ${call})`,
    );
  }
  if (call === 'StartDeployment') {
    return awsError(
      'ConflictException',
      `A deployment is already in progress for this environment (injected on ${call})`,
      409,
    );
  }
  if (call === 'PutItem' || call === 'UpdateItem') {
    return awsError(
      'TransactionConflictException',
      `Transaction is ongoing for the item (injected on ${call})`,
    );
  }
  return undefined;
}

/** Why `error` is not a fault `call` can return, or null when it is. */
export function faultProblem(call: string, error: string): string | null {
  if ((error === 'AlreadyUpdating' || error === 'already-updating') && !alreadyUpdatingError(call)) {
    const service = S3_CALLS.has(call) ? 'S3' : DYNAMODB_CALLS.has(call) ? 'DynamoDB' : 'this service';
    return (
      `${call} has no "already updating" fault: ${service} does not refuse it because the resource is being changed; ` +
      'use ThrottlingException, InternalFailure, ServiceUnavailable or TimeoutError'
    );
  }
  return null;
}

/**
 * What a fault of kind `error` on `call` throws:
 * - S3 (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList):
 *   throttling is SlowDown (503, "Please reduce your request rate"), a server error InternalError
 *   (500), and ServiceUnavailable (503); S3 asks for both to be retried
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorBestPractices.html).
 * - DynamoDB data-plane calls (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.MessagesAndCodes):
 *   throttling is ProvisionedThroughputExceededException (400; ThrottlingException is for control-plane
 *   calls made too fast), a server error InternalServerError (500), ServiceUnavailable (503).
 * - Other services: ThrottlingException (400), InternalFailure (500), ServiceUnavailable (503), the
 *   common errors of AWS APIs (https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html).
 * A timeout is the SDK's own TimeoutError, with no HTTP status: the request got no answer.
 */
export function faultError(error: string, call: string): Error {
  const s3 = S3_CALLS.has(call);
  const dynamodb = DYNAMODB_CALLS.has(call);
  switch (error) {
    case 'ThrottlingException':
      if (s3) return awsError('SlowDown', `Please reduce your request rate. (injected on ${call})`, 503);
      if (dynamodb)
        return awsError(
          'ProvisionedThroughputExceededException',
          `The level of configured provisioned throughput for the table was exceeded. (injected on ${call})`,
        );
      return awsError('ThrottlingException', `Rate exceeded (injected on ${call})`);
    case '5xx':
    case 'InternalFailure':
      if (s3)
        return awsError('InternalError', `We encountered an internal error. (injected on ${call})`, 500);
      if (dynamodb) return awsError('InternalServerError', `injected server error on ${call}`, 500);
      return awsError('InternalFailure', `injected server error on ${call}`, 500);
    case 'ServiceUnavailable':
      return awsError('ServiceUnavailable', `injected: service unavailable on ${call}`, 503);
    case 'timeout':
    case 'TimeoutError':
      return awsError('TimeoutError', `injected timeout on ${call}`, 0);
    case 'already-updating':
    case 'AlreadyUpdating': {
      const e = alreadyUpdatingError(call);
      if (!e) throw new Error(faultProblem(call, error)!);
      return e;
    }
    default:
      return awsError(error, `injected ${error} on ${call}`);
  }
}
