/**
 * The Athena (Trino) query behind the nightly A/B analysis: one day of one model's prediction
 * logs, aggregated per (variant, model_version) into the counts and sums that
 * `analyseVariants` (ab-analysis.ts) turns into intervals. The result is a handful of rows, so
 * the heavy lifting stays in Athena and the Lambda only reads one page of results.
 *
 * Nothing in the SQL comes from a caller unchecked: identifiers must match a strict pattern,
 * string literals are escaped, and the day must be a real calendar date.
 */

/** The columns the query returns, in order; `parseSummaryRows` reads them by these names. */
export const SUMMARY_COLUMNS = [
  'variant',
  'model_version',
  'n',
  'errors',
  'confidence_n',
  'confidence_sum',
  'confidence_sum_squares',
  'latency_ms_percentiles',
] as const;

export type SummaryColumn = (typeof SUMMARY_COLUMNS)[number];

/** The latency quantiles the query asks for, in the order of `latency_ms_percentiles`. */
export const LATENCY_QUANTILES = [0.5, 0.95, 0.99] as const;

/** Input of {@link buildVariantSummaryQuery}. */
export interface VariantSummaryQueryInput {
  /** Glue database holding the prediction-log table. */
  readonly database: string;
  /** Glue table of the prediction logs, partitioned (projected) by `model` and `dt`. */
  readonly table: string;
  /** Model name: the value of the `model` partition. */
  readonly model: string;
  /** The day to analyse, `YYYY-MM-DD`: the value of the `dt` partition. */
  readonly day: string;
}

/**
 * Glue stores database and table names in lower case, and Athena accepts only letters, digits
 * and underscores in them (at most 255 characters). Anything else is refused, not quoted away.
 */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,254}$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Builds the per-(variant, model_version) summary of one model's prediction logs for one day:
 * request count, error count, count / sum / sum of squares of the confidence of successful
 * requests, and approximate p50 / p95 / p99 latency over every request (errors included: it is
 * the latency callers saw). Throws a RangeError naming the bad input.
 */
export function buildVariantSummaryQuery(input: VariantSummaryQueryInput): string {
  const database = checkIdentifier('database', input.database);
  const table = checkIdentifier('table', input.table);
  const model = checkModel(input.model);
  const day = checkDay(input.day);
  const quantiles = LATENCY_QUANTILES.join(', ');
  return [
    'SELECT',
    '  variant,',
    '  model_version,',
    '  count(*) AS n,',
    '  count_if(error IS NOT NULL) AS errors,',
    '  count(confidence) FILTER (WHERE error IS NULL) AS confidence_n,',
    '  sum(confidence) FILTER (WHERE error IS NULL) AS confidence_sum,',
    '  sum(confidence * confidence) FILTER (WHERE error IS NULL) AS confidence_sum_squares,',
    `  approx_percentile(latency_ms, ARRAY[${quantiles}]) AS latency_ms_percentiles`,
    `FROM "${database}"."${table}"`,
    // Athena bills by bytes scanned. Equality on the projected partition columns lets it compute
    // the one S3 prefix to read (model=<m>/dt=<day>/) instead of scanning every model and day.
    `WHERE model = ${stringLiteral(model)}`,
    `  AND dt = ${stringLiteral(day)}`,
    'GROUP BY variant, model_version',
    'ORDER BY variant, model_version',
  ].join('\n');
}

/** A SQL string literal: quotes doubled, the only escape standard SQL (and Trino) knows. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function checkIdentifier(label: 'database' | 'table', value: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new RangeError(
      `buildVariantSummaryQuery: ${label} ${JSON.stringify(value)} is not a valid Athena ${label} name; ` +
        'use 1 to 255 lower-case letters, digits and underscores, starting with a letter or underscore ' +
        `(Glue stores names in lower case), e.g. "prediction_logs"`,
    );
  }
  return value;
}

function checkModel(value: string): string {
  // Escaping makes any text safe in a literal; control characters are refused because no model
  // name has them and a line break would only hide what the query really filters on.
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length === 0 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new RangeError(
      `buildVariantSummaryQuery: model ${JSON.stringify(value)} is not a model name; ` +
        'pass the model name from the release settings (non-empty, no control characters)',
    );
  }
  return value;
}

function checkDay(value: string): string {
  const match = typeof value === 'string' ? DAY.exec(value) : null;
  const valid =
    match !== null &&
    Number(match[2]) >= 1 &&
    Number(match[2]) <= 12 &&
    Number(match[3]) >= 1 &&
    Number(match[3]) <= daysInMonth(Number(match[1]), Number(match[2]));
  if (!valid) {
    throw new RangeError(
      `buildVariantSummaryQuery: day ${JSON.stringify(value)} is not a calendar date in the form YYYY-MM-DD ` +
        '(the format of the dt partition), e.g. "2026-11-03"',
    );
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
