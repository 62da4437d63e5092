/**
 * Per-example results of an evaluation: the JSONL file an eval report names in `predictions_file`
 * (docs/eval-report.md). One line per example:
 *
 *   {"id": "doc-00017", "label": "refund", "predicted": "billing", "confidence": 0.62,
 *    "latency_ms": 41.8, "slices": {"source": "email"}}
 *
 * This module parses it (every problem with file, line and field), recomputes the report's metrics
 * from it, refuses a report whose stated metrics disagree with its own examples, and pairs a
 * candidate's examples with the baseline's for the paired accuracy test.
 */
import type { EvalSetMetrics } from './eval-report';
import type { PairedCounts } from '../statistics/gate-stats';

/** One evaluated example. */
export interface ExampleResult {
  /** Stable example id, unique in the file; the key that pairs candidate and baseline (file: `id`). */
  readonly id: string;
  /** True label (file: `label`). */
  readonly label: string;
  /** The model's prediction (file: `predicted`). */
  readonly predicted: string;
  /** Confidence of the prediction, 0..1 (file: `confidence`). */
  readonly confidence: number;
  /** Latency of this prediction in milliseconds, >= 0 (file: `latency_ms`). */
  readonly latencyMs: number;
  /** Slice names this example belongs to, `key=value` as in `slice_accuracy` (file: `slices`). */
  readonly slices: readonly string[];
  /** Line number in the file (1-based), for messages. */
  readonly line: number;
}

/** Thrown by {@link parsePredictions}; one line per problem. */
export class PredictionsError extends Error {
  readonly problems: readonly string[];
  constructor(fileLabel: string, problems: readonly string[]) {
    const shown = problems.slice(0, MAX_LISTED);
    const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : '';
    super(
      `${fileLabel} is not a valid predictions file (${problems.length} problem${problems.length === 1 ? '' : 's'}; ` +
        `format: docs/eval-report.md):\n${shown.map((p) => `  - ${p}`).join('\n')}${more}`,
    );
    this.name = 'PredictionsError';
    this.problems = problems;
  }
}

const MAX_LISTED = 20;
const KEYS = ['id', 'label', 'predicted', 'confidence', 'latency_ms', 'slices'];

/** Options of {@link parsePredictions}. */
export interface ParsePredictionsOptions {
  /** `dataValidation.allowedLabels` of the model: a label or prediction outside it is a problem. */
  readonly allowedLabels?: readonly string[];
}

/**
 * Parses a predictions file. Every malformed line, missing or wrong field, duplicate id and label
 * outside `allowedLabels` is a problem `<file>:<line> <field>: what is wrong (got X, expected Y)`.
 * @throws PredictionsError listing every problem (the message shows the first 20).
 */
export function parsePredictions(
  text: string,
  fileLabel: string,
  options: ParsePredictionsOptions = {},
): ExampleResult[] {
  const reader = new PredictionsReader(fileLabel, options);
  reader.push(text);
  return reader.finish();
}

/**
 * {@link parsePredictions} a piece at a time, for a file read as a stream: only the examples and
 * the current partial line are held, never the whole text. Push the decoded text in order (pieces
 * may split a line anywhere), then `finish`.
 */
export class PredictionsReader {
  private readonly allowed: ReadonlySet<string> | null;
  private readonly problems: string[] = [];
  private readonly rows: ExampleResult[] = [];
  private readonly firstLineOf = new Map<string, number>();
  private partial = '';
  private lineCount = 0;
  private started = false;

  constructor(
    private readonly fileLabel: string,
    options: ParsePredictionsOptions = {},
  ) {
    this.allowed =
      options.allowedLabels && options.allowedLabels.length > 0 ? new Set(options.allowedLabels) : null;
  }

  /** Lines read so far. */
  get lines(): number {
    return this.lineCount;
  }

  push(piece: string): void {
    let text = piece;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.readLine(line);
  }

  /** @throws PredictionsError listing every problem. */
  finish(): ExampleResult[] {
    if (this.partial !== '') this.readLine(this.partial);
    this.partial = '';
    if (this.lineCount === 0) {
      this.problems.push(`${this.fileLabel}: empty (expected one JSON object per evaluated example)`);
    }
    if (this.problems.length > 0) throw new PredictionsError(this.fileLabel, this.problems);
    return this.rows;
  }

  private readLine(raw: string): void {
    const line = ++this.lineCount;
    const problems = this.problems;
    const at = (field: string) => `${this.fileLabel}:${line} ${field}`;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') {
      problems.push(`${at('(line)')}: blank line (expected one JSON object per example)`);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      problems.push(`${at('(line)')}: not JSON (got ${show(text)}, expected one JSON object per line)`);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`${at('(line)')}: not a JSON object (got ${show(value)})`);
      return;
    }
    const record = value as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(record)) {
      if (!KEYS.includes(key)) problems.push(`${at(key)}: unknown key (expected one of ${KEYS.join(', ')})`);
    }
    const str = (key: string): string => {
      const v = record[key];
      if (typeof v === 'string' && v.trim() !== '') return v;
      problems.push(
        `${at(key)}: ${v === undefined ? 'missing' : `invalid value (got ${show(v)}`}${v === undefined ? ' (expected' : ','} a non-empty string)`,
      );
      return '';
    };
    const num = (key: string, min: number, max: number, what: string): number => {
      const v = record[key];
      if (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max) return v;
      problems.push(
        `${at(key)}: ${v === undefined ? 'missing' : `invalid value (got ${show(v)},`}${v === undefined ? ' (expected' : ''} ${what})`,
      );
      return Number.NaN;
    };
    const id = str('id');
    const label = str('label');
    const predicted = str('predicted');
    const confidence = num('confidence', 0, 1, 'a number from 0 to 1');
    const latencyMs = num('latency_ms', 0, Number.MAX_VALUE, 'milliseconds, a number >= 0');
    const slices: string[] = [];
    const rawSlices = record.slices;
    if (rawSlices !== undefined) {
      if (rawSlices === null || typeof rawSlices !== 'object' || Array.isArray(rawSlices)) {
        problems.push(
          `${at('slices')}: invalid value (got ${show(rawSlices)}, expected an object of slice key -> value, e.g. {"source": "email"})`,
        );
      } else {
        for (const [key, v] of Object.entries(rawSlices as Record<string, unknown>)) {
          if (typeof v !== 'string' || v === '') {
            problems.push(
              `${at(`slices.${key}`)}: invalid value (got ${show(v)}, expected a non-empty string)`,
            );
          } else slices.push(`${key}=${v}`);
        }
      }
    }
    const allowed = this.allowed;
    if (allowed) {
      for (const [key, v] of [
        ['label', label],
        ['predicted', predicted],
      ] as const) {
        if (v !== '' && !allowed.has(v)) {
          problems.push(
            `${at(key)}: label not in the model's config (got ${JSON.stringify(v)}, expected one of ` +
              `dataValidation.allowedLabels: ${[...allowed].join(', ')})`,
          );
        }
      }
    }
    if (id !== '') {
      const first = this.firstLineOf.get(id);
      if (first !== undefined) {
        problems.push(
          `${at('id')}: duplicate id ${JSON.stringify(id)} (first on line ${first}; each example once)`,
        );
      } else this.firstLineOf.set(id, line);
    }
    if (problems.length === before) {
      this.rows.push({ id, label, predicted, confidence, latencyMs, slices, line });
    }
  }
}

function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Metrics from the examples
// ---------------------------------------------------------------------------------------------

/** The report's metrics as the examples give them. */
export interface ExampleMetrics {
  readonly rowCount: number;
  readonly correct: number;
  readonly accuracy: number;
  /** Slice name -> { correct, rows, accuracy }. */
  readonly slices: Readonly<
    Record<string, { readonly correct: number; readonly rows: number; readonly accuracy: number }>
  >;
  /** numpy's default (linear) 95th percentile of latency. */
  readonly p95LatencyMs: number;
  /** The order statistics around the 95th percentile: any common percentile definition lies between. */
  readonly p95LatencyRange: readonly [number, number];
  readonly confidenceMean: number;
  /** Population standard deviation (numpy's default, ddof = 0). */
  readonly confidenceStd: number;
  /** Sample standard deviation (ddof = 1). */
  readonly confidenceSampleStd: number;
}

/** Recomputes accuracy, slice accuracy, p95 latency and confidence from the examples. */
export function metricsFromExamples(rows: readonly ExampleResult[]): ExampleMetrics {
  if (rows.length === 0) throw new RangeError('metricsFromExamples: no examples');
  let correct = 0;
  const slices: Record<string, { correct: number; rows: number; accuracy: number }> = {};
  let sum = 0;
  for (const row of rows) {
    const ok = row.label === row.predicted;
    if (ok) correct++;
    sum += row.confidence;
    for (const s of row.slices) {
      const entry = Object.hasOwn(slices, s) ? slices[s] : (slices[s] = { correct: 0, rows: 0, accuracy: 0 });
      entry.rows++;
      if (ok) entry.correct++;
    }
  }
  for (const entry of Object.values(slices)) entry.accuracy = entry.correct / entry.rows;
  const n = rows.length;
  const mean = sum / n;
  let m2 = 0;
  for (const row of rows) m2 += (row.confidence - mean) ** 2;
  const latencies = rows.map((r) => r.latencyMs).sort((a, b) => a - b);
  const position = 0.95 * (n - 1);
  const lo = Math.floor(position);
  const hi = Math.min(n - 1, lo + 1);
  const p95 = latencies[lo] + (position - lo) * (latencies[hi] - latencies[lo]);
  return {
    rowCount: n,
    correct,
    accuracy: correct / n,
    slices,
    p95LatencyMs: p95,
    p95LatencyRange: [latencies[Math.max(0, lo - 1)], latencies[Math.min(n - 1, hi + 1)]],
    confidenceMean: mean,
    confidenceStd: Math.sqrt(m2 / n),
    confidenceSampleStd: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0,
  };
}

/**
 * Stated values may be rounded: fractions to 3 decimals (half of 0.001), latency to 0.1 ms.
 * Anything further apart means the report and its examples describe different runs.
 */
export const FRACTION_TOLERANCE = 0.0005 + 1e-12;
export const LATENCY_TOLERANCE_MS = 0.05 + 1e-9;

/**
 * Where the report's stated metrics of one eval set disagree with its examples, one line each, naming
 * the report, the JSON path, both values and the predictions file. Empty when they agree.
 */
export function metricDisagreements(
  stated: EvalSetMetrics,
  computed: ExampleMetrics,
  where: { readonly report: string; readonly evalSet: string; readonly predictionsFile: string },
): string[] {
  const problems: string[] = [];
  const path = (key: string) => `${where.report} eval_sets.${where.evalSet}.${key}`;
  const from = `the ${computed.rowCount} examples in ${where.predictionsFile}`;
  const fmt = (x: number) => String(Number(x.toPrecision(6)));
  if (stated.rowCount !== computed.rowCount) {
    problems.push(
      `${path('row_count')}: states ${stated.rowCount} but ${from} are ${computed.rowCount} rows`,
    );
  }
  const fraction = (key: string, statedValue: number, value: number) => {
    if (Math.abs(statedValue - value) > FRACTION_TOLERANCE) {
      problems.push(`${path(key)}: states ${fmt(statedValue)} but ${from} give ${fmt(value)}`);
    }
  };
  fraction('accuracy', stated.accuracy, computed.accuracy);
  fraction('confidence.mean', stated.confidence.mean, computed.confidenceMean);
  const std = stated.confidence.std;
  if (
    Math.abs(std - computed.confidenceStd) > FRACTION_TOLERANCE &&
    Math.abs(std - computed.confidenceSampleStd) > FRACTION_TOLERANCE
  ) {
    problems.push(
      `${path('confidence.std')}: states ${fmt(std)} but ${from} give ${fmt(computed.confidenceStd)}`,
    );
  }
  const [lo, hi] = computed.p95LatencyRange;
  if (stated.p95LatencyMs < lo - LATENCY_TOLERANCE_MS || stated.p95LatencyMs > hi + LATENCY_TOLERANCE_MS) {
    problems.push(
      `${path('p95_latency_ms')}: states ${fmt(stated.p95LatencyMs)} but ${from} give ${fmt(computed.p95LatencyMs)} ` +
        `(any percentile definition lies in ${fmt(lo)}..${fmt(hi)})`,
    );
  }
  for (const [slice, acc] of Object.entries(stated.sliceAccuracy)) {
    const entry = Object.hasOwn(computed.slices, slice) ? computed.slices[slice] : undefined;
    if (!entry) {
      problems.push(
        `${path(`slice_accuracy["${slice}"]`)}: no example in ${where.predictionsFile} is in this slice ` +
          '(expected "slices": {"<key>": "<value>"} on its lines, naming the slice "<key>=<value>")',
      );
    } else fraction(`slice_accuracy["${slice}"]`, acc, entry.accuracy);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Pairing a candidate's examples with the baseline's
// ---------------------------------------------------------------------------------------------

/** The two runs on their shared examples. */
export interface PairedExamples {
  readonly counts: PairedCounts;
  /** Shared examples in the candidate's file order: correctness of each model and the slices. */
  readonly shared: readonly {
    readonly candidate: boolean;
    readonly baseline: boolean;
    readonly slices: readonly string[];
  }[];
  /** Problems that make the pairing invalid: ids on one side only, or a true label that differs. */
  readonly problems: readonly string[];
}

/**
 * Pairs examples by id. The eval set is pinned, so both runs must hold the same ids with the same true
 * labels; every difference is a problem naming the file and line (the first 10 of each kind).
 */
export function pairExamples(
  candidate: readonly ExampleResult[],
  baseline: readonly ExampleResult[],
  files: { readonly candidate: string; readonly baseline: string },
): PairedExamples {
  const byId = new Map(baseline.map((r) => [r.id, r]));
  let bothCorrect = 0;
  let candidateOnly = 0;
  let baselineOnly = 0;
  let neitherCorrect = 0;
  const shared: { candidate: boolean; baseline: boolean; slices: readonly string[] }[] = [];
  const missing: string[] = [];
  const relabelled: string[] = [];
  for (const c of candidate) {
    const b = byId.get(c.id);
    if (!b) {
      missing.push(
        `${files.candidate}:${c.line} id: ${JSON.stringify(c.id)} is not in the baseline's ${files.baseline}`,
      );
      continue;
    }
    if (b.label !== c.label) {
      relabelled.push(
        `${files.candidate}:${c.line} label: ${JSON.stringify(c.label)} but the baseline's ${files.baseline}:${b.line} ` +
          `has ${JSON.stringify(b.label)} for id ${JSON.stringify(c.id)}`,
      );
      continue;
    }
    const cc = c.predicted === c.label;
    const bc = b.predicted === b.label;
    if (cc && bc) bothCorrect++;
    else if (cc) candidateOnly++;
    else if (bc) baselineOnly++;
    else neitherCorrect++;
    shared.push({ candidate: cc, baseline: bc, slices: c.slices });
  }
  const candidateIds = new Set(candidate.map((c) => c.id));
  const absent = baseline
    .filter((b) => !candidateIds.has(b.id))
    .map(
      (b) =>
        `${files.baseline}:${b.line} id: ${JSON.stringify(b.id)} is not in the candidate's ${files.candidate}`,
    );
  const cap = (list: string[]) =>
    list.length > 10 ? [...list.slice(0, 10), `... and ${list.length - 10} more like it`] : list;
  return {
    counts: { bothCorrect, candidateOnly, baselineOnly, neitherCorrect },
    shared,
    problems: [...cap(missing), ...cap(absent), ...cap(relabelled)],
  };
}
