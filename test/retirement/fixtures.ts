import { Template } from 'aws-cdk-lib/assertions';
import { ConfigFixture, EXAMPLE_MODEL } from '../helpers/config-fixture';

/** The example model with `serving.retired` set to `value` (as YAML). */
export function retiredFixture(value = 'true'): ConfigFixture {
  return new ConfigFixture().edit(EXAMPLE_MODEL, 'serving:\n', `serving:\n  retired: ${value}\n`);
}

/**
 * cfn-lint warnings ignored on a model template, with the reason (errors never are).
 * W3005, redundant DependsOn: the serving guard depends on every resource of its stack so that
 * CloudFormation deletes it first; many of those dependencies are also implied by references.
 */
export const CFN_LINT_IGNORED = ['W3005'];

export interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** The IAM statements of every policy attached to the role with this logical id. */
export function statementsOf(template: Template, roleId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
  }[];
  return policies
    .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}
