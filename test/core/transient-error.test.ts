import { isTransientError } from '../../lambdas/core/serving/transient-error';

function awsError(name: string, status: number): Error {
  const e = new Error(`${name} (test)`);
  e.name = name;
  (e as { $metadata?: unknown }).$metadata = { httpStatusCode: status };
  return e;
}

describe('isTransientError', () => {
  test.each([
    ['ThrottlingException', 400],
    ['TooManyRequestsException', 429],
    ['InternalFailure', 500],
    ['ServiceUnavailable', 503],
    ['TimeoutError', 0],
    ['ConcurrentUpdateException', 400],
    ['ProvisionedThroughputExceededException', 400],
    ['SlowDown', 503],
    ['InternalError', 500],
  ])('%s is worth retrying at the next poll', (name, status) => {
    expect(isTransientError(awsError(name, status))).toBe(true);
  });

  test('any HTTP 5xx is, whatever its name', () => {
    expect(isTransientError(awsError('SomethingNew', 502))).toBe(true);
  });

  test('a refusal that will be refused again is not', () => {
    expect(isTransientError(awsError('ValidationException', 400))).toBe(false);
    expect(isTransientError(awsError('AccessDeniedException', 403))).toBe(false);
    // AppConfig's "a newer version exists" (CreateHostedConfigurationVersion) repeats on a retry.
    expect(isTransientError(awsError('ConflictException', 409))).toBe(false);
    expect(isTransientError(new Error('Promotion refused: this release was rolled back'))).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });

  test("a stage's own failure that wraps a throttled call is transient through its cause", () => {
    const wrapped = new Error('Promotion written, but the platform was not told', {
      cause: awsError('ThrottlingException', 400),
    });
    expect(isTransientError(wrapped)).toBe(true);
  });
});
