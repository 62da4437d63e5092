import { standbyCapacityWarning } from '../../lambdas/core/serving/standby-capacity';

const base = {
  targetPerInstance: 120,
  standbyEndpoint: 'mlops-document-classifier-standby',
  liveEndpoint: 'mlops-document-classifier-live',
  version: 'a1b2c3d',
};

describe('standbyCapacityWarning', () => {
  test('no warning while the standby carries the traffic at the autoscaling target', () => {
    expect(standbyCapacityWarning({ ...base, perMinute: 120, standbyInstances: 1 })).toBeNull();
    expect(standbyCapacityWarning({ ...base, perMinute: 0, standbyInstances: 1 })).toBeNull();
    expect(standbyCapacityWarning({ ...base, perMinute: 230, standbyInstances: 2 })).toBeNull();
  });

  test('beyond it, says it lacks capacity, how short it is, until when, and how to add instances', () => {
    const text = standbyCapacityWarning({ ...base, perMinute: 200, standbyInstances: 1 });
    expect(text).toMatch(
      /^The standby endpoint "mlops-document-classifier-standby" lacks capacity: it has 1 instance\(s\), about 120 requests per minute/,
    );
    expect(text).toContain('about 200 requests per minute (2 instance(s) at the target)');
    expect(text).toContain(
      'until the live endpoint "mlops-document-classifier-live" is in service on a1b2c3d',
    );
    expect(text).toContain(
      'aws sagemaker update-endpoint-weights-and-capacities --endpoint-name mlops-document-classifier-standby',
    );
  });

  test('an unreadable rate or fleet is said, not guessed', () => {
    expect(standbyCapacityWarning({ ...base, perMinute: null, standbyInstances: 1 })).toMatch(
      /its capacity could not be checked \(the live traffic rate could not be read\)/,
    );
    expect(standbyCapacityWarning({ ...base, perMinute: 50, standbyInstances: null })).toMatch(
      /the standby's instance count could not be read/,
    );
  });
});
