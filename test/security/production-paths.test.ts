/**
 * Who can change what reaches production (issue 14, findings 1, 2 and 6), proven on the
 * synthesized templates: every IAM statement is expanded to plain ARN patterns and compared with
 * `patternsOverlap`, so a wildcard that reaches further than its author meant is caught.
 *
 * Two models whose names extend each other (`document-classifier`, `document-classifier-v2`)
 * are synthesized side by side: a `<prefix>-*` pattern of the first covers the second's names.
 */
import type { Stack } from 'aws-cdk-lib';
import { patternsOverlap } from '../../lambdas/core/security/iam-patterns';
import { buildPlatform } from '../../lib/platform';
import { ConfigFixture, EXAMPLE_MODEL, newApp } from '../helpers/config-fixture';
import {
  expandStack,
  grantsAny,
  S3_READS,
  S3_WRITES,
  type ExpandedStack,
  type ExpandedStatement,
} from '../helpers/iam-statements';

const A = 'document-classifier';
const B = 'document-classifier-v2';

const fixture = new ConfigFixture();
fixture.write(
  `models/${B}.yaml`,
  fixture.read(EXAMPLE_MODEL).replace(/\b(name: )document-classifier\n/g, `$1${B}\n`),
);
const platform = buildPlatform(newApp(), fixture.load());
fixture.dispose();
const stackOf = (model: string): Stack => {
  const found = platform.models.find((s) => s.stackName === `mlops-${model}`);
  if (!found) throw new Error(`no stack for ${model}`);
  return found;
};
const stacks: Record<string, ExpandedStack> = { [A]: expandStack(stackOf(A)), [B]: expandStack(stackOf(B)) };

/** Role logical ids of the CodeBuild projects a pipeline runs. */
function projectRolesOf(stack: ExpandedStack, pipelineSuffix: '-pr' | '-release'): string[] {
  const pipeline = Object.values(stack.resources).find(
    (r) =>
      r.Type === 'AWS::CodePipeline::Pipeline' && String(r.Properties?.Name ?? '').endsWith(pipelineSuffix),
  );
  if (!pipeline) throw new Error(`no pipeline ending in ${pipelineSuffix} in ${stack.stackName}`);
  const projects = (pipeline.Properties!.Stages as any[])
    .flatMap((s) => s.Actions)
    .filter((a) => a.ActionTypeId.Provider === 'CodeBuild')
    .map((a) => a.Configuration.ProjectName.Ref as string);
  return projects.map((p) => stack.resources[p]!.Properties!.ServiceRole['Fn::GetAtt'][0] as string);
}

function pipelineRoleOf(stack: ExpandedStack, pipelineSuffix: '-pr' | '-release'): string {
  const pipeline = Object.values(stack.resources).find(
    (r) =>
      r.Type === 'AWS::CodePipeline::Pipeline' && String(r.Properties?.Name ?? '').endsWith(pipelineSuffix),
  );
  return pipeline!.Properties!.RoleArn['Fn::GetAtt'][0] as string;
}

/** Role logical ids of the functions whose names end with one of `suffixes`. */
function functionRolesOf(stack: ExpandedStack, suffixes: readonly string[]): string[] {
  return Object.values(stack.resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function')
    .filter((r) => suffixes.some((s) => String(r.Properties?.FunctionName ?? '').endsWith(s)))
    .map((r) => r.Properties!.Role['Fn::GetAtt'][0] as string);
}

/** Roles SageMaker assumes: what they read is what an endpoint serves. */
function sageMakerRolesOf(stack: ExpandedStack): string[] {
  return Object.entries(stack.roles)
    .filter(([, principals]) => principals.includes('sagemaker.amazonaws.com'))
    .map(([id]) => id);
}

/** Every CodeBuild project's role: the team's commands (and a pull request's) run under them. */
function teamCodeRolesOf(stack: ExpandedStack): string[] {
  return Object.values(stack.resources)
    .filter((r) => r.Type === 'AWS::CodeBuild::Project')
    .map((r) => r.Properties!.ServiceRole['Fn::GetAtt'][0] as string);
}

/** Functions that create, change or restore what serves. */
const SERVING_STAGES = ['-shadow', '-canary', '-promotion', '-rollback'];
/** The release pipeline's readers besides its own builds: the publisher and the serving stages. */
const RELEASE_FUNCTIONS = [...SERVING_STAGES, '-publish-model'];

interface Conflict {
  readonly writer: string;
  readonly writes: string;
  readonly reader: string;
  readonly reads: string;
}

function conflicts(
  stack: ExpandedStack,
  writers: readonly string[],
  readers: readonly string[],
  writeActions: readonly string[],
  readActions: readonly string[],
): Conflict[] {
  const of = (ids: readonly string[], actions: readonly string[]) =>
    stack.statements.filter((s) => ids.includes(s.roleLogicalId) && grantsAny(s, actions));
  const found: Conflict[] = [];
  for (const w of of(writers, writeActions)) {
    for (const r of of(readers, readActions)) {
      for (const writes of w.resources) {
        for (const reads of r.resources) {
          if (patternsOverlap(writes, reads)) found.push({ writer: w.role, writes, reader: r.role, reads });
        }
      }
    }
  }
  return found;
}

describe.each([A, B])('%s: code from the team or a pull request cannot reach production', (model) => {
  const stack = stacks[model]!;

  test('the PR pipeline runs its own CodeBuild projects, not the release pipeline’s', () => {
    const pr = projectRolesOf(stack, '-pr');
    const release = projectRolesOf(stack, '-release');
    expect(pr.length).toBeGreaterThan(0);
    expect(pr.filter((role) => release.includes(role))).toEqual([]);
  });

  test('no role that runs team or PR code may write an object that SageMaker or a serving stage reads', () => {
    const production = [...sageMakerRolesOf(stack), ...functionRolesOf(stack, SERVING_STAGES)];
    expect(production.length).toBeGreaterThanOrEqual(5);
    expect(conflicts(stack, teamCodeRolesOf(stack), production, S3_WRITES, S3_READS)).toEqual([]);
  });

  test('no role that runs PR code may write an object that the release pipeline reads', () => {
    const release = [
      pipelineRoleOf(stack, '-release'),
      ...projectRolesOf(stack, '-release'),
      ...functionRolesOf(stack, RELEASE_FUNCTIONS),
    ];
    expect(conflicts(stack, projectRolesOf(stack, '-pr'), release, S3_WRITES, S3_READS)).toEqual([]);
  });

  test('SageMaker reads model archives only from where the platform publishes them', () => {
    const archives = stack.statements
      .filter((s) => sageMakerRolesOf(stack).includes(s.roleLogicalId) && grantsAny(s, ['s3:GetObject']))
      .flatMap((s) => s.resources);
    expect(archives).toContainEqual(expect.stringMatching(`/models/${model}/archives/sha256/`));
    // Everyone that may write there is the publisher; it runs platform code only.
    const writers = stack.statements
      .filter((s) => grantsAny(s, S3_WRITES))
      .filter((s) => s.resources.some((w) => archives.some((r) => patternsOverlap(w, r))))
      .map((s) => s.roleLogicalId);
    expect([...new Set(writers)]).toEqual(functionRolesOf(stack, ['-publish-model']));
  });
});

/**
 * Resources every model stack uses by design, each for a reason a reviewer can check:
 * - the platform key and paging topic (imported from the shared stack);
 * - the shared buckets themselves (s3:ListBucket: key names, never contents; objects are granted
 *   by each model's own prefix, which the test does compare);
 * - the Glue catalog, database and the one predictions table (rows are read through each model's
 *   own S3 partition, `model=<name>/`);
 * - the platform's GitHub connection (platform.github.connectionArn) and the AWS Deep Learning
 *   Container repositories (AWS's account 763104351884; pull only);
 * - the account's one service-linked role for SageMaker autoscaling;
 * - the GitHub token secret of platform.yaml, when models do not name their own
 *   (docs/security-production-paths.md says why that is accepted).
 */
function platformShared(resource: string): boolean {
  return (
    resource === '*' ||
    resource.startsWith('import:') ||
    /^arn:aws:s3:::[a-z0-9-]+$/.test(resource) ||
    /^arn:aws:glue:[a-z0-9-]+:\d+:(catalog|database\/[a-z0-9_]+|table\/[a-z0-9_]+\/predictions)$/.test(
      resource,
    ) ||
    /^arn:aws:codeconnections:[a-z0-9-]+:\d+:connection\/[0-9a-f-]+$/.test(resource) ||
    /^arn:aws:ecr:[a-z0-9-]+:763104351884:repository\/[a-z0-9-]+$/.test(resource) ||
    resource.endsWith(
      ':role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
    ) ||
    resource.endsWith(':secret:mlops/github-app-private-key-??????')
  );
}

function crossModelTouches(from: ExpandedStack, to: ExpandedStack) {
  const theirs = [...new Set([...to.statements.flatMap((s) => s.resources), ...to.namedArns])].filter(
    (r) => !platformShared(r),
  );
  const touches: { role: string; actions: string; resource: string; theirs: string }[] = [];
  for (const s of from.statements as ExpandedStatement[]) {
    for (const resource of s.resources) {
      if (resource === '*') continue;
      for (const t of theirs) {
        if (patternsOverlap(resource, t) && !platformShared(resource)) {
          touches.push({ role: s.role, actions: s.actions.join(','), resource, theirs: t });
        }
      }
    }
  }
  return touches;
}

describe('two models whose names extend each other are isolated', () => {
  test.each([
    [A, B],
    [B, A],
  ])('no role of %s may touch a resource of %s', (from, to) => {
    expect(crossModelTouches(stacks[from]!, stacks[to]!)).toEqual([]);
  });

  test('the only resources both models may use are the platform’s shared ones', () => {
    // A guard on the test itself: each model's roles do reach resources of their own.
    const own = [...new Set(stacks[A]!.statements.flatMap((s) => s.resources))].filter(
      (r) => !platformShared(r),
    );
    expect(own.length).toBeGreaterThan(40);
    expect(stacks[B]!.namedArns).toContainEqual(
      expect.stringMatching(/:function:mlops-document-classifier-v2-publish-model$/),
    );
  });
});
