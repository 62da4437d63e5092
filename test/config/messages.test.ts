// The exact messages a user sees for the config mistakes a new user made (issue 15, "rough edges").
import { ConfigError, formatProblem } from '../../lib/config/load';
import { ConfigFixture, EXAMPLE_MODEL } from '../helpers/config-fixture';

function lineOf(text: string, snippet: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(snippet));
  if (index < 0) throw new Error(`fixture: no line contains ${snippet}`);
  return index + 1;
}

function problemsOf(fixture: ConfigFixture): string[] {
  try {
    fixture.load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => formatProblem(p).replaceAll(`${fixture.dir}/`, ''));
  }
  throw new Error('expected the config to be rejected, but it loaded');
}

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
