/**
 * The router's dependencies from its environment and clients. index.ts passes the clients of the
 * container; tests pass clients pointed at moto, a fake endpoint or mocks, and their own clock.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { AppConfigProvider } from '@aws-lambda-powertools/parameters/appconfig';
import type { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { lazy } from '../shared/lazy';
import { PredictionLog, type RetryPolicy } from '../shared/prediction-log';
import type { SageMakerRuntimePort } from './endpoint';
import type { RouterEnv } from '../core/contracts/router-env';
import { appConfigFlagFetcher, createFlagReader, systemClock, type Clock, type RouterLogger } from './flag';
import { secretsManagerHmacKey } from './hmac-key';
import { routerMetrics } from './metrics';
import type { RouterDeps } from './route';

export interface RouterClients {
  /** Built with `routerSageMakerRuntime` from the environment's timeout and retries. */
  readonly sagemakerRuntime: SageMakerRuntimePort;
  readonly appConfigData: AppConfigDataClient;
  readonly secrets: SecretsManagerClient;
  readonly firehose: FirehoseClient;
  readonly sqs: SQSClient;
}

export interface RouterDepsOptions {
  readonly logger: RouterLogger;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default routerMetrics(MODEL_NAME) */
  readonly metrics?: Metrics;
  /** @default DEFAULT_RETRY_POLICY of the prediction log */
  readonly predictionLogRetry?: Partial<RetryPolicy>;
}

export function routerDeps(env: RouterEnv, clients: RouterClients, options: RouterDepsOptions): RouterDeps {
  const model = env.MODEL_NAME;
  const clock = options.clock ?? systemClock;
  const { logger } = options;
  // Built on the first flag read: its constructor touches the client, which would build it at init.
  const provider = lazy(
    () =>
      new AppConfigProvider({
        application: env.APPCONFIG_APPLICATION,
        environment: env.APPCONFIG_ENVIRONMENT,
        awsSdkV3Client: clients.appConfigData,
      }),
  );
  const where = `${env.APPCONFIG_APPLICATION}/${env.APPCONFIG_ENVIRONMENT}/${env.APPCONFIG_PROFILE}`;
  return {
    model,
    endpoints: { live: env.LIVE_ENDPOINT, standby: env.STANDBY_ENDPOINT },
    sagemakerRuntime: clients.sagemakerRuntime,
    readFlag: createFlagReader({
      fetchFlag: appConfigFlagFetcher(provider, env.APPCONFIG_PROFILE, env.FLAG_CACHE_SECONDS),
      model,
      experiment: env.EXPERIMENT,
      label: `AppConfig flag ${where}`,
      readAdvice:
        `check that the flag is deployed to environment ${env.APPCONFIG_ENVIRONMENT} and that the router's role may ` +
        'read it (appconfig:StartConfigurationSession, appconfig:GetLatestConfiguration)',
      cacheSeconds: env.FLAG_CACHE_SECONDS,
      clock,
      logger,
    }),
    hmacKey: secretsManagerHmacKey(clients.secrets, env.HMAC_SECRET_ARN),
    predictionLog: new PredictionLog({
      firehose: clients.firehose,
      sqs: clients.sqs,
      logger,
      deliveryStreamName: env.DELIVERY_STREAM_NAME,
      fallbackQueueUrl: env.FALLBACK_QUEUE_URL,
      retry: options.predictionLogRetry,
    }),
    metrics: options.metrics ?? routerMetrics(model),
    clock,
    logger,
  };
}
