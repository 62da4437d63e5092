/**
 * The router function (Lambda function URL, AWS_IAM auth, invoke mode RESPONSE_STREAM): assigns
 * each user to the stable or candidate model version by the AppConfig flag, calls the endpoint that
 * serves it and logs every prediction. The logic is in route.ts, the streaming in handler.ts, the
 * wiring in deps.ts; this file only creates the clients of this container. Environment: env.ts.
 */
import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { lazy } from '../shared/lazy';
import { logger } from '../shared/logger';
import { routerDeps, type RouterClients } from './deps';
import { routerSageMakerRuntime } from './endpoint';
import { routerEnv, type RouterEnv } from '../core/contracts/router-env';
import { createHandler } from './handler';

export { routerEnvSchema, type RouterEnv, type RouterEnvInput } from '../core/contracts/router-env';
export { REQUEST_METRIC_DIMENSIONS, MODEL_METRIC_DIMENSIONS, ROUTER_METRICS_NAMESPACE } from './metrics';

/**
 * A flag read waits at most this long per attempt, twice: only the first request of a container, or
 * one per cache period, waits for AppConfig, and a slow AppConfig must not hold it for long.
 */
const FLAG_READ_TIMEOUT_MS = 1000;
const FLAG_READ_ATTEMPTS = 2;

/**
 * Clients created once per container, each on first use (see ../shared/lazy): the AWS SDK loads with
 * the first request rather than at init, and the SQS client only when a record falls back to its queue.
 */
export function defaultClients(env: RouterEnv): RouterClients {
  return {
    sagemakerRuntime: lazy(() =>
      routerSageMakerRuntime({
        timeoutMs: env.ROUTER_TIMEOUT_MS,
        retries: env.ROUTER_RETRIES,
      }),
    ),
    appConfigData: lazy(
      () =>
        new AppConfigDataClient({
          maxAttempts: FLAG_READ_ATTEMPTS,
          requestHandler: {
            requestTimeout: FLAG_READ_TIMEOUT_MS,
            connectionTimeout: FLAG_READ_TIMEOUT_MS,
            throwOnRequestTimeout: true,
          },
        }),
    ),
    secrets: lazy(() => new SecretsManagerClient({})),
    firehose: lazy(() => new FirehoseClient({})),
    sqs: lazy(() => new SQSClient({})),
  };
}

const env = routerEnv();
export const handler = createHandler(routerDeps(env, defaultClients(env), { logger }));
