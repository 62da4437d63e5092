/**
 * Reads a DVC-pinned dataset from the model's DVC remote in S3 and scans it in one streaming pass,
 * verifying the md5 of every object on the way: memory holds one chunk and the scan's count tables,
 * never the object.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  concatDatasetScans,
  scanDataset,
  type DatasetScan,
  type DatasetSchema,
} from '../core/data/dataset-validation';
import {
  DvcHashMismatchError,
  dvcOutRemoteKey,
  dvcRemoteKey,
  parseDvcDirManifest,
  verifyDvcOut,
  verifyMd5,
  type DvcOut,
  type DvcPin,
} from '../core/data/dvc';
import { workspacePath, type EvalSetFile } from '../core/data/eval-set-files';

/** Where the model's DVC remote is: `s3://bucket/prefix`. */
export interface DvcRemote {
  readonly bucket: string;
  readonly prefix: string;
}

/** What was read for one pin, for the report. */
export interface PinnedDatasetRead {
  /** The `.dvc` file in the model repository. */
  readonly dvcFile: string;
  /** The output's `path` key. */
  readonly path: string;
  /** The pinned md5 (`.dir` suffix for a directory); every byte scanned hashed to it. */
  readonly md5: string;
  /** The object read: the data file, or a directory's `.dir` manifest. */
  readonly remoteKey: string;
  /** JSONL files scanned: 1 for a file pin, the `.jsonl` entries of a directory's manifest. */
  readonly files: number;
  readonly bytes: number;
}

/** A pinned dataset that cannot be read as pinned; the message names the dataset, the object and the fix. */
export class PinnedDatasetError extends Error {
  override readonly name = 'PinnedDatasetError';
}

/**
 * The single output of an eval set's pin. An eval set is one dataset, so a `.dvc` file with several
 * outputs is ambiguous, and a `cache: false` output was never pushed to the remote.
 */
export function evalSetOut(label: string, pin: DvcPin): DvcOut {
  if (pin.outs.length !== 1) {
    throw new PinnedDatasetError(
      `${label}: ${pin.file} pins ${pin.outs.length} outputs (${pin.outs.map((o) => o.path).join(', ')}); ` +
        'an eval set is one file or directory: give each its own .dvc file',
    );
  }
  const out = pin.outs[0];
  if (!out.cached) {
    throw new PinnedDatasetError(
      `${label}: ${pin.file} has \`cache: false\`, so DVC never pushed the data to the remote; ` +
        'remove `cache: false`, run `dvc commit` and `dvc push`',
    );
  }
  return out;
}

/**
 * Scans the data of `out` straight from the remote, verifying md5s while streaming. A directory's
 * `.jsonl` files are scanned in relpath order, each verified against its manifest entry; their scans
 * are joined with line numbers kept per file (and the file named in each example), since a line number
 * counted across files points at nothing a person can open. A directory's other files are read and
 * verified too (not scanned): `files` lists every file of the pin, with the object version read and
 * its SHA-256, for the evaluation build to fetch exactly those bytes (lambdas/core/data/eval-set-files.ts).
 *
 * @throws PinnedDatasetError when an object is missing, unreadable or does not hash to its pin.
 */
export async function scanPinnedDataset(
  s3: S3Client,
  remote: DvcRemote,
  label: string,
  dvcFile: string,
  out: DvcOut,
  schema: DatasetSchema,
  wdir?: string,
): Promise<{ read: PinnedDatasetRead; scan: DatasetScan; files: EvalSetFile[] }> {
  const remoteKey = dvcOutRemoteKey(out, remote.prefix);
  const pathOf = (relpath?: string) => {
    try {
      return workspacePath(dvcFile, wdir, out.path, relpath);
    } catch (error) {
      throw new PinnedDatasetError(`${label}: ${(error as Error).message}`, { cause: error });
    }
  };
  const files: EvalSetFile[] = [];
  const read = (files: number, bytes: number): PinnedDatasetRead => ({
    dvcFile,
    path: out.path,
    md5: out.md5,
    remoteKey,
    files,
    bytes,
  });
  if (!out.isDirectory) {
    const path = pathOf();
    const object = await getObjectChunks(s3, remote, remoteKey, label, out.md5, dvcFile);
    const hashed = sha256Of(object.chunks);
    const scan = await verified(remote, remoteKey, () =>
      scanDataset(verifyDvcOut(hashed.chunks, out, label, dvcFile), schema),
    );
    files.push(hashed.file(remoteKey, object.versionId, path));
    return { read: read(1, scan.bytes), scan, files };
  }

  const manifestObject = await getObjectChunks(s3, remote, remoteKey, label, out.md5, dvcFile);
  const manifestText = await verified(remote, remoteKey, async () => {
    const parts: Buffer[] = [];
    for await (const chunk of verifyDvcOut(manifestObject.chunks, out, label, dvcFile))
      parts.push(Buffer.from(chunk));
    return Buffer.concat(parts).toString('utf8');
  });
  const all = [
    ...parseDvcDirManifest(manifestText, `${label}: manifest s3://${remote.bucket}/${remoteKey}`),
  ].sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
  const entries = all.filter((entry) => entry.relpath.endsWith('.jsonl'));
  if (entries.length === 0) {
    throw new PinnedDatasetError(
      `${label}: the directory ${out.path} pinned in ${dvcFile} (md5 ${out.md5}) holds no .jsonl file; ` +
        'eval sets are JSONL: add the data as .jsonl files, `dvc add` and `dvc push` it',
    );
  }
  const parts: DatasetScan[] = [];
  let lines = 0;
  for (const entry of all) {
    const key = dvcRemoteKey(entry.md5, { layout: out.remoteLayout, prefix: remote.prefix });
    const fileLabel = `${label} (${out.path}/${entry.relpath})`;
    const path = pathOf(entry.relpath);
    const object = await getObjectChunks(s3, remote, key, fileLabel, entry.md5, dvcFile);
    const hashed = sha256Of(object.chunks);
    const checked = () => verifyMd5(hashed.chunks, entry.md5, fileLabel, { hashMode: out.hashMode, dvcFile });
    if (entry.relpath.endsWith('.jsonl')) {
      const scan = await verified(remote, key, () => scanDataset(checked(), schema));
      lines += scan.lines;
      parts.push(inFile(scan, entry.relpath));
    } else {
      // Not data to scan, but the evaluation gets it as `dvc pull` would: verified all the same.
      await verified(remote, key, async () => {
        for await (const chunk of checked()) void chunk;
      });
    }
    files.push(hashed.file(key, object.versionId, path));
  }
  const joined = concatDatasetScans(parts, schema.maxExamples);
  return { read: read(entries.length, joined.bytes), scan: { ...joined, lines }, files };
}

/**
 * Passes chunks through while hashing them with SHA-256; `file` is valid once they were all read.
 * The gate's md5 check says the bytes are the pinned ones; the SHA-256 lets the build check the
 * same bytes with `sha256sum` (md5 alone would not do for a DVC 2 pin, hashed after CRLF -> LF).
 */
function sha256Of(chunks: AsyncIterable<Uint8Array>) {
  const hash = createHash('sha256');
  let bytes = 0;
  let done = false;
  return {
    chunks: (async function* () {
      for await (const chunk of chunks) {
        hash.update(chunk);
        bytes += chunk.byteLength;
        yield chunk;
      }
      done = true;
    })(),
    file(key: string, versionId: string | undefined, path: string): EvalSetFile {
      if (!done) throw new Error(`sha256Of: ${key} was not read to its end`);
      return {
        sha256: hash.digest('hex'),
        bytes,
        ...(versionId === undefined ? {} : { versionId }),
        key,
        path,
      };
    },
  };
}

/**
 * Names the file in each example and zeroes `lines`, so that concatenation keeps per-file line numbers;
 * the caller restores the total.
 */
function inFile(scan: DatasetScan, relpath: string): DatasetScan {
  return {
    ...scan,
    lines: 0,
    violations: {
      ...scan.violations,
      examples: scan.violations.examples.map((example) => ({
        ...example,
        message: `in ${relpath}: ${example.message}`,
      })),
    },
  };
}

/** Runs a verifying read and turns a hash mismatch into a message that also names the object. */
async function verified<T>(remote: DvcRemote, key: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof DvcHashMismatchError) {
      throw new PinnedDatasetError(`${error.message} (object s3://${remote.bucket}/${key})`, {
        cause: error,
      });
    }
    if (error instanceof PinnedDatasetError) throw error;
    throw new PinnedDatasetError(
      `${error instanceof Error ? error.message : String(error)} (while reading s3://${remote.bucket}/${key})`,
      { cause: error },
    );
  }
}

/** The body of an object as byte chunks, streamed; a missing object says which pin expects it. */
async function getObjectChunks(
  s3: S3Client,
  remote: DvcRemote,
  key: string,
  label: string,
  md5: string,
  dvcFile: string,
): Promise<{ chunks: AsyncIterable<Uint8Array>; versionId?: string }> {
  const where = `s3://${remote.bucket}/${key}`;
  let body: unknown;
  let versionId: string | undefined;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: remote.bucket, Key: key }));
    body = response.Body;
    // The version read, pinned for the build; "null" (written while versioning was off) is a version
    // id GetObject accepts too. https://docs.aws.amazon.com/AmazonS3/latest/userguide/RetrievingObjectVersions.html
    versionId = response.VersionId;
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (name === 'NoSuchKey' || name === 'NotFound') {
      throw new PinnedDatasetError(
        `${label}: the data pinned in ${dvcFile} (md5 ${md5}) is not in the DVC remote: ${where} does not exist; ` +
          'run `dvc push` from the commit that pinned it',
        { cause: error },
      );
    }
    throw new PinnedDatasetError(
      `${label}: cannot read ${where} (md5 ${md5}, pinned in ${dvcFile}): ${String(name)}: ${(error as Error).message}; ` +
        "check that the DVC remote bucket exists and the function's role may read it (without s3:ListBucket, " +
        'S3 answers AccessDenied for an object that was never pushed)',
      { cause: error },
    );
  }
  if (body === undefined || body === null || !(Symbol.asyncIterator in (body as object))) {
    throw new PinnedDatasetError(`${label}: ${where} returned no readable body; retry the pipeline stage`);
  }
  return { chunks: body as AsyncIterable<Uint8Array>, ...(versionId === undefined ? {} : { versionId }) };
}
