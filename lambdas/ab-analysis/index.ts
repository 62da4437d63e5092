/**
 * The nightly A/B analysis function: the handler (handler.ts) over this container's clients.
 * Wiring only, as bin/ is for the app.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { athenaPort } from './athena';
import { createHandler, type Deps } from './handler';
import { lazy } from '../shared/lazy';

export { createHandler, type AbAnalysisResult, type AbReport, type Deps } from './handler';

let defaults: Deps | undefined;

/** Clients created once per container. */
export function defaultDeps(): Deps {
  defaults ??= {
    s3: lazy(() => new S3Client({})),
    ssm: lazy(() => new SSMClient({})),
    cloudwatch: lazy(() => new CloudWatchClient({})),
    athena: athenaPort(lazy(() => new AthenaClient({}))),
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  return defaults;
}

export const handler = createHandler(defaultDeps());
