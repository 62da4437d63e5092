/**
 * The per-example results the regression gate pairs: the candidate's, from the evaluation build's
 * output artifact (beside eval_report.json), and the baseline's, kept by promotion beside
 * baseline_metrics.json. Each `predictions_file` is resolved relative to its report, as
 * `mlops check-regression` does. Sizes are bounded before anything is read, and S3 bodies are
 * decoded and parsed piece by piece: only the examples are held, never a whole file's text.
 */
import { posix } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { EvalReport } from '../core/gates/eval-report';
import { PredictionsError, PredictionsReader, type ExampleResult } from '../core/gates/predictions';
import type { ExampleSource } from '../core/gates/regression-gate';

/** Largest predictions file read: about 230,000 examples (about 450 bytes of heap per example). */
export const MAX_PREDICTIONS_FILE_BYTES = 32 * 2 ** 20;
/** Largest sum of the predictions files of one comparison (both sides, every eval set). */
export const MAX_PREDICTIONS_TOTAL_BYTES = 64 * 2 ** 20;

/** A problem with the per-example results; the gate fails with the message. */
export class PredictionsInputError extends Error {
  override readonly name = 'PredictionsInputError';
}

/** Running total of bytes read for one comparison. */
export class PredictionsBudget {
  private used = 0;
  /** Throws when `bytes` more would pass the total; `what` names the file. */
  take(bytes: number, what: string): void {
    if (bytes > MAX_PREDICTIONS_FILE_BYTES) {
      throw new PredictionsInputError(
        `${what} is ${mib(bytes)}, more than the ${mib(MAX_PREDICTIONS_FILE_BYTES)} one predictions file may have; ` +
          'evaluate on a smaller pinned set or drop per-example results for this eval set',
      );
    }
    if (this.used + bytes > MAX_PREDICTIONS_TOTAL_BYTES) {
      throw new PredictionsInputError(
        `${what} (${mib(bytes)}) would take the predictions files of this comparison past ` +
          `${mib(MAX_PREDICTIONS_TOTAL_BYTES)}; keep per-example results for fewer or smaller eval sets`,
      );
    }
    this.used += bytes;
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** The predictions files a report names, by eval set, as paths relative to the report's folder. */
export function namedPredictionsFiles(report: EvalReport): [evalSet: string, file: string][] {
  return Object.entries(report.evalSets).flatMap(([evalSet, m]) =>
    m.predictionsFile === undefined
      ? []
      : [[evalSet, posix.normalize(m.predictionsFile)] as [string, string]],
  );
}

/** Parses bytes already in memory (an artifact's file) in pieces, so no second full-size string exists. */
export function parsePredictionBytes(
  bytes: Uint8Array,
  fileLabel: string,
  allowedLabels: readonly string[] | undefined,
): ExampleResult[] {
  const reader = new PredictionsReader(fileLabel, { allowedLabels });
  const decoder = new TextDecoder('utf-8');
  const piece = 1 << 20;
  for (let at = 0; at < bytes.length; at += piece) {
    reader.push(decoder.decode(bytes.subarray(at, at + piece), { stream: true }));
  }
  reader.push(decoder.decode());
  return reader.finish();
}

/**
 * The candidate's predictions files, from the artifact's files (already unzipped by the caller
 * with `read`). A file the report names but the artifact lacks is an error naming both.
 */
export function candidatePredictions(
  report: EvalReport,
  read: (file: string) => Uint8Array | undefined,
  labels: { readonly report: string; readonly artifact: string },
  allowedLabels: readonly string[] | undefined,
  budget: PredictionsBudget,
): { sources: Map<string, ExampleSource>; files: Map<string, Uint8Array> } {
  const sources = new Map<string, ExampleSource>();
  const files = new Map<string, Uint8Array>();
  for (const [evalSet, file] of namedPredictionsFiles(report)) {
    const bytes = read(file);
    if (bytes === undefined) {
      throw new PredictionsInputError(
        `${labels.report} eval_sets.${evalSet}.predictions_file names "${file}", which is not in input artifact ` +
          `${labels.artifact}; the evaluation build must write it beside eval_report.json (its artifact publishes ` +
          'predictions/**)',
      );
    }
    budget.take(bytes.length, `${file} (artifact ${labels.artifact})`);
    const rows = parsePredictionBytes(bytes, file, allowedLabels);
    sources.set(evalSet, { rows, file, report: labels.report });
    files.set(file, bytes);
  }
  return { sources, files };
}

/**
 * The baseline's predictions files, from `models/<model>/baseline/<predictions_file>`. Promotion
 * writes them before it switches the baseline report, so one that is missing or invalid means the
 * baseline is damaged: an error that says how to recover, never a silent unpaired comparison.
 */
export async function baselinePredictions(
  s3: S3Client,
  bucket: string,
  baselineKey: string,
  report: EvalReport,
  budget: PredictionsBudget,
): Promise<Map<string, ExampleSource>> {
  const sources = new Map<string, ExampleSource>();
  const folder = posix.dirname(baselineKey);
  const reportUrl = `s3://${bucket}/${baselineKey}`;
  for (const [evalSet, file] of namedPredictionsFiles(report)) {
    const key = `${folder}/${file}`;
    const url = `s3://${bucket}/${key}`;
    let rows: ExampleResult[];
    try {
      rows = await streamPredictions(s3, bucket, key, url, budget);
    } catch (error) {
      if (error instanceof PredictionsInputError || error instanceof PredictionsError) {
        throw new PredictionsInputError(
          `the baseline's per-example results for ${evalSet} (${url}, named by ${reportUrl}) cannot be used: ` +
            `${error.message}\nThe promoted baseline is damaged: restore the previous versions of both objects ` +
            '(the bucket is versioned), or remove predictions_file from the baseline report to compare unpaired',
          { cause: error },
        );
      }
      throw error;
    }
    sources.set(evalSet, { rows, file: url, report: reportUrl });
  }
  return sources;
}

/** GetObject, refused above the budget by its length, then decoded and parsed as it arrives. */
async function streamPredictions(
  s3: S3Client,
  bucket: string,
  key: string,
  url: string,
  budget: PredictionsBudget,
): Promise<ExampleResult[]> {
  let res;
  try {
    res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchKey') throw new PredictionsInputError(`${url} does not exist`);
    throw new Error(
      `cannot read ${url}: ${name}: ${(error as Error).message}; check the function's permissions ` +
        '(s3:GetObject on models/<model>/baseline/predictions/*, kms:Decrypt on the bucket key), then retry the stage',
      { cause: error },
    );
  }
  const body = res.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
  if (!body) throw new PredictionsInputError(`${url} has no body`);
  budget.take(res.ContentLength ?? 0, url);
  const reader = new PredictionsReader(url);
  const decoder = new TextDecoder('utf-8');
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    // ContentLength was checked; this guards a body longer than it claimed.
    if (seen > (res.ContentLength ?? 0)) {
      body.destroy?.();
      throw new PredictionsInputError(`${url} is longer than its Content-Length (${res.ContentLength ?? 0})`);
    }
    reader.push(decoder.decode(chunk, { stream: true }));
  }
  reader.push(decoder.decode());
  return reader.finish();
}
