/**
 * One line of the prediction log: what the router served, to whom (by bucket, never by id), from
 * which model version and endpoint, why, and how it went. The router builds it, the prediction log
 * (lambdas/shared/prediction-log.ts) ships it through Firehose to S3, and Athena reads it back.
 *
 * Layout in S3 (Firehose dynamic partitioning, JQ metadata extraction `{model: .model, dt: .ts[0:10]}`):
 * `model=<model>/dt=<YYYY-MM-DD>/…`, one JSON object per line (`serializeRecord`). `ts` is always
 * UTC with a trailing `Z`, so its first ten characters are the UTC day of the `dt` partition.
 *
 * Glue table (JSON SerDe `org.openx.data.jsonserde.JsonSerDe`), data columns in this order:
 * request_id string, ts string (ISO 8601 UTC, read with `from_iso8601_timestamp(ts)`), model_version
 * string, variant string, endpoint string, routed_by string, active_flags array<string>, user_bucket
 * int, input_hmac string, label string, confidence double, latency_ms double, error string,
 * inference_id string; partition
 * keys model string, dt string. `model` is in every line (Firehose partitions by it) but is declared
 * only as a partition key: Athena refuses a data column with a partition key's name, and the SerDe
 * ignores keys the table does not declare.
 *
 * `active_flags` is a JSON array, hence array<string>: `contains(active_flags, 'x')` works without
 * parsing a string in every query.
 */
import { createHmac } from 'node:crypto';
import * as z from 'zod/mini';
import { ASSIGNMENT_BUCKETS, type AssignmentReason, type Variant } from './assignment';
import { formatJsonPath } from '../contracts/json-path';
import type { FlagEndpoint } from './flags';
import { MAX_INFERENCE_ID_LENGTH } from './inference-id';

/** Largest record Firehose accepts: 1,000 KiB of data per record (PutRecord and PutRecordBatch). */
export const FIREHOSE_MAX_RECORD_BYTES = 1000 * 1024;
/**
 * Smallest size limit `serializeRecord` accepts. Every field but `label` and `error` is bounded by
 * the schema (at worst about 28 KiB: 34 strings of up to 256 characters, each of which JSON may
 * escape to 6 bytes), so above this a record always fits once those two are cut.
 */
export const MIN_RECORD_LIMIT_BYTES = 64 * 1024;
/** HMAC keys shorter than the hash output (256 bits) weaken it; `inputHmac` refuses them. */
export const MIN_HMAC_KEY_BYTES = 32;
/** `user_bucket` is the assignment's bucket, 0..9,999. */
const USER_BUCKETS = ASSIGNMENT_BUCKETS;
const MAX_ID_LENGTH = 256;
const MAX_FLAGS = 32;
const MAX_FLAG_LENGTH = 128;

/** Why the router chose the variant: the assignment's reason, or `flag-unavailable` (AppConfig unreachable, stable served). */
export type RoutedBy = AssignmentReason | 'flag-unavailable';
export const ROUTED_BY = [
  'split',
  'kill-switch',
  'no-candidate',
  'flag-unavailable',
] as const satisfies readonly RoutedBy[];

// No control characters: a line break in an id would only hide what a query matches.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const boundedText = (what: string, max: number) =>
  z.string({ error: `${what}, as a string` }).check(
    z.minLength(1, { error: `a non-empty ${what}` }),
    z.maxLength(max, { error: `${what} of at most ${max} characters` }),
    z.refine((s: string) => !CONTROL.test(s), { error: `${what} without control characters` }),
  );

const BUCKET = `a whole number from 0 to ${USER_BUCKETS - 1}, or null`;

const finite = (what: string, ...checks: z.core.$ZodCheck<number>[]) =>
  z.number({ error: `${what}, as a finite number` }).check(
    z.refine(Number.isFinite, {
      error: `${what}, as a finite number`,
    }),
    ...checks,
  );

const TS = 'an ISO 8601 UTC time like 2026-11-05T10:00:00.000Z';

// zod/mini, as lambdas/core/contracts/router-env.ts says why: every schema names its own `error`.
export const predictionRecordSchema = z
  .strictObject(
    {
      /** The router's id for the request (unique per prediction: the key to deduplicate on). */
      request_id: boundedText('request id', MAX_ID_LENGTH),
      /** When the router received the request: ISO 8601, UTC, milliseconds (`Date.toISOString`). */
      ts: z.string({ error: TS }).check(
        z.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, { error: TS }),
        z.refine((s: string) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, {
          error: TS,
        }),
      ),
      model: z.string({ error: 'a model name such as document-classifier' }).check(
        z.regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, {
          error: 'a model name: lower-case letters, digits and hyphens, like document-classifier',
        }),
        z.maxLength(40, { error: 'a model name of at most 40 characters' }),
      ),
      model_version: boundedText('model version', MAX_ID_LENGTH),
      variant: z.enum(['stable', 'candidate'], { error: '"stable" or "candidate"' }),
      endpoint: z.enum(['live', 'standby'], { error: '"live" or "standby"' }),
      routed_by: z.enum(ROUTED_BY, { error: `one of ${ROUTED_BY.map((r) => `"${r}"`).join(', ')}` }),
      /** Flags in force for this request, as the router names them. */
      active_flags: z
        .array(boundedText('flag name', MAX_FLAG_LENGTH), { error: 'a list of flag names' })
        .check(z.maxLength(MAX_FLAGS, { error: `at most ${MAX_FLAGS} flag names` })),
      /** 0..9,999; null only when the flag was unavailable (its experiment name salts the bucket). */
      user_bucket: z.nullable(
        z
          .number({ error: BUCKET })
          .check(
            z.int({ error: BUCKET }),
            z.gte(0, { error: BUCKET }),
            z.lte(USER_BUCKETS - 1, { error: BUCKET }),
          ),
      ),
      /** HMAC-SHA256 of the request input, lowercase hex (`inputHmac`). */
      input_hmac: z
        .string({ error: 'an HMAC-SHA256: 64 lowercase hex digits' })
        .check(z.regex(/^[0-9a-f]{64}$/, { error: 'an HMAC-SHA256: 64 lowercase hex digits' })),
      /** The model's answer; null when the request failed. Cut by `serializeRecord` when too long. */
      label: z.nullable(z.string({ error: 'the label as a string, or null' })),
      confidence: z.nullable(finite('confidence')),
      /** What the caller waited, in milliseconds, errors included. */
      latency_ms: finite('latency in milliseconds', z.gte(0, { error: 'a latency of 0 ms or more' })),
      /** What went wrong, or null. Cut by `serializeRecord` when too long. */
      error: z.nullable(z.string({ error: 'the error as a string, or null' })),
      /**
       * The `InferenceId` sent to InvokeEndpoint (lambdas/core/routing/inference-id.ts): the key that joins
       * this line to the endpoint's data capture. Null in lines written before the router sent one.
       */
      inference_id: z._default(z.nullable(boundedText('inference id', MAX_INFERENCE_ID_LENGTH)), null),
    },
    { error: 'a JSON object with the prediction record fields' },
  )
  .check(
    z.superRefine((record, ctx) => {
      if (record.user_bucket === null && record.routed_by !== 'flag-unavailable') {
        ctx.addIssue({
          code: 'custom',
          path: ['user_bucket'],
          input: null,
          message: `a bucket (0 to ${USER_BUCKETS - 1}): only "flag-unavailable" routing has none`,
        });
      }
    }),
  );

/** One prediction-log line, with the Glue table's snake_case names. */
export type PredictionRecord = z.output<typeof predictionRecordSchema>;

/** What the router knows about one prediction, in its own (camelCase) words. */
export interface PredictionRecordInput {
  readonly requestId: string;
  /** When the request arrived (the router's clock). */
  readonly receivedAt: Date;
  readonly model: string;
  readonly modelVersion: string;
  readonly variant: Variant;
  readonly endpoint: FlagEndpoint;
  readonly routedBy: RoutedBy;
  readonly activeFlags: readonly string[];
  /** The assignment's bucket; null only when routed by `flag-unavailable`. */
  readonly userBucket: number | null;
  /** `inputHmac(key, input)` of the request input. */
  readonly inputHmac: string;
  readonly label: string | null;
  readonly confidence: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
  /** The `InferenceId` sent to the endpoint; absent or null when none was sent. */
  readonly inferenceId?: string | null;
}

/** Thrown for a record the router built wrong, or a log line that is not a prediction record. */
export class PredictionRecordError extends Error {
  override readonly name = 'PredictionRecordError';
}

/**
 * The record for one prediction. Throws a PredictionRecordError listing every field that is wrong:
 * only values the router itself controls can be (ids, version, flags, bucket, numbers); model
 * output of any length is accepted and cut to size by `serializeRecord`.
 */
export function buildPredictionRecord(input: PredictionRecordInput): PredictionRecord {
  const ts = input.receivedAt instanceof Date && !Number.isNaN(input.receivedAt.getTime());
  const candidate = {
    request_id: input.requestId,
    ts: ts ? input.receivedAt.toISOString() : String(input.receivedAt),
    model: input.model,
    model_version: input.modelVersion,
    variant: input.variant,
    endpoint: input.endpoint,
    routed_by: input.routedBy,
    active_flags: Array.isArray(input.activeFlags) ? [...input.activeFlags] : input.activeFlags,
    user_bucket: input.userBucket,
    input_hmac: input.inputHmac,
    label: input.label,
    confidence: input.confidence,
    latency_ms: input.latencyMs,
    error: input.error,
    inference_id: input.inferenceId ?? null,
  };
  return parseRecord(candidate, 'buildPredictionRecord', "fix the router's input");
}

/**
 * Reads one line written by `serializeRecord` (the trailing newline is optional) back into a
 * record. Throws a PredictionRecordError naming each wrong field; `label` describes the line in
 * the message (e.g. the SQS message id).
 */
export function parsePredictionRecordLine(line: string, label: string): PredictionRecord {
  if (typeof line !== 'string') {
    throw new PredictionRecordError(
      `${label} has no text body (got ${typeof line}); it is not a prediction record`,
    );
  }
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new PredictionRecordError(
      `${label} is not JSON (${(error as Error).message}); it is not a prediction record`,
    );
  }
  return parseRecord(raw, label, 'it is not a prediction record written by serializeRecord');
}

function parseRecord(raw: unknown, label: string, advice: string): PredictionRecord {
  const parsed = predictionRecordSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const where = formatJsonPath(issue.path);
    if (issue.code === 'unrecognized_keys') return `${where}: unknown keys ${issue.keys.join(', ')}`;
    if (issue.input === undefined) return `${where}: missing (expected ${issue.message})`;
    return `${where}: got ${showValue(issue.input)}, expected ${issue.message}`;
  });
  // A value can break two rules with the same message (ts: the pattern and the calendar check).
  const unique = [...new Set(problems)];
  throw new PredictionRecordError(`${label}: invalid prediction record: ${unique.join('; ')}; ${advice}`);
}

function showValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * HMAC-SHA256 of the request input, lowercase hex. A string is hashed as its UTF-8 bytes (a lone
 * surrogate becomes U+FFFD); pass the raw request body bytes to hash exactly what arrived. Equal
 * inputs give equal hashes under one key (so duplicates and repeats can be counted), and without
 * the key nobody can test a guessed input against the log. The key must be at least 32 bytes.
 */
export function inputHmac(key: Uint8Array, input: string | Uint8Array): string {
  if (!(key instanceof Uint8Array) || key.byteLength < MIN_HMAC_KEY_BYTES) {
    const got = key instanceof Uint8Array ? `${key.byteLength} bytes` : typeof key;
    throw new PredictionRecordError(
      `inputHmac: the key is ${got}; use a random secret of at least ${MIN_HMAC_KEY_BYTES} bytes ` +
        '(e.g. 32 random bytes kept in Secrets Manager), the same one for every router instance',
    );
  }
  return createHmac('sha256', key)
    .update(typeof input === 'string' ? Buffer.from(input, 'utf8') : input)
    .digest('hex');
}

/** The text appended to a cut `label` or `error`; the number is the original size in UTF-8 bytes. */
export function truncationMarker(originalBytes: number): string {
  return `...[truncated from ${originalBytes} bytes]`;
}

/**
 * The record as one JSON line ending in "\n" (Firehose concatenates records, so the newline keeps
 * them apart in S3), keys in the Glue table's order, at most `maxBytes` UTF-8 bytes. A longer line
 * is never dropped: `label` and `error` (the only unbounded fields) are cut, the shorter one keeping
 * up to half of the room left, and each cut one ends with `truncationMarker`.
 */
export function serializeRecord(
  record: PredictionRecord,
  maxBytes: number = FIREHOSE_MAX_RECORD_BYTES,
): string {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < MIN_RECORD_LIMIT_BYTES) {
    throw new RangeError(
      `serializeRecord: maxBytes must be a whole number of at least ${MIN_RECORD_LIMIT_BYTES}, got ${String(maxBytes)}`,
    );
  }
  const line = toLine(record);
  if (Buffer.byteLength(line, 'utf8') <= maxBytes) return line;

  // Room for the contents of label and error: everything else is fixed.
  const fixed = Buffer.byteLength(
    toLine({
      ...record,
      label: record.label === null ? null : '',
      error: record.error === null ? null : '',
    }),
    'utf8',
  );
  const room = maxBytes - fixed;
  const need = (s: string | null) => (s === null ? 0 : jsonContentBytes(s));
  const labelNeed = need(record.label);
  const errorNeed = need(record.error);
  const labelRoom =
    labelNeed <= errorNeed
      ? Math.min(labelNeed, Math.floor(room / 2))
      : room - Math.min(errorNeed, Math.floor(room / 2));
  const errorRoom = room - labelRoom;
  const cut = {
    ...record,
    label: record.label === null || labelNeed <= labelRoom ? record.label : truncate(record.label, labelRoom),
    error: record.error === null || errorNeed <= errorRoom ? record.error : truncate(record.error, errorRoom),
  };
  const result = toLine(cut);
  if (Buffer.byteLength(result, 'utf8') > maxBytes) {
    // Unreachable for a record that passed the schema; kept so a bug cannot ship an oversized line.
    throw new Error(
      `serializeRecord: record ${showValue(record.request_id)} is still ${Buffer.byteLength(result, 'utf8')} bytes after cutting label and error (limit ${maxBytes}); ` +
        'its other fields are longer than buildPredictionRecord allows: build records with buildPredictionRecord',
    );
  }
  return result;
}

/** Keys in the table's column order, whatever order the object was built in. */
function toLine(r: PredictionRecord): string {
  const ordered: PredictionRecord = {
    request_id: r.request_id,
    ts: r.ts,
    model: r.model,
    model_version: r.model_version,
    variant: r.variant,
    endpoint: r.endpoint,
    routed_by: r.routed_by,
    active_flags: r.active_flags,
    user_bucket: r.user_bucket,
    input_hmac: r.input_hmac,
    label: r.label,
    confidence: r.confidence,
    latency_ms: r.latency_ms,
    error: r.error,
    inference_id: r.inference_id,
  };
  return `${JSON.stringify(ordered)}\n`;
}

/** Bytes a string takes inside a JSON line, without its quotes (escapes included). */
function jsonContentBytes(s: string): number {
  return Buffer.byteLength(JSON.stringify(s), 'utf8') - 2;
}

/** The longest prefix of `text` that, with the marker, takes at most `room` bytes in JSON. */
function truncate(text: string, room: number): string {
  const marker = truncationMarker(Buffer.byteLength(text, 'utf8'));
  const fits = (k: number) => jsonContentBytes(text.slice(0, k) + marker) <= room;
  // Every UTF-16 unit takes at least one byte, so no prefix longer than `room` can fit.
  let lo = 0;
  let hi = Math.min(text.length, room);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  // The search never stops inside a surrogate pair: escaped, a lone high surrogate takes 6 bytes
  // and the whole pair 4, so wherever the first half fits, the pair fits too.
  return text.slice(0, lo) + marker;
}
