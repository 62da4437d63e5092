import { Cloud } from '../../lib/rehearsal/cloud';
import { faultError } from '../../lib/rehearsal/faults';
import { Random } from '../../lib/rehearsal/random';
import { toScenario } from '../../lib/rehearsal/sequences';
import { isTransientError } from '../../lambdas/core/serving/transient-error';

function thrown(call: string, error: string): { name: string; status: unknown } {
  const cloud = new Cloud(0, new Random(1), []);
  cloud.faults.push({ call, times: 1, error });
  try {
    cloud.checkFault(call);
  } catch (e) {
    return {
      name: (e as Error).name,
      status: (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
    };
  }
  throw new Error(`no fault thrown on ${call}`);
}

describe('injected faults are the errors each service returns', () => {
  test.each([
    ['PutObject', 'ThrottlingException', 'SlowDown', 503],
    ['GetObject', 'InternalFailure', 'InternalError', 500],
    ['PutObject', 'ServiceUnavailable', 'ServiceUnavailable', 503],
    ['PutItem', 'ThrottlingException', 'ProvisionedThroughputExceededException', 400],
    ['Query', 'InternalFailure', 'InternalServerError', 500],
    ['PutItem', 'AlreadyUpdating', 'TransactionConflictException', 400],
    ['UpdateItem', 'AlreadyUpdating', 'TransactionConflictException', 400],
    ['UpdateEndpoint', 'AlreadyUpdating', 'ValidationException', 400],
    ['RegisterScalableTarget', 'AlreadyUpdating', 'ConcurrentUpdateException', 400],
    ['StartDeployment', 'AlreadyUpdating', 'ConflictException', 409],
    ['UpdateEndpoint', 'ThrottlingException', 'ThrottlingException', 400],
    ['DescribeEndpoint', 'InternalFailure', 'InternalFailure', 500],
  ])('%s with %s throws %s (HTTP %s)', (call, error, name, status) => {
    expect(thrown(call, error)).toEqual({ name, status });
  });

  test('throttling and server errors of S3 and DynamoDB are transient to the handlers; a transaction conflict is not', () => {
    for (const call of ['PutObject', 'PutItem']) {
      expect(isTransientError(faultError('ThrottlingException', call))).toBe(true);
      expect(isTransientError(faultError('InternalFailure', call))).toBe(true);
    }
    expect(isTransientError(faultError('AlreadyUpdating', 'PutItem'))).toBe(false);
  });

  test('"already updating" on a call without that state is refused, not faked', () => {
    expect(() => faultError('AlreadyUpdating', 'PutObject')).toThrow(
      /PutObject has no "already updating" fault: S3/,
    );
    expect(() => faultError('AlreadyUpdating', 'GetItem')).toThrow(
      /GetItem has no "already updating" fault: DynamoDB/,
    );
    expect(() => faultError('AlreadyUpdating', 'DescribeEndpoint')).toThrow(/DescribeEndpoint has no/);
  });

  test('a generated sequence injects only faults the call can return', () => {
    const scenario = toScenario(
      [
        { kind: 'fail', call: 'PutObject', times: 2, error: 'AlreadyUpdating' },
        { kind: 'fail', call: 'PutObject', times: 3, error: 'ThrottlingException' },
        { kind: 'fail', call: 'StartDeployment', times: 1, error: 'AlreadyUpdating' },
      ],
      { model: 'document-classifier', seed: 1, requestsPerMinute: 4 },
    );
    expect(scenario.steps).toEqual([
      { kind: 'fail', line: 2, call: 'PutObject', times: 3, error: 'ThrottlingException' },
      { kind: 'fail', line: 3, call: 'StartDeployment', times: 1, error: 'AlreadyUpdating' },
    ]);
  });
});
