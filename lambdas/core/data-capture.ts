/**
 * SageMaker data capture, read back. An endpoint with data capture writes one JSON line per
 * captured request to `<DestinationS3Uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`:
 *
 * ```json
 * {"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT",
 *   "data":"{\"text\":\"...\"}","encoding":"JSON"},"endpointOutput":{...,"mode":"OUTPUT",
 *   "data":"{\"label\":\"invoice\",\"confidence\":0.93}","encoding":"JSON"}},
 *  "eventMetadata":{"eventId":"0f6c...","inferenceTime":"2026-11-05T10:15:02Z"},"eventVersion":"0"}
 * ```
 *
 * `encoding` is `JSON` for the content types listed in `CaptureContentTypeHeader.JsonContentTypes`,
 * `CSV` for the CSV ones, and `BASE64` for everything else. The inference container answers JSON
 * `{"label": string, "confidence": number, ...}`, which is what the shadow comparison pairs.
 *
 * Pure: no SDK, no clock. Used by the shadow stage (prediction agreement between the production
 * and shadow variants) and by jobs that sample captured inputs.
 */
import { isUtf8 } from 'node:buffer';

/** One captured request, as far as it could be read. */
export interface CaptureRecord {
  /** `eventMetadata.eventId`: the same id on the production and the shadow copy of a request. */
  readonly eventId: string;
  /** The variant whose capture folder the line came from, when the caller knows it. */
  readonly variant?: string;
  /** `eventMetadata.inferenceTime`, as written (ISO 8601). */
  readonly inferenceTime?: string;
  /** The request body as text; absent when not captured or not UTF-8 (e.g. an image). */
  readonly inputText?: string;
  /** `label` of the JSON response; absent when the response was not captured or is not such JSON. */
  readonly outputLabel?: string;
  /** `confidence` of the JSON response, when it is a finite number. */
  readonly outputConfidence?: number;
}

/** A line read into a record, or the reason it could not be. Never throws. */
export type ParsedCaptureLine =
  { readonly ok: true; readonly record: CaptureRecord } | { readonly ok: false; readonly reason: string };

/** Where a line comes from; only echoed into the record. */
export interface CaptureLineSource {
  readonly variant?: string;
}

/**
 * Reads one data capture line. A line that is not a capture record (not JSON, no event id, an
 * unknown encoding, invalid base64) gives `{ ok: false, reason }`; a record whose payloads are not
 * the JSON the container answers (CSV, binary) still parses, without a label.
 */
export function parseCaptureLine(line: string, source: CaptureLineSource = {}): ParsedCaptureLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isObject(json)) return { ok: false, reason: 'not a JSON object' };
  const capture = json.captureData;
  if (!isObject(capture)) return { ok: false, reason: 'no captureData object' };
  const metadata = json.eventMetadata;
  const eventId = isObject(metadata) ? metadata.eventId : undefined;
  if (typeof eventId !== 'string' || eventId.length === 0) {
    return { ok: false, reason: 'no eventMetadata.eventId' };
  }
  if (capture.endpointInput === undefined && capture.endpointOutput === undefined) {
    return { ok: false, reason: 'captureData has neither endpointInput nor endpointOutput' };
  }
  const input = decodePayload(capture.endpointInput, 'endpointInput');
  if (!input.ok) return input;
  const output = decodePayload(capture.endpointOutput, 'endpointOutput');
  if (!output.ok) return output;

  const inferenceTime = isObject(metadata) ? metadata.inferenceTime : undefined;
  const prediction = output.text === undefined ? {} : readPrediction(output.text);
  return {
    ok: true,
    record: {
      eventId,
      ...(source.variant === undefined ? {} : { variant: source.variant }),
      ...(typeof inferenceTime === 'string' ? { inferenceTime } : {}),
      ...(input.text === undefined ? {} : { inputText: input.text }),
      ...prediction,
    },
  };
}

type Decoded =
  { readonly ok: true; readonly text?: string } | { readonly ok: false; readonly reason: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodePayload(payload: unknown, field: string): Decoded {
  if (payload === undefined) return { ok: true };
  if (!isObject(payload)) return { ok: false, reason: `${field} is not an object` };
  const { data, encoding } = payload;
  if (encoding === 'JSON') {
    // SageMaker writes the JSON body as a string; an embedded object is accepted as the same body.
    if (typeof data === 'string') return { ok: true, text: data };
    if (data !== undefined && data !== null) return { ok: true, text: JSON.stringify(data) };
    return { ok: false, reason: `${field}.data is missing` };
  }
  if (typeof data !== 'string') return { ok: false, reason: `${field}.data is not a string` };
  if (encoding === 'CSV') return { ok: true, text: data };
  if (encoding === 'BASE64') {
    if (!BASE64.test(data)) return { ok: false, reason: `${field}.data is not valid base64` };
    const bytes = Buffer.from(data, 'base64');
    return isUtf8(bytes) ? { ok: true, text: bytes.toString('utf8') } : { ok: true };
  }
  return {
    ok: false,
    reason: `${field}.encoding ${JSON.stringify(encoding) ?? 'missing'} is not JSON, BASE64 or CSV`,
  };
}

function readPrediction(text: string): { outputLabel?: string; outputConfidence?: number } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return {};
  }
  if (!isObject(body)) return {};
  return {
    ...(typeof body.label === 'string' ? { outputLabel: body.label } : {}),
    ...(typeof body.confidence === 'number' && Number.isFinite(body.confidence)
      ? { outputConfidence: body.confidence }
      : {}),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Object keys
// ---------------------------------------------------------------------------------------------

/** What a capture object's key says: the variant and the hour (UTC) its requests belong to. */
export interface CaptureObjectKey {
  readonly variant: string;
  /** Start of the hour, epoch milliseconds. */
  readonly hourStartMs: number;
}

/**
 * Reads `<endpointPrefix><variant>/yyyy/mm/dd/hh/<file>` (the prefix ends with `/`); undefined for
 * any other key, so a stray object under the prefix is skipped, not misread.
 */
export function parseCaptureObjectKey(key: string, endpointPrefix: string): CaptureObjectKey | undefined {
  if (!key.startsWith(endpointPrefix)) return undefined;
  const match = /^([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[^/]+$/.exec(key.slice(endpointPrefix.length));
  if (!match) return undefined;
  const [, variant, y, mo, d, h] = match as unknown as [string, string, string, string, string, string];
  const hourStartMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h));
  // Date.UTC rolls 2026/02/30 over into March: such a key is not SageMaker's.
  const check = new Date(hourStartMs);
  if (check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23) {
    return undefined;
  }
  return { variant, hourStartMs };
}

/** `<variant>/yyyy/mm/dd/hh/` of every hour that overlaps [startMs, endMs], in order. */
export function captureHourPrefixes(variant: string, startMs: number, endMs: number): string[] {
  if (!(Number.isFinite(startMs) && Number.isFinite(endMs)) || endMs < startMs) {
    throw new RangeError(`captureHourPrefixes: the window ${startMs}..${endMs} is not a time range`);
  }
  const HOUR = 3_600_000;
  const prefixes: string[] = [];
  for (let t = Math.floor(startMs / HOUR) * HOUR; t <= endMs; t += HOUR) {
    const d = new Date(t);
    const two = (n: number) => String(n).padStart(2, '0');
    prefixes.push(
      `${variant}/${d.getUTCFullYear()}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCHours())}/`,
    );
  }
  return prefixes;
}

// ---------------------------------------------------------------------------------------------
// Pairing
// ---------------------------------------------------------------------------------------------

/** One variant's side of the pairing. */
export interface VariantCaptureCounts {
  /** Records read from this variant's capture. */
  readonly records: number;
  /** Records with a predicted label (the first per event id). */
  readonly labelled: number;
  /** Records whose event id this variant already had (a file written twice); not counted again. */
  readonly duplicates: number;
  /** Labelled records without a labelled record of the same event id in the other variant. */
  readonly unpaired: number;
}

/** Prediction agreement between the production and the shadow variant, from data capture. */
export interface CaptureAgreement {
  /** Event ids both variants labelled. */
  readonly compared: number;
  /** Of those, the ones with the same label. */
  readonly agreements: number;
  readonly production: VariantCaptureCounts;
  readonly shadow: VariantCaptureCounts;
  /** Records of any other variant, or of none; not compared. */
  readonly otherVariant: number;
}

/** Names of the two variants being paired, as in the capture folders. */
export interface PairedVariants {
  readonly production: string;
  readonly shadow: string;
}

/**
 * Pairs records streamed in one at a time by event id and counts label agreements. Memory grows
 * with the labelled records (one label per event id), so callers bound how many they add.
 */
export class AgreementTally {
  private readonly labels = { production: new Map<string, string>(), shadow: new Map<string, string>() };
  private readonly seen = { production: new Set<string>(), shadow: new Set<string>() };
  private readonly counts = {
    production: { records: 0, duplicates: 0 },
    shadow: { records: 0, duplicates: 0 },
  };
  private others = 0;

  public constructor(private readonly variants: PairedVariants) {
    if (variants.production === variants.shadow) {
      throw new RangeError(`AgreementTally: both variants are named "${variants.production}"`);
    }
  }

  public add(record: CaptureRecord): void {
    const side =
      record.variant === this.variants.production
        ? 'production'
        : record.variant === this.variants.shadow
          ? 'shadow'
          : undefined;
    if (side === undefined) {
      this.others += 1;
      return;
    }
    this.counts[side].records += 1;
    if (this.seen[side].has(record.eventId)) {
      this.counts[side].duplicates += 1;
      return;
    }
    this.seen[side].add(record.eventId);
    if (record.outputLabel !== undefined) this.labels[side].set(record.eventId, record.outputLabel);
  }

  public result(): CaptureAgreement {
    const { production, shadow } = this.labels;
    let compared = 0;
    let agreements = 0;
    const [small, large] = production.size <= shadow.size ? [production, shadow] : [shadow, production];
    for (const [eventId, label] of small) {
      const other = large.get(eventId);
      if (other === undefined) continue;
      compared += 1;
      if (other === label) agreements += 1;
    }
    const side = (which: 'production' | 'shadow'): VariantCaptureCounts => ({
      records: this.counts[which].records,
      labelled: this.labels[which].size,
      duplicates: this.counts[which].duplicates,
      unpaired: this.labels[which].size - compared,
    });
    return {
      compared,
      agreements,
      production: side('production'),
      shadow: side('shadow'),
      otherVariant: this.others,
    };
  }
}

/** {@link AgreementTally} over a list of records. */
export function countAgreement(records: Iterable<CaptureRecord>, variants: PairedVariants): CaptureAgreement {
  const tally = new AgreementTally(variants);
  for (const record of records) tally.add(record);
  return tally.result();
}
