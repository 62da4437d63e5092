import {
  analyseExperiment,
  buildBucketTotalsQuery,
  buildFlagHistoryQuery,
  daysBefore,
  findExperiment,
  parseBucketTotals,
  parseFlagHistory,
  type BucketTotals,
  type FlagHistoryRow,
} from '../../lambdas/core/routing/ab-experiment';
import { seededRandom } from '../../lambdas/core/statistics/gate-stats';
import { experimentFixture } from '../helpers/ab-simulation';

const TABLE = { database: 'mlops_prediction_logs', table: 'predictions', model: 'document-classifier' };
const WINDOW = { fromDay: '2026-10-23', day: '2026-11-26' };

function row(
  percent: number | null,
  variant: string,
  version: string,
  firstTs: string,
  lastTs: string,
  extra: Partial<FlagHistoryRow> = {},
): FlagHistoryRow {
  return {
    experimentFlag: 'experiment=ab',
    killSwitchFlag: 'killSwitch=false',
    percentFlag: percent === null ? null : `candidatePercent=${percent}`,
    variant,
    modelVersion: version,
    firstTs,
    lastTs,
    n: 100,
    ...extra,
  };
}

describe('findExperiment: the experiment at the end of the day, from the flag history', () => {
  test('a new candidate version at the same share starts a new experiment after the old one last served', () => {
    const search = findExperiment(
      [
        row(10, 'stable', 'v12', '2026-11-01T00:00:00.000Z', '2026-11-26T23:00:00.000Z'),
        row(10, 'candidate', 'v13', '2026-11-01T00:00:01.000Z', '2026-11-18T10:00:05.000Z'),
        row(10, 'candidate', 'v14', '2026-11-18T10:00:00.000Z', '2026-11-26T23:00:01.000Z'),
      ],
      WINDOW,
    );
    expect(search).toEqual({
      found: true,
      experiment: {
        name: 'ab',
        candidatePercent: 10,
        stableVersion: 'v12',
        candidateVersion: 'v14',
        flags: ['experiment=ab', 'killSwitch=false', 'candidatePercent=10'],
        after: '2026-11-18T10:00:05.000Z',
        firstSeen: '2026-11-18T10:00:05.000Z',
        firstDay: '2026-11-18',
        startedBeforeWindow: false,
      },
    });
  });

  test('a flag that went back to an earlier split is a new experiment, not the old one resumed', () => {
    const search = findExperiment(
      [
        row(10, 'stable', 'v12', '2026-11-01T00:00:00.000Z', '2026-11-26T23:00:00.000Z'),
        row(10, 'candidate', 'v13', '2026-11-01T00:00:00.000Z', '2026-11-26T23:00:00.000Z'),
        row(50, 'stable', 'v12', '2026-11-10T00:00:00.000Z', '2026-11-12T00:00:00.000Z'),
        row(50, 'candidate', 'v13', '2026-11-10T00:00:00.000Z', '2026-11-12T00:00:00.000Z'),
      ],
      WINDOW,
    );
    expect(search.found && search.experiment).toMatchObject({
      candidatePercent: 10,
      after: '2026-11-12T00:00:00.000Z',
      firstDay: '2026-11-12',
    });
  });

  test('an experiment already running on the first day of the window says it may be older', () => {
    const search = findExperiment(
      [
        row(10, 'stable', 'v12', '2026-10-23T00:00:01.000Z', '2026-11-26T23:00:00.000Z'),
        row(10, 'candidate', 'v13', '2026-10-23T00:00:02.000Z', '2026-11-26T23:00:00.000Z'),
      ],
      WINDOW,
    );
    expect(search.found && search.experiment).toMatchObject({ after: null, startedBeforeWindow: true });
  });

  test('rows of other variants are ignored; a rows without requests change nothing', () => {
    const search = findExperiment(
      [
        row(10, 'stable', 'v12', '2026-11-20T00:00:00.000Z', '2026-11-26T23:00:00.000Z'),
        row(10, 'candidate', 'v13', '2026-11-20T00:00:00.000Z', '2026-11-26T23:00:00.000Z'),
        row(10, 'shadow', 'v14', '2026-11-20T00:00:00.000Z', '2026-11-26T23:59:59.000Z'),
        row(5, 'stable', 'v12', '2026-11-20T00:00:00.000Z', '2026-11-25T00:00:00.000Z', { n: 0 }),
      ],
      WINDOW,
    );
    expect(search.found && search.experiment).toMatchObject({ candidatePercent: 10, after: null });
  });
});

describe('the queries', () => {
  test('flag history reads the lookback window of one model, without flag-unavailable requests', () => {
    const sql = buildFlagHistoryQuery({ ...TABLE, fromDay: '2026-10-23', toDay: '2026-11-26' });
    expect(sql).toContain(`FROM "mlops_prediction_logs"."predictions"`);
    expect(sql).toContain(
      "WHERE model = 'document-classifier'\n  AND dt >= '2026-10-23' AND dt <= '2026-11-26'",
    );
    expect(sql).toContain("AND routed_by <> 'flag-unavailable'");
    expect(sql).toContain(
      "element_at(filter(active_flags, f -> f LIKE 'candidatePercent=%'), 1) AS percent_flag",
    );
  });

  test('bucket totals quote every value that comes from the log, and refuse a bad table name', () => {
    const experiment = {
      ...experimentFixture(10),
      stableVersion: "v1'; DROP TABLE x; --",
      after: '2026-11-20T10:00:00.000Z',
      firstDay: '2026-11-20',
    };
    const sql = buildBucketTotalsQuery({ ...TABLE, experiment, toDay: '2026-11-26' });
    expect(sql).toContain("model_version = 'v1''; DROP TABLE x; --'");
    expect(sql).toContain("AND ts > '2026-11-20T10:00:00.000Z'");
    expect(sql).toContain("AND contains(active_flags, 'candidatePercent=10')");
    expect(sql).toContain('GROUP BY variant, user_bucket');
    expect(() =>
      buildBucketTotalsQuery({ ...TABLE, table: 'Predictions', experiment, toDay: '2026-11-26' }),
    ).toThrow(/table "Predictions" is not a valid Athena table name/);
    expect(() =>
      buildBucketTotalsQuery({
        ...TABLE,
        experiment: { ...experiment, after: "x' OR 1=1" },
        toDay: '2026-11-26',
      }),
    ).toThrow(/not a prediction-log time/);
  });

  test('daysBefore counts calendar days across months and leap years', () => {
    expect(daysBefore('2026-11-26', 34)).toBe('2026-10-23');
    expect(daysBefore('2028-03-01', 1)).toBe('2028-02-29');
    expect(() => daysBefore('2026-02-29', 1)).toThrow(/not a calendar date/);
  });
});

describe('reading results', () => {
  const set = (columns: string[], ...rows: (string | null)[][]) => ({
    Rows: [columns, ...rows].map((cells) => ({
      Data: cells.map((v) => (v === null ? {} : { VarCharValue: v })),
    })),
  });
  const TOTALS = ['variant', 'user_bucket', 'n', 'errors', 'confidence_n', 'confidence_sum'];

  test('bucket totals: numbers as Athena writes them', () => {
    expect(parseBucketTotals(set(TOTALS, ['stable', '4711', '12', '1', '11', '8.8E0']))).toEqual([
      { variant: 'stable', bucket: 4711, n: 12, errors: 1, confidenceCount: 11, confidenceSum: 8.8 },
    ]);
  });

  test.each([
    [['shadow', '1', '1', '0', '1', '0.5'], /column variant is "shadow", expected stable or candidate/],
    [['stable', '10000', '1', '0', '1', '0.5'], /column user_bucket is 10000, expected 0 to 9999/],
    [['stable', '1', '1', '2', '0', '0'], /more errors or confidences than requests/],
    [
      ['stable', '1', '1', '0', '1', 'NaN'],
      /column confidence_sum is "NaN", expected a finite decimal number/,
    ],
  ])('refuses a bucket row %j', (cells, message) => {
    expect(() => parseBucketTotals(set(TOTALS, cells))).toThrow(message);
  });

  test('a result without the expected columns names them and says which query to run', () => {
    expect(() => parseFlagHistory(set(['variant', 'n'], ['stable', '1']))).toThrow(
      /the flag-history result lacks the column\(s\) experiment_flag, kill_switch_flag, percent_flag, model_version, first_ts, last_ts/,
    );
    expect(() => parseBucketTotals({ Rows: [] })).toThrow(/no rows, not even the header row/);
  });
});

describe('analyseExperiment', () => {
  /** Buckets of a 10% split with n requests each and the given error and confidence figures. */
  function buckets(count: { stable: number; candidate: number }, errorRate = 0.01, seed = 3): BucketTotals[] {
    const random = seededRandom(seed);
    const rows: BucketTotals[] = [];
    const add = (variant: 'stable' | 'candidate', k: number, from: number, to: number) => {
      for (let i = 0; i < k; i++) {
        const n = 5 + Math.floor(random() * 20);
        const errors = random() < errorRate * n ? 1 : 0;
        rows.push({
          variant,
          bucket: from + Math.floor((i * (to - from)) / k),
          n,
          errors,
          confidenceCount: n - errors,
          confidenceSum: (n - errors) * (0.75 + 0.1 * random()),
        });
      }
    };
    add('candidate', count.candidate, 0, 1000);
    add('stable', count.stable, 1000, 10_000);
    return rows;
  }
  const experiment = experimentFixture(10);

  test('a sound split with enough buckets is compared, with a verdict and an MDE per metric', () => {
    const analysis = analyseExperiment(buckets({ stable: 2700, candidate: 300 }), { experiment });
    expect(analysis.status).toBe('compared');
    expect(analysis.split).toMatchObject({ misassignedBuckets: 0, broken: false, candidateBuckets: 1000 });
    expect(analysis.comparisons.map((c) => c.metric)).toEqual(['error-rate', 'mean-confidence']);
    for (const c of analysis.comparisons) {
      expect(['no-difference-detected', 'insufficient']).toContain(c.verdict);
      expect(c.minimumDetectableEffect).toBeGreaterThan(0);
      expect(c.adjustedPValue).toBeGreaterThanOrEqual(c.pValue);
      expect(c.difference.confidence).toBeCloseTo(0.975, 12);
    }
    expect(JSON.parse(JSON.stringify(analysis))).toEqual(analysis);
  });

  test('too few candidate buckets for the effect of interest: the error rate is insufficient, with the MDE', () => {
    const analysis = analyseExperiment(buckets({ stable: 360, candidate: 40 }), { experiment });
    const error = analysis.comparisons.find((c) => c.metric === 'error-rate')!;
    expect(analysis.status).toBe('compared');
    expect(error.verdict).toBe('insufficient');
    expect(error.minimumDetectableEffect).toBeGreaterThan(error.effectOfInterest);
    expect(error.text).toMatch(
      /not enough data yet: only a difference of \d+\.\d\d points or more would be seen, the aim is 1\.00 points/,
    );
  });

  test('one variant only is insufficient, with the reason, and never a winner', () => {
    const analysis = analyseExperiment(
      buckets({ stable: 5, candidate: 1 }).filter((b) => b.variant === 'stable'),
      { experiment },
    );
    expect(analysis.status).toBe('insufficient');
    expect(analysis.reasons).toContain(
      'candidate served no request in the experiment: one variant only, nothing to compare',
    );
    expect(analysis.comparisons).toEqual([]);
  });

  test('no candidate traffic where the split predicts plenty: assignment-broken, and the reason says one variant only', () => {
    const analysis = analyseExperiment(
      buckets({ stable: 900, candidate: 100 }).filter((b) => b.variant === 'stable'),
      { experiment },
    );
    expect(analysis.status).toBe('assignment-broken');
    expect(analysis.reasons).toContain(
      'candidate served no request in the experiment: one variant only, nothing to compare',
    );
    expect(analysis.comparisons).toEqual([]);
  });

  test('fewer requests than routing.analysis.minSamples is insufficient', () => {
    const analysis = analyseExperiment(buckets({ stable: 900, candidate: 100 }), {
      experiment,
      minRequests: 5000,
    });
    expect(analysis.status).toBe('insufficient');
    expect(
      analysis.reasons.some((r) => /^candidate served \d+ requests, fewer than the 5000 needed/.test(r)),
    ).toBe(true);
    expect(analysis.comparisons.every((c) => c.verdict === 'not-compared')).toBe(true);
  });

  test('far fewer active candidate buckets than the split predicts: assignment-broken', () => {
    const rows = buckets({ stable: 2700, candidate: 300 }).filter(
      (b) => b.variant === 'stable' || b.bucket % 5 === 0,
    );
    const analysis = analyseExperiment(rows, { experiment });
    expect(analysis.status).toBe('assignment-broken');
    expect(analysis.split!.pValue).toBeLessThan(0.001);
    expect(analysis.reasons[0]).toMatch(
      /^assignment looks broken: \d+ of \d+ buckets with traffic are the candidate's/,
    );
  });

  test('the effect of interest is the policy that turns "insufficient" into "no difference detected"', () => {
    const rows = buckets({ stable: 360, candidate: 40 });
    const strict = analyseExperiment(rows, { experiment });
    const error = strict.comparisons.find((c) => c.metric === 'error-rate')!;
    expect(error.verdict).toBe('insufficient');
    // A team that only cares about an error rate 3 MDEs away sees "no difference detected" on the same data.
    const coarse = analyseExperiment(rows, {
      experiment,
      effectOfInterest: { errorRate: 3 * error.minimumDetectableEffect, meanConfidence: 0.02 },
    });
    const coarseError = coarse.comparisons.find((c) => c.metric === 'error-rate')!;
    expect(coarseError.effectOfInterest).toBe(3 * error.minimumDetectableEffect);
    expect(coarseError.verdict).toBe('no-difference-detected');
    expect(() =>
      analyseExperiment(rows, { experiment, effectOfInterest: { errorRate: 0, meanConfidence: 0.02 } }),
    ).toThrow('effectOfInterest.errorRate must be a positive number, got 0');
  });

  test('routing.analysis.minEffectiveBuckets raises the floor and is named in the reason', () => {
    const rows = buckets({ stable: 2700, candidate: 300 });
    expect(analyseExperiment(rows, { experiment }).status).toBe('compared');
    const analysis = analyseExperiment(rows, { experiment, minEffectiveBuckets: 1000 });
    expect(analysis.status).toBe('insufficient');
    expect(analysis.reasons).toEqual([
      expect.stringMatching(
        /^candidate's traffic comes from too few user buckets \(300 with traffic, \d+\.\d effective, 1000 needed, routing\.analysis\.minEffectiveBuckets\)/,
      ),
    ]);
  });

  test('routing.analysis.alpha sets the level of the intervals', () => {
    const analysis = analyseExperiment(buckets({ stable: 2700, candidate: 300 }), { experiment, alpha: 0.1 });
    expect(analysis.alpha).toBe(0.1);
    for (const c of analysis.comparisons) expect(c.difference.confidence).toBeCloseTo(0.95, 12);
  });

  test('a bucket listed twice in a variant is refused', () => {
    const rows = buckets({ stable: 10, candidate: 2 });
    expect(() => analyseExperiment([...rows, rows[0]], { experiment })).toThrow(/appears twice/);
  });
});
