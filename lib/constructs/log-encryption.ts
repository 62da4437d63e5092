import type { IAspect } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/**
 * Encrypts every log group under the scope with the platform key, including those a construct
 * creates without saying so: logs hold request ids, model versions and error messages that may quote
 * inputs. The key policy lets CloudWatch Logs use the key for the platform's log groups only
 * (lib/stacks/platform-key-policy.ts). A log group that names its own key keeps it.
 */
export class EncryptLogGroupsWith implements IAspect {
  constructor(private readonly key: kms.IKey) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup && node.kmsKeyId === undefined) node.kmsKeyId = this.key.keyArn;
  }
}
