// The exact messages a user sees for the config mistakes a new user made (issue 15, "rough edges").
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ConfigFixture, EXAMPLE_MODEL, lineOf, problemsOf } from '../helpers/config-fixture';

const M = 'models/document-classifier.yaml';

describe('config messages say what is wrong in plain words', () => {
  let fixture: ConfigFixture;
  beforeEach(() => {
    fixture = new ConfigFixture();
  });
  afterEach(() => fixture.dispose());

  test('.inf is "not a finite number", spelled as it was written', () => {
    fixture.edit(EXAMPLE_MODEL, 'monthlyRequests: 2500000', 'monthlyRequests: .inf');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'monthlyRequests: .inf');
    expect(problemsOf(fixture)).toEqual([
      `${M}:${line} cost.monthlyRequests: not a finite number (got .inf, expected a number)`,
    ]);
  });

  test('a key with no value says so once, not "got null null"', () => {
    fixture.edit(EXAMPLE_MODEL, 'monthlyRequests: 2500000', 'monthlyRequests:');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'monthlyRequests:');
    expect(problemsOf(fixture)).toEqual([
      `${M}:${line} cost.monthlyRequests: no value (got null, expected a number); write the value after the colon or delete the key`,
    ]);
  });

  test('a list where a string belongs is "a list of 2 items", not "list a list of 2"', () => {
    fixture.edit(
      EXAMPLE_MODEL,
      '  team: document-intelligence\n',
      '  team:\n    - document-intelligence\n    - search\n',
    );
    const line = lineOf(fixture.read(EXAMPLE_MODEL), '  team:');
    expect(problemsOf(fixture)).toEqual([
      `${M}:${line} owner.team: wrong type (got a list of 2 items, expected a string)`,
    ]);
  });

  test('a string that is too long is "too long", counted in characters', () => {
    fixture.edit(
      EXAMPLE_MODEL,
      'description: Routes incoming customer documents to the right support queue.',
      `description: ${'x'.repeat(300)}`,
    );
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'description: xxx');
    expect(problemsOf(fixture)).toEqual([
      `${M}:${line} description: too long (got 300 characters, expected at most 256 characters)`,
    ]);
  });

  test('a missing key with a fixed set of values is "required key is missing", not "got nothing"', () => {
    fixture.edit(EXAMPLE_MODEL, '    kind: benchmark\n', '');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), '  - name: golden_set');
    expect(problemsOf(fixture)).toEqual([
      `${M}:${line} evalSets[0].kind: required key is missing (expected one of "benchmark", "production-like")`,
    ]);
  });

  test('a missing discriminator lists the allowed kinds', () => {
    fixture.edit(EXAMPLE_MODEL, '    kind: sagemaker\n', '    {}\n');
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(
        /^models\/document-classifier\.yaml:\d+ cost\.pricing\.kind: required key is missing \(expected one of "sagemaker", "token"\)$/,
      ),
    ]);
  });

  test('an unquoted account number gets a "quote it" hint that keeps its leading zero', () => {
    fixture.edit('platform.yaml', "account: '123456789012'", 'account: 012345678901');
    const line = lineOf(fixture.read('platform.yaml'), 'account: 012345678901');
    expect(problemsOf(fixture)).toEqual([
      `platform.yaml:${line} environment.account: wrong type (got number 12345678901, expected a string); quote it: account: '012345678901'`,
    ]);
  });

  test('an image tag YAML reads as a number is quoted back as written', () => {
    fixture.edit(EXAMPLE_MODEL, '    tag: 2.6.0-gpu-py312-cu126-ubuntu22.04-ec2', '    tag: 2.60');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), '    tag: 2.60');
    expect(problemsOf(fixture)).toEqual([
      `${M}:${line} evaluation.image.tag: wrong type (got number 2.6, expected a string); quote it: tag: '2.60'`,
    ]);
  });
});

describe('files that are not what they should be are named as such', () => {
  let fixture: ConfigFixture;
  beforeEach(() => {
    fixture = new ConfigFixture();
  });
  afterEach(() => fixture.dispose());

  test('a Latin-1 byte is "not UTF-8", with its line, instead of passing as a replacement character', () => {
    const text = fixture.read(EXAMPLE_MODEL).replace('team: document-intelligence', 'team: caf\u00e9');
    const line = lineOf(text, 'team: caf');
    writeFileSync(fixture.file(EXAMPLE_MODEL), Buffer.from(text, 'latin1'));
    expect(problemsOf(fixture)).toEqual([
      `${M}:${line}: file is not UTF-8 (byte 0xE9 at column 12 is not valid UTF-8; the file was probably saved as Latin-1 or Windows-1252): save it as UTF-8`,
    ]);
  });

  test('a binary file is called binary, and none of its bytes are printed', () => {
    writeFileSync(
      fixture.file('models/logo.yaml'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
    );
    writeFileSync(
      fixture.file('models/dump.yaml'),
      Buffer.from('name: dump\n\u0000\u0001\u0002garbage', 'utf8'),
    );
    expect(problemsOf(fixture)).toEqual([
      'models/dump.yaml:2: not a text file (it holds binary data: a NUL byte); a config file is YAML text',
      'models/logo.yaml:1: file is not UTF-8 (byte 0x89 at column 1 is not valid UTF-8; the file was probably saved as Latin-1 or Windows-1252): save it as UTF-8',
    ]);
  });

  test('a file saved as UTF-16 is named as such', () => {
    writeFileSync(fixture.file('models/notepad.yaml'), Buffer.from('\ufeffname: notepad\n', 'utf16le'));
    expect(problemsOf(fixture)).toEqual([
      'models/notepad.yaml:1: file is UTF-16, not UTF-8 (save it as UTF-8)',
    ]);
  });

  test('a duplicate key is named, with the line where it was first set', () => {
    fixture.edit(EXAMPLE_MODEL, 'branch: main\n', 'branch: main\n  branch: release\n');
    const text = fixture.read(EXAMPLE_MODEL);
    expect(problemsOf(fixture)).toEqual([
      `${M}:${lineOf(text, 'branch: release')}: invalid YAML: duplicate key "branch" (first set on line ${lineOf(text, 'branch: main')}): a key may appear once in a mapping; keep one`,
    ]);
  });

  test.each([
    [
      '"a: b: c" on one line',
      'description: Routes incoming customer documents to the right support queue.',
      'description: Routes: incoming documents',
      'description: Routes',
      'invalid YAML: a second "key:" on the same line ("a: b: c"); put the nested key on its own line, indented, or quote the value',
    ],
    [
      'a tab as indentation',
      '  team: document-intelligence',
      '\tteam: document-intelligence',
      '\tteam',
      'invalid YAML: a tab indents this line; YAML indents with spaces only',
    ],
    [
      'a key out of line with its siblings',
      '  contact: doc-intel@example.com',
      ' contact: doc-intel@example.com',
      ' contact:',
      'invalid YAML: the keys of one mapping must start at the same column; check the indentation of this line and the one above',
    ],
    [
      'an unclosed quote',
      'description: Routes incoming customer documents to the right support queue.',
      'description: "Routes incoming customer documents',
      'description: "Routes',
      'invalid YAML: a quoted value is not closed (missing closing "quote)',
    ],
    [
      'a value starting with a reserved character',
      'team: document-intelligence',
      'team: @document-intelligence',
      'team: @',
      'invalid YAML: a value starts with a character YAML reserves (@); quote the value',
    ],
  ])("YAML syntax in words, not the parser's: %s", (_what, from, to, at, message) => {
    fixture.edit(EXAMPLE_MODEL, from, to);
    const problems = problemsOf(fixture);
    expect(problems[0]).toBe(`${M}:${lineOf(fixture.read(EXAMPLE_MODEL), at)}: ${message}`);
  });

  test('a model file with an upper-case extension is reported, not skipped', () => {
    fixture.write('models/fraud-scorer.YAML', fixture.read(EXAMPLE_MODEL));
    expect(problemsOf(fixture)).toEqual([
      'models/fraud-scorer.YAML: not read: model files end in lower-case .yaml or .yml; rename it to fraud-scorer.yaml',
    ]);
  });

  test('a missing platform.yaml points at a README section that exists', () => {
    rmSync(fixture.file('platform.yaml'));
    const [problem] = problemsOf(fixture);
    expect(problem).toBe(
      'platform.yaml: file not found (create it; README "Configuration reference" lists its keys)',
    );
    const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    expect(readme.split('\n')).toContain('## Configuration reference');
  });

  test('a mistyped region is refused with the region meant', () => {
    fixture.edit('platform.yaml', 'region: eu-west-1', 'region: eu-wset-1');
    const line = lineOf(fixture.read('platform.yaml'), 'region: eu-wset-1');
    expect(problemsOf(fixture)).toEqual([
      `platform.yaml:${line} environment.region: not an AWS region (got "eu-wset-1"; did you mean "eu-west-1"?)`,
    ]);
  });

  test('a well-formed region nobody knows is refused too, with the upgrade hint', () => {
    fixture.edit('platform.yaml', 'region: eu-west-1', 'region: xy-nowhere-7');
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(
        /^platform\.yaml:\d+ environment\.region: not an AWS region aws-cdk-lib knows \(got "xy-nowhere-7"\); check the spelling, or upgrade aws-cdk-lib if the region is new$/,
      ),
    ]);
  });
});
