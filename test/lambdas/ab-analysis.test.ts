import {
  AthenaClient,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type GetQueryExecutionCommandInput,
  type GetQueryResultsCommandInput,
  type GetQueryResultsCommandOutput,
  type QueryExecutionStatus,
  type StartQueryExecutionCommandInput,
  type StopQueryExecutionCommandInput,
} from '@aws-sdk/client-athena';
import {
  CloudWatchClient,
  GetMetricDataCommand,
  ListMetricsCommand,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { athenaPort } from '../../lambdas/ab-analysis/athena';
import { createHandler, previousDay, type AbReport, type Deps } from '../../lambdas/ab-analysis/handler';
import {
  analyseExperiment,
  buildBucketTotalsQuery,
  buildFlagHistoryQuery,
  findExperiment,
  parseBucketTotals,
  parseFlagHistory,
  type Experiment,
  type ResultSetLike,
} from '../../lambdas/core/routing/ab-experiment';
import { seededRandom } from '../../lambdas/core/statistics/gate-stats';
import { logger } from '../../lambdas/shared/logger';
import { releaseSettings } from '../../lambdas/core/contracts/release-settings';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const WORKGROUP = 'mlops-document-classifier-ab';
const DATABASE = 'mlops_prediction_logs';
const TABLE = 'predictions';
/** 02:30 UTC, when the schedule runs (routing.analysis.schedule): the default day is the 26th. */
const T0 = new Date('2026-11-27T02:30:00.000Z');
const DAY = '2026-11-26';
/** 35 days back, the day included: EXPERIMENT_LOOKBACK_DAYS. */
const LOOKBACK_START = '2026-10-23';
const REPORT_KEY = `models/${MODEL}/ab/${DAY}.json`;
const REPORT_URI = `s3://${ARTIFACTS}/${REPORT_KEY}`;
const RERUN = `After fixing it, rerun the day by invoking the function with {"model":"${MODEL}","day":"${DAY}"}.`;

const HISTORY_COLUMNS = [
  'experiment_flag',
  'kill_switch_flag',
  'percent_flag',
  'variant',
  'model_version',
  'first_ts',
  'last_ts',
  'n',
];
const TOTALS_COLUMNS = ['variant', 'user_bucket', 'n', 'errors', 'confidence_n', 'confidence_sum'];

/** A query result of the given columns and data rows, shaped like Athena's GetQueryResults. */
function resultSet(
  columns: string[],
  rows: (string | null)[][],
): ResultSetLike & { ResultSetMetadata: object } {
  return {
    Rows: [columns, ...rows].map((cells) => ({
      Data: cells.map((value) => (value === null ? {} : { VarCharValue: value })),
    })),
    ResultSetMetadata: { ColumnInfo: columns.map((Name) => ({ Name, Type: 'varchar' })) },
  };
}

/** One flag-history row: [experiment, killSwitch, percent | null, variant, version, first, last, n]. */
type HistoryRow = [string, boolean, number | null, string, string, string, string, number];
function history(...rows: HistoryRow[]) {
  return resultSet(
    HISTORY_COLUMNS,
    rows.map(([experiment, kill, percent, variant, version, first, last, n]) => [
      `experiment=${experiment}`,
      `killSwitch=${kill}`,
      percent === null ? null : `candidatePercent=${percent}`,
      variant,
      version,
      first,
      last,
      String(n),
    ]),
  );
}

/** The flag history of an experiment at 10% running since the 20th, v12 against v13. */
const RUNNING = history(
  ['ab', false, 10, 'stable', 'v12', '2026-11-20T09:00:01.000Z', '2026-11-26T23:59:58.000Z', 90_000],
  ['ab', false, 10, 'candidate', 'v13', '2026-11-20T09:00:03.000Z', '2026-11-26T23:59:59.000Z', 10_000],
);

/**
 * Per-bucket totals as the bucket-totals query returns them: `stable` and `candidate` active
 * buckets drawn from each variant's share of the 10,000 (the candidate's are below 1,000 at 10%),
 * with the given error rates; seeded, so every run sees the same numbers.
 */
function totals(options: {
  stable: number;
  candidate: number;
  stableErrorRate?: number;
  candidateErrorRate?: number;
  seed?: number;
  /** The split's candidate share, percent. @default 10 */
  percent?: number;
  extra?: (string | null)[][];
}) {
  const random = seededRandom(options.seed ?? 1);
  const rows: (string | null)[][] = [];
  const draw = (variant: string, count: number, from: number, to: number, errorRate: number) => {
    const step = Math.floor((to - from) / count);
    for (let i = 0; i < count; i++) {
      const n = 1 + Math.floor(random() * 40);
      let errors = 0;
      for (let r = 0; r < n; r++) if (random() < errorRate) errors++;
      const ok = n - errors;
      const sum = ok * (0.75 + 0.1 * random());
      rows.push([variant, String(from + i * step), String(n), String(errors), String(ok), String(sum)]);
    }
  };
  const boundary = (options.percent ?? 10) * 100;
  draw('candidate', options.candidate, 0, boundary, options.candidateErrorRate ?? 0.01);
  draw('stable', options.stable, boundary, 10_000, options.stableErrorRate ?? 0.01);
  return resultSet(TOTALS_COLUMNS, [...rows, ...(options.extra ?? [])]);
}

function experimentOf(set: ResultSetLike, day = DAY, fromDay = LOOKBACK_START): Experiment {
  const search = findExperiment(parseFlagHistory(set), { fromDay, day });
  if (!search.found) throw new Error(search.reason);
  return search.experiment;
}

/** GetQueryResults pages of the result set, of the given row counts (the first holds the header row). */
function pages(set: ReturnType<typeof resultSet>, ...sizes: number[]): GetQueryResultsCommandOutput[] {
  const rows = [...(set.Rows ?? [])];
  return sizes.map((size, i) => ({
    $metadata: {},
    ResultSet: {
      ResultSetMetadata: structuredClone(set.ResultSetMetadata) as never,
      Rows: structuredClone(rows.splice(0, size)) as never,
    },
    NextToken: i < sizes.length - 1 ? `page-${i + 2}` : undefined,
  }));
}

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** The message of the error the promise rejects with; fails the test if it resolves. */
async function failureOf(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.resolved)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return (outcome.error as Error).message;
}

function fakeContext(remainingMs: number): Context {
  return {
    functionName: 'mlops-document-classifier-ab-analysis',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}

describe('A/B analysis handler', () => {
  const moto = useMoto();
  let s3: S3Client;
  let cloudwatch: CloudWatchClient;
  /** Talks to moto directly: setup, checks, and what the handler's stubbed client passes through to. */
  let motoAthena: AthenaClient;
  let athena: AwsClientStub<AthenaClient>;
  /**
   * Laid over moto's GetQueryExecution (always SUCCEEDED), one per call, the last one repeating:
   * the states moto cannot produce. Empty: moto's own answer.
   */
  let states: QueryExecutionStatus[];
  let queryIds: string[];
  let sleeps: number[];
  let deps: Deps;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    s3 = new S3Client(moto.clientConfig);
    cloudwatch = new CloudWatchClient(moto.clientConfig);
    motoAthena = new AthenaClient(moto.clientConfig);
    const athenaClient = new AthenaClient(moto.clientConfig);
    athena = mockClient(athenaClient);
    deps = {
      s3,
      ssm: new SSMClient(moto.clientConfig),
      cloudwatch,
      athena: athenaPort(athenaClient),
      now: () => T0,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    };
  });

  beforeEach(async () => {
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      RELEASE_SETTINGS_PARAMETER: PARAMETER,
      ARTIFACTS_BUCKET: ARTIFACTS,
      ATHENA_WORKGROUP: WORKGROUP,
      GLUE_DATABASE: DATABASE,
      GLUE_TABLE: TABLE,
    });
    states = [];
    queryIds = [];
    sleeps = [];

    athena.reset();
    athena.on(StartQueryExecutionCommand).callsFake(async (input: StartQueryExecutionCommandInput) => {
      const res = await motoAthena.send(new StartQueryExecutionCommand(input));
      queryIds.push(res.QueryExecutionId!);
      return res;
    });
    athena.on(GetQueryExecutionCommand).callsFake(async (input: GetQueryExecutionCommandInput) => {
      const real = await motoAthena.send(new GetQueryExecutionCommand(input));
      const status = states.length > 1 ? states.shift() : states[0];
      return status ? { ...real, QueryExecution: { ...real.QueryExecution, Status: status } } : real;
    });
    athena
      .on(GetQueryResultsCommand)
      .callsFake((input: GetQueryResultsCommandInput) => motoAthena.send(new GetQueryResultsCommand(input)));
    athena
      .on(StopQueryExecutionCommand)
      .callsFake((input: StopQueryExecutionCommandInput) =>
        motoAthena.send(new StopQueryExecutionCommand(input)),
      );

    const config = shippedConfig();
    const settings = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === MODEL)!,
    );
    // The shipped defaults this file relies on: 100 requests per variant, a 10 GB cutoff.
    expect(settings.routing.analysis).toMatchObject({ minSamples: 100, maxScannedGb: 10 });
    await new SSMClient(moto.clientConfig).send(
      new PutParameterCommand({ Name: PARAMETER, Type: 'String', Value: JSON.stringify(settings) }),
    );
    await s3.send(
      new CreateBucketCommand({
        Bucket: ARTIFACTS,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    await motoAthena.send(
      new CreateWorkGroupCommand({
        Name: WORKGROUP,
        Configuration: {
          ResultConfiguration: { OutputLocation: 's3://mlops-athena-results/document-classifier/' },
          EnforceWorkGroupConfiguration: true,
          BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        },
      }),
    );
  });

  const run = (event: unknown = { model: MODEL }, context?: Context) => createHandler(deps)(event, context);

  /** Queues the results moto's Athena gives the next queries, in order. */
  async function queueResults(...sets: ReturnType<typeof resultSet>[]): Promise<void> {
    const res = await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        region: 'eu-west-1',
        results: sets.map((set) => ({
          rows: set.Rows,
          column_info: (set.ResultSetMetadata as { ColumnInfo: unknown }).ColumnInfo,
        })),
      }),
    });
    expect(res.status).toBe(201);
  }

  /** The SQL of every query the handler started, in order. */
  const ranQueries = () =>
    athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input.QueryString);

  async function readReport(key = REPORT_KEY): Promise<AbReport> {
    const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: key }));
    return JSON.parse(await res.Body!.transformToString('utf8')) as AbReport;
  }

  async function reportKeys(): Promise<string[]> {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: ARTIFACTS }));
    return (res.Contents ?? []).map((o) => o.Key!);
  }

  /** Every metric in MLPlatform/AB read back, as "Name" or "Name/Variant" → the day's datapoints. */
  async function landedMetrics(day = DAY): Promise<Record<string, number[]>> {
    const listed = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'MLPlatform/AB' }));
    const metrics = listed.Metrics ?? [];
    if (metrics.length === 0) return {};
    const start = new Date(`${day}T00:00:00.000Z`);
    const data = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: start,
        EndTime: new Date(start.getTime() + 86_400_000),
        MetricDataQueries: metrics.map((metric, i) => ({
          Id: `m${i}`,
          MetricStat: { Metric: metric, Period: 86_400, Stat: 'Average' },
        })),
      }),
    );
    const landed: Record<string, number[]> = {};
    metrics.forEach((metric, i) => {
      const dims = Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));
      expect(dims.Model).toBe(MODEL);
      const name = dims.Variant ? `${metric.MetricName}/${dims.Variant}` : metric.MetricName!;
      landed[name] = data.MetricDataResults?.find((r) => r.Id === `m${i}`)?.Values ?? [];
    });
    return landed;
  }

  describe('an experiment running at the end of the day', () => {
    const TOTALS = totals({ stable: 720, candidate: 80, stableErrorRate: 0.005, candidateErrorRate: 0.04 });

    test('end to end: finds the experiment in the log, queries its buckets, writes the report, returns the summary', async () => {
      await queueResults(RUNNING, TOTALS);

      const result = await run();

      const experiment = experimentOf(RUNNING);
      expect(experiment).toMatchObject({
        name: 'ab',
        candidatePercent: 10,
        stableVersion: 'v12',
        candidateVersion: 'v13',
        after: null,
        firstSeen: '2026-11-20T09:00:01.000Z',
        firstDay: '2026-11-20',
      });
      // The flag history over the lookback window, then the experiment's buckets since its start.
      expect(ranQueries()).toEqual([
        buildFlagHistoryQuery({
          database: DATABASE,
          table: TABLE,
          model: MODEL,
          fromDay: LOOKBACK_START,
          toDay: DAY,
        }),
        buildBucketTotalsQuery({ database: DATABASE, table: TABLE, model: MODEL, experiment, toDay: DAY }),
      ]);
      const ran = await motoAthena.send(new GetQueryExecutionCommand({ QueryExecutionId: queryIds[1] }));
      expect(ran.QueryExecution).toMatchObject({
        WorkGroup: WORKGROUP,
        QueryExecutionContext: { Database: DATABASE },
      });

      const report = await readReport();
      const analysis = analyseExperiment(parseBucketTotals(TOTALS), { experiment, minRequests: 100 });
      expect(report).toEqual({
        schemaVersion: 2,
        model: MODEL,
        day: DAY,
        analysedAt: '2026-11-27T02:30:00.000Z',
        workGroup: WORKGROUP,
        table: `${DATABASE}.${TABLE}`,
        queries: [
          {
            purpose: 'flag-history',
            queryExecutionId: queryIds[0],
            fromDay: LOOKBACK_START,
            toDay: DAY,
            dataScannedBytes: 0,
            resultPages: 1,
          },
          {
            purpose: 'bucket-totals',
            queryExecutionId: queryIds[1],
            fromDay: '2026-11-20',
            toDay: DAY,
            dataScannedBytes: 0,
            resultPages: 1,
          },
        ],
        metrics: { namespace: 'MLPlatform/AB', timestamp: '2026-11-26T00:00:00.000Z' },
        analysis: JSON.parse(JSON.stringify(analysis)),
      });
      // 4% against 0.5% errors over 80 and 720 buckets: a winner (the wrong way) on error rate.
      expect(analysis.status).toBe('compared');
      const errorRate = analysis.comparisons.find((c) => c.metric === 'error-rate')!;
      expect(errorRate.verdict).toBe('candidate-higher');
      expect(report.analysis.method.variance).toContain('Deng, Knoblich & Lu, KDD 2018');
      expect(result).toMatchObject({ model: MODEL, day: DAY, status: 'compared', report: REPORT_URI });
      expect(result.summary.split('\n')).toEqual(
        expect.arrayContaining([
          `A/B analysis of ${MODEL} for ${DAY}: compared`,
          'experiment ab: candidate v13 on 10% of user buckets, stable v12; since 2026-11-20T09:00:01.000Z',
          errorRate.text,
          `report: ${REPORT_URI}`,
        ]),
      );
      expect(result.summary).toMatch(
        /split check: 80 of 800 buckets with traffic are the candidate's \(80\.0 expected\), p = 1\.0/,
      );
      expect(result.summary).toContain('method: delta method over buckets');
    });

    test("the model's routing.analysis policy decides the analysis: effect of interest, effective buckets, alpha", async () => {
      const config = shippedConfig();
      const shipped = releaseSettings(
        config.platform,
        config.models.find((m) => m.name === MODEL)!,
      );
      const policy = {
        effectOfInterest: { errorRate: 0.05, meanConfidence: 0.1 },
        minEffectiveBuckets: 50,
        alpha: 0.1,
      };
      // Another parameter name: the function caches its settings by name.
      const parameter = `${PARAMETER}-policy`;
      await new SSMClient(moto.clientConfig).send(
        new PutParameterCommand({
          Name: parameter,
          Type: 'String',
          Value: JSON.stringify({
            ...shipped,
            routing: { ...shipped.routing, analysis: { ...shipped.routing.analysis, ...policy } },
          }),
        }),
      );
      process.env.RELEASE_SETTINGS_PARAMETER = parameter;
      await queueResults(RUNNING, TOTALS);

      await run();

      const report = await readReport();
      expect(report.analysis).toEqual(
        JSON.parse(
          JSON.stringify(
            analyseExperiment(parseBucketTotals(TOTALS), {
              experiment: experimentOf(RUNNING),
              minRequests: 100,
              ...policy,
            }),
          ),
        ),
      );
      expect(report.analysis.alpha).toBe(0.1);
      expect(report.analysis.comparisons.map((c) => c.effectOfInterest)).toEqual([0.05, 0.1]);
    });

    test("publishes each variant's estimate with its interval, and the differences, as the report has them", async () => {
      await queueResults(RUNNING, TOTALS);

      const result = await run();

      const { analysis } = await readReport();
      const landed = await landedMetrics();
      const stable = analysis.stable!;
      const candidate = analysis.candidate!;
      expect(landed['Requests/stable']).toEqual([stable.requests]);
      expect(landed['Requests/candidate']).toEqual([candidate.requests]);
      for (const [name, v] of [
        ['stable', stable],
        ['candidate', candidate],
      ] as const) {
        expect(landed[`ErrorRate/${name}`][0]).toBeCloseTo(v.errorRate!.estimate * 100, 10);
        expect(landed[`ErrorRateLower/${name}`][0]).toBeCloseTo(Math.max(0, v.errorRate!.lower) * 100, 10);
        expect(landed[`ErrorRateUpper/${name}`][0]).toBeCloseTo(v.errorRate!.upper * 100, 10);
        expect(landed[`MeanConfidence/${name}`][0]).toBeCloseTo(v.meanConfidence!.estimate, 10);
        expect(landed[`MeanConfidenceLower/${name}`][0]).toBeCloseTo(v.meanConfidence!.lower, 10);
        expect(landed[`MeanConfidenceUpper/${name}`][0]).toBeCloseTo(v.meanConfidence!.upper, 10);
        expect(landed[`ErrorRateLower/${name}`][0]).toBeLessThanOrEqual(landed[`ErrorRate/${name}`][0]);
        expect(landed[`ErrorRateUpper/${name}`][0]).toBeGreaterThan(landed[`ErrorRate/${name}`][0]);
      }
      const error = analysis.comparisons.find((c) => c.metric === 'error-rate')!;
      expect(landed.ErrorRateDifference[0]).toBeCloseTo(error.difference.estimate * 100, 10);
      expect(landed.ErrorRateDifferenceLower[0]).toBeGreaterThan(0);
      expect(landed.SampleRatioMismatch).toEqual([0]);
      expect(Object.keys(landed)).toHaveLength(result.metricsPublished);
      // Per variant: Requests and two estimates with their bounds; the split check; two differences with bounds.
      expect(result.metricsPublished).toBe(2 * 7 + 1 + 2 * 3);
    });

    test('reads every page of the bucket totals, passing each NextToken on', async () => {
      await queueResults(RUNNING);
      const [first, second, third] = pages(TOTALS, 300, 300, 201);
      athena
        .on(GetQueryResultsCommand)
        .callsFake((input: GetQueryResultsCommandInput) =>
          input.QueryExecutionId === queryIds[0]
            ? motoAthena.send(new GetQueryResultsCommand(input))
            : input.NextToken === undefined
              ? first
              : input.NextToken === 'page-2'
                ? second
                : third,
        );

      await run();

      expect(
        athena
          .commandCalls(GetQueryResultsCommand)
          .map((c) => c.args[0].input)
          .filter((i) => i.QueryExecutionId === queryIds[1]),
      ).toEqual([
        { QueryExecutionId: queryIds[1], NextToken: undefined },
        { QueryExecutionId: queryIds[1], NextToken: 'page-2' },
        { QueryExecutionId: queryIds[1], NextToken: 'page-3' },
      ]);
      const report = await readReport();
      expect(report.queries[1].resultPages).toBe(3);
      expect(report.analysis.stable!.buckets + report.analysis.candidate!.buckets).toBe(800);
    });

    test('waits for a queued and running query, backing off, and records the bytes scanned', async () => {
      await queueResults(RUNNING, TOTALS);
      states = [
        { State: 'QUEUED' },
        { State: 'RUNNING' },
        { State: 'SUCCEEDED' },
        { State: 'RUNNING' },
        { State: 'SUCCEEDED' },
      ];
      athena.on(GetQueryExecutionCommand).callsFake(async (input: GetQueryExecutionCommandInput) => {
        const real = await motoAthena.send(new GetQueryExecutionCommand(input));
        return {
          ...real,
          QueryExecution: {
            ...real.QueryExecution,
            Status: states.shift(),
            Statistics: { DataScannedInBytes: 52_428_800 },
          },
        };
      });

      await run();

      expect(sleeps).toEqual([1000, 2000, 1000]);
      expect((await readReport()).queries.map((q) => q.dataScannedBytes)).toEqual([52_428_800, 52_428_800]);
    });

    test('a day older than two weeks gets its report but no metrics, which CloudWatch would refuse', async () => {
      await queueResults(RUNNING, TOTALS);

      const result = await run({ model: MODEL, day: '2026-11-12' });

      expect(result.metricsPublished).toBe(0);
      expect(result.summary).toContain(
        'metrics not published: CloudWatch takes datapoints at most two weeks old',
      );
      expect((await readReport(`models/${MODEL}/ab/2026-11-12.json`)).metrics).toBeNull();
      expect(await landedMetrics('2026-11-12')).toEqual({});
    });
  });

  test.each([
    ['2026-11-27T00:00:00.000Z', '2026-11-26'],
    ['2026-12-01T00:05:00.000Z', '2026-11-30'],
    ['2027-01-01T02:30:00.000Z', '2026-12-31'],
    ['2027-03-01T02:30:00.000Z', '2027-02-28'],
    ['2028-03-01T23:59:59.999Z', '2028-02-29'],
  ])('without a day, at %s it analyses up to %s (yesterday, UTC)', async (now, day) => {
    await queueResults(history());

    const result = await createHandler({ ...deps, now: () => new Date(now) })({ model: MODEL });

    expect(result.day).toBe(day);
    expect(ranQueries()[0]).toContain(`AND dt <= '${day}'\n`);
    expect(await reportKeys()).toEqual([`models/${MODEL}/ab/${day}.json`]);
    expect(previousDay(now.slice(0, 10))).toBe(day);
  });

  describe("the intended split and the start come from the log, not from today's flag", () => {
    test('a share widened from 5% to 10% starts a new experiment after the last request served at 5%', async () => {
      const widened = history(
        ['ab', false, 5, 'stable', 'v12', '2026-11-10T08:00:00.000Z', '2026-11-22T12:00:30.500Z', 50_000],
        ['ab', false, 5, 'candidate', 'v13', '2026-11-10T08:00:02.000Z', '2026-11-22T12:00:29.000Z', 2_500],
        ['ab', false, 10, 'stable', 'v12', '2026-11-22T12:00:00.000Z', '2026-11-26T23:59:58.000Z', 40_000],
        ['ab', false, 10, 'candidate', 'v13', '2026-11-22T12:00:01.000Z', '2026-11-26T23:59:59.000Z', 4_500],
      );
      await queueResults(widened, totals({ stable: 360, candidate: 40 }));

      await run();

      const sql = ranQueries()[1]!;
      expect(sql).toContain("dt >= '2026-11-22' AND dt <= '2026-11-26'");
      expect(sql).toContain("AND ts > '2026-11-22T12:00:30.500Z'");
      expect(sql).toContain("contains(active_flags, 'candidatePercent=10')");
      const report = await readReport();
      expect(report.analysis.experiment).toMatchObject({
        candidatePercent: 10,
        after: '2026-11-22T12:00:30.500Z',
      });
      expect(report.analysis.split!.candidateBuckets).toBe(1000);
    });

    test('rerunning a day analyses the flag logged that day, whatever the flag says now', async () => {
      // On the 15th the experiment ran at 20% with v11 as candidate; the log up to the 15th says so.
      const then = history(
        ['ab', false, 20, 'stable', 'v10', '2026-11-12T00:00:00.000Z', '2026-11-15T23:59:00.000Z', 30_000],
        ['ab', false, 20, 'candidate', 'v11', '2026-11-12T00:00:01.000Z', '2026-11-15T23:59:01.000Z', 7_500],
      );
      await queueResults(then, totals({ stable: 300, candidate: 75, percent: 20 }));

      await run({ model: MODEL, day: '2026-11-15' });

      expect(ranQueries()[0]).toContain("dt >= '2026-10-12' AND dt <= '2026-11-15'");
      const sql = ranQueries()[1]!;
      expect(sql).toContain("contains(active_flags, 'candidatePercent=20')");
      expect(sql).toContain("(variant = 'candidate' AND model_version = 'v11')");
      const report = await readReport(`models/${MODEL}/ab/2026-11-15.json`);
      // Checked against today's 10% these buckets would look misassigned; against the logged 20% they are sound.
      expect(report.analysis.split).toMatchObject({
        candidateBuckets: 2000,
        misassignedBuckets: 0,
        broken: false,
      });
      expect(report.analysis.status).toBe('compared');
    });
  });

  describe("the flag history: the day alone when it only continued the previous night's experiment", () => {
    const YESTERDAY = '2026-11-25';
    const TOTALS = totals({ stable: 360, candidate: 40 });
    /** The experiment of RUNNING as seen up to the 25th: the previous night's run writes its report. */
    const UNTIL_YESTERDAY = history(
      ['ab', false, 10, 'stable', 'v12', '2026-11-20T09:00:01.000Z', '2026-11-25T23:59:58.000Z', 80_000],
      ['ab', false, 10, 'candidate', 'v13', '2026-11-20T09:00:03.000Z', '2026-11-25T23:59:59.000Z', 9_000],
    );
    async function previousNight(): Promise<void> {
      await queueResults(UNTIL_YESTERDAY, TOTALS);
      await run({ model: MODEL, day: YESTERDAY });
      athena.resetHistory();
      queryIds = [];
    }

    test('reads one day of log, not 35, and finds what the 35-day search finds', async () => {
      await previousNight();
      const today = history(
        ['ab', false, 10, 'stable', 'v12', '2026-11-26T00:00:02.000Z', '2026-11-26T23:59:58.000Z', 10_000],
        ['ab', false, 10, 'candidate', 'v13', '2026-11-26T00:00:05.000Z', '2026-11-26T23:59:59.000Z', 1_000],
      );
      await queueResults(today, TOTALS);

      await run();

      const experiment = experimentOf(RUNNING);
      expect(ranQueries()).toEqual([
        buildFlagHistoryQuery({ database: DATABASE, table: TABLE, model: MODEL, fromDay: DAY, toDay: DAY }),
        buildBucketTotalsQuery({ database: DATABASE, table: TABLE, model: MODEL, experiment, toDay: DAY }),
      ]);
      expect(ranQueries()[0]).toContain("dt >= '2026-11-26' AND dt <= '2026-11-26'");
      const report = await readReport();
      expect(report.analysis.experiment).toEqual(experiment);
      expect(report.queries.map((q) => [q.purpose, q.fromDay, q.toDay])).toEqual([
        ['flag-history', DAY, DAY],
        ['bucket-totals', '2026-11-20', DAY],
      ]);
    });

    test('a change during the day falls back to the 35-day search', async () => {
      await previousNight();
      // The share went from 10% to 5% at noon: a new experiment, which only the full search can place.
      const today = history(
        ['ab', false, 10, 'stable', 'v12', '2026-11-26T00:00:02.000Z', '2026-11-26T12:00:00.000Z', 5_000],
        ['ab', false, 10, 'candidate', 'v13', '2026-11-26T00:00:05.000Z', '2026-11-26T12:00:01.000Z', 500],
        ['ab', false, 5, 'stable', 'v12', '2026-11-26T12:00:02.000Z', '2026-11-26T23:59:58.000Z', 5_000],
        ['ab', false, 5, 'candidate', 'v13', '2026-11-26T12:00:03.000Z', '2026-11-26T23:59:59.000Z', 250],
      );
      const window = history(
        ['ab', false, 10, 'stable', 'v12', '2026-11-20T09:00:01.000Z', '2026-11-26T12:00:00.000Z', 85_000],
        ['ab', false, 10, 'candidate', 'v13', '2026-11-20T09:00:03.000Z', '2026-11-26T12:00:01.000Z', 9_500],
        ['ab', false, 5, 'stable', 'v12', '2026-11-26T12:00:02.000Z', '2026-11-26T23:59:58.000Z', 5_000],
        ['ab', false, 5, 'candidate', 'v13', '2026-11-26T12:00:03.000Z', '2026-11-26T23:59:59.000Z', 250],
      );
      await queueResults(today, window, totals({ stable: 380, candidate: 20, percent: 5 }));

      await run();

      expect(ranQueries().slice(0, 2)).toEqual([
        buildFlagHistoryQuery({ database: DATABASE, table: TABLE, model: MODEL, fromDay: DAY, toDay: DAY }),
        buildFlagHistoryQuery({
          database: DATABASE,
          table: TABLE,
          model: MODEL,
          fromDay: LOOKBACK_START,
          toDay: DAY,
        }),
      ]);
      const report = await readReport();
      expect(report.analysis.experiment).toEqual(experimentOf(window));
      expect(report.analysis.experiment).toMatchObject({
        candidatePercent: 5,
        after: '2026-11-26T12:00:01.000Z',
      });
    });

    test('without a report for the day before, the 35-day search runs, as on the first night', async () => {
      await queueResults(RUNNING, TOTALS);
      await run();
      expect(ranQueries()[0]).toContain(`dt >= '${LOOKBACK_START}' AND dt <= '${DAY}'`);
    });
  });

  describe('no winner without the data for one: insufficient, with the reason', () => {
    test.each([
      [
        'the kill switch on',
        history([
          'ab',
          true,
          10,
          'stable',
          'v12',
          '2026-11-20T00:00:00.000Z',
          '2026-11-26T23:00:00.000Z',
          9_000,
        ]),
        'the kill switch was on at the end of 2026-11-26 (experiment=ab, killSwitch=true, candidatePercent=10): every user got stable, no A/B test ran',
      ],
      [
        'no candidate in the flag',
        history([
          'ab',
          false,
          null,
          'stable',
          'v12',
          '2026-11-20T00:00:00.000Z',
          '2026-11-26T23:00:00.000Z',
          9_000,
        ]),
        'the flag had no candidate at the end of 2026-11-26 (experiment=ab, killSwitch=false): only stable served, no A/B test ran',
      ],
      [
        'the candidate on 100%',
        history([
          'ab',
          false,
          100,
          'candidate',
          'v13',
          '2026-11-20T00:00:00.000Z',
          '2026-11-26T23:00:00.000Z',
          9_000,
        ]),
        'the flag sent 100% of users to the candidate at the end of 2026-11-26 (experiment=ab, killSwitch=false, candidatePercent=100): one variant only, nothing to compare',
      ],
      [
        'only stable logged under a 10% split',
        history([
          'ab',
          false,
          10,
          'stable',
          'v12',
          '2026-11-20T00:00:00.000Z',
          '2026-11-26T23:00:00.000Z',
          9_000,
        ]),
        'no candidate request was logged under the flag in force at the end of 2026-11-26 (experiment=ab, killSwitch=false, candidatePercent=10): one variant only, nothing to compare; check that the router can reach the candidate endpoint',
      ],
      [
        'no logs at all',
        history(),
        'no request routed by the flag was logged from 2026-10-23 to 2026-11-26: check that the router is logging (Firehose delivery to S3) and that AppConfig was reachable',
      ],
    ])('%s: one query, no bucket totals, no metrics', async (_, set, reason) => {
      await queueResults(set);

      const result = await run();

      expect(ranQueries()).toHaveLength(1);
      const report = await readReport();
      expect(report.analysis).toMatchObject({
        status: 'insufficient',
        experiment: null,
        reasons: [reason],
        comparisons: [],
      });
      expect(result).toMatchObject({ status: 'insufficient', metricsPublished: 0 });
      expect(result.summary).toContain(`not compared: ${reason}`);
      expect(await landedMetrics()).toEqual({});
    });

    test('every request from one user bucket: insufficient, never a winner', async () => {
      const oneBucket = resultSet(TOTALS_COLUMNS, [
        ['candidate', '17', '5000', '400', '4600', '3500.5'],
        ['stable', '4242', '45000', '45', '44955', '35964.0'],
        ['stable', '5000', '3', '0', '3', '2.4'],
      ]);
      await queueResults(RUNNING, oneBucket);

      const result = await run();

      const { analysis } = await readReport();
      expect(analysis.status).toBe('insufficient');
      expect(analysis.comparisons.every((c) => c.verdict === 'not-compared')).toBe(true);
      expect(analysis.reasons).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^candidate's traffic comes from too few user buckets \(1 with traffic, 1\.0 effective, 30 needed, routing\.analysis\.minEffectiveBuckets\)/,
          ),
          expect.stringMatching(
            /^stable's traffic comes from too few user buckets \(2 with traffic, 1\.0 effective/,
          ),
        ]),
      );
      expect(result.status).toBe('insufficient');
      const landed = await landedMetrics();
      expect(landed.ErrorRateDifference).toBeUndefined();
    });

    test('a candidate bucket above the split is an assignment bug: assignment-broken, published as 1', async () => {
      await queueResults(
        RUNNING,
        totals({ stable: 360, candidate: 40, extra: [['candidate', '7000', '12', '0', '12', '9.6']] }),
      );

      const result = await run();

      const { analysis } = await readReport();
      expect(analysis.status).toBe('assignment-broken');
      expect(analysis.split).toMatchObject({ misassignedBuckets: 1, broken: true });
      expect(analysis.reasons[0]).toBe(
        'assignment is broken: 1 bucket(s) served a variant the 10% split does not give them; check the router ' +
          '(hash salt, flag parsing) before reading any result',
      );
      expect(result.summary).toContain('1 misassigned');
      expect((await landedMetrics()).SampleRatioMismatch).toEqual([1]);
    });
  });

  describe('failures throw with what failed, what to check and how to rerun', () => {
    beforeEach(() => queueResults(RUNNING, totals({ stable: 360, candidate: 40 })));

    /** Runs the handler, expects `message(queryId)` and that nothing was written or published. */
    async function expectFailure(
      message: (queryId: string | undefined) => string,
      event: unknown = { model: MODEL },
      context?: Context,
    ) {
      const actual = await failureOf(run(event, context));
      expect(actual).toBe(message(queryIds[0]));
      expect(await reportKeys()).toEqual([]);
      expect(await landedMetrics()).toEqual({});
    }

    test('a failed query gives Athena reason and where to look', async () => {
      states = [
        { State: 'QUEUED' },
        { State: 'RUNNING' },
        {
          State: 'FAILED',
          StateChangeReason: "COLUMN_NOT_FOUND: line 6:9: Column 'confidence' cannot be resolved",
        },
      ];

      await expectFailure(
        (id) =>
          `A/B analysis of ${MODEL} for ${DAY} failed: Athena query ${id} failed: COLUMN_NOT_FOUND: line 6:9: ` +
          "Column 'confidence' cannot be resolved. Check that the table mlops_prediction_logs.predictions matches " +
          "the router's prediction logs (columns, partition projection on model and dt) and look at the query in " +
          `the Athena console (workgroup ${WORKGROUP}, query id ${id}). ${RERUN}`,
      );
      expect(sleeps).toEqual([1000, 2000]);
    });

    test('the bytes-scanned cutoff says to check the partitions, then raise routing.analysis.maxScannedGb', async () => {
      states = [
        { State: 'RUNNING' },
        { State: 'CANCELLED', StateChangeReason: 'Bytes scanned limit was exceeded' },
      ];

      await expectFailure(
        (id) =>
          `A/B analysis of ${MODEL} for ${DAY} failed: Athena query ${id} was stopped by the bytes-scanned ` +
          `cutoff of workgroup ${WORKGROUP}: Bytes scanned limit was exceeded. The query reads one model's days up ` +
          `to ${DAY} (partitions model=${MODEL}/dt=…), so first check in the Athena console that it scanned only ` +
          "those prefixes (partition projection on table mlops_prediction_logs.predictions); if the experiment's " +
          `logs really are that large, raise routing.analysis.maxScannedGb (now 10 GB) in config/models/${MODEL}.yaml and ` +
          `redeploy the model stack. ${RERUN}`,
      );
    });

    test('a cutoff reported only in AthenaError, on a FAILED query, is recognised too', async () => {
      states = [
        {
          State: 'FAILED',
          AthenaError: {
            ErrorCategory: 2,
            ErrorMessage: 'Bytes scanned limit was exceeded. The query scanned 10737418240 bytes.',
          },
        },
      ];

      const message = await failureOf(run());

      expect(message).toContain(
        `was stopped by the bytes-scanned cutoff of workgroup ${WORKGROUP}: Bytes scanned limit was exceeded. ` +
          "The query scanned 10737418240 bytes.. The query reads one model's days",
      );
    });

    test('a query cancelled by someone says so', async () => {
      states = [{ State: 'CANCELLED' }];

      await expectFailure(
        (id) =>
          `A/B analysis of ${MODEL} for ${DAY} failed: Athena query ${id} was cancelled: Athena gave no ` +
          'reason. Someone or something stopped it (the Athena console, StopQueryExecution): check the query ' +
          `history of workgroup ${WORKGROUP}. ${RERUN}`,
      );
    });

    test('a query still running at the end of the wait is stopped', async () => {
      states = [{ State: 'RUNNING' }];
      const handler = createHandler({ ...deps, maxQueryWaitMs: 60_000 });

      const message = await failureOf(handler({ model: MODEL }));

      const id = queryIds[0];
      expect(message).toBe(
        `A/B analysis of ${MODEL} for ${DAY} failed: Athena query ${id} was still RUNNING after 55 s; it has ` +
          'been stopped. A query on one day of logs takes seconds: check the query history of workgroup ' +
          `${WORKGROUP} for queued queries and the account's active-query quota. ${RERUN}`,
      );
      expect(sleeps).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);
      const after = await motoAthena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      expect(after.QueryExecution?.Status?.State).toBe('CANCELLED');
      expect(await reportKeys()).toEqual([]);
    });

    test("the wait ends a minute before the invocation's own timeout, and a failed stop is reported", async () => {
      states = [{ State: 'QUEUED' }];
      athena
        .on(StopQueryExecutionCommand)
        .rejects(awsError('AccessDeniedException', 'not authorized to perform athena:StopQueryExecution'));

      await expectFailure(
        (id) =>
          `A/B analysis of ${MODEL} for ${DAY} failed: Athena query ${id} was still QUEUED after 25 s; ` +
          'stopping it failed too (AccessDeniedException: not authorized to perform athena:StopQueryExecution): ' +
          'stop it in the Athena console. A query on one day of logs takes seconds: check the query history of ' +
          `workgroup ${WORKGROUP} for queued queries and the account's active-query quota. ${RERUN}`,
        { model: MODEL },
        fakeContext(90_000),
      );
      expect(sleeps).toEqual([1000, 2000, 4000, 8000, 10_000]);
    });

    test('a query that cannot start names the workgroup and the permissions', async () => {
      process.env.ATHENA_WORKGROUP = 'mlops-ab-typo';

      await expectFailure(
        () =>
          `A/B analysis of ${MODEL} for ${DAY} failed: cannot start the Athena query in workgroup mlops-ab-typo: ` +
          'InvalidRequestException: WorkGroup does not exist; check that the workgroup exists and is enabled, and ' +
          "that the function's role may run queries in it (athena:StartQueryExecution) and read the table " +
          `mlops_prediction_logs.predictions (glue:GetDatabase, glue:GetTable). ${RERUN}`,
      );
    });

    test('unreadable results name the encrypted results location', async () => {
      athena
        .on(GetQueryResultsCommand)
        .rejects(awsError('AccessDeniedException', 'Access denied when reading the query results'));

      await expectFailure(
        (id) =>
          `A/B analysis of ${MODEL} for ${DAY} failed: cannot read the results of Athena query ${id}: ` +
          "AccessDeniedException: Access denied when reading the query results; check the function's role: " +
          `athena:GetQueryResults on workgroup ${WORKGROUP}, s3:GetObject on its results location and kms:Decrypt ` +
          `on the key that encrypts them. ${RERUN}`,
      );
    });

    test('a result that never stops paging is refused', async () => {
      const [page] = pages(RUNNING, 3);
      athena.on(GetQueryResultsCommand).resolves({ ...page, NextToken: 'again' });

      await expectFailure(
        (id) =>
          `A/B analysis of ${MODEL} for ${DAY} failed: Athena query ${id} returned more than 100 pages of ` +
          'results; the A/B queries return at most one row per variant and user bucket, so this is not their result: ' +
          `check the query in the Athena console (workgroup ${WORKGROUP}). ${RERUN}`,
      );
      expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(100);
    });

    test('CloudWatch refusing the metrics says the report is already written', async () => {
      const refusing = new CloudWatchClient(moto.clientConfig);
      mockClient(refusing)
        .on(PutMetricDataCommand)
        .rejects(awsError('AccessDenied', 'not authorized to perform cloudwatch:PutMetricData'));

      const message = await failureOf(createHandler({ ...deps, cloudwatch: refusing })({ model: MODEL }));

      expect(message).toBe(
        `A/B analysis of ${MODEL} for ${DAY} failed: cannot publish the metrics to CloudWatch (namespace ` +
          'MLPlatform/AB): AccessDenied: not authorized to perform cloudwatch:PutMetricData; the report is ' +
          `already at ${REPORT_URI}. Check the function's role (cloudwatch:PutMetricData for that namespace). ` +
          RERUN,
      );
      expect(await reportKeys()).toEqual([REPORT_KEY]);
    });

    test.each([
      [
        { model: MODEL, date: '2026-11-20' },
        'A/B analysis failed: the event {"model":"document-classifier","date":"2026-11-20"} is not {"model": ' +
          '"<model>", "day": "YYYY-MM-DD"} (day optional, default yesterday UTC); fix the schedule\'s input.',
      ],
      [
        'document-classifier',
        'A/B analysis failed: the event "document-classifier" is not {"model": "<model>", "day": "YYYY-MM-DD"} ' +
          "(day optional, default yesterday UTC); fix the schedule's input.",
      ],
      [
        { model: MODEL, day: '2026-02-29' },
        `A/B analysis of ${MODEL} for 2026-02-29 failed: the event's day "2026-02-29" is not a calendar date in ` +
          "the form YYYY-MM-DD; fix the schedule's input.",
      ],
      [
        { model: MODEL, day: '2026-11-27' },
        `A/B analysis of ${MODEL} for 2026-11-27 failed: the day 2026-11-27 is not over yet (it is now ` +
          '2026-11-27T02:30:00.000Z) and its logs are incomplete: analyse a past day (without a day the function ' +
          'analyses yesterday, UTC).',
      ],
      [
        { model: 'fraud-scorer' },
        `A/B analysis of fraud-scorer for ${DAY} failed: the event names model "fraud-scorer" but this function ` +
          `analyses "${MODEL}" (release settings ${PARAMETER}): fix the schedule's input or invoke the function ` +
          'of fraud-scorer.',
      ],
    ])('the event %j is refused before any query', async (event, message) => {
      await expectFailure(() => message, event);
      expect(athena.calls()).toEqual([]);
    });

    test('missing environment names every missing key', async () => {
      delete process.env.ATHENA_WORKGROUP;
      process.env.GLUE_TABLE = '';

      await expectFailure(
        () =>
          `A/B analysis of ${MODEL} for ${DAY} failed: environment ATHENA_WORKGROUP, GLUE_TABLE missing or invalid; ` +
          'the function was deployed without the A/B analysis settings: redeploy the model stack.',
      );
    });
  });
});
