/**
 * Whether an AWS call's error is worth retrying later with the same input: throttling, a server
 * error, a timeout. The AWS SDK's standard retry mode retries the same classes a few times within
 * one call (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html); a stage
 * that still sees one afterwards retries at its next poll instead of failing half-way.
 *
 * Also a concurrent update that ends by itself: Application Auto Scaling's ConcurrentUpdateException
 * ("you request an update to an Application Auto Scaling resource that already has a pending
 * update", https://docs.aws.amazon.com/botocore/latest/reference/services/application-autoscaling/client/exceptions/ConcurrentUpdateException.html).
 * AppConfig's ConflictException is not here: the same name also means "another writer created a
 * newer version" (CreateHostedConfigurationVersion), which a retry would repeat; the flag writer
 * turns StartDeployment's ConflictException into FlagDeploymentInProgress, which its callers retry.
 */

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  // DynamoDB's throttling of reads and writes: "Reduce the frequency of requests and use exponential
  // backoff" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html#Programming.Errors.MessagesAndCodes).
  'ProvisionedThroughputExceededException',
  // S3's throttling, 503 "Please reduce your request rate"
  // (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList).
  'SlowDown',
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ConcurrentUpdateException',
]);

/** The fields of an SDK error the decision reads. */
interface ErrorLike {
  readonly name?: unknown;
  readonly cause?: unknown;
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/**
 * True when the error, or an error it wraps (`cause`, at most 5 deep), is transient: a name of the
 * throttling, server-error and timeout classes, an SDK error marked `$retryable`, or an HTTP 5xx.
 */
export function isTransientError(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const x = e as ErrorLike;
    if (typeof x.name === 'string' && TRANSIENT_NAMES.has(x.name)) return true;
    if (x.$retryable !== undefined && x.$retryable !== null && x.$retryable !== false) return true;
    const status = x.$metadata?.httpStatusCode;
    if (typeof status === 'number' && status >= 500 && status <= 599) return true;
    e = x.cause;
  }
  return false;
}

/**
 * True when SageMaker refused `UpdateEndpoint` because the endpoint is being changed: a
 * ValidationException "Cannot update in-progress endpoint" (SageMaker documents no error code of
 * its own for it: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html#API_UpdateEndpoint_Errors).
 * Not transient in itself: whoever retries must look at the endpoint again first, since another
 * caller's update (a rollback) may be what is in progress.
 */
export function isEndpointBusyRefusal(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown } | undefined;
  return (
    e?.name === 'ValidationException' &&
    typeof e.message === 'string' &&
    /in[- ]progress|is (updating|creating|being)|cannot update/i.test(e.message)
  );
}
