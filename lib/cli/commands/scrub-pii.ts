import { randomBytes } from 'node:crypto';
import { once, type EventEmitter } from 'node:events';
import { createReadStream, statSync } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { decodeBinaryLine, JsonlLineSplitter } from '../../../lambdas/core/data/jsonl';
import {
  addPiiCounts,
  createPiiScrubber,
  emptyPiiCounts,
  PiiPatternError,
  type PiiCounts,
  type PiiPattern,
  type PiiScrubber,
} from '../../../lambdas/core/data/pii';
import { CONFIG_DIR_OPTION, loadModel, resolveConfigDir, toJsonLine } from '../context';
import { CliIo, ExitCode, UsageError } from '../io';

/** Field scrubbed when no --field is given: the text field of the platform's datasets. */
export const DEFAULT_FIELD = 'text';
/** Progress is shown for inputs at least this big (and only on a terminal). */
export const PROGRESS_MIN_BYTES = 8 * 2 ** 20;
/** Longest line read; a longer one is dropped as malformed. */
export const MAX_LINE_BYTES = 16 * 2 ** 20;
/** Malformed lines listed in the report (all are counted). */
const MAX_LISTED = 10;

interface Options {
  readonly field?: string[];
  readonly out?: string;
  readonly model?: string;
  readonly configDir?: string;
  readonly json?: boolean;
}

/** What the command reads besides its arguments; tests pass their own. */
export interface ScrubPiiEnvironment {
  /** Read for the input `-`. @default process.stdin */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
  /** @default PROGRESS_MIN_BYTES */
  readonly progressMinBytes?: number;
  /** Progress is never shown in CI. @default Boolean(process.env.CI) */
  readonly ci?: boolean;
}

/** The report: counts by kind, never a value. */
export interface ScrubPiiReport {
  readonly ok: boolean;
  readonly input: string;
  readonly output: string;
  /** Whether the rows reached the output: only when `ok`; otherwise nothing was written. */
  readonly written: boolean;
  readonly fields: readonly string[];
  /** Configured patterns applied besides the built-in kinds (names only). */
  readonly patterns: readonly string[];
  /** Rows scrubbed (written when `written`). */
  readonly rows: number;
  /** Values replaced, in all. */
  readonly replaced: number;
  readonly counts: PiiCounts;
  /** Per field, rows that have it (and so were scrubbed). */
  readonly rowsWithField: Readonly<Record<string, number>>;
  readonly blankLines: number;
  /** Lines that are not JSON objects: dropped, since what they hold could not be scrubbed. */
  readonly malformed: {
    readonly count: number;
    readonly lines: readonly { readonly line: number; readonly reason: string }[];
  };
  readonly problems: readonly string[];
}

export async function scrubPiiCommand(
  io: CliIo,
  input: string,
  opts: Options,
  env: ScrubPiiEnvironment = {},
): Promise<ExitCode> {
  if (opts.json && !opts.out) {
    throw new UsageError(
      '--json prints the report on stdout, where the scrubbed rows would go: add --out <file> for the rows',
    );
  }
  const fields = opts.field && opts.field.length > 0 ? [...new Set(opts.field)] : [DEFAULT_FIELD];
  const patterns = opts.model ? modelPatterns(opts.configDir, opts.model) : [];
  let scrubber: PiiScrubber;
  try {
    scrubber = createPiiScrubber(patterns);
  } catch (err) {
    if (!(err instanceof PiiPatternError)) throw err;
    throw new UsageError(`model ${opts.model} in ${resolveConfigDir(opts.configDir)}/: ${err.message}`);
  }

  const fromStdin = input === '-';
  const inputSize = fromStdin ? undefined : checkInputFile(input);
  if (opts.out && !fromStdin && path.resolve(opts.out) === path.resolve(input)) {
    throw new UsageError(`--out ${opts.out} is the input file: write the scrubbed rows to another file`);
  }
  if (opts.out) checkOutputPath(opts.out);
  const source: AsyncIterable<Uint8Array | string> = fromStdin
    ? (env.stdin ?? process.stdin)
    : createReadStream(input);
  // Rows are staged and reach their destination only once the whole input is scrubbed and passed
  // every check: a failure (a --field in no row, a malformed line, an I/O error) leaves nothing that
  // looks finished, since a typo in --field would otherwise pass the raw rows through.
  const to = opts.out ?? 'stdout';
  const staging = await openStaging(opts.out);

  const state = newState(scrubber, fields);
  const progress = progressReporter(io, fromStdin ? 'stdin' : path.basename(input), inputSize, {
    enabled: Boolean(io.stderr.isTTY) && !opts.json && !(env.ci ?? Boolean(process.env.CI)),
    minBytes: env.progressMinBytes ?? PROGRESS_MIN_BYTES,
  });
  const splitter = new JsonlLineSplitter(lineHandler(state), { maxLineBytes: MAX_LINE_BYTES });
  let report: ScrubPiiReport;
  try {
    try {
      for await (const chunk of source) {
        splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
        await flush(state, staging);
        progress?.(splitter.bytes, state.rows);
      }
      splitter.end();
      await flush(state, staging);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined) throw err;
      throw new UsageError(`cannot read input ${input}: ${code}; nothing was written to ${to}`);
    } finally {
      if (progress) io.stderr.write('\r\x1b[K');
    }
    report = finishReport(state, {
      input,
      output: opts.out ?? '-',
      fields,
      patterns: patterns.map((p) => p.name),
    });
    if (report.ok) await staging.publish(io.stdout);
  } finally {
    await staging.discard();
  }

  if (opts.json) io.stdout.write(toJsonLine(report));
  else io.stderr.write(renderText(report));
  return report.ok ? ExitCode.Ok : ExitCode.CheckFailed;
}

function modelPatterns(configDir: string | undefined, name: string): readonly PiiPattern[] {
  return loadModel(configDir, name).model.monitoring.productionSample.piiPatterns;
}

/** The input's size; a missing or unreadable file is a usage error naming it. */
function checkInputFile(file: string): number {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new UsageError(`cannot read input ${file}: not a regular file`);
    return stat.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read input ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`,
    );
  }
}

/** `--out` must name a file in an existing folder; checked before anything is read. */
function checkOutputPath(out: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(out).isDirectory();
  } catch {
    // Does not exist yet: the usual case.
  }
  if (isDirectory) {
    throw new UsageError(
      `--out ${out} is a directory: name a file for the scrubbed rows, e.g. --out ${path.join(out, 'scrubbed.jsonl')}`,
    );
  }
  try {
    statSync(path.dirname(path.resolve(out)));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot write output ${out}: ${code === 'ENOENT' ? 'its folder does not exist' : (code ?? String(err))}`,
    );
  }
}

/** Where the rows wait until the scrub is complete and passed; `discard` is safe after `publish`. */
interface Staging {
  write(text: string): Promise<void>;
  /** Moves the rows into place: renames the staged file over `--out`, or copies it to stdout. */
  publish(stdout: CliIo['stdout']): Promise<void>;
  /** Removes the staged rows if they were not published. */
  discard(): Promise<void>;
}

/**
 * A private file (mode 0600, a name nobody else uses, created exclusively): beside `--out` so the
 * final rename is atomic on the same file system, or in the temp folder for stdout.
 */
async function openStaging(out: string | undefined): Promise<Staging> {
  const suffix = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const file = out
    ? path.join(path.dirname(path.resolve(out)), `.${path.basename(out)}.${suffix}.partial`)
    : path.join(tmpdir(), `mlops-scrub-pii-${suffix}.jsonl`);
  const failure = (err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return new UsageError(`cannot write output ${out ?? 'stdout'}: ${code}; nothing was written`);
  };
  let handle: FileHandle;
  try {
    handle = await open(file, 'wx+', 0o600);
  } catch (err) {
    throw failure(err);
  }
  let staged = true;
  if (!out) {
    // POSIX keeps an unlinked file readable through its open handle: nothing is left behind even if
    // the process ends early (a closed pipe exits at once). Where unlinking an open file fails, the
    // file is removed by discard().
    staged = !(await rm(file).then(
      () => true,
      () => false,
    ));
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    async write(text) {
      try {
        await handle.write(text);
      } catch (err) {
        throw failure(err);
      }
    },
    async publish(stdout) {
      if (out) {
        try {
          await handle.sync();
          await close();
          await rename(file, out);
        } catch (err) {
          throw failure(err);
        }
        staged = false;
        return;
      }
      // A chunk boundary may split a UTF-8 character: the decoder carries it to the next chunk.
      const decoder = new StringDecoder('utf8');
      const buffer = Buffer.alloc(1 << 20);
      let position = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        await writeRespectingBackpressure(stdout, decoder.write(buffer.subarray(0, bytesRead)));
      }
      await writeRespectingBackpressure(stdout, decoder.end());
    },
    async discard() {
      await close();
      if (staged) await rm(file, { force: true });
      staged = false;
    },
  };
}

/** Waits for `drain` when the stream asks for it, so a slow reader does not pile rows up in memory. */
async function writeRespectingBackpressure(stdout: CliIo['stdout'], text: string): Promise<void> {
  if (text === '') return;
  const accepted = stdout.write(text);
  const stream = stdout as Partial<EventEmitter>;
  if (accepted === false && typeof stream.once === 'function') await once(stream as EventEmitter, 'drain');
}

interface State {
  readonly scrubber: PiiScrubber;
  readonly fields: readonly string[];
  readonly counts: PiiCounts;
  readonly rowsWithField: Record<string, number>;
  readonly malformed: { line: number; reason: string }[];
  malformedCount: number;
  blankLines: number;
  rows: number;
  pending: string[];
}

function newState(scrubber: PiiScrubber, fields: readonly string[]): State {
  return {
    scrubber,
    fields,
    counts: emptyPiiCounts(scrubber.kinds),
    rowsWithField: Object.fromEntries(fields.map((f) => [f, 0])),
    malformed: [],
    malformedCount: 0,
    blankLines: 0,
    rows: 0,
    pending: [],
  };
}

function lineHandler(state: State) {
  const malformed = (line: number, reason: string) => {
    state.malformedCount += 1;
    if (state.malformed.length < MAX_LISTED) state.malformed.push({ line, reason });
  };
  return {
    onLine(binary: string, lineNumber: number) {
      if (binary.trim() === '') {
        state.blankLines += 1;
        return;
      }
      let row: unknown;
      try {
        row = JSON.parse(decodeBinaryLine(binary));
      } catch {
        // The parser's message quotes the line, and the line may hold personal data: not kept.
        malformed(lineNumber, 'not JSON');
        return;
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        malformed(lineNumber, 'not a JSON object');
        return;
      }
      const record = row as Record<string, unknown>;
      for (const field of state.fields) {
        if (!Object.hasOwn(record, field)) continue;
        state.rowsWithField[field] = (state.rowsWithField[field] as number) + 1;
        record[field] = scrubValue(record[field], state);
      }
      state.rows += 1;
      state.pending.push(`${JSON.stringify(record)}\n`);
    },
    onInvalidUtf8(lineNumber: number) {
      malformed(lineNumber, 'not UTF-8');
    },
    onLineTooLong(lineNumber: number) {
      malformed(lineNumber, `longer than ${MAX_LINE_BYTES / 2 ** 20} MiB`);
    },
  };
}

/** Every string inside the value (a field may hold a list of messages or an object). */
function scrubValue(value: unknown, state: State): unknown {
  if (typeof value === 'string') {
    const result = state.scrubber.scrub(value);
    addPiiCounts(state.counts, result.counts);
    return result.text;
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, state));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v, state)]));
  }
  return value;
}

async function flush(state: State, staging: Staging): Promise<void> {
  if (state.pending.length === 0) return;
  const text = state.pending.join('');
  state.pending = [];
  await staging.write(text);
}

function finishReport(
  state: State,
  where: Pick<ScrubPiiReport, 'input' | 'output' | 'fields' | 'patterns'>,
): ScrubPiiReport {
  const problems: string[] = [];
  if (state.malformedCount > 0) {
    problems.push(
      `${state.malformedCount} line(s) are not JSON objects, so what they hold could not be scrubbed: fix them and run again`,
    );
  }
  if (state.rows > 0) {
    for (const field of where.fields) {
      if (state.rowsWithField[field] === 0) {
        problems.push(
          `field "${field}" is in none of the ${state.rows} rows, so nothing was scrubbed there: check --field`,
        );
      }
    }
  }
  return {
    ok: problems.length === 0,
    ...where,
    written: problems.length === 0,
    rows: state.rows,
    replaced: Object.values(state.counts).reduce((s, n) => s + n, 0),
    counts: state.counts,
    rowsWithField: state.rowsWithField,
    blankLines: state.blankLines,
    malformed: { count: state.malformedCount, lines: state.malformed },
    problems,
  };
}

const count = (n: number) => n.toLocaleString('en-US');

function renderText(report: ScrubPiiReport): string {
  const kinds = Object.entries(report.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${count(n)}`);
  const from = report.input === '-' ? 'stdin' : report.input;
  const to = report.output === '-' ? 'stdout' : report.output;
  const what =
    `field(s) ${report.fields.join(', ')}: ${count(report.replaced)} value(s) replaced` +
    (kinds.length ? ` (${kinds.join(', ')})` : '');
  const lines = [
    report.written
      ? `SCRUBBED: ${count(report.rows)} row(s) from ${from} to ${to}, ${what}`
      : `FAILED, NOTHING WRITTEN to ${to}: ${count(report.rows)} row(s) read from ${from}, ${what}`,
  ];
  for (const problem of report.problems) lines.push(`  - ${problem}`);
  for (const m of report.malformed.lines) lines.push(`    line ${m.line}: ${m.reason}`);
  return `${lines.join('\n')}\n`;
}

/** Progress on an interactive terminal, for big inputs only: never in --json output or CI logs. */
function progressReporter(
  io: CliIo,
  label: string,
  size: number | undefined,
  options: { enabled: boolean; minBytes: number },
): ((bytes: number, rows: number) => void) | undefined {
  if (!options.enabled || (size !== undefined && size < options.minBytes)) return undefined;
  let last = 0;
  return (bytes, rows) => {
    if (bytes < options.minBytes) return; // stdin: shown once it turns out to be big
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    const share = size ? ` (${Math.floor((100 * bytes) / size)}%)` : '';
    io.stderr.write(`\r${label}: ${count(rows)} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB${share}`);
  };
}

export function register(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('scrub-pii')
    .description(
      'Replace personal data (e-mail, phone, card, account, IP, and the model’s own patterns) in a JSONL file.',
    )
    .argument('<input.jsonl>', 'the rows to scrub; - reads standard input')
    .option(
      '-f, --field <name>',
      `field to scrub, repeatable; every string inside it is scrubbed (default: ${DEFAULT_FIELD})`,
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('-o, --out <file>', 'write the scrubbed rows here (default: standard output)')
    .option('-m, --model <name>', "also scrub the model's monitoring.productionSample.piiPatterns")
    .option(...CONFIG_DIR_OPTION)
    .option('--json', 'print the report as one JSON document on stdout (needs --out)')
    .addHelpText(
      'after',
      '\nValues are replaced by [EMAIL], [PHONE], [CARD], [ACCOUNT], [IP] or [<PATTERN_NAME>]; the report counts\n' +
        'them by kind and never shows one. It goes to stderr, or to stdout with --json. Lines that are not JSON\n' +
        'objects are reported by number, never by content.\n' +
        'The rows reach --out (or stdout) only when the whole input is scrubbed and every check passes; on any\n' +
        'failure nothing is written there.\n' +
        'Exit codes: 0 scrubbed, 1 a line is not a JSON object or a --field is in no row (nothing written),\n' +
        '2 bad usage or unreadable input.',
    )
    .action(async (input: string, opts: Options) => done(await scrubPiiCommand(io, input, opts)));
}
