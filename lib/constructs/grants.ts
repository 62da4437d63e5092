import * as iam from 'aws-cdk-lib/aws-iam';
import type { SharedResources } from '../stacks/shared-stack';

/** Read access to the objects under one model's prefix of the DVC remote. */
export function grantDvcRead(role: iam.IRole, shared: SharedResources, model: string): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [shared.dvcRemoteBucket.arnForObjects(`${model}/*`)],
    }),
  );
  grantMissingKeyAsNotFound(role, shared.dvcRemoteBucket);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [shared.key.keyArn] }),
  );
}

/**
 * ListBucket makes a missing object read as 404 (NoSuchKey) rather than 403, so "never pushed",
 * "first release" or "the run stopped early" are told apart from "not allowed". No s3:prefix
 * condition: a GetObject request carries none, so a conditioned grant would not count. It
 * reveals key names (content hashes, run ids), not data.
 */
export function grantMissingKeyAsNotFound(role: iam.IRole, bucket: { readonly bucketArn: string }): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
  );
}
