import { modelResourceNames, nameCollisions, type ResourceKind } from '../../lib/config/resource-names';
import { runCli } from '../helpers/cli';
import { ConfigFixture, EXAMPLE_MODEL } from '../helpers/config-fixture';
import { shippedPlatform } from '../helpers/shipped-platform';

/** A copy of the example model under another name. */
function withModel(fixture: ConfigFixture, name: string): ConfigFixture {
  return fixture.write(
    `models/${name}.yaml`,
    fixture.read(EXAMPLE_MODEL).replace(/\b(name: )document-classifier\n/g, `$1${name}\n`),
  );
}

describe('model resource names', () => {
  test('every name a model stack gives a resource is listed, under its kind', () => {
    const resources = shippedPlatform().models[0]!.template.toJSON().Resources as Record<string, any>;
    const named: [ResourceKind, string][] = [];
    const kinds: Record<string, [ResourceKind, string, RegExp?]> = {
      'AWS::Lambda::Function': ['Lambda function', 'FunctionName'],
      'AWS::CodeBuild::Project': ['CodeBuild project', 'Name'],
      'AWS::CodePipeline::Pipeline': ['CodePipeline pipeline', 'Name'],
      'AWS::CloudWatch::Alarm': ['CloudWatch alarm', 'AlarmName'],
      'AWS::CloudWatch::Dashboard': ['CloudWatch dashboard', 'DashboardName'],
      'AWS::Events::Rule': ['EventBridge rule', 'Name'],
      'AWS::Scheduler::Schedule': ['EventBridge schedule', 'Name'],
      'AWS::SQS::Queue': ['SQS queue', 'QueueName'],
      'AWS::DynamoDB::Table': ['DynamoDB table', 'TableName'],
      'AWS::KinesisFirehose::DeliveryStream': ['Firehose stream', 'DeliveryStreamName'],
      'AWS::Athena::WorkGroup': ['Athena workgroup', 'Name'],
      'AWS::AppConfig::Application': ['AppConfig application', 'Name'],
      'AWS::AppConfig::DeploymentStrategy': ['AppConfig deployment strategy', 'Name'],
    };
    const logGroupOwners: [RegExp, ResourceKind][] = [
      [/^\/aws\/lambda\/(.+)$/, 'Lambda function'],
      [/^\/aws\/codebuild\/(.+)$/, 'CodeBuild project'],
      [/^\/aws\/kinesisfirehose\/(.+)$/, 'Firehose stream'],
      [/^\/aws\/sagemaker\/Endpoints\/(.+)$/, 'SageMaker endpoint'],
    ];
    for (const r of Object.values(resources)) {
      const kind = kinds[r.Type];
      if (kind && typeof r.Properties?.[kind[1]] === 'string') named.push([kind[0], r.Properties[kind[1]]]);
      if (r.Type === 'AWS::Logs::LogGroup') {
        const name = r.Properties.LogGroupName as string;
        const owner = logGroupOwners.find(([re]) => re.test(name));
        expect({ logGroup: name, owned: owner !== undefined }).toEqual({ logGroup: name, owned: true });
        named.push([owner![1], name.replace(owner![0], '$1')]);
      }
    }
    const listed = modelResourceNames('mlops', 'document-classifier');
    const unlisted = named.filter(([kind, name]) => !listed.some((l) => l.kind === kind && l.name === name));
    expect(unlisted).toEqual([]);
    expect(named.length).toBeGreaterThan(50);
  });

  test('names that merely extend each other do not collide', () => {
    expect(nameCollisions('mlops', 'document-classifier', 'document-classifier-v2')).toEqual([]);
    expect(nameCollisions('mlops', 'document-classifier-v2', 'document-classifier')).toEqual([]);
  });

  test('a model named after another model plus one of its suffixes collides', () => {
    expect(nameCollisions('mlops', 'fraud', 'fraud-pr')).toContainEqual({
      kind: 'CodeBuild project',
      names: ['mlops-fraud-pr-code-quality', 'mlops-fraud-pr-code-quality'],
    });
    expect(nameCollisions('mlops', 'fraud-pr', 'fraud')).toEqual([
      { kind: 'CodeBuild project', names: ['mlops-fraud-pr-code-quality', 'mlops-fraud-pr-code-quality'] },
      { kind: 'CodeBuild project', names: ['mlops-fraud-pr-evaluation', 'mlops-fraud-pr-evaluation'] },
    ]);
  });

  test('validate-config refuses colliding names, naming both files; accepts names that extend each other', async () => {
    const fixture = withModel(
      withModel(new ConfigFixture(), 'document-classifier-v2'),
      'document-classifier-pr',
    );
    try {
      const result = await runCli('validate-config', '-c', fixture.dir);
      expect(result.code).toBe(1);
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        `${fixture.dir}: 1 problem:`,
        // Files are read in name order: `document-classifier-pr.yaml` comes first.
        `  ${fixture.file(EXAMPLE_MODEL)}:5 name: resource names collide with ` +
          `${fixture.file('models/document-classifier-pr.yaml')} (got "document-classifier", and "document-classifier-pr" there): ` +
          'CodeBuild project mlops-document-classifier-pr-code-quality of "document-classifier" is also CodeBuild project ' +
          'mlops-document-classifier-pr-code-quality of "document-classifier-pr" (and 1 more); rename one of the two models',
      ]);
    } finally {
      fixture.dispose();
    }
  });
});
