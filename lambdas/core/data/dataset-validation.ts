/**
 * Streaming validation of a JSONL dataset (`mlops validate-data` and the pipeline's data-validation
 * stage): schema checks per line, label and categorical counts, then drift against a reference.
 *
 * Memory is bounded whatever the file size: one chunk, one capped line and the category tables are held.
 */
import type { CategoryCounts } from '../contracts/records';
import { compareDistributions, describeDrift, type DriftReport } from '../statistics/drift';
import { decodeBinaryLine, JsonlLineSplitter, type JsonlLineHandler } from './jsonl';

/** Every kind of problem a line can have. A row can have several (e.g. two missing fields). */
export const VIOLATION_KINDS = [
  'invalid_utf8',
  'line_too_long',
  'blank_line',
  'malformed_json',
  'not_an_object',
  'missing_field',
  'missing_label',
  'wrong_type',
  'text_too_long',
  'bad_timestamp',
  'label_not_allowed',
] as const;

/** One of {@link VIOLATION_KINDS}. */
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** What a valid row looks like. */
export interface DatasetSchema {
  /** Fields every row must have, non-null. The label field, if listed, is reported as `missing_label`. */
  readonly requiredFields: readonly string[];
  /** Longest `textField` value, in Unicode code points (an emoji counts 1, not 2 UTF-16 units). */
  readonly maxTextLength: number;
  /** Field holding the example text; must be a string. */
  readonly textField: string;
  /** Field holding the label: a non-empty string, a number or a boolean (counted as its string form). */
  readonly labelField: string;
  /** Field holding an ISO-8601 date or date-time string (`2024-05-01` or `2024-05-01T12:30:00Z`). */
  readonly timestampField: string;
  /** When set, any other label is a `label_not_allowed` violation (the row is still counted). */
  readonly allowedLabels?: readonly string[];
  /** Fields whose value distribution is counted for drift (e.g. `source`). */
  readonly categoricalFields: readonly string[];
  /** Violations kept as examples (with line numbers); the counts cover all of them. */
  readonly maxExamples: number;
  /** Longest line kept, in bytes; a longer line is a `line_too_long` violation and is skipped. */
  readonly maxLineBytes: number;
  /**
   * Distinct values counted per categorical field (and for labels); rows with further new values are
   * counted in `categoryOverflow`, which keeps memory bounded when a field is not really categorical.
   */
  readonly maxCategories: number;
}

/**
 * Defaults for every {@link DatasetSchema} option:
 * - `requiredFields`: `text`, `label`, `source`, `timestamp`
 * - `maxTextLength`: 10,000 code points
 * - `textField` `text`, `labelField` `label`, `timestampField` `timestamp`
 * - `allowedLabels`: unset (any label)
 * - `categoricalFields`: `source`
 * - `maxExamples`: 20
 * - `maxLineBytes`: 1 MiB (a 10,000-character text fits even when every character is a JSON `\u` escape)
 * - `maxCategories`: 10,000
 */
export const DEFAULT_DATASET_SCHEMA: DatasetSchema = Object.freeze({
  requiredFields: Object.freeze(['text', 'label', 'source', 'timestamp']),
  maxTextLength: 10_000,
  textField: 'text',
  labelField: 'label',
  timestampField: 'timestamp',
  categoricalFields: Object.freeze(['source']),
  maxExamples: 20,
  maxLineBytes: 1024 * 1024,
  maxCategories: 10_000,
});

/** One violation kept as an example. */
export interface ViolationExample {
  /** 1-based physical line number in the file (blank lines count). */
  readonly line: number;
  readonly kind: ViolationKind;
  /** Field concerned, for `missing_field`, `wrong_type`, `text_too_long`, `bad_timestamp`. */
  readonly field?: string;
  readonly message: string;
}

/** All violations of a scan. */
export interface ViolationSummary {
  /** Count per kind; every kind is present, 0 when absent. */
  readonly counts: Readonly<Record<ViolationKind, number>>;
  /** Sum of `counts`. */
  readonly total: number;
  /** The first `maxExamples` violations, in line order. */
  readonly examples: readonly ViolationExample[];
}

/** What a pass over a JSONL file found. Plain JSON data. */
export interface DatasetScan {
  /** Physical lines, blank ones included; a last line without a trailing newline counts. */
  readonly lines: number;
  /**
   * Rows: lines that are not blank, valid or not (a malformed line is a row with a violation).
   * Blank lines are not rows; each one is a `blank_line` violation.
   */
  readonly totalRows: number;
  /** Rows with no violation. */
  readonly validRows: number;
  /** Bytes read. */
  readonly bytes: number;
  readonly violations: ViolationSummary;
  /** Name of the label field the counts are for. */
  readonly labelField: string;
  /** Rows per label, over every row that has a usable label (including `label_not_allowed` ones). */
  readonly labelCounts: CategoryCounts;
  /** Rows per value, for each of `categoricalFields`; absent or null values are not counted. */
  readonly fieldCounts: Readonly<Record<string, CategoryCounts>>;
  /** Per field (label field by name), rows whose value was not counted because `maxCategories` was reached. */
  readonly categoryOverflow: Readonly<Record<string, number>>;
}

/** Progress after each chunk. */
export interface ScanProgress {
  readonly bytes: number;
  readonly lines: number;
  readonly violations: number;
}

/** Options of {@link DatasetScanner} beyond the schema. */
export interface DatasetScannerOptions {
  /**
   * Whether the stream starts at the beginning of a file, where a UTF-8 byte order mark is dropped.
   * @default true
   */
  readonly atFileStart?: boolean;
}

const SCHEMA_KEYS = new Set<string>(Object.keys(DEFAULT_DATASET_SCHEMA).concat('allowedLabels'));
/** Keys of the config's `dataValidation` section that decide drift (see evaluateDataset), not the scan. */
const DRIFT_DECISION_KEYS = new Set(['driftSignificance', 'minDriftRows']);

/**
 * Fills in defaults and checks each option, so that a typo or a bad value fails before a long scan.
 *
 * @throws naming the option, the value received and what is expected.
 */
export function resolveDatasetSchema(schema: Partial<DatasetSchema> = {}): DatasetSchema {
  for (const key of Object.keys(schema)) {
    if (!SCHEMA_KEYS.has(key) && !DRIFT_DECISION_KEYS.has(key)) {
      throw new Error(
        `Unknown dataset schema option '${key}'; expected one of: ${[...SCHEMA_KEYS].join(', ')}.`,
      );
    }
  }
  const defined = Object.fromEntries(
    Object.entries(schema).filter(([key, value]) => value !== undefined && !DRIFT_DECISION_KEYS.has(key)),
  );
  const resolved: DatasetSchema = { ...DEFAULT_DATASET_SCHEMA, ...defined };
  for (const key of ['textField', 'labelField', 'timestampField'] as const) {
    if (typeof resolved[key] !== 'string' || resolved[key] === '') {
      throw new Error(`Dataset schema option ${key} is ${preview(resolved[key])}; expected a field name.`);
    }
  }
  for (const key of ['requiredFields', 'categoricalFields', 'allowedLabels'] as const) {
    const list = resolved[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item === '')) {
      throw new Error(
        `Dataset schema option ${key} is ${preview(list)}; expected a list of non-empty strings.`,
      );
    }
    const repeated = list.find((item, i) => list.indexOf(item) !== i);
    if (repeated !== undefined) {
      throw new Error(`Dataset schema option ${key} lists '${repeated}' twice; list each name once.`);
    }
  }
  const minimums = { maxTextLength: 1, maxExamples: 0, maxLineBytes: 1, maxCategories: 1 } as const;
  for (const [key, minimum] of Object.entries(minimums) as [keyof typeof minimums, number][]) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new Error(
        `Dataset schema option ${key} is ${preview(value)}; expected a whole number >= ${minimum} (default ${DEFAULT_DATASET_SCHEMA[key]}).`,
      );
    }
  }
  return resolved;
}

/**
 * Incremental scan: push the file's chunks in order, then `end()`. Synchronous, so the same object
 * serves a stream, a worker thread or a test.
 */
export class DatasetScanner {
  private readonly splitter: JsonlLineSplitter;
  private readonly rows: RowValidator;

  /** @throws if the schema is invalid (see {@link resolveDatasetSchema}). */
  public constructor(schema: Partial<DatasetSchema> = {}, options: DatasetScannerOptions = {}) {
    const resolved = resolveDatasetSchema(schema);
    this.rows = new RowValidator(resolved);
    this.splitter = new JsonlLineSplitter(this.rows, {
      maxLineBytes: resolved.maxLineBytes,
      stripByteOrderMark: options.atFileStart ?? true,
    });
  }

  /** Feeds the next chunk; chunk boundaries may fall anywhere, even inside a character. */
  public push(chunk: Uint8Array): void {
    // isView rather than instanceof: a chunk may come from another realm (vm, jest).
    if (!ArrayBuffer.isView(chunk)) {
      throw new Error(
        `Dataset chunks must be bytes (Buffer or Uint8Array); got ${typeof chunk}. Open the stream without an encoding.`,
      );
    }
    this.splitter.push(chunk);
  }

  /** Progress so far. */
  public progress(): ScanProgress {
    return { bytes: this.splitter.bytes, lines: this.splitter.lines, violations: this.rows.total };
  }

  /** Ends the stream and returns the scan. */
  public end(): DatasetScan {
    this.splitter.end();
    return this.rows.result(this.splitter.lines, this.splitter.bytes);
  }
}

/**
 * Scans a JSONL stream (e.g. `fs.createReadStream(path)` or an S3 `GetObject` body) in one pass.
 * `onProgress` is called after each chunk.
 *
 * @throws if the schema is invalid or a chunk is text rather than bytes; never because of a line's content.
 */
export async function scanDataset(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  schema: Partial<DatasetSchema> = {},
  onProgress?: (progress: ScanProgress) => void,
): Promise<DatasetScan> {
  const scanner = new DatasetScanner(schema);
  for await (const chunk of chunks) {
    scanner.push(chunk);
    onProgress?.(scanner.progress());
  }
  return scanner.end();
}

/**
 * Joins the scans of consecutive pieces of one stream, in order, as if it had been scanned in one
 * pass: line numbers of later pieces are shifted, examples re-capped. Each piece must start at a line
 * start. Identical to a one-pass scan unless a field reached `maxCategories`.
 */
export function concatDatasetScans(parts: readonly DatasetScan[], maxExamples: number): DatasetScan {
  if (parts.length === 0) throw new Error('concatDatasetScans needs at least one scan; got none.');
  const counts = emptyViolationCounts();
  const examples: ViolationExample[] = [];
  const labelCounts = new Map<string, number>();
  const fieldCounts = new Map<string, Map<string, number>>();
  const overflow = new Map<string, number>();
  let lines = 0;
  let totalRows = 0;
  let validRows = 0;
  let bytes = 0;
  let total = 0;
  for (const part of parts) {
    for (const kind of VIOLATION_KINDS) counts[kind] += part.violations.counts[kind];
    total += part.violations.total;
    for (const example of part.violations.examples) {
      if (examples.length < maxExamples) examples.push({ ...example, line: example.line + lines });
    }
    addCounts(labelCounts, part.labelCounts);
    for (const [field, values] of Object.entries(part.fieldCounts)) {
      let target = fieldCounts.get(field);
      if (target === undefined) fieldCounts.set(field, (target = new Map()));
      addCounts(target, values);
    }
    for (const [field, count] of Object.entries(part.categoryOverflow)) {
      overflow.set(field, (overflow.get(field) ?? 0) + count);
    }
    lines += part.lines;
    totalRows += part.totalRows;
    validRows += part.validRows;
    bytes += part.bytes;
  }
  return {
    lines,
    totalRows,
    validRows,
    bytes,
    violations: { counts, total, examples },
    labelField: parts[0].labelField,
    labelCounts: Object.fromEntries(labelCounts),
    fieldCounts: Object.fromEntries(
      [...fieldCounts].map(([field, values]) => [field, Object.fromEntries(values)]),
    ),
    categoryOverflow: Object.fromEntries(overflow),
  };
}

function addCounts(target: Map<string, number>, source: CategoryCounts): void {
  for (const [value, count] of Object.entries(source)) target.set(value, (target.get(value) ?? 0) + count);
}

function emptyViolationCounts(): Record<ViolationKind, number> {
  return Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, 0])) as Record<ViolationKind, number>;
}

/**
 * Strict ISO-8601 check (unlike `Date.parse`, which accepts `May 1` or `2024-02-31`): extended format,
 * `YYYY-MM-DD`, optionally followed by `THH:MM[:SS[.fraction]]` and `Z` or `±HH:MM`, with real calendar
 * dates. Written by hand because it runs on every row and a capturing regex costs several times more.
 */
export function isIsoTimestamp(value: string): boolean {
  const length = value.length;
  if (length < 10 || value.charCodeAt(4) !== DASH || value.charCodeAt(7) !== DASH) return false;
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (length === 10) return true;
  // THH:MM
  if (length < 16 || value.charCodeAt(10) !== LETTER_T || value.charCodeAt(13) !== COLON) return false;
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return false;
  let at = 16;
  if (value.charCodeAt(at) === COLON) {
    const second = digitsAt(value, at + 1, 2);
    if (second < 0 || second > 59) return false;
    at += 3;
    if (value.charCodeAt(at) === DOT) {
      let end = at + 1;
      while (end < length && isDigit(value.charCodeAt(end))) end++;
      if (end === at + 1 || end - at - 1 > 9) return false;
      at = end;
    }
  }
  if (at === length) return true;
  const zone = value.charCodeAt(at);
  if (zone === LETTER_Z) return at + 1 === length;
  if ((zone !== PLUS && zone !== MINUS) || length !== at + 6 || value.charCodeAt(at + 3) !== COLON)
    return false;
  const offsetHour = digitsAt(value, at + 1, 2);
  const offsetMinute = digitsAt(value, at + 4, 2);
  return offsetHour >= 0 && offsetHour <= 23 && offsetMinute >= 0 && offsetMinute <= 59;
}

const DASH = 0x2d;
const COLON = 0x3a;
const DOT = 0x2e;
const PLUS = 0x2b;
const MINUS = 0x2d;
const LETTER_T = 0x54;
const LETTER_Z = 0x5a;

function isDigit(unit: number): boolean {
  return unit >= 0x30 && unit <= 0x39;
}

/** The number written by `count` ASCII digits at `at`, or -1. */
function digitsAt(text: string, at: number, count: number): number {
  if (at + count > text.length) return -1;
  let result = 0;
  for (let i = at; i < at + count; i++) {
    const unit = text.charCodeAt(i);
    if (!isDigit(unit)) return -1;
    result = result * 10 + (unit - 0x30);
  }
  return result;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Length in Unicode code points: a surrogate pair (emoji, rare CJK) counts once. */
export function countCodePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

type JsonObject = Record<string, unknown>;

/**
 * Checks each line and keeps the counts; the line splitter calls it.
 *
 * Lines arrive as binary (latin1) strings and are parsed as such: JSON validity, types, field names and
 * ASCII values are the same as in the decoded text. A row is decoded and parsed again, exactly, only
 * when that could change something: a violation (for its message), a non-ASCII label or category, or a
 * text longer than the limit counted in bytes (code points are counted on the real text).
 */
class RowValidator implements JsonlLineHandler {
  public total = 0;
  private readonly counts = emptyViolationCounts();
  private readonly examples: ViolationExample[] = [];
  private readonly labelCounts = new Map<string, number>();
  private readonly categoricalFields: readonly string[];
  private readonly fieldCounts: readonly Map<string, number>[];
  private readonly overflow = new Map<string, number>();
  private readonly requiredOtherThanLabel: readonly string[];
  private readonly labelRequired: boolean;
  private readonly allowedLabels: ReadonlySet<string> | undefined;
  // Binary parsing finds fields by name only when the names are ASCII.
  private readonly binaryParsing: boolean;
  // `row[field]` is exact unless a field is named like an Object.prototype member (`constructor`, ...).
  private readonly own: (row: JsonObject, field: string) => unknown;
  // Values to count, held until the whole row has been checked.
  private label: string | undefined;
  private readonly categories: (string | undefined)[];
  private rows = 0;
  private validRows = 0;

  public constructor(private readonly schema: DatasetSchema) {
    this.requiredOtherThanLabel = schema.requiredFields.filter((field) => field !== schema.labelField);
    this.labelRequired = schema.requiredFields.includes(schema.labelField);
    this.allowedLabels = schema.allowedLabels === undefined ? undefined : new Set(schema.allowedLabels);
    this.categoricalFields = [...schema.categoricalFields];
    this.fieldCounts = this.categoricalFields.map(() => new Map<string, number>());
    this.categories = this.categoricalFields.map(() => undefined);
    const names = [
      ...schema.requiredFields,
      ...schema.categoricalFields,
      schema.labelField,
      schema.textField,
    ];
    this.binaryParsing = names.every(isAscii);
    this.own = names.some((name) => name in Object.prototype) ? ownProperty : property;
  }

  public onInvalidUtf8(line: number): void {
    this.rows++;
    this.add(
      'invalid_utf8',
      line,
      undefined,
      () => 'the line is not valid UTF-8; re-encode the file as UTF-8',
    );
  }

  public onLineTooLong(line: number): void {
    this.rows++;
    this.add(
      'line_too_long',
      line,
      undefined,
      () =>
        `the line is longer than ${formatCount(this.schema.maxLineBytes)} bytes and was skipped; is the file JSONL (one object per line)?`,
    );
  }

  public onLine(binary: string, line: number): void {
    if (isBlank(binary)) {
      this.add(
        'blank_line',
        line,
        undefined,
        () => 'blank line; JSONL has one JSON object per line, remove it',
      );
      return;
    }
    this.rows++;
    if (this.binaryParsing) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(binary);
      } catch {
        parsed = undefined;
      }
      if (isObject(parsed) && this.checkRow(parsed, line, false)) {
        this.validRows++;
        return;
      }
    }
    this.checkLineExactly(decodeBinaryLine(binary), line);
  }

  private checkLineExactly(text: string, line: number): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.add('malformed_json', line, undefined, () => `not valid JSON (${truncate(reason, 160)})`);
      return;
    }
    if (!isObject(parsed)) {
      this.add('not_an_object', line, undefined, () => `expected a JSON object, got ${describeType(parsed)}`);
      return;
    }
    if (this.checkRow(parsed, line, true)) this.validRows++;
  }

  /**
   * Checks one parsed row and counts its label and categories. Returns whether the row is valid.
   * With `exact` false (binary parsing), returns false before any side effect as soon as the row needs
   * the exact pass; the caller then parses the decoded text and calls again with `exact` true.
   */
  private checkRow(row: JsonObject, line: number, exact: boolean): boolean {
    const schema = this.schema;
    const before = this.total;
    for (const field of this.requiredOtherThanLabel) {
      if (this.own(row, field) == null) {
        if (!exact) return false;
        this.add('missing_field', line, field, () => `missing required field '${field}' (absent or null)`);
      }
    }

    this.label = undefined;
    const label = this.own(row, schema.labelField);
    if (typeof label === 'string' && !exact && !isAscii(label)) return false;
    if (label == null || (typeof label === 'string' && isBlankLabel(label))) {
      if (this.labelRequired) {
        if (!exact) return false;
        this.add(
          'missing_label',
          line,
          schema.labelField,
          () => `no label: '${schema.labelField}' is ${preview(label)}`,
        );
      }
    } else if (typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean') {
      const value = String(label);
      if (this.allowedLabels !== undefined && !this.allowedLabels.has(value)) {
        if (!exact) return false;
        this.add(
          'label_not_allowed',
          line,
          schema.labelField,
          () =>
            `label ${preview(label)} is not one of the allowed labels (${truncate([...this.allowedLabels!].join(', '), 120)})`,
        );
      }
      this.label = value;
    } else {
      if (!exact) return false;
      this.wrongType(line, schema.labelField, label, 'a string, number or boolean');
    }

    const text = this.own(row, schema.textField);
    if (text != null) {
      if (typeof text !== 'string') {
        if (!exact) return false;
        this.wrongType(line, schema.textField, text, 'a string');
      } else if (text.length > schema.maxTextLength) {
        // Code points never outnumber UTF-16 units (nor bytes), so counting is only needed past the limit.
        if (!exact) return false;
        const length = countCodePoints(text);
        if (length > schema.maxTextLength) {
          this.add(
            'text_too_long',
            line,
            schema.textField,
            () =>
              `'${schema.textField}' is ${formatCount(length)} characters (Unicode code points); the maximum is ${formatCount(schema.maxTextLength)}`,
          );
        }
      }
    }

    const timestamp = this.own(row, schema.timestampField);
    if (timestamp != null) {
      if (typeof timestamp !== 'string') {
        if (!exact) return false;
        this.wrongType(line, schema.timestampField, timestamp, 'an ISO-8601 string');
      } else if (!isIsoTimestamp(timestamp)) {
        if (!exact) return false;
        this.add(
          'bad_timestamp',
          line,
          schema.timestampField,
          () =>
            `'${schema.timestampField}' is ${preview(timestamp)}, not an ISO-8601 date or date-time; expected e.g. 2024-05-01T12:30:00Z`,
        );
      }
    }

    const fields = this.categoricalFields;
    for (let i = 0; i < fields.length; i++) {
      const value = this.own(row, fields[i]);
      this.categories[i] = undefined;
      if (value == null) continue;
      if (typeof value === 'string') {
        if (!exact && !isAscii(value)) return false;
        this.categories[i] = value;
      } else if (typeof value === 'number' || typeof value === 'boolean') {
        this.categories[i] = String(value);
      } else {
        if (!exact) return false;
        this.wrongType(line, fields[i], value, 'a string, number or boolean');
      }
    }

    if (this.label !== undefined) this.tally(this.labelCounts, schema.labelField, this.label);
    for (let i = 0; i < fields.length; i++) {
      const value = this.categories[i];
      if (value !== undefined) this.tally(this.fieldCounts[i], fields[i], value);
    }
    return this.total === before;
  }

  private wrongType(line: number, field: string, value: unknown, expected: string): void {
    this.add('wrong_type', line, field, () => `'${field}' is ${describeType(value)}; expected ${expected}`);
  }

  private tally(counts: Map<string, number>, field: string, value: string): void {
    const count = counts.get(value);
    if (count !== undefined) counts.set(value, count + 1);
    else if (counts.size < this.schema.maxCategories) counts.set(value, 1);
    else this.overflow.set(field, (this.overflow.get(field) ?? 0) + 1);
  }

  // The message is built only while examples are still being kept: a broken file costs no formatting.
  private add(kind: ViolationKind, line: number, field: string | undefined, message: () => string): void {
    this.counts[kind]++;
    this.total++;
    if (this.examples.length < this.schema.maxExamples) {
      this.examples.push(
        field === undefined ? { line, kind, message: message() } : { line, kind, field, message: message() },
      );
    }
  }

  public result(lines: number, bytes: number): DatasetScan {
    return {
      lines,
      totalRows: this.rows,
      validRows: this.validRows,
      bytes,
      violations: { counts: { ...this.counts }, total: this.total, examples: [...this.examples] },
      labelField: this.schema.labelField,
      labelCounts: Object.fromEntries(this.labelCounts),
      fieldCounts: Object.fromEntries(
        this.categoricalFields.map((field, i) => [field, Object.fromEntries(this.fieldCounts[i])]),
      ),
      categoryOverflow: Object.fromEntries(this.overflow),
    };
  }
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function ownProperty(row: JsonObject, field: string): unknown {
  return Object.hasOwn(row, field) ? row[field] : undefined;
}

function property(row: JsonObject, field: string): unknown {
  return row[field];
}

// Same as `label.trim() === ''`, without trimming labels that start with a visible ASCII character.
function isBlankLabel(label: string): boolean {
  const first = label.charCodeAt(0);
  return !(first > 0x20 && first < 0x7f) && label.trim() === '';
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit !== 0x20 && unit !== 0x09 && unit !== 0x0d) return false;
  }
  return true;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value} (${preview(value)})`;
}

function preview(value: unknown): string {
  if (value === undefined) return 'absent';
  return truncate(JSON.stringify(value) ?? String(value), 60);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function formatCount(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Thresholds the data-validation gate applies. Names are the config keys. */
export interface DatasetThresholds {
  /** Largest allowed Jensen–Shannon distance (0..1) of each compared distribution. */
  readonly maxDrift: number;
  /**
   * Largest allowed number of violations.
   * @default 0 - any violation fails the gate.
   */
  readonly maxViolations?: number;
  /**
   * Drift fails only when the distance exceeds `maxDrift` and the chi-square test of homogeneity rejects "same distribution" at this level.
   * @default DEFAULT_DRIFT_SIGNIFICANCE (0.01)
   */
  readonly driftSignificance?: number;
  /**
   * Fewest rows for drift to be judged; a smaller eval set is reported as too small to tell.
   * @default DEFAULT_MIN_DRIFT_ROWS (100)
   */
  readonly minDriftRows?: number;
}

/** The reference side of a drift comparison: a {@link DatasetScan}, or the counts stored from one. */
export type ReferenceProfile = Pick<DatasetScan, 'labelCounts' | 'fieldCounts'>;

/** Verdict of the data-validation gate for one eval set. Strict JSON: no NaN, no Infinity. */
export interface DatasetValidationResult {
  readonly evalSet: string;
  /** True when `errors` is empty. */
  readonly valid: boolean;
  /** Why the dataset is invalid, one sentence each, for the PR comment and the pipeline message. */
  readonly errors: readonly string[];
  readonly totalRows: number;
  readonly validRows: number;
  readonly bytes: number;
  readonly violations: ViolationSummary;
  /** Label shares of the current data (0..1), largest first. */
  readonly labelDistribution: Readonly<Record<string, number>>;
  /** Label shares of the reference. */
  readonly referenceDistribution: Readonly<Record<string, number>>;
  /** Label Jensen–Shannon distance; null when a side has no labels to compare. */
  readonly jsDistance: number | null;
  /** The `maxDrift` applied to every distribution. */
  readonly threshold: number;
  /** Label drift first, then each categorical field that could be compared. */
  readonly drift: readonly DriftReport[];
}

/**
 * Judges a scanned dataset: violations within `maxViolations`, at least one row, and the label and
 * each categorical field within `maxDrift` of the reference.
 *
 * @param categoricalFields fields compared besides the label; defaults to every field the scan counted.
 * @throws if `maxDrift` or `maxViolations` is out of range, or a field was not counted by the scan.
 */
export function evaluateDataset(
  evalSet: string,
  scan: DatasetScan,
  reference: ReferenceProfile,
  thresholds: DatasetThresholds,
  categoricalFields: readonly string[] = Object.keys(scan.fieldCounts),
): DatasetValidationResult {
  const { maxDrift } = thresholds;
  const maxViolations = thresholds.maxViolations ?? 0;
  if (typeof maxDrift !== 'number' || !(maxDrift >= 0 && maxDrift <= 1)) {
    throw new Error(
      `maxDrift for eval set '${evalSet}' is ${String(maxDrift)}; expected a Jensen–Shannon distance between 0 and 1 (e.g. 0.1).`,
    );
  }
  if (!Number.isSafeInteger(maxViolations) || maxViolations < 0) {
    throw new Error(
      `maxViolations for eval set '${evalSet}' is ${String(maxViolations)}; expected a whole number >= 0.`,
    );
  }
  for (const field of categoricalFields) {
    if (!Object.hasOwn(scan.fieldCounts, field)) {
      throw new Error(
        `Field '${field}' was not counted by the scan of eval set '${evalSet}'; add it to the schema's categoricalFields (counted: ${Object.keys(scan.fieldCounts).join(', ') || 'none'}).`,
      );
    }
  }

  const errors: string[] = [];
  const drift: DriftReport[] = [];
  if (scan.totalRows === 0) {
    errors.push(
      `${evalSet}: the dataset has no rows (${formatCount(scan.lines)} lines, ${formatCount(scan.bytes)} bytes); expected one JSON object per line. Check the path and that the data was pulled.`,
    );
  }
  const { violations } = scan;
  if (violations.total > maxViolations) {
    const kinds = VIOLATION_KINDS.filter((kind) => violations.counts[kind] > 0)
      .map((kind) => `${kind} ${formatCount(violations.counts[kind])}`)
      .join(', ');
    const first = violations.examples[0];
    const firstText = first === undefined ? '' : `; first at line ${first.line}: ${first.message}`;
    errors.push(
      `${evalSet}: ${formatCount(violations.total)} schema violation${violations.total === 1 ? '' : 's'} in ${formatCount(scan.totalRows)} row${scan.totalRows === 1 ? '' : 's'} (${kinds}), at most ${formatCount(maxViolations)} allowed${firstText}`,
    );
  }
  for (const [field, count] of Object.entries(scan.categoryOverflow)) {
    const counted = field === scan.labelField ? scan.labelCounts : scan.fieldCounts[field];
    errors.push(
      `${evalSet}: ${formatCount(count)} rows have a '${field}' value beyond the first ${formatCount(Object.keys(counted ?? {}).length)} distinct values; a field with that many values is not categorical — drop it from categoricalFields or raise maxCategories.`,
    );
  }

  const compared: [string, CategoryCounts, CategoryCounts | undefined][] = [
    [scan.labelField, scan.labelCounts, reference.labelCounts],
    ...categoricalFields.map((field): [string, CategoryCounts, CategoryCounts | undefined] => [
      field,
      scan.fieldCounts[field],
      Object.hasOwn(reference.fieldCounts, field) ? reference.fieldCounts[field] : undefined,
    ]),
  ];
  let jsDistance: number | null = null;
  for (const [index, [field, current, referenceCounts]] of compared.entries()) {
    if (referenceCounts === undefined || totalOf(referenceCounts) === 0) {
      errors.push(
        `${evalSet}: the reference has no '${field}' values to compare with; rebuild the reference profile with '${field}' counted.`,
      );
      continue;
    }
    if (totalOf(current) === 0) {
      if (scan.totalRows > 0) {
        errors.push(
          `${evalSet}: none of the ${formatCount(scan.totalRows)} rows has a usable '${field}' value.`,
        );
      }
      continue;
    }
    const report = compareDistributions(evalSet, field, current, referenceCounts, maxDrift, undefined, {
      significance: thresholds.driftSignificance,
      minRows: thresholds.minDriftRows,
    });
    if (index === 0) jsDistance = report.jsDistance;
    if (!report.passed) errors.push(`${evalSet}: ${describeDrift(report)}`);
    drift.push(report);
  }

  return {
    evalSet,
    valid: errors.length === 0,
    errors,
    totalRows: scan.totalRows,
    validRows: scan.validRows,
    bytes: scan.bytes,
    violations,
    labelDistribution: toShares(scan.labelCounts),
    referenceDistribution: toShares(reference.labelCounts),
    jsDistance,
    threshold: maxDrift,
    drift,
  };
}

function totalOf(counts: CategoryCounts): number {
  let total = 0;
  for (const value of Object.keys(counts)) total += counts[value];
  return total;
}

/** Shares (0..1) from counts, largest first; empty when there are no counts. */
export function toShares(counts: CategoryCounts): Record<string, number> {
  const total = totalOf(counts);
  if (total === 0) return {};
  const entries = Object.entries(counts).map(([value, count]): [string, number] => [value, count / total]);
  entries.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return Object.fromEntries(entries);
}
