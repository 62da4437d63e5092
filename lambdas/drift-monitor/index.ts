/**
 * The drift monitor (EventBridge Scheduler, `monitoring.drift.schedule`, event `{"model": "..."}`).
 * It counts the labels the model predicted over the last DRIFT_WINDOW_HOURS (Athena over the
 * router's prediction logs), compares them with the label counts of the reference set of the
 * production-like eval set that the live release's data-validation gate recorded, with the gate's
 * own drift code, and publishes the Jensen–Shannon distance to CloudWatch for the drift alarm:
 * `MLPlatform/Drift` `LabelDrift` (None), `SignificantLabelDrift` (None: the distance when the chi-square
 * finds it significant, else 0; the alarm's metric) and `PredictionsCompared` (Count), dimension Model.
 *
 * A model never released has nothing to compare with: the monitor logs it and publishes nothing.
 * Too few predictions: only `PredictionsCompared` is published (the alarm sees missing data).
 * Any failure throws: the scheduler retries and, after its last retry, keeps the event in its
 * dead-letter queue.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { artifactKeys } from '../core/contracts/release-settings';
import { athenaPort } from '../ab-analysis/athena';
import type { AthenaPort } from '../ab-analysis/athena-port';
import { describeError, runQuery } from '../ab-analysis/query';
import { resolveDatasetSchema } from '../core/data/dataset-validation';
import {
  assessLabelDrift,
  buildLabelCountQuery,
  DRIFT_WINDOW_HOURS,
  parseLabelCounts,
  windowDays,
  type LabelDriftAssessment,
} from '../core/monitoring/drift-monitor';
import {
  parseServingRecord,
  ServingRecordError,
  servingStateSchema,
  type ServingState,
} from '../core/serving/serving-records';
import { logger } from '../shared/logger';
import { readJsonRecord } from '../shared/serving';
import {
  parseModelEvent,
  scheduledHandler,
  type ScheduledHandler,
  type ScheduledJob,
} from '../shared/scheduled-job';
import { dataValidationReferenceSchema, productionLikeReference } from './reference';
import { parseEnvironment } from '../shared/settings';
import { lazy } from '../shared/lazy';
import { METRIC_NAMESPACES } from '../core/contracts/metric-names';

export const DRIFT_METRICS_NAMESPACE = METRIC_NAMESPACES.drift;

/** Longest wait for the Athena query: a day of one model's logs takes seconds. */
export const DEFAULT_MAX_QUERY_WAIT_MS = 5 * 60_000;

/** Time kept, after the wait, to stop a late query and publish the metrics. */
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
   * Longest wait for the query, in milliseconds; never beyond the invocation's remaining time
   * less FINISH_MARGIN_MS.
   * @default DEFAULT_MAX_QUERY_WAIT_MS (5 minutes)
   */
  readonly maxQueryWaitMs?: number;
}

/** Environment the model stack deploys the function with. */
export const driftMonitorEnvSchema = z.object({
  RELEASE_SETTINGS_PARAMETER: z.string().min(1),
  /** Holds the serving state and the data-validation records. */
  ARTIFACTS_BUCKET: z.string().min(1),
  ATHENA_WORKGROUP: z.string().min(1),
  GLUE_DATABASE: z.string().min(1),
  GLUE_TABLE: z.string().min(1),
});
export type DriftMonitorEnv = z.output<typeof driftMonitorEnvSchema>;

export function driftMonitorEnv(env: NodeJS.ProcessEnv = process.env): DriftMonitorEnv {
  return parseEnvironment(driftMonitorEnvSchema, env, "drift monitor's");
}

/** What the invocation returns (shown by a test invoke in the console). */
export interface DriftMonitorResult {
  readonly model: string;
  /** `published`: LabelDrift too; `too-few-predictions`: PredictionsCompared only; `not-released`: nothing. */
  readonly status: 'published' | 'too-few-predictions' | 'not-released';
  /** The pipeline execution that released the live model. */
  readonly liveExecutionId: string | null;
  /** The production-like eval set whose reference set was compared with. */
  readonly referenceEvalSet: string | null;
  readonly windowHours: number;
  readonly predictionsCompared: number | null;
  /** Jensen–Shannon distance (base 2), when published. */
  readonly labelDrift: number | null;
  readonly maxLabelDrift: number;
  readonly queryExecutionId: string | null;
  readonly metricsPublished: number;
  readonly summary: string;
}

const driftMonitorJob: ScheduledJob<{ model: string }, DriftMonitorEnv> = {
  name: 'Drift monitor',
  verb: 'monitors',
  parseEvent: parseModelEvent,
  env: driftMonitorEnv,
};

export function createHandler(deps: Deps): ScheduledHandler<DriftMonitorResult> {
  return scheduledHandler(driftMonitorJob, deps, async ({ model, env, settings, label, context }) => {
    const maxLabelDrift = settings.monitoring.drift.maxLabelDrift;
    const windowHours = DRIFT_WINDOW_HOURS;
    const bucket = env.ARTIFACTS_BUCKET;

    const state = await readServingState(deps.s3, bucket, model);
    if (!state) {
      const summary =
        `${label}: nothing to compare, ${model} was never released (no s3://${bucket}/` +
        `${artifactKeys.servingState(model)}); no metric published`;
      logger.info(summary);
      return {
        model,
        status: 'not-released',
        liveExecutionId: null,
        referenceEvalSet: null,
        windowHours,
        predictionsCompared: null,
        labelDrift: null,
        maxLabelDrift,
        queryExecutionId: null,
        metricsPublished: 0,
        summary,
      };
    }

    const liveExecutionId = state.live.executionId;
    logger.appendKeys({ liveExecutionId });
    const recordKey = artifactKeys.dataValidation(model, liveExecutionId);
    const record = await readJsonRecord(
      deps,
      bucket,
      recordKey,
      dataValidationReferenceSchema,
      `the live release (${state.live.modelVersion}, pipeline execution ${liveExecutionId}) has no ` +
        'data-validation record, so its reference is unknown; check that the release pipeline ran the data ' +
        'validation stage for that execution and that the record was not deleted',
    ).catch((error: unknown) => {
      if (error instanceof ServingRecordError || !(error as Error).message.startsWith('cannot read'))
        throw error;
      throw new Error(
        `${(error as Error).message}; check the function's role: s3:GetObject on models/${model}/runs/* and ` +
          'kms:Decrypt on the bucket key',
        { cause: error },
      );
    });
    const reference = productionLikeReference(
      record,
      resolveDatasetSchema(settings.dataValidation).labelField,
      `the data-validation record s3://${bucket}/${recordKey} of the live release`,
      `config/models/${model}.yaml`,
    );

    const now = deps.now();
    const database = env.GLUE_DATABASE;
    const table = env.GLUE_TABLE;
    const request = {
      sql: buildLabelCountQuery({ database, table, model, now, windowHours }),
      workGroup: env.ATHENA_WORKGROUP,
      database,
    };
    const days = windowDays(now, windowHours);
    const remaining = context ? context.getRemainingTimeInMillis() - FINISH_MARGIN_MS : Infinity;
    const run = await runQuery(
      deps.athena,
      request,
      {
        model,
        day: days.length === 1 ? days[0] : `${days[days.length - 1]} to ${days[0]}`,
        table: `${database}.${table}`,
        maxScannedGb: settings.routing.analysis.maxScannedGb,
      },
      {
        sleep: deps.sleep,
        maxWaitMs: Math.min(deps.maxQueryWaitMs ?? DEFAULT_MAX_QUERY_WAIT_MS, remaining),
      },
    );
    const predicted = parseLabelCounts(run.resultSet);
    const assessment = assessLabelDrift({
      predicted,
      reference: reference.counts,
      evalSet: reference.evalSet,
      maxLabelDrift,
      significance: settings.dataValidation.driftSignificance,
    });

    const data = driftMetricData(model, now, assessment);
    try {
      await deps.cloudwatch.send(
        new PutMetricDataCommand({ Namespace: DRIFT_METRICS_NAMESPACE, MetricData: data }),
      );
    } catch (error) {
      throw new Error(
        `cannot publish the metrics to CloudWatch (namespace ${DRIFT_METRICS_NAMESPACE}): ${describeError(error)}; ` +
          "check the function's role (cloudwatch:PutMetricData for that namespace)",
        { cause: error },
      );
    }

    const against =
      `the reference set of production-like eval set ${reference.evalSet} (${reference.total} labels, ` +
      `release execution ${liveExecutionId})`;
    const window = `last ${windowHours} h`;
    let summary: string;
    if (assessment.status === 'compared') {
      summary = `${label}: ${assessment.text}; ${assessment.predictions} predictions of the ${window} against ${against}`;
      logger.info('label drift published', {
        labelDrift: assessment.report.jsDistance,
        maxLabelDrift,
        predictionsCompared: assessment.predictions,
        unlabelledPredictions: predicted.unlabelled,
        queryExecutionId: run.queryExecutionId,
      });
    } else {
      summary =
        `${label}: LabelDrift not published: ${assessment.reason} (${window}); PredictionsCompared ` +
        `${assessment.predictions} published; reference: ${against}`;
      logger.warn(summary, { queryExecutionId: run.queryExecutionId });
    }
    return {
      model,
      status: assessment.status === 'compared' ? 'published' : 'too-few-predictions',
      liveExecutionId,
      referenceEvalSet: reference.evalSet,
      windowHours,
      predictionsCompared: assessment.predictions,
      labelDrift: assessment.status === 'compared' ? assessment.report.jsDistance : null,
      maxLabelDrift,
      queryExecutionId: run.queryExecutionId,
      metricsPublished: data.length,
      summary,
    };
  });
}

/** `PredictionsCompared` always; `LabelDrift` only when there were enough predictions. */
export function driftMetricData(
  model: string,
  timestamp: Date,
  assessment: LabelDriftAssessment,
): MetricDatum[] {
  const dimensions = [{ Name: 'Model', Value: model }];
  const data: MetricDatum[] = [
    {
      MetricName: 'PredictionsCompared',
      Dimensions: dimensions,
      Timestamp: timestamp,
      Value: assessment.predictions,
      Unit: 'Count',
    },
  ];
  if (assessment.status === 'compared') {
    data.push(
      {
        MetricName: 'LabelDrift',
        Dimensions: dimensions,
        Timestamp: timestamp,
        Value: assessment.report.jsDistance,
        Unit: 'None',
      },
      {
        // The alarm's metric: the distance only when the chi-square test of homogeneity says it is beyond sampling noise.
        MetricName: 'SignificantLabelDrift',
        Dimensions: dimensions,
        Timestamp: timestamp,
        Value: assessment.significantDistance,
        Unit: 'None',
      },
    );
  }
  return data;
}

/** The serving state, or undefined when the model was never released (no state yet). */
async function readServingState(
  s3: S3Client,
  bucket: string,
  model: string,
): Promise<ServingState | undefined> {
  const key = artifactKeys.servingState(model);
  const url = `s3://${bucket}/${key}`;
  let text: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await res.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    throw new Error(
      `cannot read the serving state ${url}: ${describeError(error)}; check the function's role: s3:GetObject on ` +
        'the object, kms:Decrypt on the bucket key, and s3:ListBucket on the bucket, without which S3 answers ' +
        'AccessDenied for a model that was never released',
      { cause: error },
    );
  }
  return parseServingRecord(servingStateSchema, text, `the serving state ${url}`);
}

let defaults: Deps | undefined;

/** Clients created once per container. */
export function defaultDeps(): Deps {
  defaults ??= {
    s3: lazy(() => new S3Client({})),
    ssm: lazy(() => new SSMClient({})),
    cloudwatch: lazy(() => new CloudWatchClient({})),
    athena: athenaPort(lazy(() => new AthenaClient({}))),
    now: () => new Date(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  return defaults;
}

export const handler = createHandler(defaultDeps());
