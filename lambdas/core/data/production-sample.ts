/**
 * The production-like eval set: a sample of real inputs from the live endpoint's data capture,
 * stratified by predicted label, with personal data scrubbed, written as JSONL rows ready for
 * labelling and pinned like a DVC 3 output.
 *
 * Sampling: each predicted label keeps a reservoir (Algorithm R) of at most `size` records, drawn
 * with a seeded PRNG, so the result depends only on the seed and the order records come in, and
 * memory holds at most `size` records per label, however long the window. At the end the rows are
 * allocated to labels in proportion to how often each was predicted (largest remainders), with at
 * least one row for every label seen, and each label's rows are drawn from its reservoir.
 *
 * Pure: no SDK, no clock; the seed comes in.
 */
import { createHash } from 'node:crypto';
import type { CaptureRecord } from '../serving/data-capture';
import { addPiiCounts, emptyPiiCounts, type PiiCounts, type PiiScrubber } from './pii';

// ---------------------------------------------------------------------------------------------
// Seeded PRNG
// ---------------------------------------------------------------------------------------------

/** Largest seed: seeds are unsigned 32-bit integers. */
export const MAX_SEED = 2 ** 32 - 1;

/** A deterministic source of random integers (xoshiro128**, seeded through splitmix32). */
export interface Prng {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform integer in [0, n), for 1 <= n <= 2^32, without modulo bias. */
  nextInt(n: number): number;
}

export function createPrng(seed: number): Prng {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new RangeError(`the seed must be an integer from 0 to ${MAX_SEED}, got ${seed}`);
  }
  let x = seed >>> 0;
  const splitmix = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = [splitmix(), splitmix(), splitmix(), splitmix()] as [number, number, number, number];
  const rotl = (v: number, k: number) => ((v << k) | (v >>> (32 - k))) >>> 0;
  const nextUint32 = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  };
  return {
    nextUint32,
    nextInt(n: number): number {
      if (!Number.isInteger(n) || n < 1 || n > 2 ** 32)
        throw new RangeError(`nextInt: n must be 1..2^32, got ${n}`);
      // Reject the top values that would make some results more likely than others.
      const limit = 2 ** 32 - (2 ** 32 % n);
      for (;;) {
        const v = nextUint32();
        if (v < limit) return v % n;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Allocation
// ---------------------------------------------------------------------------------------------

/**
 * Rows per label for a sample of `size` out of `available` records per label: proportional
 * (largest remainders, ties by label name), at least one per label, never more than a label has.
 * With fewer records than `size`, every record; with more labels than `size`, one row for each of
 * the `size` most frequent labels (ties by name).
 */
export function allocateProportional(
  available: Readonly<Record<string, number>>,
  size: number,
): Record<string, number> {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`size must be a positive integer, got ${size}`);
  const labels = Object.keys(available)
    .filter((l) => (available[l] as number) > 0)
    .sort(compare);
  const total = labels.reduce((sum, l) => sum + (available[l] as number), 0);
  const result: Record<string, number> = {};
  if (total <= size) {
    for (const l of labels) result[l] = available[l] as number;
    return result;
  }
  if (labels.length >= size) {
    const byCount = [...labels].sort(
      (a, b) => (available[b] as number) - (available[a] as number) || compare(a, b),
    );
    for (const l of byCount.slice(0, size)) result[l] = 1;
    return result;
  }
  const quota = (l: string) => (size * (available[l] as number)) / total;
  for (const l of labels) result[l] = Math.min(available[l] as number, Math.max(1, Math.floor(quota(l))));
  let allocated = labels.reduce((sum, l) => sum + (result[l] as number), 0);
  while (allocated < size) {
    // The label furthest below its quota that still has records left.
    const next = pick(
      labels.filter((l) => (result[l] as number) < (available[l] as number)),
      (l) => quota(l) - (result[l] as number),
    );
    result[next] = (result[next] as number) + 1;
    allocated += 1;
  }
  while (allocated > size) {
    // The minimum of one per label pushed the total over: take from the label furthest above its quota.
    const next = pick(
      labels.filter((l) => (result[l] as number) > 1),
      (l) => (result[l] as number) - quota(l),
    );
    result[next] = (result[next] as number) - 1;
    allocated -= 1;
  }
  return result;
}

/** The label with the largest score; ties go to the first name in order. */
function pick(labels: readonly string[], score: (label: string) => number): string {
  let best = labels[0] as string;
  for (const l of labels.slice(1)) if (score(l) > score(best) + 1e-12) best = l;
  return best;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Sampler
// ---------------------------------------------------------------------------------------------

/** Why a captured record cannot be a row. */
export const SKIP_REASONS = ['no_text', 'no_predicted_label', 'no_timestamp', 'outside_window'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export interface SamplingOptions {
  /** Rows wanted. */
  readonly size: number;
  readonly seed: number;
  /** Only records with an inference time in [fromMs, toMs) are sampled. */
  readonly window: { readonly fromMs: number; readonly toMs: number };
}

/** A record drawn into the sample, before scrubbing. */
export interface SampledRecord {
  readonly text: string;
  readonly predictedLabel: string;
  readonly timestamp: string;
  readonly eventId: string;
}

export interface DrawnSample {
  /** In time order (then event id), not grouped by label, so labellers see no pattern. */
  readonly records: readonly SampledRecord[];
  /** Records that could be rows. */
  readonly eligible: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** Per predicted label: records that could be rows, and rows drawn. */
  readonly perLabel: Readonly<Record<string, { readonly available: number; readonly sampled: number }>>;
  /** Set when the sample could not be what was asked (fewer records than rows, more labels than rows). */
  readonly note: string | null;
}

/**
 * The text of a captured request: the `text` of the JSON body the router sends (`{"text": ...}`),
 * a JSON string, or the body itself when it is not JSON (text/plain, CSV). Undefined when the body is
 * JSON without a text.
 */
export function inputTextOf(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON: the body is the text. The parser's message is never kept: it quotes the input.
    return body;
  }
  if (typeof parsed === 'string') return parsed;
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const text = (parsed as Record<string, unknown>).text;
    return typeof text === 'string' ? text : undefined;
  }
  return undefined;
}

/** Streams captured records into per-label reservoirs; see the module comment. */
export class ProductionSampler {
  private readonly rng: Prng;
  private readonly reservoirs = new Map<string, { seen: number; records: SampledRecord[] }>();
  private readonly skipped: Record<SkipReason, number> = {
    no_text: 0,
    no_predicted_label: 0,
    no_timestamp: 0,
    outside_window: 0,
  };
  private eligible = 0;
  private finished = false;

  public constructor(private readonly options: SamplingOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError(`the sample size must be a positive integer, got ${options.size}`);
    }
    if (!(options.window.fromMs < options.window.toMs)) {
      throw new RangeError(`the window ${options.window.fromMs}..${options.window.toMs} is empty`);
    }
    this.rng = createPrng(options.seed);
  }

  public add(record: CaptureRecord): void {
    if (this.finished) throw new Error('ProductionSampler: add after finish');
    const text = record.inputText === undefined ? undefined : inputTextOf(record.inputText);
    const reason = this.reasonToSkip(record, text);
    if (reason !== undefined) {
      this.skipped[reason] += 1;
      return;
    }
    this.eligible += 1;
    const candidate: SampledRecord = {
      text: text as string,
      predictedLabel: record.outputLabel as string,
      timestamp: record.inferenceTime as string,
      eventId: record.eventId,
    };
    let reservoir = this.reservoirs.get(candidate.predictedLabel);
    if (!reservoir) {
      reservoir = { seen: 0, records: [] };
      this.reservoirs.set(candidate.predictedLabel, reservoir);
    }
    reservoir.seen += 1;
    if (reservoir.records.length < this.options.size) {
      reservoir.records.push(candidate);
      return;
    }
    const j = this.rng.nextInt(reservoir.seen);
    if (j < this.options.size) reservoir.records[j] = candidate;
  }

  private reasonToSkip(record: CaptureRecord, text: string | undefined): SkipReason | undefined {
    const time = record.inferenceTime === undefined ? NaN : Date.parse(record.inferenceTime);
    if (Number.isNaN(time)) return 'no_timestamp';
    if (time < this.options.window.fromMs || time >= this.options.window.toMs) return 'outside_window';
    if (record.outputLabel === undefined || record.outputLabel === '') return 'no_predicted_label';
    if (text === undefined || text.trim() === '') return 'no_text';
    return undefined;
  }

  /** Records held in memory now: at most `size` per predicted label. */
  public get retained(): number {
    let n = 0;
    for (const r of this.reservoirs.values()) n += r.records.length;
    return n;
  }

  /** Draws the rows; the sampler takes no records afterwards. */
  public finish(): DrawnSample {
    this.finished = true;
    const available = Object.fromEntries([...this.reservoirs].map(([label, r]) => [label, r.seen]));
    const labels = Object.keys(available).sort(compare);
    const allocation = labels.length === 0 ? {} : allocateProportional(available, this.options.size);
    const records: SampledRecord[] = [];
    const perLabel: Record<string, { available: number; sampled: number }> = {};
    for (const label of labels) {
      const pool = (this.reservoirs.get(label) as { records: SampledRecord[] }).records;
      const n = allocation[label] ?? 0;
      // A partial Fisher–Yates shuffle: n of the reservoir, each subset equally likely.
      for (let i = 0; i < n; i += 1) {
        const j = i + this.rng.nextInt(pool.length - i);
        [pool[i], pool[j]] = [pool[j] as SampledRecord, pool[i] as SampledRecord];
        records.push(pool[i] as SampledRecord);
      }
      perLabel[label] = { available: available[label] as number, sampled: n };
    }
    records.sort(
      (a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp) || compare(a.eventId, b.eventId),
    );
    let note: string | null = null;
    if (this.eligible < this.options.size) {
      note = `only ${this.eligible} captured request(s) could be rows, fewer than the ${this.options.size} asked for: the sample holds all of them`;
    } else if (labels.length > this.options.size) {
      note =
        `${labels.length} predicted labels but only ${this.options.size} rows: the ${labels.length - this.options.size} rarest labels ` +
        'have no row; raise monitoring.productionSample.size to cover every label';
    }
    return { records, eligible: this.eligible, skipped: { ...this.skipped }, perLabel, note };
  }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/** The file name of the sample, as the `.dvc` pin names it. */
export const PRODUCTION_SAMPLE_FILE = 'production_sample.jsonl';

/** One row of the JSONL file: ready for labelling, `label` still to be filled in. */
export interface ProductionSampleRow {
  readonly text: string;
  readonly label: null;
  readonly predicted_label: string;
  readonly source: 'production';
  readonly timestamp: string;
}

export interface ProductionSampleManifest {
  readonly schemaVersion: 1;
  readonly model: string;
  readonly createdAt: string;
  readonly window: { readonly from: string; readonly to: string };
  readonly sampling: {
    readonly method: string;
    readonly size: number;
    readonly seed: number;
    readonly eligible: number;
    readonly skipped: Readonly<Record<SkipReason, number>>;
    readonly perLabel: DrawnSample['perLabel'];
    readonly note: string | null;
  };
  /** Replacements by kind; never a value. */
  readonly scrubbing: { readonly counts: PiiCounts; readonly patterns: readonly string[] };
  readonly rows: number;
  /** md5 of the JSONL bytes: its name in the DVC remote and the `md5` of its `.dvc` pin. */
  readonly md5: string;
  /** Size of the JSONL in bytes. */
  readonly size: number;
  readonly path: string;
}

export interface ProductionSampleFiles {
  readonly jsonl: string;
  readonly md5: string;
  readonly size: number;
  readonly manifest: ProductionSampleManifest;
  /** The `.dvc` pin of the JSONL, to commit next to where the file is checked out. */
  readonly dvcPin: string;
}

export interface BuildSampleInput {
  readonly model: string;
  readonly createdAt: string;
  readonly window: { readonly fromMs: number; readonly toMs: number };
  readonly size: number;
  readonly seed: number;
  /** Names of the configured patterns the scrubber applies (recorded, the patterns are not). */
  readonly patterns: readonly string[];
  /** The file name the pin gives (relative to the `.dvc` file). @default PRODUCTION_SAMPLE_FILE */
  readonly path?: string;
}

/** Scrubs the drawn records and builds the JSONL, its manifest and its `.dvc` pin. */
export function buildProductionSample(
  drawn: DrawnSample,
  scrubber: PiiScrubber,
  input: BuildSampleInput,
): ProductionSampleFiles {
  const counts = emptyPiiCounts(scrubber.kinds);
  const lines = drawn.records.map((record) => {
    const scrubbed = scrubber.scrub(record.text);
    addPiiCounts(counts, scrubbed.counts);
    const row: ProductionSampleRow = {
      text: scrubbed.text,
      label: null,
      predicted_label: record.predictedLabel,
      source: 'production',
      timestamp: record.timestamp,
    };
    return `${JSON.stringify(row)}\n`;
  });
  const jsonl = lines.join('');
  const bytes = Buffer.from(jsonl, 'utf8');
  const md5 = createHash('md5').update(bytes).digest('hex');
  const file = input.path ?? PRODUCTION_SAMPLE_FILE;
  const manifest: ProductionSampleManifest = {
    schemaVersion: 1,
    model: input.model,
    createdAt: input.createdAt,
    window: {
      from: new Date(input.window.fromMs).toISOString(),
      to: new Date(input.window.toMs).toISOString(),
    },
    sampling: {
      method:
        'stratified by predicted label: proportional allocation (largest remainders, at least one row per label), ' +
        'reservoir sampling per label with a seeded PRNG (xoshiro128**)',
      size: input.size,
      seed: input.seed,
      eligible: drawn.eligible,
      skipped: drawn.skipped,
      perLabel: drawn.perLabel,
      note: drawn.note,
    },
    scrubbing: { counts, patterns: input.patterns },
    rows: drawn.records.length,
    md5,
    size: bytes.byteLength,
    path: file,
  };
  return {
    jsonl,
    md5,
    size: bytes.byteLength,
    manifest,
    dvcPin: dvcPinText({ md5, size: bytes.byteLength, path: file }),
  };
}

/** A DVC 3 `.dvc` file for one file output (`hash: md5`: the md5 of the plain bytes). */
export function dvcPinText(out: {
  readonly md5: string;
  readonly size: number;
  readonly path: string;
}): string {
  if (!/^[0-9a-f]{32}$/.test(out.md5))
    throw new RangeError(`dvcPinText: ${JSON.stringify(out.md5)} is not an md5`);
  return `outs:\n- md5: ${out.md5}\n  size: ${out.size}\n  hash: md5\n  path: ${out.path}\n`;
}
