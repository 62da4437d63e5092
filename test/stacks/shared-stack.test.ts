import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildPlatform } from '../../lib/platform';
import { ConfigFixture, newApp } from '../helpers/config-fixture';
import { shippedPlatform } from '../helpers/shipped-platform';

// GIVEN the shipped config, WHEN the platform is built, THEN the shared stack keeps its promises.
const { shared } = shippedPlatform();
const template = shared.template;
const kmsBuckets = ['DvcRemote', 'Artifacts', 'PredictionLogs', 'DataCapture'];
const bucketId = (id: string) => shared.logicalId(`${id}/Resource`);
const keyId = shared.logicalId('PlatformKey/Resource');

describe('SharedStack', () => {
  test('one customer-managed KMS key with rotation, retained on delete', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/mlops/platform' });
  });

  test.each(kmsBuckets)(
    '%s bucket: SSE-KMS with the platform key, versioned, public access blocked, logged',
    (id) => {
      const bucket = template.toJSON().Resources[bucketId(id)];
      expect(bucket.Type).toBe('AWS::S3::Bucket');
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
          },
        },
      ]);
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.LoggingConfiguration.DestinationBucketName).toEqual({
        Ref: bucketId('AccessLogs'),
      });
    },
  );

  test('the access-log bucket uses SSE-S3, the only encryption S3 log delivery supports', () => {
    const bucket = template.toJSON().Resources[bucketId('AccessLogs')];
    expect(
      bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toEqual({
      SSEAlgorithm: 'AES256',
    });
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.PublicAccessBlockConfiguration.BlockPublicPolicy).toBe(true);
  });

  test.each([...kmsBuckets, 'AccessLogs'])('%s bucket policy denies non-TLS and TLS below 1.2', (id) => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId(id) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
          }),
        ]),
      },
    });
  });

  test.each(['DvcRemote', 'Artifacts'])(
    '%s keeps history: object lock with the configured retention',
    (id) => {
      const props = template.toJSON().Resources[bucketId(id)].Properties;
      expect(props.ObjectLockEnabled).toBe(true);
      expect(props.ObjectLockConfiguration).toEqual({
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
      });
      const rules = props.LifecycleConfiguration.Rules;
      // Superseded versions move to cheaper storage; nothing ever expires them.
      expect(rules).toEqual([
        expect.objectContaining({
          Status: 'Enabled',
          NoncurrentVersionTransitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
        }),
      ]);
      expect(JSON.stringify(rules)).not.toMatch(/Expiration/);
    },
  );

  test('prediction logs and data capture are not locked, and expire as configured', () => {
    const res = template.toJSON().Resources;
    expect(res[bucketId('PredictionLogs')].Properties.ObjectLockEnabled).toBeUndefined();
    expect(res[bucketId('PredictionLogs')].Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      ExpirationInDays: 400,
      Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
    });
    expect(res[bucketId('DataCapture')].Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      ExpirationInDays: 90,
    });
    expect(res[bucketId('AccessLogs')].Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      ExpirationInDays: 365,
    });
  });

  test('bucket names are readable and unique per account and region', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'mlops-dvc-remote-123456789012-eu-west-1',
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'mlops-artifacts-123456789012-eu-west-1',
    });
  });

  test('the paging topic is KMS-encrypted, TLS-only and has every configured subscription', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'mlops-paging',
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ml-oncall@example.com',
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://events.pagerduty.example.com/integration/ml-platform/enqueue',
    });
  });

  test('CloudWatch alarms may use the key to publish to the encrypted topic, scoped to this account', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ]),
      },
    });
  });

  test('outputs name every shared resource and are exported for other stacks and scripts', () => {
    const outputs = template.toJSON().Outputs;
    // PublishOutput* are CDK's own, for the model stacks' reference to the key ARN.
    expect(
      Object.keys(outputs)
        .filter((k) => !k.startsWith('PublishOutput'))
        .sort(),
    ).toEqual([
      'AccessLogsBucketName',
      'ArtifactsBucketName',
      'DataCaptureBucketName',
      'DvcRemoteBucketName',
      'PagingTopicArn',
      'PlatformKeyArn',
      'PredictionLogsBucketName',
    ]);
    expect(outputs.DvcRemoteBucketName.Export).toEqual({ Name: 'mlops-DvcRemoteBucketName' });
  });

  test("S3 may deliver the pipeline artifact stores' access logs, from this account's platform buckets only", () => {
    // Each model stack has its own pipeline artifact stores (test/security); their logs come here.
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId('AccessLogs') },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'S3ServerAccessLogsOfPipelineArtifactStores',
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Resource: {
              'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId('AccessLogs'), 'Arn'] }, '/pipeline-artifacts/*']],
            },
            Condition: {
              StringEquals: { 'aws:SourceAccount': '123456789012' },
              ArnLike: { 'aws:SourceArn': 'arn:aws:s3:::mlops-*' },
            },
          }),
        ]),
      },
    });
    template.resourcePropertiesCountIs(
      'AWS::S3::Bucket',
      { BucketName: Match.stringLikeRegexp('pipeline-artifacts') },
      0,
    );
  });

  test('config tags are on every taggable resource', () => {
    for (const type of ['AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::SNS::Topic']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.Properties.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'CostCenter', Value: 'ml-platform' },
            { Key: 'Owner', Value: 'platform-team' },
            { Key: 'Platform', Value: 'mlops' },
          ]),
        );
      }
    }
  });

  test('COMPLIANCE mode and other retention and lifecycle values come from config', () => {
    const fixture = new ConfigFixture()
      .edit('platform.yaml', 'mode: GOVERNANCE', 'mode: COMPLIANCE')
      .edit('platform.yaml', '    days: 365', '    days: 730')
      .edit('platform.yaml', '    expireAfterDays: 400', '    expireAfterDays: 100');
    try {
      const { shared: other } = buildPlatform(newApp(), fixture.load());
      const t = Template.fromStack(other);
      t.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: 'mlops-dvc-remote-123456789012-eu-west-1',
        ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 730 } } },
      });
      t.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: 'mlops-prediction-logs-123456789012-eu-west-1',
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 100 })] },
      });
    } finally {
      fixture.dispose();
    }
  });
});
