import {
  CreateDeliveryStreamCommand,
  FirehoseClient,
  PutRecordBatchCommand,
  ServiceUnavailableException,
  type PutRecordBatchCommandInput,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  buildPredictionRecord,
  FIREHOSE_MAX_RECORD_BYTES,
  inputHmac,
  serializeRecord,
  type PredictionRecord,
} from '../../lambdas/core/routing/prediction-record';
import { createHandler } from '../../lambdas/prediction-replay';
import { logger } from '../../lambdas/shared/logger';
import { useMoto } from '../helpers/moto';

const STREAM = 'document-classifier-predictions';
const BUCKET = 'prediction-logs';
const KEY = new Uint8Array(32).fill(9);

function records(n: number, label: (i: number) => string = () => 'invoice'): PredictionRecord[] {
  return Array.from({ length: n }, (_, i) =>
    buildPredictionRecord({
      requestId: `replay-${i}`,
      receivedAt: new Date(Date.UTC(2026, 10, 6, 8, 30, 0, i)),
      model: 'document-classifier',
      modelVersion: '9e8d7c6b',
      variant: 'stable',
      endpoint: i % 2 === 0 ? 'live' : 'standby',
      routedBy: i % 5 === 0 ? 'flag-unavailable' : 'kill-switch',
      activeFlags: [],
      userBucket: i % 5 === 0 ? null : i,
      inputHmac: inputHmac(KEY, `input ${i}`),
      label: label(i),
      confidence: i % 4 === 0 ? null : 0.5,
      latencyMs: 12.25,
      error: i % 4 === 0 ? 'ModelError: upstream 502' : null,
    }),
  );
}

const sorted = (lines: readonly string[]) => [...lines].sort();

function event(bodies: readonly string[], ids = bodies.map((_, i) => `msg-${i}`)): SQSEvent {
  return {
    Records: bodies.map((body, i) => ({
      messageId: ids[i],
      receiptHandle: `rh-${i}`,
      body,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:document-classifier-prediction-fallback',
      awsRegion: 'eu-west-1',
    })),
  };
}

describe('prediction-replay handler', () => {
  const moto = useMoto();
  let s3: S3Client;
  let motoFirehose: FirehoseClient;
  let firehose: FirehoseClient;
  const sleeps: number[] = [];
  const retry = { random: () => 0.5, sleep: async (ms: number) => void sleeps.push(ms) };
  let errors: jest.SpyInstance;
  let warnings: jest.SpyInstance;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    s3 = new S3Client(moto.clientConfig);
    motoFirehose = new FirehoseClient(moto.clientConfig);
  });

  beforeEach(async () => {
    process.env.DELIVERY_STREAM_NAME = STREAM;
    sleeps.length = 0;
    firehose = new FirehoseClient(moto.clientConfig);
    errors = jest.spyOn(logger, 'error');
    warnings = jest.spyOn(logger, 'warn');
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await motoFirehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: STREAM,
        ExtendedS3DestinationConfiguration: {
          BucketARN: `arn:aws:s3:::${BUCKET}`,
          RoleARN: 'arn:aws:iam::123456789012:role/firehose-delivery',
        },
      }),
    );
  });

  afterEach(() => jest.restoreAllMocks());

  async function delivered(): Promise<string[]> {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const lines: string[] = [];
    for (const object of page.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key }));
      lines.push(...(await body.Body!.transformToString('utf8')).split(/(?<=\n)/));
    }
    return lines;
  }

  /** Firehose mock: `reject` picks entries to fail (by line and call number); the rest go on to moto. */
  function firehoseRejecting(reject: (line: string, call: number) => boolean) {
    const mock = mockClient(firehose);
    const calls: string[][] = [];
    mock.on(PutRecordBatchCommand).callsFake(async (input: PutRecordBatchCommandInput) => {
      const lines = input.Records!.map((r) => Buffer.from(r.Data!).toString('utf8'));
      calls.push(lines);
      const rejected = lines.map((line) => reject(line, calls.length));
      const through = input.Records!.filter((_, i) => !rejected[i]);
      const ok =
        through.length > 0
          ? [
              ...((
                await motoFirehose.send(
                  new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: through }),
                )
              ).RequestResponses ?? []),
            ]
          : [];
      return {
        FailedPutCount: rejected.filter(Boolean).length,
        RequestResponses: rejected.map((r) =>
          r ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' } : ok.shift()!,
        ),
      };
    });
    return calls;
  }

  test('sends every body to Firehose, once, and reports no failure', async () => {
    const lines = records(25).map((r) => serializeRecord(r));
    const handler = createHandler({ firehose, retry });

    await expect(handler(event(lines))).resolves.toEqual({ batchItemFailures: [] });

    expect(sorted(await delivered())).toEqual(sorted(lines));
    expect(errors).not.toHaveBeenCalled();
    expect(warnings).not.toHaveBeenCalled();
  });

  test('a record put back by hand from the log fallback (no trailing newline) is delivered as the router would have sent it', async () => {
    const [record] = records(1);
    const handler = createHandler({ firehose, retry });

    await expect(handler(event([JSON.stringify(record)]))).resolves.toEqual({ batchItemFailures: [] });

    expect(await delivered()).toEqual([serializeRecord(record)]);
  });

  test('records that fail twice and then go through are delivered once, with no failure reported', async () => {
    const lines = records(10).map((r) => serializeRecord(r));
    const calls = firehoseRejecting((line, call) => call <= 2 && lines.indexOf(line) % 3 === 0);
    const handler = createHandler({ firehose, retry });

    await expect(handler(event(lines))).resolves.toEqual({ batchItemFailures: [] });

    expect(calls.map((c) => c.length)).toEqual([10, 4, 4]);
    expect(sleeps).toEqual([50, 100]);
    expect(sorted(await delivered())).toEqual(sorted(lines));
  });

  test('messages whose records Firehose still refuses are returned as batch item failures, and only they', async () => {
    const lines = records(10).map((r) => serializeRecord(r));
    const calls = firehoseRejecting((line) => line === lines[2] || line === lines[7]);
    const handler = createHandler({ firehose, retry });

    await expect(handler(event(lines))).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: 'msg-2' }, { itemIdentifier: 'msg-7' }],
    });

    expect(calls.map((c) => c.length)).toEqual([10, 2, 2]);
    expect(sorted(await delivered())).toEqual(sorted(lines.filter((_, i) => i !== 2 && i !== 7)));
    expect(warnings).toHaveBeenCalledWith(
      'prediction-replay: Firehose did not take every record; SQS will deliver these messages again ' +
        'and moves them to the dead-letter queue after maxReceiveCount receives',
      { deliveryStream: STREAM, messages: 2, cause: 'ServiceUnavailableException: Slow down.' },
    );
  });

  test('when PutRecordBatch throws, every message of the batch is a failure', async () => {
    const mock = mockClient(firehose);
    mock
      .on(PutRecordBatchCommand)
      .rejects(new ServiceUnavailableException({ message: 'Slow down.', $metadata: {} }));
    const handler = createHandler({ firehose, retry });

    await expect(handler(event(records(3).map((r) => serializeRecord(r))))).resolves.toEqual({
      batchItemFailures: [
        { itemIdentifier: 'msg-0' },
        { itemIdentifier: 'msg-1' },
        { itemIdentifier: 'msg-2' },
      ],
    });
    expect(mock.commandCalls(PutRecordBatchCommand)).toHaveLength(1);
  });

  test('a message that is not a prediction record is never sent to Firehose and is left for the dead-letter queue', async () => {
    const [good] = records(1);
    const handler = createHandler({ firehose, retry });
    const bodies = ['{"request_id":"x"}', serializeRecord(good), 'not json'];

    await expect(handler(event(bodies, ['bad-1', 'good', 'bad-2']))).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: 'bad-1' }, { itemIdentifier: 'bad-2' }],
    });

    expect(await delivered()).toEqual([serializeRecord(good)]);
    const message =
      'prediction-replay: message is not a prediction record and was not sent to Firehose; it stays in the queue ' +
      'and moves to the dead-letter queue after maxReceiveCount receives: inspect it there, then delete it or send ' +
      'a corrected record to the fallback queue';
    expect(errors).toHaveBeenCalledTimes(2);
    expect(errors).toHaveBeenNthCalledWith(1, message, {
      messageId: 'bad-1',
      problem: expect.stringMatching(
        /^SQS message bad-1: invalid prediction record: ts: missing \(expected an ISO 8601 UTC time like 2026-11-05T10:00:00\.000Z\); .*; it is not a prediction record written by serializeRecord$/,
      ),
    });
    expect(errors).toHaveBeenNthCalledWith(2, message, {
      messageId: 'bad-2',
      problem: expect.stringMatching(/^SQS message bad-2 is not JSON \(.+\); it is not a prediction record$/),
    });
  });

  test('a body larger than a Firehose record is cut to fit, not refused', async () => {
    const calls = firehoseRejecting(() => false);
    const [record] = records(1, () => 'q'.repeat(1024 * 1024));
    const handler = createHandler({ firehose, retry });

    await expect(handler(event([serializeRecord(record, 2 * 1024 * 1024)]))).resolves.toEqual({
      batchItemFailures: [],
    });

    expect(calls[0]).toEqual([serializeRecord(record)]);
    expect(Buffer.byteLength(calls[0][0])).toBeLessThanOrEqual(FIREHOSE_MAX_RECORD_BYTES);
    expect(calls[0][0]).toContain('...[truncated from 1048576 bytes]');
  });

  test('a failure reported for a message makes SQS deliver it again, then move it to the dead-letter queue', async () => {
    const sqs = new SQSClient(moto.clientConfig);
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: 'fallback-dlq' }))).QueueUrl!;
    const queue = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: 'fallback',
          Attributes: {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:123456789012:fallback-dlq',
              maxReceiveCount: 2,
            }),
          },
        }),
      )
    ).QueueUrl!;
    const lines = records(4).map((r) => serializeRecord(r));
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue,
        Entries: lines.map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );
    firehoseRejecting((line) => line === lines[1]);
    const handler = createHandler({ firehose, retry });

    // The event source mapping: receive, invoke, delete what the function did not report. A
    // visibility timeout of 0 stands for the timeout running out before the next receive.
    const receive = async (): Promise<Message[]> =>
      (
        await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queue, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
        )
      ).Messages ?? [];
    for (let receiveCount = 1; receiveCount <= 3; receiveCount++) {
      const messages = await receive();
      if (messages.length === 0) break;
      const result = await handler(
        event(
          messages.map((m) => m.Body!),
          messages.map((m) => m.MessageId!),
        ),
      );
      const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
      expect([...failed].map((id) => messages.find((m) => m.MessageId === id)!.Body)).toEqual([lines[1]]);
      const done = messages.filter((m) => !failed.has(m.MessageId!));
      if (done.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }

    expect(await receive()).toEqual([]);
    const inDlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10 }));
    expect(inDlq.Messages?.map((m) => m.Body)).toEqual([lines[1]]);
    expect(sorted(await delivered())).toEqual(sorted(lines.filter((l) => l !== lines[1])));
    const left = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    expect(left.Attributes?.ApproximateNumberOfMessages).toBe('0');
  });

  test('without DELIVERY_STREAM_NAME the invocation fails and SQS keeps the whole batch', async () => {
    delete process.env.DELIVERY_STREAM_NAME;
    const handler = createHandler({ firehose, retry });
    await expect(handler(event([serializeRecord(records(1)[0])]))).rejects.toThrow(
      'DELIVERY_STREAM_NAME is not set; the function was deployed without it',
    );
  });

  test('an event that is not from SQS is refused with what to fix', async () => {
    const handler = createHandler({ firehose, retry });
    await expect(handler({} as SQSEvent)).rejects.toThrow(
      'prediction-replay: the event has no Records list; this function must be invoked by an SQS event source ' +
        'mapping on the prediction-log fallback queue',
    );
  });
});
