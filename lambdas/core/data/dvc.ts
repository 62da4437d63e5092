/**
 * Pinned datasets: reading `.dvc` files, locating their objects in a DVC remote, and checking
 * that the bytes read back are the bytes that were pinned.
 *
 * Two generations of DVC write these files:
 * - DVC 3 writes `hash: md5` on each output: md5 is the plain md5 of the file's bytes, and the
 *   object lives under `files/md5/ab/cdef…` in the remote.
 * - DVC 2 (and DVC 3 for data it has not re-hashed) writes no `hash` key: md5 was computed after
 *   turning CRLF into LF in files that look like text ("md5-dos2unix"), and the object lives
 *   under `ab/cdef…` at the remote's root.
 * See https://dvc.org/doc/user-guide/project-structure/dvc-files.
 */

import { createHash, type Hash } from 'node:crypto';
import { parseDocument } from 'yaml';

/** How DVC computed an md5: plain bytes (DVC 3) or with CRLF turned into LF in text files (DVC 2). */
export type DvcHashMode = 'md5' | 'md5-dos2unix';

/** Object layout of a DVC remote: `files/md5/ab/cdef…` (DVC 3) or `ab/cdef…` (DVC 2). */
export type DvcRemoteLayout = 'v3' | 'legacy';

/** One entry of a `.dvc` file's `outs`: a pinned file or directory. */
export interface DvcOut {
  /** The `path` key: relative to the `.dvc` file's folder (and `wdir`, when set). */
  readonly path: string;
  /** Lower-case md5; a directory's ends in `.dir` and names its manifest object. */
  readonly md5: string;
  /** True when md5 ends in `.dir`. */
  readonly isDirectory: boolean;
  /** Size in bytes (a directory's is the sum of its files), when the file records it. */
  readonly size?: number;
  /** Number of files in a directory, when the file records it. */
  readonly nfiles?: number;
  /** `md5` when the file says `hash: md5`; `md5-dos2unix` when it has no `hash` key. */
  readonly hashMode: DvcHashMode;
  /** Where the object is in the remote, which follows from `hashMode`. */
  readonly remoteLayout: DvcRemoteLayout;
  /** False for `cache: false`: DVC never pushes such data, so the remote has no copy. */
  readonly cached: boolean;
  /** The `remote` key, when the output is pinned to a named remote. */
  readonly remote?: string;
}

/** A parsed `.dvc` file. */
export interface DvcPin {
  /** The label the file was parsed under, normally its path in the repository. */
  readonly file: string;
  /** The `wdir` key, when present. */
  readonly wdir?: string;
  /** Every output, in file order (usually exactly one). */
  readonly outs: readonly DvcOut[];
}

/** One file listed in a directory's `.dir` manifest. */
export interface DvcDirEntry {
  readonly md5: string;
  /** POSIX path relative to the directory. */
  readonly relpath: string;
}

/** A `.dvc` file or `.dir` manifest that cannot be used; `file` and `key` say where. */
export class DvcFileError extends Error {
  override readonly name = 'DvcFileError';
  constructor(
    readonly file: string,
    readonly key: string,
    problem: string,
  ) {
    super(`${file}: ${key}: ${problem}`);
  }
}

/** An eval set configured for the platform has no `.dvc` file. */
export class DvcPinMissingError extends Error {
  override readonly name = 'DvcPinMissingError';
  constructor(
    readonly datasetName: string,
    readonly dvcFile: string,
  ) {
    const dataPath = dvcFile.replace(/\.dvc$/, '');
    super(
      `${datasetName}: no DVC pin found at ${dvcFile}; eval sets must be tracked with DVC so that every run ` +
        `reads the same bytes: run \`dvc add ${dataPath}\`, commit ${dvcFile} and \`dvc push\` the data`,
    );
  }
}

/** The bytes read from the remote do not hash to the pinned md5. */
export class DvcHashMismatchError extends Error {
  override readonly name = 'DvcHashMismatchError';
  constructor(
    readonly datasetName: string,
    readonly expectedMd5: string,
    readonly actualMd5: string,
    readonly bytesRead: number,
    readonly dvcFile?: string,
    readonly expectedSize?: number,
  ) {
    const pin = dvcFile === undefined ? `the pin ${expectedMd5}` : `the pin ${expectedMd5} in ${dvcFile}`;
    const size =
      expectedSize !== undefined && expectedSize !== bytesRead
        ? ` (read ${bytesRead} bytes; the pin records ${expectedSize})`
        : '';
    super(
      `${datasetName}: content md5 ${actualMd5} does not match ${pin}${size}: the object in the DVC remote ` +
        'was changed or corrupted; re-push it with `dvc push` or fix the pin',
    );
  }
}

const MD5_PATTERN = /^[0-9a-f]{32}(\.dir)?$/i;
const PLAIN_MD5_PATTERN = /^[0-9a-f]{32}$/i;

/** The conventional `.dvc` file of a tracked path: `data/eval/x.jsonl` → `data/eval/x.jsonl.dvc`. */
export function dvcFileFor(dataPath: string): string {
  return `${dataPath.replace(/\/+$/, '')}.dvc`;
}

type Yaml = string | null | Yaml[] | { [key: string]: Yaml };

function isMapping(value: Yaml | undefined): value is { [key: string]: Yaml } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: Yaml | undefined): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return JSON.stringify(value);
}

/**
 * Parses the text of a `.dvc` file. `fileLabel` (normally the file's path) starts every error
 * message, followed by the key at fault, e.g. `data/x.dvc: outs[0].md5: …`. Every output is
 * returned; a file with several is valid DVC.
 */
export function parseDvcFile(text: string, fileLabel: string): DvcPin {
  const fail = (key: string, problem: string): never => {
    throw new DvcFileError(fileLabel, key, problem);
  };
  // failsafe: every scalar stays a string, so an all-digit md5 cannot turn into a rounded number.
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    fail('(file)', `is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  }
  const root = doc.toJS() as Yaml | undefined;
  if (!isMapping(root)) {
    return fail(
      '(file)',
      `expected a mapping with an \`outs\` list, got ${describe(root)}; recreate it with \`dvc add\``,
    );
  }
  const wdir = optionalString(root.wdir, 'wdir', fail);
  const outs = root.outs;
  if (outs === undefined)
    fail('outs', 'is missing: a .dvc file lists its tracked data under `outs`; recreate it with `dvc add`');
  if (!Array.isArray(outs) || outs.length === 0) {
    return fail(
      'outs',
      `expected a non-empty list of outputs, got ${describe(outs)}; recreate it with \`dvc add\``,
    );
  }
  const parsed = outs.map((out, i) => parseOut(out, `outs[${i}]`, fail));
  const seen = new Set<string>();
  parsed.forEach((out, i) => {
    if (seen.has(out.path)) fail(`outs[${i}].path`, `"${out.path}" is listed twice; keep one entry per path`);
    seen.add(out.path);
  });
  return wdir === undefined ? { file: fileLabel, outs: parsed } : { file: fileLabel, wdir, outs: parsed };
}

type Fail = (key: string, problem: string) => never;

function optionalString(value: Yaml | undefined, key: string, fail: Fail): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    return fail(key, `expected a non-empty string, got ${describe(value)}`);
  return value;
}

function optionalCount(value: Yaml | undefined, key: string, fail: Fail): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) return fail(key, `expected a whole number >= 0, got ${describe(value)}`);
  return n;
}

function parseOut(out: Yaml, key: string, fail: Fail): DvcOut {
  if (!isMapping(out)) return fail(key, `expected a mapping with md5 and path, got ${describe(out)}`);
  const path =
    optionalString(out.path, `${key}.path`, fail) ??
    fail(`${key}.path`, 'is missing: every output needs a path');
  if (out.md5 === undefined) {
    const other = ['etag', 'checksum'].find((k) => out[k] !== undefined);
    return fail(
      `${key}.md5`,
      other === undefined
        ? 'is missing: the data has not been committed to the DVC cache; run `dvc commit` (or `dvc add`) and `dvc push`'
        : `is missing: this output is hashed by ${other} (external data), but datasets are read from the DVC remote by md5; track a copy with \`dvc add\``,
    );
  }
  if (typeof out.md5 !== 'string' || !MD5_PATTERN.test(out.md5)) {
    return fail(
      `${key}.md5`,
      `expected 32 hexadecimal characters, optionally followed by ".dir", got ${describe(out.md5)}; ` +
        'restore the value `dvc add` wrote',
    );
  }
  const md5 = out.md5.toLowerCase();
  const isDirectory = md5.endsWith('.dir');
  let hashMode: DvcHashMode = 'md5-dos2unix';
  if (out.hash !== undefined) {
    if (out.hash !== 'md5') {
      return fail(
        `${key}.hash`,
        `expected "md5" (DVC 3) or no key (DVC 2), got ${describe(out.hash)}; only md5-addressed data can be read from the remote`,
      );
    }
    hashMode = 'md5';
  }
  const size = optionalCount(out.size, `${key}.size`, fail);
  const nfiles = optionalCount(out.nfiles, `${key}.nfiles`, fail);
  if (nfiles !== undefined && !isDirectory) {
    fail(
      `${key}.nfiles`,
      `is set (${nfiles}) but md5 ${md5} is a file's, not a directory's (".dir"); restore the pin with \`dvc add\``,
    );
  }
  if (out.cache !== undefined && out.cache !== 'true' && out.cache !== 'false') {
    fail(`${key}.cache`, `expected true or false, got ${describe(out.cache)}`);
  }
  const remote = optionalString(out.remote, `${key}.remote`, fail);
  return {
    path,
    md5,
    isDirectory,
    ...(size === undefined ? {} : { size }),
    ...(nfiles === undefined ? {} : { nfiles }),
    hashMode,
    remoteLayout: hashMode === 'md5' ? 'v3' : 'legacy',
    cached: out.cache !== 'false',
    ...(remote === undefined ? {} : { remote }),
  };
}

/**
 * The pin of an eval set from the text of its `.dvc` file, or `DvcPinMissingError` when there
 * is no such file (`text` undefined or null: the caller could not read it).
 */
export function resolveDvcPin(datasetName: string, dvcFile: string, text: string | undefined | null): DvcPin {
  if (text === undefined || text === null) throw new DvcPinMissingError(datasetName, dvcFile);
  return parseDvcFile(text, dvcFile);
}

/** Options of `dvcRemoteKey`. */
export interface DvcRemoteKeyOptions {
  /** `v3`: `files/md5/ab/cdef…`; `legacy`: `ab/cdef…`. Use the output's `remoteLayout`. */
  readonly layout: DvcRemoteLayout;
  /** Key prefix of the remote inside its bucket (`s3://bucket/prefix`); slashes at either end are ignored. */
  readonly prefix?: string;
}

/**
 * The object key of an md5 in a DVC remote: the first two hex characters are a folder, the
 * rest (with any `.dir`) the name, e.g. `dvc/files/md5/ab/cdef…0123.dir`.
 */
export function dvcRemoteKey(md5: string, options: DvcRemoteKeyOptions): string {
  if (!MD5_PATTERN.test(md5)) {
    throw new RangeError(
      `dvcRemoteKey: expected an md5 of 32 hexadecimal characters, optionally followed by ".dir", got ${JSON.stringify(md5)}`,
    );
  }
  if (options.layout !== 'v3' && options.layout !== 'legacy') {
    throw new RangeError(
      `dvcRemoteKey: layout must be "v3" or "legacy", got ${JSON.stringify(options.layout)}`,
    );
  }
  const hex = md5.toLowerCase();
  const objectKey = `${options.layout === 'v3' ? 'files/md5/' : ''}${hex.slice(0, 2)}/${hex.slice(2)}`;
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  return prefix === '' ? objectKey : `${prefix}/${objectKey}`;
}

/** The remote key of a pinned output, in the layout its `.dvc` file implies. */
export function dvcOutRemoteKey(out: DvcOut, prefix?: string): string {
  return dvcRemoteKey(out.md5, { layout: out.remoteLayout, prefix });
}

/**
 * Parses and checks a directory's `.dir` manifest (a JSON list of `{ md5, relpath }`). Paths
 * that would leave the directory (absolute, `..`) are refused, so entries are safe to join.
 */
export function parseDvcDirManifest(json: string, label = '.dir manifest'): readonly DvcDirEntry[] {
  const fail = (key: string, problem: string): never => {
    throw new DvcFileError(label, key, problem);
  };
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    return fail(
      '(file)',
      `is not valid JSON (${(error as Error).message}); the object in the remote is damaged`,
    );
  }
  if (!Array.isArray(data)) return fail('(file)', 'expected a JSON list of { md5, relpath } entries');
  const seen = new Set<string>();
  return data.map((entry: unknown, i): DvcDirEntry => {
    const key = `[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      return fail(key, 'expected an object with md5 and relpath');
    }
    const { md5, relpath } = entry as { md5?: unknown; relpath?: unknown };
    if (typeof md5 !== 'string' || !PLAIN_MD5_PATTERN.test(md5)) {
      return fail(
        `${key}.md5`,
        `expected 32 hexadecimal characters, got ${JSON.stringify(md5) ?? 'nothing'}`,
      );
    }
    if (typeof relpath !== 'string' || relpath === '') {
      return fail(`${key}.relpath`, `expected a non-empty path, got ${JSON.stringify(relpath) ?? 'nothing'}`);
    }
    if (relpath.startsWith('/') || /^[A-Za-z]:/.test(relpath) || relpath.split(/[/\\]/).includes('..')) {
      return fail(
        `${key}.relpath`,
        `${JSON.stringify(relpath)} points outside the directory; the manifest is not trustworthy`,
      );
    }
    if (seen.has(relpath)) return fail(`${key}.relpath`, `${JSON.stringify(relpath)} is listed twice`);
    seen.add(relpath);
    return { md5: md5.toLowerCase(), relpath };
  });
}

/** Options of `verifyMd5`. */
export interface VerifyMd5Options {
  /** How the pin was computed; use the output's `hashMode`. @default 'md5' */
  readonly hashMode?: DvcHashMode;
  /** The `.dvc` file, named in the error message. */
  readonly dvcFile?: string;
  /** The pinned size in bytes, reported in the error message when the size differs too. */
  readonly expectedSize?: number;
}

/**
 * Passes `chunks` through unchanged while hashing them, and throws `DvcHashMismatchError` after
 * the last chunk if the md5 differs from `expectedMd5` (a `.dir` suffix is ignored: the manifest
 * object hashes to the bare md5). The error comes only at the end, so treat whatever was built
 * from the chunks as unverified until iteration finishes without error.
 */
export function verifyMd5(
  chunks: AsyncIterable<Uint8Array>,
  expectedMd5: string,
  datasetName: string,
  options: VerifyMd5Options = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  // Checked here rather than inside the generator, so that a bad pin fails at the call.
  if (!MD5_PATTERN.test(expectedMd5)) {
    throw new RangeError(
      `verifyMd5 (${datasetName}): expected an md5 of 32 hexadecimal characters, got ${JSON.stringify(expectedMd5)}`,
    );
  }
  const expected = expectedMd5.toLowerCase().replace(/\.dir$/, '');
  const hashMode = options.hashMode ?? 'md5';
  if (hashMode !== 'md5' && hashMode !== 'md5-dos2unix') {
    throw new RangeError(
      `verifyMd5: hashMode must be "md5" or "md5-dos2unix", got ${JSON.stringify(hashMode)}`,
    );
  }
  return (async function* () {
    const hasher = hashMode === 'md5' ? new PlainMd5() : new Dos2UnixMd5();
    let bytesRead = 0;
    for await (const chunk of chunks) {
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError(
          `verifyMd5 (${datasetName}): expected byte chunks, got ${typeof chunk}; do not set an encoding on the stream`,
        );
      }
      hasher.update(chunk);
      bytesRead += chunk.byteLength;
      yield chunk;
    }
    const actual = hasher.digest();
    if (actual !== expected) {
      throw new DvcHashMismatchError(
        datasetName,
        expected,
        actual,
        bytesRead,
        options.dvcFile,
        options.expectedSize,
      );
    }
  })();
}

/** `verifyMd5` with the hash, mode and size taken from a pinned output. */
export function verifyDvcOut(
  chunks: AsyncIterable<Uint8Array>,
  out: DvcOut,
  datasetName: string,
  dvcFile?: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  return verifyMd5(chunks, out.md5, datasetName, {
    hashMode: out.hashMode,
    ...(dvcFile === undefined ? {} : { dvcFile }),
    // A directory's size is that of its files, not of the manifest object being read.
    ...(out.size === undefined || out.isDirectory ? {} : { expectedSize: out.size }),
  });
}

interface Md5Hasher {
  update(chunk: Uint8Array): void;
  digest(): string;
}

class PlainMd5 implements Md5Hasher {
  private readonly hash = createHash('md5');
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** DVC 2 reads files in blocks of this size and normalises line endings block by block. */
const DOS2UNIX_BLOCK = 2 ** 20;
/** DVC 2 decides text vs binary from this many leading bytes. */
const TEXT_PROBE = 512;
const CRLF = Buffer.from('\r\n');

/**
 * DVC 2's md5 ("md5-dos2unix"): if the first 512 bytes look like text, every CRLF inside each
 * 1 MiB block becomes LF before hashing. A CRLF split across two blocks stays as it is, exactly
 * as in DVC, which is why the input is re-cut into DVC's blocks whatever the chunk sizes.
 */
class Dos2UnixMd5 implements Md5Hasher {
  private readonly hash: Hash = createHash('md5');
  private readonly block = Buffer.alloc(DOS2UNIX_BLOCK);
  private filled = 0;
  private isText: boolean | undefined;

  update(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = Math.min(DOS2UNIX_BLOCK - this.filled, chunk.byteLength - offset);
      this.block.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === DOS2UNIX_BLOCK) this.flush();
    }
  }

  digest(): string {
    if (this.filled > 0) this.flush();
    return this.hash.digest('hex');
  }

  private flush(): void {
    const data = this.block.subarray(0, this.filled);
    this.isText ??= looksLikeText(data.subarray(0, TEXT_PROBE));
    if (this.isText) {
      let start = 0;
      for (let at = data.indexOf(CRLF, start); at !== -1; at = data.indexOf(CRLF, start)) {
        this.hash.update(data.subarray(start, at));
        start = at + 1; // drop the CR, keep the LF
      }
      this.hash.update(data.subarray(start));
    } else {
      this.hash.update(data);
    }
    this.filled = 0;
  }
}

/** DVC's text heuristic: no NUL byte and at most 30% of bytes outside printable ASCII and \n\r\t\f\b. */
function looksLikeText(probe: Uint8Array): boolean {
  if (probe.byteLength === 0) return true;
  let nonText = 0;
  for (const byte of probe) {
    if (byte === 0) return false;
    const printable =
      (byte >= 32 && byte <= 126) || byte === 10 || byte === 13 || byte === 9 || byte === 12 || byte === 8;
    if (!printable) nonText += 1;
  }
  return nonText / probe.byteLength <= 0.3;
}
