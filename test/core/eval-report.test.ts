import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  EvalReportError,
  findJsonFault,
  parseEvalReport,
  serializeEvalReport,
  type EvalReport,
} from '../../lambdas/core/gates/eval-report';

const FIXTURES = join(__dirname, '..', 'fixtures', 'eval');
const fixtureText = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const fixtureJson = (name: string) => JSON.parse(fixtureText(name));

/** The problems parseEvalReport reports for `doc` (fails the test if it parses). */
function problemsOf(doc: unknown, label = 'eval_report.json'): readonly string[] {
  const text = typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2);
  try {
    parseEvalReport(text, label);
  } catch (error) {
    expect(error).toBeInstanceOf(EvalReportError);
    return (error as EvalReportError).problems;
  }
  throw new Error('expected the report to be refused');
}

describe('parseEvalReport: valid files', () => {
  test('maps the snake_case file to camelCase fields', () => {
    const report = parseEvalReport(fixtureText('eval_report.json'), 'eval_report.json');

    expect(report).toMatchObject({
      schemaVersion: 1,
      model: 'churn-classifier',
      modelVersion: '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483',
      generatedAt: '2026-11-02T10:15:00Z',
      currency: 'USD',
    });
    expect(Object.keys(report.evalSets)).toEqual(['golden_set', 'production_sample']);
    expect(report.evalSets.golden_set).toEqual({
      accuracy: 0.935,
      p95LatencyMs: 128.4,
      costPer1kRequests: 0.44,
      sliceAccuracy: { 'region=eu': 0.945, 'region=us': 0.936, 'region=apac': 0.912 },
      confidence: { mean: 0.88, std: 0.05 },
      rowCount: 5000,
      datasetMd5: '3b1f0c2e9a7d4e6f8a0b1c2d3e4f5a6b',
      extraMetrics: { macro_f1: 0.918 },
    });
    expect(report.evalSets.production_sample.extraMetrics).toEqual({});
    expect(report.evalSets.production_sample.datasetMd5).toBe('9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f.dir');
  });

  test('the baseline file uses the same schema', () => {
    const baseline = parseEvalReport(fixtureText('baseline_metrics.json'), 'baseline_metrics.json');
    expect(baseline.modelVersion).toBe('a1b2c3d4e5f60718293a4b5c6d7e8f9012345678');
    expect(baseline.evalSets.golden_set.accuracy).toBe(0.94);
  });

  test('the example in docs/eval-report.md is the fixture, so the docs cannot drift from the format', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'eval-report.md'), 'utf8');
    const example = /```json\n([\s\S]*?)\n```/.exec(doc);
    expect(example).not.toBeNull();
    expect(JSON.parse(example![1])).toEqual(fixtureJson('eval_report.json'));
  });

  test('tolerates and drops unknown top-level keys (forward compatibility)', () => {
    const doc = {
      ...fixtureJson('eval_report.json'),
      training_run_url: 'https://example.test/run/7',
      notes: 'x',
    };
    const report = parseEvalReport(JSON.stringify(doc), 'eval_report.json');
    expect(report).not.toHaveProperty('training_run_url');
    expect(report).not.toHaveProperty('notes');
  });

  test('accepts a UTF-8 byte-order mark and a time-zone offset', () => {
    const doc = { ...fixtureJson('eval_report.json'), generated_at: '2026-11-02T12:15:00.123+02:00' };
    const report = parseEvalReport(`\uFEFF${JSON.stringify(doc)}`, 'eval_report.json');
    expect(report.generatedAt).toBe('2026-11-02T12:15:00.123+02:00');
  });

  test('eval set and slice names that shadow Object.prototype members are plain names', () => {
    const doc = fixtureJson('eval_report.json');
    doc.eval_sets = { constructor: doc.eval_sets.golden_set };
    doc.eval_sets.constructor.slice_accuracy = { toString: 0.9, hasOwnProperty: 0.8 };
    const report = parseEvalReport(JSON.stringify(doc), 'eval_report.json');
    expect(Object.keys(report.evalSets)).toEqual(['constructor']);
    expect(Object.values(report.evalSets)[0].sliceAccuracy).toEqual({ toString: 0.9, hasOwnProperty: 0.8 });
  });
});

describe('parseEvalReport: problems', () => {
  test('lists every problem with file, JSON path, value got and value expected', () => {
    const doc = fixtureJson('eval_report.json');
    doc.schema_version = 3;
    delete doc.model;
    doc.generated_at = '2026-11-02';
    doc.currency = 'usd';
    doc.eval_sets.golden_set.accuracy = 1.2;
    doc.eval_sets.golden_set.row_count = 0;
    doc.eval_sets.production_sample.confidence.std = -0.1;
    doc.eval_sets.production_sample.dataset_md5 = '9C8D7E6F5A4B3C2D1E0F9A8B7C6D5E4F';

    const problems = problemsOf(doc);

    expect(problems).toEqual(
      expect.arrayContaining([
        'eval_report.json schema_version: invalid value (got 3, expected schema version 1 or 2 (the ones this platform reads))',
        'eval_report.json model: missing (expected model name as in config/models/<model>.yaml, a non-empty string)',
        'eval_report.json generated_at: invalid value (got "2026-11-02", expected ISO 8601 date-time with a time zone, e.g. "2026-11-02T10:15:00Z")',
        'eval_report.json currency: invalid value (got "usd", expected ISO 4217 currency code, e.g. "USD")',
        'eval_report.json eval_sets.golden_set.accuracy: invalid value (got 1.2, expected accuracy, a number from 0 to 1)',
        'eval_report.json eval_sets.golden_set.row_count: invalid value (got 0, expected number of rows evaluated, a whole number >= 1)',
        'eval_report.json eval_sets.production_sample.confidence.std: invalid value (got -0.1, expected standard deviation of prediction confidence, a number from 0 to 1)',
        expect.stringMatching(
          /^eval_report\.json eval_sets\.production_sample\.dataset_md5: invalid value \(got "9C8D.*", expected md5 .*32 lowercase hex digits/,
        ),
      ]),
    );
    expect(problems).toHaveLength(8);
  });

  test('the error message carries every problem line and points at the format doc', () => {
    const doc = fixtureJson('eval_report.json');
    doc.eval_sets.golden_set.accuracy = 'high';
    doc.eval_sets.production_sample.p95_latency_ms = 0;
    expect(() => parseEvalReport(JSON.stringify(doc), 'runs/42/eval_report.json')).toThrow(
      /runs\/42\/eval_report\.json is not a valid eval report \(2 problems; format: docs\/eval-report\.md\):\n {2}- .*golden_set\.accuracy: invalid value \(got "high".*\n {2}- .*production_sample\.p95_latency_ms: invalid value \(got 0, expected p95 latency in milliseconds, a number > 0\)/,
    );
  });

  test('a misspelt metric fails as missing and as an unknown key with a suggestion', () => {
    const doc = fixtureJson('eval_report.json');
    const golden = doc.eval_sets.golden_set;
    golden.p95_latency = golden.p95_latency_ms;
    delete golden.p95_latency_ms;

    expect(problemsOf(doc)).toEqual([
      'eval_report.json eval_sets.golden_set.p95_latency_ms: missing (expected p95 latency in milliseconds, a number > 0)',
      expect.stringMatching(
        /^eval_report\.json eval_sets\.golden_set\.p95_latency: unknown key \(got "p95_latency", expected one of accuracy, p95_latency_ms, .*; did you mean "p95_latency_ms"\?\)$/,
      ),
    ]);
  });

  test('refuses unknown keys inside confidence, suggesting the near one', () => {
    const doc = fixtureJson('eval_report.json');
    doc.eval_sets.golden_set.confidence = { mean: 0.8, sd: 0.1 };
    expect(problemsOf(doc)).toEqual([
      'eval_report.json eval_sets.golden_set.confidence.std: missing (expected standard deviation of prediction confidence, a number from 0 to 1)',
      'eval_report.json eval_sets.golden_set.confidence.sd: unknown key (got "sd", expected one of mean, std; did you mean "std"?)',
    ]);
  });

  test('needs at least two slices for a bias gap and one eval set', () => {
    const doc = fixtureJson('eval_report.json');
    doc.eval_sets.golden_set.slice_accuracy = { 'region=eu': 0.9 };
    expect(problemsOf(doc)).toEqual([
      'eval_report.json eval_sets.golden_set.slice_accuracy: too few entries (got 1, expected at least two slices (the bias gap is best slice accuracy minus worst))',
    ]);
    expect(problemsOf({ ...fixtureJson('eval_report.json'), eval_sets: {} })).toEqual([
      'eval_report.json eval_sets: too few entries (got 0, expected at least one eval set)',
    ]);
  });

  test('quotes keys that are not plain names in the path', () => {
    const doc = fixtureJson('eval_report.json');
    doc.eval_sets.golden_set.slice_accuracy['age 18-25'] = null;
    expect(problemsOf(doc)).toEqual([
      'eval_report.json eval_sets.golden_set.slice_accuracy["age 18-25"]: invalid value (got null, expected slice accuracy, a number from 0 to 1)',
    ]);
  });

  test('refuses a __proto__ key instead of silently losing that slice', () => {
    const text = fixtureText('eval_report.json').replace('"region=apac"', '"__proto__"');
    expect(problemsOf(text)).toEqual([
      'eval_report.json eval_sets.golden_set.slice_accuracy.__proto__: invalid key (got "__proto__", expected any other name; this one cannot be stored safely)',
    ]);
  });

  test('shows a number too large for a double as Infinity, not null', () => {
    const text = fixtureText('eval_report.json').replace(
      '"p95_latency_ms": 128.4',
      '"p95_latency_ms": 1e400',
    );
    expect(problemsOf(text)).toEqual([
      'eval_report.json eval_sets.golden_set.p95_latency_ms: invalid value (got Infinity, expected p95 latency in milliseconds, a number > 0)',
    ]);
  });

  test('a file that is not an object is one problem at the top level', () => {
    expect(problemsOf('[]')).toEqual([
      'eval_report.json (top level): invalid value (got [], expected a JSON object)',
    ]);
  });
});

describe('parseEvalReport: predictions_file', () => {
  const withPredictions = (file: unknown, version = 2) => {
    const doc = fixtureJson('eval_report.json');
    doc.schema_version = version;
    doc.eval_sets.golden_set.predictions_file = file;
    return doc;
  };

  test('a path under predictions/ is read, from version 2 on', () => {
    const report = parseEvalReport(
      JSON.stringify(withPredictions('predictions/runs/golden_set.jsonl')),
      'eval_report.json',
    );
    expect(report.evalSets.golden_set.predictionsFile).toBe('predictions/runs/golden_set.jsonl');
  });

  test.each([
    'golden_set.jsonl',
    'out/golden_set.jsonl',
    '/predictions/g.jsonl',
    'predictions/../g.jsonl',
    'predictions/g.json',
  ])('%j is refused: the pipeline publishes and keeps predictions/ only', (file) => {
    expect(problemsOf(withPredictions(file))).toEqual([
      `eval_report.json eval_sets.golden_set.predictions_file: invalid value (got ${JSON.stringify(file)}, ` +
        'expected path of the per-example results relative to the report, under predictions/ and ending in ' +
        '.jsonl, without ".." (e.g. "predictions/golden_set.jsonl"))',
    ]);
  });

  test('a version 1 report may not name one', () => {
    expect(problemsOf(withPredictions('predictions/golden_set.jsonl', 1))).toEqual([
      expect.stringMatching(
        /^eval_report\.json eval_sets\.golden_set\.predictions_file: needs schema_version 2/,
      ),
    ]);
  });
});

describe('parseEvalReport: invalid JSON', () => {
  test("reports line and column of Python's NaN with a hint", () => {
    const text = fixtureText('eval_report.json').replace('"accuracy": 0.935', '"accuracy": NaN');
    const [problem] = problemsOf(text);
    expect(problem).toMatch(
      /^eval_report\.json line 9 column 19: invalid JSON \(got "NaN,", expected a value/,
    );
    expect(problem).toContain('allow_nan=False');
  });

  test.each([
    ['{\n  "a": 1,\n}', 'line 3 column 1', 'got "}", expected another "key" (no comma before })'],
    ['{"a" 1}', 'line 1 column 6', 'got "1}", expected ":" after the key'],
    ['{"a": [1, 2}', 'line 1 column 12', 'got "}", expected "," or "]"'],
    ['', 'line 1 column 1', 'got end of file, expected a value'],
    ['{"a": 1}\n{"b": 2}', 'line 2 column 1', 'expected end of file after the top-level value'],
    ["{'a': 1}", 'line 1 column 2', 'expected a "quoted" key or "}"'],
    ['{"a": "x\ny"}', 'line 1 column 9', 'expected a closing " (line breaks must be written as \\n)'],
  ])('%j: %s', (text, where, what) => {
    const [problem] = problemsOf(text, 'f.json');
    expect(problem).toContain(`f.json ${where}: invalid JSON (`);
    expect(problem).toContain(what);
  });

  test('findJsonFault agrees with JSON.parse on near-JSON text', () => {
    const piece = fc.constantFrom(
      ...'{}[]:,"\\ \n0123456789.-+eEtruefalsnNaI'.split(''),
      '"k"',
      'null',
      'true',
    );
    const soup = fc.array(piece, { maxLength: 30 }).map((pieces) => pieces.join(''));
    // Valid JSON with one character deleted, replaced or inserted: mostly invalid, sometimes still valid.
    const mutated = fc
      .tuple(
        fc.jsonValue({ maxDepth: 3 }),
        fc.nat(),
        fc.constantFrom(...',:]}"\\ 0-.e'.split(''), ''),
        fc.boolean(),
      )
      .map(([value, at, ch, replace]) => {
        const text = JSON.stringify(value, null, 1);
        const i = at % (text.length + 1);
        return text.slice(0, i) + ch + text.slice(replace ? i + 1 : i);
      });
    let valid = 0;
    fc.assert(
      fc.property(fc.oneof(soup, mutated), (text) => {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        if (parses) valid++;
        expect(findJsonFault(text) === undefined).toBe(parses);
      }),
      { numRuns: 4000 },
    );
    expect(valid).toBeGreaterThan(100); // both outcomes were exercised
  });

  test('findJsonFault finds nothing wrong in any serialized JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        expect(findJsonFault(JSON.stringify(value, null, pretty ? 2 : undefined))).toBeUndefined();
      }),
    );
  });
});

describe('serializeEvalReport', () => {
  const fraction = fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0); // + 0 turns -0 into 0
  const name = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /\S/.test(s) && s !== '__proto__');
  const evalSet = fc.record({
    accuracy: fraction,
    p95LatencyMs: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
    costPer1kRequests: fc.double({ min: 0, max: 1e4, noNaN: true }).map((x) => x + 0),
    sliceAccuracy: fc.dictionary(name, fraction, { minKeys: 2, maxKeys: 5 }),
    confidence: fc.record({ mean: fraction, std: fraction }),
    rowCount: fc.integer({ min: 1, max: 1e9 }),
    datasetMd5: fc
      .tuple(fc.stringMatching(/^[0-9a-f]{32}$/), fc.boolean())
      .map(([md5, dir]) => (dir ? `${md5}.dir` : md5)),
    extraMetrics: fc.dictionary(
      name,
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => x + 0),
    ),
  });
  const report: fc.Arbitrary<EvalReport> = fc.record({
    schemaVersion: fc.constant(1 as const),
    model: name,
    modelVersion: name,
    generatedAt: fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString()),
    currency: fc.stringMatching(/^[A-Z]{3}$/),
    evalSets: fc.dictionary(name, evalSet, { minKeys: 1, maxKeys: 3 }),
  });

  test('parse(serialize(report)) gives the report back', () => {
    fc.assert(
      fc.property(report, (r) => {
        expect(parseEvalReport(serializeEvalReport(r), 'roundtrip.json')).toEqual(r);
      }),
    );
  });

  test('writes the fixture byte for byte', () => {
    const text = fixtureText('eval_report.json');
    expect(serializeEvalReport(parseEvalReport(text, 'eval_report.json'))).toBe(text);
  });
});
