// What a new user sees from `mlops validate-data` at the rough edges of issue 15.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { run } from '../../lib/cli/program';
import { runCli } from '../helpers/cli';
import { SHIPPED_CONFIG } from '../helpers/config-fixture';

const DATA = path.resolve(__dirname, '../../examples/document-classifier/data');
const GOLDEN = path.join(DATA, 'golden_set.jsonl');
const REFERENCE = path.join(DATA, 'reference.jsonl');

/** The CLI with `text` on standard input. */
async function runWithStdin(text: string | Buffer, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([Buffer.from(text)]),
  });
  return { code, stdout, stderr };
}

describe('mlops validate-data at the rough edges', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mlops-data-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a gzip file gets the hint to decompress it, not a violation per line', async () => {
    const gz = path.join(dir, 'golden_set.jsonl.gz');
    writeFileSync(gz, gzipSync(readFileSync(GOLDEN)));
    expect(await runCli('validate-data', gz, '--reference', REFERENCE)).toEqual({
      code: 2,
      stdout: '',
      stderr: `mlops: dataset ${gz} is gzip-compressed, not JSON Lines: decompress it first (gunzip -c ${gz} | mlops validate-data - ...)\n`,
    });
  });

  test('a pretty-printed JSON array is named as JSON, not JSON Lines', async () => {
    const rows = readFileSync(GOLDEN, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    const json = path.join(dir, 'golden_set.json');
    writeFileSync(json, JSON.stringify(rows, null, 2));
    expect(await runCli('validate-data', json, '--reference', REFERENCE)).toEqual({
      code: 2,
      stdout: '',
      stderr: `mlops: dataset ${json} is a JSON array, not JSON Lines (one object per line): convert it first, e.g. jq -c '.[]' ${json} > data.jsonl\n`,
    });
  });

  test('a binary file is called binary; its bytes are not echoed to the terminal', async () => {
    const bin = path.join(dir, 'model.jsonl');
    writeFileSync(bin, Buffer.from([0x00, 0x01, 0x02, 0x61, 0x62, 0x63, 0x00, 0x0a]));
    expect(await runCli('validate-data', bin, '--reference', REFERENCE)).toEqual({
      code: 2,
      stdout: '',
      stderr: `mlops: dataset ${bin} is a binary file (it holds NUL bytes), not JSON Lines: pass the JSONL eval set\n`,
    });
  });

  test('`-` reads the dataset from standard input', async () => {
    const fromFile = await runCli('validate-data', GOLDEN, '--reference', REFERENCE, '--json');
    const fromStdin = await runWithStdin(
      readFileSync(GOLDEN),
      'validate-data',
      '-',
      '--reference',
      REFERENCE,
      '--json',
    );
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout).evalSet).toBe('stdin');
    // The same result as from the file, but for the name.
    expect(fromStdin.stdout.replaceAll('"evalSet":"stdin"', '"evalSet":"golden_set"')).toBe(fromFile.stdout);
  });

  test('gzip on standard input gets the same hint', async () => {
    const r = await runWithStdin(gzipSync(readFileSync(GOLDEN)), 'validate-data', '-', '-r', REFERENCE);
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'mlops: dataset standard input is gzip-compressed, not JSON Lines: decompress it first (gunzip -c <file.gz> | mlops validate-data - ...)\n',
    });
  });

  test('a missing file is named before the eval set is asked for', async () => {
    const missing = path.join(dir, 'sample.jsonl');
    expect(
      await runCli(
        'validate-data',
        missing,
        '-r',
        REFERENCE,
        '--model',
        'document-classifier',
        '-c',
        SHIPPED_CONFIG,
      ),
    ).toEqual({ code: 2, stdout: '', stderr: `mlops: cannot read dataset ${missing}: no such file\n` });
  });

  test('`--ref` is an unknown option, with --reference suggested', async () => {
    expect(await runCli('validate-data', GOLDEN, '--ref', REFERENCE)).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "error: unknown option '--ref'\n(Did you mean --reference?)\n(run `mlops validate-data --help` for usage)\n",
    });
  });

  test('counts read as English: "1 row", "3,002 rows, 3,002 violations"', async () => {
    const one = path.join(dir, 'one.jsonl');
    writeFileSync(one, `${readFileSync(GOLDEN, 'utf8').split('\n')[0]}\n`);
    const single = await runCli('validate-data', one, '-r', one);
    expect(single.stdout.split('\n')[0]).toBe(
      'VALID: one: 1 row, 0 violations, label drift 0.000 (max 0.1) against 1 reference row',
    );
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, 'not json\n'.repeat(3002));
    const many = await runCli('validate-data', bad, '-r', REFERENCE);
    expect(many.code).toBe(1);
    expect(many.stdout.split('\n')[0]).toMatch(/^INVALID: bad: 3,002 rows, 3,002 violations, label drift /);
  });
});
