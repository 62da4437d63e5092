/**
 * The weekly production sample function: the handler (handler.ts) over this container's clients.
 * Wiring only, as bin/ is for the app.
 */
import { randomInt } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { MAX_SEED } from '../core/data/production-sample';
import { createHandler, type Deps } from './handler';
import { lazy } from '../shared/lazy';

export {
  createHandler,
  productionSampleKeys,
  type Deps,
  type ProductionSampleResult,
  type StoredManifest,
} from './handler';

let defaults: Deps | undefined;

/** Clients created once per container. */
export function defaultDeps(): Deps {
  defaults ??= {
    s3: lazy(() => new S3Client({})),
    ssm: lazy(() => new SSMClient({})),
    now: () => new Date(),
    // randomInt's upper bound is exclusive.
    seed: () => randomInt(0, MAX_SEED + 1),
  };
  return defaults;
}

export const handler = createHandler(defaultDeps());
