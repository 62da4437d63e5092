/**
 * The text of a config file, and its YAML syntax errors, in words a product engineer acts on:
 * a file that is not UTF-8 or not text at all is named as such (with the line), never decoded
 * into replacement characters or echoed back as escaped bytes; the YAML library's parser
 * messages are translated, with the fix.
 */
import { isUtf8 } from 'node:buffer';
import type { Document, YAMLError } from 'yaml';
import { isPair, isScalar, visit } from 'yaml';

/** Why the bytes of a file are not YAML text, with the 1-based line; undefined when they are UTF-8 text. */
export function textEncodingProblem(bytes: Buffer): { line: number; message: string } | undefined {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { line: 1, message: 'file is UTF-16, not UTF-8 (save it as UTF-8)' };
  }
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    const newline = bytes.indexOf(0x0a, start);
    const end = newline < 0 ? bytes.length : newline;
    const part = bytes.subarray(start, end);
    const nul = part.indexOf(0x00);
    if (nul >= 0) {
      return {
        line,
        message: 'not a text file (it holds binary data: a NUL byte); a config file is YAML text',
      };
    }
    // A UTF-8 sequence never contains the newline byte, so checking line by line is exact.
    if (!isUtf8(part)) {
      const column = firstInvalidColumn(part);
      return {
        line,
        message: `file is not UTF-8 (byte 0x${part[column - 1].toString(16).toUpperCase().padStart(2, '0')} at column ${column} is not valid UTF-8; the file was probably saved as Latin-1 or Windows-1252): save it as UTF-8`,
      };
    }
    if (newline < 0) break;
    start = newline + 1;
  }
  return undefined;
}

/** 1-based byte column of the first byte that starts no valid UTF-8 sequence. */
function firstInvalidColumn(line: Buffer): number {
  let i = 0;
  while (i < line.length) {
    const b = line[i];
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    // isUtf8 on the one sequence also refuses overlong forms and surrogates.
    if (length === 0 || !isUtf8(line.subarray(i, i + length))) return i + 1;
    i += length;
  }
  return line.length;
}

/** The key a `DUPLICATE_KEY` error points at, and the line of its first occurrence in the same mapping. */
function duplicateKey(
  doc: Document,
  offset: number,
  lineOf: (offset: number) => number,
): { key: string; firstLine?: number } | undefined {
  let found: { key: string; firstLine?: number } | undefined;
  visit(doc, {
    Map(_key, map) {
      const index = map.items.findIndex((p) => isScalar(p.key) && p.key.range?.[0] === offset);
      if (index < 0) return undefined;
      const key = String((map.items[index].key as { value: unknown }).value);
      const first = map.items.find(
        (p, i) => i < index && isPair(p) && isScalar(p.key) && String(p.key.value) === key,
      );
      const start = first && isScalar(first.key) ? first.key.range?.[0] : undefined;
      found = { key, firstLine: start === undefined ? undefined : lineOf(start) };
      return visit.BREAK;
    },
  });
  return found;
}

/** One YAML syntax error in words, with the fix (after `invalid YAML: `); other codes keep the library's first sentence. */
export function describeYamlError(
  error: YAMLError,
  doc: Document,
  lineOf: (offset: number) => number,
): string {
  const raw = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  switch (error.code) {
    case 'DUPLICATE_KEY': {
      const dup = duplicateKey(doc, error.pos[0], lineOf);
      if (!dup) return 'duplicate key: a key may appear once in a mapping; keep one';
      const first = dup.firstLine === undefined ? '' : ` (first set on line ${dup.firstLine})`;
      return `duplicate key "${dup.key}"${first}: a key may appear once in a mapping; keep one`;
    }
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'a second "key:" on the same line ("a: b: c"); put the nested key on its own line, indented, or quote the value';
    case 'TAB_AS_INDENT':
      return 'a tab indents this line; YAML indents with spaces only';
    case 'MULTIPLE_DOCS':
      return 'a second YAML document starts here ("---"); a config file holds one document';
    case 'BAD_SCALAR_START':
      return `a value starts with a character YAML reserves (${raw.slice(-1)}); quote the value`;
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a key runs over more than one line; end the key with ":" on its line, or quote a multi-line value';
    case 'MISSING_CHAR':
      if (raw.startsWith('Missing closing'))
        return `a quoted value is not closed (${raw.replace(/^Missing closing /, 'missing closing ')})`;
      if (raw.startsWith('Implicit map keys need to be followed by map values'))
        return 'a line that is not "key: value" (is the colon after the key missing?)';
      break;
    case 'BAD_INDENT':
      if (raw.startsWith('All mapping items must start at the same column'))
        return 'the keys of one mapping must start at the same column; check the indentation of this line and the one above';
      if (/^Flow (sequence|map) in block collection/.test(raw)) {
        const [open, close] = raw.startsWith('Flow sequence') ? ['[', ']'] : ['{', '}'];
        return `a "${open}" above is not closed with "${close}" (or the lines after it are not indented enough)`;
      }
      break;
    default:
      break;
  }
  return raw;
}
