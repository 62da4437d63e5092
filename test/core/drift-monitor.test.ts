import fc from 'fast-check';
import type { AthenaResultSet } from '../../lambdas/core/routing/athena-query';
import { toShares } from '../../lambdas/core/data/dataset-validation';
import { compareDistributions, computeJsDistance } from '../../lambdas/core/statistics/drift';
import {
  DRIFT_WINDOW_HOURS,
  LABEL_COUNT_COLUMNS,
  MIN_PREDICTIONS,
  assessLabelDrift,
  buildLabelCountQuery,
  countsFromShares,
  parseLabelCounts,
  windowDays,
  type LabelCountQueryInput,
} from '../../lambdas/core/monitoring/drift-monitor';

const input: LabelCountQueryInput = {
  database: 'mlops_prediction_logs',
  table: 'predictions',
  model: 'document-classifier',
  now: new Date('2026-11-27T10:15:00.000Z'),
  windowHours: 24,
};

/** A label-count result: the header row, then the rows. */
function resultSet(...rows: [string | null, string | null][]): AthenaResultSet {
  return {
    Rows: [[...LABEL_COUNT_COLUMNS], ...rows].map((cells) => ({
      Data: cells.map((value) => (value === null ? {} : { VarCharValue: value })),
    })),
  };
}

describe('buildLabelCountQuery', () => {
  test('counts the labels of the successful predictions of the last 24 h, on the two dt partitions it touches', () => {
    expect(DRIFT_WINDOW_HOURS).toBe(24);
    expect(buildLabelCountQuery(input)).toBe(
      [
        'SELECT',
        '  label,',
        '  count(*) AS n',
        'FROM "mlops_prediction_logs"."predictions"',
        "WHERE model = 'document-classifier'",
        "  AND dt IN ('2026-11-27', '2026-11-26')",
        "  AND from_iso8601_timestamp(ts) > from_iso8601_timestamp('2026-11-27T10:15:00.000Z') - INTERVAL '24' HOUR",
        '  AND error IS NULL',
        'GROUP BY label',
        'ORDER BY label',
      ].join('\n'),
    );
  });

  test.each([
    ['a window within today reads one partition', '2026-11-27T10:15:00.000Z', 6, ['2026-11-27']],
    ['a window ending at midnight', '2026-11-27T00:00:00.000Z', 24, ['2026-11-27', '2026-11-26']],
    ['a window across the new year', '2027-01-01T03:00:00.000Z', 24, ['2027-01-01', '2026-12-31']],
    [
      'a week reads eight partitions',
      '2026-03-01T12:00:00.000Z',
      168,
      [
        '2026-03-01',
        '2026-02-28',
        '2026-02-27',
        '2026-02-26',
        '2026-02-25',
        '2026-02-24',
        '2026-02-23',
        '2026-02-22',
      ],
    ],
  ])('%s', (_name, now, windowHours, days) => {
    expect(windowDays(new Date(now), windowHours)).toEqual(days);
    const sql = buildLabelCountQuery({ ...input, now: new Date(now), windowHours });
    expect(sql).toContain(`\n  AND dt IN (${days.map((d) => `'${d}'`).join(', ')})\n`);
    expect(sql).toContain(`from_iso8601_timestamp('${now}') - INTERVAL '${windowHours}' HOUR\n`);
  });

  test('property: the partitions are the UTC days from the window start to now, newest first, none missing', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: 1, max: 168 }),
        (now, hours) => {
          const days = windowDays(now, hours);
          expect(days[0]).toBe(now.toISOString().slice(0, 10));
          expect(days[days.length - 1]).toBe(
            new Date(now.getTime() - hours * 3_600_000).toISOString().slice(0, 10),
          );
          for (let i = 1; i < days.length; i++) {
            const next = new Date(`${days[i]}T00:00:00Z`);
            next.setUTCDate(next.getUTCDate() + 1);
            expect(next.toISOString().slice(0, 10)).toBe(days[i - 1]);
          }
        },
      ),
    );
  });

  test('a quote in the model name is doubled, so it stays inside the literal', () => {
    expect(buildLabelCountQuery({ ...input, model: "x' OR '1'='1" })).toContain(
      "WHERE model = 'x'' OR ''1''=''1'\n",
    );
  });

  test.each([
    ['database', 'logs"; DROP TABLE predictions; --'],
    ['database', 'Logs'],
    ['table', 'logs.predictions'],
    ['table', ''],
  ] as const)('refuses the %s name %j', (key, value) => {
    expect(() => buildLabelCountQuery({ ...input, [key]: value })).toThrow(
      new RangeError(
        `buildLabelCountQuery: ${key} ${JSON.stringify(value)} is not a valid Athena ${key} name; use 1 to 255 ` +
          'lower-case letters, digits and underscores, starting with a letter or underscore (Glue stores names in ' +
          'lower case), e.g. "prediction_logs"',
      ),
    );
  });

  test.each(['', 'a\nb'])('refuses the model name %j', (model) => {
    expect(() => buildLabelCountQuery({ ...input, model })).toThrow(
      new RangeError(
        `buildLabelCountQuery: model ${JSON.stringify(model)} is not a model name; pass the model name from the ` +
          'release settings (non-empty, no control characters)',
      ),
    );
  });

  test.each([0, 169, 1.5, Number.NaN])('refuses a window of %p hours', (windowHours) => {
    expect(() => buildLabelCountQuery({ ...input, windowHours })).toThrow(
      new RangeError(
        `buildLabelCountQuery: windowHours is ${String(windowHours)}; expected a whole number of hours from 1 to 168`,
      ),
    );
  });

  test('refuses an invalid clock time', () => {
    expect(() => buildLabelCountQuery({ ...input, now: new Date('nope') })).toThrow(
      "buildLabelCountQuery: now is Invalid Date, not a valid Date; pass the clock's time",
    );
  });
});

describe('parseLabelCounts', () => {
  test('counts per label; NULL labels are counted apart and left out of the total', () => {
    expect(
      parseLabelCounts(resultSet(['billing', '450'], ['other', '150'], ['refund', '380'], [null, '7'])),
    ).toEqual({
      counts: { billing: 450, other: 150, refund: 380 },
      total: 980,
      unlabelled: 7,
    });
  });

  test('a label may be any text, __proto__ included', () => {
    const parsed = parseLabelCounts(resultSet(['__proto__', '3'], ['constructor', '2']));
    expect(Object.entries(parsed.counts)).toEqual([
      ['__proto__', 3],
      ['constructor', 2],
    ]);
    expect(parsed.total).toBe(5);
    const shares = Object.fromEntries([
      ['__proto__', 0.6],
      ['constructor', 0.4],
    ]);
    expect(Object.entries(countsFromShares(shares, 5, 'r'))).toEqual([
      ['__proto__', 3],
      ['constructor', 2],
    ]);
  });

  test('no prediction: the header row alone', () => {
    expect(parseLabelCounts(resultSet())).toEqual({ counts: {}, total: 0, unlabelled: 0 });
  });

  test('refuses a result without rows, a wrong header, a bad count and a label twice', () => {
    const how =
      'run the query built by buildLabelCountQuery unchanged and pass every page of GetQueryResults (the first ' +
      'starts with the header row)';
    expect(() => parseLabelCounts({ Rows: [] })).toThrow(
      `parseLabelCounts: the Athena result has no rows, not even the header row; ${how}`,
    );
    expect(() =>
      parseLabelCounts({ Rows: [{ Data: [{ VarCharValue: 'billing' }, { VarCharValue: '3' }] }] }),
    ).toThrow(`parseLabelCounts: the first row (billing, 3) is not the header row label, n; ${how}`);
    expect(() => parseLabelCounts(resultSet(['billing', '4.5']))).toThrow(
      `parseLabelCounts: row 1 (label "billing"): column n is "4.5", expected a whole number >= 0; ${how}`,
    );
    expect(() => parseLabelCounts(resultSet([null, null]))).toThrow(
      `parseLabelCounts: row 1 (label NULL): column n is NULL, expected a whole number >= 0; ${how}`,
    );
    expect(() => parseLabelCounts(resultSet(['billing', '4'], ['billing', '5']))).toThrow(
      `parseLabelCounts: row 2: label "billing" appears twice, so the rows are not grouped by label; ${how}`,
    );
  });
});

describe('countsFromShares', () => {
  test('gives back the counts the data-validation gate turned into shares', () => {
    const counts = { billing: 500, refund: 300, other: 200 };
    expect(countsFromShares(toShares(counts), 1000, 'record')).toEqual(counts);
  });

  test('property: exact for any counts (toShares is what the gate records)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 50_000_000 }), {
          minKeys: 1,
          maxKeys: 40,
        }),
        (counts) => {
          const total = Object.values(counts).reduce((a, b) => a + b, 0);
          expect(countsFromShares(toShares(counts), total, 'record')).toEqual({ ...counts });
        },
      ),
    );
  });

  test('refuses shares that are no whole numbers of the total, or do not add up to it', () => {
    expect(() => countsFromShares({ billing: 0.5, refund: 0.5 }, 3, 'record r')).toThrow(
      'record r: label "billing" has share 0.5, which is no whole number of the 3 reference labels',
    );
    expect(() => countsFromShares({ billing: 0.5 }, 4, 'record r')).toThrow(
      'record r: the label shares add up to 2 labels, not the 4 recorded',
    );
    expect(() => countsFromShares({ billing: 1 }, 0, 'record r')).toThrow(
      'record r: the reference label total is 0, expected a whole number >= 1',
    );
    expect(() => countsFromShares({ billing: 1.5 }, 2, 'record r')).toThrow(
      'record r: label "billing" has share 1.5, which is no whole number of the 2 reference labels',
    );
  });
});

describe('assessLabelDrift', () => {
  const reference = { billing: 500, refund: 300, other: 200 };
  const predicted = { counts: { billing: 45, refund: 38, other: 17 }, total: 100, unlabelled: 2 };

  test("compares with the gate's code: the same Jensen–Shannon distance and report", () => {
    expect(MIN_PREDICTIONS).toBe(100);
    const assessment = assessLabelDrift({
      predicted,
      reference,
      evalSet: 'production_sample',
      maxLabelDrift: 0.15,
    });
    const report = compareDistributions('production_sample', 'label', predicted.counts, reference, 0.15);
    expect(assessment).toEqual({
      status: 'compared',
      predictions: 100,
      report,
      text: `label drift ${report.jsDistance.toFixed(3)} <= maxLabelDrift 0.15 (label 'refund' 30% → 38%, label 'billing' 50% → 45%, label 'other' 20% → 17%)`,
      // A move of this size in 100 predictions is within sampling noise: the alarm's metric stays 0.
      significantDistance: 0,
    });
    expect(report.significant).toBe(false);
    expect(report.jsDistance).toBe(computeJsDistance(predicted.counts, reference));
    expect(report.jsDistance).toBeGreaterThan(0);
  });

  test('above the threshold the sentence says so', () => {
    const shifted = { counts: { billing: 10, refund: 80, other: 10 }, total: 100, unlabelled: 0 };
    const assessment = assessLabelDrift({
      predicted: shifted,
      reference,
      evalSet: 'production_sample',
      maxLabelDrift: 0.15,
    });
    expect(assessment.status === 'compared' && assessment.text).toMatch(
      /^label drift 0\.\d{3} > maxLabelDrift 0\.15 \(label 'refund' 30% → 80%, /,
    );
  });

  test('fewer than 100 labelled predictions: no comparison, and why', () => {
    const few = { counts: { billing: 60, refund: 39 }, total: 99, unlabelled: 5 };
    expect(
      assessLabelDrift({ predicted: few, reference, evalSet: 'production_sample', maxLabelDrift: 0.15 }),
    ).toEqual({
      status: 'too-few-predictions',
      predictions: 99,
      reason:
        '99 labelled predictions in the window (and 5 successful without a label, not compared), fewer than the 100 ' +
        'needed for label shares that are not mostly noise',
    });
    const none = { counts: {}, total: 0, unlabelled: 0 };
    expect(assessLabelDrift({ predicted: none, reference, evalSet: 'p', maxLabelDrift: 0.15 })).toEqual({
      status: 'too-few-predictions',
      predictions: 0,
      reason:
        '0 labelled predictions in the window, fewer than the 100 needed for label shares that are not mostly noise',
    });
  });
});
