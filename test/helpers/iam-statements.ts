/**
 * Every IAM statement of a synthesized stack, with its resources expanded to plain ARN patterns,
 * so that tests can ask "may this role write where that role reads?" with `patternsOverlap`.
 *
 * Intrinsics are resolved as CloudFormation would: pseudo parameters from the stack's
 * environment, `Ref`/`Fn::GetAtt` of a resource to its physical name or ARN when the template
 * names it, otherwise to a placeholder unique to that stack and resource (two different
 * resources never share a placeholder, so they never overlap). An `Fn::ImportValue` becomes
 * `import:<export name>`: the same shared resource in every model stack.
 */
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

type Json = any;

export interface ExpandedStatement {
  /** Stack name / logical id of the role. */
  readonly role: string;
  readonly roleLogicalId: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly hasConditions: boolean;
}

export interface ExpandedStack {
  readonly stackName: string;
  readonly resources: Record<string, { Type: string; Properties?: Json }>;
  readonly statements: readonly ExpandedStatement[];
  /** ARNs of the resources the template names itself (functions, log groups, pipelines, alarms...). */
  readonly namedArns: readonly string[];
  /** Roles: logical id → the service principals that may assume it. */
  readonly roles: Record<string, readonly string[]>;
  resolve(value: Json): string;
}

const ARN_OF: Record<string, (name: string, env: Env) => string> = {
  'AWS::S3::Bucket': (n) => `arn:aws:s3:::${n}`,
  'AWS::Lambda::Function': (n, e) => `arn:aws:lambda:${e.region}:${e.account}:function:${n}`,
  'AWS::Logs::LogGroup': (n, e) => `arn:aws:logs:${e.region}:${e.account}:log-group:${n}:*`,
  'AWS::IAM::Role': (n, e) => `arn:aws:iam::${e.account}:role/${n}`,
  'AWS::DynamoDB::Table': (n, e) => `arn:aws:dynamodb:${e.region}:${e.account}:table/${n}`,
  'AWS::SQS::Queue': (n, e) => `arn:aws:sqs:${e.region}:${e.account}:${n}`,
  'AWS::CodeBuild::Project': (n, e) => `arn:aws:codebuild:${e.region}:${e.account}:project/${n}`,
  'AWS::CodePipeline::Pipeline': (n, e) => `arn:aws:codepipeline:${e.region}:${e.account}:${n}`,
  'AWS::CloudWatch::Alarm': (n, e) => `arn:aws:cloudwatch:${e.region}:${e.account}:alarm:${n}`,
  'AWS::SSM::Parameter': (n, e) => `arn:aws:ssm:${e.region}:${e.account}:parameter${n}`,
};

const NAME_PROPERTY: Record<string, string> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::CodeBuild::Project': 'Name',
  'AWS::CodePipeline::Pipeline': 'Name',
  'AWS::SSM::Parameter': 'Name',
  'AWS::CloudWatch::Alarm': 'AlarmName',
};

interface Env {
  readonly account: string;
  readonly region: string;
}

export function expandStack(stack: Stack): ExpandedStack {
  const template = Template.fromStack(stack).toJSON();
  const resources = template.Resources as Record<string, { Type: string; Properties?: Json }>;
  const env: Env = { account: stack.account, region: stack.region };
  const placeholder = (id: string, attr?: string) => `<${stack.stackName}/${id}${attr ? `.${attr}` : ''}>`;

  const resolve = (value: Json): string => {
    if (typeof value === 'string') return value;
    if (typeof value !== 'object' || value === null) return String(value);
    if ('Ref' in value) {
      const ref = value.Ref as string;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return env.region;
      if (ref === 'AWS::AccountId') return env.account;
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      if (ref === 'AWS::StackName') return stack.stackName;
      const r = resources[ref];
      const prop = r && NAME_PROPERTY[r.Type];
      const named = prop ? r.Properties?.[prop] : undefined;
      return typeof named === 'string' ? named : placeholder(ref);
    }
    if ('Fn::GetAtt' in value) {
      const [id, attr] = value['Fn::GetAtt'] as [string, string];
      const r = resources[id];
      const prop = r && NAME_PROPERTY[r.Type];
      const named = prop ? r.Properties?.[prop] : undefined;
      const arnOf = r && ARN_OF[r.Type];
      if (attr === 'Arn' && typeof named === 'string' && arnOf) return arnOf(named, env);
      return placeholder(id, attr);
    }
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map(resolve).join(sep);
    }
    if ('Fn::ImportValue' in value) return `import:${resolve(value['Fn::ImportValue'])}`;
    if ('Fn::Select' in value) {
      const [index, list] = value['Fn::Select'] as [number, Json];
      if (Array.isArray(list)) return resolve(list[index]);
      return `<${stack.stackName}/select>`;
    }
    return `<${stack.stackName}/${JSON.stringify(value)}>`;
  };

  const roles: Record<string, string[]> = {};
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    const trust = r.Properties?.AssumeRolePolicyDocument?.Statement ?? [];
    roles[id] = trust.flatMap((s: Json) => [s.Principal?.Service ?? []].flat().map(resolve));
  }

  const statements: ExpandedStatement[] = [];
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    for (const roleRef of r.Properties?.Roles ?? []) {
      const roleLogicalId = (roleRef as { Ref: string }).Ref;
      for (const s of r.Properties?.PolicyDocument?.Statement ?? []) {
        if (s.Effect !== 'Allow') continue;
        statements.push({
          role: `${stack.stackName}/${roleLogicalId}`,
          roleLogicalId,
          actions: [s.Action].flat(),
          resources: [s.Resource].flat().map(resolve),
          hasConditions: s.Condition !== undefined,
        });
      }
    }
  }
  const namedArns = Object.values(resources).flatMap((r) => {
    const prop = NAME_PROPERTY[r.Type];
    const named = prop ? r.Properties?.[prop] : undefined;
    const arnOf = ARN_OF[r.Type];
    return typeof named === 'string' && arnOf ? [arnOf(named, env)] : [];
  });
  return { stackName: stack.stackName, resources, statements, roles, namedArns, resolve };
}

/** IAM action patterns: `s3:Put*` covers `s3:PutObject`. */
export function actionMatches(granted: string, action: string): boolean {
  const body = granted
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i').test(action);
}

/** S3 actions that change what a later GetObject returns. */
export const S3_WRITES = [
  's3:PutObject',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:RestoreObject',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:AbortMultipartUpload',
  's3:ReplicateObject',
];
export const S3_READS = ['s3:GetObject', 's3:GetObjectVersion'];

export function grantsAny(statement: ExpandedStatement, actions: readonly string[]): boolean {
  return statement.actions.some((granted) => actions.some((a) => actionMatches(granted, a)));
}
