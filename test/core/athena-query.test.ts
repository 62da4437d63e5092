import {
  LATENCY_QUANTILES,
  SUMMARY_COLUMNS,
  buildVariantSummaryQuery,
  stringLiteral,
  type VariantSummaryQueryInput,
} from '../../lambdas/core/athena-query';

const input: VariantSummaryQueryInput = {
  database: 'mlops_prediction_logs',
  table: 'predictions',
  model: 'document-classifier',
  day: '2026-11-03',
};

describe('buildVariantSummaryQuery', () => {
  test('builds the per-(variant, model_version) summary of one model and day', () => {
    expect(buildVariantSummaryQuery(input)).toBe(
      [
        'SELECT',
        '  variant,',
        '  model_version,',
        '  count(*) AS n,',
        '  count_if(error IS NOT NULL) AS errors,',
        '  count(confidence) FILTER (WHERE error IS NULL) AS confidence_n,',
        '  sum(confidence) FILTER (WHERE error IS NULL) AS confidence_sum,',
        '  sum(confidence * confidence) FILTER (WHERE error IS NULL) AS confidence_sum_squares,',
        '  approx_percentile(latency_ms, ARRAY[0.5, 0.95, 0.99]) AS latency_ms_percentiles',
        'FROM "mlops_prediction_logs"."predictions"',
        "WHERE model = 'document-classifier'",
        "  AND dt = '2026-11-03'",
        'GROUP BY variant, model_version',
        'ORDER BY variant, model_version',
      ].join('\n'),
    );
  });

  test('filters on both partition columns in the top-level WHERE, so Athena reads one prefix', () => {
    const sql = buildVariantSummaryQuery({ ...input, model: 'fraud_scorer', day: '2027-01-31' });
    const where = /\nWHERE (.*)\n {2}AND (.*)\nGROUP BY/.exec(sql);
    expect(where?.slice(1)).toEqual(["model = 'fraud_scorer'", "dt = '2027-01-31'"]);
  });

  test('selects exactly the columns the result parser reads, in order', () => {
    const aliases = [...buildVariantSummaryQuery(input).matchAll(/(?:AS (\w+)|^ {2}(\w+)),?$/gm)].map(
      (m) => m[1] ?? m[2],
    );
    expect(aliases).toEqual([...SUMMARY_COLUMNS]);
    expect(LATENCY_QUANTILES).toEqual([0.5, 0.95, 0.99]);
  });

  test('a quote in the model name is doubled, so it stays inside the literal', () => {
    const sql = buildVariantSummaryQuery({ ...input, model: "x' OR '1'='1" });
    expect(sql).toContain("WHERE model = 'x'' OR ''1''=''1'\n");
    expect(stringLiteral("o'brien''s")).toBe("'o''brien''''s'");
  });

  test.each([
    ['database', 'logs"; DROP TABLE predictions; --'],
    ['database', 'logs.predictions'],
    ['database', 'Prediction_Logs'],
    ['database', ''],
    ['database', '1logs'],
    ['table', 'predictions" WHERE 1=1 --'],
    ['table', 'pre dictions'],
    ['table', 'prédictions'],
    ['table', 'a'.repeat(256)],
  ] as const)('refuses the %s name %j', (key, value) => {
    expect(() => buildVariantSummaryQuery({ ...input, [key]: value })).toThrow(
      new RangeError(
        `buildVariantSummaryQuery: ${key} ${JSON.stringify(value)} is not a valid Athena ${key} name; ` +
          'use 1 to 255 lower-case letters, digits and underscores, starting with a letter or underscore ' +
          '(Glue stores names in lower case), e.g. "prediction_logs"',
      ),
    );
  });

  test('accepts the longest and shortest valid identifiers', () => {
    const long = 'a'.repeat(255);
    expect(buildVariantSummaryQuery({ ...input, database: '_', table: long })).toContain(
      `FROM "_"."${long}"`,
    );
  });

  test.each(['', 'doc\nclassifier', "doc'\u0000"])('refuses the model %j', (model) => {
    expect(() => buildVariantSummaryQuery({ ...input, model })).toThrow(
      new RangeError(
        `buildVariantSummaryQuery: model ${JSON.stringify(model)} is not a model name; ` +
          'pass the model name from the release settings (non-empty, no control characters)',
      ),
    );
  });

  test.each([
    '2026-02-29',
    '2025-02-29',
    '1900-02-29',
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-11-00',
    '2026-1-03',
    '26-11-03',
    '2026/11/03',
    '2026-11-03 ',
    "2026-11-03' OR '1'='1",
    '2026-11-03T00:00:00Z',
  ])('refuses the day %j', (day) => {
    expect(() => buildVariantSummaryQuery({ ...input, day })).toThrow(
      new RangeError(
        `buildVariantSummaryQuery: day ${JSON.stringify(day)} is not a calendar date in the form YYYY-MM-DD ` +
          '(the format of the dt partition), e.g. "2026-11-03"',
      ),
    );
  });

  test.each(['2024-02-29', '2000-02-29', '2026-12-31', '2026-04-30', '2026-01-31'])(
    'accepts the real date %s',
    (day) => {
      expect(buildVariantSummaryQuery({ ...input, day })).toContain(`  AND dt = '${day}'\n`);
    },
  );
});
