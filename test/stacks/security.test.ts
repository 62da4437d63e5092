import { KEY_USE_SERVICES } from '../../lib/stacks/platform-key-policy';
import { shippedConfig } from '../helpers/config-fixture';
import { shippedPlatform } from '../helpers/shipped-platform';

// GIVEN the shipped config, WHEN the platform is built, THEN paging, logs and the key keep the
// promises of docs/security.md. Every check runs over every template, so a resource added later
// by any construct is held to the same rule.
const config = shippedConfig();
const platformName = config.platform.name;
const { shared, models } = shippedPlatform();
type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
const templates = [shared, ...models].map((stack) => ({
  stack: stack.stackName,
  resources: stack.template.toJSON().Resources as Record<string, Resource>,
}));
const all = (type: string) =>
  templates.flatMap(({ stack, resources }) =>
    Object.entries(resources)
      .filter(([, r]) => r.Type === type)
      .map(([id, r]) => ({ stack, id, ...r })),
  );
const sharedResources = templates[0]!.resources;
const sharedOfType = (type: string) => Object.entries(sharedResources).filter(([, r]) => r.Type === type);
const keyPolicy = sharedOfType('AWS::KMS::Key')[0]![1].Properties.KeyPolicy.Statement as any[];
const [pagingTopicId] = sharedOfType('AWS::SNS::Topic')[0]!;
/** A reference to the paging topic, from the shared stack itself or from a model stack. */
const isPagingTopic = (ref: unknown) =>
  JSON.stringify(ref).includes(`Ref${pagingTopicId}`) ||
  JSON.stringify(ref) === JSON.stringify({ Ref: pagingTopicId });
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
/** `arn:...:alarm:mlops-*` as a test for an alarm name. */
const alarmPattern = (arnLike: string) =>
  new RegExp(`^${arnLike.split(':alarm:')[1]!.replace(/\*/g, '.*')}$`);

describe('paging delivers', () => {
  test('the topic policy lets CloudWatch publish, only for alarms of this account and platform', () => {
    const [, policy] = sharedOfType('AWS::SNS::TopicPolicy')[0]!;
    const allow = policy.Properties.PolicyDocument.Statement.filter(
      (s: any) => s.Effect === 'Allow' && s.Principal?.Service === 'cloudwatch.amazonaws.com',
    );
    expect(allow).toEqual([
      expect.objectContaining({
        Action: 'sns:Publish',
        Resource: { Ref: pagingTopicId },
        Condition: {
          StringEquals: { 'aws:SourceAccount': '123456789012' },
          ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${platformName}-*` },
        },
      }),
    ]);
  });

  test('every alarm that pages is one the topic policy and the key policy accept', () => {
    const paging = all('AWS::CloudWatch::Alarm').filter((a) =>
      (a.Properties.AlarmActions ?? []).some(isPagingTopic),
    );
    expect(paging.length).toBeGreaterThanOrEqual(12);
    const [, policy] = sharedOfType('AWS::SNS::TopicPolicy')[0]!;
    const topicAccepts = alarmPattern(
      policy.Properties.PolicyDocument.Statement.find(
        (s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com',
      ).Condition.ArnLike['aws:SourceArn'],
    );
    const keyStatement = keyPolicy.find((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    const keyAccepts = alarmPattern(keyStatement.Condition.ArnLike['aws:SourceArn']);
    for (const alarm of paging) {
      expect({
        alarm: alarm.Properties.AlarmName,
        topic: topicAccepts.test(alarm.Properties.AlarmName),
      }).toEqual({
        alarm: alarm.Properties.AlarmName,
        topic: true,
      });
      expect(keyAccepts.test(alarm.Properties.AlarmName)).toBe(true);
    }
  });

  test('every subscription keeps what it could not deliver in a dead-letter queue', () => {
    const subscriptions = all('AWS::SNS::Subscription');
    expect(subscriptions).toHaveLength(config.platform.paging.subscriptions.length);
    for (const sub of subscriptions) {
      expect(sub.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/DeadLetterQueue/), 'Arn'] },
      });
    }
  });

  test('every dead-letter queue has an alarm that pages on the first message', () => {
    // Dead-letter queues: of SNS subscriptions and SQS queues (redrive), schedules, and async invokes.
    const dlqIds = new Set<string>();
    const collect = (arn: unknown) => {
      const getAtt = (arn as { 'Fn::GetAtt'?: [string, string] })?.['Fn::GetAtt'];
      if (getAtt) dlqIds.add(getAtt[0]);
    };
    for (const sub of all('AWS::SNS::Subscription'))
      collect(sub.Properties.RedrivePolicy?.deadLetterTargetArn);
    for (const q of all('AWS::SQS::Queue')) collect(q.Properties.RedrivePolicy?.deadLetterTargetArn);
    for (const s of all('AWS::Scheduler::Schedule')) collect(s.Properties.Target.DeadLetterConfig?.Arn);
    for (const c of all('AWS::Lambda::EventInvokeConfig'))
      collect(c.Properties.DestinationConfig?.OnFailure?.Destination);
    expect([...dlqIds].map((id) => id.slice(0, -8)).sort()).toEqual([
      'MonitoringMonitorDlq',
      'PagingDeliveryDeadLetterQueue',
      'RoutingAnalysisDlq',
      'RoutingPredictionLogFallbackDlq',
    ]);
    const alarms = all('AWS::CloudWatch::Alarm');
    for (const dlq of dlqIds) {
      const watching = alarms.filter(
        (a) =>
          a.Properties.Namespace === 'AWS/SQS' &&
          a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(a.Properties.Dimensions).includes(`"${dlq}","QueueName"`),
      );
      expect({ dlq, alarms: watching.length }).toEqual({ dlq, alarms: 1 });
      expect(watching[0]!.Properties).toMatchObject({
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      expect(watching[0]!.Properties.AlarmActions.some(isPagingTopic)).toBe(true);
    }
  });

  test('a rollback that fails after Lambda retries pages through its on-failure destination', () => {
    const configs = all('AWS::Lambda::EventInvokeConfig').filter((c) =>
      JSON.stringify(c.Properties.FunctionName).includes(
        models[0]!.logicalId('Monitoring/Rollback/Function/Resource'),
      ),
    );
    expect(configs).toHaveLength(1);
    expect(isPagingTopic(configs[0]!.Properties.DestinationConfig.OnFailure.Destination)).toBe(true);
    expect(configs[0]!.Properties).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 });
  });
});

describe('logs', () => {
  test('every log group is encrypted with the platform key and has a retention', () => {
    const groups = all('AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(18);
    for (const group of groups) {
      expect({
        name: group.Properties.LogGroupName,
        key: JSON.stringify(group.Properties.KmsKeyId ?? null),
      }).toEqual({
        name: group.Properties.LogGroupName,
        key: expect.stringContaining('PlatformKey'),
      });
      expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  test('the key lets CloudWatch Logs encrypt exactly the platform’s log groups', () => {
    const statement = keyPolicy.find((s) => s.Principal?.Service === 'logs.eu-west-1.amazonaws.com');
    const patterns = (statement.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn'] as string[]).map(
      (p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`),
    );
    for (const group of all('AWS::Logs::LogGroup')) {
      const arn = `arn:aws:logs:eu-west-1:123456789012:log-group:${group.Properties.LogGroupName}`;
      expect({ arn, covered: patterns.some((p) => p.test(arn)) }).toEqual({ arn, covered: true });
    }
    expect(
      patterns.some((p) => p.test('arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/other-team-fn')),
    ).toBe(false);
  });

  test('no role may create a log group the stack does not create itself', () => {
    const creating = all('AWS::IAM::Policy').flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter((st: any) =>
        list(st.Action).some((a: string) => /^logs:(CreateLogGroup|Create\*|\*)$/.test(a)),
      ).map((st: any) => ({ policy: p.id, resources: JSON.stringify(st.Resource) })),
    );
    // Only CodeBuild's default grant (CDK), on its project's own group, which the stack creates first
    // with retention and the key: the call would fail with ResourceAlreadyExists.
    const codeBuildGroups = all('AWS::Logs::LogGroup').filter((g) =>
      JSON.stringify(g.Properties.LogGroupName).includes('/aws/codebuild/'),
    );
    expect(codeBuildGroups).toHaveLength(all('AWS::CodeBuild::Project').length);
    const ownProjectGroup = /^\[\{"Fn::Join":\["",\["arn:aws:logs:[^"]+:log-group:\/aws\/codebuild\/"/;
    for (const { policy, resources } of creating) {
      expect({ policy, codebuild: ownProjectGroup.test(resources) }).toEqual({ policy, codebuild: true });
    }
    expect(creating.map((c) => c.policy).filter((p) => p.startsWith('Serving'))).toEqual([]);
  });
});

describe('the platform key', () => {
  const cryptoActions = /^kms:(Encrypt|Decrypt|ReEncrypt|GenerateDataKey|\*)/;

  test('administration carries no cryptographic use, and no statement grants kms:*', () => {
    for (const s of keyPolicy) expect(list(s.Action)).not.toContain('kms:*');
    const admin = keyPolicy.find((s) => s.Sid === 'KeyAdministrationWithoutUse');
    expect(admin.Condition).toBeUndefined();
    expect(list(admin.Action).filter((a: string) => cryptoActions.test(a))).toEqual([]);
  });

  test('this account uses the key only through the platform’s services', () => {
    const accountUse = keyPolicy.filter(
      (s) => s.Principal?.AWS !== undefined && list(s.Action).some((a: string) => cryptoActions.test(a)),
    );
    expect(accountUse).toHaveLength(1);
    expect(accountUse[0].Condition).toEqual({
      StringEquals: {
        'kms:CallerAccount': '123456789012',
        'kms:ViaService': KEY_USE_SERVICES.map((s) => `${s}.eu-west-1.amazonaws.com`),
      },
    });
  });

  test('every service principal is bound to a source: account and ARN, or the log group', () => {
    const services = keyPolicy.filter((s) => s.Principal?.Service !== undefined);
    expect(services.map((s) => s.Principal.Service).sort()).toEqual([
      'cloudwatch.amazonaws.com',
      'logs.eu-west-1.amazonaws.com',
      'sns.amazonaws.com',
    ]);
    for (const s of services) {
      const conditions = JSON.stringify(s.Condition ?? {});
      const bound =
        (conditions.includes('aws:SourceAccount') && conditions.includes('aws:SourceArn')) ||
        conditions.includes('kms:EncryptionContext:aws:logs:arn');
      expect({ service: s.Principal.Service, bound }).toEqual({ service: s.Principal.Service, bound: true });
    }
  });
});
