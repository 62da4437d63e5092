/**
 * The evaluation report: what a model repo's evaluate command writes as `eval_report.json`, and what the
 * promoted model's report is kept as (`baseline_metrics.json`, same schema).
 *
 * The file is written by Python teams, so its keys are snake_case (`p95_latency_ms`); the parsed
 * TypeScript object is camelCase (`p95LatencyMs`). The mapping is one-to-one and lives only here.
 * See docs/eval-report.md for the format, a full example and the unknown-key policy.
 */
import { z } from 'zod';
import { formatJsonPath } from '../contracts/json-path';

export { formatJsonPath };

/**
 * The newest `schema_version`, the one new reports should use. Version 2 adds `predictions_file`
 * (per-example results beside the report); version 1 reports are still read.
 */
export const EVAL_REPORT_SCHEMA_VERSION = 2;
/** Every `schema_version` this code reads. */
export const EVAL_REPORT_SCHEMA_VERSIONS = [1, 2] as const;
export type EvalReportSchemaVersion = (typeof EVAL_REPORT_SCHEMA_VERSIONS)[number];

/** Confidence of the model's predictions over one eval set. */
export interface ConfidenceStats {
  /** Mean predicted confidence, 0..1. */
  readonly mean: number;
  /** Standard deviation of predicted confidence, 0..1. */
  readonly std: number;
}

/** Metrics of one eval set (file key `eval_sets.<name>`). */
export interface EvalSetMetrics {
  /** Fraction of correct predictions, 0..1 (file: `accuracy`). */
  readonly accuracy: number;
  /** 95th-percentile latency of one prediction in milliseconds, > 0 (file: `p95_latency_ms`). */
  readonly p95LatencyMs: number;
  /** Serving cost of 1000 requests in the report's currency, >= 0 (file: `cost_per_1k_requests`). */
  readonly costPer1kRequests: number;
  /** Slice name -> accuracy of the rows in that slice, 0..1, at least two slices (file: `slice_accuracy`). */
  readonly sliceAccuracy: Readonly<Record<string, number>>;
  /** Prediction confidence (file: `confidence.mean`, `confidence.std`). */
  readonly confidence: ConfidenceStats;
  /** Rows the metrics were computed on, >= 1 (file: `row_count`). */
  readonly rowCount: number;
  /** md5 of the eval set as pinned in its `.dvc` file, `.dir` suffix for directories (file: `dataset_md5`). */
  readonly datasetMd5: string;
  /** Further team-specific metrics, not gated (file: `extra_metrics`, optional). */
  readonly extraMetrics: Readonly<Record<string, number>>;
  /**
   * Per-example results (JSONL, docs/eval-report.md), relative to the report's folder
   * (file: `predictions_file`, schema version 2, optional). When present the platform recomputes the
   * metrics from it and compares the models example by example.
   */
  readonly predictionsFile?: string;
}

/** A parsed `eval_report.json` / `baseline_metrics.json`. */
export interface EvalReport {
  /** File: `schema_version`. */
  readonly schemaVersion: EvalReportSchemaVersion;
  /** Model name as in `config/models/<model>.yaml` (file: `model`). */
  readonly model: string;
  /** What was evaluated, usually the git commit (file: `model_version`). */
  readonly modelVersion: string;
  /** When the report was written, ISO 8601 with a time zone (file: `generated_at`). */
  readonly generatedAt: string;
  /** ISO 4217 code of every money amount in the report (file: `currency`). */
  readonly currency: string;
  /** Eval set name (from config, e.g. `golden_set`) -> its metrics, in file order (file: `eval_sets`). */
  readonly evalSets: Readonly<Record<string, EvalSetMetrics>>;
}

/** Thrown by {@link parseEvalReport}; `problems` holds one line per problem, the message all of them. */
export class EvalReportError extends Error {
  /** Each line reads `<file> <json.path>: what is wrong (got X, expected Y)`. */
  readonly problems: readonly string[];

  constructor(fileLabel: string, problems: readonly string[]) {
    const noun = problems.length === 1 ? 'problem' : 'problems';
    super(
      `${fileLabel} is not a valid eval report (${problems.length} ${noun}; format: docs/eval-report.md):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'EvalReportError';
    this.problems = problems;
  }
}

/** The folder beside the report that holds every `predictions_file`. */
export const PREDICTIONS_FOLDER = 'predictions';

// Under predictions/: the evaluation build publishes that folder beside the report, and promotion keeps
// it with the baseline (models/<model>/baseline/predictions/), the one prefix the gate may read.
const PREDICTIONS_FILE_EXPECTED =
  'path of the per-example results relative to the report, under predictions/ and ending in .jsonl, ' +
  'without ".." (e.g. "predictions/golden_set.jsonl")';

// Each schema's error text is the "expected ..." half of the message; the formatter adds path and value.
const fraction = (what: string) =>
  z
    .number({ error: `${what}, a number from 0 to 1` })
    .min(0, { error: `${what}, a number from 0 to 1` })
    .max(1, { error: `${what}, a number from 0 to 1` });

const nonEmptyString = (what: string) =>
  z.string({ error: `${what}, a non-empty string` }).regex(/\S/, { error: `${what}, a non-empty string` });

const evalSetFileSchema = z.strictObject(
  {
    accuracy: fraction('accuracy'),
    p95_latency_ms: z
      .number({ error: 'p95 latency in milliseconds, a number > 0' })
      .positive({ error: 'p95 latency in milliseconds, a number > 0' }),
    cost_per_1k_requests: z
      .number({ error: 'cost of 1000 requests in the report currency, a number >= 0' })
      .min(0, { error: 'cost of 1000 requests in the report currency, a number >= 0' }),
    slice_accuracy: z
      .record(nonEmptyString('slice name'), fraction('slice accuracy'), {
        error: 'an object of slice name -> accuracy (0..1)',
      })
      .refine((slices) => Object.keys(slices).length >= 2, {
        error: 'at least two slices (the bias gap is best slice accuracy minus worst)',
      }),
    confidence: z.strictObject(
      {
        mean: fraction('mean prediction confidence'),
        std: fraction('standard deviation of prediction confidence'),
      },
      { error: 'an object { "mean": 0..1, "std": 0..1 }' },
    ),
    row_count: z
      .int({ error: 'number of rows evaluated, a whole number >= 1' })
      .min(1, { error: 'number of rows evaluated, a whole number >= 1' }),
    dataset_md5: z
      .string({
        error: 'md5 of the eval set from its .dvc file, 32 hex digits (plus ".dir" for a directory)',
      })
      .regex(/^[0-9a-f]{32}(\.dir)?$/, {
        error:
          'md5 of the eval set from its .dvc file, 32 lowercase hex digits (plus ".dir" for a directory)',
      }),
    extra_metrics: z
      .record(nonEmptyString('metric name'), z.number({ error: 'a number' }), {
        error: 'an object of metric name -> number',
      })
      .optional(),
    predictions_file: z
      .string({ error: PREDICTIONS_FILE_EXPECTED })
      .regex(/^(?!.*(^|\/)\.\.(\/|$))predictions\/[^\\\0]+\.jsonl$/, { error: PREDICTIONS_FILE_EXPECTED })
      .optional(),
  },
  { error: 'an object of metrics for one eval set' },
);

/**
 * The file format (snake_case). Top-level keys not listed here are tolerated and dropped so that a writer
 * may add informational fields; inside an eval set unknown keys are errors, so a misspelt metric is caught.
 */
export const evalReportFileSchema = z.object(
  {
    schema_version: z.union(
      EVAL_REPORT_SCHEMA_VERSIONS.map((v) => z.literal(v)),
      { error: `schema version ${EVAL_REPORT_SCHEMA_VERSIONS.join(' or ')} (the ones this platform reads)` },
    ),
    model: nonEmptyString('model name as in config/models/<model>.yaml'),
    model_version: nonEmptyString('the evaluated version, e.g. the git commit'),
    generated_at: z.iso.datetime({
      offset: true,
      error: 'ISO 8601 date-time with a time zone, e.g. "2026-11-02T10:15:00Z"',
    }),
    currency: z
      .string({ error: 'ISO 4217 currency code, e.g. "USD"' })
      .regex(/^[A-Z]{3}$/, { error: 'ISO 4217 currency code, e.g. "USD"' }),
    eval_sets: z
      .record(nonEmptyString('eval set name'), evalSetFileSchema, {
        error: 'an object of eval set name -> metrics',
      })
      .refine((sets) => Object.keys(sets).length >= 1, { error: 'at least one eval set' }),
  },
  { error: 'a JSON object' },
);

type EvalReportFile = z.infer<typeof evalReportFileSchema>;

/**
 * Parses and validates the text of an `eval_report.json` or `baseline_metrics.json`.
 * `fileLabel` (usually the path) starts every problem line so a person knows which file to fix.
 * @throws EvalReportError listing every problem, or the JSON syntax error with its line and column.
 */
export function parseEvalReport(text: string, fileLabel: string): EvalReport {
  // Python's `open(..., encoding="utf-8-sig")` writes a byte-order mark that JSON.parse rejects.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    throw new EvalReportError(fileLabel, [describeJsonSyntaxError(body, fileLabel, error)]);
  }
  const parsed = evalReportFileSchema.safeParse(raw, { reportInput: true });
  const problems = [
    ...(parsed.success ? predictionsNeedVersion2(parsed.data, fileLabel) : []),
    ...protoKeys(raw, []).map(
      (path) =>
        `${fileLabel} ${formatJsonPath(path)}: invalid key (got "__proto__", expected any other name; ` +
        'this one cannot be stored safely)',
    ),
    ...(parsed.success ? [] : parsed.error.issues.flatMap((issue) => describeIssue(issue, fileLabel))),
  ];
  if (problems.length > 0 || !parsed.success) throw new EvalReportError(fileLabel, problems);
  return fromFile(parsed.data);
}

/**
 * Writes a report back in the file format (snake_case, 2-space indent, trailing newline);
 * `parseEvalReport(serializeEvalReport(r), f)` deep-equals `r`. Used to store a baseline or write fixtures.
 */
export function serializeEvalReport(report: EvalReport): string {
  const file: EvalReportFile = {
    schema_version: report.schemaVersion,
    model: report.model,
    model_version: report.modelVersion,
    generated_at: report.generatedAt,
    currency: report.currency,
    eval_sets: Object.fromEntries(
      Object.entries(report.evalSets).map(([name, m]) => [
        name,
        {
          accuracy: m.accuracy,
          p95_latency_ms: m.p95LatencyMs,
          cost_per_1k_requests: m.costPer1kRequests,
          slice_accuracy: { ...m.sliceAccuracy },
          confidence: { mean: m.confidence.mean, std: m.confidence.std },
          row_count: m.rowCount,
          dataset_md5: m.datasetMd5,
          ...(Object.keys(m.extraMetrics).length > 0 ? { extra_metrics: { ...m.extraMetrics } } : {}),
          ...(m.predictionsFile !== undefined ? { predictions_file: m.predictionsFile } : {}),
        },
      ]),
    ),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** `predictions_file` is a version 2 key: a version 1 reader would drop it, so version 1 refuses it. */
function predictionsNeedVersion2(file: EvalReportFile, fileLabel: string): string[] {
  if (file.schema_version >= 2) return [];
  return Object.entries(file.eval_sets)
    .filter(([, m]) => m.predictions_file !== undefined)
    .map(
      ([name]) =>
        `${fileLabel} ${formatJsonPath(['eval_sets', name, 'predictions_file'])}: needs schema_version 2 ` +
        '(got 1; set "schema_version": 2 to report per-example results)',
    );
}

/** Paths of `__proto__` keys: zod skips them silently, which would quietly drop a slice or an eval set. */
function protoKeys(value: unknown, path: PropertyKey[]): PropertyKey[][] {
  if (value === null || typeof value !== 'object') return [];
  const found: PropertyKey[][] = [];
  for (const [key, child] of Object.entries(value)) {
    if (key === '__proto__') found.push([...path, key]);
    found.push(...protoKeys(child, [...path, key]));
  }
  return found;
}

function fromFile(file: EvalReportFile): EvalReport {
  return {
    schemaVersion: file.schema_version,
    model: file.model,
    modelVersion: file.model_version,
    generatedAt: file.generated_at,
    currency: file.currency,
    evalSets: Object.fromEntries(
      Object.entries(file.eval_sets).map(([name, m]) => [
        name,
        {
          accuracy: m.accuracy,
          p95LatencyMs: m.p95_latency_ms,
          costPer1kRequests: m.cost_per_1k_requests,
          sliceAccuracy: m.slice_accuracy,
          confidence: { mean: m.confidence.mean, std: m.confidence.std },
          rowCount: m.row_count,
          datasetMd5: m.dataset_md5,
          extraMetrics: m.extra_metrics ?? {},
          ...(m.predictions_file !== undefined ? { predictionsFile: m.predictions_file } : {}),
        },
      ]),
    ),
  };
}

/** A value as a person would recognise it in the file, cut short so one bad blob cannot flood the message. */
function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON.parse turns 1e400 into Infinity, which JSON.stringify would show as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeIssue(issue: z.core.$ZodIssue, fileLabel: string): string[] {
  const where = `${fileLabel} ${formatJsonPath(issue.path)}`;
  if (issue.code === 'unrecognized_keys') {
    const allowed = knownKeysAt(issue.path);
    return issue.keys.map((key) => {
      const guess = closestKey(key, allowed);
      const hint = guess ? `; did you mean "${guess}"?` : '';
      return (
        `${fileLabel} ${formatJsonPath([...issue.path, key])}: unknown key ` +
        `(got "${key}", expected one of ${allowed.join(', ')}${hint})`
      );
    });
  }
  if (issue.code === 'invalid_key') {
    return [`${where}: invalid key (got ${showValue(issue.input)}, expected a non-empty name)`];
  }
  const input = issue.input;
  if (input === undefined) return [`${where}: missing (expected ${issue.message})`];
  if (issue.code === 'custom')
    return [`${where}: too few entries (got ${countEntries(input)}, expected ${issue.message})`];
  return [`${where}: invalid value (got ${showValue(input)}, expected ${issue.message})`];
}

function countEntries(value: unknown): string {
  return value !== null && typeof value === 'object' ? String(Object.keys(value).length) : showValue(value);
}

const EVAL_SET_KEYS = Object.keys(evalSetFileSchema.shape);
const CONFIDENCE_KEYS = ['mean', 'std'];

function knownKeysAt(path: readonly PropertyKey[]): string[] {
  // Strict objects are an eval set (eval_sets.<name>) and its confidence (eval_sets.<name>.confidence).
  return path.length === 3 && path[2] === 'confidence' ? CONFIDENCE_KEYS : EVAL_SET_KEYS;
}

/** The known key a misspelt one most likely meant: within edit distance 3, or one it is the start of. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const typed = key.toLowerCase();
  let best: string | undefined;
  let bestScore = 4;
  for (const candidate of known) {
    const score = typed.length >= 4 && candidate.startsWith(typed) ? 0 : editDistance(typed, candidate);
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

// ---------------------------------------------------------------------------------------------------------
// JSON syntax errors. V8's messages differ between Node versions and some carry no position at all, so a
// small scanner finds where the text stops being JSON and says what it expected there.

interface SyntaxFault {
  readonly offset: number;
  readonly expected: string;
}

function describeJsonSyntaxError(text: string, fileLabel: string, error: unknown): string {
  const fault = findJsonFault(text);
  if (!fault) {
    const detail = error instanceof Error ? error.message : String(error);
    return `${fileLabel}: invalid JSON (${detail})`;
  }
  const { line, column } = lineAndColumn(text, fault.offset);
  const rest = text.slice(fault.offset);
  const got = rest.length === 0 ? 'end of file' : showSnippet(rest);
  let hint = '';
  if (/^-?(NaN|Infinity)/.test(rest)) {
    hint =
      '; JSON has no NaN or Infinity: Python\'s json.dump writes them for float("nan") or float("inf"). ' +
      'Write a real number, or pass allow_nan=False to json.dump to catch it when writing';
  }
  return (
    `${fileLabel} line ${line} column ${column}: invalid JSON ` +
    `(got ${got}, expected ${fault.expected}${hint})`
  );
}

function showSnippet(rest: string): string {
  const firstLine = rest.split(/\r?\n/, 1)[0];
  const cut = firstLine.length > 20 ? `${firstLine.slice(0, 20)}...` : firstLine;
  return cut.length > 0 ? JSON.stringify(cut) : 'a line break';
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Position of the first JSON syntax error (RFC 8259), or undefined if the text is valid JSON. */
export function findJsonFault(text: string): SyntaxFault | undefined {
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  // Containers still open: '{' or '['. Iterative so deep nesting cannot overflow the call stack.
  const stack: string[] = [];
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

  const scanString = (): SyntaxFault | undefined => {
    i++; // opening quote
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"') {
        i++;
        return undefined;
      }
      if (ch === '\\') {
        const esc = text[i + 1];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            return { offset: i, expected: 'a \\u escape with 4 hex digits' };
          }
          i += 6;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) {
          i += 2;
        } else {
          return { offset: i, expected: 'a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)' };
        }
        continue;
      }
      if (ch < ' ') return { offset: i, expected: 'a closing " (line breaks must be written as \\n)' };
      i++;
    }
    return { offset: i, expected: 'a closing "' };
  };

  // Scans one value; leaves i after it, or pushes a container and leaves i after its opening bracket.
  const scanValue = (): SyntaxFault | undefined => {
    skipSpace();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      stack.push(ch);
      i++;
      return undefined;
    }
    if (ch === '"') return scanString();
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return undefined;
      }
    }
    NUMBER.lastIndex = i;
    const match = NUMBER.exec(text);
    if (match && match[0].length > 0 && match[0] !== '-') {
      i += match[0].length;
      return undefined;
    }
    return { offset: i, expected: 'a value (object, array, string, number, true, false or null)' };
  };

  // After a value: close containers or continue with the next member/element.
  let fault = scanValue();
  let justOpened = stack.length > 0;
  while (!fault) {
    skipSpace();
    const top = stack[stack.length - 1];
    if (top === undefined) {
      return i < text.length ? { offset: i, expected: 'end of file after the top-level value' } : undefined;
    }
    const close = top === '{' ? '}' : ']';
    if (justOpened && text[i] === close) {
      stack.pop();
      i++;
      justOpened = false;
      continue;
    }
    if (!justOpened) {
      if (text[i] === close) {
        stack.pop();
        i++;
        continue;
      }
      if (text[i] !== ',') return { offset: i, expected: `"," or "${close}"` };
      i++;
      skipSpace();
    }
    if (top === '{') {
      if (text[i] !== '"') {
        const trailing = !justOpened && text[i] === '}';
        const expected = trailing
          ? 'another "key" (no comma before })'
          : justOpened
            ? 'a "quoted" key or "}"'
            : 'a "quoted" key';
        return { offset: i, expected };
      }
      fault = scanString();
      if (fault) break;
      skipSpace();
      if (text[i] !== ':') return { offset: i, expected: '":" after the key' };
      i++;
    } else if (!justOpened && text[i] === ']') {
      return { offset: i, expected: 'another value (no comma before ])' };
    }
    const depth = stack.length;
    fault = scanValue();
    justOpened = stack.length > depth;
  }
  return fault;
}
