/**
 * cdk-nag's IAM5 (wildcard permissions) reports one finding per wildcard action or resource, and
 * acknowledges only exact finding ids. Rather than copy generated ids into the code, a construct
 * declares which wildcards it expects, as patterns with the reason they are acceptable; every
 * policy under it is then checked with cdk-nag's own rule and each matching finding is
 * acknowledged on that policy. A wildcard nobody reviewed still fails the synth.
 *
 * Findings are computed before synthesis, so a reviewed scope must not put cross-stack
 * references into wildcard resources (the model stacks name shared buckets by name for this).
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { rules } from 'cdk-nag';
import type { IConstruct } from 'constructs';

export interface WildcardReview {
  /** Matches the finding as cdk-nag prints it, e.g. `Action::s3:GetObject*` or `Resource::arn:...:*`. */
  readonly finding: RegExp;
  /** Why this wildcard is acceptable; shown in the validation report. */
  readonly reason: string;
  /**
   * The actions this review allows on the resource `*`. cdk-nag reports every `*` resource of a
   * policy as one finding, `Resource::*`; it is acknowledged only when every statement granting on
   * `*` has actions all listed by the reviews that match it, so a later `*` grant of another action
   * still fails the synth.
   * @default - the review does not cover `Resource::*`
   */
  readonly starActions?: readonly string[];
}

/** How cdk-nag prints a partition in a finding: literal when the region is known, else the pseudo parameter. */
export const NAG_PARTITION = '(?:aws[a-z-]*|<AWS::Partition>)';

const reviews = new WeakMap<IConstruct, WildcardReview[]>();

/** Declares the wildcards expected in every IAM policy under `scope`. */
export function reviewWildcards(scope: IConstruct, ...expected: WildcardReview[]): void {
  reviews.set(scope, [...(reviews.get(scope) ?? []), ...expected]);
}

/** Acknowledges each reviewed IAM5 finding on the policy that has it. Call once the app is built. */
export function acknowledgeReviewedWildcards(root: IConstruct): void {
  for (const node of root.node.findAll()) {
    if (!(node instanceof iam.CfnPolicy)) continue;
    const applicable = node.node.scopes.flatMap((scope) => reviews.get(scope) ?? []);
    if (applicable.length === 0) continue;
    const findings = rules.iam.IAMNoWildcardPermissions(node);
    if (!Array.isArray(findings)) continue;
    for (const finding of findings) {
      const matching = applicable.filter((r) => r.finding.test(finding));
      if (matching.length === 0) continue;
      if (finding === 'Resource::*') {
        const allowed = new Set(matching.flatMap((r) => r.starActions ?? []));
        const granted = actionsOnEveryResource(node);
        if (granted.length === 0 || granted.some((a) => !allowed.has(a))) continue;
        const reasons = matching.filter((r) => r.starActions?.some((a) => granted.includes(a)));
        Validations.of(node).acknowledge({
          id: `AwsSolutions-IAM5[${finding}]`,
          reason: `${granted.join(', ')}: ${reasons.map((r) => r.reason).join(' ')}`,
        });
        continue;
      }
      Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: matching[0]!.reason });
    }
  }
}

/** Every action an Allow statement of the policy grants on the resource `*`, sorted. */
export function actionsOnEveryResource(policy: iam.CfnPolicy): string[] {
  const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: unknown[] };
  const actions = new Set<string>();
  for (const raw of document.Statement ?? []) {
    const statement = raw as { Effect?: string; Action?: unknown; Resource?: unknown };
    if (statement.Effect !== 'Allow') continue;
    const resources = [statement.Resource].flat();
    if (!resources.includes('*')) continue;
    for (const action of [statement.Action].flat()) if (typeof action === 'string') actions.add(action);
  }
  return [...actions].sort();
}
