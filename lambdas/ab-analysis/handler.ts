/**
 * The nightly A/B analysis (EventBridge Scheduler, event `{"model": "...", "day": "YYYY-MM-DD"}`,
 * `day` optional: yesterday, UTC). It queries one day of the router's prediction logs with Athena,
 * compares the two variants (core/ab-analysis.ts), writes the report to the artifacts bucket and
 * publishes the figures to CloudWatch for the dashboard.
 *
 * Any failure throws: the scheduler retries and, after its last retry, keeps the event in its
 * dead-letter queue. Every message names the model and day, what failed, what to check and how
 * to rerun the day by hand.
 */
import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { artifactKeys } from '../../lib/config/release-settings';
import { analyseVariants, parseSummaryRows, type AbAnalysis } from '../core/ab-analysis';
import { buildVariantSummaryQuery } from '../core/athena-query';
import { logger } from '../shared/logger';
import { putRunRecord } from '../shared/run-records';
import {
  parseScheduleEvent,
  rerunHint,
  scheduledHandler,
  type ScheduledHandler,
  type ScheduledJob,
} from '../shared/scheduled-job';
import type { AthenaPort } from './athena-port';
import type { IntendedSplit, ReadIntendedSplit } from './intended-split';
import { abMetricData, AB_METRICS_NAMESPACE, MAX_METRIC_AGE_MS } from './metrics';
import { describeError, runQuery } from './query';
import { parseEnvironment } from '../shared/settings';

/** Longest wait for the Athena query; the function's timeout (15 min) leaves room for the rest. */
export const DEFAULT_MAX_QUERY_WAIT_MS = 10 * 60_000;

/** Time kept, after the wait, to stop a late query, write the report and publish the metrics. */
export const FINISH_MARGIN_MS = 60_000;

/** Everything external the handler touches; tests pass their own. */
export interface Deps {
  readonly s3: S3Client;
  readonly ssm: SSMClient;
  readonly cloudwatch: CloudWatchClient;
  readonly athena: AthenaPort;
  readonly readIntendedSplit: ReadIntendedSplit;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Longest wait for the query, in milliseconds; never beyond the invocation's remaining time
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

/** The stored report, `models/<model>/ab/<day>.json`. */
export interface AbReport {
  readonly schemaVersion: 1;
  readonly model: string;
  readonly day: string;
  readonly analysedAt: string;
  readonly intendedSplit: IntendedSplit;
  readonly query: {
    readonly queryExecutionId: string;
    readonly workGroup: string;
    readonly database: string;
    readonly table: string;
    readonly dataScannedBytes: number | null;
    readonly resultPages: number;
  };
  /** Null when the day is too old for CloudWatch (two weeks): only this report holds it. */
  readonly metrics: { readonly namespace: string; readonly timestamp: string } | null;
  readonly analysis: AbAnalysis;
}

/** What the invocation returns (shown by a test invoke in the console). */
export interface AbAnalysisResult {
  readonly model: string;
  readonly day: string;
  readonly status: AbAnalysis['status'];
  readonly srm: boolean;
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
    let split: IntendedSplit;
    try {
      split = await deps.readIntendedSplit();
    } catch (error) {
      throw new Error(
        `cannot read the intended candidate share, so nothing was queried: ${(error as Error).message}`,
        { cause: error },
      );
    }

    const database = env.GLUE_DATABASE;
    const table = env.GLUE_TABLE;
    const request = {
      sql: buildVariantSummaryQuery({ database, table, model, day }),
      workGroup: env.ATHENA_WORKGROUP,
      database,
    };
    const remaining = context ? context.getRemainingTimeInMillis() - FINISH_MARGIN_MS : Infinity;
    const run = await runQuery(
      deps.athena,
      request,
      { model, day, table: `${database}.${table}`, maxScannedGb: settings.routing.analysis.maxScannedGb },
      {
        sleep: deps.sleep,
        maxWaitMs: Math.min(deps.maxQueryWaitMs ?? DEFAULT_MAX_QUERY_WAIT_MS, remaining),
      },
    );
    const analysis = analyseVariants(parseSummaryRows(run.resultSet), {
      intendedCandidatePercent: split.candidatePercent,
      minSamples: settings.routing.analysis.minSamples,
    });

    const dayStart = new Date(`${day}T00:00:00.000Z`);
    const metricsAccepted = now.getTime() - dayStart.getTime() <= MAX_METRIC_AGE_MS;
    const report: AbReport = {
      schemaVersion: 1,
      model,
      day,
      analysedAt: now.toISOString(),
      intendedSplit: { candidatePercent: split.candidatePercent, source: split.source },
      query: {
        queryExecutionId: run.queryExecutionId,
        workGroup: request.workGroup,
        database,
        table,
        dataScannedBytes: run.dataScannedBytes,
        resultPages: run.resultPages,
      },
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
    if (metricsAccepted) {
      const data = abMetricData(model, dayStart, analysis);
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
      srm: analysis.srm,
      queryExecutionId: run.queryExecutionId,
      dataScannedBytes: run.dataScannedBytes,
      metricsPublished,
      report: reportUri,
    });
    return {
      model,
      day,
      status: analysis.status,
      srm: analysis.srm,
      report: reportUri,
      metricsPublished,
      summary: summarise(label, analysis, split, reportUri, metricsAccepted),
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
  analysis: AbAnalysis,
  split: IntendedSplit,
  reportUri: string,
  metricsAccepted: boolean,
): string {
  const lines = [
    `${label}: ${analysis.status}`,
    `stable ${count(analysis.stable?.n ?? 0)} requests, candidate ${count(analysis.candidate?.n ?? 0)}; ` +
      `intended candidate share ${split.candidatePercent}% (${split.source})`,
    ...analysis.findings.map((f) =>
      f.severity === 'info' ? f.text : `${f.severity.toUpperCase()}: ${f.text}`,
    ),
    ...analysis.reasons.map((reason) => `not compared: ${reason}`),
    `report: ${reportUri}`,
  ];
  if (!metricsAccepted) {
    lines.push(
      'metrics not published: CloudWatch takes datapoints at most two weeks old; the report holds the day',
    );
  }
  return lines.join('\n');
}

/** 9046 -> "9,046", without the runtime's locale data. */
function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
