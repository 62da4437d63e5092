/**
 * File drivers of the dataset scan: one pass with a reused read buffer, or byte ranges scanned by
 * worker threads and joined. The result is the same as {@link scanDataset} over the whole file.
 *
 * This is the one place of `lambdas/core` that opens files, so that the CLI and CodeBuild can use every
 * core; the logic stays in `dataset-validation.ts`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  concatDatasetScans,
  DatasetScanner,
  resolveDatasetSchema,
  type DatasetSchema,
  type DatasetScan,
  type ScanProgress,
} from './dataset-validation';

/** Options of {@link scanDatasetFile}. */
export interface FileScanOptions {
  /**
   * Bytes read at a time into one reused buffer.
   * @default 65536 - larger reads save little, and the text is decoded in 16 KiB parts anyway.
   */
  readonly chunkBytes?: number;
}

/** Options of {@link scanDatasetParallel}. */
export interface ParallelScanOptions extends FileScanOptions {
  /**
   * Threads scanning, the calling one included (so `workers - 1` worker threads are started); each scans
   * one byte range of the file.
   * @default - the number of CPUs (`os.availableParallelism()`)
   */
  readonly workers?: number;
  /**
   * Smallest range worth a worker: a smaller file gets fewer workers.
   * @default 4194304 (4 MiB)
   */
  readonly minRangeBytes?: number;
  /**
   * Script the workers run. Needed only when this module is bundled into another file (esbuild): point it
   * at a bundle of `lambdas/core/data/dataset-scan-worker.ts`.
   * @default - this module's own file
   */
  readonly workerScript?: string;
}

const DEFAULT_CHUNK_BYTES = 64 * 1024;
const DEFAULT_MIN_RANGE_BYTES = 4 * 1024 * 1024;
const NEWLINE = 0x0a;
const YIELD_BYTES = 1024 * 1024;
const WORKER_MARKER = 'mlops-dataset-scan-worker';
// Worker heaps are kept small: a scan holds one chunk, one line and the count tables.
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 96 };

interface RangeTask {
  readonly marker: typeof WORKER_MARKER;
  readonly path: string;
  readonly schema: DatasetSchema;
  readonly start: number;
  readonly end: number;
  readonly chunkBytes: number;
}

type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: ScanProgress }
  | { readonly type: 'done'; readonly scan: DatasetScan };

/**
 * Scans a JSONL file in one pass. Faster and leaner than `scanDataset(fs.createReadStream(path))`, which
 * allocates a new buffer per chunk.
 *
 * @throws if the file cannot be read or the schema is invalid.
 */
export async function scanDatasetFile(
  path: string,
  schema: Partial<DatasetSchema> = {},
  options: FileScanOptions = {},
  onProgress?: (progress: ScanProgress) => void,
): Promise<DatasetScan> {
  const resolved = resolveDatasetSchema(schema);
  const chunkBytes = checkedChunkBytes(options.chunkBytes);
  const size = (await statFile(path)).size;
  return scanFileRange(path, resolved, 0, size, chunkBytes, onProgress);
}

/**
 * Scans a JSONL file with worker threads, each on a byte range; the joined result equals
 * {@link scanDatasetFile}'s (line numbers, counts, examples), unless a field reaches `maxCategories`.
 * Worth it on files of hundreds of MiB with more than one CPU.
 *
 * @throws if the file cannot be read, the schema or an option is invalid, or a worker fails.
 */
export async function scanDatasetParallel(
  path: string,
  schema: Partial<DatasetSchema> = {},
  options: ParallelScanOptions = {},
  onProgress?: (progress: ScanProgress) => void,
): Promise<DatasetScan> {
  const resolved = resolveDatasetSchema(schema);
  const chunkBytes = checkedChunkBytes(options.chunkBytes);
  const requested = options.workers ?? availableParallelism();
  if (!Number.isSafeInteger(requested) || requested < 1) {
    throw new Error(`workers is ${String(requested)}; expected a whole number >= 1 of worker threads.`);
  }
  const minRangeBytes = options.minRangeBytes ?? DEFAULT_MIN_RANGE_BYTES;
  if (!Number.isSafeInteger(minRangeBytes) || minRangeBytes < 1) {
    throw new Error(`minRangeBytes is ${String(minRangeBytes)}; expected a whole number of bytes >= 1.`);
  }
  const size = (await statFile(path)).size;
  const workers = Math.max(1, Math.min(requested, Math.floor(size / minRangeBytes)));
  const workerScript = workers > 1 ? (options.workerScript ?? ownScript()) : '';
  const bounds = Array.from({ length: workers + 1 }, (_, i) => Math.round((size * i) / workers));

  const progress = bounds.slice(1).map((): ScanProgress => ({ bytes: 0, lines: 0, violations: 0 }));
  const report = (): void =>
    onProgress?.({
      bytes: sum(progress.map((p) => p.bytes)),
      lines: sum(progress.map((p) => p.lines)),
      violations: sum(progress.map((p) => p.violations)),
    });
  const onRangeProgress = (i: number) => (p: ScanProgress) => {
    progress[i] = p;
    report();
  };
  // The calling thread scans the first range itself: one isolate (and ~10 MiB) fewer than N workers.
  const parts = await Promise.all(
    bounds.slice(1).map((end, i) => {
      const task: RangeTask = {
        marker: WORKER_MARKER,
        path,
        schema: resolved,
        start: bounds[i],
        end,
        chunkBytes,
      };
      return i === 0
        ? scanFileRange(path, resolved, task.start, end, chunkBytes, onRangeProgress(i))
        : runWorker(workerScript, task, onRangeProgress(i));
    }),
  );
  return concatDatasetScans(parts, resolved.maxExamples);
}

/**
 * Scans the lines whose first byte lies in [start, end) of the file; the last one is read to its end,
 * past `end` if need be. Line numbers count from 1 at the range's first line, and `bytes` is the range's
 * length, so the scans of consecutive ranges join with `concatDatasetScans`. Exported for tests.
 */
export async function scanFileRange(
  path: string,
  schema: DatasetSchema,
  start: number,
  end: number,
  chunkBytes = DEFAULT_CHUNK_BYTES,
  onProgress?: (progress: ScanProgress) => void,
): Promise<DatasetScan> {
  const scanner = new DatasetScanner(schema, { atFileStart: start === 0 });
  const buffer = Buffer.allocUnsafe(chunkBytes);
  const fd = openFile(path);
  try {
    let position = start;
    if (start > 0) {
      // The line holding byte start-1 belongs to the previous range: skip to just after its newline.
      const lineStart = findNewline(fd, buffer, start - 1);
      position = lineStart === -1 ? Number.POSITIVE_INFINITY : lineStart + 1;
    }
    let sinceYield = 0;
    // No line starts in the range when the first one starts at or past `end`.
    let reading = position < end;
    while (reading) {
      // Synchronous reads: from the page cache they take microseconds, while a thread-pool round trip per
      // chunk left the scan idle a fifth of the time on a busy machine.
      const bytesRead = readSync(fd, buffer, 0, chunkBytes, position);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      // The range ends with the newline that ends the last line starting before `end`, maybe past `end`.
      const from = Math.max(0, end - 1 - position);
      const last = from < bytesRead ? chunk.indexOf(NEWLINE, from) : -1;
      scanner.push(last === -1 ? chunk : chunk.subarray(0, last + 1));
      onProgress?.(scanner.progress());
      position += bytesRead;
      reading = last === -1;
      sinceYield += bytesRead;
      if (sinceYield >= YIELD_BYTES) {
        // Let timers, signals and worker messages through every few milliseconds.
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    closeSync(fd);
  }
  return { ...scanner.end(), bytes: end - start };
}

/** Offset of the first newline at or after `from`, or -1. */
function findNewline(fd: number, buffer: Buffer, from: number): number {
  for (let position = from; ;) {
    const bytesRead = readSync(fd, buffer, 0, buffer.length, position);
    if (bytesRead === 0) return -1;
    const nl = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
    if (nl !== -1) return position + nl;
    position += bytesRead;
  }
}

function runWorker(
  script: string,
  task: RangeTask,
  onProgress: (progress: ScanProgress) => void,
): Promise<DatasetScan> {
  return new Promise((resolve, reject) => {
    const worker = script.endsWith('.ts')
      ? // TypeScript source (tsx, jest): register tsx's loader in the worker first.
        new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, {
          eval: true,
          workerData: task,
          resourceLimits: WORKER_LIMITS,
        })
      : new Worker(script, { workerData: task, resourceLimits: WORKER_LIMITS });
    let result: DatasetScan | undefined;
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress(message.progress);
      else result = message.scan;
    });
    worker.on('error', (error) =>
      reject(new Error(`Scanning bytes ${task.start}-${task.end} of ${task.path} failed: ${error.message}`)),
    );
    worker.on('exit', (code) => {
      if (result !== undefined) resolve(result);
      else
        reject(
          new Error(
            `The scan worker for bytes ${task.start}-${task.end} of ${task.path} exited with code ${code}.`,
          ),
        );
    });
  });
}

function ownScript(): string {
  const name = basename(__filename);
  if (name !== 'dataset-scan-worker.ts' && name !== 'dataset-scan-worker.js') {
    throw new Error(
      `scanDatasetParallel runs inside a bundle (${name}) and cannot start its workers from it; pass options.workerScript, a bundle of lambdas/core/data/dataset-scan-worker.ts.`,
    );
  }
  return __filename;
}

async function statFile(path: string): Promise<{ size: number }> {
  try {
    return await stat(path);
  } catch (error) {
    throw new Error(`Cannot read dataset file '${path}': ${(error as Error).message}`, { cause: error });
  }
}

function openFile(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (error) {
    throw new Error(`Cannot read dataset file '${path}': ${(error as Error).message}`, { cause: error });
  }
}

function checkedChunkBytes(chunkBytes: number | undefined): number {
  const value = chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`chunkBytes is ${String(value)}; expected a whole number of bytes >= 1 (default 65536).`);
  }
  return value;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

// Worker side: only inside a worker thread started by scanDatasetParallel.
if (!isMainThread && (workerData as Partial<RangeTask> | null)?.marker === WORKER_MARKER) {
  const task = workerData as RangeTask;
  let lastReport = 0;
  scanFileRange(task.path, task.schema, task.start, task.end, task.chunkBytes, (progress) => {
    // Every 16 MiB is enough for a progress line, and keeps messages rare.
    if (progress.bytes - lastReport >= 16 * 1024 * 1024) {
      lastReport = progress.bytes;
      parentPort!.postMessage({ type: 'progress', progress } satisfies WorkerMessage);
    }
  }).then(
    (scan) => parentPort!.postMessage({ type: 'done', scan } satisfies WorkerMessage),
    (error: unknown) => {
      throw error;
    },
  );
}
