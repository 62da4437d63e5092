import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeReviewedWildcards, reviewWildcards } from '../../lib/nag/reviewed-wildcards';

function appWithRole(outdir: string) {
  const app = new App({ outdir, builtinCloudFormationValidation: false });
  const stack = new Stack(app, 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  const role = new iam.Role(stack, 'Gate', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  role.addToPolicy(
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::bucket-one/models/m/*'] }),
  );
  return { app, role };
}

describe('reviewed IAM wildcards', () => {
  let outdir: string;
  beforeEach(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'mlops-nag-'));
  });
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));

  test('a reviewed wildcard is acknowledged on the policy that has it, with its reason', () => {
    const { app, role } = appWithRole(outdir);
    reviewWildcards(role, {
      finding: /^Resource::arn:aws:s3:::bucket-one\/models\/m\/\*$/,
      reason: 'one model prefix',
    });
    acknowledgeReviewedWildcards(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
    const policy = role.node.findChild('DefaultPolicy').node.defaultChild!;
    const acknowledged = policy.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .map((m) => m.data);
    expect(acknowledged).toEqual([
      { 'Annotation::AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket-one/models/m/*]': 'one model prefix' },
    ]);
  });

  test('a wildcard nobody reviewed still fails the synth', () => {
    const { app, role } = appWithRole(outdir);
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
    reviewWildcards(role, {
      finding: /^Resource::arn:aws:s3:::bucket-one\/models\/m\/\*$/,
      reason: 'one model prefix',
    });
    acknowledgeReviewedWildcards(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::s3:\*\]/);
    const report = readFileSync(path.join(outdir, 'validation-report.json'), 'utf8');
    expect(report).toContain('AwsSolutions-IAM5[Resource::*]');
    expect(report).not.toMatch(/"ruleName": "AwsSolutions-IAM5\[Resource::arn:aws:s3:::bucket-one/);
  });

  describe('Resource::* is acknowledged statement by statement, for the actions the review lists', () => {
    const jobResults = {
      finding: /^Resource::\*$/,
      starActions: ['codepipeline:PutJobFailureResult', 'codepipeline:PutJobSuccessResult'],
      reason: 'no resource-level permissions',
    };
    const grantJobResults = (role: iam.Role) =>
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
          resources: ['*'],
        }),
      );

    test('the listed actions on * pass, with the actions named in the reason', () => {
      const { app, role } = appWithRole(outdir);
      grantJobResults(role);
      reviewWildcards(role, jobResults, { finding: /bucket-one/, reason: 'one model prefix' });
      acknowledgeReviewedWildcards(app);
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      expect(() => app.synth()).not.toThrow();
      const policy = role.node.findChild('DefaultPolicy').node.defaultChild!;
      const acknowledged = policy.node.metadata.map((m) => m.data as Record<string, string>);
      expect(acknowledged).toContainEqual({
        'Annotation::AwsSolutions-IAM5[Resource::*]':
          'codepipeline:PutJobFailureResult, codepipeline:PutJobSuccessResult: no resource-level permissions',
      });
    });

    test('another action granted on * later, in the same role, fails the synth', () => {
      const { app, role } = appWithRole(outdir);
      grantJobResults(role);
      role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
      reviewWildcards(role, jobResults, { finding: /bucket-one/, reason: 'one model prefix' });
      acknowledgeReviewedWildcards(app);
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
    });

    test('a review without starActions does not cover *, even when its pattern matches', () => {
      const { app, role } = appWithRole(outdir);
      grantJobResults(role);
      reviewWildcards(role, { finding: /.*/, reason: 'anything' });
      acknowledgeReviewedWildcards(app);
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Resource::\*\]/);
    });
  });

  test('a review applies only below the construct it was declared on', () => {
    const { app, role } = appWithRole(outdir);
    reviewWildcards(new Stack(app, 'Other'), { finding: /.*/, reason: 'elsewhere' });
    acknowledgeReviewedWildcards(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(role.node.path).toBe('S/Gate');
    expect(() => app.synth()).toThrow(
      /AwsSolutions-IAM5\[Resource::arn:aws:s3:::bucket-one\/models\/m\/\*\]/,
    );
  });
});
