import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppConfigDataClient,
  GetLatestConfigurationCommand,
  StartConfigurationSessionCommand,
  type GetLatestConfigurationCommandOutput,
} from '@aws-sdk/client-appconfigdata';
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
import { appConfigSplitReader } from '../../lambdas/ab-analysis/flag';
import { createHandler, previousDay, type AbReport, type Deps } from '../../lambdas/ab-analysis/handler';
import { intendedSplitFromFlag } from '../../lambdas/ab-analysis/intended-split';
import {
  analyseVariants,
  parseSummaryRows,
  type AbAnalysis,
  type AthenaResultSet,
} from '../../lambdas/core/ab-analysis';
import { buildVariantSummaryQuery } from '../../lambdas/core/athena-query';
import { logger } from '../../lambdas/shared/logger';
import { releaseSettings } from '../../lib/config/release-settings';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const WORKGROUP = 'mlops-document-classifier-ab';
const DATABASE = 'mlops_prediction_logs';
const TABLE = 'predictions';
const FLAG = 'AppConfig flag mlops/prod/model-version (version 7)';
/** 02:30 UTC, when the schedule runs (routing.analysis.schedule): the default day is the 26th. */
const T0 = new Date('2026-11-27T02:30:00.000Z');
const DAY = '2026-11-26';
const SQL = buildVariantSummaryQuery({ database: DATABASE, table: TABLE, model: MODEL, day: DAY });
const REPORT_KEY = `models/${MODEL}/ab/${DAY}.json`;
const REPORT_URI = `s3://${ARTIFACTS}/${REPORT_KEY}`;
const RERUN = `After fixing it, rerun the day by invoking the function with {"model":"${MODEL}","day":"${DAY}"}.`;

// Result sets shaped like Athena's GetQueryResults, with the scipy reference values of
// test/fixtures/ab/generate.py (see test/core/ab-analysis.test.ts).
interface Scenario {
  intendedCandidatePercent: number;
  resultSet: AthenaResultSet;
  expected: {
    confidence: number;
    stable: { meanConfidence: { estimate: number } };
    candidate: { meanConfidence: { estimate: number } };
    errorRateDifference: { estimate: number };
    meanConfidenceDifference: { estimate: number };
  }[];
}
const { scenarios } = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'ab', 'ab.json'), 'utf8'),
) as { scenarios: { typical: Scenario; largeWithSrm: Scenario } };

const COLUMNS = [
  'variant',
  'model_version',
  'n',
  'errors',
  'confidence_n',
  'confidence_sum',
  'confidence_sum_squares',
  'latency_ms_percentiles',
];

/** A summary-query result of the given data rows. */
function resultSet(...rows: (string | null)[][]): AthenaResultSet {
  return {
    Rows: [COLUMNS, ...rows].map((cells) => ({
      Data: cells.map((value) => (value === null ? {} : { VarCharValue: value })),
    })),
    ResultSetMetadata: { ColumnInfo: COLUMNS.map((Name) => ({ Name, Type: 'varchar' })) },
  };
}

/** GetQueryResults pages of the result set, of the given row counts (the first holds the header row). */
function pages(set: AthenaResultSet, ...sizes: number[]): GetQueryResultsCommandOutput[] {
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

function flagDocument(fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schemaVersion: 1,
    model: MODEL,
    experiment: 'ab',
    stable: { modelVersion: 'v12', endpoint: 'live' },
    candidate: { modelVersion: 'v13', endpoint: 'live', percent: 10 },
    killSwitch: false,
    updatedBy: 'release pipeline',
    updatedAt: '2026-11-20T09:00:00Z',
    ...fields,
  });
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
  let appconfig: AwsClientStub<AppConfigDataClient>;
  let flag: string;
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
    const appconfigClient = new AppConfigDataClient({ region: 'eu-west-1' });
    appconfig = mockClient(appconfigClient);
    deps = {
      s3,
      ssm: new SSMClient(moto.clientConfig),
      cloudwatch,
      athena: athenaPort(athenaClient),
      readIntendedSplit: appConfigSplitReader(appconfigClient),
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
      APPCONFIG_APPLICATION: 'mlops',
      APPCONFIG_ENVIRONMENT: 'prod',
      APPCONFIG_PROFILE: 'model-version',
    });
    states = [];
    queryIds = [];
    sleeps = [];
    flag = flagDocument();

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

    appconfig.reset();
    appconfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: 'session-token-1' });
    appconfig.on(GetLatestConfigurationCommand).callsFake(() => ({
      Configuration: new TextEncoder().encode(flag) as GetLatestConfigurationCommandOutput['Configuration'],
      ContentType: 'application/json',
      VersionLabel: '7',
      NextPollConfigurationToken: 'session-token-2',
    }));

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

  function expectedAnalysis(set: AthenaResultSet, intendedCandidatePercent: number): AbAnalysis {
    return analyseVariants(parseSummaryRows(set), { intendedCandidatePercent, minSamples: 100 });
  }

  describe('a day with enough traffic', () => {
    beforeEach(() => queueResult(scenarios.typical.resultSet));

    test('end to end: runs the query in the workgroup, writes the full report, returns the summary', async () => {
      const result = await run();

      // What moto's Athena ran.
      expect(queryIds).toHaveLength(1);
      const ran = await motoAthena.send(new GetQueryExecutionCommand({ QueryExecutionId: queryIds[0] }));
      expect(ran.QueryExecution).toMatchObject({
        Query: SQL,
        WorkGroup: WORKGROUP,
        QueryExecutionContext: { Database: DATABASE },
      });
      expect(appconfig.commandCalls(StartConfigurationSessionCommand).map((c) => c.args[0].input)).toEqual([
        {
          ApplicationIdentifier: 'mlops',
          EnvironmentIdentifier: 'prod',
          ConfigurationProfileIdentifier: 'model-version',
        },
      ]);
      expect(appconfig.commandCalls(GetLatestConfigurationCommand).map((c) => c.args[0].input)).toEqual([
        { ConfigurationToken: 'session-token-1' },
      ]);

      const report = await readReport();
      expect(report).toEqual({
        schemaVersion: 1,
        model: MODEL,
        day: DAY,
        analysedAt: '2026-11-27T02:30:00.000Z',
        intendedSplit: { candidatePercent: 10, source: FLAG },
        query: {
          queryExecutionId: queryIds[0],
          workGroup: WORKGROUP,
          database: DATABASE,
          table: TABLE,
          dataScannedBytes: 0,
          resultPages: 1,
        },
        metrics: { namespace: 'MLPlatform/AB', timestamp: '2026-11-26T00:00:00.000Z' },
        analysis: expectedAnalysis(scenarios.typical.resultSet, 10),
      });
      expect(report.analysis.status).toBe('compared');
      const a = report.analysis;
      expect(result).toEqual({
        model: MODEL,
        day: DAY,
        status: 'compared',
        srm: false,
        report: REPORT_URI,
        metricsPublished: 11,
        summary: [
          `A/B analysis of ${MODEL} for ${DAY}: compared`,
          `stable 9,046 requests, candidate 954; intended candidate share 10% (${FLAG})`,
          ...a.findings.map((f) => f.text),
          `report: ${REPORT_URI}`,
        ].join('\n'),
      });
      expect(a.findings.map((f) => f.topic)).toEqual(['errors', 'confidence', 'latency']);
      expect(result.summary).toContain(
        '\ncandidate error rate 1.15% [0.65, 2.05] vs stable 0.30% [0.21, 0.43]; difference +0.85 points ' +
          '[+0.33, +1.76]: candidate higher\n',
      );
    });

    test('publishes every per-variant and model-level metric of the day, with its value', async () => {
      await run();

      const report = await readReport();
      const { stable, candidate, errorRateDifference, meanConfidenceDifference } = report.analysis;
      // The report's figures agree with scipy; the metrics carry exactly the report's figures.
      const [want] = scenarios.typical.expected;
      expect(stable!.meanConfidence!.estimate).toBeCloseTo(want.stable.meanConfidence.estimate, 10);
      expect(candidate!.meanConfidence!.estimate).toBeCloseTo(want.candidate.meanConfidence.estimate, 10);
      expect(meanConfidenceDifference!.estimate).toBeCloseTo(want.meanConfidenceDifference.estimate, 10);
      expect(errorRateDifference!.estimate).toBeCloseTo(want.errorRateDifference.estimate, 14);

      expect(await landedMetrics()).toEqual({
        'Requests/stable': [9046],
        'ErrorRate/stable': [(27 / 9046) * 100],
        'MeanConfidence/stable': [stable!.meanConfidence!.estimate],
        'P95LatencyMs/stable': [120.25],
        'Requests/candidate': [954],
        'ErrorRate/candidate': [(11 / 954) * 100],
        'MeanConfidence/candidate': [candidate!.meanConfidence!.estimate],
        'P95LatencyMs/candidate': [131.5],
        SampleRatioMismatch: [0],
        ErrorRateDifference: [(11 / 954 - 27 / 9046) * 100],
        ConfidenceDifference: [meanConfidenceDifference!.estimate],
      });
    });

    test('reads every page of the result, passing each NextToken on', async () => {
      // Header + candidate, then stable, then an empty last page.
      const [first, second, third] = pages(scenarios.typical.resultSet, 2, 1, 0);
      athena
        .on(GetQueryResultsCommand)
        .callsFake((input: GetQueryResultsCommandInput) =>
          input.NextToken === undefined ? first : input.NextToken === 'page-2' ? second : third,
        );

      const result = await run();

      expect(athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input)).toEqual([
        { QueryExecutionId: queryIds[0], NextToken: undefined },
        { QueryExecutionId: queryIds[0], NextToken: 'page-2' },
        { QueryExecutionId: queryIds[0], NextToken: 'page-3' },
      ]);
      const report = await readReport();
      expect(report.query.resultPages).toBe(3);
      expect(report.analysis).toEqual(expectedAnalysis(scenarios.typical.resultSet, 10));
      expect(result.status).toBe('compared');
    });

    test('waits for a queued and running query, backing off, and records the bytes scanned', async () => {
      states = [
        { State: 'QUEUED' },
        { State: 'RUNNING' },
        { State: 'RUNNING' },
        { State: 'RUNNING' },
        { State: 'RUNNING' },
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

      expect(sleeps).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
      expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(7);
      expect((await readReport()).query.dataScannedBytes).toBe(52_428_800);
    });

    test('analyses the day the event names', async () => {
      const result = await run({ model: MODEL, day: '2026-11-20' });

      expect(athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input.QueryString).toBe(
        buildVariantSummaryQuery({ database: DATABASE, table: TABLE, model: MODEL, day: '2026-11-20' }),
      );
      expect(result.report).toBe(`s3://${ARTIFACTS}/models/${MODEL}/ab/2026-11-20.json`);
      expect(await reportKeys()).toEqual([`models/${MODEL}/ab/2026-11-20.json`]);
      expect((await landedMetrics('2026-11-20'))['Requests/candidate']).toEqual([954]);
    });

    test('a day older than two weeks gets its report but no metrics, which CloudWatch would refuse', async () => {
      const result = await run({ model: MODEL, day: '2026-11-12' });

      const report = await readReport(`models/${MODEL}/ab/2026-11-12.json`);
      expect(report.metrics).toBeNull();
      expect(report.analysis.status).toBe('compared');
      expect(result.metricsPublished).toBe(0);
      expect(result.summary.split('\n').slice(-2)).toEqual([
        `report: s3://${ARTIFACTS}/models/${MODEL}/ab/2026-11-12.json`,
        'metrics not published: CloudWatch takes datapoints at most two weeks old; the report holds the day',
      ]);
      expect(await landedMetrics('2026-11-12')).toEqual({});
    });

    test('a day just under two weeks old still gets its metrics', async () => {
      const result = await run({ model: MODEL, day: '2026-11-14' });

      expect(result.metricsPublished).toBe(11);
      expect((await readReport(`models/${MODEL}/ab/2026-11-14.json`)).metrics).toEqual({
        namespace: 'MLPlatform/AB',
        timestamp: '2026-11-14T00:00:00.000Z',
      });
    });

    test('with the kill switch on the intended share is 0%, so candidate traffic is a sample-ratio mismatch', async () => {
      flag = flagDocument({ killSwitch: true });

      const result = await run();

      const report = await readReport();
      expect(report.intendedSplit).toEqual({ candidatePercent: 0, source: `${FLAG}, killSwitch on` });
      expect(result).toMatchObject({ status: 'assignment-broken', srm: true });
      expect((await landedMetrics()).SampleRatioMismatch).toEqual([1]);
    });
  });

  test.each([
    ['2026-11-27T00:00:00.000Z', '2026-11-26'],
    ['2026-12-01T00:05:00.000Z', '2026-11-30'],
    ['2027-01-01T02:30:00.000Z', '2026-12-31'],
    ['2027-03-01T02:30:00.000Z', '2027-02-28'],
    ['2028-03-01T23:59:59.999Z', '2028-02-29'],
  ])('without a day, at %s it analyses %s (yesterday, UTC)', async (now, day) => {
    await queueResult(scenarios.typical.resultSet);

    const result = await createHandler({ ...deps, now: () => new Date(now) })({ model: MODEL });

    expect(result.day).toBe(day);
    const { QueryString } = athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input;
    expect(QueryString).toContain(`  AND dt = '${day}'\n`);
    expect(await reportKeys()).toEqual([`models/${MODEL}/ab/${day}.json`]);
    expect(previousDay(now.slice(0, 10))).toBe(day);
  });

  test('too few candidate requests: the report says why, and no difference is published', async () => {
    flag = flagDocument({ candidate: { modelVersion: 'v13', endpoint: 'live', percent: 5 } });
    await queueResult(
      resultSet(
        ['candidate', 'v13', '40', '1', '39', '35.1', '31.7', '[44.0, 131.5, 262.75]'],
        ['stable', 'v12', '900', '3', '897', '807.3', '728.1', '[41.5, 120.25, 233.0]'],
      ),
    );

    const result = await run();

    const report = await readReport();
    expect(report.analysis.status).toBe('insufficient');
    expect(report.analysis.errorRateDifference).toBeNull();
    expect(report.analysis.meanConfidenceDifference).toBeNull();
    const reason =
      'candidate served 40 requests, fewer than the 100 needed to compare (minSamples): no win or loss can be ' +
      'read from this day; wait for more traffic or raise the candidate share in the flag';
    expect(report.analysis.reasons).toEqual([reason]);
    expect(result).toMatchObject({ status: 'insufficient', srm: false, metricsPublished: 9 });
    expect(result.summary).toContain(`\nnot compared: ${reason}\nreport: ${REPORT_URI}`);
    const landed = await landedMetrics();
    expect(Object.keys(landed).sort()).toEqual([
      'ErrorRate/candidate',
      'ErrorRate/stable',
      'MeanConfidence/candidate',
      'MeanConfidence/stable',
      'P95LatencyMs/candidate',
      'P95LatencyMs/stable',
      'Requests/candidate',
      'Requests/stable',
      'SampleRatioMismatch',
    ]);
    expect(landed['Requests/candidate']).toEqual([40]);
    expect(landed['ErrorRate/candidate']).toEqual([(1 / 40) * 100]);
    expect(landed.SampleRatioMismatch).toEqual([0]);
  });

  test('no logs at all: zero requests per variant, no split check, no differences', async () => {
    await queueResult(resultSet());

    const result = await run();

    expect(result.status).toBe('insufficient');
    expect(await landedMetrics()).toEqual({ 'Requests/stable': [0], 'Requests/candidate': [0] });
    expect(result.summary).toBe(
      [
        `A/B analysis of ${MODEL} for ${DAY}: insufficient`,
        `stable 0 requests, candidate 0; intended candidate share 10% (${FLAG})`,
        'not compared: no prediction logs for this model and day: check that the router is logging (Firehose ' +
          'delivery to S3) and that the day is complete before rerunning',
        `report: ${REPORT_URI}`,
      ].join('\n'),
    );
  });

  test('a sample-ratio mismatch is published as 1 and leads the summary, with no differences', async () => {
    flag = flagDocument({ candidate: { modelVersion: 'v13', endpoint: 'live', percent: 50 } });
    await queueResult(scenarios.largeWithSrm.resultSet);

    const result = await run();

    const report = await readReport();
    expect(report.analysis.status).toBe('assignment-broken');
    expect(result).toMatchObject({ status: 'assignment-broken', srm: true, metricsPublished: 9 });
    const landed = await landedMetrics();
    expect(landed.SampleRatioMismatch).toEqual([1]);
    expect(landed.ErrorRateDifference).toBeUndefined();
    expect(landed.ConfidenceDifference).toBeUndefined();
    expect(landed['Requests/stable']).toEqual([12_000_000]);
    expect(landed['Requests/candidate']).toEqual([11_900_000]);
    expect(result.summary.split('\n')[2]).toBe(
      'CRITICAL: assignment looks broken: the candidate got 11,900,000 of 23,900,000 requests (49.79%) but the ' +
        'flag intends 50% (about 11,950,000); sample-ratio mismatch, p = 5.4e-93. No difference is reported: ' +
        'check whether the flag changed during the day, the router assignment (hash salt, user ids) and ' +
        'whether one variant lost logs',
    );
  });

  describe('failures throw with what failed, what to check and how to rerun', () => {
    beforeEach(() => queueResult(scenarios.typical.resultSet));

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
          `cutoff of workgroup ${WORKGROUP}: Bytes scanned limit was exceeded. The query reads one model and day ` +
          `(partition model=${MODEL}/dt=${DAY}), so first check in the Athena console that it scanned only that ` +
          "prefix (partition projection on table mlops_prediction_logs.predictions); if the day's logs really " +
          `are that large, raise routing.analysis.maxScannedGb (now 10 GB) in config/models/${MODEL}.yaml and ` +
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
          'The query scanned 10737418240 bytes.. The query reads one model and day',
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
      const [page] = pages(scenarios.typical.resultSet, 3);
      athena.on(GetQueryResultsCommand).resolves({ ...page, NextToken: 'again' });

      await expectFailure(
        (id) =>
          `A/B analysis of ${MODEL} for ${DAY} failed: Athena query ${id} returned more than 100 pages of ` +
          'results; the summary query returns one row per variant and model version, so this is not its result: ' +
          `check the query in the Athena console (workgroup ${WORKGROUP}). ${RERUN}`,
      );
      expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(100);
    });

    test('an unreadable flag stops the analysis before any query', async () => {
      appconfig
        .on(StartConfigurationSessionCommand)
        .rejects(awsError('ResourceNotFoundException', 'Requested resource not found'));

      await expectFailure(
        () =>
          `A/B analysis of ${MODEL} for ${DAY} failed: cannot read the intended candidate share, so nothing was ` +
          'queried: cannot read the AppConfig flag mlops/prod/model-version: ResourceNotFoundException: Requested ' +
          "resource not found; check that the flag is deployed to environment prod and that the function's role " +
          `may read it (appconfig:StartConfigurationSession, appconfig:GetLatestConfiguration). ${RERUN}`,
      );
      expect(queryIds).toEqual([]);
    });

    test('an empty flag (nothing deployed) stops the analysis before any query', async () => {
      flag = '';

      await expectFailure(
        () =>
          `A/B analysis of ${MODEL} for ${DAY} failed: cannot read the intended candidate share, so nothing was ` +
          'queried: the AppConfig flag mlops/prod/model-version is empty: deploy the flag document to environment ' +
          `prod. ${RERUN}`,
      );
      expect(queryIds).toEqual([]);
    });

    test('a flag with a broken percent names it', async () => {
      flag = flagDocument({ candidate: { modelVersion: 'v13', endpoint: 'live', percent: 150 } });

      await expectFailure(
        () =>
          `A/B analysis of ${MODEL} for ${DAY} failed: cannot read the intended candidate share, so nothing was ` +
          `queried: the ${FLAG} has candidate.percent 150, not a percentage from 0 to 100; fix the flag document ` +
          `(the router refuses it too). ${RERUN}`,
      );
    });

    test("the flag's AppConfig names missing from the environment are named", async () => {
      delete process.env.APPCONFIG_ENVIRONMENT;

      await expectFailure(
        () =>
          `A/B analysis of ${MODEL} for ${DAY} failed: cannot read the intended candidate share, so nothing was ` +
          "queried: environment APPCONFIG_ENVIRONMENT missing or invalid; the function was deployed without the flag's " +
          `AppConfig settings: redeploy the model stack. ${RERUN}`,
      );
      expect(appconfig.calls()).toEqual([]);
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
      expect(appconfig.calls()).toEqual([]);
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

describe('intendedSplitFromFlag', () => {
  const SOURCE = 'AppConfig flag mlops/prod/model-version';
  const flag = (fields: Record<string, unknown>) =>
    JSON.stringify({
      schemaVersion: 1,
      model: MODEL,
      experiment: 'ab',
      stable: { modelVersion: 'v12', endpoint: 'live' },
      candidate: { modelVersion: 'v13', endpoint: 'live', percent: 12.5 },
      killSwitch: false,
      ...fields,
    });

  test("reads the candidate's percent", () => {
    expect(intendedSplitFromFlag(flag({}), SOURCE)).toEqual({ candidatePercent: 12.5, source: SOURCE });
  });

  test('no candidate is 0%', () => {
    expect(intendedSplitFromFlag(flag({ candidate: null }), SOURCE)).toEqual({
      candidatePercent: 0,
      source: SOURCE,
    });
    expect(intendedSplitFromFlag('{}', SOURCE).candidatePercent).toBe(0);
  });

  test('the kill switch is 0%, and the source says it was on', () => {
    expect(intendedSplitFromFlag(flag({ killSwitch: true }), SOURCE)).toEqual({
      candidatePercent: 0,
      source: `${SOURCE}, killSwitch on`,
    });
  });

  test('fields it does not read do not matter', () => {
    expect(intendedSplitFromFlag(flag({ schemaVersion: 2, rollout: { by: 'region' } }), SOURCE)).toEqual({
      candidatePercent: 12.5,
      source: SOURCE,
    });
  });

  test.each([
    [
      '{"candidate": ',
      /^the AppConfig flag mlops\/prod\/model-version is not JSON \(.+\); the router cannot read it either: deploy a valid flag document$/,
    ],
    [
      '[1, 2]',
      /^the AppConfig flag mlops\/prod\/model-version is an array, not a flag document \(a JSON object\); deploy a valid flag document$/,
    ],
    [
      flag({ candidate: { percent: 150 } }),
      /^the AppConfig flag mlops\/prod\/model-version has candidate\.percent 150, not a percentage from 0 to 100; fix the flag document \(the router refuses it too\)$/,
    ],
    [
      flag({ candidate: { percent: '10' } }),
      /^the AppConfig flag mlops\/prod\/model-version has candidate\.percent "10", not a percentage/,
    ],
  ])('refuses %s', (text, message) => {
    expect(() => intendedSplitFromFlag(text, SOURCE)).toThrow(message);
  });
});
