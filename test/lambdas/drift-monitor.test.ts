import {
  AthenaClient,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
} from '@aws-sdk/client-athena';
import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { athenaPort } from '../../lambdas/ab-analysis/athena';
import type { AthenaPort } from '../../lambdas/ab-analysis/athena-port';
import type { AthenaResultSet } from '../../lambdas/core/routing/athena-query';
import type { CategoryCounts } from '../../lambdas/core/contracts/records';
import {
  DatasetScanner,
  evaluateDataset,
  type DatasetScan,
} from '../../lambdas/core/data/dataset-validation';
import { computeJsDistance } from '../../lambdas/core/statistics/drift';
import { buildLabelCountQuery } from '../../lambdas/core/monitoring/drift-monitor';
import type { ServingState } from '../../lambdas/core/serving/serving-records';
import type { DataValidationRecord, EvalSetValidation } from '../../lambdas/data-validation/record';
import { createHandler, driftMonitorEnvSchema, type Deps } from '../../lambdas/drift-monitor';
import { logger } from '../../lambdas/shared/logger';
import { releaseSettings } from '../../lambdas/core/contracts/release-settings';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const WORKGROUP = 'mlops-document-classifier-analysis';
const DATABASE = 'mlops_prediction_logs';
const TABLE = 'predictions';
const EXECUTION = 'b1946ac9-2d4e-4f3a-9b0e-000000000002';
const T0 = new Date('2026-11-27T10:15:00.000Z');
const STATE_KEY = `models/${MODEL}/serving/state.json`;
const RECORD_KEY = `models/${MODEL}/runs/${EXECUTION}/data-validation.json`;
const RECORD_URI = `s3://${ARTIFACTS}/${RECORD_KEY}`;
const RERUN =
  " The schedule retries; after its last retry the event waits in the schedule's dead-letter queue. After " +
  `fixing it, rerun by invoking the function with {"model":"${MODEL}"}.`;

/** The production-like eval set's reference (config/models/document-classifier.yaml: production_sample). */
const REFERENCE = { billing: 500, refund: 300, other: 200 };

const STATE: ServingState = {
  schemaVersion: 1,
  model: MODEL,
  live: {
    endpointName: 'mlops-document-classifier-live',
    configName: 'mlops-document-classifier-live-r2',
    modelName: 'mlops-document-classifier-r2',
    modelVersion: 'abc1234',
    executionId: EXECUTION,
  },
  standby: null,
  updatedAt: '2026-11-20T09:00:00.000Z',
  updatedBy: 'promotion',
};

/** The gate's own scan of a JSONL dataset with these label counts. */
function scan(labels: CategoryCounts): DatasetScan {
  const scanner = new DatasetScanner();
  const lines = Object.entries(labels).flatMap(([label, n]) =>
    Array.from({ length: n }, () =>
      JSON.stringify({ text: 'hello', label, source: 'email', timestamp: '2026-11-01' }),
    ),
  );
  scanner.push(Buffer.from(`${lines.join('\n')}\n`));
  return scanner.end();
}

function evalSet(
  name: string,
  kind: EvalSetValidation['kind'],
  current: CategoryCounts,
  reference: CategoryCounts,
): EvalSetValidation {
  const result = evaluateDataset(name, scan(current), scan(reference), { maxDrift: 0.15 }, ['source']);
  return { evalSet: name, kind, maxDrift: 0.15, valid: result.valid, errors: result.errors, result };
}

/** A data-validation record as the gate writes it (lambdas/data-validation/record.ts). */
function validationRecord(evalSets: EvalSetValidation[]): DataValidationRecord {
  return {
    version: 1,
    model: MODEL,
    executionId: EXECUTION,
    pipeline: 'release',
    commitId: 'abc1234',
    generatedAt: '2026-11-20T08:00:00.000Z',
    verdict: 'pass',
    dvcRemote: 's3://mlops-dvc/document-classifier',
    evalSets,
    drift: [],
  };
}

const RECORD = validationRecord([
  // A benchmark first, with another reference: the monitor must not take it.
  evalSet('golden_set', 'benchmark', { billing: 40, refund: 60 }, { billing: 50, refund: 50 }),
  evalSet('production_sample', 'production-like', { billing: 48, refund: 31, other: 21 }, REFERENCE),
]);

/** A label-count result of Athena: header row, then (label, n) rows. */
function labelCounts(...rows: [string | null, number][]): AthenaResultSet {
  return {
    Rows: [['label', 'n'], ...rows.map(([label, n]) => [label, String(n)])].map((cells) => ({
      Data: cells.map((value) => (value === null ? {} : { VarCharValue: value })),
    })),
    ResultSetMetadata: { ColumnInfo: [{ Name: 'label' }, { Name: 'n' }] },
  };
}

async function failureOf(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.resolved)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return (outcome.error as Error).message;
}

describe('drift monitor handler', () => {
  const moto = useMoto();
  let s3: S3Client;
  let cloudwatch: CloudWatchClient;
  let athena: AthenaClient;
  let port: AthenaPort;
  let deps: Deps;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    s3 = new S3Client(moto.clientConfig);
    cloudwatch = new CloudWatchClient(moto.clientConfig);
    athena = new AthenaClient(moto.clientConfig);
  });

  beforeEach(async () => {
    jest.restoreAllMocks();
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      RELEASE_SETTINGS_PARAMETER: PARAMETER,
      ARTIFACTS_BUCKET: ARTIFACTS,
      ATHENA_WORKGROUP: WORKGROUP,
      GLUE_DATABASE: DATABASE,
      GLUE_TABLE: TABLE,
    });
    port = athenaPort(athena);
    deps = {
      s3,
      ssm: new SSMClient(moto.clientConfig),
      cloudwatch,
      athena: port,
      now: () => T0,
      sleep: async () => undefined,
    };
    const config = shippedConfig();
    const settings = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === MODEL)!,
    );
    // The shipped settings this file relies on.
    expect(settings.monitoring.drift.maxLabelDrift).toBe(0.15);
    expect(settings.evalSets.map((s) => [s.name, s.kind])).toEqual([
      ['golden_set', 'benchmark'],
      ['production_sample', 'production-like'],
    ]);
    await deps.ssm.send(
      new PutParameterCommand({ Name: PARAMETER, Type: 'String', Value: JSON.stringify(settings) }),
    );
    await s3.send(
      new CreateBucketCommand({
        Bucket: ARTIFACTS,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    await put(STATE_KEY, STATE);
    await put(RECORD_KEY, RECORD);
    await athena.send(
      new CreateWorkGroupCommand({
        Name: WORKGROUP,
        Configuration: {
          ResultConfiguration: { OutputLocation: 's3://mlops-athena-results/document-classifier/' },
        },
      }),
    );
  });

  const run = (event: unknown = { model: MODEL }) => createHandler(deps)(event);

  async function put(key: string, body: unknown): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: ARTIFACTS, Key: key, Body: JSON.stringify(body) }));
  }

  /** Queues the result moto's Athena gives the next query. */
  async function queueResult(set: AthenaResultSet): Promise<void> {
    const res = await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        region: 'eu-west-1',
        results: [{ rows: set.Rows, column_info: set.ResultSetMetadata?.ColumnInfo }],
      }),
    });
    expect(res.status).toBe(201);
  }

  async function queries(): Promise<string[]> {
    const res = await athena.send(new ListQueryExecutionsCommand({ WorkGroup: WORKGROUP }));
    return res.QueryExecutionIds ?? [];
  }

  /** Every metric of MLPlatform/Drift read back: name → datapoints around T0. */
  async function published(): Promise<Record<string, number[]>> {
    const listed = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'MLPlatform/Drift' }));
    const metrics = listed.Metrics ?? [];
    if (metrics.length === 0) return {};
    const data = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(T0.getTime() - 3_600_000),
        EndTime: new Date(T0.getTime() + 3_600_000),
        MetricDataQueries: metrics.map((metric, i) => ({
          Id: `m${i}`,
          MetricStat: { Metric: metric, Period: 60, Stat: 'Maximum' },
        })),
      }),
    );
    return Object.fromEntries(
      metrics.map((metric, i) => {
        expect(metric.Dimensions).toEqual([{ Name: 'Model', Value: MODEL }]);
        return [metric.MetricName!, data.MetricDataResults?.find((r) => r.Id === `m${i}`)?.Values ?? []];
      }),
    );
  }

  test("end to end: queries the last 24 h, compares with the live release's reference, publishes the distance", async () => {
    await queueResult(labelCounts(['billing', 450], ['other', 150], ['refund', 380], [null, 7]));
    const info = jest.spyOn(logger, 'info');

    const result = await run();

    const [id] = await queries();
    const ran = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    expect(ran.QueryExecution).toMatchObject({
      Query: buildLabelCountQuery({
        database: DATABASE,
        table: TABLE,
        model: MODEL,
        now: T0,
        windowHours: 24,
      }),
      WorkGroup: WORKGROUP,
      QueryExecutionContext: { Database: DATABASE },
    });
    expect(ran.QueryExecution?.Query).toContain("AND dt IN ('2026-11-27', '2026-11-26')");

    const predicted = { billing: 450, other: 150, refund: 380 };
    const distance = computeJsDistance(predicted, REFERENCE);
    expect(distance).toBeGreaterThan(0.05);
    expect(distance).toBeLessThan(0.15);
    // 980 predictions: this distance is beyond sampling noise, so the alarm's metric carries it too.
    expect(await published()).toEqual({
      PredictionsCompared: [980],
      LabelDrift: [distance],
      SignificantLabelDrift: [distance],
    });
    expect(result).toEqual({
      model: MODEL,
      status: 'published',
      liveExecutionId: EXECUTION,
      referenceEvalSet: 'production_sample',
      windowHours: 24,
      predictionsCompared: 980,
      labelDrift: distance,
      maxLabelDrift: 0.15,
      queryExecutionId: id,
      metricsPublished: 3,
      summary:
        `Drift monitor of ${MODEL}: label drift ${distance.toFixed(3)} <= maxLabelDrift 0.15 (label 'refund' 30% → ` +
        "39%, label 'other' 20% → 15%, label 'billing' 50% → 46%); 980 predictions of the last 24 h against the " +
        `reference set of production-like eval set production_sample (1000 labels, release execution ${EXECUTION})`,
    });
    expect(info).toHaveBeenCalledWith('label drift published', {
      labelDrift: distance,
      maxLabelDrift: 0.15,
      predictionsCompared: 980,
      unlabelledPredictions: 7,
      queryExecutionId: id,
    });
  });

  test("the distance is the gate's: the same predictions as an eval set would fail the gate at the same distance", async () => {
    // Far from the reference: above the alarm threshold.
    await queueResult(labelCounts(['billing', 100], ['refund', 800], ['other', 100]));
    const result = await run();
    const gate = evaluateDataset(
      'production_sample',
      scan({ billing: 100, refund: 800, other: 100 }),
      scan(REFERENCE),
      { maxDrift: 0.15 },
      ['source'],
    );
    expect(gate.valid).toBe(false);
    expect(result.labelDrift).toBe(gate.jsDistance);
    expect(result.summary).toMatch(
      /^Drift monitor of document-classifier: label drift 0\.\d{3} > maxLabelDrift 0\.15 /,
    );
    expect(await published()).toEqual({
      PredictionsCompared: [1000],
      LabelDrift: [gate.jsDistance],
      SignificantLabelDrift: [gate.jsDistance],
    });
  });

  test('fewer than 100 labelled predictions: PredictionsCompared only, and the log says why', async () => {
    await queueResult(labelCounts(['billing', 60], ['refund', 39], [null, 40]));
    const warn = jest.spyOn(logger, 'warn');

    const result = await run();

    const summary =
      `Drift monitor of ${MODEL}: LabelDrift not published: 99 labelled predictions in the window (and 40 successful ` +
      'without a label, not compared), fewer than the 100 needed for label shares that are not mostly noise (last ' +
      '24 h); PredictionsCompared 99 published; reference: the reference set of production-like eval set ' +
      `production_sample (1000 labels, release execution ${EXECUTION})`;
    expect(result).toMatchObject({
      status: 'too-few-predictions',
      predictionsCompared: 99,
      labelDrift: null,
      metricsPublished: 1,
      summary,
    });
    expect(warn).toHaveBeenCalledWith(summary, { queryExecutionId: (await queries())[0] });
    expect(await published()).toEqual({ PredictionsCompared: [99] });
  });

  test('no prediction at all (the result is the header row only): PredictionsCompared 0', async () => {
    await queueResult(labelCounts());
    const result = await run();
    expect(result).toMatchObject({ status: 'too-few-predictions', predictionsCompared: 0 });
    expect(await published()).toEqual({ PredictionsCompared: [0] });
  });

  test('never released (no serving state): logs it, queries nothing, publishes nothing', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: ARTIFACTS, Key: STATE_KEY }));
    const info = jest.spyOn(logger, 'info');

    const result = await run();

    const summary =
      `Drift monitor of ${MODEL}: nothing to compare, ${MODEL} was never released (no s3://${ARTIFACTS}/${STATE_KEY}); ` +
      'no metric published';
    expect(result).toEqual({
      model: MODEL,
      status: 'not-released',
      liveExecutionId: null,
      referenceEvalSet: null,
      windowHours: 24,
      predictionsCompared: null,
      labelDrift: null,
      maxLabelDrift: 0.15,
      queryExecutionId: null,
      metricsPublished: 0,
      summary,
    });
    expect(info).toHaveBeenCalledWith(summary);
    expect(await queries()).toEqual([]);
    expect(await published()).toEqual({});
  });

  test('a serving state that does not parse: names it and the field', async () => {
    await put(STATE_KEY, { ...STATE, live: { ...STATE.live, executionId: '' } });
    expect(await failureOf(run())).toBe(
      `Drift monitor of ${MODEL} failed: the serving state s3://${ARTIFACTS}/${STATE_KEY} is not a valid record: ` +
        `live.executionId: a non-empty string.${RERUN}`,
    );
    expect(await queries()).toEqual([]);
  });

  test('the live release has no data-validation record: fails, says which release and what to check', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: ARTIFACTS, Key: RECORD_KEY }));
    expect(await failureOf(run())).toBe(
      `Drift monitor of ${MODEL} failed: ${RECORD_URI} does not exist: the live release (abc1234, pipeline ` +
        `execution ${EXECUTION}) has no data-validation record, so its reference is unknown; check that the release ` +
        'pipeline ran the data validation stage for that execution and that the record was not deleted.' +
        RERUN,
    );
    expect(await queries()).toEqual([]);
    expect(await published()).toEqual({});
  });

  test('the record has no production-like eval set: fails and says to add one', async () => {
    await put(RECORD_KEY, validationRecord([RECORD.evalSets[0]]));
    expect(await failureOf(run())).toBe(
      `Drift monitor of ${MODEL} failed: the data-validation record ${RECORD_URI} of the live release has no ` +
        'production-like eval set (it has: golden_set (benchmark)), so there is no reference of real traffic to ' +
        `compare predictions with: add an eval set of kind production-like to evalSets in config/models/${MODEL}.yaml ` +
        `and release.${RERUN}`,
    );
  });

  test('the production-like eval set has no reference label distribution: fails clearly', async () => {
    const { result: _dropped, ...unread } = RECORD.evalSets[1];
    await put(RECORD_KEY, validationRecord([RECORD.evalSets[0], unread]));
    expect(await failureOf(run())).toBe(
      `Drift monitor of ${MODEL} failed: the data-validation record ${RECORD_URI} of the live release holds no ` +
        'reference label distribution for eval set production_sample (the gate did not read it), yet that release ' +
        'passed the gate: the record was changed or written by another version; rerun the release pipeline to ' +
        `record it again.${RERUN}`,
    );
  });

  test('a record of another version: names the record and the field', async () => {
    await put(RECORD_KEY, { ...RECORD, version: 2 });
    expect(await failureOf(run())).toBe(
      `Drift monitor of ${MODEL} failed: ${RECORD_URI} is not a valid record: version: Invalid input: expected 1.${RERUN}`,
    );
  });

  test('an Athena query that fails: says which query and what to check', async () => {
    deps = {
      ...deps,
      athena: {
        ...port,
        getQueryState: async () => ({
          state: 'FAILED',
          reason: "COLUMN_NOT_FOUND: Column 'ts' cannot be resolved",
        }),
      },
    };
    const message = await failureOf(run());
    const [id] = await queries();
    expect(message).toBe(
      `Drift monitor of ${MODEL} failed: Athena query ${id} failed: COLUMN_NOT_FOUND: Column 'ts' cannot be resolved. ` +
        `Check that the table ${DATABASE}.${TABLE} matches the router's prediction logs (columns, partition projection ` +
        `on model and dt) and look at the query in the Athena console (workgroup ${WORKGROUP}, query id ${id}).${RERUN}`,
    );
    expect(await published()).toEqual({});
  });

  test('an event for another model, and a bad event, fail before any work', async () => {
    expect(await failureOf(run({ model: 'fraud-scorer' }))).toBe(
      'Drift monitor of fraud-scorer failed: the event names model "fraud-scorer" but this function monitors ' +
        `"${MODEL}" (release settings ${PARAMETER}): fix the schedule's input or invoke the function of fraud-scorer.`,
    );
    expect(await failureOf(run({ model: MODEL, day: '2026-11-26' }))).toBe(
      `Drift monitor failed: the event {"model":"${MODEL}","day":"2026-11-26"} is not {"model": "<model>"}; fix the ` +
        "schedule's input.",
    );
    expect(await queries()).toEqual([]);
  });

  test('a missing environment variable names it', async () => {
    delete process.env.GLUE_TABLE;
    expect(await failureOf(run())).toBe(
      `Drift monitor of ${MODEL} failed: environment GLUE_TABLE missing or invalid; the function was deployed without ` +
        "the drift monitor's settings: redeploy the model stack.",
    );
    expect(Object.keys(driftMonitorEnvSchema.shape)).toEqual([
      'RELEASE_SETTINGS_PARAMETER',
      'ARTIFACTS_BUCKET',
      'ATHENA_WORKGROUP',
      'GLUE_DATABASE',
      'GLUE_TABLE',
    ]);
  });
});
