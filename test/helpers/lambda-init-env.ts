/**
 * What a handler finds in its environment when its module loads, for the tests and the bench that
 * require the shipped bundles in a fresh node (test/platform/handler-init.test.ts, bench/lambda-init.ts).
 * The router parses its own environment at init: these are the keys the ModelEndpoint construct sets.
 */
export function lambdaInitEnv(functionName: string): Record<string, string> {
  return {
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    MODEL_NAME: 'document-classifier',
    EXPERIMENT: 'document-classifier-ab',
    LIVE_ENDPOINT: 'document-classifier-live',
    STANDBY_ENDPOINT: 'document-classifier-standby',
    APPCONFIG_APPLICATION: 'mlops',
    APPCONFIG_ENVIRONMENT: 'production',
    APPCONFIG_PROFILE: 'document-classifier',
    FLAG_CACHE_SECONDS: '30',
    ROUTER_TIMEOUT_MS: '2000',
    ROUTER_RETRIES: '1',
    HMAC_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hmac-AbCdEf',
    DELIVERY_STREAM_NAME: 'predictions',
    FALLBACK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/predictions-fallback',
    POWERTOOLS_SERVICE_NAME: 'document-classifier',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  };
}

/** The Lambda runtime defines `awslambda` (response streaming) before it loads a handler; the router needs it. */
export const AWSLAMBDA_GLOBAL_STUB =
  'globalThis.awslambda = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };';
