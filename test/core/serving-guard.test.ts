import { guardResponse, planServingGuard, type EndpointSeen } from '../../lambdas/core/serving/serving-guard';

const props = (retired: boolean) => ({
  Model: 'document-classifier',
  StackName: 'mlops-document-classifier',
  CdkStackId: 'Model-document-classifier',
  Retired: retired ? ('true' as const) : ('false' as const),
});
const live = (status: string): EndpointSeen => ({ name: 'mlops-document-classifier-live', status });
const standby = (status: string): EndpointSeen => ({ name: 'mlops-document-classifier-standby', status });

describe('planServingGuard', () => {
  describe('WHEN the stack is deleted', () => {
    test.each([
      ['InService', 'absent'],
      ['Failed', 'absent'],
      ['absent', 'OutOfService'],
      ['Updating', 'InService'],
    ])('GIVEN live %s and standby %s THEN it refuses, names what serves and the fix', (a, b) => {
      for (const retired of [false, true]) {
        const plan = planServingGuard('Delete', props(retired), [live(a), standby(b)]);
        expect(plan.kind).toBe('refuse');
        const serving = [live(a), standby(b)].filter((e) => e.status !== 'absent');
        for (const e of serving) expect(plan.message).toContain(`${e.name} (${e.status})`);
        expect(plan.message).toContain('set serving.retired: true in config/models/document-classifier.yaml');
        expect(plan.message).toContain('npx cdk deploy Model-document-classifier');
        expect(plan.message).toContain('Nothing else was deleted');
      }
    });

    test('GIVEN no endpoint, or only ones being deleted THEN the stack may go', () => {
      expect(planServingGuard('Delete', props(false), [live('absent'), standby('absent')]).kind).toBe(
        'nothing',
      );
      expect(planServingGuard('Delete', props(true), [live('Deleting'), standby('absent')]).kind).toBe(
        'nothing',
      );
    });
  });

  describe('WHEN the stack is created or updated', () => {
    test('GIVEN a model that is not retired THEN nothing is touched, whatever the endpoints do', () => {
      for (const type of ['Create', 'Update'] as const) {
        for (const status of ['InService', 'Updating', 'Failed', 'absent']) {
          expect(planServingGuard(type, props(false), [live(status), standby(status)]).kind).toBe('nothing');
        }
      }
    });

    test('GIVEN a retired model whose endpoints still have callers, or whose traffic CloudWatch cannot tell THEN it refuses and deletes nothing', () => {
      const used = planServingGuard('Update', props(true), [
        { ...live('InService'), recentRequests: 120 },
        { ...standby('InService'), recentRequests: 0 },
      ]);
      expect(used.kind).toBe('refuse');
      expect(used.message).toMatch(
        /^Refused to retire document-classifier: mlops-document-classifier-live \(120 requests in the last 15 minutes\) still has callers/,
      );
      expect(used.message).not.toContain('standby (');
      const unknown = planServingGuard('Update', props(true), [
        { ...live('InService'), recentRequests: null },
        { ...standby('InService'), recentRequests: 0 },
      ]);
      expect(unknown).toMatchObject({ kind: 'refuse' });
      expect(unknown.message).toContain('CloudWatch could not say whether it took requests');
      expect(
        planServingGuard('Update', props(true), [
          { ...live('InService'), recentRequests: 0 },
          { ...standby('InService'), recentRequests: 0 },
        ]).kind,
      ).toBe('delete');
    });

    test('GIVEN a retired model THEN every endpoint that exists and is not being deleted is deleted', () => {
      expect(
        planServingGuard('Update', props(true), [live('InService'), standby('InService')]),
      ).toMatchObject({
        kind: 'delete',
        endpoints: ['mlops-document-classifier-live', 'mlops-document-classifier-standby'],
      });
      expect(planServingGuard('Update', props(true), [live('Failed'), standby('absent')])).toMatchObject({
        kind: 'delete',
        endpoints: ['mlops-document-classifier-live'],
      });
      expect(planServingGuard('Create', props(true), [live('absent'), standby('Deleting')]).kind).toBe(
        'nothing',
      );
    });

    test.each(['Creating', 'Updating', 'SystemUpdating', 'RollingBack'])(
      'GIVEN a retired model whose endpoint is %s THEN it refuses (the deploy rolls back) and deletes nothing',
      (status) => {
        const plan = planServingGuard('Update', props(true), [live('InService'), standby(status)]);
        expect(plan).toEqual({
          kind: 'refuse',
          message:
            `Refused to retire document-classifier: mlops-document-classifier-standby (${status}) is being changed (a release, ` +
            'a rollback or SageMaker maintenance). The deploy rolls back and the model keeps serving as before. Wait until ' +
            'the endpoint is InService or Failed (aws sagemaker describe-endpoint --endpoint-name mlops-document-classifier-standby), ' +
            'then deploy again.',
        });
      },
    );
  });
});

describe('guardResponse', () => {
  const event = { StackId: 'arn:stack', RequestId: 'r-1', LogicalResourceId: 'ServingGuard' };

  test('answers CloudFormation with the fields it requires, the same physical id, and what was deleted', () => {
    expect(
      guardResponse(event, 'mlops-document-classifier-serving-guard', {
        ok: true,
        message: 'm',
        deleted: ['a', 'b'],
      }),
    ).toEqual({
      Status: 'SUCCESS',
      Reason: 'm',
      PhysicalResourceId: 'mlops-document-classifier-serving-guard',
      StackId: 'arn:stack',
      RequestId: 'r-1',
      LogicalResourceId: 'ServingGuard',
      Data: { Deleted: 'a,b' },
    });
  });

  test('a refusal is FAILED, with a reason short enough for CloudFormation to keep', () => {
    const body = guardResponse(event, 'id', { ok: false, message: 'x'.repeat(10_000) });
    expect(body.Status).toBe('FAILED');
    expect(body.Reason.length).toBeLessThanOrEqual(2000);
  });
});
