/**
 * Reads one variant's data capture for a window, bounded: capture files are listed hour by hour,
 * and when they hold more than the limits allow, a subset spread evenly over the window is read
 * (a capped read of the earliest files only would sample the start of the week).
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  captureHourPrefixes,
  parseCaptureLine,
  parseCaptureObjectKey,
  type CaptureRecord,
} from '../core/serving/data-capture';
import { decodeBinaryLine, JsonlLineSplitter } from '../core/data/jsonl';
import { parseS3Uri } from '../shadow/capture';

/** Bounds of one read. */
export interface CaptureReadLimits {
  /** Capture files read at most. */
  readonly maxFiles: number;
  /** Bytes read at most. */
  readonly maxBytes: number;
}

/**
 * The function has 1 GiB of memory and 15 minutes. Memory holds the sampled records (at most
 * `size` per label, never more than was read) and one line at a time, so 256 MiB of capture stays
 * well inside it; reading and parsing that much takes a minute or two.
 */
export const DEFAULT_READ_LIMITS: CaptureReadLimits = { maxFiles: 20_000, maxBytes: 256 * 2 ** 20 };

/** A capture line longer than this (SageMaker payloads are at most 6 MB, base64) is skipped. */
const MAX_LINE_BYTES = 16 * 2 ** 20;
const LIST_CONCURRENCY = 8;
const MAX_EXAMPLES = 3;

export interface CaptureFile {
  readonly key: string;
  readonly size: number;
  readonly hourStartMs: number;
}

/** What the read did, for the manifest: counts, keys and reasons, never a record's content. */
export interface CaptureReadSummary {
  /** `s3://<bucket>/<prefix>/<endpoint>/<variant>/` */
  readonly location: string;
  readonly filesFound: number;
  readonly bytesFound: number;
  readonly filesRead: number;
  readonly bytesRead: number;
  /** Lines read (blank lines aside). */
  readonly recordsRead: number;
  readonly unparseable: number;
  readonly unparseableExamples: readonly {
    readonly file: string;
    readonly line: number;
    readonly reason: string;
  }[];
  readonly limits: CaptureReadLimits;
  readonly capped: boolean;
  readonly cappedNote: string | null;
}

/** Where the capture of `variant` is: `<destination>/<endpoint>/<variant>/`. */
export function captureLocation(
  destinationS3Uri: string,
  endpointName: string,
  variant: string,
): { bucket: string; root: string; variantPrefix: string } {
  const { bucket, prefix } = parseS3Uri(destinationS3Uri);
  const root = `${prefix === '' ? '' : `${prefix}/`}${endpointName}/`;
  return { bucket, root, variantPrefix: `${root}${variant}/` };
}

/**
 * The capture files of `variant` in the hours that overlap [startMs, endMs], in time order (hour,
 * then file name: SageMaker names files after the minute they were started).
 */
export async function listCaptureFiles(
  s3: S3Client,
  input: {
    readonly bucket: string;
    readonly root: string;
    readonly variant: string;
    readonly startMs: number;
    readonly endMs: number;
  },
): Promise<CaptureFile[]> {
  const hours = captureHourPrefixes(input.variant, input.startMs, input.endMs);
  const files: CaptureFile[] = [];
  let next = 0;
  const worker = async () => {
    while (next < hours.length) {
      const hour = hours[next++] as string;
      let token: string | undefined;
      do {
        const res = await s3.send(
          new ListObjectsV2Command({
            Bucket: input.bucket,
            Prefix: `${input.root}${hour}`,
            ContinuationToken: token,
          }),
        );
        for (const object of res.Contents ?? []) {
          const parsed = object.Key ? parseCaptureObjectKey(object.Key, input.root) : undefined;
          if (!parsed || parsed.variant !== input.variant) continue;
          files.push({ key: object.Key as string, size: object.Size ?? 0, hourStartMs: parsed.hourStartMs });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, hours.length) }, worker));
  return files.sort((a, b) => a.hourStartMs - b.hourStartMs || compare(a.key, b.key));
}

/**
 * The files to read: all of them when they fit the limits, else a subset spread evenly over the
 * list (which is in time order), with the reason.
 */
export function selectCaptureFiles(
  files: readonly CaptureFile[],
  limits: CaptureReadLimits,
): { selected: CaptureFile[]; capped: boolean; reason: string | null } {
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  if (files.length <= limits.maxFiles && totalBytes <= limits.maxBytes) {
    return { selected: [...files], capped: false, reason: null };
  }
  const byFiles = limits.maxFiles / files.length;
  const byBytes = totalBytes === 0 ? 1 : limits.maxBytes / totalBytes;
  const share = Math.min(byFiles, byBytes);
  const selected: CaptureFile[] = [];
  let credit = 0;
  let bytes = 0;
  for (const file of files) {
    credit += share;
    if (credit < 1) continue;
    credit -= 1;
    if (selected.length >= limits.maxFiles || bytes + file.size > limits.maxBytes) continue;
    selected.push(file);
    bytes += file.size;
  }
  const reason =
    byFiles <= byBytes ? `the ${limits.maxFiles}-file limit` : `the ${formatMiB(limits.maxBytes)} limit`;
  return { selected, capped: true, reason };
}

/**
 * Reads the files one at a time, line by line, and hands every parsed record to `onRecord`.
 * A line that is not a capture record is counted (with its file, line number and reason, never
 * its content).
 */
export async function readCaptureFiles(
  s3: S3Client,
  input: {
    readonly bucket: string;
    readonly location: string;
    readonly files: readonly CaptureFile[];
    readonly filesFound: readonly CaptureFile[];
    readonly variant: string;
    readonly limits: CaptureReadLimits;
    readonly capped: boolean;
    readonly cappedReason: string | null;
  },
  onRecord: (record: CaptureRecord) => void,
): Promise<CaptureReadSummary> {
  let filesRead = 0;
  let bytesRead = 0;
  let recordsRead = 0;
  let unparseable = 0;
  const examples: { file: string; line: number; reason: string }[] = [];
  for (const file of input.files) {
    const bad = (line: number, reason: string) => {
      unparseable += 1;
      if (examples.length < MAX_EXAMPLES) examples.push({ file: file.key, line, reason });
    };
    const splitter = new JsonlLineSplitter(
      {
        onLine(binary, lineNumber) {
          if (binary.trim() === '') return;
          recordsRead += 1;
          const parsed = parseCaptureLine(decodeBinaryLine(binary), { variant: input.variant });
          if (parsed.ok) onRecord(parsed.record);
          else bad(lineNumber, parsed.reason);
        },
        onInvalidUtf8(lineNumber) {
          recordsRead += 1;
          bad(lineNumber, 'not UTF-8');
        },
        onLineTooLong(lineNumber) {
          recordsRead += 1;
          bad(lineNumber, `longer than ${formatMiB(MAX_LINE_BYTES)}`);
        },
      },
      { maxLineBytes: MAX_LINE_BYTES },
    );
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: input.bucket, Key: file.key }));
      for await (const chunk of (res.Body ?? []) as AsyncIterable<Uint8Array>) splitter.push(chunk);
      splitter.end();
    } catch (error) {
      throw new Error(
        `cannot read capture file s3://${input.bucket}/${file.key} (after ${filesRead} of ${input.files.length}): ` +
          `${describeError(error)}; check the function's role (s3:GetObject on the data capture bucket and kms:Decrypt)`,
        { cause: error },
      );
    }
    filesRead += 1;
    bytesRead += splitter.bytes;
  }
  const bytesFound = input.filesFound.reduce((sum, f) => sum + f.size, 0);
  return {
    location: input.location,
    filesFound: input.filesFound.length,
    bytesFound,
    filesRead,
    bytesRead,
    recordsRead,
    unparseable,
    unparseableExamples: examples,
    limits: input.limits,
    capped: input.capped,
    cappedNote: input.capped
      ? `read ${filesRead} of ${input.filesFound.length} capture files (${formatMiB(bytesRead)} of ${formatMiB(bytesFound)}), ` +
        `spread evenly over the window, because of ${input.cappedReason}: the sample is drawn from those`
      : null,
  };
}

export function formatMiB(bytes: number): string {
  const mib = bytes / 2 ** 20;
  return `${mib >= 10 || Number.isInteger(mib) ? mib.toFixed(0) : mib.toFixed(1)} MiB`;
}

/** `AccessDenied: ...`; a plain Error's message alone. */
export function describeError(error: unknown): string {
  const e = error as { name?: string; message?: string };
  const message = e.message ?? String(error);
  return e.name && e.name !== 'Error' ? `${e.name}: ${message}` : message;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
