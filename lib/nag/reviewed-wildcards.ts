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
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { rules } from 'cdk-nag';
import type { IConstruct } from 'constructs';

export interface WildcardReview {
  /** Matches the finding as cdk-nag prints it, e.g. `Action::s3:GetObject*` or `Resource::arn:...:*`. */
  readonly finding: RegExp;
  /** Why this wildcard is acceptable; shown in the validation report. */
  readonly reason: string;
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
      const review = applicable.find((r) => r.finding.test(finding));
      if (review)
        Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: review.reason });
    }
  }
}
