import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { scrubPiiCommand } from '../../lib/cli/commands/scrub-pii';
import { runCli } from '../helpers/cli';
import { ConfigFixture, EXAMPLE_MODEL } from '../helpers/config-fixture';

const FIXTURES = path.resolve(__dirname, '../fixtures/pii');
const MESSAGES = path.join(FIXTURES, 'support-messages.jsonl');
const EXPECTED = readFileSync(path.join(FIXTURES, 'support-messages.expected.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { text: string });

/** Personal data of the fixture that must not appear in anything the command prints or writes. */
const PII_VALUES = [
  'anna.schmidt@example.com',
  '4111 1111 1111 1111',
  'DE89 3704',
  '203.0.113.42',
  'EMP-204817',
];
const SUMMARY =
  'SCRUBBED: 42 row(s) from %IN% to %OUT%, field(s) text: 45 value(s) replaced (email 6, phone 14, card 7, account 8, ip 9, employee_id 1)\n';

function lines(text: string): unknown[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('mlops scrub-pii', () => {
  let dir: string;
  let config: ConfigFixture;
  let model: string[];

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mlops-scrub-'));
    config = new ConfigFixture().edit(
      EXAMPLE_MODEL,
      'monitoring:\n',
      "monitoring:\n  productionSample:\n    piiPatterns:\n      - name: employee_id\n        pattern: 'EMP-\\d{6}'\n",
    );
    model = ['--model', 'document-classifier', '--config-dir', config.dir];
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    config.dispose();
  });

  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  test("--out with --model: the rows scrubbed with the model's patterns, other fields kept, a summary on stderr", async () => {
    const out = path.join(dir, 'scrubbed.jsonl');
    const r = await runCli('scrub-pii', MESSAGES, '--out', out, ...model);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(SUMMARY.replace('%IN%', MESSAGES).replace('%OUT%', out));
    const rows = lines(readFileSync(out, 'utf8')) as { text: string; label: string }[];
    const inputs = lines(readFileSync(MESSAGES, 'utf8')) as { label: string }[];
    expect(rows.map((row) => row.text)).toEqual(EXPECTED.map((e) => e.text));
    expect(rows.map((row) => row.label)).toEqual(inputs.map((row) => row.label));
    // Nothing staged is left beside the output.
    expect(readdirSync(dir)).toEqual(['scrubbed.jsonl']);
  });

  test('without --model the configured pattern is not applied', async () => {
    const out = path.join(dir, 'scrubbed.jsonl');
    const r = await runCli('scrub-pii', MESSAGES, '-o', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('44 value(s) replaced (email 6, phone 14, card 7, account 8, ip 9)');
    expect(readFileSync(out, 'utf8')).toContain('EMP-204817');
  });

  test('--json: one strict JSON report on stdout with counts by kind and never a value', async () => {
    const out = path.join(dir, 'scrubbed.jsonl');
    const r = await runCli('scrub-pii', MESSAGES, '--out', out, '--json', ...model);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      input: MESSAGES,
      output: out,
      written: true,
      fields: ['text'],
      patterns: ['employee_id'],
      rows: 42,
      replaced: 45,
      counts: { email: 6, phone: 14, card: 7, account: 8, ip: 9, employee_id: 1 },
      rowsWithField: { text: 42 },
      blankLines: 0,
      malformed: { count: 0, lines: [] },
      problems: [],
    });
    for (const value of PII_VALUES) expect(r.stdout).not.toContain(value);
  });

  test('without --out the rows go to stdout and the report to stderr', async () => {
    const input = file(
      'in.jsonl',
      '{"text": "mail me: jo@example.com", "id": 7}\n\n{"id": 8, "text": "nothing here"}\n',
    );
    const r = await runCli('scrub-pii', input);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"text":"mail me: [EMAIL]","id":7}\n{"id":8,"text":"nothing here"}\n');
    expect(r.stderr).toBe(
      `SCRUBBED: 2 row(s) from ${input} to stdout, field(s) text: 1 value(s) replaced (email 1)\n`,
    );
  });

  test('- reads standard input', async () => {
    const stdin = Object.getOwnPropertyDescriptor(process, 'stdin')!;
    Object.defineProperty(process, 'stdin', {
      configurable: true,
      value: Readable.from([
        Buffer.from('{"text": "ip 192.0.2.1"}\n{"te'),
        Buffer.from('xt": "+44 20 7946 0958"}'),
      ]),
    });
    try {
      const r = await runCli('scrub-pii', '-');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('{"text":"ip [IP]"}\n{"text":"[PHONE]"}\n');
      expect(r.stderr).toBe(
        'SCRUBBED: 2 row(s) from stdin to stdout, field(s) text: 2 value(s) replaced (phone 1, ip 1)\n',
      );
    } finally {
      Object.defineProperty(process, 'stdin', stdin);
    }
  });

  test('--field is repeatable, and every string inside a field is scrubbed (lists, objects)', async () => {
    const input = file(
      'chat.jsonl',
      `${JSON.stringify({
        subject: 'from jo@example.com',
        messages: ['call +44 20 7946 0958', { from: 'ann@example.org', n: 3 }],
        text: 'kept: 198.51.100.7',
      })}\n`,
    );
    const r = await runCli('scrub-pii', input, '--field', 'subject', '-f', 'messages');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      subject: 'from [EMAIL]',
      messages: ['call [PHONE]', { from: '[EMAIL]', n: 3 }],
      text: 'kept: 198.51.100.7',
    });
    expect(r.stderr).toContain('field(s) subject, messages: 3 value(s) replaced (email 2, phone 1)');
  });

  test('lines that are not JSON objects fail the scrub: reported by number without their content, nothing written, exit 1', async () => {
    const input = file(
      'mixed.jsonl',
      [
        '{"text": "ok anna@example.com"}',
        'call me on 0171 1234567, not JSON',
        '["an", "array", "bob@example.com"]',
        '{"text": "fine"}',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'out.jsonl');
    const r = await runCli('scrub-pii', input, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `FAILED, NOTHING WRITTEN to ${out}: 2 row(s) read from ${input}, field(s) text: 1 value(s) replaced (email 1)\n` +
        '  - 2 line(s) are not JSON objects, so what they hold could not be scrubbed: fix them and run again\n' +
        '    line 2: not JSON\n' +
        '    line 3: not a JSON object\n',
    );
    expect(readdirSync(dir)).toEqual(['mixed.jsonl']);
    const json = await runCli('scrub-pii', input, '--out', out, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      written: false,
      malformed: {
        count: 2,
        lines: [
          { line: 2, reason: 'not JSON' },
          { line: 3, reason: 'not a JSON object' },
        ],
      },
    });
    for (const value of ['0171 1234567', 'bob@example.com', 'anna@example.com']) {
      expect(r.stderr + json.stdout).not.toContain(value);
    }
  });

  describe('a --field that no row has fails: a typo must not pass the raw rows through', () => {
    const failure =
      '  - field "txt" is in none of the 42 rows, so nothing was scrubbed there: check --field\n';

    test('--out: the output file is never created, and nothing staged is left beside it', async () => {
      const out = path.join(dir, 'o.jsonl');
      const r = await runCli('scrub-pii', MESSAGES, '--field', 'txt', '--out', out);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `FAILED, NOTHING WRITTEN to ${out}: 42 row(s) read from ${MESSAGES}, field(s) txt: 0 value(s) replaced\n${failure}`,
      );
      expect(readdirSync(dir)).toEqual([]);
    });

    test('--out over an existing file: the file is left exactly as it was', async () => {
      const out = file('o.jsonl', '{"text":"yesterday\'s scrubbed rows"}\n');
      const r = await runCli('scrub-pii', MESSAGES, '--field', 'txt', '--out', out, '--json');
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, written: false, rows: 42 });
      expect(readFileSync(out, 'utf8')).toBe('{"text":"yesterday\'s scrubbed rows"}\n');
      expect(readdirSync(dir)).toEqual(['o.jsonl']);
    });

    test('stdout: not one row is printed', async () => {
      const r = await runCli('scrub-pii', MESSAGES, '--field', 'txt');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`FAILED, NOTHING WRITTEN to stdout: 42 row(s) read from ${MESSAGES}`);
      for (const value of PII_VALUES) expect(r.stdout + r.stderr).not.toContain(value);
    });
  });

  test('--out naming a directory is a usage error about the output, not the input', async () => {
    const folder = path.join(dir, 'scrubbed');
    mkdirSync(folder);
    const r = await runCli('scrub-pii', MESSAGES, '--out', folder);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `mlops: --out ${folder} is a directory: name a file for the scrubbed rows, e.g. --out ${path.join(folder, 'scrubbed.jsonl')}\n`,
    );
    expect(readdirSync(folder)).toEqual([]);
  });

  test('a reader that closes the pipe early (| head) ends the command quietly with exit 0', () => {
    const input = file('many.jsonl', '{"text": "write to jo@example.com, ünïcode"}\n'.repeat(20_000));
    const mlops = path.resolve(__dirname, '../../bin/mlops.js');
    const r = spawnSync(
      'bash',
      ['-o', 'pipefail', '-c', `node "${mlops}" scrub-pii "${input}" | head -n 2`],
      {
        encoding: 'utf8',
        env: { ...process.env, CI: '1' },
      },
    );
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
      status: 0,
      stdout: '{"text":"write to [EMAIL], ünïcode"}\n'.repeat(2),
      stderr: '',
    });
  });

  test('an invalid configured pattern is a usage error naming the model and the pattern', async () => {
    config.edit(EXAMPLE_MODEL, "pattern: 'EMP-\\d{6}'", "pattern: 'EMP-(\\d{6}'");
    const r = await runCli('scrub-pii', MESSAGES, ...model);
    expect(r.code).toBe(2);
    // The config refuses it before the command runs: the same check as `mlops validate-config`.
    expect(r.stderr).toContain(
      'models/document-classifier.yaml:106 monitoring.productionSample.piiPatterns[0].pattern: a JavaScript regular expression that compiles',
    );
    expect(r.stdout).toBe('');
  });

  test.each([
    [['scrub-pii', 'missing.jsonl'], 'mlops: cannot read input missing.jsonl: no such file\n'],
    [['scrub-pii', FIXTURES], `mlops: cannot read input ${FIXTURES}: not a regular file\n`],
    [
      ['scrub-pii', MESSAGES, '--json'],
      'mlops: --json prints the report on stdout, where the scrubbed rows would go: add --out <file> for the rows\n',
    ],
    [
      ['scrub-pii', MESSAGES, '--out', MESSAGES],
      `mlops: --out ${MESSAGES} is the input file: write the scrubbed rows to another file\n`,
    ],
    [
      ['scrub-pii', MESSAGES, '--out', '/nonexistent-dir/x.jsonl'],
      'mlops: cannot write output /nonexistent-dir/x.jsonl: its folder does not exist\n',
    ],
    [
      ['scrub-pii', MESSAGES, '--model', 'nope'],
      /^mlops: unknown model "nope" \(models in config\/models\/: /,
    ],
    [['scrub-pii'], "error: missing required argument 'input.jsonl'"],
    [['scrub-pii', MESSAGES, '--bogus'], "error: unknown option '--bogus'"],
  ])('bad usage or unreadable input %j exits 2', async (argv, message) => {
    const r = await runCli(...argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    if (typeof message === 'string' && message.startsWith('mlops:')) expect(r.stderr).toBe(message);
    else if (typeof message === 'string') expect(r.stderr).toContain(message);
    else expect(r.stderr).toMatch(message);
  });

  test('--help documents the tokens, the report and the exit codes', async () => {
    const r = await runCli('scrub-pii', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: mlops scrub-pii [options] <input.jsonl>');
    expect(r.stdout).toContain('[EMAIL], [PHONE], [CARD], [ACCOUNT], [IP] or [<PATTERN_NAME>]');
    expect(r.stdout).toContain(
      'Exit codes: 0 scrubbed, 1 a line is not a JSON object or a --field is in no row (nothing written),',
    );
    expect(r.stdout).toContain('on any\nfailure nothing is written there.');
  });

  describe('progress', () => {
    const big = () => file('big.jsonl', '{"text": "reach me at +44 20 7946 0958"}\n'.repeat(2000));
    const tty = () => {
      let stderr = '';
      let stdout = '';
      return {
        io: {
          stdout: { write: (s: string) => (stdout += s), isTTY: true },
          stderr: { write: (s: string) => (stderr += s), isTTY: true },
        },
        out: () => ({ stdout, stderr }),
      };
    };

    test('on a terminal, for an input past the threshold: a progress line, cleared at the end', async () => {
      const input = big();
      const t = tty();
      const code = await scrubPiiCommand(
        t.io,
        input,
        { configDir: 'config', out: path.join(dir, 'o.jsonl') },
        { progressMinBytes: 1024, ci: false },
      );
      expect(code).toBe(0);
      expect(t.out().stderr).toMatch(/^\rbig\.jsonl: [\d,]+ rows, 0 MiB \(\d+%\)/);
      expect(t.out().stderr).toContain('\r\x1b[KSCRUBBED: 2,000 row(s)');
    });

    test('never below the threshold, with --json, or in CI', async () => {
      const input = big();
      for (const [opts, env] of [
        [{}, { progressMinBytes: 10 * 2 ** 20, ci: false }],
        [{ json: true }, { progressMinBytes: 1024, ci: false }],
        [{}, { progressMinBytes: 1024, ci: true }],
      ] as const) {
        const t = tty();
        await scrubPiiCommand(
          t.io,
          input,
          { configDir: 'config', out: path.join(dir, 'o.jsonl'), ...opts },
          env,
        );
        expect(t.out().stderr).not.toContain('\r');
      }
    });
  });
});
