/**
 * The model stack as it is synthesized: the rehearsal reads the alarms, the functions'
 * environments, the release settings parameter and the flag's deployment strategy from the
 * template, never from a second copy of the numbers.
 *
 * Synthesizing takes seconds to tens of seconds, so the template is cached under
 * `cdk.out/rehearsal/`, keyed by a hash of the config directory and of the source that builds
 * the stack (lib/ and lambdas/core): a change to either synthesizes again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as Cdk from 'aws-cdk-lib';
import type { PlatformConfig } from '../../lambdas/core/contracts/config-schema';
import { REPO_ROOT } from '../repo-root';
import type * as ModelStackModule from '../stacks/model-stack';
import type * as SharedStackModule from '../stacks/shared-stack';

/** One CloudFormation resource. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface Template {
  readonly Resources: Record<string, CfnResource>;
}

function listFiles(dir: string, ext: RegExp, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) listFiles(full, ext, out);
    else if (ext.test(name)) out.push(full);
  }
  return out;
}

/** Hash of everything the synthesized model stack depends on. */
export function templateInputsHash(configDir: string): string {
  const hash = createHash('sha256');
  const files = [
    ...listFiles(path.resolve(configDir), /\.ya?ml$/),
    ...listFiles(path.join(REPO_ROOT, 'lib', 'config'), /\.ts$/),
    ...listFiles(path.join(REPO_ROOT, 'lib', 'constructs'), /\.ts$/),
    ...listFiles(path.join(REPO_ROOT, 'lib', 'stacks'), /\.ts$/),
    ...listFiles(path.join(REPO_ROOT, 'lambdas', 'core'), /\.ts$/),
    path.join(REPO_ROOT, 'cdk.json'),
  ];
  for (const file of files) {
    hash.update(path.relative(REPO_ROOT, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Loaded only to synthesize: aws-cdk-lib, the constructs and cdk-nag take seconds to load, and a
 * cached template needs none of them.
 */
function load<T>(module: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(module) as T;
}

function synthesize(config: PlatformConfig, model: string): Template {
  const { App } = load<typeof Cdk>('aws-cdk-lib');
  const { ModelStack } = load<typeof ModelStackModule>('../stacks/model-stack');
  const { SharedStack } = load<typeof SharedStackModule>('../stacks/shared-stack');
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  // No bundling: the rehearsal runs the handlers' source, not the bundles.
  const app = new App({
    context: { ...(cdkJson.context ?? {}), 'aws:cdk:bundling-stacks': [] },
    outdir: path.join(REPO_ROOT, 'cdk.out', 'rehearsal', 'assembly'),
  });
  const { platform } = config;
  const env = { account: platform.environment.account, region: platform.environment.region };
  const shared = new SharedStack(app, 'Shared', { stackName: `${platform.name}-shared`, env, platform });
  const modelConfig = config.models.find((m) => m.name === model);
  if (!modelConfig) throw new Error(`model ${model} is not in the config`);
  const stack = new ModelStack(app, `Model-${model}`, {
    stackName: `${platform.name}-${model}`,
    env,
    platform,
    model: modelConfig,
    shared,
  });
  return app.synth().getStackByName(stack.stackName).template as Template;
}

/** The synthesized model stack template, from the cache when its inputs are unchanged. */
export function modelTemplate(
  config: PlatformConfig,
  configDir: string,
  model: string,
  onSynth: (message: string) => void = () => undefined,
): Template {
  const dir = path.join(REPO_ROOT, 'cdk.out', 'rehearsal');
  const file = path.join(dir, `Model-${model}-${templateInputsHash(configDir)}.template.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Template;
  onSynth(`synthesizing the model stack of ${model} (cached in ${path.relative(process.cwd(), file)})`);
  const template = synthesize(config, model);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, JSON.stringify(template));
  return template;
}

/** Emulated account and region of every ARN the rehearsal makes up. */
export const EMULATED_ACCOUNT = '123456789012';
export const EMULATED_REGION = 'eu-west-1';

/**
 * Resolves CloudFormation intrinsics to the values the emulator uses: `Ref` to the logical id,
 * `Fn::GetAtt` to an ARN or URL named after it, imports from the shared stack to their output name.
 */
export function resolveValue(value: unknown, resources: Template['Resources'] = {}): unknown {
  const resolve = (v: unknown) => resolveValue(v, resources);
  if (Array.isArray(value)) return value.map(resolve);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if ('Ref' in obj) {
    const ref = String(obj.Ref);
    if (ref === 'AWS::Region') return EMULATED_REGION;
    if (ref === 'AWS::AccountId') return EMULATED_ACCOUNT;
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    // Ref returns the ARN of a secret and the URL of a queue (each resource type's Ref documentation).
    const type = resources[ref]?.Type;
    if (type === 'AWS::SecretsManager::Secret' || type === 'AWS::SNS::Topic') {
      return `arn:aws:emulated:${EMULATED_REGION}:${EMULATED_ACCOUNT}:${ref}`;
    }
    if (type === 'AWS::SSM::Parameter' && resources[ref]?.Properties?.Name !== undefined) {
      return resolve(resources[ref]!.Properties!.Name);
    }
    if (type === 'AWS::SQS::Queue')
      return `https://sqs.${EMULATED_REGION}.amazonaws.com/${EMULATED_ACCOUNT}/${ref}`;
    return ref;
  }
  if ('Fn::GetAtt' in obj) {
    const [id, attr] = obj['Fn::GetAtt'] as [string, string];
    if (attr === 'Arn' || attr.endsWith('Arn'))
      return `arn:aws:emulated:${EMULATED_REGION}:${EMULATED_ACCOUNT}:${id}`;
    if (attr === 'QueueUrl') return `https://sqs.${EMULATED_REGION}.amazonaws.com/${EMULATED_ACCOUNT}/${id}`;
    return `${id}.${attr}`;
  }
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(resolve(p))).join(sep);
  }
  if ('Fn::GetStackOutput' in obj) {
    const out = String((obj['Fn::GetStackOutput'] as { OutputName: string }).OutputName);
    return /arn|Key|Paging|Topic/i.test(out)
      ? `arn:aws:emulated:${EMULATED_REGION}:${EMULATED_ACCOUNT}:${out}`
      : out;
  }
  if ('Fn::ImportValue' in obj) {
    const name = String(resolve(obj['Fn::ImportValue']));
    return /arn|Arn|Key/i.test(name)
      ? `arn:aws:emulated:${EMULATED_REGION}:${EMULATED_ACCOUNT}:${name}`
      : name;
  }
  if ('Fn::Select' in obj) {
    const [i, list] = obj['Fn::Select'] as [number, unknown];
    const resolved = resolve(list);
    return Array.isArray(resolved) ? resolved[Number(i)] : resolved;
  }
  if ('Fn::Split' in obj) {
    const [sep, s] = obj['Fn::Split'] as [string, unknown];
    return String(resolve(s)).split(sep);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, resolve(v)]));
}

/** The resolved environment of the function whose logical id matches `pattern`. */
export function functionEnvironment(template: Template, pattern: RegExp): Record<string, string> {
  const found = Object.entries(template.Resources).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && pattern.test(id),
  );
  if (!found) throw new Error(`the model stack has no Lambda function matching ${pattern}`);
  const vars = (found[1].Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  return Object.fromEntries(
    Object.entries(vars ?? {}).map(([k, v]) => [k, String(resolveValue(v, template.Resources))]),
  );
}

/** The logical id of the function whose id matches `pattern`. */
export function functionId(template: Template, pattern: RegExp): string | undefined {
  return Object.entries(template.Resources).find(
    ([id, r]) => r.Type === 'AWS::Lambda::Function' && pattern.test(id),
  )?.[0];
}

export function resourcesOfType(template: Template, type: string): [string, Record<string, unknown>][] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [
      id,
      (resolveValue(r.Properties ?? {}, template.Resources) as Record<string, unknown>) ?? {},
    ]);
}
