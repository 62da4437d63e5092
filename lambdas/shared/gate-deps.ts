import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { lazy } from './lazy';

/** What a gate handler touches outside itself; tests pass their own. */
export interface GateDeps {
  /** Reads inputs and writes run records, with the function's own role. */
  readonly s3: S3Client;
  readonly ssm: SSMClient;
  readonly codepipeline: CodePipelineClient;
  readonly now: () => Date;
}

let defaults: GateDeps | undefined;

/** Clients created once per container. */
export function gateDeps(): GateDeps {
  defaults ??= {
    s3: lazy(() => new S3Client({})),
    ssm: lazy(() => new SSMClient({})),
    codepipeline: lazy(() => new CodePipelineClient({})),
    now: () => new Date(),
  };
  return defaults;
}
