import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  ServiceUnavailableException,
  type PutRecordBatchCommandInput,
  type PutRecordBatchCommandOutput,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  RequestThrottled,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import {
  buildPredictionRecord,
  inputHmac,
  serializeRecord,
  type PredictionRecord,
} from '../../lambdas/core/routing/prediction-record';
import { createHandler as createReplayHandler } from '../../lambdas/prediction-replay';
import { logger as sharedLogger } from '../../lambdas/shared/logger';
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  FIREHOSE_MAX_BATCH_BYTES,
  FIREHOSE_MAX_BATCH_RECORDS,
  PREDICTION_LOG_MAX_RECORD_BYTES,
  PredictionLog,
  SQS_MAX_BATCH_BYTES,
  type PredictionLogLogger,
} from '../../lambdas/shared/prediction-log';
import { useMoto } from '../helpers/moto';

const STREAM = 'document-classifier-predictions';
const BUCKET = 'prediction-logs';
const QUEUE = 'document-classifier-prediction-fallback';
const KEY = new Uint8Array(32).fill(42);

/** N distinct records, as the router would build them. */
function records(
  n: number,
  label: (i: number) => string = (i) => (i % 3 === 0 ? 'invoice' : 'receipt'),
): PredictionRecord[] {
  return Array.from({ length: n }, (_, i) =>
    buildPredictionRecord({
      requestId: `req-${String(i).padStart(5, '0')}`,
      receivedAt: new Date(Date.UTC(2026, 10, 5, 10, 0, 0, i)),
      model: 'document-classifier',
      modelVersion: i % 10 === 0 ? '4f1c2e9a' : '9e8d7c6b',
      variant: i % 10 === 0 ? 'candidate' : 'stable',
      endpoint: 'live',
      routedBy: 'split',
      activeFlags: ['checkout-2026-11'],
      userBucket: (i * 37) % 10_000,
      inputHmac: inputHmac(KEY, `{"document":${i}}`),
      label: label(i),
      confidence: (i % 100) / 100,
      latencyMs: 20 + (i % 50),
      error: null,
    }),
  );
}

const lineOf = (r: PredictionRecord) => serializeRecord(r, PREDICTION_LOG_MAX_RECORD_BYTES);
const sorted = (lines: readonly string[]) => [...lines].sort();
const decode = (data: Uint8Array | undefined) => Buffer.from(data ?? new Uint8Array()).toString('utf8');

/** The event an SQS event source mapping delivers for these messages. */
function sqsEvent(messages: readonly Message[]): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body!,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: m.MD5OfBody!,
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:eu-west-1:123456789012:${QUEUE}`,
      awsRegion: 'eu-west-1',
    })),
  };
}

/** A logger that keeps what it is given. */
function recordingLogger() {
  const calls: { level: 'warn' | 'error'; message: string; attributes: Record<string, unknown> }[] = [];
  const logger: PredictionLogLogger = {
    warn: (message, attributes) => calls.push({ level: 'warn', message, attributes }),
    error: (message, attributes) => calls.push({ level: 'error', message, attributes }),
  };
  return { logger, calls };
}

describe('PredictionLog', () => {
  const moto = useMoto();
  let s3: S3Client;
  let sqs: SQSClient;
  let queueUrl: string;
  /** Reaches moto; the tests' mocks forward to it what they let through. */
  let motoFirehose: FirehoseClient;
  let motoSqs: SQSClient;
  /** The clients handed to the PredictionLog; mocked per test when moto cannot produce the fault. */
  let firehose: FirehoseClient;
  const sleeps: number[] = [];
  const retry = { random: () => 0.5, sleep: async (ms: number) => void sleeps.push(ms) };

  beforeAll(() => {
    sharedLogger.setLogLevel('SILENT');
    s3 = new S3Client(moto.clientConfig);
    motoFirehose = new FirehoseClient(moto.clientConfig);
    motoSqs = new SQSClient(moto.clientConfig);
  });

  beforeEach(async () => {
    sleeps.length = 0;
    firehose = new FirehoseClient(moto.clientConfig);
    sqs = new SQSClient(moto.clientConfig);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await motoFirehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: STREAM,
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::${BUCKET}`,
          RoleARN: 'arn:aws:iam::123456789012:role/firehose-delivery',
          Prefix: 'raw/',
        },
      }),
    );
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: QUEUE }))).QueueUrl!;
  });

  function predictionLog(logger: PredictionLogLogger) {
    return new PredictionLog({
      firehose,
      sqs,
      logger,
      deliveryStreamName: STREAM,
      fallbackQueueUrl: queueUrl,
      retry,
    });
  }

  /** Every line Firehose (moto) wrote to the bucket, and how many objects (one per PutRecordBatch call). */
  async function delivered(): Promise<{ lines: string[]; objects: number[] }> {
    const lines: string[] = [];
    const objects: number[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        expect(object.Key).toMatch(new RegExp(`^raw/\\d{4}/\\d{2}/\\d{2}/\\d{2}/${STREAM}-`));
        const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key }));
        const text = await body.Body!.transformToString('utf8');
        expect(text.endsWith('\n')).toBe(true);
        const objectLines = text.split(/(?<=\n)/);
        objects.push(objectLines.length);
        lines.push(...objectLines);
      }
      token = page.NextContinuationToken;
    } while (token);
    return { lines, objects: objects.sort((a, b) => b - a) };
  }

  /** Receives every message of the fallback queue (hidden for 10 minutes, so each comes once). */
  async function drainQueue(): Promise<Message[]> {
    const messages: Message[] = [];
    for (;;) {
      const res = await motoSqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }),
      );
      if (!res.Messages?.length) return messages;
      messages.push(...res.Messages);
    }
  }

  /** A Firehose mock that fails the entries `fail` picks and sends the others on to moto. */
  function firehoseFailing(fail: (line: string, call: number) => string | undefined) {
    const mock = mockClient(firehose);
    const calls: string[][] = [];
    mock.on(PutRecordBatchCommand).callsFake(async (input: PutRecordBatchCommandInput) => {
      const lines = input.Records!.map((r) => decode(r.Data));
      calls.push(lines);
      const codes = lines.map((line) => fail(line, calls.length));
      const through = input.Records!.filter((_, i) => codes[i] === undefined);
      const res =
        through.length > 0
          ? await motoFirehose.send(
              new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: through }),
            )
          : { RequestResponses: [] };
      const ok = [...(res.RequestResponses ?? [])];
      const output: Partial<PutRecordBatchCommandOutput> = {
        FailedPutCount: codes.filter(Boolean).length,
        RequestResponses: codes.map((code) =>
          code ? { ErrorCode: code, ErrorMessage: 'Slow down.' } : { RecordId: ok.shift()!.RecordId },
        ),
      };
      return output;
    });
    return { mock, calls };
  }

  function firehoseThrowing() {
    const mock = mockClient(firehose);
    mock
      .on(PutRecordBatchCommand)
      .rejects(
        new ServiceUnavailableException({ message: 'Slow down.', $metadata: { httpStatusCode: 503 } }),
      );
    return mock;
  }

  /** An SQS mock that fails (or throws for) the entries `fail` picks and sends the others on to moto. */
  function sqsFailing(fail: (body: string, call: number) => 'fail' | 'throw' | undefined) {
    const mock = mockClient(sqs);
    const calls: string[][] = [];
    mock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      const entries = input.Entries!;
      calls.push(entries.map((e) => e.MessageBody!));
      const fates = entries.map((e) => fail(e.MessageBody!, calls.length));
      if (fates.includes('throw')) throw new RequestThrottled({ message: 'Rate exceeded', $metadata: {} });
      const through = entries.filter((_, i) => fates[i] === undefined);
      const res: Partial<SendMessageBatchCommandOutput> =
        through.length > 0
          ? await motoSqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: through }))
          : { Successful: [] };
      return {
        Successful: res.Successful,
        Failed: entries
          .filter((_, i) => fates[i] === 'fail')
          .map((e) => ({ Id: e.Id!, Code: 'InternalError', SenderFault: false, Message: 'try again' })),
      };
    });
    return { mock, calls };
  }

  test('1,234 records reach the bucket through Firehose, once each, in calls of at most 500', async () => {
    const { logger, calls } = recordingLogger();
    const log = predictionLog(logger);
    const all = records(1234);
    all.forEach((r) => log.add(r));
    expect(log.pending).toBe(1234);

    await expect(log.flush()).resolves.toEqual({
      sent: 1234,
      retried: 0,
      toFallbackQueue: 0,
      toLogFallback: 0,
    });

    const { lines, objects } = await delivered();
    expect(objects).toEqual([500, 500, 234]);
    expect(sorted(lines)).toEqual(sorted(all.map(lineOf)));
    expect(log.pending).toBe(0);
    expect(await drainQueue()).toEqual([]);
    expect(calls).toEqual([]);
    expect(sleeps).toEqual([]);
  });

  test('a flush with nothing added calls nothing', async () => {
    const { mock } = firehoseFailing(() => undefined);
    const log = predictionLog(recordingLogger().logger);
    await expect(log.flush()).resolves.toEqual({ sent: 0, retried: 0, toFallbackQueue: 0, toLogFallback: 0 });
    expect(mock.calls()).toHaveLength(0);
  });

  test('PutRecordBatch calls stay under 4 MiB: large records go in smaller batches', async () => {
    const { calls } = firehoseFailing(() => undefined);
    const log = predictionLog(recordingLogger().logger);
    const big = records(45, (i) => `${i}:`.padEnd(200 * 1024, 'x'));
    big.forEach((r) => log.add(r));

    await expect(log.flush()).resolves.toEqual({
      sent: 45,
      retried: 0,
      toFallbackQueue: 0,
      toLogFallback: 0,
    });

    const sizes = calls.map((c) => c.reduce((sum, line) => sum + Buffer.byteLength(line), 0));
    expect(calls.map((c) => c.length)).toEqual([20, 20, 5]);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(FIREHOSE_MAX_BATCH_BYTES);
    expect(calls.flat()).toEqual(big.map(lineOf));
    expect(sorted((await delivered()).lines)).toEqual(sorted(big.map(lineOf)));
  });

  test('entries Firehose rejects twice are sent again, only them, and reach the bucket once', async () => {
    const all = records(1234);
    const flaky = new Set(all.filter((_, i) => i % 7 === 3).map(lineOf));
    const rejections = new Map<string, number>();
    const { calls } = firehoseFailing((line) => {
      if (!flaky.has(line) || (rejections.get(line) ?? 0) >= 2) return undefined;
      rejections.set(line, (rejections.get(line) ?? 0) + 1);
      return 'ServiceUnavailableException';
    });
    const { logger, calls: logs } = recordingLogger();
    const log = predictionLog(logger);
    all.forEach((r) => log.add(r));

    await expect(log.flush()).resolves.toEqual({
      sent: 1234,
      retried: flaky.size,
      toFallbackQueue: 0,
      toLogFallback: 0,
    });

    // Attempt 1 sends everything (3 calls), attempts 2 and 3 only the 176 rejected entries.
    expect(flaky.size).toBe(176);
    expect(calls.map((c) => c.length)).toEqual([500, 500, 234, 176, 176]);
    expect(sorted(calls[3])).toEqual(sorted([...flaky]));
    expect(calls[4]).toEqual(calls[3]);
    // Full jitter with random() = 0.5: half of 100 ms, then half of 200 ms.
    expect(sleeps).toEqual([50, 100]);
    const { lines } = await delivered();
    expect(lines).toHaveLength(1234);
    expect(sorted(lines)).toEqual(sorted(all.map(lineOf)));
    expect(await drainQueue()).toEqual([]);
    expect(logs).toEqual([]);
  });

  test('entries Firehose still rejects after 3 attempts go to the fallback queue, once each', async () => {
    const all = records(600);
    const stuck = new Set(all.filter((_, i) => i % 50 === 0).map(lineOf));
    const { calls } = firehoseFailing((line) => (stuck.has(line) ? 'InternalFailure' : undefined));
    const { logger, calls: logs } = recordingLogger();
    const log = predictionLog(logger);
    all.forEach((r) => log.add(r));

    await expect(log.flush()).resolves.toEqual({
      sent: 588,
      retried: 12,
      toFallbackQueue: 12,
      toLogFallback: 0,
    });

    expect(calls.map((c) => c.length)).toEqual([500, 100, 12, 12]);
    const queued = await drainQueue();
    expect(sorted(queued.map((m) => m.Body!))).toEqual(sorted([...stuck]));
    expect(sorted((await delivered()).lines)).toEqual(sorted(all.map(lineOf).filter((l) => !stuck.has(l))));
    expect(logs).toEqual([
      {
        level: 'warn',
        message: 'prediction-log: Firehose did not take every record; sending them to the fallback queue',
        attributes: {
          deliveryStream: STREAM,
          fallbackQueue: queueUrl,
          records: 12,
          cause: 'Firehose: InternalFailure: Slow down.',
        },
      },
    ]);
  });

  test('entries missing from the PutRecordBatch response count as failed: sent again, never taken as delivered', async () => {
    const mock = mockClient(firehose);
    // Every response lacks its last entry.
    mock.on(PutRecordBatchCommand).callsFake(async (input: PutRecordBatchCommandInput) => ({
      FailedPutCount: 0,
      RequestResponses: input.Records!.slice(1).map((_, i) => ({ RecordId: `r${i}` })),
    }));
    const { logger, calls } = recordingLogger();
    const log = predictionLog(logger);
    const all = records(3);
    all.forEach((r) => log.add(r));

    await expect(log.flush()).resolves.toEqual({ sent: 2, retried: 1, toFallbackQueue: 1, toLogFallback: 0 });

    expect(mock.commandCalls(PutRecordBatchCommand).map((c) => c.args[0].input.Records!.length)).toEqual([
      3, 1, 1,
    ]);
    expect((await drainQueue()).map((m) => m.Body!)).toEqual([lineOf(all[2])]);
    expect(calls[0].attributes.cause).toBe('Firehose: PutRecordBatch returned fewer responses than records');
  });

  test('when PutRecordBatch throws, Firehose is not called again and every record goes to the queue', async () => {
    const mock = firehoseThrowing();
    const log = predictionLog(recordingLogger().logger);
    // 200 KiB each: two PutRecordBatch chunks (20 + 5) would be needed; the first one throws.
    const all = records(25, (i) => `${i}:`.padEnd(200 * 1024, 'x'));
    all.forEach((r) => log.add(r));

    await expect(log.flush()).resolves.toEqual({
      sent: 0,
      retried: 0,
      toFallbackQueue: 25,
      toLogFallback: 0,
    });

    expect(mock.commandCalls(PutRecordBatchCommand)).toHaveLength(1);
    expect(mock.commandCalls(PutRecordBatchCommand)[0].args[0].input.Records).toHaveLength(20);
    expect(sleeps).toEqual([]);
    const queued = await drainQueue();
    expect(queued).toHaveLength(25);
    expect(sorted(queued.map((m) => m.Body!))).toEqual(sorted(all.map(lineOf)));
  });

  test('SendMessageBatch calls hold at most 10 messages and 256 KiB', async () => {
    firehoseThrowing();
    const { calls } = sqsFailing(() => undefined);
    const log = predictionLog(recordingLogger().logger);
    const all = [...records(25), ...records(5, (i) => `${i}:`.padEnd(100 * 1024, 'y'))];
    all.forEach((r) => log.add(r));

    await expect(log.flush()).resolves.toEqual({
      sent: 0,
      retried: 0,
      toFallbackQueue: 30,
      toLogFallback: 0,
    });

    expect(calls.map((c) => c.length)).toEqual([10, 10, 7, 2, 1]);
    for (const call of calls) {
      expect(call.reduce((sum, body) => sum + Buffer.byteLength(body), 0)).toBeLessThanOrEqual(
        SQS_MAX_BATCH_BYTES,
      );
    }
    expect(sorted((await drainQueue()).map((m) => m.Body!))).toEqual(sorted(all.map(lineOf)));
  });

  test('SQS entries that fail once are sent once more and reach the queue once', async () => {
    firehoseThrowing();
    const all = records(40);
    const once = new Set(all.filter((_, i) => i % 4 === 1).map(lineOf));
    const { calls } = sqsFailing((body, call) => (once.has(body) && call <= 4 ? 'fail' : undefined));
    const { logger, calls: logs } = recordingLogger();
    const log = predictionLog(logger);
    all.forEach((r) => log.add(r));

    await expect(log.flush()).resolves.toEqual({
      sent: 0,
      retried: 0,
      toFallbackQueue: 40,
      toLogFallback: 0,
    });

    expect(calls.map((c) => c.length)).toEqual([10, 10, 10, 10, 10]);
    expect(sorted(calls[4])).toEqual(sorted([...once]));
    const queued = await drainQueue();
    expect(queued).toHaveLength(40);
    expect(sorted(queued.map((m) => m.Body!))).toEqual(sorted(all.map(lineOf)));
    expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  test('records neither Firehose nor SQS takes are written as one prediction-log-fallback error line each', async () => {
    firehoseThrowing();
    const all = records(30);
    const refused = new Set([all[0], all[10]].map(lineOf));
    const blackhole = new Set(all.slice(20).map(lineOf));
    // Records 0 and 10 fail as entries; any batch holding one of the last 10 throws (the retry
    // batch [0, 10, 20..27] too).
    const { calls } = sqsFailing((body) =>
      blackhole.has(body) ? 'throw' : refused.has(body) ? 'fail' : undefined,
    );
    const { logger, calls: logs } = recordingLogger();
    const log = predictionLog(logger);
    all.forEach((r) => log.add(r));

    await expect(log.flush()).resolves.toEqual({
      sent: 0,
      retried: 0,
      toFallbackQueue: 18,
      toLogFallback: 12,
    });

    expect(calls.map((c) => c.length)).toEqual([10, 10, 10, 10, 2]);
    const lost = [...all.slice(20), all[0], all[10]];
    const errors = logs.filter((l) => l.level === 'error');
    expect(errors.map((l) => l.message)).toEqual(Array(12).fill('prediction-log-fallback'));
    expect(sorted(errors.map((l) => lineOf(l.attributes.record as PredictionRecord)))).toEqual(
      sorted(lost.map(lineOf)),
    );
    expect(errors[0].attributes.cause).toBe(
      'Firehose: ServiceUnavailableException: Slow down.; SQS: RequestThrottled: Rate exceeded',
    );
    const queued = (await drainQueue()).map((m) => m.Body!);
    expect(sorted(queued)).toEqual(sorted(all.filter((r) => !lost.includes(r)).map(lineOf)));
  });

  test('the last-resort line is one JSON log line at ERROR level with the record, as the metric filter expects', async () => {
    firehoseThrowing();
    mockClient(sqs).on(SendMessageBatchCommand).rejects(new Error('connect ETIMEDOUT'));
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const log = new PredictionLog({
        firehose,
        sqs,
        logger: new Logger({ serviceName: 'router', logLevel: 'INFO' }),
        deliveryStreamName: STREAM,
        fallbackQueueUrl: queueUrl,
        retry,
      });
      const [record] = records(1);
      log.add(record);
      await expect(log.flush()).resolves.toEqual({
        sent: 0,
        retried: 0,
        toFallbackQueue: 0,
        toLogFallback: 1,
      });
      const [warning, line] = written
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((text) => JSON.parse(text));
      expect(written.join('').split('\n').filter(Boolean)).toHaveLength(2);
      expect(warning).toMatchObject({
        level: 'WARN',
        message: 'prediction-log: Firehose did not take every record; sending them to the fallback queue',
        records: 1,
      });
      expect(line).toMatchObject({
        level: 'ERROR',
        message: 'prediction-log-fallback',
        service: 'router',
        cause: 'Firehose: ServiceUnavailableException: Slow down.; SQS: Error: connect ETIMEDOUT',
      });
      expect(line.record).toEqual(record);
      // Replaying by hand: the record put back on the queue is what the replay function reads.
      expect(serializeRecord(line.record)).toBe(lineOf(record));
    } finally {
      spy.mockRestore();
    }
  });

  test('a record too large for the fallback path is cut when added, so every leg carries the same bytes', async () => {
    firehoseThrowing();
    const log = predictionLog(recordingLogger().logger);
    const [record] = records(1, () => 'z'.repeat(300 * 1024));
    log.add(record);

    await expect(log.flush()).resolves.toEqual({ sent: 0, retried: 0, toFallbackQueue: 1, toLogFallback: 0 });

    const [message] = await drainQueue();
    expect(Buffer.byteLength(message.Body!)).toBeLessThanOrEqual(PREDICTION_LOG_MAX_RECORD_BYTES);
    expect(message.Body).toBe(serializeRecord(record, PREDICTION_LOG_MAX_RECORD_BYTES));
    expect(message.Body).toContain('...[truncated from 307200 bytes]');
  });

  test('a record that cannot be serialized is logged at once and counted by the next flush; add never throws', async () => {
    const { logger, calls } = recordingLogger();
    const log = predictionLog(logger);
    const [good] = records(1);
    // Bypasses buildPredictionRecord: an id no limit can hold.
    const broken = { ...good, request_id: 'r'.repeat(PREDICTION_LOG_MAX_RECORD_BYTES) };
    expect(() => log.add(broken)).not.toThrow();
    log.add(good);

    await expect(log.flush()).resolves.toEqual({ sent: 1, retried: 0, toFallbackQueue: 0, toLogFallback: 1 });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ level: 'error', message: 'prediction-log-fallback' });
    expect(calls[0].attributes.record).toBe(broken);
    expect(calls[0].attributes.cause).toMatch(
      /^Error: serializeRecord: record "r{56}\.\.\. is still 258\d{3} bytes after cutting label and error \(limit 258048\); its other fields are longer than buildPredictionRecord allows: build records with buildPredictionRecord$/,
    );
    expect((await delivered()).lines).toEqual([lineOf(good)]);
  });

  test('refuses a record limit Firehose or the truncation cannot honour', () => {
    const options = {
      firehose,
      sqs,
      logger: recordingLogger().logger,
      deliveryStreamName: STREAM,
      fallbackQueueUrl: 'q',
    };
    expect(() => new PredictionLog({ ...options, maxRecordBytes: 2_000_000 })).toThrow(
      new RangeError(
        "PredictionLog: maxRecordBytes 2000000 is above Firehose's record limit (1024000 bytes); leave it unset to use 258048",
      ),
    );
    expect(() => new PredictionLog({ ...options, retry: { maxAttempts: 0 } })).toThrow(
      new RangeError('PredictionLog: retry.maxAttempts must be a whole number of at least 1, got 0'),
    );
    expect(() => new PredictionLog({ ...options, maxRecordBytes: 1024 })).toThrow(
      'serializeRecord: maxBytes must be a whole number of at least 65536, got 1024',
    );
  });

  test('backoff is full jitter under a doubling cap, so the default retries wait at most 300 ms in all', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        (r, n) => {
          const policy = { ...DEFAULT_RETRY_POLICY, random: () => r };
          const delay = backoffDelayMs(policy, n);
          const cap = Math.min(1000, 100 * 2 ** (n - 1));
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(cap);
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
    const worst = { ...DEFAULT_RETRY_POLICY, random: () => 0.999999 };
    const total = Array.from({ length: DEFAULT_RETRY_POLICY.maxAttempts - 1 }, (_, i) =>
      backoffDelayMs(worst, i + 1),
    );
    expect(total).toEqual([99, 199]);
    expect(FIREHOSE_MAX_BATCH_RECORDS).toBe(500);
  });

  describe('no record is lost when Firehose fails', () => {
    /** The replay function as the event source mapping drives it: batches of 10, deleting what it did not report. */
    async function replayQueued(messages: readonly Message[]): Promise<void> {
      process.env.DELIVERY_STREAM_NAME = STREAM;
      const replay = createReplayHandler({ firehose: motoFirehose, retry });
      for (let i = 0; i < messages.length; i += 10) {
        const batch = messages.slice(i, i + 10);
        await expect(replay(sqsEvent(batch))).resolves.toEqual({ batchItemFailures: [] });
        await motoSqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }

    // moto's SQS takes time in proportion to the queue's length for every message sent or received,
    // so the records are logged as a router does, 50 per flush, and the replay function drains the
    // queue between flushes, as it does in production. 321 records: seven flushes, the last one
    // partial (1,234 took 25 flushes, ~500 moto calls and up to a minute on a loaded machine).
    test.each([
      { how: 'PutRecordBatch throws', fail: () => firehoseThrowing(), attempts: 1 },
      {
        how: 'every entry is rejected',
        fail: () => firehoseFailing(() => 'ServiceUnavailableException').mock,
        attempts: 3,
      },
    ])(
      '$how: each of 321 records reaches the queue once, and the replay delivers each once',
      async ({ fail, attempts }) => {
        const mock = fail();
        const all = records(321);
        const log = predictionLog(recordingLogger().logger);
        const rounds: PredictionRecord[][] = [];
        for (let i = 0; i < all.length; i += 50) rounds.push(all.slice(i, i + 50));

        for (const [round, batch] of rounds.entries()) {
          batch.forEach((r) => log.add(r));
          await expect(log.flush()).resolves.toEqual({
            sent: 0,
            retried: attempts > 1 ? batch.length : 0,
            toFallbackQueue: batch.length,
            toLogFallback: 0,
          });
          if (round === 0) expect((await delivered()).lines).toEqual([]);
          // Exactly once on the queue.
          const queued = await drainQueue();
          expect(sorted(queued.map((m) => m.Body!))).toEqual(sorted(batch.map(lineOf)));
          await replayQueued(queued);
        }

        expect(mock.commandCalls(PutRecordBatchCommand)).toHaveLength(rounds.length * attempts);
        const { lines } = await delivered();
        expect(lines).toHaveLength(321);
        expect(new Set(lines).size).toBe(321);
        expect(sorted(lines)).toEqual(sorted(all.map(lineOf)));
        expect(await drainQueue()).toEqual([]);
      },
      60_000,
    );
  });
});
