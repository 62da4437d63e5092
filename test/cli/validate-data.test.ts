import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { SHIPPED_CONFIG } from '../helpers/config-fixture';

const DATA = path.resolve(__dirname, '../../examples/document-classifier/data');
const REFERENCE = path.join(DATA, 'reference.jsonl');
const model = ['--model', 'document-classifier', '--config-dir', SHIPPED_CONFIG];

describe('mlops validate-data', () => {
  test('a clean eval set close to its reference: exit 0 with a short summary', async () => {
    const r = await runCli(
      'validate-data',
      path.join(DATA, 'golden_set.jsonl'),
      '--reference',
      REFERENCE,
      ...model,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^VALID: golden_set: 500 rows, 0 violations, label drift 0\.0\d\d \(max 0\.1\) against 600 reference rows/,
    );
    expect(r.stderr).toBe('');
  });

  test('label drift above the threshold: exit 1 naming the labels that moved', async () => {
    const r = await runCli(
      'validate-data',
      path.join(DATA, 'golden_set_drifted.jsonl'),
      '-r',
      REFERENCE,
      ...model,
      '-e',
      'golden_set',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("golden_set: label drift 0.161 > maxDrift 0.1 (label 'refund' 8% → 20%");
  });

  test("the eval set's own threshold applies: production_sample allows 0.15 in the shipped config", async () => {
    const r = await runCli(
      'validate-data',
      path.join(DATA, 'golden_set_drifted.jsonl'),
      '-r',
      REFERENCE,
      ...model,
      '-e',
      'production_sample',
      '--json',
    );
    const result = JSON.parse(r.stdout);
    expect(result.threshold).toBe(0.15);
    expect(result.valid).toBe(false); // 0.161 > 0.15
    const loose = await runCli(
      'validate-data',
      path.join(DATA, 'golden_set_drifted.jsonl'),
      '-r',
      REFERENCE,
      '--max-drift',
      '0.2',
      '--json',
    );
    expect(JSON.parse(loose.stdout)).toMatchObject({ valid: true, threshold: 0.2 });
    expect(loose.code).toBe(0);
  });

  test('every malformed line is a violation with its line number and kind, not a crash', async () => {
    const r = await runCli(
      'validate-data',
      path.join(DATA, 'golden_set_malformed.jsonl'),
      '-r',
      REFERENCE,
      '--json',
    );
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout);
    expect(result.violations.examples.map((e: { line: number; kind: string }) => [e.line, e.kind])).toEqual([
      [12, 'missing_label'],
      [43, 'malformed_json'],
      [45, 'blank_line'],
      [95, 'not_an_object'],
      [126, 'bad_timestamp'],
    ]);
  });

  test('--json is one strict JSON document with the documented keys', async () => {
    const r = await runCli('validate-data', path.join(DATA, 'golden_set.jsonl'), '-r', REFERENCE, '--json');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toMatch(/NaN|Infinity/);
    expect(Object.keys(JSON.parse(r.stdout))).toEqual(
      expect.arrayContaining([
        'totalRows',
        'violations',
        'labelDistribution',
        'referenceDistribution',
        'jsDistance',
        'threshold',
        'valid',
      ]),
    );
  });

  test('an empty dataset fails with a clear message and strict JSON', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlops-data-'));
    const empty = path.join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    try {
      const r = await runCli('validate-data', empty, '-r', REFERENCE, '--json');
      expect(r.code).toBe(1);
      const result = JSON.parse(r.stdout);
      expect(result.valid).toBe(false);
      expect(result.errors.join(' ')).toMatch(/empty|no rows/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [['validate-data', 'missing.jsonl', '-r', REFERENCE], /cannot read dataset missing\.jsonl: no such file/],
    [
      ['validate-data', path.join(DATA, 'golden_set.jsonl'), '-r', 'missing.jsonl'],
      /cannot read reference missing\.jsonl: no such file/,
    ],
    [['validate-data', path.join(DATA, 'golden_set.jsonl')], /^mlops: missing --reference <reference.jsonl>/],
    [
      ['validate-data', path.join(DATA, 'golden_set.jsonl'), '-r', REFERENCE, '--max-drift', '2'],
      /--max-drift must be a number from 0 to 1/,
    ],
    [
      ['validate-data', path.join(DATA, 'golden_set_drifted.jsonl'), '-r', REFERENCE, ...model],
      /cannot tell which eval set golden_set_drifted\.jsonl is; pass --eval-set \(one of: golden_set, production_sample\)/,
    ],
    [
      ['validate-data', path.join(DATA, 'golden_set.jsonl'), '-r', REFERENCE, ...model, '-e', 'nope'],
      /has no eval set "nope"/,
    ],
  ])('bad usage or unreadable input %j exits 2', async (argv, message) => {
    const r = await runCli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
