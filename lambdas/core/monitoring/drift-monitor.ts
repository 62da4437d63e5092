/**
 * The scheduled drift monitor's logic: the Athena query that counts the labels the live model
 * predicted recently, the reading of its result, the reference label counts recovered from the
 * data-validation record, and the comparison, made by the data-validation gate's own code
 * (`compareDistributions`, Jensen–Shannon distance, base 2) so that the gate and the monitor
 * can never measure drift differently.
 */
import { IDENTIFIER, stringLiteral, type AthenaResultSet } from '../routing/athena-query';
import type { CategoryCounts } from '../contracts/records';
import { compareDistributions, describeDrift, type DriftReport } from '../statistics/drift';

/**
 * Fewest labelled predictions compared. With fewer, the label shares are mostly noise: with 100
 * predictions a label of true share 10% is observed anywhere from 4% to 16% (95%), enough on its
 * own to move the distance by several hundredths against a 0.15 alarm threshold.
 */
export const MIN_PREDICTIONS = 100;

/**
 * Hours of predictions compared. A whole day, because the label mix of real traffic follows the
 * hour of the day (office hours, batch jobs at night) while the reference set has no hour: an
 * hourly window would alarm on the daily cycle, not on drift. It also keeps the query to two
 * `dt` partitions (today and yesterday).
 */
export const DRIFT_WINDOW_HOURS = 24;

/** Longest window {@link buildLabelCountQuery} accepts: a week, eight daily partitions. */
export const MAX_WINDOW_HOURS = 168;

/** The columns the label-count query returns, in order; {@link parseLabelCounts} reads them by name. */
export const LABEL_COUNT_COLUMNS = ['label', 'n'] as const;

/** Input of {@link buildLabelCountQuery}. */
export interface LabelCountQueryInput {
  /** Glue database holding the prediction-log table. */
  readonly database: string;
  /** Glue table of the prediction logs, partitioned (projected) by `model` and `dt`. */
  readonly table: string;
  /** Model name: the value of the `model` partition. */
  readonly model: string;
  /** The end of the window (the monitor's clock). */
  readonly now: Date;
  /** Length of the window, whole hours, 1 to {@link MAX_WINDOW_HOURS}. */
  readonly windowHours: number;
}

/**
 * Builds the count of each predicted label of one model's successful predictions over the
 * `windowHours` before `now`. Unlabelled predictions come back as a NULL label, so that the
 * monitor can say how many there were. Throws a RangeError naming the bad input.
 *
 * The identifiers are checked and the literals escaped with `IDENTIFIER` and `stringLiteral`
 * (athena-query.ts); the window's end is the caller's clock, not Athena's `now()`, so the `dt`
 * partitions and the time filter come from the same instant.
 */
export function buildLabelCountQuery(input: LabelCountQueryInput): string {
  const database = checkIdentifier('database', input.database);
  const table = checkIdentifier('table', input.table);
  const model = checkModel(input.model);
  const { now, windowHours } = input;
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new RangeError(
      `buildLabelCountQuery: now is ${String(now)}, not a valid Date; pass the clock's time`,
    );
  }
  if (!Number.isInteger(windowHours) || windowHours < 1 || windowHours > MAX_WINDOW_HOURS) {
    throw new RangeError(
      `buildLabelCountQuery: windowHours is ${String(windowHours)}; expected a whole number of hours from 1 to ` +
        `${MAX_WINDOW_HOURS}`,
    );
  }
  const days = windowDays(now, windowHours).map(stringLiteral).join(', ');
  return [
    'SELECT',
    '  label,',
    '  count(*) AS n',
    `FROM "${database}"."${table}"`,
    // Athena bills by bytes scanned: equality on the projected partitions reads only their prefixes.
    `WHERE model = ${stringLiteral(model)}`,
    `  AND dt IN (${days})`,
    `  AND from_iso8601_timestamp(ts) > from_iso8601_timestamp(${stringLiteral(now.toISOString())}) - INTERVAL '${windowHours}' HOUR`,
    '  AND error IS NULL',
    'GROUP BY label',
    'ORDER BY label',
  ].join('\n');
}

/** The UTC days (`dt` values) the window of `windowHours` before `now` touches, newest first. */
export function windowDays(now: Date, windowHours: number): string[] {
  const last = now.toISOString().slice(0, 10);
  const day = new Date(now.getTime() - windowHours * 3_600_000).toISOString().slice(0, 10);
  const days: string[] = [];
  for (let d = new Date(`${day}T00:00:00.000Z`); ; d.setUTCDate(d.getUTCDate() + 1)) {
    const value = d.toISOString().slice(0, 10);
    days.unshift(value);
    if (value >= last) return days;
  }
}

function checkIdentifier(label: 'database' | 'table', value: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new RangeError(
      `buildLabelCountQuery: ${label} ${JSON.stringify(value)} is not a valid Athena ${label} name; ` +
        'use 1 to 255 lower-case letters, digits and underscores, starting with a letter or underscore ' +
        `(Glue stores names in lower case), e.g. "prediction_logs"`,
    );
  }
  return value;
}

function checkModel(value: string): string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length === 0 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new RangeError(
      `buildLabelCountQuery: model ${JSON.stringify(value)} is not a model name; ` +
        'pass the model name from the release settings (non-empty, no control characters)',
    );
  }
  return value;
}

/** What the label-count query found. */
export interface PredictedLabels {
  /** Successful predictions per label. */
  readonly counts: CategoryCounts;
  /** Sum of `counts`: the predictions compared. */
  readonly total: number;
  /** Successful predictions without a label (the container answered no `label`); not compared. */
  readonly unlabelled: number;
}

const HOW_TO_FIX =
  'run the query built by buildLabelCountQuery unchanged and pass every page of GetQueryResults ' +
  '(the first starts with the header row)';

/**
 * Reads the label-count query's result: the header row, then one row per label (NULL for the
 * unlabelled). Throws an Error naming the row and column when the result is not that query's.
 */
export function parseLabelCounts(resultSet: AthenaResultSet): PredictedLabels {
  const rows = resultSet.Rows ?? [];
  if (rows.length === 0) {
    throw new Error(
      `parseLabelCounts: the Athena result has no rows, not even the header row; ${HOW_TO_FIX}`,
    );
  }
  const cells = (i: number) => (rows[i].Data ?? []).map((cell) => cell.VarCharValue ?? null);
  const header = cells(0);
  if (header.length !== LABEL_COUNT_COLUMNS.length || LABEL_COUNT_COLUMNS.some((c, i) => header[i] !== c)) {
    throw new Error(
      `parseLabelCounts: the first row (${header.map(String).join(', ')}) is not the header row ` +
        `${LABEL_COUNT_COLUMNS.join(', ')}; ${HOW_TO_FIX}`,
    );
  }
  // Entries, not assignments: a label may be any text, `__proto__` included.
  const entries: [string, number][] = [];
  const seen = new Set<string>();
  let total = 0;
  let unlabelled = 0;
  for (let i = 1; i < rows.length; i++) {
    const [label, raw] = cells(i);
    const n = raw !== null && raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new Error(
        `parseLabelCounts: row ${i} (label ${label === null ? 'NULL' : JSON.stringify(label)}): column n is ` +
          `${raw === null || raw === undefined ? 'NULL' : JSON.stringify(raw)}, expected a whole number >= 0; ${HOW_TO_FIX}`,
      );
    }
    if (label === null || label === undefined) {
      unlabelled += n;
      continue;
    }
    if (seen.has(label)) {
      throw new Error(
        `parseLabelCounts: row ${i}: label ${JSON.stringify(label)} appears twice, so the rows are not grouped by ` +
          `label; ${HOW_TO_FIX}`,
      );
    }
    seen.add(label);
    entries.push([label, n]);
    total += n;
  }
  return { counts: Object.fromEntries(entries), total, unlabelled };
}

/**
 * The reference's label counts from what the data-validation record keeps of them: each label's
 * share (`referenceDistribution`, count / total at full precision) and the total (`referenceTotal`
 * of the label drift report). Share × total gives each count back exactly; anything else means
 * the record is not what the gate wrote. `where` starts every message.
 */
export function countsFromShares(shares: CategoryCounts, total: number, where: string): CategoryCounts {
  if (!Number.isSafeInteger(total) || total < 1) {
    throw new Error(`${where}: the reference label total is ${String(total)}, expected a whole number >= 1`);
  }
  const entries: [string, number][] = [];
  let sum = 0;
  for (const [label, share] of Object.entries(shares)) {
    const exact = share * total;
    const count = Math.round(exact);
    if (!(share >= 0 && share <= 1) || Math.abs(exact - count) > 1e-6) {
      throw new Error(
        `${where}: label ${JSON.stringify(label)} has share ${String(share)}, which is no whole number of the ` +
          `${total} reference labels`,
      );
    }
    entries.push([label, count]);
    sum += count;
  }
  if (sum !== total) {
    throw new Error(`${where}: the label shares add up to ${sum} labels, not the ${total} recorded`);
  }
  return Object.fromEntries(entries);
}

/** Input of {@link assessLabelDrift}. */
export interface LabelDriftInput {
  /** Labels predicted in the window. */
  readonly predicted: PredictedLabels;
  /** Label counts of the reference set. */
  readonly reference: CategoryCounts;
  /** The eval set whose reference it is, for messages. */
  readonly evalSet: string;
  /** `monitoring.drift.maxLabelDrift`: the alarm's threshold, reported beside the score. */
  readonly maxLabelDrift: number;
  /** @default MIN_PREDICTIONS */
  readonly minPredictions?: number;
  /**
   * The chi-square test level (`dataValidation.driftSignificance`): the alarm's metric counts the distance only
   * when sampling alone would give one this large less often than this.
   * @default DEFAULT_DRIFT_SIGNIFICANCE
   */
  readonly significance?: number;
}

/** The comparison, or why there is none. */
export type LabelDriftAssessment =
  | {
      readonly status: 'compared';
      readonly predictions: number;
      readonly report: DriftReport;
      readonly text: string;
      /**
       * What the alarm compares with `maxLabelDrift`: the distance when the chi-square test finds it significant,
       * else 0, so that an alarm fires only on drift that is both large and beyond sampling noise.
       */
      readonly significantDistance: number;
    }
  | { readonly status: 'too-few-predictions'; readonly predictions: number; readonly reason: string };

/**
 * Compares the predicted labels with the reference, as the data-validation gate compares an eval
 * set's labels (`compareDistributions`, field `label`), when there are enough predictions.
 */
export function assessLabelDrift(input: LabelDriftInput): LabelDriftAssessment {
  const { predicted, reference, evalSet, maxLabelDrift } = input;
  const minPredictions = input.minPredictions ?? MIN_PREDICTIONS;
  if (predicted.total < minPredictions) {
    const unlabelled =
      predicted.unlabelled > 0
        ? ` (and ${predicted.unlabelled} successful without a label, not compared)`
        : '';
    return {
      status: 'too-few-predictions',
      predictions: predicted.total,
      reason:
        `${predicted.total} labelled prediction${predicted.total === 1 ? '' : 's'} in the window${unlabelled}, ` +
        `fewer than the ${minPredictions} needed for label shares that are not mostly noise`,
    };
  }
  const report = compareDistributions(
    evalSet,
    'label',
    predicted.counts,
    reference,
    maxLabelDrift,
    undefined,
    {
      significance: input.significance,
      minRows: minPredictions,
    },
  );
  // The gate's sentence names its own key (maxDrift, per eval set); this threshold is another key.
  const text = describeDrift(report).replace(' maxDrift ', ' maxLabelDrift ');
  return {
    status: 'compared',
    predictions: predicted.total,
    report,
    text,
    significantDistance: report.significant ? report.jsDistance : 0,
  };
}
