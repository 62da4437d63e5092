/**
 * The nightly A/B analysis (EventBridge Scheduler, event `{"model": "...", "day": "YYYY-MM-DD"}`,
 * `day` optional: yesterday, UTC). It analyses the experiment running at the end of that day,
 * cumulatively since it started, by user bucket (core/routing/ab-experiment.ts): one Athena query reads
 * the flag history from the router's prediction logs (the intended split and the start, as
 * logged, so rerunning an old day uses that day's flag; only the day itself when the previous
 * night's report shows the same experiment going on, core/routing/experiment-window.ts), a second
 * the per-bucket totals since the start. The report goes to the artifacts bucket, the estimates and intervals to CloudWatch for
 * the dashboard.
 *
 * Any failure throws: the scheduler retries and, after its last retry, keeps the event in its
 * dead-letter queue. Every message names the model and day, what failed, what to check and how
 * to rerun the day by hand.
 */
import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { artifactKeys } from '../core/contracts/release-settings';
import {
  analyseExperiment,
  buildBucketTotalsQuery,
  buildFlagHistoryQuery,
  daysBefore,
  EXPERIMENT_LOOKBACK_DAYS,
  findExperiment,
  noExperimentAnalysis,
  parseBucketTotals,
  parseFlagHistory,
  type ExperimentAnalysis,
  type ExperimentSearch,
} from '../core/routing/ab-experiment';
import {
  continueExperiment,
  planFlagHistory,
  previousNightSchema,
  type PreviousNight,
} from '../core/routing/experiment-window';
import { logger } from '../shared/logger';
import { putRunRecord } from '../shared/run-records';
import {
  parseScheduleEvent,
  rerunHint,
  scheduledHandler,
  type ScheduledHandler,
  type ScheduledJob,
} from '../shared/scheduled-job';
import type { AthenaPort, QueryRequest } from './athena-port';
import { abMetricData, AB_METRICS_NAMESPACE, MAX_METRIC_AGE_MS } from './metrics';
import { describeError, runQuery, type QueryRun } from './query';
import { parseEnvironment } from '../shared/settings';

/** Longest wait for each Athena query; the function's timeout (15 min) bounds both together. */
export const DEFAULT_MAX_QUERY_WAIT_MS = 10 * 60_000;

/** Time kept, after the wait, to stop a late query, write the report and publish the metrics. */
export const FINISH_MARGIN_MS = 60_000;

/** Everything external the handler touches; tests pass their own. */
export interface Deps {
  readonly s3: S3Client;
  readonly ssm: SSMClient;
  readonly cloudwatch: CloudWatchClient;
  readonly athena: AthenaPort;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Longest wait for each query, in milliseconds; never beyond the invocation's remaining time
   * less FINISH_MARGIN_MS.
   * @default DEFAULT_MAX_QUERY_WAIT_MS (10 minutes)
   */
  readonly maxQueryWaitMs?: number;
}

/** Environment the model stack deploys the function with. */
export const abAnalysisEnvSchema = z.object({
  RELEASE_SETTINGS_PARAMETER: z.string().min(1),
  ARTIFACTS_BUCKET: z.string().min(1),
  ATHENA_WORKGROUP: z.string().min(1),
  GLUE_DATABASE: z.string().min(1),
  GLUE_TABLE: z.string().min(1),
});
export type AbAnalysisEnv = z.output<typeof abAnalysisEnvSchema>;

export function abAnalysisEnv(env: NodeJS.ProcessEnv = process.env): AbAnalysisEnv {
  return parseEnvironment(abAnalysisEnvSchema, env, 'A/B analysis');
}

const eventSchema = z.strictObject({
  model: z.string().min(1),
  day: z.string().optional(),
});

const EVENT_SHAPE = '{"model": "<model>", "day": "YYYY-MM-DD"} (day optional, default yesterday UTC)';

/** One Athena query the analysis ran. */
export interface QueryRecord {
  readonly purpose: 'flag-history' | 'bucket-totals';
  readonly queryExecutionId: string;
  /** The days it read, inclusive. */
  readonly fromDay: string;
  readonly toDay: string;
  readonly dataScannedBytes: number | null;
  readonly resultPages: number;
}

/** The stored report, `models/<model>/ab/<day>.json`. */
export interface AbReport {
  readonly schemaVersion: 2;
  readonly model: string;
  readonly day: string;
  readonly analysedAt: string;
  readonly workGroup: string;
  readonly table: string;
  readonly queries: readonly QueryRecord[];
  /** Null when the day is too old for CloudWatch (two weeks): only this report holds it. */
  readonly metrics: { readonly namespace: string; readonly timestamp: string } | null;
  /** Cumulative since the experiment started, up to the end of the day. */
  readonly analysis: ExperimentAnalysis;
}

/** What the invocation returns (shown by a test invoke in the console). */
export interface AbAnalysisResult {
  readonly model: string;
  readonly day: string;
  readonly status: ExperimentAnalysis['status'];
  /** `s3://<bucket>/models/<model>/ab/<day>.json` */
  readonly report: string;
  readonly metricsPublished: number;
  readonly summary: string;
}

export function createHandler(deps: Deps): ScheduledHandler<AbAnalysisResult> {
  const job: ScheduledJob<AbEvent, AbAnalysisEnv> = {
    name: 'A/B analysis',
    verb: 'analyses',
    parseEvent: (event) => parseEvent(event, deps.now()),
    checkEvent: ({ day, now }) => checkDay(day, now),
    label: ({ model, day }) => `A/B analysis of ${model} for ${day}`,
    logKeys: ({ model, day }) => ({ model, day }),
    env: abAnalysisEnv,
    rerun: ({ model, day }) => rerunHint({ model, day }, 'the day'),
  };
  return scheduledHandler(job, deps, async ({ model, event, env, settings, label, context }) => {
    const { day, now } = event;
    const database = env.GLUE_DATABASE;
    const table = env.GLUE_TABLE;
    const workGroup = env.ATHENA_WORKGROUP;
    const queries: QueryRecord[] = [];
    const query = async (
      purpose: QueryRecord['purpose'],
      sql: string,
      fromDay: string,
    ): Promise<QueryRun> => {
      const request: QueryRequest = { sql, workGroup, database };
      // Each query may wait this long, and never past a minute before the invocation's own timeout.
      const remaining = context ? context.getRemainingTimeInMillis() - FINISH_MARGIN_MS : Infinity;
      const maxWaitMs = Math.max(0, Math.min(deps.maxQueryWaitMs ?? DEFAULT_MAX_QUERY_WAIT_MS, remaining));
      const run = await runQuery(
        deps.athena,
        request,
        { model, day, table: `${database}.${table}`, maxScannedGb: settings.routing.analysis.maxScannedGb },
        { sleep: deps.sleep, maxWaitMs },
      );
      queries.push({
        purpose,
        queryExecutionId: run.queryExecutionId,
        fromDay,
        toDay: day,
        dataScannedBytes: run.dataScannedBytes,
        resultPages: run.resultPages,
      });
      return run;
    };

    // The experiment: from the day's log alone when it only continued the previous night's
    // (experiment-window.ts), else from the 35-day search.
    const previous = await readPreviousNight(deps.s3, env.ARTIFACTS_BUCKET, model, previousDay(day));
    const plan = planFlagHistory(day, model, `${database}.${table}`, previous);
    let search: ExperimentSearch | undefined;
    if (plan.kind === 'day-only') {
      const dayHistory = await query(
        'flag-history',
        buildFlagHistoryQuery({ database, table, model, fromDay: plan.fromDay, toDay: plan.toDay }),
        plan.fromDay,
      );
      const carried = continueExperiment(parseFlagHistory(dayHistory.resultSet), day, plan.previous);
      if (carried !== null) search = { found: true, experiment: carried };
      else logger.info('the day does not only continue the previous experiment; searching the full window');
    } else {
      logger.info('searching the full window for the experiment', { why: plan.why });
    }
    if (search === undefined) {
      const lookbackStart = daysBefore(day, EXPERIMENT_LOOKBACK_DAYS - 1);
      const history = await query(
        'flag-history',
        buildFlagHistoryQuery({ database, table, model, fromDay: lookbackStart, toDay: day }),
        lookbackStart,
      );
      search = findExperiment(parseFlagHistory(history.resultSet), { fromDay: lookbackStart, day });
    }
    let analysis: ExperimentAnalysis;
    if (!search.found) {
      analysis = noExperimentAnalysis(search.reason, settings.routing.analysis.alpha);
    } else {
      const { experiment } = search;
      const totals = await query(
        'bucket-totals',
        buildBucketTotalsQuery({ database, table, model, experiment, toDay: day }),
        experiment.firstDay,
      );
      analysis = analyseExperiment(parseBucketTotals(totals.resultSet), {
        experiment,
        minRequests: settings.routing.analysis.minSamples,
        alpha: settings.routing.analysis.alpha,
        effectOfInterest: settings.routing.analysis.effectOfInterest,
        minEffectiveBuckets: settings.routing.analysis.minEffectiveBuckets,
      });
    }

    const dayStart = new Date(`${day}T00:00:00.000Z`);
    const metricsAccepted = now.getTime() - dayStart.getTime() <= MAX_METRIC_AGE_MS;
    const report: AbReport = {
      schemaVersion: 2,
      model,
      day,
      analysedAt: now.toISOString(),
      workGroup,
      table: `${database}.${table}`,
      queries,
      metrics: metricsAccepted
        ? { namespace: AB_METRICS_NAMESPACE, timestamp: dayStart.toISOString() }
        : null,
      analysis,
    };
    const bucket = env.ARTIFACTS_BUCKET;
    const key = artifactKeys.abReport(model, day);
    const reportUri = `s3://${bucket}/${key}`;
    await putRunRecord(deps.s3, bucket, key, `${JSON.stringify(report, null, 2)}\n`, 'A/B report');

    let metricsPublished = 0;
    const data = metricsAccepted ? abMetricData(model, dayStart, analysis) : [];
    if (data.length > 0) {
      try {
        await deps.cloudwatch.send(
          new PutMetricDataCommand({ Namespace: AB_METRICS_NAMESPACE, MetricData: data }),
        );
      } catch (error) {
        throw new Error(
          `cannot publish the metrics to CloudWatch (namespace ${AB_METRICS_NAMESPACE}): ${describeError(error)}; ` +
            `the report is already at ${reportUri}. Check the function's role (cloudwatch:PutMetricData for ` +
            `that namespace)`,
          { cause: error },
        );
      }
      metricsPublished = data.length;
    }
    logger.info('A/B analysis done', {
      status: analysis.status,
      queries: queries.map((q) => q.queryExecutionId),
      dataScannedBytes: queries.map((q) => q.dataScannedBytes),
      metricsPublished,
      report: reportUri,
    });
    return {
      model,
      day,
      status: analysis.status,
      report: reportUri,
      metricsPublished,
      summary: summarise(label, analysis, reportUri, metricsAccepted),
    };
  });
}

/** The event's model and day, and the run's clock reading; without a day, yesterday (UTC) by that clock. */
interface AbEvent {
  readonly model: string;
  readonly day: string;
  /** Read once: the default day, the day check and the report agree on it. */
  readonly now: Date;
}

function parseEvent(event: unknown, now: Date): AbEvent {
  const { model, day } = parseScheduleEvent(event, eventSchema, EVENT_SHAPE);
  return { model, day: day ?? previousDay(now.toISOString().slice(0, 10)), now };
}

/** A real, finished day: a partial day would read as a traffic drop. */
function checkDay(day: string, now: Date): void {
  if (!isCalendarDate(day)) {
    throw new Error(
      `the event's day ${JSON.stringify(day)} is not a calendar date in the form YYYY-MM-DD; fix the schedule's input`,
    );
  }
  if (day >= now.toISOString().slice(0, 10)) {
    throw new Error(
      `the day ${day} is not over yet (it is now ${now.toISOString()}) and its logs are incomplete: ` +
        'analyse a past day (without a day the function analyses yesterday, UTC)',
    );
  }
}

/**
 * The previous night's report, which may spare tonight most of the flag-history scan; undefined
 * when there is none or it cannot be used (then the full search runs: never a reason to fail).
 */
async function readPreviousNight(
  s3: S3Client,
  bucket: string,
  model: string,
  day: string,
): Promise<PreviousNight | undefined> {
  const key = artifactKeys.abReport(model, day);
  let text: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await res.Body?.transformToString('utf-8')) ?? '';
  } catch (error) {
    const name = (error as Error).name;
    if (name !== 'NoSuchKey' && name !== 'NotFound') {
      logger.warn('cannot read the previous night report; searching the full window', {
        where: `s3://${bucket}/${key}`,
        error: describeError(error),
      });
    }
    return undefined;
  }
  try {
    return previousNightSchema.parse(JSON.parse(text));
  } catch (error) {
    logger.warn('the previous night report is not a report this version reads; searching the full window', {
      where: `s3://${bucket}/${key}`,
      error: (error as Error).message.slice(0, 500),
    });
    return undefined;
  }
}

/** The UTC day before `day` (`YYYY-MM-DD`). */
export function previousDay(day: string): string {
  const date = new Date(`${day}T00:00:00.000Z`);
  date.setUTCDate(date.getUTCDate() - 1);
  return date.toISOString().slice(0, 10);
}

function isCalendarDate(day: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return false;
  const date = new Date(`${day}T00:00:00.000Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day;
}

function summarise(
  label: string,
  analysis: ExperimentAnalysis,
  reportUri: string,
  metricsAccepted: boolean,
): string {
  const e = analysis.experiment;
  const lines = [`${label}: ${analysis.status}`];
  if (e) {
    lines.push(
      `experiment ${e.name}: candidate ${e.candidateVersion} on ${e.candidatePercent}% of user buckets, stable ${e.stableVersion}; ` +
        (e.after === null
          ? `since ${e.firstSeen}${e.startedBeforeWindow ? ` (or earlier: the search goes back ${EXPERIMENT_LOOKBACK_DAYS} days)` : ''}`
          : `since the flag or versions changed at ${e.after}`),
    );
  }
  for (const name of ['stable', 'candidate'] as const) {
    const v = analysis[name];
    if (!v) continue;
    const rate = v.errorRate
      ? `error rate ${pct(v.errorRate.estimate)} [${pct(v.errorRate.lower)}, ${pct(v.errorRate.upper)}]`
      : 'error rate n/a';
    const conf = v.meanConfidence
      ? `mean confidence ${v.meanConfidence.estimate.toFixed(4)} [${v.meanConfidence.lower.toFixed(4)}, ${v.meanConfidence.upper.toFixed(4)}]`
      : 'mean confidence n/a';
    lines.push(`${name}: ${count(v.requests)} requests from ${count(v.buckets)} buckets; ${rate}; ${conf}`);
  }
  if (analysis.split) {
    const s = analysis.split;
    lines.push(
      `split check: ${s.activeCandidate} of ${s.activeCandidate + s.activeStable} buckets with traffic are the candidate's ` +
        `(${s.expectedCandidate.toFixed(1)} expected), p = ${s.pValue.toPrecision(2)}${s.misassignedBuckets > 0 ? `, ${s.misassignedBuckets} misassigned` : ''}`,
    );
  }
  lines.push(...analysis.comparisons.map((c) => c.text));
  lines.push(...analysis.reasons.map((reason) => `not compared: ${reason}`));
  lines.push(
    `method: ${analysis.method.variance}; ${analysis.method.intervals}; ${analysis.method.multiplicity}`,
  );
  lines.push(`report: ${reportUri}`);
  if (!metricsAccepted) {
    lines.push(
      'metrics not published: CloudWatch takes datapoints at most two weeks old; the report holds the day',
    );
  }
  return lines.join('\n');
}

/** 0.0123 -> "1.23%". */
function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** 9046 -> "9,046", without the runtime's locale data. */
function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
