/**
 * The confidence baseline job (EventBridge Scheduler, `monitoring.confidenceAlarm.baselineSchedule`,
 * event `{"model": "..."}`). For the version that serves (`serving/state.json`):
 *
 * - while its baseline window runs, or once its baseline exists, it re-asserts what the alarm should
 *   be for that version (`rebaselineConfidenceAlarm`: idempotent, a no-op when it already is), which
 *   also repairs an alarm a `cdk deploy` put back to its deployed, disarmed form;
 * - once the window has ended without a baseline, it reads the alarm's own inputs (the `n`, `s`
 *   and `q` queries of the deployed alarm, so it measures exactly what the alarm watches) over the
 *   window with `GetMetricData`, estimates B and τ² (lambdas/core/monitoring/confidence-alarm.ts), writes the
 *   version's record and arms the alarm (rollback action back). Too few usable periods: the record
 *   says so (`lastAttempt`), a log line too, and the alarm stays provisional.
 *
 * A concurrent promotion or rollback wins: the record is written only if the serving state still
 * names the version (re-read just before) and the record is unchanged since it was read (S3
 * conditional write on its ETag). Promotion and rollback write the serving state before they
 * re-baseline the alarm, so the job re-reads the state after its own re-baseline; if another
 * version serves by then, the job puts the alarm back on that version's record.
 *
 * Any failure throws: the scheduler retries and, after its last retry, keeps the event in the
 * monitors' dead-letter queue, which pages.
 */
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { z } from 'zod';
import { artifactKeys } from '../core/contracts/release-settings';
import { describeError } from '../ab-analysis/query';
import { CONFIDENCE_ALARM_IDS } from '../core/monitoring/confidence-alarm';
import {
  confidenceBaselineKey,
  confidenceBaselineRecordSchema,
} from '../core/monitoring/confidence-baseline';
import {
  canaryTrafficEnd,
  confidenceBaselineJobEnvSchema,
  measuredRecord,
  periodsOfSeries,
  planBaselineJob,
  servingStart,
  type BaselineJobStep,
  type CanaryActivity,
  type ConfidenceBaselineJobEnv,
  type MetricSeries,
} from '../core/monitoring/confidence-baseline-job';
import {
  canaryRecordSchema,
  parseServingRecord,
  servingStateSchema,
  type ServingState,
} from '../core/serving/serving-records';
import { rebaselineConfidenceAlarm, writeConfidenceBaseline } from '../shared/confidence-alarm';
import { logger } from '../shared/logger';
import {
  parseModelEvent,
  scheduledHandler,
  type ScheduledHandler,
  type ScheduledJob,
} from '../shared/scheduled-job';
import { parseEnvironment } from '../shared/settings';

/** Everything external the handler touches; tests pass their own. */
export interface Deps {
  readonly ssm: SSMClient;
  readonly s3: S3Client;
  readonly cloudwatch: CloudWatchClient;
  readonly sagemaker: SageMakerClient;
  readonly now: () => Date;
}

export function confidenceBaselineJobEnv(env: NodeJS.ProcessEnv = process.env): ConfidenceBaselineJobEnv {
  return parseEnvironment(confidenceBaselineJobEnvSchema, env, "confidence baseline job's");
}

/** What the run did, for the log and a test invoke in the console. */
export type BaselineJobOutcome =
  /** No release yet, or the served version has no record yet: nothing changed. */
  | 'nothing-to-do'
  /** The window runs: the alarm is (still) provisional for the served version. */
  | 'provisional'
  /** The window ended with too few usable periods: recorded, still provisional. */
  | 'too-few-periods'
  /** The baseline was measured now and the alarm armed on it. */
  | 'armed'
  /** The baseline existed: the alarm is (still) armed on it. */
  | 'already-armed'
  /** A promotion or rollback changed what serves (or the record) meanwhile: it won, nothing written. */
  | 'superseded';

export interface BaselineJobResult {
  readonly model: string;
  readonly modelVersion: string | null;
  readonly outcome: BaselineJobOutcome;
  readonly summary: string;
}

const job: ScheduledJob<{ model: string }, ConfidenceBaselineJobEnv> = {
  name: 'Confidence baseline job',
  verb: 'measures the confidence baseline of',
  parseEvent: parseModelEvent,
  env: confidenceBaselineJobEnv,
};

interface Versioned<T> {
  readonly value: T;
  readonly etag: string | undefined;
}

/** A JSON record and its ETag, or null when the key does not exist. */
async function readVersioned<S extends z.ZodType>(
  s3: S3Client,
  bucket: string,
  key: string,
  schema: S,
): Promise<Versioned<z.output<S>> | null> {
  const label = `s3://${bucket}/${key}`;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await res.Body?.transformToString('utf8')) ?? '';
    return { value: parseServingRecord(schema, text, label), etag: res.ETag };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return null;
    if (name === 'ServingRecordError') throw error;
    throw new Error(
      `cannot read ${label}: ${describeError(error)}; check the function's role (s3:GetObject on that key, ` +
        'kms:Decrypt on the platform key)',
      { cause: error },
    );
  }
}

function isConflict(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === 'PreconditionFailed' ||
    e.name === 'ConditionalRequestConflict' ||
    e.$metadata?.httpStatusCode === 412 ||
    e.$metadata?.httpStatusCode === 409
  );
}

export function createHandler(deps: Deps): ScheduledHandler<BaselineJobResult> {
  return scheduledHandler(job, deps, async ({ model, env, settings, label }) => {
    const now = deps.now();
    const by = `confidence baseline job ${now.toISOString()}`;
    const rule = settings.monitoring.confidenceAlarm;
    const bucket = env.ARTIFACTS_BUCKET;
    const stateKey = artifactKeys.servingState(model);
    const readState = () => readVersioned(deps.s3, bucket, stateKey, servingStateSchema);
    const readRecord = (modelVersion: string) =>
      readVersioned(
        deps.s3,
        bucket,
        confidenceBaselineKey(model, modelVersion),
        confidenceBaselineRecordSchema,
      );
    const rebaseline = (state: ServingState, by: string) =>
      rebaselineConfidenceAlarm(
        { cloudwatch: deps.cloudwatch, s3: deps.s3 },
        {
          alarmName: env.CONFIDENCE_ALARM_NAME,
          rollbackActionArn: env.CONFIDENCE_ROLLBACK_ACTION_ARN,
          bucket,
          model,
          modelVersion: state.live.modelVersion,
          // Used only to create a record, which the job never needs: it acts on versions that have one.
          servedSince: new Date(state.updatedAt),
          evalMean: null,
          provisionalStdDev: rule.provisionalStdDev,
          by,
        },
      );
    /**
     * Re-baselines the alarm for `state`'s version, then makes sure a concurrent promotion or
     * rollback keeps the last word: they write the serving state before they re-baseline, so if
     * another version serves now, its re-baseline may have run before this one. The alarm goes back
     * on that version's record (a version without a record has not re-baselined yet, and will).
     */
    const reassert = async (state: ServingState): Promise<string> => {
      const said = await rebaseline(state, by);
      const after = await readState();
      if (!after || after.value.live.modelVersion === state.live.modelVersion) return said;
      const theirs = await readRecord(after.value.live.modelVersion);
      if (theirs === null) return said;
      const since = servingStart(after.value, theirs.value).toISOString();
      return `${said}; ${after.value.live.modelVersion} serves since ${since}: ${await rebaseline(after.value, by)}`;
    };
    const done = (modelVersion: string | null, outcome: BaselineJobOutcome, summary: string) => {
      logger.info(summary, { modelVersion, outcome });
      return { model, modelVersion, outcome, summary: `${label}: ${summary}` };
    };

    const state = await readState();
    const version = state?.value.live.modelVersion;
    const record = version === undefined ? null : await readRecord(version);
    const input = {
      state: state?.value ?? null,
      record: record?.value ?? null,
      now,
      baselineHours: rule.baselineHours,
      periodSeconds: rule.periodSeconds,
    };
    let step: BaselineJobStep = planBaselineJob(input);
    if (step.kind === 'measure') {
      // Only when a window is to be read: what else answered on the live endpoint meanwhile.
      const since = servingStart(state!.value, record!.value);
      step = planBaselineJob({
        ...input,
        canaries: await canariesSince(deps.s3, bucket, model, since),
        liveUpdate: await liveUpdate(deps.sagemaker, env.LIVE_ENDPOINT, state!.value),
      });
    }

    switch (step.kind) {
      case 'nothing-serves':
      case 'no-record':
        return done(version ?? null, 'nothing-to-do', step.why);
      case 'wait':
        return done(step.modelVersion, 'provisional', `${step.why}; ${await reassert(state!.value)}`);
      case 'has-baseline':
        return done(step.modelVersion, 'already-armed', `${step.why}; ${await reassert(state!.value)}`);
      case 'measure':
        break;
    }

    const series = await readConfidenceSeries(deps.cloudwatch, env.CONFIDENCE_ALARM_NAME, step);
    const periods = periodsOfSeries(series.count, series.sum, series.sumOfSquares);
    const measured = measuredRecord(
      record!.value,
      periods,
      { start: step.windowStart, end: step.windowEnd },
      rule.minRequestsPerPeriod,
      now,
      by,
    );

    // A promotion or rollback that happened meanwhile wins: write only for the version that serves.
    const before = await readState();
    if (before?.value.live.modelVersion !== step.modelVersion || before.etag !== state!.etag) {
      return done(
        step.modelVersion,
        'superseded',
        `${step.modelVersion} no longer serves the way it did when the run began (${before ? `${before.value.live.modelVersion} serves, state written ${before.value.updatedAt}` : 'no serving state'}): nothing written; the promotion or rollback re-baselined the alarm`,
      );
    }
    try {
      await writeConfidenceBaseline(deps.s3, bucket, measured.record, { ifMatch: record!.etag });
    } catch (error) {
      if (isConflict(error)) {
        return done(
          step.modelVersion,
          'superseded',
          `${confidenceBaselineKey(model, step.modelVersion)} changed since it was read (another run or a rollback wrote it): nothing written; the next run looks again`,
        );
      }
      throw new Error(
        `cannot write s3://${bucket}/${confidenceBaselineKey(model, step.modelVersion)}: ${describeError(error)}; ` +
          "check the function's role (s3:PutObject on the baseline records, kms:GenerateDataKey on the platform key)",
        { cause: error },
      );
    }
    if (measured.estimate === null) {
      logger.warn('confidence baseline: too few periods', {
        modelVersion: step.modelVersion,
        lastAttempt: measured.record.lastAttempt,
      });
      return done(step.modelVersion, 'too-few-periods', `${measured.said}; ${await reassert(state!.value)}`);
    }
    return done(step.modelVersion, 'armed', `${measured.said}; ${await reassert(state!.value)}`);
  });
}

/**
 * The model's canary records written since `since` (each run's `canary.json`): when a later
 * release's candidate answered part of the live endpoint's traffic. S3 lists keys with their
 * LastModified; only records written since then are read.
 */
async function canariesSince(
  s3: S3Client,
  bucket: string,
  model: string,
  since: Date,
): Promise<CanaryActivity[]> {
  const prefix = artifactKeys.run(model, '').replace(/\/+$/, '/');
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const res = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) {
        if (!o.Key?.endsWith('/canary.json')) continue;
        if (o.LastModified !== undefined && o.LastModified.getTime() < since.getTime()) continue;
        keys.push(o.Key);
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw new Error(
      `cannot list the canary records under s3://${bucket}/${prefix}: ${describeError(error)}; check the function's role ` +
        '(s3:ListBucket on that prefix)',
      { cause: error },
    );
  }
  const out: CanaryActivity[] = [];
  for (const key of keys) {
    const found = await readVersioned(s3, bucket, key, canaryRecordSchema);
    if (found === null) continue;
    const c = found.value;
    const activity: CanaryActivity = {
      modelVersion: c.modelVersion,
      startedAt: new Date(c.startedAt),
      finishedAt: new Date(c.finishedAt),
      outcome: c.outcome,
    };
    if (canaryTrafficEnd(activity).getTime() >= since.getTime()) out.push(activity);
  }
  return out;
}

/** What updates the live endpoint now, or null when it is in service on the served config. */
async function liveUpdate(
  sagemaker: SageMakerClient,
  endpointName: string,
  state: ServingState,
): Promise<string | null> {
  let res;
  try {
    res = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (error) {
    throw new Error(
      `cannot describe the live endpoint ${endpointName}: ${describeError(error)}; check the function's role ` +
        '(sagemaker:DescribeEndpoint on that endpoint)',
      { cause: error },
    );
  }
  if (res.EndpointStatus === 'InService' && res.EndpointConfigName === state.live.configName) return null;
  return `${res.EndpointStatus ?? 'unknown status'} on config ${res.EndpointConfigName ?? 'unknown'}`;
}

/**
 * The alarm's `n`, `s` and `q` series over the window: its own MetricStat queries (namespace,
 * dimensions, period, statistic), so the baseline is measured on exactly what the alarm watches.
 * GetMetricData returns at most 100,800 datapoints per call and pages the rest with NextToken
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html); 14
 * days of one-minute periods is 3 × 20,160.
 */
async function readConfidenceSeries(
  cloudwatch: CloudWatchClient,
  alarmName: string,
  window: { readonly windowStart: Date; readonly windowEnd: Date },
): Promise<{ count: MetricSeries; sum: MetricSeries; sumOfSquares: MetricSeries }> {
  let alarm;
  try {
    const found = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: [alarmName], AlarmTypes: ['MetricAlarm'] }),
    );
    alarm = found.MetricAlarms?.[0];
  } catch (error) {
    throw new Error(
      `cannot describe the confidence alarm ${alarmName}: ${describeError(error)}; check the function's role ` +
        '(cloudwatch:DescribeAlarms on that alarm)',
      { cause: error },
    );
  }
  const ids = [CONFIDENCE_ALARM_IDS.count, CONFIDENCE_ALARM_IDS.sum, CONFIDENCE_ALARM_IDS.sumOfSquares];
  const queries: MetricDataQuery[] = ids.map((id) => {
    const q = alarm?.Metrics?.find((m) => m.Id === id);
    if (!q?.MetricStat) {
      throw new Error(
        alarm
          ? `the confidence alarm ${alarmName} has no "${id}" metric query (an alarm from before the metric-math alarm); deploy the model stack, then rerun`
          : `the confidence alarm ${alarmName} does not exist; deploy the model stack, then rerun`,
      );
    }
    return { Id: id, MetricStat: q.MetricStat, ReturnData: true };
  });
  const values = new Map<string, { timestamps: Date[]; values: number[] }>(
    ids.map((id) => [id, { timestamps: [], values: [] }]),
  );
  let token: string | undefined;
  let pages = 0;
  do {
    let res;
    try {
      res = await cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: window.windowStart,
          EndTime: window.windowEnd,
          MetricDataQueries: queries,
          ScanBy: 'TimestampAscending',
          NextToken: token,
        }),
      );
    } catch (error) {
      throw new Error(
        `cannot read the router's confidence metrics from CloudWatch (${window.windowStart.toISOString()} to ` +
          `${window.windowEnd.toISOString()}): ${describeError(error)}; check the function's role (cloudwatch:GetMetricData)`,
        { cause: error },
      );
    }
    for (const r of res.MetricDataResults ?? []) append(values, r);
    token = res.NextToken;
    pages += 1;
    if (pages > 50 && token) {
      throw new Error(
        `GetMetricData kept paging after ${pages} pages for a window of at most 14 days of 3 series; ` +
          'the next scheduled run reads the window again',
      );
    }
  } while (token);
  const get = (id: string): MetricSeries => values.get(id)!;
  return {
    count: get(CONFIDENCE_ALARM_IDS.count),
    sum: get(CONFIDENCE_ALARM_IDS.sum),
    sumOfSquares: get(CONFIDENCE_ALARM_IDS.sumOfSquares),
  };
}

function append(into: Map<string, { timestamps: Date[]; values: number[] }>, r: MetricDataResult): void {
  const target = r.Id === undefined ? undefined : into.get(r.Id);
  if (!target) return;
  if (r.StatusCode && r.StatusCode !== 'Complete' && r.StatusCode !== 'PartialData') {
    throw new Error(
      `CloudWatch answered the query "${r.Id}" with status ${r.StatusCode}` +
        `${r.Messages?.length ? ` (${r.Messages.map((m) => m.Value).join('; ')})` : ''}; the next scheduled run reads the window again`,
    );
  }
  const ts = r.Timestamps ?? [];
  const vs = r.Values ?? [];
  for (let i = 0; i < Math.min(ts.length, vs.length); i++) {
    target.timestamps.push(new Date(ts[i]!));
    target.values.push(vs[i]!);
  }
}

let defaults: Deps | undefined;

/** Clients created once per container. */
export function defaultDeps(): Deps {
  defaults ??= {
    ssm: new SSMClient({}),
    s3: new S3Client({}),
    cloudwatch: new CloudWatchClient({}),
    sagemaker: new SageMakerClient({}),
    now: () => new Date(),
  };
  return defaults;
}

export const handler = createHandler(defaultDeps());
