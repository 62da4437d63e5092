/**
 * Benchmark of `mlops validate-data`: how much slower than merely reading the file is a full scan?
 *
 *   npx tsx bench/validate-data.ts [--rows N] [--repeat N] [--workers N] [--chunk-kib N] [--variants a,b]
 *
 * Variants: read-stream, read-file, scan-stream, scan-file, parallel (default: all).
 *
 * Generates a seeded JSONL file under bench/.data/ (reused when present), then measures each variant
 * in its own child process (plain node on an esbuild bundle, so neither the TypeScript loader nor the
 * other measurements weigh on the peak RSS), and checks the scan found exactly the injected violations.
 * Peak RSS is the child's VmHWM (see peakRssKiB).
 * Figures go to stdout; progress goes to stderr, on a TTY only.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { scanDatasetFile, scanDatasetParallel } from '../lambdas/core/data/dataset-scan-worker';
import {
  scanDataset,
  VIOLATION_KINDS,
  type DatasetSchema,
  type DatasetScan,
  type ViolationKind,
} from '../lambdas/core/data/dataset-validation';

const GENERATOR_VERSION = 1;
const SEED = 20_260_501;
const MALFORMED_RATE = 0.001;
const LABELS: readonly [string, number][] = [
  ['billing', 0.34],
  ['refund', 0.21],
  ['technical', 0.16],
  ['account', 0.11],
  ['shipping', 0.08],
  ['cancellation', 0.05],
  ['fraud', 0.03],
  ['other', 0.02],
];
const SOURCES: readonly [string, number][] = [
  ['web', 0.45],
  ['email', 0.25],
  ['chat', 0.18],
  ['phone', 0.09],
  ['app', 0.03],
];
const WORDS = (
  'the a to and of my order refund please account charged twice card payment invoice delivery package ' +
  'arrived late broken login password reset help cannot access subscription cancel plan upgrade price ' +
  'support agent thanks hello issue problem error app crashed again yesterday today week month since ' +
  'customer number reference tracking shipped address wrong item missing return label fee discount ' +
  'café naïve über façade 退款 请帮我 账户 déjà-vu 🙂 👍 "quoted" it\'s don\'t 100% $49.99 #1234 e-mail'
).split(' ');

/** Schema the bench validates against; `allowedLabels` makes `label_not_allowed` detectable. */
const SCHEMA: Partial<DatasetSchema> = {
  allowedLabels: LABELS.map(([label]) => label),
  categoricalFields: ['source'],
};

// Injected kinds, weighted; line_too_long lines are over 1 MiB each, so they stay rare.
const INJECTED: readonly [ViolationKind, number][] = [
  ['invalid_utf8', 10],
  ['line_too_long', 1],
  ['blank_line', 10],
  ['malformed_json', 10],
  ['not_an_object', 10],
  ['missing_field', 10],
  ['missing_label', 10],
  ['wrong_type', 10],
  ['text_too_long', 10],
  ['bad_timestamp', 10],
  ['label_not_allowed', 10],
];

export interface Manifest {
  readonly version: number;
  readonly seed: number;
  readonly rows: number;
  readonly bytes: number;
  readonly injected: Record<ViolationKind, number>;
}

interface Measurement {
  readonly ms: number;
  readonly maxRssKiB: number;
  readonly bytes: number;
  readonly lines: number;
  readonly scan?: DatasetScan;
}

const VARIANTS = ['read-stream', 'read-file', 'scan-stream', 'scan-file', 'parallel'] as const;
type Variant = (typeof VARIANTS)[number];

const VARIANT_LABELS: Record<Variant, string> = {
  'read-stream': 'read: fs.createReadStream, count newlines',
  'read-file': 'read: fs.readSync into one buffer, count newlines',
  'scan-stream': 'scanDataset(fs.createReadStream)',
  'scan-file': 'scanDatasetFile',
  parallel: 'scanDatasetParallel',
};

/** sfc32: small, fast, good enough for test data, and reproducible across machines. */
function createRandom(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next();
  return next;
}

function pickWeighted<T>(random: () => number, items: readonly [T, number][]): T {
  const total = items.reduce((sum, [, weight]) => sum + weight, 0);
  let point = random() * total;
  for (const [item, weight] of items) {
    point -= weight;
    if (point < 0) return item;
  }
  return items[items.length - 1][0];
}

function makeText(random: () => number, minLength: number, maxLength: number): string {
  const target = minLength + Math.floor(random() * (maxLength - minLength + 1));
  const parts: string[] = [];
  let length = 0;
  while (length < target) {
    const word = WORDS[Math.floor(random() * WORDS.length)];
    parts.push(word);
    length += word.length + 1;
    if (random() < 0.01) parts.push('\n');
  }
  return parts.join(' ');
}

function makeTimestamp(random: () => number): string {
  const start = Date.UTC(2025, 0, 1);
  return new Date(start + Math.floor(random() * 365 * 86_400) * 1000).toISOString();
}

function makeRow(random: () => number): Record<string, unknown> {
  return {
    id: Math.floor(random() * 1e12),
    text: makeText(random, 200, 2000),
    label: pickWeighted(random, LABELS),
    source: pickWeighted(random, SOURCES),
    timestamp: makeTimestamp(random),
  };
}

/** One bad line of the given kind, producing exactly one violation of that kind. */
function makeBadLine(random: () => number, kind: ViolationKind): Buffer {
  const row = makeRow(random);
  switch (kind) {
    case 'invalid_utf8': {
      const [head, tail] = [JSON.stringify(row).slice(0, 30), JSON.stringify(row).slice(30)];
      return Buffer.concat([Buffer.from(head), Buffer.from([0xc3, 0x28]), Buffer.from(tail)]);
    }
    case 'line_too_long':
      return Buffer.from(JSON.stringify({ ...row, text: 'x'.repeat(1100 * 1024) }));
    case 'blank_line':
      return Buffer.from(random() < 0.5 ? '' : '  ');
    case 'malformed_json':
      return Buffer.from(JSON.stringify(row).slice(0, -1 - Math.floor(random() * 20)));
    case 'not_an_object':
      return Buffer.from(JSON.stringify([row.text, row.label]));
    case 'missing_field':
      return Buffer.from(JSON.stringify({ ...row, source: undefined }));
    case 'missing_label':
      return Buffer.from(JSON.stringify({ ...row, label: random() < 0.5 ? null : '' }));
    case 'wrong_type':
      return Buffer.from(JSON.stringify({ ...row, text: 42 }));
    case 'text_too_long':
      return Buffer.from(JSON.stringify({ ...row, text: '👍'.repeat(10_001) }));
    case 'bad_timestamp':
      return Buffer.from(
        JSON.stringify({ ...row, timestamp: random() < 0.5 ? '2025-02-30T10:00:00Z' : '5 May 2025' }),
      );
    case 'label_not_allowed':
      return Buffer.from(JSON.stringify({ ...row, label: 'refnud' }));
    default:
      throw new Error(`no generator for ${kind as string}`);
  }
}

function progress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
}

function progressDone(): void {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
}

async function generate(path: string, rows: number, malformedRate: number): Promise<Manifest> {
  const random = createRandom(SEED);
  const injected = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, 0])) as Record<
    ViolationKind,
    number
  >;
  const partial = `${path}.partial`;
  const out = createWriteStream(partial);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let bytes = 0;
  const flush = async (): Promise<void> => {
    const block = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (!out.write(block)) await once(out, 'drain');
  };
  for (let i = 0; i < rows; i++) {
    let line: Buffer;
    if (random() < malformedRate) {
      const kind = pickWeighted(random, INJECTED);
      injected[kind]++;
      line = makeBadLine(random, kind);
    } else {
      line = Buffer.from(JSON.stringify(makeRow(random)));
    }
    // A few Windows line endings, as in files that passed through a spreadsheet.
    const ending = random() < 0.005 ? '\r\n' : '\n';
    pending.push(line, Buffer.from(ending));
    pendingBytes += line.length + ending.length;
    bytes += line.length + ending.length;
    if (pendingBytes > 4 * 1024 * 1024) await flush();
    if (i % 10_000 === 0)
      progress(`generating ${path}: ${Math.round((i / rows) * 100)}% (${mib(bytes)} MiB)`);
  }
  await flush();
  out.end();
  await once(out, 'finish');
  progressDone();
  renameSync(partial, path);
  return { version: GENERATOR_VERSION, seed: SEED, rows, bytes, injected };
}

/**
 * The seeded dataset of `rows` rows under bench/.data/, generated on first use. With `clean`, no line is
 * broken on purpose (the seed's Python validator stops at the first line that is not a JSON object).
 */
export async function ensureDataset(
  rows: number,
  clean = false,
): Promise<{ path: string; manifest: Manifest }> {
  const dir = resolve(__dirname, '.data');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `validate-data-${rows}-s${SEED}-v${GENERATOR_VERSION}${clean ? '-clean' : ''}`);
  const path = `${base}.jsonl`;
  const manifestPath = `${base}.manifest.json`;
  if (existsSync(path) && existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (manifest.bytes === statSync(path).size) return { path, manifest };
  }
  const manifest = await generate(path, rows, clean ? 0 : MALFORMED_RATE);
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return { path, manifest };
}

// ---- child side: one measurement per process ----

interface ChildTask {
  readonly variant: Variant;
  readonly path: string;
  readonly chunkBytes: number;
  readonly workers: number;
  readonly workerScript: string;
}

function countNewlines(chunk: Buffer): number {
  let lines = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  return lines;
}

async function measureInChild(task: ChildTask): Promise<Measurement> {
  const { variant, path, chunkBytes, workers, workerScript } = task;
  const started = process.hrtime.bigint();
  let result: Omit<Measurement, 'ms' | 'maxRssKiB'>;
  if (variant === 'read-stream') {
    let bytes = 0;
    let lines = 0;
    for await (const chunk of createReadStream(path, {
      highWaterMark: chunkBytes,
    }) as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      lines += countNewlines(chunk);
    }
    result = { bytes, lines };
  } else if (variant === 'read-file') {
    let bytes = 0;
    let lines = 0;
    const fd = openSync(path, 'r');
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (let read = 1; read > 0;) {
      read = readSync(fd, buffer, 0, chunkBytes, null);
      bytes += read;
      lines += countNewlines(buffer.subarray(0, read));
    }
    closeSync(fd);
    result = { bytes, lines };
  } else {
    let scan: DatasetScan;
    if (variant === 'scan-stream')
      scan = await scanDataset(createReadStream(path, { highWaterMark: chunkBytes }), SCHEMA);
    else if (variant === 'scan-file') scan = await scanDatasetFile(path, SCHEMA, { chunkBytes });
    else scan = await scanDatasetParallel(path, SCHEMA, { workers, chunkBytes, workerScript });
    result = { bytes: scan.bytes, lines: scan.lines, scan };
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { ...result, ms, maxRssKiB: peakRssKiB() };
}

/**
 * Peak RSS of this process. On Linux, `process.resourceUsage().maxRSS` of a spawned child starts at
 * the parent's RSS at fork time (the kernel carries it over), which here is the generator's; VmHWM is
 * the high-water mark of the child's own memory, worker threads included.
 */
function peakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match !== null) return Number(match[1]);
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS;
}

interface Bundles {
  readonly child: string;
  readonly worker: string;
}

function bundle(): Bundles {
  const dir = resolve(__dirname, '.data');
  const child = join(dir, 'validate-data.bundle.js');
  const worker = join(dir, 'dataset-scan-worker.js');
  // esbuild is what ships the Lambda code; plain node on a bundle measures the code, not the TS loader.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'error',
  } as const;
  esbuild.buildSync({ ...common, entryPoints: [__filename], outfile: child });
  esbuild.buildSync({
    ...common,
    entryPoints: [resolve(__dirname, '../lambdas/core/data/dataset-scan-worker.ts')],
    outfile: worker,
  });
  return { child, worker };
}

function runChild(
  bundles: Bundles,
  variant: Variant,
  path: string,
  chunkBytes: number,
  workers: number,
): Measurement {
  const task: ChildTask = { variant, path, chunkBytes, workers, workerScript: bundles.worker };
  const child = spawnSync(process.execPath, [bundles.child, '--child', JSON.stringify(task)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) {
    throw new Error(`measurement '${variant}' failed (exit ${child.status}):\n${child.stderr}`);
  }
  return JSON.parse(child.stdout) as Measurement;
}

// ---- parent side ----

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function checkScan(variant: Variant, scan: DatasetScan, manifest: Manifest): string[] {
  const problems: string[] = [];
  for (const kind of VIOLATION_KINDS) {
    if (scan.violations.counts[kind] !== manifest.injected[kind]) {
      problems.push(
        `${variant}: ${kind} found ${scan.violations.counts[kind]}, injected ${manifest.injected[kind]}`,
      );
    }
  }
  const injectedTotal = VIOLATION_KINDS.reduce((sum, kind) => sum + manifest.injected[kind], 0);
  const expectedRows = manifest.rows - manifest.injected.blank_line;
  if (scan.totalRows !== expectedRows)
    problems.push(`${variant}: totalRows ${scan.totalRows}, expected ${expectedRows}`);
  if (scan.validRows !== manifest.rows - injectedTotal) {
    problems.push(`${variant}: validRows ${scan.validRows}, expected ${manifest.rows - injectedTotal}`);
  }
  return problems;
}

function argument(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

function positiveInteger(args: string[], name: string, fallback: number): number {
  const raw = argument(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} is '${raw}'; expected a whole number >= 1.`);
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const childTask = argument(args, '--child');
  if (childTask !== undefined) {
    process.stdout.write(JSON.stringify(await measureInChild(JSON.parse(childTask) as ChildTask)));
    return;
  }

  const rows = positiveInteger(args, '--rows', 1_000_000);
  const repeat = positiveInteger(args, '--repeat', 1);
  const chunkBytes = positiveInteger(args, '--chunk-kib', 64) * 1024;
  const workers = positiveInteger(args, '--workers', availableParallelism());
  const variants = (argument(args, '--variants') ?? VARIANTS.join(',')).split(',') as Variant[];
  for (const variant of variants) {
    if (!VARIANTS.includes(variant)) {
      throw new Error(
        `--variants has '${variant}'; expected a comma-separated list of ${VARIANTS.join(', ')}.`,
      );
    }
  }
  const { path, manifest } = await ensureDataset(rows);
  const bundles = bundle();

  const loadBefore = loadavg()
    .map((load) => load.toFixed(1))
    .join(' ');
  progress('warming the page cache');
  runChild(bundles, 'read-file', path, chunkBytes, workers);
  const results = new Map<Variant, Measurement[]>(variants.map((variant) => [variant, []]));
  // Rounds interleave the variants, so that a burst of load elsewhere on the machine hits them all alike.
  for (let round = 0; round < repeat; round++) {
    for (const variant of variants) {
      progress(`measuring ${variant} (${round + 1}/${repeat})`);
      results.get(variant)!.push(runChild(bundles, variant, path, chunkBytes, workers));
    }
  }
  progressDone();

  const medianMs = (variant: Variant): number | undefined =>
    results.has(variant) ? median(results.get(variant)!.map((m) => m.ms)) : undefined;
  const streamReadMs = medianMs('read-stream');
  const fileReadMs = medianMs('read-file');
  const ratio = (ms: number, base: number | undefined): string =>
    base === undefined ? '-' : (ms / base).toFixed(2);
  const injectedTotal = VIOLATION_KINDS.reduce((total, kind) => total + manifest.injected[kind], 0);
  const problems: string[] = [];
  console.log(
    `validate-data benchmark: ${rows.toLocaleString('en-US')} rows, ${mib(manifest.bytes)} MiB, ` +
      `${injectedTotal} injected violations, ${chunkBytes / 1024} KiB reads, ${availableParallelism()} CPUs, ` +
      `node ${process.version}, median of ${repeat} (peak RSS: max), load average before ${loadBefore}`,
  );
  console.log('');
  console.log(
    '| variant | wall s | rows/s | MB/s | × stream read | × file read | peak RSS MiB | violations |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const variant of variants) {
    const measurements = results.get(variant)!;
    const ms = medianMs(variant)!;
    const rss = Math.max(...measurements.map((m) => m.maxRssKiB)) / 1024;
    const last = measurements[measurements.length - 1];
    for (const m of measurements)
      if (m.scan !== undefined) problems.push(...checkScan(variant, m.scan, manifest));
    if (last.lines !== manifest.rows)
      problems.push(`${variant}: ${last.lines} lines, expected ${manifest.rows}`);
    const label =
      variant === 'parallel' ? `${VARIANT_LABELS[variant]} (${workers} workers)` : VARIANT_LABELS[variant];
    console.log(
      `| ${label} | ${(ms / 1000).toFixed(2)} | ${Math.round(manifest.rows / (ms / 1000)).toLocaleString('en-US')} | ` +
        `${(manifest.bytes / 1e6 / (ms / 1000)).toFixed(0)} | ${ratio(ms, streamReadMs)} | ${ratio(ms, fileReadMs)} | ` +
        `${rss.toFixed(1)} | ${last.scan === undefined ? '-' : last.scan.violations.total} |`,
    );
  }
  console.log('');
  console.log(
    `injected per kind: ${VIOLATION_KINDS.map((kind) => `${kind} ${manifest.injected[kind]}`).join(', ')}`,
  );
  if (problems.length > 0) {
    console.log(`MISMATCH:\n${problems.join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(
      'check: each scan found every injected violation and no other (per kind), and the expected rows',
    );
  }
}

// Also imported by validate-data-vs-python.ts for its dataset.
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
