/**
 * Benchmark of the router's own overhead per request: everything but the endpoint call.
 *
 *   npx tsx bench/router-overhead.ts [--requests N] [--warmup N]
 *
 * The endpoint is an in-process fake that answers at once, the flag is cached (read once before the
 * warm-up), the HMAC key is in memory, and the prediction log ships to a Firehose stand-in that
 * accepts every record without I/O. Metrics are real Powertools EMF lines, with stdout swallowed
 * while timing (their JSON is built; the write to the log pipe is not counted).
 *
 * Cases, each timed per request with process.hrtime.bigint:
 * - `route()`: what the caller waits for besides the endpoint: parse, flag (cached), assignment,
 *   input HMAC, answer parsing, record building and queueing, metrics.
 * - `route()` + real SDK client: the same with the real SageMakerRuntimeClient over an in-process
 *   request handler, so request serialization, SigV4 signing and response parsing are counted.
 * - streaming handler: a whole invocation (event mapping, route, response stream written and ended,
 *   then the log flushed to the stand-in); the flush runs after the answer, so the caller does not wait for it.
 * Prints figures only.
 */
import { hash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { SageMakerRuntimeClient, type InvokeEndpointCommandOutput } from '@aws-sdk/client-sagemaker-runtime';
import type { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { PredictionLog } from '../lambdas/shared/prediction-log';
import type { SageMakerRuntimePort } from '../lambdas/router/endpoint';
import { createFlagReader, systemClock, type RouterLogger } from '../lambdas/router/flag';
import { createStreamingHandler, type StreamingRuntime } from '../lambdas/router/handler';
import { routerMetrics } from '../lambdas/router/metrics';
import { route, type RouterDeps } from '../lambdas/router/route';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${name} must be a whole number >= 1, got ${process.argv[index + 1]}`);
  }
  return value;
}

const REQUESTS = option('requests', 20_000);
const WARMUP = option('warmup', 5_000);
const MODEL = 'document-classifier';

const flagText = JSON.stringify({
  schemaVersion: 1,
  model: MODEL,
  experiment: 'document-classifier-2026-11',
  stable: { modelVersion: '9e8d7c6b1a2b3c4d5e6f70819293a4b5c6d7e8f9', endpoint: 'live' },
  candidate: { modelVersion: '4f1c2e9a0b1c2d3e4f5061728394a5b6c7d8e9f0', endpoint: 'live', percent: 12.5 },
  killSwitch: false,
  updatedBy: 'release-pipeline b59babff',
  updatedAt: '2026-11-27T10:00:00Z',
});
const answerBytes = new TextEncoder().encode(
  JSON.stringify({
    label: 'invoice',
    confidence: 0.93,
    scores: { invoice: 0.93, receipt: 0.05, other: 0.02 },
  }),
);

// Realistic requests (UUID user ids, 200-600 character texts), built before timing.
const BODIES = Array.from({ length: 10_000 }, (_, i) => {
  const hex = hash('sha256', `bench-${i}`, 'hex');
  const userId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  const text = `Invoice ${i} from supplier ${hex.slice(0, 6)}: `.padEnd(
    200 + (i % 400),
    'line item, quantity, price; ',
  );
  return JSON.stringify({ userId, input: { text } });
});

const silent: RouterLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Firehose stand-in: takes every record, no I/O. */
const firehoseSink = {
  send: async (command: PutRecordBatchCommand) => ({
    FailedPutCount: 0,
    RequestResponses: (command.input.Records ?? []).map((_, i) => ({ RecordId: String(i) })),
    $metadata: {},
  }),
} as unknown as FirehoseClient;

const fakeEndpoint: SageMakerRuntimePort = {
  send: async () =>
    ({
      Body: answerBytes,
      ContentType: 'application/json',
      $metadata: {},
    }) as unknown as InvokeEndpointCommandOutput,
};

/** The real client, answered in-process: serialization, signing, retry middleware and parsing are counted. */
const sdkEndpoint = new SageMakerRuntimeClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  maxAttempts: 2,
  requestHandler: {
    handle: async () => ({
      response: {
        statusCode: 200,
        reason: 'OK',
        headers: { 'content-type': 'application/json', 'x-amzn-invoked-production-variant': 'live' },
        body: Readable.from([Buffer.from(answerBytes)]),
      },
    }),
  },
});

function deps(endpoint: SageMakerRuntimePort): RouterDeps {
  return {
    model: MODEL,
    endpoints: { live: `${MODEL}-live`, standby: `${MODEL}-standby` },
    sagemakerRuntime: endpoint,
    readFlag: createFlagReader({
      fetchFlag: async () => flagText,
      model: MODEL,
      experiment: 'document-classifier-2026-11',
      label: 'bench flag',
      readAdvice: '',
      cacheSeconds: 3600,
      clock: systemClock,
      logger: silent,
    }),
    hmacKey: async () => new Uint8Array(32).fill(7),
    predictionLog: new PredictionLog({
      firehose: firehoseSink,
      sqs: {} as SQSClient,
      logger: silent,
      deliveryStreamName: 'bench',
      fallbackQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/bench',
    }),
    metrics: routerMetrics(MODEL),
    clock: systemClock,
    logger: silent,
  };
}

const runtime: StreamingRuntime = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: { from: (stream) => stream },
};
const nullStream = () =>
  new Writable({
    write: (_chunk, _encoding, callback) => callback(),
  });
const context = { awsRequestId: 'bench' } as Context;

function event(body: string): LambdaFunctionURLEvent {
  return {
    requestContext: { http: { method: 'POST' }, requestId: 'bench' },
    body,
    isBase64Encoded: false,
  } as LambdaFunctionURLEvent;
}

interface Figures {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
}

async function measure(one: (i: number) => Promise<void>, after?: () => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < WARMUP; i++) {
    await one(i);
    await after?.();
  }
  const times = new Float64Array(REQUESTS);
  for (let i = 0; i < REQUESTS; i++) {
    const start = process.hrtime.bigint();
    await one(i);
    times[i] = Number(process.hrtime.bigint() - start) / 1000;
    await after?.();
  }
  const total = times.reduce((a, b) => a + b, 0);
  times.sort();
  const at = (q: number) => times[Math.min(REQUESTS - 1, Math.floor(q * REQUESTS))];
  return { p50: at(0.5), p99: at(0.99), mean: total / REQUESTS, max: times[REQUESTS - 1] };
}

async function main(): Promise<void> {
  const routeDeps = deps(fakeEndpoint);
  const sdkDeps = deps(sdkEndpoint);
  const streamDeps = deps(fakeEndpoint);
  let failures = 0;
  const check = (statusCode: number) => {
    if (statusCode !== 200) failures += 1;
  };
  const request = (i: number) => ({
    requestId: `bench-${i}`,
    method: 'POST',
    body: BODIES[i % BODIES.length],
    isBase64Encoded: false,
  });
  const handler = createStreamingHandler(streamDeps, runtime);

  // EMF lines are built as in Lambda, but not written out while timing.
  const write = process.stdout.write.bind(process.stdout);
  let emfBytes = 0;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    emfBytes += chunk.length;
    return true;
  }) as typeof process.stdout.write;
  let rows: [string, Figures][];
  try {
    rows = [
      [
        'route()',
        await measure(
          async (i) => check((await route(request(i), routeDeps)).statusCode),
          () => routeDeps.predictionLog.flush(),
        ),
      ],
      [
        'route() + real SDK client',
        await measure(
          async (i) => check((await route(request(i), sdkDeps)).statusCode),
          () => sdkDeps.predictionLog.flush(),
        ),
      ],
      [
        'streaming handler, incl. flush',
        await measure((i) => handler(event(BODIES[i % BODIES.length]), nullStream(), context)),
      ],
    ];
  } finally {
    process.stdout.write = write;
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `node ${process.version}, ${cpu}, ${cpus().length} CPUs, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `${REQUESTS.toLocaleString('en')} requests per case after ${WARMUP.toLocaleString('en')} warm-up requests; ` +
      `${failures} non-200 answers; ${(emfBytes / 1024 / 1024).toFixed(1)} MiB of EMF built\n`,
  );
  const width = Math.max(...rows.map(([name]) => name.length));
  const cell = (x: number) => x.toFixed(1).padStart(8);
  console.log(
    `${'case'.padEnd(width)}  ${'p50 µs'.padStart(8)}  ${'p99 µs'.padStart(8)}  ${'mean µs'.padStart(8)}  ${'max µs'.padStart(8)}`,
  );
  for (const [name, f] of rows) {
    console.log(`${name.padEnd(width)}  ${cell(f.p50)}  ${cell(f.p99)}  ${cell(f.mean)}  ${cell(f.max)}`);
  }
}

void main();
