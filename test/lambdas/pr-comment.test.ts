import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
  type ActionExecutionDetail,
} from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { servingDeployment } from '../../lambdas/core/monitoring/cost';
import {
  artifactKeys,
  releaseSettings,
  type ReleaseSettings,
} from '../../lambdas/core/contracts/release-settings';
import type { DriftSummary } from '../../lambdas/core/contracts/records';
import { estimateCost } from '../../lambdas/core/monitoring/cost';
import { parseEvalReport, serializeEvalReport, type EvalReport } from '../../lambdas/core/gates/eval-report';
import { checkRegression } from '../../lambdas/core/gates/regression-gate';
import { reportMarker } from '../../lambdas/core/gates/report';
import { createHandler, defaultDeps, type Deps } from '../../lambdas/pr-comment';
import type { Calibrate } from '../../lambdas/pr-comment/alarm-calibration';
import {
  alarmCalibrationKey,
  parseAlarmCalibrationRecord,
  alarmCalibrationHash,
  computeAlarmCalibration,
} from '../../lambdas/core/monitoring/alarm-calibration-cache';
import { logger } from '../../lambdas/shared/logger';
import { shippedConfig } from '../helpers/config-fixture';
import {
  calibrateConfidenceAlarm,
  calibrationLine,
  DEFAULT_CALIBRATION_RUN,
  requestsPerMinuteOfMonthly,
  type CalibrationReport,
} from '../../lambdas/core/monitoring/confidence-alarm';
import { escapeMarkdown } from '../../lambdas/core/gates/report';
import { useGitHubDouble } from '../helpers/github-double';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const OWNER = 'example-org';
const REPO = 'document-classifier';
const TOKEN = 'ghp_test_token_0123456789';
const SECRET = 'mlops/github-token';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const PIPELINE = 'document-classifier-pr';
const COMMIT = '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483';
const BASELINE_COMMIT = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const PR = 42;
const JOB_ID = 'job-pr-comment-1';
const MARKER = reportMarker(MODEL);
const DRIFT_MESSAGE = "golden_set: drift 0.14 > 0.10; label 'refund' 8% → 21%";

const fixture = (name: string, version: string): EvalReport => ({
  ...parseEvalReport(readFileSync(join(__dirname, '../fixtures/eval', name), 'utf8'), name),
  model: MODEL,
  modelVersion: version,
});

const DRIFT: DriftSummary[] = [
  {
    evalSet: 'golden_set',
    field: 'label',
    jsDistance: 0.0412,
    threshold: 0.1,
    passed: true,
    topMovers: [{ value: 'refund', referenceShare: 0.08, currentShare: 0.095, delta: 0.015 }],
  },
  {
    evalSet: 'production_sample',
    field: 'label',
    jsDistance: 0.0655,
    threshold: 0.15,
    passed: true,
    topMovers: [{ value: 'billing', referenceShare: 0.2, currentShare: 0.23, delta: 0.03 }],
  },
];

function jobEvent(params: unknown, id = JOB_ID) {
  return {
    'CodePipeline.job': {
      id,
      accountId: '123456789012',
      data: {
        actionConfiguration: {
          configuration: {
            FunctionName: 'pr-comment',
            UserParameters: typeof params === 'string' ? params : JSON.stringify(params),
          },
        },
        inputArtifacts: [],
        outputArtifacts: [],
      },
    },
  };
}

const runParams = (executionId: string) => ({ executionId, pipeline: 'pr', commitId: COMMIT });

function failedRunEvent(executionId: string) {
  return {
    version: '0',
    id: 'b0c7e2f6-0000-0000-0000-000000000000',
    source: 'aws.codepipeline',
    account: '123456789012',
    region: 'eu-west-1',
    time: '2026-11-02T10:20:00Z',
    'detail-type': 'CodePipeline Pipeline Execution State Change',
    detail: { pipeline: PIPELINE, 'execution-id': executionId, state: 'FAILED', version: 3 },
  };
}

function action(
  actionName: string,
  status: ActionExecutionDetail['status'],
  result: { summary?: string; error?: string } = {},
): ActionExecutionDetail {
  return {
    pipelineExecutionId: 'exec-b',
    actionName,
    stageName: actionName,
    status,
    startTime: new Date('2026-11-02T10:00:00Z'),
    lastUpdateTime: new Date('2026-11-02T10:05:00Z'),
    output: {
      executionResult: {
        externalExecutionSummary: result.summary,
        errorDetails: result.error ? { code: 'JobFailed', message: result.error } : undefined,
      },
    },
  };
}

describe('pr-comment handler', () => {
  const moto = useMoto();
  const github = useGitHubDouble({ owner: OWNER, repo: REPO, token: TOKEN });
  let s3: S3Client;
  let secrets: SecretsManagerClient;
  let codepipeline: AwsClientStub<CodePipelineClient>;
  let handler: ReturnType<typeof createHandler>;
  let settings: ReleaseSettings;
  let deps: Deps;
  // The handler's simulation takes seconds: tests inject a short seeded run of the same code
  // (its figures are real, only noisier) and count the calls; 'the confidence alarm line' runs the real one.
  const SHORT_RUN = { seed: 1, versions: 1, daysPerVersion: 1, runs: 10 };
  let shortReport: CalibrationReport;
  let calibrations: number;
  const shortCalibrate: Calibrate = () => {
    calibrations++;
    return shortReport;
  };

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    process.env.AWS_REGION = 'eu-west-1';
    process.env.RELEASE_SETTINGS_PARAMETER = PARAMETER;
    process.env.ARTIFACTS_BUCKET = ARTIFACTS;
    const config = shippedConfig();
    // The stored-token option (the shipped config uses a GitHub App: pr-comment-app-auth.test.ts).
    settings = releaseSettings(
      {
        ...config.platform,
        github: { ...config.platform.github, auth: { kind: 'token', tokenSecretName: SECRET } },
      },
      config.models.find((m) => m.name === MODEL)!,
    );
    shortReport = calibrateConfidenceAlarm(
      settings.monitoring,
      requestsPerMinuteOfMonthly(settings.cost.monthlyRequests),
      SHORT_RUN,
    );
  });

  beforeEach(async () => {
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.GITHUB_API_URL = github().baseUrl;
    s3 = new S3Client(moto.clientConfig);
    secrets = new SecretsManagerClient(moto.clientConfig);
    const ssm = new SSMClient(moto.clientConfig);
    const pipelineClient = new CodePipelineClient({ region: 'eu-west-1' });
    codepipeline = mockClient(pipelineClient);
    codepipeline.on(PutJobSuccessResultCommand).resolves({});
    codepipeline.on(PutJobFailureResultCommand).resolves({});
    await s3.send(
      new CreateBucketCommand({
        Bucket: ARTIFACTS,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    await ssm.send(
      new PutParameterCommand({ Name: PARAMETER, Type: 'String', Value: JSON.stringify(settings) }),
    );
    calibrations = 0;
    deps = { s3, ssm, secrets, codepipeline: pipelineClient, github: defaultDeps().github };
    handler = createHandler({ ...deps, calibrate: shortCalibrate });
    github().addPullRequest({ number: PR, headSha: COMMIT });
  });

  const storeToken = (value: string) =>
    secrets.send(new CreateSecretCommand({ Name: SECRET, SecretString: value }));
  const put = (key: string, body: string) =>
    s3.send(new PutObjectCommand({ Bucket: ARTIFACTS, Key: key, Body: body }));

  /** The records a run that reached the PR comment action leaves behind. */
  async function storeRun(
    executionId: string,
    candidate: EvalReport,
    options: { withBaseline?: boolean } = {},
  ) {
    const baseline = fixture('baseline_metrics.json', BASELINE_COMMIT);
    if (options.withBaseline ?? true) await put(artifactKeys.baseline(MODEL), serializeEvalReport(baseline));
    const regression = checkRegression(candidate, baseline, settings.thresholds, {
      requiredEvalSets: settings.evalSets.map((s) => s.name),
    });
    await put(
      artifactKeys.dataValidation(MODEL, executionId),
      JSON.stringify({
        version: 1,
        model: MODEL,
        executionId,
        pipeline: 'pr',
        commitId: COMMIT,
        generatedAt: '2026-11-02T10:05:00Z',
        verdict: 'pass',
        dvcRemote: 's3://dvc-remote/document-classifier',
        evalSets: settings.evalSets.map((s) => ({
          evalSet: s.name,
          kind: s.kind,
          maxDrift: s.maxDrift,
          valid: true,
          errors: [],
        })),
        drift: DRIFT,
      }),
    );
    await put(artifactKeys.evalReport(MODEL, executionId), serializeEvalReport(candidate));
    await put(
      artifactKeys.decision(MODEL, executionId),
      JSON.stringify({
        model: MODEL,
        executionId,
        pipeline: 'pr',
        commitId: COMMIT,
        decidedAt: '2026-11-02T10:15:00Z',
        thresholds: settings.thresholds,
        regression,
        cost: estimateCost(servingDeployment(settings), settings.pricing, settings.cost.monthlyRequests),
        verdict: regression.verdict,
      }),
    );
    return regression;
  }

  function failureMessage(): string | undefined {
    const calls = codepipeline.commandCalls(PutJobFailureResultCommand);
    return calls[0]?.args[0].input.failureDetails?.message;
  }

  describe('as the last action of the PR pipeline', () => {
    it('creates one comment with the full report and reports success to CodePipeline', async () => {
      await storeToken(JSON.stringify({ token: TOKEN }));
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));

      await handler(jobEvent(runParams('exec-1')));

      const comments = github().comments(PR);
      expect(comments).toHaveLength(1);
      const body = comments[0].body;
      expect(body.startsWith(`${MARKER}\n`)).toBe(true);
      expect(body).toContain('**Status: PASS**');
      expect(body).toContain(`candidate \`${COMMIT}\` · baseline \`${BASELINE_COMMIT}\``);
      // golden_set: accuracy 0.94 -> 0.935, p95 120 -> 128.4 ms (+7.0 %), cost per 1k 0.42 -> 0.44 USD.
      expect(body).toContain(
        '| Accuracy | 94.0% | 93.5% | −0.5 pp | pass (unpaired, n = 5,000 vs 5,000; Δ 90% CI −1.3 to +0.3 pp; by the interval) |',
      );
      expect(body).toContain('| p95 latency | 120.0 ms | 128.4 ms | +8.4 ms (+7.0%) | pass |');
      expect(body).toContain(
        '| Cost per 1k requests | 0.4200 USD | 0.4400 USD | +0.0200 USD (+4.8%) | pass |',
      );
      // Measured cost per 1k of the production-like set (0.45 → 0.46) × 2.5M requests, as in mlops render-report.
      expect(body).toContain('| Estimated monthly cost | 1,125.00 USD | 1,150.00 USD | +25.00 USD (+2.2%) |');
      expect(body).toContain('0.041');
      expect(body).toContain('| code quality | pass |');
      expect(body).toContain(
        '| data validation | pass | 2 eval sets valid; label drift golden\\_set 0.041 ≤ 0.100',
      );
      expect(body).toContain('| model evaluation | pass | evaluated on golden\\_set (5,000 rows)');
      expect(body).toContain('| regression | pass | all ');
      // The live confidence alarm as the deployed settings define it, at the configured traffic.
      expect(body).toContain(
        `### Live confidence alarm\n\n${escapeMarkdown(calibrationLine(shortReport), 500)}\n`,
      );

      expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(0);
      const success = codepipeline.commandCalls(PutJobSuccessResultCommand);
      expect(success).toHaveLength(1);
      expect(success[0].args[0].input).toEqual({
        jobId: JOB_ID,
        executionDetails: {
          summary: `created the report comment on PR #${PR} (${comments[0].htmlUrl})`,
        },
      });
    });

    it('updates the same comment on the next run instead of adding another', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      await handler(jobEvent(runParams('exec-1')));
      const [first] = github().comments(PR);

      // The next push regresses: the decision of exec-2 fails.
      const regressed = fixture('eval_report_regressed.json', COMMIT);
      const regression = await storeRun('exec-2', regressed);
      expect(regression.verdict).toBe('fail');
      await handler(jobEvent(runParams('exec-2'), 'job-2'));

      const comments = github().comments(PR);
      expect(comments).toHaveLength(1);
      expect(comments[0].id).toBe(first.id);
      expect(comments[0].body).not.toBe(first.body);
      expect(comments[0].body).toContain('**Status: FAIL**');
      expect(
        github()
          .writes()
          .map((r) => `${r.method} ${r.path}`),
      ).toEqual([
        `POST /repos/${OWNER}/${REPO}/issues/${PR}/comments`,
        `PATCH /repos/${OWNER}/${REPO}/issues/comments/${first.id}`,
      ]);
      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[1].args[0].input.executionDetails).toEqual(
        {
          summary: `updated the report comment on PR #${PR} (${first.htmlUrl})`,
        },
      );
    });

    it('does not edit the comment again when a retried job renders the same report', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      await handler(jobEvent(runParams('exec-1')));
      await handler(jobEvent(runParams('exec-1'), 'job-retried'));

      const [comment] = github().comments(PR);
      expect(
        github()
          .writes()
          .map((r) => r.method),
      ).toEqual(['POST']);
      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[1].args[0].input).toEqual({
        jobId: 'job-retried',
        executionDetails: {
          summary: `the report comment on PR #${PR} is already up to date (${comment.htmlUrl})`,
        },
      });
    });

    it("keeps this model's marker when the eval report names another model", async () => {
      await storeToken(TOKEN);
      const earlier = github().addComment(PR, `${MARKER}\nold report`, 'mlops-bot');
      const regression = await storeRun('exec-1', {
        ...fixture('eval_report.json', COMMIT),
        model: 'churn-classifier',
      });
      expect(regression.verdict).toBe('fail');

      await handler(jobEvent(runParams('exec-1')));

      expect(
        github()
          .writes()
          .map((r) => `${r.method} ${r.path}`),
      ).toEqual([`PATCH /repos/${OWNER}/${REPO}/issues/comments/${earlier.id}`]);
      const [comment] = github().comments(PR);
      expect(comment.body.startsWith(`${MARKER}\n`)).toBe(true);
      expect(comment.body).toContain('**Status: FAIL**');
    });

    it("leaves other people's comments and other models' reports alone", async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      const review = github().addComment(PR, 'Looks good, but why did p95 latency go up?', 'alice');
      const quote = github().addComment(PR, `> ${MARKER}\n> quoted report`, 'bob');
      const otherModel = github().addComment(
        PR,
        `${reportMarker('churn-classifier')}\n## other model`,
        'mlops-bot',
      );

      await handler(jobEvent(runParams('exec-1')));

      const comments = github().comments(PR);
      expect(comments.map((c) => c.body)).toEqual([
        review.body,
        quote.body,
        otherModel.body,
        expect.any(String),
      ]);
      expect(comments[3].body.startsWith(MARKER)).toBe(true);
      expect(
        github()
          .writes()
          .map((r) => r.method),
      ).toEqual(['POST']);
    });

    it('finds its earlier comment on a later page of a long discussion', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      for (let i = 0; i < 130; i++) github().addComment(PR, `comment ${i}`, 'reviewer');
      const earlier = github().addComment(PR, `${MARKER}\nold report`, 'mlops-bot');

      await handler(jobEvent(runParams('exec-1')));

      expect(github().comments(PR)).toHaveLength(131);
      expect(
        github()
          .writes()
          .map((r) => `${r.method} ${r.path}`),
      ).toEqual([`PATCH /repos/${OWNER}/${REPO}/issues/comments/${earlier.id}`]);
      expect(github().comments(PR)[130].body).toContain('## ML release report: document-classifier');
    });

    it('succeeds without posting when no open pull request into the release branch has the commit', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      github().reset();
      github().addPullRequest({ number: 7, headSha: COMMIT, state: 'closed' });
      github().addPullRequest({ number: 8, headSha: COMMIT, base: 'develop' });

      await handler(jobEvent(runParams('exec-1')));

      expect(github().writes()).toEqual([]);
      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input).toEqual({
        jobId: JOB_ID,
        executionDetails: {
          summary: `no open pull request into main of ${OWNER}/${REPO} has commit ${COMMIT.slice(0, 12)}; nothing posted`,
        },
      });
    });

    it('fails the job naming the secret and the scope when GitHub refuses the token', async () => {
      await storeToken('ghp_revoked');
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));

      await handler(jobEvent(runParams('exec-1')));

      expect(github().writes()).toEqual([]);
      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(0);
      expect(codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input).toEqual({
        jobId: JOB_ID,
        failureDetails: {
          type: 'JobFailed',
          message:
            `GitHubError: GitHub refused the token in secret ${SECRET} while finding the pull requests of commit ` +
            `${COMMIT.slice(0, 12)} (HTTP 401: Bad credentials - https://docs.github.com/rest): the token is ` +
            `invalid or expired, or lacks pull-request/issues write scope on ${OWNER}/${REPO}. Store a valid ` +
            'token with that scope in the secret (classic token: repo; fine-grained: Pull requests and Issues ' +
            'read/write) and retry; the function reads the secret again after this failure',
        },
      });
    });

    it('reads a rotated token again after a 401', async () => {
      await storeToken('ghp_revoked');
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      await handler(jobEvent(runParams('exec-1')));
      expect(failureMessage()).toContain('HTTP 401');

      await secrets.send(new PutSecretValueCommand({ SecretId: SECRET, SecretString: TOKEN }));
      await handler(jobEvent(runParams('exec-1'), 'job-retry'));

      expect(github().comments(PR)).toHaveLength(1);
      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)[0].args[0].input.jobId).toBe('job-retry');
    });

    it('fails the job with a retry hint when GitHub answers 5xx', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      github().failWith({ status: 502, method: 'POST' });

      await handler(jobEvent(runParams('exec-1')));

      expect(failureMessage()).toBe(
        `GitHubError: GitHub did not answer properly while posting the report on pull request #${PR} ` +
          "(HTTP 502: Server Error - https://docs.github.com/rest); this is on GitHub's or the network's side: " +
          'retry the action',
      );
      expect(github().comments(PR)).toEqual([]);
    });

    it('fails the job naming the secret when it does not exist', async () => {
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));

      await handler(jobEvent(runParams('exec-1')));

      expect(failureMessage()).toBe(
        `cannot read the GitHub token from secret ${SECRET} (ResourceNotFoundException); create it with the ` +
          'GitHub token as its value (github.auth.tokenSecretName (or the older github.tokenSecretName) in ' +
          'config/platform.yaml names it)',
      );
      expect(github().requests).toEqual([]);
    });

    it('fails the job when UserParameters is not the run parameters', async () => {
      await handler(jobEvent({ executionId: 'exec-1', pipeline: 'nightly', commitId: COMMIT }));

      expect(failureMessage()).toMatch(
        /^JobInputError: UserParameters invalid: pipeline: .*; fix the pipeline action$/,
      );
      expect(github().requests).toEqual([]);
    });

    it('posts the short form when the run left no evaluation report', async () => {
      await storeToken(TOKEN);

      await handler(jobEvent(runParams('exec-empty')));

      const [comment] = github().comments(PR);
      expect(comment.body.startsWith(`${MARKER}\n`)).toBe(true);
      expect(comment.body).toContain('**Status: INCOMPLETE**');
      expect(comment.body).toContain(
        `| model evaluation | skipped | no record of this run at s3://${ARTIFACTS}/models/${MODEL}/runs/exec-empty/eval\\_report.json |`,
      );
    });
  });

  describe('on a failed PR pipeline run (EventBridge)', () => {
    function pipelineRun(executionId: string, actions: ActionExecutionDetail[]) {
      codepipeline.on(GetPipelineExecutionCommand).resolves({
        pipelineExecution: {
          pipelineName: PIPELINE,
          pipelineExecutionId: executionId,
          status: 'Failed',
          artifactRevisions: [{ name: 'SourceArtifact', revisionId: COMMIT }],
        },
      });
      // Two pages, to show every action of the run is read.
      codepipeline
        .on(ListActionExecutionsCommand)
        .resolvesOnce({ actionExecutionDetails: actions.slice(0, 1), nextToken: 'page-2' })
        .resolvesOnce({ actionExecutionDetails: actions.slice(1) });
    }

    it('posts the short form naming the failed gate and its whole message', async () => {
      await storeToken(TOKEN);
      pipelineRun('exec-b', [
        action('Source', 'Succeeded'),
        action('CodeQuality', 'Succeeded', { summary: 'Build succeeded' }),
        action('DataValidation', 'Failed', { error: DRIFT_MESSAGE }),
      ]);
      await put(
        artifactKeys.dataValidation(MODEL, 'exec-b'),
        JSON.stringify({
          verdict: 'fail',
          evalSets: [{ evalSet: 'golden_set', valid: false, errors: [DRIFT_MESSAGE] }],
          drift: [
            {
              ...DRIFT[0],
              jsDistance: 0.14,
              passed: false,
              topMovers: [{ value: 'refund', referenceShare: 0.08, currentShare: 0.21, delta: 0.13 }],
            },
          ],
        }),
      );

      const result = await handler(failedRunEvent('exec-b'));

      const [comment] = github().comments(PR);
      expect(comment.body.startsWith(`${MARKER}\n`)).toBe(true);
      expect(comment.body).toContain(
        `**Status: FAIL** · candidate \`${COMMIT}\` · the run stopped at **data validation**`,
      );
      expect(comment.body).toContain(
        "| data validation | **FAIL** | golden\\_set: drift 0.14 &gt; 0.10; label 'refund' 8% → 21% |",
      );
      expect(comment.body).toContain(
        `### Why data validation failed\n\n\`\`\`text\n${DRIFT_MESSAGE}\n\`\`\``,
      );
      expect(comment.body).toContain('| model evaluation | skipped | not run: data validation failed |');
      expect(comment.body).toContain('| regression | skipped | not run: data validation failed |');
      expect(comment.body).toContain(
        '| golden\\_set | label | 0.140 | 0.100 | **FAIL** | refund 8.0% → 21.0% |',
      );
      expect(comment.body).not.toContain('| Source');
      expect(result).toEqual({
        summary: `created the report comment on PR #${PR} (${comment.htmlUrl})`,
        comments: [{ pullRequest: PR, action: 'created', commentId: comment.id, url: comment.htmlUrl }],
      });
      expect(codepipeline.commandCalls(GetPipelineExecutionCommand)[0].args[0].input).toEqual({
        pipelineName: PIPELINE,
        pipelineExecutionId: 'exec-b',
      });
      // The SDK paginator reuses one input object, so every recorded call shows the last page's token.
      const listed = codepipeline.commandCalls(ListActionExecutionsCommand).map((c) => c.args[0].input);
      expect(listed).toHaveLength(2);
      for (const input of listed) {
        expect(input).toMatchObject({ pipelineName: PIPELINE, filter: { pipelineExecutionId: 'exec-b' } });
      }
      expect(codepipeline.commandCalls(PutJobSuccessResultCommand)).toHaveLength(0);
      expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(0);
    });

    it('posts the full report with the failed regression gate when the run got that far', async () => {
      await storeToken(TOKEN);
      const regression = await storeRun('exec-r', fixture('eval_report_regressed.json', COMMIT));
      pipelineRun('exec-r', [
        action('CodeQuality', 'Succeeded'),
        action('DataValidation', 'Succeeded', { summary: '2 eval sets valid' }),
        action('ModelEvaluation', 'Succeeded'),
        action('RegressionGate', 'Failed', { error: regression.summary }),
      ]);

      await handler(failedRunEvent('exec-r'));

      const [comment] = github().comments(PR);
      expect(comment.body).toContain('**Status: FAIL**');
      expect(comment.body).toContain('| Metric | Baseline | Candidate | Delta | Verdict |');
      expect(comment.body).toMatch(/\| regression \| \*\*FAIL\*\* \| .*golden\\_set accuracy/);
      expect(comment.body).toContain('| data validation | pass | 2 eval sets valid |');
    });

    it('throws on a GitHub 5xx so that Lambda retries the event', async () => {
      await storeToken(TOKEN);
      pipelineRun('exec-b', [
        action('CodeQuality', 'Failed', { error: 'Build terminated with state: FAILED' }),
      ]);
      github().failWith({ status: 503, path: /\/pulls$/ });

      await expect(handler(failedRunEvent('exec-b'))).rejects.toThrow(
        /^GitHub did not answer properly while finding the pull requests of commit 3f2a9c1d0e8b \(HTTP 503/,
      );
      expect(github().writes()).toEqual([]);
    });

    it('ignores executions that did not fail', async () => {
      const event = failedRunEvent('exec-s');
      const result = await handler({ ...event, detail: { ...event.detail, state: 'SUCCEEDED' } });

      expect(result).toEqual({
        summary: `pipeline ${PIPELINE} execution is SUCCEEDED, not FAILED; nothing to report`,
        comments: [],
      });
      expect(codepipeline.calls()).toHaveLength(0);
      expect(github().requests).toEqual([]);
    });
  });

  describe('the confidence alarm line', () => {
    const rate = () => requestsPerMinuteOfMonthly(settings.cost.monthlyRequests);
    const keyOf = (monitoring: ReleaseSettings['monitoring']) =>
      alarmCalibrationKey(MODEL, { monitoring, requestsPerMinute: rate() });
    const kept = async (key: string) => {
      const res = await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: key }));
      return res.Body!.transformToString('utf-8');
    };
    const alarmSection = (body: string) => /### Live confidence alarm\n\n([^\n]+)\n/.exec(body)?.[1];
    const refuse: Calibrate = () => {
      throw new Error('the kept calibration should have been read, not simulated again');
    };

    it('is simulated once per alarm definition and traffic and kept in the bucket; a later container reads it', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));

      // The handler's own simulation (calibrateConfidenceAlarm), over a short seeded run.
      await createHandler({ ...deps, calibrationRun: SHORT_RUN })(jobEvent(runParams('exec-1')));

      const line = calibrationLine(shortReport);
      expect(line).toMatch(
        new RegExp(
          `^Confidence alarm at ${rate().toFixed(0)} requests/min: \\d+\\.\\d\\d false rollbacks per 30 days`,
        ),
      );
      expect(alarmSection(github().comments(PR)[0].body)).toBe(escapeMarkdown(line, 500));
      const input = { monitoring: settings.monitoring, requestsPerMinute: rate(), run: SHORT_RUN };
      const key = alarmCalibrationKey(MODEL, input);
      const record = parseAlarmCalibrationRecord(await kept(key), alarmCalibrationHash(input));
      expect(record).toMatchObject({ ok: true, record: { line, run: SHORT_RUN, model: MODEL } });

      // A new container (nothing in memory) renders the same comment from the kept record.
      await createHandler({ ...deps, calibrationRun: SHORT_RUN, calibrate: refuse })(
        jobEvent(runParams('exec-1'), 'job-2'),
      );
      expect(codepipeline.commandCalls(PutJobFailureResultCommand)).toHaveLength(0);
      expect(
        codepipeline.commandCalls(PutJobSuccessResultCommand)[1].args[0].input.executionDetails?.summary,
      ).toMatch(/is already up to date/);
    });

    it("uses mlops calibrate-alarm's run and seed unless told otherwise", async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      // A record kept for the CLI's default run is the one the deployed function reads.
      const input = {
        monitoring: settings.monitoring,
        requestsPerMinute: rate(),
        run: DEFAULT_CALIBRATION_RUN,
      };
      const planted = {
        ...computeAlarmCalibration(MODEL, input, shortCalibrate),
        line: 'kept for the default run',
      };
      await put(alarmCalibrationKey(MODEL, input), JSON.stringify(planted));

      await createHandler({ ...deps, calibrate: refuse })(jobEvent(runParams('exec-1')));

      expect(alarmSection(github().comments(PR)[0].body)).toBe('kept for the default run');
    });

    it('a warm container simulates once for any number of runs', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      await handler(jobEvent(runParams('exec-1')));
      await handler(jobEvent(runParams('exec-1'), 'job-2'));
      expect(calibrations).toBe(1);
    });

    it('a changed alarm definition is simulated again, never given the old figures', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      await handler(jobEvent(runParams('exec-1')));
      const stricter = {
        ...settings.monitoring,
        confidenceStdDevs: settings.monitoring.confidenceStdDevs + 0.5,
      };
      // A new deploy of the settings (a parameter name of its own: the function caches settings by name).
      const redeployed = `${PARAMETER}-redeployed`;
      await new SSMClient(moto.clientConfig).send(
        new PutParameterCommand({
          Name: redeployed,
          Type: 'String',
          Value: JSON.stringify({ ...settings, monitoring: stricter }),
        }),
      );
      process.env.RELEASE_SETTINGS_PARAMETER = redeployed;
      let seen: number | undefined;
      await createHandler({
        ...deps,
        calibrate: (monitoring, requestsPerMinute, run) => {
          seen = monitoring.confidenceStdDevs;
          return shortCalibrate(monitoring, requestsPerMinute, run);
        },
      })(jobEvent(runParams('exec-1'), 'job-2')).finally(() => {
        process.env.RELEASE_SETTINGS_PARAMETER = PARAMETER;
      });
      expect(seen).toBe(stricter.confidenceStdDevs);
      expect(keyOf(stricter)).not.toBe(keyOf(settings.monitoring));
      await expect(kept(keyOf(stricter))).resolves.toContain('"line"');
    });

    it('replaces a kept record it cannot use instead of failing the comment', async () => {
      await storeToken(TOKEN);
      await storeRun('exec-1', fixture('eval_report.json', COMMIT));
      const key = keyOf(settings.monitoring);
      await put(key, '{"version": 1, "line": "truncated');

      await handler(jobEvent(runParams('exec-1')));

      expect(calibrations).toBe(1);
      expect(alarmSection(github().comments(PR)[0].body)).toBe(
        escapeMarkdown(calibrationLine(shortReport), 500),
      );
      const record = parseAlarmCalibrationRecord(
        await kept(key),
        alarmCalibrationHash({
          monitoring: settings.monitoring,
          requestsPerMinute: rate(),
        }),
      );
      expect(record.ok).toBe(true);
    });
  });

  it('rejects an event it does not know, saying what it expected', async () => {
    await expect(handler({ hello: 'world' })).rejects.toThrow(
      'unexpected event (keys: hello); expected a CodePipeline job or an EventBridge "CodePipeline Pipeline ' +
        'Execution State Change" or "CodePipeline Stage Execution State Change" event',
    );
  });
});
