/**
 * The inputs of `mlops validate-data` before they are scanned: a file that exists and is JSON Lines
 * at first sight, or `-` for standard input. A gzip file or a JSON array would otherwise scan into
 * thousands of violations and no word about what the file is.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { UsageError } from './io';

/** The input name that means standard input, as in `scrub-pii`. */
export const STDIN = '-';

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const SNIFF_BYTES = 512;

/** Why the first bytes are not JSON Lines, with the fix; undefined when they may be. */
export function notJsonLines(head: Uint8Array, name: string): string | undefined {
  if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
    const shown = name === STDIN ? 'standard input' : name;
    const gunzip = name === STDIN ? 'gunzip -c <file.gz> | ' : `gunzip -c ${name} | `;
    return `${shown} is gzip-compressed, not JSON Lines: decompress it first (${gunzip}mlops validate-data - ...)`;
  }
  // JSON Lines is text: a NUL byte means a binary file, whose lines would be echoed back as control bytes.
  if (head.includes(0x00)) {
    const shown = name === STDIN ? 'standard input' : name;
    return `${shown} is a binary file (it holds NUL bytes), not JSON Lines: pass the JSONL eval set`;
  }
  // A BOM, then blank space, then `[`: a JSON array, which is one value over many lines, not one per line.
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d))
    i++;
  if (head[i] === 0x5b) {
    const shown = name === STDIN ? 'standard input' : name;
    const jq = name === STDIN ? "jq -c '.[]'" : `jq -c '.[]' ${name}`;
    return `${shown} is a JSON array, not JSON Lines (one object per line): convert it first, e.g. ${jq} > data.jsonl`;
  }
  return undefined;
}

/**
 * Checks a named input file before anything else runs (before the config is read or an eval set is
 * picked): it exists, is a regular file, and does not look like gzip or a JSON array.
 * @throws UsageError naming the file and the fix (exit 2).
 */
export function checkDatasetFile(file: string, what: string): void {
  if (file === STDIN) return;
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`,
    );
  }
  if (!isFile) throw new UsageError(`cannot read ${what} ${file}: not a regular file`);
  const head = Buffer.alloc(SNIFF_BYTES);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, SNIFF_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  const why = notJsonLines(head.subarray(0, n), file);
  if (why) throw new UsageError(`${what} ${why}`);
}

/**
 * Standard input as byte chunks, after checking its first chunk as {@link checkDatasetFile} checks a file.
 * @throws UsageError when standard input is gzip or a JSON array.
 */
export async function stdinChunks(
  stdin: AsyncIterable<Uint8Array | string>,
  what: string,
): Promise<AsyncIterable<Uint8Array>> {
  const iterator = stdin[Symbol.asyncIterator]();
  const toBytes = (c: Uint8Array | string) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c);
  const first = await iterator.next();
  if (!first.done) {
    const why = notJsonLines(toBytes(first.value), STDIN);
    if (why) throw new UsageError(`${what} ${why}`);
  }
  return {
    async *[Symbol.asyncIterator]() {
      if (first.done) return;
      yield toBytes(first.value);
      for (let next = await iterator.next(); !next.done; next = await iterator.next())
        yield toBytes(next.value);
    },
  };
}
