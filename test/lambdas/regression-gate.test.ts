import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { strToU8, zipSync } from 'fflate';
import { releaseSettings, type ReleaseSettings } from '../../lambdas/core/contracts/release-settings';
import { createHandler, type Deps } from '../../lambdas/regression-gate';
import type { RegressionDecision } from '../../lambdas/regression-gate/record';
import { logger } from '../../lambdas/shared/logger';
import { shippedConfig } from '../helpers/config-fixture';
import { useMoto } from '../helpers/moto';

const JOB_ID = 'f00d-job';
const EXECUTION_ID = 'exec-0042';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const PIPELINE_ARTIFACTS = 'pipeline-artifacts';
const EVAL_OUTPUT_KEY = 'document-classifier-release/EvalOutput/out.zip';
const RUN = `models/document-classifier/runs/${EXECUTION_ID}`;
const BASELINE_KEY = 'models/document-classifier/baseline/baseline_metrics.json';
const DECISION_URL = `s3://${ARTIFACTS}/${RUN}/regression-decision.json`;
const NOW = new Date('2026-11-05T10:00:00.000Z');
const SESSION_TOKEN = 'SESSION-TOKEN-never-logged';

/** An eval report fixture, rewritten for this model. */
function report(name: string, edit: (r: Record<string, unknown>) => void = () => undefined): string {
  const parsed = JSON.parse(readFileSync(join(__dirname, '../fixtures/eval', name), 'utf8'));
  parsed.model = 'document-classifier';
  edit(parsed);
  return JSON.stringify(parsed, null, 2);
}

// The shipped config: 2 × ml.g5.xlarge live, 1 standby, 1 shadow for 60 min × 4 releases, at $1.57/h.
const MONTHLY = 1.57 * (2 * 730 + 1 * 730 + 1 * 4);
const COST_LINE =
  `estimated serving cost $${MONTHLY.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}` +
  `/month ($${((MONTHLY / 2_500_000) * 1000).toFixed(2)} per 1k requests at 2,500,000 requests/month; prices as of 2026-11-01)`;

describe('regression-gate handler', () => {
  const moto = useMoto();
  const codepipeline = mockClient(CodePipelineClient);
  let s3: S3Client;
  let deps: Deps;
  let settings: ReleaseSettings;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.RELEASE_SETTINGS_PARAMETER = PARAMETER;
    process.env.ARTIFACTS_BUCKET = ARTIFACTS;
    const config = shippedConfig();
    settings = releaseSettings(
      config.platform,
      config.models.find((m) => m.name === 'document-classifier')!,
    );
    s3 = new S3Client(moto.clientConfig);
    deps = {
      s3,
      ssm: new SSMClient(moto.clientConfig),
      codepipeline: new CodePipelineClient({ region: 'eu-west-1' }),
      now: () => NOW,
    };
  });

  beforeEach(async () => {
    process.env.ARTIFACTS_BUCKET = ARTIFACTS;
    codepipeline.reset();
    codepipeline.on(PutJobSuccessResultCommand).resolves({});
    codepipeline.on(PutJobFailureResultCommand).resolves({});
    await new SSMClient(moto.clientConfig).send(
      new PutParameterCommand({ Name: PARAMETER, Type: 'String', Value: JSON.stringify(settings) }),
    );
    for (const bucket of [ARTIFACTS, PIPELINE_ARTIFACTS]) {
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      );
    }
  });

  async function put(bucket: string, key: string, body: string | Uint8Array) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }

  async function get(key: string): Promise<string> {
    const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: key }));
    return res.Body!.transformToString();
  }

  function jobEvent(executionId = EXECUTION_ID) {
    return {
      'CodePipeline.job': {
        id: JOB_ID,
        accountId: '123456789012',
        data: {
          actionConfiguration: {
            configuration: {
              FunctionName: 'mlops-document-classifier-regression-gate',
              UserParameters: JSON.stringify({ executionId, pipeline: 'release', commitId: '7d6c5b4' }),
            },
          },
          inputArtifacts: [
            {
              name: 'EvalOutput',
              location: {
                type: 'S3',
                s3Location: { bucketName: PIPELINE_ARTIFACTS, objectKey: EVAL_OUTPUT_KEY },
              },
            },
          ],
          outputArtifacts: [],
          artifactCredentials: {
            accessKeyId: 'testing',
            secretAccessKey: 'testing',
            sessionToken: SESSION_TOKEN,
          },
        },
      },
    };
  }

  /** Publishes the evaluation output artifact holding `files` and invokes the handler. */
  async function run(files: Record<string, string>, handlerDeps = deps, executionId = EXECUTION_ID) {
    const zip = zipSync(
      Object.fromEntries(Object.entries(files).map(([path, text]) => [path, strToU8(text)])),
    );
    await put(PIPELINE_ARTIFACTS, EVAL_OUTPUT_KEY, zip);
    return createHandler(handlerDeps)(jobEvent(executionId));
  }

  function onlyCall() {
    expect(codepipeline.calls()).toHaveLength(1);
    return codepipeline.call(0).args[0].input;
  }

  test('candidate within thresholds: success with the verdict and cost, report copy and decision record written', async () => {
    await put(ARTIFACTS, BASELINE_KEY, report('baseline_metrics.json'));
    const candidate = report('eval_report.json');

    await run({ 'eval_report.json': candidate, 'logs/evaluate.log': 'done\n' });

    expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(1);
    expect(onlyCall()).toEqual({
      jobId: JOB_ID,
      executionDetails: {
        summary: ['PASS: 10 checks passed', COST_LINE, `full decision: ${DECISION_URL}`].join('\n'),
      },
    });
    expect(await get(`${RUN}/eval_report.json`)).toBe(candidate);

    const decision = JSON.parse(await get(`${RUN}/regression-decision.json`)) as RegressionDecision;
    expect(decision).toMatchObject({
      model: 'document-classifier',
      executionId: EXECUTION_ID,
      pipeline: 'release',
      commitId: '7d6c5b4',
      decidedAt: '2026-11-05T10:00:00.000Z',
      thresholds: {
        maxAccuracyDrop: 0.02,
        maxLatencyIncreasePct: 15,
        maxCostIncreasePct: 10,
        maxBiasGapIncrease: 0.03,
      },
      verdict: 'pass',
      regression: {
        verdict: 'pass',
        firstRelease: false,
        candidateVersion: '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483',
        baselineVersion: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      },
      cost: { currency: 'USD', pricingAsOf: '2026-11-01', monthlyRequests: 2_500_000 },
    });
    expect(decision.regression.checks).toHaveLength(10);
    expect(decision.cost.monthly).toBeCloseTo(MONTHLY, 9);
    expect(decision.cost.breakdown.map((line) => line.component)).toEqual([
      'live-endpoint',
      'standby-endpoint',
      'shadow-variant',
    ]);
  });

  test('a regression fails the run with the gate summary, and the decision is still recorded', async () => {
    await put(ARTIFACTS, BASELINE_KEY, report('baseline_metrics.json'));

    await run({ 'eval_report.json': report('eval_report_regressed.json') });

    expect(onlyCall()).toEqual({
      jobId: JOB_ID,
      failureDetails: {
        type: 'JobFailed',
        message:
          'FAIL: 4 of 10 checks failed: golden_set accuracy 0.940 → 0.910 (−0.030) exceeds the allowed drop 0.020; ' +
          'unpaired, n = 5,000 vs 5,000 (no per-example results): drop 90% CI 0.021 to 0.039, fails by the interval; ' +
          'golden_set p95 latency 120.0 ms → 140.0 ms (+16.7%) exceeds the allowed increase 15%; ' +
          "compared: each report's p95 over its 5,000 (candidate) and 5,000 (baseline) rows, point estimates with a " +
          'relative threshold; ' +
          'golden_set cost per 1k requests 0.4200 USD → 0.4700 USD (+11.9%) exceeds the allowed increase 10%; ' +
          "compared: each report's stated cost per 1k requests, point estimates with a relative threshold; " +
          `and 1 more\nfull decision: ${DECISION_URL}`,
      },
    });
    const decision = JSON.parse(await get(`${RUN}/regression-decision.json`)) as RegressionDecision;
    expect(decision.verdict).toBe('fail');
    expect(
      decision.regression.checks.filter((c) => c.verdict === 'fail').map((c) => `${c.evalSet} ${c.check}`),
    ).toEqual([
      'golden_set accuracy',
      'golden_set p95LatencyMs',
      'golden_set costPer1kRequests',
      'golden_set biasGap',
    ]);
  });

  test('no baseline yet: a first release passes with an explicit "no baseline" note', async () => {
    await run({ 'eval_report.json': report('eval_report.json') });

    expect(onlyCall()).toEqual({
      jobId: JOB_ID,
      executionDetails: {
        summary: [
          'PASS: no baseline: first release; 8 checks passed',
          'no baseline: first release. Nothing was compared; these metrics become the baseline when the candidate is promoted.',
          COST_LINE,
          `full decision: ${DECISION_URL}`,
        ].join('\n'),
      },
    });
    const decision = JSON.parse(await get(`${RUN}/regression-decision.json`)) as RegressionDecision;
    expect(decision.regression).toMatchObject({ firstRelease: true, baselineVersion: null, verdict: 'pass' });
  });

  test('a first release still needs every configured eval set in the report', async () => {
    const candidate = report('eval_report.json', (r) => {
      delete (r.eval_sets as Record<string, unknown>).production_sample;
    });

    await run({ 'eval_report.json': candidate });

    expect(onlyCall()).toEqual({
      jobId: JOB_ID,
      failureDetails: {
        type: 'JobFailed',
        message:
          "FAIL: 1 of 5 checks failed: production_sample is declared in the model's config but missing from the " +
          `candidate report: the evaluate command must report every eval set\nfull decision: ${DECISION_URL}`,
      },
    });
  });

  test('an invalid eval report: failure listing every problem, nothing recorded', async () => {
    const candidate = report('eval_report.json', (r) => {
      const golden = (r.eval_sets as Record<string, Record<string, unknown>>).golden_set;
      golden.accuracy = 1.2;
      delete golden.p95_latency_ms;
    });

    await run({ 'eval_report.json': candidate });

    const { failureDetails } = onlyCall() as { failureDetails: { message: string } };
    expect(failureDetails.message).toBe(
      'eval_report.json (artifact EvalOutput) is not a valid eval report (2 problems; format: docs/eval-report.md):\n' +
        '  - eval_report.json (artifact EvalOutput) eval_sets.golden_set.accuracy: invalid value (got 1.2, expected accuracy, a number from 0 to 1)\n' +
        '  - eval_report.json (artifact EvalOutput) eval_sets.golden_set.p95_latency_ms: missing (expected p95 latency in milliseconds, a number > 0)',
    );
    await expect(get(`${RUN}/regression-decision.json`)).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  test('an artifact without eval_report.json at its root: failure saying where it was looked for', async () => {
    await run({ 'out/eval_report.json': report('eval_report.json') });

    expect(onlyCall()).toEqual({
      jobId: JOB_ID,
      failureDetails: {
        type: 'JobFailed',
        message:
          `eval_report.json is missing from the root of input artifact EvalOutput (s3://${PIPELINE_ARTIFACTS}/${EVAL_OUTPUT_KEY}); ` +
          "the evaluation build must write it there and list it in the buildspec's artifacts",
      },
    });
  });

  test('a report for another model fails instead of being compared', async () => {
    await run({ 'eval_report.json': report('eval_report.json', (r) => (r.model = 'churn-classifier')) });

    expect(onlyCall()).toEqual({
      jobId: JOB_ID,
      failureDetails: {
        type: 'JobFailed',
        message:
          'eval_report.json is for model "churn-classifier" but this pipeline releases "document-classifier"; ' +
          'the evaluate command must write the model name of config/models/<model>.yaml',
      },
    });
  });

  test('a baseline the function may not read fails the run: it is not taken for a first release', async () => {
    const denied = new S3Client(moto.clientConfig);
    mockClient(denied)
      .on(GetObjectCommand)
      .rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    await run({ 'eval_report.json': report('eval_report.json') }, { ...deps, s3: denied });

    expect(onlyCall()).toEqual({
      jobId: JOB_ID,
      failureDetails: {
        type: 'JobFailed',
        message:
          `cannot read the baseline s3://${ARTIFACTS}/${BASELINE_KEY}: AccessDenied: Access Denied; an unreadable ` +
          "baseline is not treated as a first release: check the bucket and the function's permissions " +
          '(s3:GetObject on the object, kms:Decrypt on the bucket key, and s3:ListBucket, without which S3 ' +
          'answers AccessDenied for a baseline that does not exist yet), then retry the stage',
      },
    });
  });

  test('an artifacts bucket that does not exist fails the run at the baseline read', async () => {
    process.env.ARTIFACTS_BUCKET = 'no-such-artifacts-bucket';

    await run({ 'eval_report.json': report('eval_report.json') });

    const { failureDetails } = onlyCall() as { failureDetails: { message: string } };
    expect(failureDetails.message).toMatch(
      /^cannot read the baseline s3:\/\/no-such-artifacts-bucket\/models\/document-classifier\/baseline\/baseline_metrics\.json: NoSuchBucket: /,
    );
  });

  test('a damaged baseline fails the run and says how to recover', async () => {
    await put(ARTIFACTS, BASELINE_KEY, '{"schema_version": 1, "model": ');

    await run({ 'eval_report.json': report('eval_report.json') });

    const { failureDetails } = onlyCall() as { failureDetails: { message: string } };
    expect(failureDetails.message).toMatch(
      new RegExp(
        `^the baseline s3://${ARTIFACTS}/${BASELINE_KEY} is not a valid eval report \\(1 problem; .*\\n` +
          'The promoted baseline is damaged: restore the previous version of the object \\(the bucket is versioned\\) ' +
          'or promote a valid report$',
        's',
      ),
    );
  });

  describe('with per-example results (examples/document-classifier/per-example)', () => {
    const PER_EXAMPLE = join(__dirname, '../../examples/document-classifier/per-example');
    const example = (file: string) => readFileSync(join(PER_EXAMPLE, file), 'utf8');
    const CANDIDATE_FILE = 'predictions/candidate/golden_set.jsonl';
    const BASELINE_PREDICTIONS_KEY =
      'models/document-classifier/baseline/predictions/baseline/golden_set.jsonl';

    async function promotedBaseline() {
      await put(ARTIFACTS, BASELINE_KEY, example('baseline_metrics.json'));
      await put(ARTIFACTS, BASELINE_PREDICTIONS_KEY, example('predictions/baseline/golden_set.jsonl'));
    }

    function decisionCheck(decision: RegressionDecision, evalSet: string, check: string) {
      return decision.regression.checks.find((c) => c.evalSet === evalSet && c.check === check)!;
    }

    test("reads the candidate's predictions from the artifact and the baseline's from beside the baseline: a paired verdict, and the candidate's file kept with the run", async () => {
      await promotedBaseline();
      const predictions = example(CANDIDATE_FILE);

      await run({ 'eval_report.json': example('eval_report.json'), [CANDIDATE_FILE]: predictions });

      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(1);
      const decision = JSON.parse(await get(`${RUN}/regression-decision.json`)) as RegressionDecision;
      expect(decisionCheck(decision, 'golden_set', 'examples')).toMatchObject({
        verdict: 'pass',
        reason:
          'golden_set per-example results agree with the reported metrics and pair up (2,000 shared examples)',
      });
      expect(decisionCheck(decision, 'golden_set', 'accuracy')).toMatchObject({
        verdict: 'pass',
        paired: true,
        comparedOn: 'paired, n = 2,000',
      });
      expect(decisionCheck(decision, 'production_sample', 'accuracy')).toMatchObject({ paired: false });
      expect(await get(`${RUN}/${CANDIDATE_FILE}`)).toBe(predictions);
    });

    test('a regressed candidate fails by the paired interval', async () => {
      await promotedBaseline();

      await run({
        'eval_report.json': example('eval_report_regressed.json'),
        'predictions/regressed/golden_set.jsonl': example('predictions/regressed/golden_set.jsonl'),
      });

      const decision = JSON.parse(await get(`${RUN}/regression-decision.json`)) as RegressionDecision;
      expect(decisionCheck(decision, 'golden_set', 'accuracy')).toMatchObject({
        verdict: 'fail',
        decidedBy: 'interval',
        paired: true,
      });
      expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(1);
    });

    test('a predictions file the report names but the artifact lacks: failure naming both, nothing recorded', async () => {
      await promotedBaseline();

      await run({ 'eval_report.json': example('eval_report.json') });

      expect(onlyCall()).toEqual({
        jobId: JOB_ID,
        failureDetails: {
          type: 'JobFailed',
          message:
            'eval_report.json (artifact EvalOutput) eval_sets.golden_set.predictions_file names ' +
            '"predictions/candidate/golden_set.jsonl", which is not in input artifact EvalOutput; the evaluation ' +
            'build must write it beside eval_report.json (its artifact publishes predictions/**)',
        },
      });
      await expect(get(`${RUN}/regression-decision.json`)).rejects.toMatchObject({ name: 'NoSuchKey' });
    });

    test('a label not in the config: failure naming file, line and field', async () => {
      await promotedBaseline();
      const lines = example(CANDIDATE_FILE).split('\n');
      lines[2] = lines[2].replace(/"predicted": "\w+"/, '"predicted": "refunds"');

      await run({ 'eval_report.json': example('eval_report.json'), [CANDIDATE_FILE]: lines.join('\n') });

      const { failureDetails } = onlyCall() as { failureDetails: { message: string } };
      expect(failureDetails.message).toBe(
        `${CANDIDATE_FILE} is not a valid predictions file (1 problem; format: docs/eval-report.md):\n` +
          `  - ${CANDIDATE_FILE}:3 predicted: label not in the model's config (got "refunds", expected one of ` +
          'dataValidation.allowedLabels: billing, refund, technical, account, shipping, other)',
      );
    });

    test('a baseline whose predictions file is missing is damaged: failure saying how to recover', async () => {
      await put(ARTIFACTS, BASELINE_KEY, example('baseline_metrics.json'));
      const url = `s3://${ARTIFACTS}/${BASELINE_PREDICTIONS_KEY}`;

      await run({
        'eval_report.json': example('eval_report.json'),
        [CANDIDATE_FILE]: example(CANDIDATE_FILE),
      });

      const { failureDetails } = onlyCall() as { failureDetails: { message: string } };
      expect(failureDetails.message).toBe(
        `the baseline's per-example results for golden_set (${url}, named by s3://${ARTIFACTS}/${BASELINE_KEY}) ` +
          `cannot be used: ${url} does not exist\nThe promoted baseline is damaged: restore the previous versions ` +
          'of both objects (the bucket is versioned), or remove predictions_file from the baseline report to ' +
          'compare unpaired',
      );
    });

    test('an id missing from the baseline fails the examples check and names both files and the line', async () => {
      await promotedBaseline();
      const lines = example(CANDIDATE_FILE).split('\n');
      lines[0] = lines[0].replace('"golden-00000"', '"golden-99999"');

      await run({ 'eval_report.json': example('eval_report.json'), [CANDIDATE_FILE]: lines.join('\n') });

      const decision = JSON.parse(await get(`${RUN}/regression-decision.json`)) as RegressionDecision;
      expect(decisionCheck(decision, 'golden_set', 'examples')).toMatchObject({
        verdict: 'fail',
        reason:
          `golden_set per-example results: ${CANDIDATE_FILE}:1 id: "golden-99999" is not in the baseline's ` +
          `s3://${ARTIFACTS}/${BASELINE_PREDICTIONS_KEY}; s3://${ARTIFACTS}/${BASELINE_PREDICTIONS_KEY}:1 id: ` +
          `"golden-00000" is not in the candidate's ${CANDIDATE_FILE}`,
      });
      expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(1);
    });
  });

  test('every log line of an invocation carries its execution id, and never the artifact credentials', async () => {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    logger.setLogLevel('DEBUG');
    try {
      await run({ 'eval_report.json': report('eval_report.json') }, deps, 'exec-first');
      const first = lines.length;
      await run({ 'eval_report.json': 'not json' }, deps, 'exec-second');

      const ids = lines.map((line) => (JSON.parse(line) as { executionId?: string }).executionId);
      expect(first).toBeGreaterThan(0);
      expect(lines.length).toBeGreaterThan(first);
      expect(ids).toEqual([
        ...Array(first).fill('exec-first'),
        ...Array(lines.length - first).fill('exec-second'),
      ]);
      expect(lines.join('\n')).not.toContain(SESSION_TOKEN);
    } finally {
      logger.setLogLevel('SILENT');
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });
});
