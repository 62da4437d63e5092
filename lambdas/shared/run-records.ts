import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * Writes one run record (JSON) to the artifacts bucket. The SDK's default CRC32 checksum stays on:
 * the bucket has Object Lock, which refuses a PutObject without one.
 */
export async function putRunRecord(
  s3: S3Client,
  bucket: string,
  key: string,
  body: string | Uint8Array,
  what: string,
): Promise<void> {
  try {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
  } catch (error) {
    throw new Error(
      `cannot write the ${what} to s3://${bucket}/${key}: ${(error as Error).name}: ${(error as Error).message}; ` +
        "check that the bucket exists and the function's role may write to it and use its KMS key",
      { cause: error },
    );
  }
}
