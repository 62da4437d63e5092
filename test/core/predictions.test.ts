import fc from 'fast-check';
import type { EvalSetMetrics } from '../../lambdas/core/gates/eval-report';
import {
  metricDisagreements,
  metricsFromExamples,
  pairExamples,
  parsePredictions,
  PredictionsError,
  PredictionsReader,
} from '../../lambdas/core/gates/predictions';

const line = (id: string, label: string, predicted: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id,
    label,
    predicted,
    confidence: 0.9,
    latency_ms: 40,
    slices: { source: 'email' },
    ...extra,
  });

function problemsOf(text: string, allowedLabels?: string[]): readonly string[] {
  try {
    parsePredictions(text, 'p.jsonl', { allowedLabels });
  } catch (error) {
    if (error instanceof PredictionsError) return error.problems;
    throw error;
  }
  return [];
}

describe('parsePredictions', () => {
  test('reads one example per line, slices as key=value', () => {
    const rows = parsePredictions(`${line('a', 'x', 'x')}\r\n${line('b', 'x', 'y')}\n`, 'p.jsonl');
    expect(rows).toEqual([
      {
        id: 'a',
        label: 'x',
        predicted: 'x',
        confidence: 0.9,
        latencyMs: 40,
        slices: ['source=email'],
        line: 1,
      },
      {
        id: 'b',
        label: 'x',
        predicted: 'y',
        confidence: 0.9,
        latencyMs: 40,
        slices: ['source=email'],
        line: 2,
      },
    ]);
  });

  test('names file, line and field of every problem', () => {
    const text = [
      line('a', 'x', 'x'),
      '{not json',
      line('b', 'x', 'x', { confidence: 1.5 }),
      line('a', 'x', 'x'),
      JSON.stringify({ id: 'c', label: 'x', predicted: 'x', latency_ms: 1 }),
      line('d', 'x', 'zz', { latency: 3 }),
    ].join('\n');
    expect(problemsOf(text, ['x', 'y'])).toEqual([
      'p.jsonl:2 (line): not JSON (got "{not json", expected one JSON object per line)',
      'p.jsonl:3 confidence: invalid value (got 1.5, a number from 0 to 1)',
      'p.jsonl:4 id: duplicate id "a" (first on line 1; each example once)',
      'p.jsonl:5 confidence: missing (expected a number from 0 to 1)',
      'p.jsonl:6 latency: unknown key (expected one of id, label, predicted, confidence, latency_ms, slices)',
      'p.jsonl:6 predicted: label not in the model\'s config (got "zz", expected one of dataValidation.allowedLabels: x, y)',
    ]);
  });

  test('an empty file is a problem', () => {
    expect(problemsOf('')).toEqual(['p.jsonl: empty (expected one JSON object per evaluated example)']);
  });
});

describe('PredictionsReader (a file read as a stream)', () => {
  const outcome = (read: () => unknown) => {
    try {
      return { rows: read() };
    } catch (error) {
      if (error instanceof PredictionsError) return { problems: error.problems };
      throw error;
    }
  };

  test('property: pieces split anywhere (a BOM, CRLF, a blank or broken line) read as the whole text does', () => {
    const lines = fc.constantFrom(
      line('a', 'x', 'x'),
      line('b', 'x', 'y'),
      line('a', 'y', 'y'),
      line('c', 'zz', 'x'),
      '',
      '{"id": ',
      '[1]',
    );
    fc.assert(
      fc.property(
        fc.array(lines, { maxLength: 8 }),
        fc.boolean(),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 6 }),
        (body, bom, eol, trailing, cuts) => {
          const text = `${bom ? '\uFEFF' : ''}${body.join(eol)}${trailing ? eol : ''}`;
          const whole = outcome(() => parsePredictions(text, 'p.jsonl', { allowedLabels: ['x', 'y'] }));
          const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const reader = new PredictionsReader('p.jsonl', { allowedLabels: ['x', 'y'] });
          let from = 0;
          for (const cut of [...at, text.length]) {
            reader.push(text.slice(from, cut));
            from = cut;
          }
          expect(outcome(() => reader.finish())).toEqual(whole);
        },
      ),
    );
  });
});

describe('metrics from the examples, and the report checked against them', () => {
  const rows = parsePredictions(
    [
      line('a', 'x', 'x', { confidence: 0.8, latency_ms: 10 }),
      line('b', 'x', 'y', { confidence: 0.6, latency_ms: 20, slices: { source: 'chat' } }),
      line('c', 'y', 'y', { confidence: 1, latency_ms: 30 }),
      line('d', 'y', 'y', { confidence: 0.6, latency_ms: 40, slices: { source: 'chat' } }),
    ].join('\n'),
    'p.jsonl',
  );

  test('recomputes accuracy, slices, p95 (numpy linear) and confidence', () => {
    const m = metricsFromExamples(rows);
    expect(m).toMatchObject({ rowCount: 4, correct: 3, accuracy: 0.75, confidenceMean: 0.75 });
    expect(m.slices).toEqual({
      'source=email': { correct: 2, rows: 2, accuracy: 1 },
      'source=chat': { correct: 1, rows: 2, accuracy: 0.5 },
    });
    expect(m.p95LatencyMs).toBeCloseTo(38.5, 12); // numpy.percentile([10, 20, 30, 40], 95)
    expect(m.confidenceStd).toBeCloseTo(Math.sqrt(0.0275), 12); // numpy.std, ddof = 0
  });

  const stated: EvalSetMetrics = {
    accuracy: 0.75,
    p95LatencyMs: 38.5,
    costPer1kRequests: 0.1,
    sliceAccuracy: { 'source=email': 1, 'source=chat': 0.5 },
    confidence: { mean: 0.75, std: 0.166 },
    rowCount: 4,
    datasetMd5: '0'.repeat(32),
    extraMetrics: {},
  };
  const where = { report: 'r.json', evalSet: 'golden_set', predictionsFile: 'p.jsonl' };

  test('agreeing metrics (rounded to 3 decimals) give no problem', () => {
    expect(metricDisagreements(stated, metricsFromExamples(rows), where)).toEqual([]);
  });

  test('each disagreement names the report, the JSON path and both values', () => {
    const wrong = {
      ...stated,
      accuracy: 0.8,
      rowCount: 5,
      sliceAccuracy: { 'source=email': 1, 'source=web': 0.5 },
    };
    expect(metricDisagreements(wrong, metricsFromExamples(rows), where)).toEqual([
      'r.json eval_sets.golden_set.row_count: states 5 but the 4 examples in p.jsonl are 4 rows',
      'r.json eval_sets.golden_set.accuracy: states 0.8 but the 4 examples in p.jsonl give 0.75',
      'r.json eval_sets.golden_set.slice_accuracy["source=web"]: no example in p.jsonl is in this slice ' +
        '(expected "slices": {"<key>": "<value>"} on its lines, naming the slice "<key>=<value>")',
    ]);
  });
});

describe('pairExamples', () => {
  const files = { candidate: 'c.jsonl', baseline: 'b.jsonl' };
  test('counts the paired 2×2 table by id', () => {
    const cand = parsePredictions(
      [line('a', 'x', 'x'), line('b', 'x', 'y'), line('c', 'x', 'x')].join('\n'),
      'c',
    );
    const base = parsePredictions(
      [line('c', 'x', 'y'), line('b', 'x', 'x'), line('a', 'x', 'x')].join('\n'),
      'b',
    );
    const paired = pairExamples(cand, base, files);
    expect(paired.counts).toEqual({ bothCorrect: 1, candidateOnly: 1, baselineOnly: 1, neitherCorrect: 0 });
    expect(paired.problems).toEqual([]);
  });

  test('ids on one side only and relabelled examples are problems with file and line', () => {
    const cand = parsePredictions(
      [line('a', 'x', 'x'), line('n', 'x', 'x'), line('b', 'y', 'y')].join('\n'),
      'c',
    );
    const base = parsePredictions(
      [line('a', 'x', 'x'), line('b', 'x', 'x'), line('gone', 'x', 'x')].join('\n'),
      'b',
    );
    expect(pairExamples(cand, base, files).problems).toEqual([
      'c.jsonl:2 id: "n" is not in the baseline\'s b.jsonl',
      'b.jsonl:3 id: "gone" is not in the candidate\'s c.jsonl',
      'c.jsonl:3 label: "y" but the baseline\'s b.jsonl:2 has "x" for id "b"',
    ]);
  });
});
