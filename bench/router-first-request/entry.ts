/**
 * Bundled by bench/router-first-request.ts: the router as lambdas/router/index.ts wires it (its
 * environment parsed at load, the Powertools logger and metrics, the streaming handler, the flag
 * reader, the prediction log), with in-process stand-ins where index.ts has AWS: the flag text, the
 * HMAC key, the endpoint's answer and Firehose's reply. The SDK command classes the router's own
 * code builds (InvokeEndpointCommand, PutRecordBatchCommand) still load their packages on first use,
 * as in Lambda; the SDK clients and the network are not part of this.
 */
import { Writable } from 'node:stream';
import type { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { InvokeEndpointCommandOutput } from '@aws-sdk/client-sagemaker-runtime';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { routerEnv } from '../../lambdas/core/contracts/router-env';
import { logger } from '../../lambdas/shared/logger';
import { PredictionLog } from '../../lambdas/shared/prediction-log';
import type { SageMakerRuntimePort } from '../../lambdas/router/endpoint';
import { createFlagReader, systemClock } from '../../lambdas/router/flag';
import { createStreamingHandler, type StreamingRuntime } from '../../lambdas/router/handler';
import { routerMetrics } from '../../lambdas/router/metrics';

const env = routerEnv();
const model = env.MODEL_NAME;

const flagText = JSON.stringify({
  schemaVersion: 1,
  model,
  experiment: env.EXPERIMENT,
  stable: { modelVersion: '9e8d7c6b1a2b3c4d5e6f70819293a4b5c6d7e8f9', endpoint: 'live' },
  candidate: { modelVersion: '4f1c2e9a0b1c2d3e4f5061728394a5b6c7d8e9f0', endpoint: 'live', percent: 12.5 },
  killSwitch: false,
  updatedBy: 'release-pipeline b59babff',
  updatedAt: '2026-11-27T10:00:00Z',
});
const answer = new TextEncoder().encode(JSON.stringify({ label: 'invoice', confidence: 0.93 }));

const endpoint: SageMakerRuntimePort = {
  send: async () =>
    ({
      Body: answer,
      ContentType: 'application/json',
      $metadata: {},
    }) as unknown as InvokeEndpointCommandOutput,
};
const firehose = {
  send: async (command: PutRecordBatchCommand) => ({
    FailedPutCount: 0,
    RequestResponses: (command.input.Records ?? []).map((_, i) => ({ RecordId: String(i) })),
    $metadata: {},
  }),
} as unknown as FirehoseClient;

const runtime: StreamingRuntime = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };

const handler = createStreamingHandler(
  {
    model,
    endpoints: { live: env.LIVE_ENDPOINT, standby: env.STANDBY_ENDPOINT },
    sagemakerRuntime: endpoint,
    readFlag: createFlagReader({
      fetchFlag: async () => flagText,
      model,
      experiment: env.EXPERIMENT,
      label: 'bench flag',
      readAdvice: '',
      cacheSeconds: env.FLAG_CACHE_SECONDS,
      clock: systemClock,
      logger,
    }),
    hmacKey: async () => new Uint8Array(32).fill(7),
    predictionLog: new PredictionLog({
      firehose,
      sqs: {} as SQSClient,
      logger,
      deliveryStreamName: env.DELIVERY_STREAM_NAME,
      fallbackQueueUrl: env.FALLBACK_QUEUE_URL,
    }),
    metrics: routerMetrics(model),
    clock: systemClock,
    logger,
  },
  runtime,
);

/**
 * One invocation. Resolves with the ms until the answer was handed to the response stream, and the
 * ms of the whole invocation (the prediction log's flush runs after the answer).
 */
export async function invoke(i: number): Promise<{ answeredMs: number; totalMs: number; status: string }> {
  const started = process.hrtime.bigint();
  let answeredMs = NaN;
  let body = '';
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      body += chunk.toString();
      callback();
    },
    final: (callback) => {
      answeredMs = Number(process.hrtime.bigint() - started) / 1e6;
      callback();
    },
  });
  const event = {
    requestContext: { http: { method: 'POST' }, requestId: `first-${i}` },
    body: JSON.stringify({
      userId: `user-${i}`,
      input: { text: `Invoice ${i}: line item, quantity, price` },
    }),
    isBase64Encoded: false,
  } as LambdaFunctionURLEvent;
  await handler(event, stream, { awsRequestId: `first-${i}` } as Context);
  const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
  const parsed = JSON.parse(body) as { routedBy?: string; error?: string };
  return {
    answeredMs,
    totalMs,
    status: parsed.error === undefined ? `routed by ${parsed.routedBy}` : parsed.error,
  };
}
