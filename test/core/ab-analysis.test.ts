import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  DEFAULT_MIN_AB_SAMPLES,
  SRM_P_VALUE_THRESHOLD,
  analyseVariants,
  parseSummaryRows,
  type AbAnalysis,
  type AthenaResultSet,
  type VariantSummaryRow,
} from '../../lambdas/core/ab-analysis';
import {
  meanDifferenceInterval,
  meanInterval,
  summaryFromSums,
  type Interval,
} from '../../lambdas/core/stats';

// Reference values come from scipy/numpy via test/fixtures/ab/generate.py: Wilson intervals from
// scipy.stats.binomtest(...).proportion_ci(method='wilson'), mean intervals from
// scipy.stats.t.interval on the raw draws, Newcombe from scipy's Wilson limits, Welch from
// scipy.stats.ttest_ind(candidate, stable, equal_var=False).confidence_interval(), the split
// from scipy.stats.chisquare. The result sets mimic Athena's GetQueryResults.
interface ExpectedVariant {
  n: number;
  errors: number;
  confidenceCount: number;
  errorRate: Interval;
  meanConfidence: Interval & { stdDev: number };
}
interface Expected {
  confidence: number;
  stable: ExpectedVariant;
  candidate: ExpectedVariant;
  errorRateDifference: Interval;
  meanConfidenceDifference: Interval & { degreesOfFreedom: number; pValue: number };
  sampleRatio: { chiSquare: number; pValue: number };
}
interface Scenario {
  intendedCandidatePercent: number;
  resultSet: AthenaResultSet;
  expected: Expected[];
}
const { scenarios } = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'ab', 'ab.json'), 'utf8'),
) as { scenarios: { typical: Scenario; largeWithSrm: Scenario } };

/** Asserts |actual - expected| <= tolerance * max(|expected|, floor). */
function expectClose(actual: number, expected: number, tolerance: number, label: string, floor = 0): void {
  const error = Math.abs(actual - expected) / Math.max(Math.abs(expected), floor);
  if (!(error <= tolerance)) {
    throw new Error(`${label}: got ${actual}, expected ${expected} (relative error ${error} > ${tolerance})`);
  }
}

function expectInterval(
  actual: Interval | null | undefined,
  expected: Interval,
  tolerance: number,
  label: string,
) {
  expect(actual).toBeTruthy();
  for (const key of ['estimate', 'lower', 'upper'] as const) {
    expectClose(actual![key], expected[key], tolerance, `${label}.${key}`, 1e-12);
  }
}

/** Strict JSON: only finite numbers, strings, booleans, null, arrays and plain objects; nothing undefined. */
function expectStrictJson(value: unknown, path = 'report'): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path} is ${value}, which JSON cannot hold`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => expectStrictJson(item, `${path}[${i}]`));
    return;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) expectStrictJson(item, `${path}.${key}`);
    return;
  }
  throw new Error(`${path} is ${String(value)} (${typeof value}), which is not JSON`);
}

/** A summary row for a variant whose successful requests all have a confidence. */
function row(
  variant: string | null,
  n: number,
  errors: number,
  meanConfidence = 0.9,
  sdConfidence = 0.05,
  overrides: Partial<VariantSummaryRow> = {},
): VariantSummaryRow {
  const k = n - errors;
  return {
    variant,
    modelVersion: variant === 'candidate' ? 'v13' : 'v12',
    n,
    errors,
    confidenceCount: k,
    confidenceSum: k * meanConfidence,
    confidenceSumSquares: k === 0 ? 0 : (k - 1) * sdConfidence ** 2 + k * meanConfidence ** 2,
    latencyMs: { p50: 40, p95: 120, p99: 230 },
    ...overrides,
  };
}

function analyse(rows: VariantSummaryRow[], intendedCandidatePercent: number, minSamples = 100): AbAnalysis {
  const report = analyseVariants(rows, { intendedCandidatePercent, minSamples, confidence: 0.95 });
  expectStrictJson(report);
  return report;
}

// ---------------------------------------------------------------------------------------------

describe('parseSummaryRows', () => {
  test('reads every column of an Athena result, header row first', () => {
    expect(parseSummaryRows(scenarios.typical.resultSet)).toEqual([
      {
        variant: 'candidate',
        modelVersion: 'v13',
        n: 954,
        errors: 11,
        confidenceCount: 940,
        confidenceSum: 826.833521046119,
        confidenceSumSquares: 732.1387568268552,
        latencyMs: { p50: 44, p95: 131.5, p99: 262.75 },
      },
      {
        variant: 'stable',
        modelVersion: 'v12',
        n: 9046,
        errors: 27,
        confidenceCount: 9019,
        confidenceSum: 8102.668884142968,
        confidenceSumSquares: 7319.938153512481,
        latencyMs: { p50: 41.5, p95: 120.25, p99: 233 },
      },
    ]);
  });

  test("reads doubles in Java's scientific notation, as Athena prints sums from 1e7", () => {
    const [candidate, stable] = parseSummaryRows(scenarios.largeWithSrm.resultSet);
    expect(candidate.confidenceSum).toBe(1.0678807456629544e7);
    expect(stable.confidenceSum).toBe(1.076780837491924e7);
    expect(stable.n).toBe(12_000_000);
  });

  const header = ['variant', 'model_version', 'n', 'errors', 'confidence_n', 'confidence_sum'];
  const fullHeader = [...header, 'confidence_sum_squares', 'latency_ms_percentiles'];
  const resultSet = (columns: string[], ...rows: (string | null)[][]): AthenaResultSet => ({
    Rows: [columns, ...rows].map((cells) => ({
      Data: cells.map((value) => (value === null ? {} : { VarCharValue: value })),
    })),
    ResultSetMetadata: { ColumnInfo: columns.map((Name) => ({ Name, Type: 'varchar' })) },
  });

  test('NULL sums over no confidence, NULL latency and NULL model_version become 0, null and null', () => {
    expect(
      parseSummaryRows(resultSet(fullHeader, ['candidate', null, '12', '12', '0', null, null, null])),
    ).toEqual([
      {
        variant: 'candidate',
        modelVersion: null,
        n: 12,
        errors: 12,
        confidenceCount: 0,
        confidenceSum: 0,
        confidenceSumSquares: 0,
        latencyMs: null,
      },
    ]);
  });

  test('finds columns by name, in any order', () => {
    const shuffled = [...fullHeader].reverse();
    const values = ['stable', 'v1', '10', '1', '9', '8.1', '7.3', '[1.0, 2.5, 3.0E1]'].reverse();
    expect(parseSummaryRows(resultSet(shuffled, values))[0]).toMatchObject({
      variant: 'stable',
      n: 10,
      confidenceSumSquares: 7.3,
      latencyMs: { p50: 1, p95: 2.5, p99: 30 },
    });
  });

  test('a result without some columns names them and says which query to run', () => {
    expect(() => parseSummaryRows(resultSet(header, ['stable', 'v1', '1', '0', '1', '0.9']))).toThrow(
      new Error(
        'parseSummaryRows: the Athena result lacks the columns confidence_sum_squares, latency_ms_percentiles ' +
          '(it has variant, model_version, n, errors, confidence_n, confidence_sum), so it did not come from the ' +
          'summary query; run the query built by buildVariantSummaryQuery unchanged and pass the first page of ' +
          'GetQueryResults (it starts with the header row)',
      ),
    );
  });

  test('a later page, whose first row is data, is refused', () => {
    const page = resultSet(fullHeader, ['stable', 'v1', '10', '1', '9', '8.1', '7.3', '[1.0, 2.0, 3.0]']);
    const secondPage: AthenaResultSet = { ...page, Rows: page.Rows!.slice(1) };
    expect(() => parseSummaryRows(secondPage)).toThrow(
      'parseSummaryRows: the first row (stable, v1, 10, 1, 9, 8.1, 7.3, [1.0, 2.0, 3.0]) is not the header row; ' +
        'the result declares the columns variant, model_version, n, errors, confidence_n, confidence_sum, ' +
        'confidence_sum_squares, latency_ms_percentiles. This looks like a later page: run the query built by ' +
        'buildVariantSummaryQuery unchanged',
    );
  });

  test('an empty result is refused', () => {
    expect(() => parseSummaryRows({ Rows: [] })).toThrow(
      'parseSummaryRows: the Athena result has no rows, not even the header row; run the query built by',
    );
  });

  test('a header-only result is no rows (no traffic that day)', () => {
    expect(parseSummaryRows(resultSet(fullHeader))).toEqual([]);
  });

  test.each([
    ['n', ['stable', 'v1', '12.5', '1', '9', '8.1', '7.3', null], '"12.5", expected a whole number >= 0'],
    ['errors', ['stable', 'v1', '10', null, '9', '8.1', '7.3', null], 'NULL, expected a whole number >= 0'],
    [
      'confidence_sum',
      ['stable', 'v1', '10', '1', '9', 'NaN', '7.3', null],
      '"NaN", expected a finite decimal number (is a confidence NaN or infinite?)',
    ],
    [
      'confidence_sum_squares',
      ['stable', 'v1', '10', '1', '9', '8.1', null, null],
      'NULL, expected a finite decimal number (is a confidence NaN or infinite?)',
    ],
    [
      'latency_ms_percentiles',
      ['stable', 'v1', '10', '1', '9', '8.1', '7.3', '[1.0, 2.0]'],
      '"[1.0, 2.0]", expected an array of 3 latencies >= 0 like [12.5, 40.0, 88.1]',
    ],
  ])('a bad %s value names the row, the column and what was expected', (column, values, what) => {
    expect(() => parseSummaryRows(resultSet(fullHeader, values))).toThrow(
      new Error(
        `parseSummaryRows: row 1 (variant stable, model_version v1): column ${column} is ${what}; ` +
          'run the query built by buildVariantSummaryQuery unchanged and pass the first page of GetQueryResults ' +
          '(it starts with the header row)',
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('analyseVariants against scipy', () => {
  const typicalRows = parseSummaryRows(scenarios.typical.resultSet);

  test.each(scenarios.typical.expected.map((e) => [e.confidence, e] as const))(
    'the typical day at confidence %s matches scipy',
    (confidence, expected) => {
      const report = analyseVariants(typicalRows, {
        intendedCandidatePercent: scenarios.typical.intendedCandidatePercent,
        minSamples: 100,
        confidence,
      });
      expectStrictJson(report);
      expect(report.status).toBe('compared');
      expect(report.srm).toBe(false);
      for (const name of ['stable', 'candidate'] as const) {
        const actual = report[name]!;
        const want = expected[name];
        expect([actual.n, actual.errors, actual.confidenceCount]).toEqual([
          want.n,
          want.errors,
          want.confidenceCount,
        ]);
        expectInterval(actual.errorRate, want.errorRate, 1e-12, `${name}.errorRate`);
        // The code works from Athena's sums, scipy from the raw draws: sum-of-squares rounding.
        expectInterval(actual.meanConfidence, want.meanConfidence, 1e-10, `${name}.meanConfidence`);
        expectClose(actual.meanConfidence!.stdDev, want.meanConfidence.stdDev, 1e-9, `${name}.stdDev`);
      }
      expectInterval(report.errorRateDifference, expected.errorRateDifference, 1e-12, 'errorRateDifference');
      const welch = report.meanConfidenceDifference!;
      expectInterval(welch, expected.meanConfidenceDifference, 1e-9, 'meanConfidenceDifference');
      expectClose(welch.degreesOfFreedom!, expected.meanConfidenceDifference.degreesOfFreedom, 1e-8, 'df');
      expectClose(welch.pValue, expected.meanConfidenceDifference.pValue, 1e-6, 'pValue');
      expectClose(report.sampleRatio!.chiSquare!, expected.sampleRatio.chiSquare, 1e-12, 'chiSquare');
      expectClose(report.sampleRatio!.pValue, expected.sampleRatio.pValue, 1e-12, 'srm pValue');
      expect(report.errorRateDifference!.direction).toBe('candidate-higher');
      expect(report.meanConfidenceDifference!.direction).toBe('candidate-lower');
      expect(report.reasons).toEqual([]);
    },
  );

  test('the typical day reads, for a person, as the numbers say', () => {
    const report = analyse(typicalRows, 10);
    expect(report.findings).toEqual([
      {
        severity: 'info',
        topic: 'errors',
        text:
          'candidate error rate 1.15% [0.65, 2.05] vs stable 0.30% [0.21, 0.43]; ' +
          'difference +0.85 points [+0.33, +1.76]: candidate higher',
      },
      {
        severity: 'info',
        topic: 'confidence',
        text:
          'candidate mean confidence 0.8796 [0.8750, 0.8842] vs stable 0.8984 [0.8970, 0.8998]; ' +
          'difference -0.0188 [-0.0236, -0.0140]: candidate lower',
      },
      {
        severity: 'info',
        topic: 'latency',
        text:
          'latency p50/p95/p99: candidate 44/132/263 ms vs stable 42/120/233 ms ' +
          '(approximate percentiles, no interval)',
      },
    ]);
    expect(report.sampleRatio).toEqual({
      observed: { stable: 9046, candidate: 954 },
      expected: { stable: 9000, candidate: 1000 },
      observedCandidatePercent: 9.54,
      chiSquare: expect.any(Number),
      pValue: expect.any(Number),
      srm: false,
    });
  });

  const large = scenarios.largeWithSrm;
  const largeRows = parseSummaryRows(large.resultSet);

  test('12 million requests a side, 50,000 short of a 50% split: assignment broken, no difference', () => {
    const report = analyse(largeRows, large.intendedCandidatePercent);
    const [expected] = large.expected;
    expect(report.status).toBe('assignment-broken');
    expect(report.srm).toBe(true);
    expectClose(report.sampleRatio!.chiSquare!, expected.sampleRatio.chiSquare, 1e-12, 'chiSquare');
    expectClose(report.sampleRatio!.pValue, expected.sampleRatio.pValue, 1e-9, 'srm pValue');
    expect(report.findings[0]).toEqual({
      severity: 'critical',
      topic: 'assignment',
      text:
        'assignment looks broken: the candidate got 11,900,000 of 23,900,000 requests (49.79%) but the flag ' +
        'intends 50% (about 11,950,000); sample-ratio mismatch, p = 5.4e-93. No difference is reported: check ' +
        'whether the flag changed during the day, the router assignment (hash salt, user ids) and whether one ' +
        'variant lost logs',
    });
    expect(report.reasons).toEqual([
      'assignment looks broken (sample-ratio mismatch), so no difference is reported',
    ]);
    expect(report.errorRateDifference).toBeNull();
    expect(report.meanConfidenceDifference).toBeNull();
    // The variants themselves are still described.
    for (const name of ['stable', 'candidate'] as const) {
      expectInterval(report[name]!.errorRate, expected[name].errorRate, 1e-12, `${name}.errorRate`);
      expectInterval(
        report[name]!.meanConfidence,
        expected[name].meanConfidence,
        1e-9,
        `${name}.meanConfidence`,
      );
    }
  });

  test('the same large day, against the split it actually had, compares like scipy (df in the millions)', () => {
    const report = analyse(largeRows, (11_900_000 / 23_900_000) * 100);
    const [expected] = large.expected;
    expect(report.status).toBe('compared');
    expectInterval(report.errorRateDifference, expected.errorRateDifference, 1e-9, 'errorRateDifference');
    expectInterval(
      report.meanConfidenceDifference,
      expected.meanConfidenceDifference,
      1e-6,
      'meanConfidenceDifference',
    );
    expect(report.errorRateDifference!.direction).toBe('candidate-lower');
    expect(report.meanConfidenceDifference!.direction).toBe('no-detectable-difference');
  });
});

// ---------------------------------------------------------------------------------------------

describe('analyseVariants edge cases', () => {
  test('zero errors on both sides: rates of exactly 0 and a difference that finds nothing', () => {
    const report = analyse([row('stable', 5000, 0), row('candidate', 5000, 0)], 50);
    expect(report.stable!.errorRate.estimate).toBe(0);
    expect(report.stable!.errorRate.lower).toBe(0);
    // scipy.stats.binomtest(0, 5000).proportion_ci(method='wilson').high
    expect(report.stable!.errorRate.upper).toBeCloseTo(7.677019450571243e-4, 15);
    expect(report.errorRateDifference).toMatchObject({ estimate: 0, direction: 'no-detectable-difference' });
  });

  test('a candidate whose every request failed: error rate 1, no confidence to compare, and it says why', () => {
    const report = analyse([row('stable', 9000, 30), row('candidate', 1000, 1000)], 10);
    expect(report.status).toBe('compared');
    expect(report.candidate!.errorRate).toMatchObject({ estimate: 1, upper: 1 });
    expect(report.candidate!.meanConfidence).toBeNull();
    expect(report.errorRateDifference!.direction).toBe('candidate-higher');
    expect(report.meanConfidenceDifference).toBeNull();
    expect(report.reasons).toEqual([
      'candidate has 0 confidence values (successful requests), fewer than the 100 needed: mean confidence ' +
        'is not compared (every request failed)',
    ]);
  });

  test('too few candidate requests is insufficient, never a loss, however bad they look', () => {
    const report = analyse([row('stable', 9960, 10), row('candidate', 40, 20, 0.2)], 0.4);
    expect(report.status).toBe('insufficient');
    expect(report.srm).toBe(false);
    expect(report.errorRateDifference).toBeNull();
    expect(report.meanConfidenceDifference).toBeNull();
    expect(report.findings.map((f) => f.topic)).toEqual(['latency']);
    expect(report.reasons).toEqual([
      'candidate served 40 requests, fewer than the 100 needed to compare (minSamples): no win or loss can be ' +
        'read from this day; wait for more traffic or raise the candidate share in the flag',
    ]);
    // The variant is still described, with its (wide) interval.
    expect(report.candidate!.errorRate.estimate).toBe(0.5);
  });

  test('a missing candidate under a 10% flag is a broken assignment', () => {
    const report = analyse([row('stable', 5000, 10)], 10);
    expect(report.status).toBe('assignment-broken');
    expect(report.candidate).toBeNull();
    expect(report.sampleRatio).toMatchObject({ observed: { stable: 5000, candidate: 0 }, srm: true });
    expect(report.reasons).toEqual([
      'assignment looks broken (sample-ratio mismatch), so no difference is reported',
      'candidate served 0 requests, fewer than the 100 needed to compare (minSamples): no win or loss can be ' +
        'read from this day; wait for more traffic or raise the candidate share in the flag',
    ]);
  });

  test('a missing candidate under a 0% flag: no A/B test ran, and nothing is broken', () => {
    const report = analyse([row('stable', 5000, 10)], 0);
    expect(report.status).toBe('insufficient');
    expect(report.sampleRatio).toMatchObject({ chiSquare: 0, pValue: 1, srm: false });
    expect(report.reasons).toEqual([
      'candidate served 0 requests, fewer than the 100 needed to compare (minSamples): the flag sends it 0% ' +
        'of traffic, so no A/B test ran',
    ]);
  });

  test('candidate rows under a 0% flag are a sample-ratio mismatch, with no infinite statistic', () => {
    const report = analyse([row('stable', 5000, 10), row('candidate', 3, 0)], 0);
    expect(report.srm).toBe(true);
    expect(report.status).toBe('assignment-broken');
    expect(report.sampleRatio).toEqual({
      observed: { stable: 5000, candidate: 3 },
      expected: { stable: 5003, candidate: 0 },
      observedCandidatePercent: (3 / 5003) * 100,
      chiSquare: null,
      pValue: 0,
      srm: true,
    });
    expect(report.findings[0]).toEqual({
      severity: 'critical',
      topic: 'assignment',
      text:
        'assignment looks broken: the candidate got 3 of 5,003 requests (0.06%) but the flag intends 0% ' +
        '(about 0); sample-ratio mismatch, impossible under the intended split. No difference is reported: ' +
        'check whether the flag changed during the day, the router assignment (hash salt, user ids) and ' +
        'whether one variant lost logs',
    });
  });

  test('stable rows under a 100% flag are a mismatch too; none are not', () => {
    expect(analyse([row('stable', 2, 0), row('candidate', 5000, 3)], 100).srm).toBe(true);
    const allCandidate = analyse([row('candidate', 5000, 3)], 100);
    expect(allCandidate.srm).toBe(false);
    expect(allCandidate.reasons).toEqual([
      'stable served 0 requests, fewer than the 100 needed to compare (minSamples): the flag sends it 0% ' +
        'of traffic, so no A/B test ran',
    ]);
  });

  test('no logs at all: insufficient, and it says where to look', () => {
    const report = analyse([], 10);
    expect(report).toMatchObject({ status: 'insufficient', srm: false, sampleRatio: null, stable: null });
    expect(report.reasons).toEqual([
      'no prediction logs for this model and day: check that the router is logging (Firehose delivery to S3) ' +
        'and that the day is complete before rerunning',
    ]);
  });

  test('a variant that changed model version during the day: counts add up, latency only per version', () => {
    const report = analyse(
      [
        row('stable', 1000, 5, 0.9, 0.05, {
          modelVersion: 'v11',
          latencyMs: { p50: 50, p95: 150, p99: 300 },
        }),
        row('stable', 8000, 20, 0.9, 0.05, { modelVersion: 'v12' }),
        row('candidate', 1000, 4),
      ],
      10,
    );
    expect(report.stable).toMatchObject({ n: 9000, errors: 25, confidenceCount: 8975, latencyMs: null });
    expect(report.stable!.modelVersions.map((v) => [v.modelVersion, v.n, v.latencyMs?.p95])).toEqual([
      ['v12', 8000, 120],
      ['v11', 1000, 150],
    ]);
    expect(report.findings[0]).toEqual({
      severity: 'info',
      topic: 'versions',
      text:
        'stable served 2 model versions during the day (v12: 8,000 requests, v11: 1,000 requests); its figures ' +
        'mix them, and its latency percentiles are given per version only',
    });
    expect(report.findings.some((f) => f.topic === 'latency')).toBe(false);
  });

  test('rows of other variants are left out of the comparison and the split, and reported', () => {
    const report = analyse(
      [row('stable', 9000, 0), row('candidate', 1000, 0), row('shadow', 70, 0), row(null, 1, 0)],
      10,
    );
    expect(report.sampleRatio!.observed).toEqual({ stable: 9000, candidate: 1000 });
    expect(report.findings.slice(0, 2).map((f) => f.text)).toEqual([
      'left out 70 requests logged with variant "shadow"; only stable and candidate are compared (check the router if this variant is unexpected)',
      'left out 1 request logged with variant NULL; only stable and candidate are compared (check the router if this variant is unexpected)',
    ]);
  });

  test('defaults: minSamples 100 and 95% intervals', () => {
    const report = analyseVariants([row('stable', 900, 1), row('candidate', 99, 0)], {
      intendedCandidatePercent: 10,
    });
    expect(DEFAULT_MIN_AB_SAMPLES).toBe(100);
    expect(report).toMatchObject({ minSamples: 100, confidence: 0.95, status: 'insufficient' });
  });

  test('the mismatch threshold is p < 0.001', () => {
    expect(SRM_P_VALUE_THRESHOLD).toBe(0.001);
    // chi-square 10.83 is p = 0.001 at 1 degree of freedom: 10.0 passes, 11.1 does not.
    // 10,000 at 50%: chi-square = 4 d² / 10,000, so d = 158 gives 9.99 and d = 167 gives 11.16.
    expect(analyse([row('stable', 5158, 0), row('candidate', 4842, 0)], 50).srm).toBe(false);
    expect(analyse([row('stable', 5167, 0), row('candidate', 4833, 0)], 50).srm).toBe(true);
  });

  test('bad options and rows are refused with the offending value', () => {
    const rows = [row('stable', 100, 0)];
    expect(() => analyseVariants(rows, { intendedCandidatePercent: 101 })).toThrow(
      "analyseVariants: intendedCandidatePercent must be a number from 0 to 100 (the flag's candidate share), got 101",
    );
    expect(() => analyseVariants(rows, { intendedCandidatePercent: NaN })).toThrow('got NaN');
    expect(() => analyseVariants(rows, { intendedCandidatePercent: 10, minSamples: 0 })).toThrow(
      'analyseVariants: minSamples must be a whole number >= 1, got 0',
    );
    expect(() => analyseVariants(rows, { intendedCandidatePercent: 10, confidence: 95 })).toThrow(
      'analyseVariants: confidence must be strictly between 0 and 1 (e.g. 0.95), got 95',
    );
    expect(() =>
      analyseVariants([row('stable', 10, 11, 0.9, 0.05, { confidenceCount: 0 })], {
        intendedCandidatePercent: 10,
      }),
    ).toThrow(
      'analyseVariants: rows[0] (variant stable, model_version v12): errors (11) cannot exceed n (10)',
    );
    expect(() =>
      analyseVariants([row('stable', 10, 1, 0.9, 0.05, { confidenceCount: 10 })], {
        intendedCandidatePercent: 10,
      }),
    ).toThrow(
      'analyseVariants: rows[0] (variant stable, model_version v12): confidenceCount (10) cannot exceed the successful requests (9)',
    );
    expect(() =>
      analyseVariants([row('stable', 10, 0), row('stable', 5, 0)], { intendedCandidatePercent: 10 }),
    ).toThrow(
      'analyseVariants: two rows for variant stable, model_version v12; the summary query groups by both, so each pair appears once: pass its rows unchanged',
    );
    expect(() =>
      analyseVariants([row('stable', 10, 0, 0.9, 0.05, { confidenceSumSquares: 1 })], {
        intendedCandidatePercent: 10,
      }),
    ).toThrow('summaryFromSums: sum 9 and sum of squares 1 over 10 values imply a negative variance');
  });
});

// ---------------------------------------------------------------------------------------------

describe('stats.ts additions: summaryFromSums and meanInterval', () => {
  test('a sample of 0.1, 0.2, 0.3 from its sums: mean 0.2, variance 0.01, and scipy t interval', () => {
    const summary = summaryFromSums(3, 0.6, 0.14);
    expect(summary.mean).toBeCloseTo(0.2, 15);
    expect(summary.variance).toBeCloseTo(0.01, 15);
    // scipy.stats.t.interval(0.95, 2, loc=0.2, scale=0.1 / 3 ** 0.5)
    const interval = meanInterval(summary, 0.95);
    expect(interval.lower).toBeCloseTo(-0.04841377117503301, 13);
    expect(interval.upper).toBeCloseTo(0.448413771175033, 13);
    expect(interval.degreesOfFreedom).toBe(2);
  });

  test('empty and single-value samples, and constant samples whose rounding dips below zero', () => {
    expect(summaryFromSums(0, 0, 0)).toEqual({ count: 0, mean: 0, variance: 0, stdDev: 0 });
    expect(summaryFromSums(1, 0.7, 0.49)).toEqual({ count: 1, mean: 0.7, variance: 0, stdDev: 0 });
    // Seven values of 0.7 summed in doubles: sumOfSquares - sum * mean is -1.3e-15, not 0.
    expect(3.4299999999999993 - 4.9 * (4.9 / 7)).toBeLessThan(0);
    const constant = summaryFromSums(7, 4.9, 3.4299999999999993);
    expect(constant.variance).toBe(0);
    expect(meanInterval(constant)).toMatchObject({ lower: constant.mean, upper: constant.mean });
  });

  test('Welch survives variances so small that their squares underflow (found by the property test below)', () => {
    // Welch–Satterthwaite squares variance/n: below ~1e-154 that was 0/0, a NaN df and a throw.
    const tiny = { count: 100, mean: 1e-160, variance: 1e-300, stdDev: 1e-150 };
    const constant = { count: 50, mean: 0, variance: 0, stdDev: 0 };
    expect(meanDifferenceInterval(tiny, constant).degreesOfFreedom).toBeCloseTo(99, 9);
    expect(meanDifferenceInterval(tiny, tiny).degreesOfFreedom).toBeCloseTo(198, 9);
  });

  test('impossible sums and too-small samples are refused', () => {
    expect(() => summaryFromSums(0, 1, 1)).toThrow(
      'summaryFromSums: count is 0 but sum is 1 and sum of squares 1; an empty sample sums to 0',
    );
    expect(() => summaryFromSums(2, 1, -1)).toThrow(
      'summaryFromSums: expected a finite sum and a finite sum of squares >= 0, got sum 1, sum of squares -1',
    );
    expect(() => meanInterval(summaryFromSums(1, 0.5, 0.25))).toThrow(
      'meanInterval: the sample has 1 values; an interval needs at least 2',
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('analyseVariants properties', () => {
  /** How a variant's requests went: shares of errors and missing confidences, and the confidences' spread. */
  const variantShape = fc.record({
    errorShare: fc.oneof(
      fc.constantFrom(0, 1),
      fc.double({ min: 0, max: 0.05, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ),
    missingShare: fc.double({ min: 0, max: 0.1, noNaN: true }),
    mean: fc.double({ min: 0, max: 1, noNaN: true }),
    spread: fc.double({ min: 0, max: 1, noNaN: true }),
  });
  type Shape = typeof variantShape extends fc.Arbitrary<infer T> ? T : never;

  /** A row with sums that a real sample of confidences in [0, 1] could have. */
  function shapedRow(variant: 'stable' | 'candidate', n: number, shape: Shape): VariantSummaryRow {
    const errors = Math.round(n * shape.errorShare);
    const k = Math.floor((n - errors) * (1 - shape.missingShare));
    // Values in [0, 1] with this mean have a variance of at most mean (1 - mean).
    const variance = shape.spread * shape.mean * (1 - shape.mean);
    return {
      ...row(variant, n, errors),
      confidenceCount: k,
      confidenceSum: k * shape.mean,
      confidenceSumSquares: k === 0 ? 0 : (k - 1) * variance + k * shape.mean * shape.mean,
    };
  }

  // Counts usually follow the intended split (binomial noise of up to 4 sigma), so that every
  // status occurs; sometimes they are drawn without regard to it.
  const inputs = fc
    .record({
      total: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1000, max: 50_000 })),
      percent: fc.oneof(fc.constantFrom(0, 100, 50), fc.double({ min: 0.01, max: 99.99, noNaN: true })),
      noise: fc.double({ min: -4, max: 4, noNaN: true }),
      followSplit: fc.double({ min: 0, max: 1, noNaN: true }),
      independentShare: fc.double({ min: 0, max: 1, noNaN: true }),
      stable: variantShape,
      candidate: variantShape,
      minSamples: fc.integer({ min: 1, max: 200 }),
      confidence: fc.double({ min: 0.5, max: 0.999, noNaN: true }),
    })
    .map(({ total, percent, noise, followSplit, independentShare, ...rest }) => {
      const share = followSplit < 0.8 ? percent / 100 : independentShare;
      const sigma = Math.sqrt(total * share * (1 - share));
      const candidateN = Math.min(total, Math.max(0, Math.round(total * share + noise * sigma)));
      const rows = [
        shapedRow('stable', total - candidateN, rest.stable),
        shapedRow('candidate', candidateN, rest.candidate),
      ];
      return { rows, percent, minSamples: rest.minSamples, confidence: rest.confidence };
    });

  const contains = (i: Interval): boolean => i.lower <= i.estimate && i.estimate <= i.upper;

  test('intervals contain their estimates, rates stay in [0, 1], the report is strict JSON', () => {
    let withDifferences = 0;
    fc.assert(
      fc.property(inputs, ({ rows, percent, minSamples, confidence }) => {
        const report = analyseVariants(
          rows.filter((r) => r.n > 0),
          { intendedCandidatePercent: percent, minSamples, confidence },
        );
        expectStrictJson(report);
        for (const v of [report.stable, report.candidate]) {
          if (v === null) continue;
          expect(contains(v.errorRate)).toBe(true);
          expect(v.errorRate.lower).toBeGreaterThanOrEqual(0);
          expect(v.errorRate.upper).toBeLessThanOrEqual(1);
          if (v.meanConfidence) expect(contains(v.meanConfidence)).toBe(true);
        }
        if (report.errorRateDifference) {
          expect(contains(report.errorRateDifference)).toBe(true);
          expect(report.errorRateDifference.lower).toBeGreaterThanOrEqual(-1);
          expect(report.errorRateDifference.upper).toBeLessThanOrEqual(1);
        }
        if (report.meanConfidenceDifference) {
          expect(contains(report.meanConfidenceDifference)).toBe(true);
          withDifferences += 1;
        }
      }),
      { numRuns: 300 },
    );
    // Guards the generator: the difference intervals must really be exercised (over 60 seeds
    // of 300 runs, at least 28 runs had one).
    expect(withDifferences).toBeGreaterThan(10);
  });

  test('a variant below minSamples or a mismatch never yields a difference', () => {
    const seen = { compared: 0, insufficient: 0, 'assignment-broken': 0 };
    fc.assert(
      fc.property(inputs, ({ rows, percent, minSamples, confidence }) => {
        const report = analyseVariants(
          rows.filter((r) => r.n > 0),
          { intendedCandidatePercent: percent, minSamples, confidence },
        );
        seen[report.status] += 1;
        const thin = rows.some((r) => r.n < minSamples);
        expect(report.srm).toBe(
          report.sampleRatio !== null && report.sampleRatio.pValue < SRM_P_VALUE_THRESHOLD,
        );
        if (thin || report.srm) {
          expect(report.status).toBe(report.srm ? 'assignment-broken' : 'insufficient');
          expect(report.errorRateDifference).toBeNull();
          expect(report.meanConfidenceDifference).toBeNull();
          expect(report.reasons.length).toBeGreaterThan(0);
        } else {
          expect(report.status).toBe('compared');
          expect(report.errorRateDifference).not.toBeNull();
        }
      }),
      { numRuns: 300 },
    );
    // Guards the generator: every status occurs (over 60 seeds of 300 runs, each at least 15 times).
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(5);
  });
});
