/**
 * Reads the live endpoint's data capture for the shadow window and pairs the production and shadow
 * predictions. The read is bounded ({@link CaptureLimits}): the stage runs in one Lambda
 * invocation, and agreement on a large sample says no more than on all of it.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  AgreementTally,
  captureHourPrefixes,
  parseCaptureLine,
  parseCaptureObjectKey,
  type PairedVariants,
} from '../core/serving/data-capture';
import type { CaptureSummary } from '../core/serving/shadow-report';

/** Bounds of one data capture read. */
export interface CaptureLimits {
  /** Capture files read at most (production and shadow together). */
  readonly maxFiles: number;
  /** Lines read at most. */
  readonly maxRecords: number;
  /** Bytes read at most. */
  readonly maxBytes: number;
}

/**
 * 100,000 paired requests give an agreement interval narrower than ±0.4 points. Files are read one at
 * a time, so memory holds one file plus a label per inference id; the file and byte bounds keep the read
 * to a minute or two, well inside the function's 5-minute timeout.
 */
export const DEFAULT_CAPTURE_LIMITS: CaptureLimits = {
  maxFiles: 1_000,
  maxRecords: 100_000,
  maxBytes: 128 * 1024 * 1024,
};

const MAX_EXAMPLES = 3;

/** `s3://bucket/a/b` -> bucket and key prefix `a/b` (no trailing slash; empty for the bucket root). */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new Error(`"${uri}" is not an s3:// URL`);
  return { bucket: match[1] as string, prefix: (match[2] as string).replace(/\/+$/, '') };
}

interface CaptureFile {
  readonly key: string;
  readonly size: number;
  readonly variantOrder: number;
  readonly variant: string;
  readonly hourStartMs: number;
}

/**
 * Lists the capture files of both variants for the hours of the window and reads them in time
 * order, the variants interleaved, so that a capped read still covers both variants of the same
 * requests.
 *
 * `destinationS3Uri` is the endpoint config's `DataCaptureConfig.DestinationS3Uri`; SageMaker writes
 * under `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/`.
 */
export async function readCaptureAgreement(
  s3: S3Client,
  input: {
    readonly destinationS3Uri: string;
    readonly endpointName: string;
    readonly variants: PairedVariants;
    readonly startMs: number;
    readonly endMs: number;
    readonly limits: CaptureLimits;
  },
): Promise<CaptureSummary> {
  const { bucket, prefix } = parseS3Uri(input.destinationS3Uri);
  const root = `${prefix === '' ? '' : `${prefix}/`}${input.endpointName}/`;
  const location = `s3://${bucket}/${root}`;
  const tally = new AgreementTally(input.variants);
  const summary = {
    location,
    filesFound: 0,
    filesRead: 0,
    recordsRead: 0,
    unparseable: 0,
    unparseableExamples: [] as { file: string; line: number; reason: string }[],
    capped: false,
    cappedNote: null as string | null,
    error: null as string | null,
  };

  let files: CaptureFile[];
  try {
    files = await listCaptureFiles(s3, bucket, root, input);
  } catch (error) {
    return {
      ...summary,
      error: `cannot list ${location}: ${describe(error)}`,
      agreement: new AgreementTally(input.variants).result(),
    };
  }
  summary.filesFound = files.length;

  let bytes = 0;
  const cap = (note: string) => {
    summary.capped = true;
    summary.cappedNote =
      `data capture read stopped at ${note} (the shadow stage's limit): agreement comes from the ` +
      `${summary.filesRead} of ${files.length} capture files read, earliest first`;
  };
  try {
    for (const file of files) {
      if (summary.filesRead >= input.limits.maxFiles) {
        cap(`${input.limits.maxFiles} files`);
        break;
      }
      if (bytes + file.size > input.limits.maxBytes) {
        cap(`${Math.round(input.limits.maxBytes / 1024 / 1024)} MiB`);
        break;
      }
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: file.key }));
      const text = (await res.Body?.transformToString('utf8')) ?? '';
      bytes += file.size;
      summary.filesRead += 1;
      const lines = text.split('\n');
      let stopped = false;
      for (const [index, raw] of lines.entries()) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (line.trim() === '') continue;
        if (summary.recordsRead >= input.limits.maxRecords) {
          cap(`${input.limits.maxRecords} records`);
          stopped = true;
          break;
        }
        summary.recordsRead += 1;
        const parsed = parseCaptureLine(line, { variant: file.variant });
        if (parsed.ok) {
          tally.add(parsed.record);
          continue;
        }
        summary.unparseable += 1;
        if (summary.unparseableExamples.length < MAX_EXAMPLES) {
          summary.unparseableExamples.push({ file: file.key, line: index + 1, reason: parsed.reason });
        }
      }
      if (stopped) break;
    }
  } catch (error) {
    return {
      ...summary,
      error: `cannot read the capture files under ${location} (after ${summary.filesRead} of ${files.length}): ${describe(error)}`,
      agreement: new AgreementTally(input.variants).result(),
    };
  }
  return { ...summary, agreement: tally.result() };
}

async function listCaptureFiles(
  s3: S3Client,
  bucket: string,
  root: string,
  input: { readonly variants: PairedVariants; readonly startMs: number; readonly endMs: number },
): Promise<CaptureFile[]> {
  const files: CaptureFile[] = [];
  const variants = [input.variants.production, input.variants.shadow];
  for (const [variantOrder, variant] of variants.entries()) {
    for (const hour of captureHourPrefixes(variant, input.startMs, input.endMs)) {
      let token: string | undefined;
      do {
        const res = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: `${root}${hour}`, ContinuationToken: token }),
        );
        for (const object of res.Contents ?? []) {
          const parsed = object.Key ? parseCaptureObjectKey(object.Key, root) : undefined;
          if (!parsed || parsed.variant !== variant) continue;
          files.push({ key: object.Key as string, size: object.Size ?? 0, variantOrder, ...parsed });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    }
  }
  // SageMaker names a capture file after the minute, second and millisecond it was started
  // (`mm-ss-mmm-<uuid>.jsonl`), so ordering by hour and then file name interleaves the variants in
  // time order.
  const name = (key: string) => key.slice(key.lastIndexOf('/') + 1);
  return files.sort(
    (a, b) =>
      a.hourStartMs - b.hourStartMs ||
      compare(name(a.key), name(b.key)) ||
      a.variantOrder - b.variantOrder ||
      compare(a.key, b.key),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `AccessDenied: ...`; a plain Error's message alone. */
function describe(error: unknown): string {
  const e = error as { name?: string; message?: string };
  const message = e.message ?? String(error);
  return e.name && e.name !== 'Error' ? `${e.name}: ${message}` : message;
}
