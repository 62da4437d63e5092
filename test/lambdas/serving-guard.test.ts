// The serving guard through the real SDK against moto: what a retiring deploy and a stack
// deletion do to the endpoints, and what CloudFormation is told.
import {
  ApplicationAutoScalingClient,
  DescribeScalableTargetsCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointConfigCommand,
  ListEndpointsCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { GuardResponse } from '../../lambdas/core/serving/serving-guard';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { createHandler } from '../../lambdas/serving-guard';
import { logger } from '../../lambdas/shared/logger';
import { useMoto } from '../helpers/moto';

const LIVE = 'mlops-document-classifier-live';
const STANDBY = 'mlops-document-classifier-standby';

function request(type: 'Create' | 'Update' | 'Delete', retired: boolean) {
  return {
    RequestType: type,
    ResponseURL: 'https://cloudformation-custom-resource-response.example/signed',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/mlops-document-classifier/1',
    RequestId: 'request-1',
    LogicalResourceId: 'ServingGuard',
    ...(type === 'Create' ? {} : { PhysicalResourceId: 'mlops-document-classifier-serving-guard' }),
    ResourceProperties: {
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:mlops-document-classifier-serving-guard',
      Model: 'document-classifier',
      StackName: 'mlops-document-classifier',
      CdkStackId: 'Model-document-classifier',
      Retired: retired ? 'true' : 'false',
      Endpoints: [LIVE, STANDBY],
    },
  };
}

describe('serving guard handler', () => {
  const moto = useMoto();
  let sagemaker: SageMakerClient;
  let autoscaling: ApplicationAutoScalingClient;
  let cloudwatch: CloudWatchClient;
  let answers: { url: string; body: GuardResponse }[];
  let handle: ReturnType<typeof createHandler>;

  beforeAll(() => logger.setLogLevel('SILENT'));
  beforeEach(() => {
    sagemaker = new SageMakerClient(moto.clientConfig);
    autoscaling = new ApplicationAutoScalingClient(moto.clientConfig);
    answers = [];
    cloudwatch = new CloudWatchClient(moto.clientConfig);
    handle = createHandler({
      sagemaker,
      autoscaling,
      cloudwatch,
      now: () => new Date(),
      respond: async (url, body) => {
        answers.push({ url, body });
      },
    });
  });

  /** Both endpoints serving, the live variant scaled, as two releases leave them. */
  async function serving(): Promise<void> {
    await sagemaker.send(
      new CreateModelCommand({
        ModelName: 'mlops-document-classifier-model-1',
        ExecutionRoleArn: 'arn:aws:iam::123456789012:role/serving',
        PrimaryContainer: { Image: '763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.6.0' },
      }),
    );
    for (const [endpoint, variant] of [
      [LIVE, 'live'],
      [STANDBY, 'standby'],
    ] as const) {
      await sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: `${endpoint}-config`,
          ProductionVariants: [
            {
              VariantName: variant,
              ModelName: 'mlops-document-classifier-model-1',
              InitialInstanceCount: 1,
              InstanceType: 'ml.g4dn.xlarge',
            },
          ],
        }),
      );
      await sagemaker.send(
        new CreateEndpointCommand({ EndpointName: endpoint, EndpointConfigName: `${endpoint}-config` }),
      );
    }
    await autoscaling.send(
      new RegisterScalableTargetCommand({
        ServiceNamespace: 'sagemaker',
        ResourceId: `endpoint/${LIVE}/variant/live`,
        ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        MinCapacity: 1,
        MaxCapacity: 4,
      }),
    );
  }

  const endpoints = async () =>
    ((await sagemaker.send(new ListEndpointsCommand({}))).Endpoints ?? []).map((e) => e.EndpointName).sort();
  const scaled = async () =>
    (await autoscaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker' })))
      .ScalableTargets ?? [];

  it('GIVEN a retiring deploy THEN both endpoints and the live autoscaling are gone, the configs kept, and CloudFormation hears SUCCESS', async () => {
    await serving();
    const result = await handle(request('Update', true));
    expect(result).toEqual({
      status: 'SUCCESS',
      message:
        `document-classifier is retired: deleting ${LIVE} (InService), ${STANDBY} (InService). ` +
        'The endpoint configs, models, data capture and logs are kept.',
    });
    expect(await endpoints()).toEqual([]);
    expect(await scaled()).toEqual([]);
    // The configs (and the models) are records of what served; only the instances cost money.
    await expect(
      sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: `${LIVE}-config` })),
    ).resolves.toBeDefined();
    expect(answers).toHaveLength(1);
    expect(answers[0]!.url).toBe('https://cloudformation-custom-resource-response.example/signed');
    expect(answers[0]!.body).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'mlops-document-classifier-serving-guard',
      RequestId: 'request-1',
      LogicalResourceId: 'ServingGuard',
      Data: { Deleted: `${LIVE},${STANDBY}` },
    });
  });

  it('GIVEN a deploy of a model that is not retired THEN nothing is deleted', async () => {
    await serving();
    expect((await handle(request('Update', false))).status).toBe('SUCCESS');
    expect(await endpoints()).toEqual([LIVE, STANDBY]);
    expect(await scaled()).toHaveLength(1);
  });

  it('GIVEN a stack deletion while the endpoints serve THEN CloudFormation hears FAILED with the fix, and nothing is deleted', async () => {
    await serving();
    const result = await handle(request('Delete', false));
    expect(result.status).toBe('FAILED');
    expect(answers[0]!.body.Status).toBe('FAILED');
    expect(answers[0]!.body.Reason).toContain(
      `${LIVE} (InService), ${STANDBY} (InService) still serve document-classifier`,
    );
    expect(answers[0]!.body.Reason).toContain(
      'set serving.retired: true in config/models/document-classifier.yaml',
    );
    expect(await endpoints()).toEqual([LIVE, STANDBY]);
  });

  it('GIVEN the retiring deploy ran THEN deleting the stack is allowed', async () => {
    await serving();
    await handle(request('Update', true));
    expect((await handle(request('Delete', true))).status).toBe('SUCCESS');
  });

  it('GIVEN the first deploy of a stack fails and rolls back THEN the Delete of a guard that never answered succeeds', async () => {
    const { PhysicalResourceId: _, ...withoutId } = request('Delete', false);
    expect((await handle(withoutId)).status).toBe('SUCCESS');
    expect(answers[0]!.body.PhysicalResourceId).toBe('mlops-document-classifier-serving-guard');
  });

  it('GIVEN a retiring deploy while callers still use the live endpoint THEN it refuses, deletes nothing, and says how to go on', async () => {
    await serving();
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SageMaker',
        MetricData: [
          {
            MetricName: 'Invocations',
            Dimensions: [
              { Name: 'EndpointName', Value: LIVE },
              { Name: 'VariantName', Value: 'live' },
            ],
            Timestamp: new Date(Date.now() - 60_000),
            Value: 42,
          },
        ],
      }),
    );
    const result = await handle(request('Update', true));
    expect(result.status).toBe('FAILED');
    expect(result.message).toBe(
      `Refused to retire document-classifier: ${LIVE} (42 requests in the last 15 minutes) still has callers, and ` +
        'deleting it would answer them with errors. The deploy rolls back and the model keeps serving as before. ' +
        "Tell the callers of the router's function URL and stop the traffic; once the endpoints' Invocations have " +
        'been 0 for 15 minutes (CloudWatch, AWS/SageMaker Invocations), deploy again.',
    );
    expect(await endpoints()).toEqual([LIVE, STANDBY].sort());
    expect(await scaled()).toHaveLength(1);
  });

  it('GIVEN SageMaker fails THEN CloudFormation still hears an answer (FAILED, with the error), not an hour of silence', async () => {
    await serving();
    const broken = createHandler({
      sagemaker: new SageMakerClient({ ...moto.clientConfig, endpoint: 'http://127.0.0.1:9' }),
      autoscaling,
      cloudwatch,
      now: () => new Date(),
      respond: async (url, body) => {
        answers.push({ url, body });
      },
    });
    const result = await broken(request('Update', true));
    expect(result.status).toBe('FAILED');
    expect(answers[0]!.body.Reason).toMatch(/^the serving guard failed: .+ it is safe to repeat/);
  });

  it('GIVEN an event that is no custom-resource request THEN it says what is missing and answers nobody', async () => {
    const result = await handle({ hello: 'world' });
    expect(result.status).toBe('unreadable');
    expect(result.message).toContain('RequestType');
    expect(answers).toEqual([]);
  });

  it('GIVEN a request with unreadable properties but a response URL THEN CloudFormation hears FAILED', async () => {
    const bad = { ...request('Update', true), ResourceProperties: { Model: 'document-classifier' } };
    const result = await handle(bad);
    expect(result.status).toBe('FAILED');
    expect(answers[0]!.body.Reason).toContain('ResourceProperties.Endpoints');
  });
});
