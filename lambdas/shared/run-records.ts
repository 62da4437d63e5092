import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isTransientError } from '../core/serving/transient-error';

/**
 * How a record write is tried again when S3 refuses it for a transient reason (SlowDown 503,
 * InternalError 500, ServiceUnavailable 503, a timeout). S3 asks for exactly that: "If Amazon S3
 * returns an InternalError response, retry the request", and SlowDown means "reduce your request
 * rate" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ErrorBestPractices.html), so the
 * waits grow. The SDK's own retries (3 attempts in standard mode) come first, inside each attempt.
 */
export interface RecordRetry {
  readonly sleep: (ms: number) => Promise<void>;
  /** The waits between attempts: one attempt more than there are waits. */
  readonly delaysMs?: readonly number[];
  /** No wait that would end after this (epoch ms, with `now`) is started: the caller's time runs out. */
  readonly deadlineMs?: number;
  readonly now?: () => Date;
  /** Told about each refused attempt that is tried again. */
  readonly onRetry?: (error: unknown, delayMs: number) => void;
}

/** 0.5 + 1 + 2 + 4 s: five attempts within 7.5 s. */
export const RECORD_RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000];

/**
 * Writes one run record (JSON) to the artifacts bucket. The SDK's default CRC32 checksum stays on:
 * the bucket has Object Lock, which refuses a PutObject without one. With `retry`, a transient
 * refusal is tried again after growing waits; writing the same key with the same body again is
 * harmless, so the write is idempotent.
 */
export async function putRunRecord(
  s3: S3Client,
  bucket: string,
  key: string,
  body: string | Uint8Array,
  what: string,
  retry?: RecordRetry,
): Promise<void> {
  const delays = retry ? (retry.delaysMs ?? RECORD_RETRY_DELAYS_MS) : [];
  for (let attempt = 0; ; attempt++) {
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
      );
      return;
    } catch (error) {
      const delay = delays[attempt];
      const inTime =
        delay !== undefined &&
        (retry?.deadlineMs === undefined ||
          retry.now === undefined ||
          retry.now().getTime() + delay <= retry.deadlineMs);
      if (retry && delay !== undefined && inTime && isTransientError(error)) {
        retry.onRetry?.(error, delay);
        await retry.sleep(delay);
        continue;
      }
      const attempts = attempt + 1;
      throw new Error(
        `cannot write the ${what} to s3://${bucket}/${key}: ${(error as Error).name}: ${(error as Error).message}` +
          (attempts > 1 ? ` (${attempts} attempts)` : '') +
          (isTransientError(error)
            ? '; S3 refused it for a transient reason: writing it again later succeeds'
            : "; check that the bucket exists and the function's role may write to it and use its KMS key"),
        { cause: error },
      );
    }
  }
}
