import * as fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  scanDatasetFile,
  scanDatasetParallel,
  scanFileRange,
} from '../../lambdas/core/data/dataset-scan-worker';
import {
  concatDatasetScans,
  countCodePoints,
  DatasetScanner,
  DEFAULT_DATASET_SCHEMA,
  evaluateDataset,
  isIsoTimestamp,
  resolveDatasetSchema,
  scanDataset,
  VIOLATION_KINDS,
  type DatasetSchema,
  type DatasetScan,
  type ScanProgress,
  type ViolationKind,
} from '../../lambdas/core/data/dataset-validation';

const VALID = {
  text: 'where is my refund',
  label: 'refund',
  source: 'web',
  timestamp: '2025-03-01T10:00:00Z',
};

/** One JSONL line: a valid row with some fields replaced (undefined drops the field). */
function row(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...VALID, ...overrides });
}

function scanBytes(
  data: Buffer | string,
  schema: Partial<DatasetSchema> = {},
  chunkSizes: number[] = [],
): Promise<DatasetScan> {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return scanDataset(chunked(bytes, chunkSizes), schema);
}

/** Splits bytes into chunks of the given sizes (cycled), or one chunk. */
function* chunked(bytes: Buffer, sizes: number[]): Generator<Buffer> {
  if (sizes.length === 0) {
    yield bytes;
    return;
  }
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]);
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

function onlyViolation(scan: DatasetScan): {
  kind: ViolationKind;
  line: number;
  field?: string;
  message: string;
} {
  expect(scan.violations.total).toBe(1);
  return scan.violations.examples[0];
}

describe('scanDataset', () => {
  it('counts rows, labels and categorical values of a clean file', async () => {
    const lines = [row(), row({ label: 'billing', source: 'email' }), row({ label: 'billing' })];
    const scan = await scanBytes(`${lines.join('\n')}\n`);
    expect(scan).toEqual({
      lines: 3,
      totalRows: 3,
      validRows: 3,
      bytes: Buffer.byteLength(`${lines.join('\n')}\n`),
      violations: { counts: Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])), total: 0, examples: [] },
      labelField: 'label',
      labelCounts: { refund: 1, billing: 2 },
      fieldCounts: { source: { web: 2, email: 1 } },
      categoryOverflow: {},
    });
  });

  describe('finds each kind of violation, with its line number', () => {
    const cases: [string, string, ViolationKind, string | undefined, RegExp][] = [
      ['blank line', '', 'blank_line', undefined, /blank line/],
      ['whitespace-only line', ' \t ', 'blank_line', undefined, /blank line/],
      ['truncated JSON', row().slice(0, -3), 'malformed_json', undefined, /not valid JSON/],
      ['trailing garbage', `${row()} x`, 'malformed_json', undefined, /not valid JSON/],
      ['an array', '[1, 2]', 'not_an_object', undefined, /expected a JSON object, got an array/],
      ['a string', '"text"', 'not_an_object', undefined, /got a string \("text"\)/],
      ['null', 'null', 'not_an_object', undefined, /got null/],
      [
        'missing source',
        row({ source: undefined }),
        'missing_field',
        'source',
        /missing required field 'source'/,
      ],
      ['null timestamp', row({ timestamp: null }), 'missing_field', 'timestamp', /'timestamp'/],
      ['absent label', row({ label: undefined }), 'missing_label', 'label', /'label' is absent/],
      ['null label', row({ label: null }), 'missing_label', 'label', /'label' is null/],
      ['blank label', row({ label: '  ' }), 'missing_label', 'label', /'label' is " {2}"/],
      [
        'label of Unicode spaces',
        row({ label: '\u3000\n' }),
        'missing_label',
        'label',
        /'label' is "\u3000\\n"/,
      ],
      [
        'numeric text',
        row({ text: 42 }),
        'wrong_type',
        'text',
        /'text' is a number \(42\); expected a string/,
      ],
      ['object label', row({ label: { a: 1 } }), 'wrong_type', 'label', /'label' is an object/],
      ['array source', row({ source: ['web'] }), 'wrong_type', 'source', /'source' is an array/],
      [
        'epoch timestamp',
        row({ timestamp: 1714000000 }),
        'wrong_type',
        'timestamp',
        /expected an ISO-8601 string/,
      ],
      [
        'text too long',
        row({ text: 'x'.repeat(10_001) }),
        'text_too_long',
        'text',
        /10,001 characters .* maximum is 10,000/,
      ],
      [
        'impossible date',
        row({ timestamp: '2025-02-29T10:00:00Z' }),
        'bad_timestamp',
        'timestamp',
        /"2025-02-29T10:00:00Z"/,
      ],
      [
        'prose date',
        row({ timestamp: 'May 1 2025' }),
        'bad_timestamp',
        'timestamp',
        /expected e.g. 2024-05-01T12:30:00Z/,
      ],
    ];
    it.each(cases)('%s', async (_name, line, kind, field, message) => {
      const scan = await scanBytes([row(), row(), line, row()].join('\n'));
      const violation = onlyViolation(scan);
      expect(violation).toMatchObject({ kind, line: 3, ...(field === undefined ? {} : { field }) });
      expect(violation.message).toMatch(message);
      expect(scan.violations.counts[kind]).toBe(1);
      expect(scan.validRows).toBe(3);
      expect(scan.totalRows).toBe(kind === 'blank_line' ? 3 : 4);
      expect(scan.lines).toBe(4);
    });

    it('a label outside allowedLabels, still counted', async () => {
      const scan = await scanBytes([row(), row({ label: 'refnud' })].join('\n'), {
        allowedLabels: ['refund', 'billing'],
      });
      expect(onlyViolation(scan)).toMatchObject({
        kind: 'label_not_allowed',
        line: 2,
        message: expect.stringMatching(/label "refnud" is not one of the allowed labels \(refund, billing\)/),
      });
      expect(scan.labelCounts).toEqual({ refund: 1, refnud: 1 });
    });

    it('invalid UTF-8, without losing the lines around it', async () => {
      const bad = Buffer.concat([
        Buffer.from('{"text":"caf'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('","label":"x"}'),
      ]);
      const scan = await scanBytes(
        Buffer.concat([Buffer.from(`${row()}\n`), bad, Buffer.from(`\n${row({ label: 'billing' })}\n`)]),
      );
      expect(onlyViolation(scan)).toMatchObject({
        kind: 'invalid_utf8',
        line: 2,
        message: expect.stringMatching(/re-encode/),
      });
      expect(scan.labelCounts).toEqual({ refund: 1, billing: 1 });
      expect(scan.totalRows).toBe(3);
    });

    it.each([
      ['in one chunk', []],
      ['across many chunks', [7]],
    ])('a line longer than maxLineBytes, %s, skipped to the next newline', async (_name, chunks) => {
      const long = row({ text: 'y'.repeat(500) });
      const scan = await scanBytes(
        [row(), long, row({ label: 'billing' })].join('\n'),
        { maxLineBytes: 200 },
        chunks,
      );
      expect(onlyViolation(scan)).toMatchObject({
        kind: 'line_too_long',
        line: 2,
        message: expect.stringMatching(/200 bytes/),
      });
      expect(scan.labelCounts).toEqual({ refund: 1, billing: 1 });
      expect(scan.lines).toBe(3);
    });

    it('several violations on one row, each counted', async () => {
      const scan = await scanBytes(row({ source: undefined, timestamp: 'yesterday', text: 7 }));
      expect(scan.violations.counts).toMatchObject({ missing_field: 1, bad_timestamp: 1, wrong_type: 1 });
      expect(scan.violations.total).toBe(3);
      expect(scan.validRows).toBe(0);
      expect(scan.totalRows).toBe(1);
    });
  });

  it('keeps maxExamples examples in line order but counts every violation', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? '{' : row()));
    const scan = await scanBytes(lines.join('\n'), { maxExamples: 4 });
    expect(scan.violations.counts.malformed_json).toBe(10);
    expect(scan.violations.total).toBe(10);
    expect(scan.violations.examples.map((e) => e.line)).toEqual([1, 4, 7, 10]);
  });

  it('reads CRLF line endings', async () => {
    const scan = await scanBytes(`${row()}\r\n${row({ label: 'billing' })}\r\n\r\n`);
    expect(scan.labelCounts).toEqual({ refund: 1, billing: 1 });
    expect(onlyViolation(scan)).toMatchObject({ kind: 'blank_line', line: 3 });
  });

  it('counts a last line without a trailing newline', async () => {
    const scan = await scanBytes(`${row()}\n${row({ label: 'billing' })}`);
    expect(scan.lines).toBe(2);
    expect(scan.labelCounts).toEqual({ refund: 1, billing: 1 });
  });

  it('reports an incomplete last line as malformed, with its number', async () => {
    const scan = await scanBytes(`${row()}\n${row().slice(0, 20)}`);
    expect(onlyViolation(scan)).toMatchObject({ kind: 'malformed_json', line: 2 });
  });

  it('drops a UTF-8 byte order mark at the start of the file only', async () => {
    const bom = '\uFEFF';
    expect((await scanBytes(`${bom}${row()}\n`)).validRows).toBe(1);
    expect(onlyViolation(await scanBytes(`${row()}\n${bom}${row()}\n`))).toMatchObject({
      kind: 'malformed_json',
      line: 2,
    });
  });

  it('sees an empty stream as no rows', async () => {
    const scan = await scanDataset([], {});
    expect(scan).toMatchObject({ lines: 0, totalRows: 0, validRows: 0, bytes: 0, labelCounts: {} });
  });

  describe('text length in Unicode code points', () => {
    it.each([
      ['10,000 emoji (20,000 UTF-16 units) pass', '😀'.repeat(10_000), 0],
      ['10,001 emoji fail', '😀'.repeat(10_001), 1],
      ['10,000 CJK characters (30,000 bytes) pass', '退'.repeat(10_000), 0],
      ['10,000 characters written as \\u escapes pass', null, 0],
    ])('%s', async (_name, text, violations) => {
      const line =
        text === null
          ? JSON.stringify({ ...VALID, text: 'é'.repeat(10_000) }).replace(/é/g, '\\u00e9')
          : row({ text });
      const scan = await scanBytes(line);
      expect(scan.violations.total).toBe(violations);
      if (violations > 0) expect(scan.violations.examples[0].message).toMatch(/10,001 characters/);
    });

    it('countCodePoints counts a surrogate pair once and a lone surrogate once', () => {
      expect(countCodePoints('a😀b')).toBe(3);
      expect(countCodePoints('\ud83d')).toBe(1);
      expect(countCodePoints('\ude00\ud83d')).toBe(2);
    });
  });

  describe('non-ASCII and escaped values', () => {
    it('counts non-ASCII labels and sources by their text', async () => {
      const scan = await scanBytes(
        [row({ label: '退款', source: 'café' }), row({ label: '退款', source: 'web' })].join('\n'),
      );
      expect(scan.labelCounts).toEqual({ 退款: 2 });
      expect(scan.fieldCounts.source).toEqual({ café: 1, web: 1 });
    });

    it('counts an escaped label the same as the written one', async () => {
      const escaped = row({ label: 'PLACEHOLDER' }).replace('PLACEHOLDER', 'caf\\u00e9');
      const scan = await scanBytes(
        [escaped, row({ label: 'café' }), row({ label: 'ref\\u0075nd' })].join('\n'),
      );
      expect(scan.labelCounts).toEqual({ café: 2, 'ref\\u0075nd': 1 });
    });

    it('quotes a non-ASCII value exactly in messages', async () => {
      const scan = await scanBytes(row({ timestamp: '二〇二五年' }));
      expect(onlyViolation(scan).message).toContain('"二〇二五年"');
    });

    it('counts numbers and booleans by their string form', async () => {
      const scan = await scanBytes(
        [row({ label: 1 }), row({ label: 1.0 }), row({ label: true, source: 0 })].join('\n'),
      );
      expect(scan.labelCounts).toEqual({ 1: 2, true: 1 });
      expect(scan.fieldCounts.source).toEqual({ web: 2, 0: 1 });
      expect(scan.violations.total).toBe(0);
    });
  });

  it('finds fields named like Object.prototype members only when present', async () => {
    const schema = { requiredFields: ['constructor', 'label'], categoricalFields: ['toString'] };
    const scan = await scanBytes(
      [JSON.stringify({ label: 'a' }), JSON.stringify({ label: 'b', constructor: 'x', toString: 'y' })].join(
        '\n',
      ),
      schema,
    );
    expect(onlyViolation(scan)).toMatchObject({ kind: 'missing_field', field: 'constructor', line: 1 });
    expect(scan.fieldCounts.toString).toEqual({ y: 1 });
  });

  it('counts a label named __proto__ like any other', async () => {
    const scan = await scanBytes([row({ label: '__proto__' }), row({ label: '__proto__' })].join('\n'));
    expect(Object.entries(scan.labelCounts)).toEqual([['__proto__', 2]]);
  });

  it('stops counting new values past maxCategories and says how many rows were left out', async () => {
    const lines = ['a', 'b', 'c', 'a', 'd'].map((label) => row({ label }));
    const scan = await scanBytes(lines.join('\n'), { maxCategories: 2 });
    expect(scan.labelCounts).toEqual({ a: 2, b: 1 });
    expect(scan.categoryOverflow).toEqual({ label: 2 });
  });

  it('reports progress after each chunk', async () => {
    const data = Buffer.from(`${row()}\n{\n${row()}\n`);
    const seen: ScanProgress[] = [];
    await scanDataset(chunked(data, [10]), {}, (p) => seen.push(p));
    expect(seen).toHaveLength(Math.ceil(data.length / 10));
    expect(seen[seen.length - 1]).toEqual({ bytes: data.length, lines: 3, violations: 1 });
  });

  it('refuses text chunks with a hint', async () => {
    const text = ['{}'] as unknown as Uint8Array[];
    await expect(scanDataset(text)).rejects.toThrow(
      /must be bytes .* got string. Open the stream without an encoding/,
    );
  });

  describe('properties', () => {
    const line = fc.oneof(
      fc
        .record(
          {
            text: fc.oneof(fc.string({ unit: 'grapheme' }), fc.integer()),
            label: fc.oneof(
              fc.constantFrom('refund', 'billing', '退款', 'café', '', 'x\ny'),
              fc.constant(null),
              fc.integer({ min: 0, max: 3 }),
            ),
            source: fc.option(fc.constantFrom('web', 'app', 'ウェブ', 'e\u0301')),
            timestamp: fc.constantFrom('2025-01-31', '2025-01-32', '2024-02-29T23:59:59.5+01:00', 'now'),
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('', '\r', '{', '[]', '"\\ud800"', '{"label":"\\u00e9"}', '\uFEFF{}'),
    );
    const file = fc.array(line, { maxLength: 25 }).map((lines) => Buffer.from(lines.join('\n')));

    it('gives the same scan whatever the chunking, even mid-character', async () => {
      await fc.assert(
        fc.asyncProperty(
          file,
          fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }),
          async (bytes, sizes) => {
            const whole = await scanBytes(bytes, { maxLineBytes: 120 });
            expect(await scanBytes(bytes, { maxLineBytes: 120 }, sizes)).toEqual(whole);
          },
        ),
      );
    });

    it('gives the same scan as decoding every line exactly (the binary fast path changes nothing)', async () => {
      // A non-ASCII field name turns the binary fast path off; no row has that field.
      const exactSchema = { categoricalFields: ['source', 'ñ'] };
      await fc.assert(
        fc.asyncProperty(file, async (bytes) => {
          const fast = await scanBytes(bytes);
          const exact = await scanBytes(bytes, exactSchema);
          expect(exact.fieldCounts.ñ).toEqual({});
          const { ñ: _unused, ...otherFields } = exact.fieldCounts;
          expect(fast).toEqual({ ...exact, fieldCounts: otherFields });
        }),
      );
    });

    it('never throws on arbitrary bytes and accounts for every line', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (raw) => {
          const bytes = Buffer.from(raw);
          const scan = await scanBytes(bytes, { maxLineBytes: 50 }, [13]);
          const newlines = bytes.filter((b) => b === 0x0a).length;
          const lastOpen = bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? 1 : 0;
          expect(scan.lines).toBe(newlines + lastOpen);
          expect(scan.totalRows + scan.violations.counts.blank_line).toBe(scan.lines);
          expect(scan.bytes).toBe(bytes.length);
        }),
      );
    });
  });
});

describe('a single huge line', () => {
  it('is skipped without being buffered, and the next line still counts', async () => {
    const block = Buffer.alloc(1024 * 1024, 0x78);
    async function* stream(): AsyncGenerator<Buffer> {
      yield Buffer.from(`${row()}\n{"text":"`);
      for (let i = 0; i < 64; i++) yield block; // 64 MiB without a newline
      yield Buffer.from(`"}\n${row({ label: 'billing' })}\n`);
    }
    const heapBefore = process.memoryUsage().heapUsed;
    const scan = await scanDataset(stream());
    expect(onlyViolation(scan)).toMatchObject({ kind: 'line_too_long', line: 2 });
    expect(scan.labelCounts).toEqual({ refund: 1, billing: 1 });
    // Holding the line would take 64 MiB; the cap is 1 MiB.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('isIsoTimestamp', () => {
  it.each([
    '2025-05-01',
    '2025-05-01T12:30Z',
    '2025-05-01T12:30:00',
    '2025-05-01T12:30:00Z',
    '2025-05-01T12:30:00.123456789Z',
    '2025-05-01T12:30:00+05:30',
    '2025-05-01T23:59:59-12:00',
    '2024-02-29T00:00:00Z',
    '2000-02-29',
  ])('accepts %s', (value) => expect(isIsoTimestamp(value)).toBe(true));

  it.each([
    '2025-02-29',
    '1900-02-29',
    '2025-04-31',
    '2025-13-01',
    '2025-00-10',
    '2025-5-1',
    '2025-05-01T24:00:00Z',
    '2025-05-01T12:60Z',
    '2025-05-01T12:30:60Z',
    '2025-05-01 12:30:00',
    '2025-05-01T12:30:00.Z',
    '2025-05-01T12:30:00.1234567890Z',
    '2025-05-01T12:30:00+0530',
    '2025-05-01T12:30:00+24:00',
    '2025-05-01T12Z',
    '20250501',
    'May 1, 2025',
    '1714000000',
    '2025-05-01T12:30:00Zjunk',
    '',
  ])('rejects %p', (value) => expect(isIsoTimestamp(value)).toBe(false));
});

describe('resolveDatasetSchema', () => {
  it('fills in the documented defaults', () => {
    expect(resolveDatasetSchema({ maxTextLength: undefined })).toEqual(DEFAULT_DATASET_SCHEMA);
    expect(DEFAULT_DATASET_SCHEMA).toMatchObject({
      requiredFields: ['text', 'label', 'source', 'timestamp'],
      maxTextLength: 10_000,
      categoricalFields: ['source'],
      maxExamples: 20,
    });
  });

  it.each([
    [{ maxTextLen: 5 }, /Unknown dataset schema option 'maxTextLen'; expected one of: .*maxTextLength/],
    [{ maxTextLength: 0 }, /maxTextLength is 0; expected a whole number >= 1 \(default 10000\)/],
    [{ maxExamples: 1.5 }, /maxExamples is 1.5/],
    [{ labelField: '' }, /labelField is ""; expected a field name/],
    [{ requiredFields: 'text' }, /requiredFields is "text"; expected a list of non-empty strings/],
    [{ categoricalFields: ['source', 'source'] }, /categoricalFields lists 'source' twice/],
  ])('rejects %p', (schema, message) => {
    expect(() => resolveDatasetSchema(schema as Partial<DatasetSchema>)).toThrow(message);
  });
});

describe('evaluateDataset', () => {
  const reference: DatasetScan = {
    lines: 100,
    totalRows: 100,
    validRows: 100,
    bytes: 1000,
    violations: {
      counts: Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as DatasetScan['violations']['counts'],
      total: 0,
      examples: [],
    },
    labelField: 'label',
    labelCounts: { refund: 10, billing: 90 },
    fieldCounts: { source: { web: 50, app: 50 } },
    categoryOverflow: {},
  };
  const same = (overrides: Partial<DatasetScan> = {}): DatasetScan => ({ ...reference, ...overrides });

  it('passes a clean dataset that matches its reference', () => {
    const result = evaluateDataset('golden_set', same(), reference, { maxDrift: 0.1 });
    expect(result).toMatchObject({
      evalSet: 'golden_set',
      valid: true,
      errors: [],
      totalRows: 100,
      jsDistance: 0,
      threshold: 0.1,
      labelDistribution: { billing: 0.9, refund: 0.1 },
      referenceDistribution: { billing: 0.9, refund: 0.1 },
    });
    expect(result.drift.map((d) => d.field)).toEqual(['label', 'source']);
    expect(Object.keys(result.labelDistribution)).toEqual(['billing', 'refund']);
  });

  it('fails on label drift, naming the categories that moved', () => {
    const result = evaluateDataset(
      'golden_set',
      same({ labelCounts: { refund: 40, billing: 60 } }),
      reference,
      { maxDrift: 0.1 },
    );
    expect(result.valid).toBe(false);
    expect(result.jsDistance).toBeGreaterThan(0.1);
    expect(result.errors).toEqual([
      expect.stringMatching(
        /^golden_set: label drift 0\.\d{3} > maxDrift 0.1 \(label 'billing' 90% → 60%, label 'refund' 10% → 40%\); significant \(chi-square test p < 0\.0001\)$/,
      ),
    ]);
  });

  it('fails on drift of a categorical field even when labels hold', () => {
    const result = evaluateDataset(
      'prod_like',
      same({ fieldCounts: { source: { web: 95, app: 5 } } }),
      reference,
      { maxDrift: 0.1 },
    );
    expect(result.valid).toBe(false);
    expect(result.jsDistance).toBe(0);
    expect(result.errors[0]).toMatch(
      /^prod_like: source drift 0\.\d{3} > maxDrift 0.1 \(source 'app' 50% → 5%, source 'web' 50% → 95%\); significant \(chi-square test p < 0\.0001\)$/,
    );
  });

  it('fails on violations beyond maxViolations, with the first example', () => {
    const scan = same({
      violations: {
        counts: { ...reference.violations.counts, malformed_json: 2, missing_label: 1 },
        total: 3,
        examples: [{ line: 17, kind: 'malformed_json', message: 'not valid JSON (Unexpected end)' }],
      },
    });
    expect(evaluateDataset('s', scan, reference, { maxDrift: 0.1, maxViolations: 3 }).valid).toBe(true);
    const result = evaluateDataset('s', scan, reference, { maxDrift: 0.1 });
    expect(result.errors).toEqual([
      's: 3 schema violations in 100 rows (malformed_json 2, missing_label 1), at most 0 allowed; first at line 17: not valid JSON (Unexpected end)',
    ]);
  });

  it('says "1 schema violation", not "1 schema violations"', () => {
    const scan = same({
      violations: {
        counts: { ...reference.violations.counts, missing_label: 1 },
        total: 1,
        examples: [{ line: 4, kind: 'missing_label', message: "no label: 'label' is absent" }],
      },
    });
    expect(evaluateDataset('s', scan, reference, { maxDrift: 0.1 }).errors[0]).toMatch(
      /^s: 1 schema violation in 100 rows \(missing_label 1\)/,
    );
  });

  it('fails an empty dataset with a clear message, and stays strict JSON', async () => {
    const empty = await scanBytes('');
    const result = evaluateDataset('golden_set', empty, reference, { maxDrift: 0.1 });
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([
      expect.stringMatching(/^golden_set: the dataset has no rows \(0 lines, 0 bytes\)/),
    ]);
    expect(result.jsDistance).toBeNull();
    expect(result.labelDistribution).toEqual({});
    const json = JSON.stringify(result);
    expect(json).not.toMatch(/NaN|Infinity|null,"threshold":null/);
    expect(JSON.parse(json)).toEqual(result);
  });

  it('fails a dataset where no row has a label', async () => {
    const scan = await scanBytes(row({ label: undefined }));
    const result = evaluateDataset('s', scan, reference, { maxDrift: 0.1 });
    expect(result.errors).toContain("s: none of the 1 rows has a usable 'label' value.");
    expect(result.jsDistance).toBeNull();
  });

  it('fails when the reference lacks a field to compare', () => {
    const result = evaluateDataset(
      's',
      same(),
      { labelCounts: reference.labelCounts, fieldCounts: {} },
      { maxDrift: 0.1 },
    );
    expect(result.errors).toEqual([
      "s: the reference has no 'source' values to compare with; rebuild the reference profile with 'source' counted.",
    ]);
  });

  it('fails when a field reached maxCategories', () => {
    const result = evaluateDataset('s', same({ categoryOverflow: { source: 12 } }), reference, {
      maxDrift: 0.1,
    });
    expect(result.errors[0]).toMatch(/12 rows have a 'source' value beyond the first 2 distinct values/);
  });

  it('compares only the categorical fields asked for', () => {
    const result = evaluateDataset(
      's',
      same({ fieldCounts: { source: { web: 1 } } }),
      reference,
      { maxDrift: 0.1 },
      [],
    );
    expect(result.valid).toBe(true);
    expect(result.drift.map((d) => d.field)).toEqual(['label']);
  });

  it.each([
    [{ maxDrift: 2 }, /maxDrift for eval set 's' is 2/],
    [{ maxDrift: 0.1, maxViolations: -1 }, /maxViolations for eval set 's' is -1/],
  ])('rejects thresholds %p', (thresholds, message) => {
    expect(() => evaluateDataset('s', same(), reference, thresholds)).toThrow(message);
  });

  it('rejects a field the scan did not count', () => {
    expect(() => evaluateDataset('s', same(), reference, { maxDrift: 0.1 }, ['region'])).toThrow(
      /Field 'region' was not counted .* add it to the schema's categoricalFields \(counted: source\)/,
    );
  });
});

describe('file drivers', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dataset-scan-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A file with every awkward thing: blank lines, CRLF, a BOM, long and malformed lines, no final newline. */
  function awkwardFile(name: string, rows: number): { path: string; bytes: Buffer } {
    const parts: Buffer[] = [Buffer.from('\uFEFF')];
    for (let i = 0; i < rows; i++) {
      const kind = i % 17;
      if (kind === 3) parts.push(Buffer.from(''));
      else if (kind === 5) parts.push(Buffer.from('{"text":'));
      else if (kind === 7) parts.push(Buffer.from(row({ text: 'z'.repeat(3000) })));
      else if (kind === 11) parts.push(Buffer.from([0xff, 0xfe]));
      else
        parts.push(
          Buffer.from(row({ label: ['refund', 'billing', '退款'][i % 3], source: i % 2 ? 'web' : 'app' })),
        );
      if (i < rows - 1) parts.push(Buffer.from(kind === 13 ? '\r\n' : '\n'));
    }
    const bytes = Buffer.concat(parts);
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return { path, bytes };
  }
  const schema = { maxLineBytes: 2048, maxExamples: 50 };

  it('scanDatasetFile equals scanDataset on the same bytes', async () => {
    const { path, bytes } = awkwardFile('file.jsonl', 300);
    expect(await scanDatasetFile(path, schema, { chunkBytes: 1000 })).toEqual(await scanBytes(bytes, schema));
  });

  it('scans of consecutive byte ranges, cut anywhere, join into the one-pass scan', async () => {
    const { path, bytes } = awkwardFile('ranges.jsonl', 120);
    const whole = await scanBytes(bytes, schema);
    const resolved = resolveDatasetSchema(schema);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 6 }),
        fc.integer({ min: 16, max: 4096 }),
        async (cuts, chunkBytes) => {
          const bounds = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const parts = await Promise.all(
            bounds.slice(1).map((end, i) => scanFileRange(path, resolved, bounds[i], end, chunkBytes)),
          );
          expect(concatDatasetScans(parts, resolved.maxExamples)).toEqual(whole);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('scanDatasetParallel with worker threads equals the one-pass scan', async () => {
    const { path, bytes } = awkwardFile('parallel.jsonl', 400);
    const whole = await scanBytes(bytes, schema);
    const progress: ScanProgress[] = [];
    const parallel = await scanDatasetParallel(
      path,
      schema,
      { workers: 3, minRangeBytes: 1, chunkBytes: 4096 },
      (p) => progress.push(p),
    );
    expect(parallel).toEqual(whole);
    expect(progress.length).toBeGreaterThan(0);
  }, 30_000);

  it('names the file it cannot read', async () => {
    await expect(scanDatasetFile(join(dir, 'missing.jsonl'))).rejects.toThrow(
      /Cannot read dataset file '.*missing.jsonl'/,
    );
  });

  it('rejects a bad worker count', async () => {
    const { path } = awkwardFile('small.jsonl', 3);
    await expect(scanDatasetParallel(path, {}, { workers: 0 })).rejects.toThrow(/workers is 0/);
  });
});

describe('DatasetScanner', () => {
  it('can be fed synchronously, chunk by chunk', () => {
    const scanner = new DatasetScanner();
    scanner.push(Buffer.from(`${row()}\n${row().slice(0, 10)}`));
    scanner.push(Buffer.from(row().slice(10)));
    expect(scanner.progress()).toEqual({ bytes: row().length * 2 + 1, lines: 1, violations: 0 });
    expect(scanner.end()).toMatchObject({ lines: 2, validRows: 2 });
  });
});
