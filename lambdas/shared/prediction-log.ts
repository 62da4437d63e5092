/**
 * The router's prediction log: every record goes to Firehose (and from there to the prediction-log
 * bucket), and nothing is lost on the way when Firehose is down or throttling.
 *
 * `flush()` tries, in order, and never throws:
 * 1. Firehose `PutRecordBatch` (≤ 500 records, ≤ 4 MiB a call). Entries Firehose rejects
 *    (`RequestResponses[i].ErrorCode`) are sent again, only them, with exponential backoff and full
 *    jitter, `maxAttempts` times in all (default 3: at most 100 + 200 ms of waiting). A call that
 *    throws (throttling, service unavailable, timeout: the SDK client has already retried it) ends
 *    the Firehose step: what is left goes to step 2, so a Firehose outage costs one failed call,
 *    not one per chunk.
 * 2. The SQS fallback queue, `SendMessageBatch` (≤ 10 messages, ≤ 256 KiB a call), each message body
 *    being the serialized record: the replay function (lambdas/prediction-replay) re-sends the
 *    bodies to Firehose. Failed entries are sent once more.
 * 3. The last resort: one ERROR log line per record, `{"level":"ERROR","message":"prediction-log-fallback",
 *    …,"record":{…}}`. A metric filter `{ $.message = "prediction-log-fallback" }` counts them.
 *    To replay them, put each `record` back on the fallback queue, for example:
 *      aws logs filter-log-events --log-group-name /aws/lambda/<router> \
 *        --filter-pattern '{ $.message = "prediction-log-fallback" }' --start-time <ms> \
 *        --query 'events[].message' --output json | jq -c '.[] | fromjson | .record' |
 *      while IFS= read -r line; do aws sqs send-message --queue-url <fallback queue url> --message-body "$line"; done
 *    The replay function accepts a body with or without its trailing newline.
 *
 * Delivery is at least once: a call that fails after Firehose or SQS stored its data (a timeout on
 * the response) is sent again. `request_id` is unique per prediction; queries that must not count a
 * prediction twice deduplicate on it.
 *
 * Every record is cut to `maxRecordBytes` when added (default PREDICTION_LOG_MAX_RECORD_BYTES), small
 * enough for every leg (an SQS message and a CloudWatch Logs event: 256 KiB), so a record reaches S3
 * byte for byte the same whichever way it went.
 */
import {
  FirehoseClient,
  PutRecordBatchCommand,
  type PutRecordBatchResponseEntry,
} from '@aws-sdk/client-firehose';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  FIREHOSE_MAX_RECORD_BYTES,
  serializeRecord,
  type PredictionRecord,
} from '../core/routing/prediction-record';

/** PutRecordBatch takes at most 500 records per call. */
export const FIREHOSE_MAX_BATCH_RECORDS = 500;
/** …and at most 4 MiB of record data per call. */
export const FIREHOSE_MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** SendMessageBatch takes at most 10 messages per call. */
export const SQS_MAX_BATCH_MESSAGES = 10;
/**
 * Bytes of message bodies per SendMessageBatch call (and so per message). SQS now takes up to 1 MiB,
 * but a queue keeps the MaximumMessageSize it was given (256 KiB was the default for years): staying
 * under 256 KiB works on every queue.
 */
export const SQS_MAX_BATCH_BYTES = 256 * 1024;
/**
 * Largest serialized record the log keeps: under both 256 KiB limits on the fallback path (one SQS
 * message; one CloudWatch Logs event, where the logger adds up to a few hundred bytes around it).
 */
export const PREDICTION_LOG_MAX_RECORD_BYTES = 252 * 1024;
/** The `message` of the last-resort log line; a metric filter counts it. */
export const LOG_FALLBACK_MESSAGE = 'prediction-log-fallback';

/** How failed Firehose entries are retried. Delays are full jitter: random() × min(maxDelayMs, baseDelayMs × 2^(n-1)). */
export interface RetryPolicy {
  /** Sends per record in all, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Uniform in [0, 1); tests pass their own. */
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  random: Math.random,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The delay before retry number `retry` (1 for the first retry). */
export function backoffDelayMs(policy: RetryPolicy, retry: number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(policy.random() * cap);
}

/** The part of a logger the prediction log uses; the Powertools logger fits it. */
export interface PredictionLogLogger {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** What one `flush()` did with the records added since the last one. Every record is in exactly one of sent, toFallbackQueue and toLogFallback. */
export interface FlushResult {
  /** Accepted by Firehose. */
  readonly sent: number;
  /** Rejected by Firehose at least once and sent to it again (counted once each, whatever came of it). */
  readonly retried: number;
  /** Not taken by Firehose; on the SQS fallback queue for the replay function. */
  readonly toFallbackQueue: number;
  /** Neither Firehose nor SQS took them; each written as a `prediction-log-fallback` ERROR log line. */
  readonly toLogFallback: number;
}

/** What `putRecordLines` did: per line, whether Firehose took it. */
export interface FirehoseDelivery {
  readonly delivered: readonly boolean[];
  /** Lines rejected at least once and sent again. */
  readonly retried: number;
  /** The last failure seen, for logs: `ServiceUnavailableException: …`; undefined when Firehose never failed. */
  readonly cause?: string;
}

/**
 * Sends JSON lines to a Firehose stream: chunks within PutRecordBatch's limits, retries of the
 * entries Firehose rejected (only those) with backoff, and no further call once one throws. Never
 * throws; the lines it could not deliver are the false entries of `delivered`.
 */
export async function putRecordLines(
  firehose: FirehoseClient,
  deliveryStreamName: string,
  lines: readonly string[],
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): Promise<FirehoseDelivery> {
  const delivered = lines.map(() => false);
  const data = lines.map((line) => Buffer.from(line, 'utf8'));
  const retried = new Set<number>();
  let cause: string | undefined;
  let pending = lines.map((_, i) => i);
  for (let attempt = 1; attempt <= policy.maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 1) {
      pending.forEach((i) => retried.add(i));
      await policy.sleep(backoffDelayMs(policy, attempt - 1));
    }
    const rejected: number[] = [];
    for (const chunk of chunks(
      pending,
      (i) => data[i].byteLength,
      FIREHOSE_MAX_BATCH_RECORDS,
      FIREHOSE_MAX_BATCH_BYTES,
    )) {
      let responses: PutRecordBatchResponseEntry[];
      try {
        const res = await firehose.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: deliveryStreamName,
            Records: chunk.map((i) => ({ Data: data[i] })),
          }),
        );
        responses = res.RequestResponses ?? [];
      } catch (error) {
        return { delivered, retried: retried.size, cause: describeError(error) };
      }
      chunk.forEach((index, j) => {
        const entry = responses[j];
        // A missing entry is taken as a failure: sending a record twice beats losing it.
        if (entry === undefined || entry.ErrorCode) {
          rejected.push(index);
          cause = entry
            ? `${entry.ErrorCode}: ${entry.ErrorMessage ?? 'no message'}`
            : 'PutRecordBatch returned fewer responses than records';
        } else {
          delivered[index] = true;
        }
      });
    }
    pending = rejected;
  }
  return { delivered, retried: retried.size, cause };
}

/** Settings of a PredictionLog; the clients and the logger come from the router's module scope. */
export interface PredictionLogOptions {
  readonly firehose: FirehoseClient;
  readonly sqs: SQSClient;
  readonly logger: PredictionLogLogger;
  /** Env DELIVERY_STREAM_NAME in the router. */
  readonly deliveryStreamName: string;
  /** Env PREDICTION_FALLBACK_QUEUE_URL in the router. */
  readonly fallbackQueueUrl: string;
  /** @default DEFAULT_RETRY_POLICY - 3 attempts, 100 ms base, 1 s cap, Math.random, setTimeout */
  readonly retry?: Partial<RetryPolicy>;
  /** @default PREDICTION_LOG_MAX_RECORD_BYTES - fits every leg of the fallback path */
  readonly maxRecordBytes?: number;
}

/** Buffers prediction records and ships them on `flush()`; see the module comment for the path. */
export class PredictionLog {
  private lines: string[] = [];
  /** Records `add` could not serialize, already written to the log; reported by the next flush. */
  private loggedOnAdd = 0;
  private readonly retry: RetryPolicy;
  private readonly maxRecordBytes: number;

  constructor(private readonly options: PredictionLogOptions) {
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.maxRecordBytes = options.maxRecordBytes ?? PREDICTION_LOG_MAX_RECORD_BYTES;
    // Checked now, not at the first add(): a bad setting must fail the cold start, not drop records.
    if (!Number.isInteger(this.retry.maxAttempts) || this.retry.maxAttempts < 1) {
      throw new RangeError(
        `PredictionLog: retry.maxAttempts must be a whole number of at least 1, got ${String(this.retry.maxAttempts)}`,
      );
    }
    if (this.maxRecordBytes > FIREHOSE_MAX_RECORD_BYTES) {
      throw new RangeError(
        `PredictionLog: maxRecordBytes ${this.maxRecordBytes} is above Firehose's record limit ` +
          `(${FIREHOSE_MAX_RECORD_BYTES} bytes); leave it unset to use ${PREDICTION_LOG_MAX_RECORD_BYTES}`,
      );
    }
    serializeRecord(PROBE_RECORD, this.maxRecordBytes);
  }

  /** Records waiting for the next flush. */
  get pending(): number {
    return this.lines.length;
  }

  /** Queues one record (serialized now, cut to `maxRecordBytes` if needed). Never throws. */
  add(record: PredictionRecord): void {
    try {
      this.lines.push(serializeRecord(record, this.maxRecordBytes));
    } catch (error) {
      // Only a record that bypassed buildPredictionRecord gets here; keep it where a person finds it.
      this.loggedOnAdd += 1;
      this.options.logger.error(LOG_FALLBACK_MESSAGE, { record, cause: describeError(error) });
    }
  }

  /** Ships every record added so far. Never throws; the counts say where each record went. */
  async flush(): Promise<FlushResult> {
    const { firehose, sqs, logger, deliveryStreamName, fallbackQueueUrl } = this.options;
    const lines = this.lines;
    const loggedOnAdd = this.loggedOnAdd;
    this.lines = [];
    this.loggedOnAdd = 0;
    let left: readonly string[] = lines;
    let retried = 0;
    let toFallbackQueue = 0;
    const causes: string[] = [];
    try {
      if (left.length > 0) {
        const delivery = await putRecordLines(firehose, deliveryStreamName, left, this.retry);
        retried = delivery.retried;
        left = left.filter((_, i) => !delivery.delivered[i]);
        if (delivery.cause) causes.push(`Firehose: ${delivery.cause}`);
      }
      if (left.length > 0) {
        logger.warn(
          'prediction-log: Firehose did not take every record; sending them to the fallback queue',
          {
            deliveryStream: deliveryStreamName,
            fallbackQueue: fallbackQueueUrl,
            records: left.length,
            cause: causes.join('; '),
          },
        );
        const queued = await sendToQueue(sqs, fallbackQueueUrl, left, this.retry);
        toFallbackQueue = queued.sent.filter(Boolean).length;
        left = left.filter((_, i) => !queued.sent[i]);
        if (queued.cause) causes.push(`SQS: ${queued.cause}`);
      }
    } catch (error) {
      // Not expected (both steps catch their own errors): what is not accounted for goes to the log.
      causes.push(`unexpected: ${describeError(error)}`);
    }
    const cause = causes.join('; ');
    for (const line of left) {
      logger.error(LOG_FALLBACK_MESSAGE, { record: JSON.parse(line) as unknown, cause });
    }
    return {
      sent: lines.length - toFallbackQueue - left.length,
      retried,
      toFallbackQueue,
      toLogFallback: left.length + loggedOnAdd,
    };
  }
}

/** Sends each line as one message; failed entries (or a failed call) are sent once more. */
async function sendToQueue(
  sqs: SQSClient,
  queueUrl: string,
  lines: readonly string[],
  policy: RetryPolicy,
): Promise<{ sent: boolean[]; cause?: string }> {
  const sent = lines.map(() => false);
  let cause: string | undefined;
  let pending = lines.map((_, i) => i);
  for (let attempt = 1; attempt <= 2 && pending.length > 0; attempt++) {
    if (attempt > 1) await policy.sleep(backoffDelayMs(policy, 1));
    const failed: number[] = [];
    for (const chunk of chunks(
      pending,
      (i) => Buffer.byteLength(lines[i], 'utf8'),
      SQS_MAX_BATCH_MESSAGES,
      SQS_MAX_BATCH_BYTES,
    )) {
      try {
        const res = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((index) => ({ Id: String(index), MessageBody: lines[index] })),
          }),
        );
        const ok = new Set((res.Successful ?? []).map((entry) => entry.Id));
        for (const entry of res.Failed ?? []) cause = `${entry.Code}: ${entry.Message ?? 'no message'}`;
        for (const index of chunk) {
          if (ok.has(String(index))) sent[index] = true;
          else failed.push(index);
        }
      } catch (error) {
        cause = describeError(error);
        failed.push(...chunk);
      }
    }
    pending = failed;
  }
  return { sent, cause };
}

/** Consecutive groups of `items` with at most `maxCount` items and `maxBytes` bytes each (an item alone may be larger). */
function chunks<T>(
  items: readonly T[],
  bytes: (item: T) => number,
  maxCount: number,
  maxBytes: number,
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const b = bytes(item);
    if (current.length > 0 && (current.length === maxCount || size + b > maxBytes)) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += b;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

const PROBE_RECORD: PredictionRecord = {
  request_id: 'probe',
  ts: '2026-01-01T00:00:00.000Z',
  model: 'probe',
  model_version: 'probe',
  variant: 'stable',
  endpoint: 'live',
  routed_by: 'split',
  active_flags: [],
  user_bucket: 0,
  input_hmac: '0'.repeat(64),
  label: null,
  confidence: null,
  latency_ms: 0,
  error: null,
  inference_id: null,
};
