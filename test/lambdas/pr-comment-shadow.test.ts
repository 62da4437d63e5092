import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  ListActionExecutionsCommand,
} from '@aws-sdk/client-codepipeline';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import {
  artifactKeys,
  releaseSettings,
  type ReleaseSettings,
} from '../../lambdas/core/contracts/release-settings';
import { reportMarker } from '../../lambdas/core/gates/report';
import { compareShadow } from '../../lambdas/core/serving/shadow';
import { renderShadowComment, shadowReportMarker } from '../../lambdas/core/serving/shadow-comment';
import type { ShadowReportRecord } from '../../lambdas/core/serving/shadow-report';
import { createHandler, defaultDeps } from '../../lambdas/pr-comment';
import { logger } from '../../lambdas/shared/logger';
import { shippedConfig } from '../helpers/config-fixture';
import { useGitHubDouble } from '../helpers/github-double';
import { useMoto } from '../helpers/moto';

const MODEL = 'document-classifier';
const OWNER = 'example-org';
const REPO = 'document-classifier';
const TOKEN = 'ghp_test_token_0123456789';
const SECRET = 'mlops/github-token';
const PARAMETER = '/mlops/document-classifier/release-settings';
const ARTIFACTS = 'mlops-artifacts';
const PIPELINE = 'mlops-document-classifier-release';
const HEAD = '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483';
const MERGE = '9d8c7b6a59483f2a9c1d0e8b7a6954c3b2a1f0e9';
const PR = 42;
const EXECUTION = 'exec-r7';
const SHADOW_MARKER = shadowReportMarker(MODEL);

function shadowDoneEvent(executionId = EXECUTION, detail: Record<string, unknown> = {}) {
  return {
    version: '0',
    id: 'c1d2e3f4-0000-0000-0000-000000000000',
    source: 'aws.codepipeline',
    account: '123456789012',
    region: 'eu-west-1',
    time: '2026-11-05T11:08:00Z',
    'detail-type': 'CodePipeline Stage Execution State Change',
    detail: {
      pipeline: PIPELINE,
      'execution-id': executionId,
      stage: 'Shadow',
      state: 'SUCCEEDED',
      version: 4,
      ...detail,
    },
  };
}

function comparedRecord(executionId = EXECUTION, agreements = 3757): ShadowReportRecord {
  const side = (records: number, unpaired: number) => ({
    records,
    withoutInferenceId: 0,
    withoutOutput: 0,
    duplicates: 0,
    pairable: records,
    labelled: records,
    unpaired,
  });
  const pairing = {
    pairedOn: 'inferenceId' as const,
    matched: 4120,
    compared: 4120,
    agreements,
    failures: { bothFailed: 0, productionOnly: 0, shadowOnly: 0, neitherFailed: 4120 },
    latency: null,
    production: side(4130, 10),
    shadow: side(4140, 20),
    otherVariant: 0,
  };
  const report = compareShadow({
    production: { invocations: 4200, errors5xx: 4, errors4xx: 21, latencyMs: { p50: 40, p95: 82, p99: 120 } },
    shadow: { invocations: 4150, errors5xx: 19, errors4xx: 20, latencyMs: { p50: 44, p95: 101, p99: 150 } },
    agreement: { agreements, compared: 4120 },
    capture: { agreement: pairing, error: null },
  });
  return {
    schemaVersion: 1,
    model: MODEL,
    executionId,
    endpointName: 'mlops-document-classifier-live',
    status: 'compared',
    candidateModel: 'mlops-document-classifier-exec-r7',
    window: { start: '2026-11-05T10:05:00.000Z', end: '2026-11-05T11:05:00.000Z' },
    productionConfig: 'mlops-document-classifier-1a2b3c4d-live',
    shadowConfig: 'mlops-document-classifier-exec-r7-shadow',
    report,
    metricsError: null,
    capture: {
      location: 's3://capture/document-classifier/mlops-document-classifier-live/',
      filesFound: 2,
      filesRead: 2,
      recordsRead: 8270,
      unparseable: 0,
      unparseableExamples: [],
      capped: false,
      cappedNote: null,
      error: null,
      agreement: pairing,
    },
    summary: 'shadow comparison over 60 min (advisory, never blocks)',
    findings: report.findings.map((f) => f.text),
    writtenAt: '2026-11-05T11:07:00.000Z',
  };
}

describe('pr-comment handler on the release pipeline Shadow stage (EventBridge)', () => {
  const moto = useMoto();
  const github = useGitHubDouble({ owner: OWNER, repo: REPO, token: TOKEN });
  let s3: S3Client;
  let codepipeline: AwsClientStub<CodePipelineClient>;
  let handler: ReturnType<typeof createHandler>;
  let settings: ReleaseSettings;

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
  });

  beforeEach(async () => {
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.GITHUB_API_URL = github().baseUrl;
    s3 = new S3Client(moto.clientConfig);
    const secrets = new SecretsManagerClient(moto.clientConfig);
    const ssm = new SSMClient(moto.clientConfig);
    const pipelineClient = new CodePipelineClient({ region: 'eu-west-1' });
    codepipeline = mockClient(pipelineClient);
    codepipeline.on(GetPipelineExecutionCommand).resolves({
      pipelineExecution: {
        pipelineName: PIPELINE,
        pipelineExecutionId: EXECUTION,
        status: 'InProgress',
        artifactRevisions: [{ name: 'Source', revisionId: MERGE }],
      },
    });
    await s3.send(
      new CreateBucketCommand({
        Bucket: ARTIFACTS,
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    await ssm.send(
      new PutParameterCommand({ Name: PARAMETER, Type: 'String', Value: JSON.stringify(settings) }),
    );
    await secrets.send(new CreateSecretCommand({ Name: SECRET, SecretString: TOKEN }));
    handler = createHandler({ s3, ssm, secrets, codepipeline: pipelineClient, github: defaultDeps().github });
    github().addPullRequest({
      number: PR,
      headSha: HEAD,
      mergedAt: '2026-11-05T09:58:00Z',
      mergeCommitSha: MERGE,
    });
  });

  const storeReport = (record: ShadowReportRecord, executionId = EXECUTION) =>
    s3.send(
      new PutObjectCommand({
        Bucket: ARTIFACTS,
        Key: artifactKeys.shadowReport(MODEL, executionId),
        Body: JSON.stringify(record),
      }),
    );

  it('posts the shadow report on the pull request merged with the released commit', async () => {
    await storeReport(comparedRecord());

    const result = await handler(shadowDoneEvent());

    const comments = github().comments(PR);
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toBe(
      renderShadowComment({ model: MODEL, commit: MERGE, record: comparedRecord() }),
    );
    expect(comments[0].body.split('\n').slice(0, 2)).toEqual([
      '<!-- mlops-shadow-report:document-classifier -->',
      '## Shadow comparison (advisory): document-classifier',
    ]);
    expect(result).toEqual({
      summary: `created the shadow report comment on PR #${PR} (${comments[0].htmlUrl})`,
      comments: [{ pullRequest: PR, action: 'created', commentId: comments[0].id, url: comments[0].htmlUrl }],
    });
    expect(codepipeline.commandCalls(GetPipelineExecutionCommand)[0].args[0].input).toEqual({
      pipelineName: PIPELINE,
      pipelineExecutionId: EXECUTION,
    });
    expect(codepipeline.commandCalls(ListActionExecutionsCommand)).toHaveLength(0);
    expect(github().requests.find((r) => r.path.endsWith('/pulls'))?.path).toBe(
      `/repos/${OWNER}/${REPO}/commits/${MERGE}/pulls`,
    );
  });

  it('updates the same comment on a second run and leaves the gate report comment alone', async () => {
    const gateReport = github().addComment(PR, `${reportMarker(MODEL)}\n## ML release report`, 'mlops-bot');
    await storeReport(comparedRecord());
    await handler(shadowDoneEvent());
    const [, first] = github().comments(PR);
    await storeReport(comparedRecord(EXECUTION, 3000));

    const result = await handler(shadowDoneEvent());

    const comments = github().comments(PR);
    expect(comments.map((c) => c.id)).toEqual([gateReport.id, first.id]);
    expect(comments[0].body).toBe(gateReport.body);
    expect(comments[1].body).toBe(
      renderShadowComment({ model: MODEL, commit: MERGE, record: comparedRecord(EXECUTION, 3000) }),
    );
    expect(comments[1].body).toContain('  - Prediction agreement: 72.8%');
    expect(
      github()
        .writes()
        .map((r) => `${r.method} ${r.path}`),
    ).toEqual([
      `POST /repos/${OWNER}/${REPO}/issues/${PR}/comments`,
      `PATCH /repos/${OWNER}/${REPO}/issues/comments/${first.id}`,
    ]);
    expect(result).toEqual({
      summary: `updated the shadow report comment on PR #${PR} (${first.htmlUrl})`,
      comments: [{ pullRequest: PR, action: 'updated', commentId: first.id, url: first.htmlUrl }],
    });
  });

  it('posts one line for a skipped report', async () => {
    await storeReport({
      schemaVersion: 1,
      model: MODEL,
      executionId: EXECUTION,
      endpointName: 'mlops-document-classifier-live',
      status: 'skipped',
      reason: 'first release of the model: no live endpoint to shadow',
      summary: 'shadow skipped: first release',
      findings: [],
      writtenAt: '2026-11-05T11:07:00.000Z',
    });

    await handler(shadowDoneEvent());

    expect(
      github()
        .comments(PR)
        .map((c) => c.body),
    ).toEqual([
      `${SHADOW_MARKER}\n**Shadow comparison (advisory): document-classifier**: skipped for release \`${EXECUTION}\` ` +
        '(first release of the model: no live endpoint to shadow); it never blocks a release.\n',
    ]);
  });

  it('posts nothing when no pull request was merged with the commit', async () => {
    github().reset();
    github().addPullRequest({ number: 7, headSha: MERGE }); // open, not merged
    github().addPullRequest({
      number: 8,
      headSha: HEAD,
      mergedAt: '2026-11-05T09:58:00Z',
      mergeCommitSha: MERGE,
      base: 'develop',
    });
    await storeReport(comparedRecord());

    const result = await handler(shadowDoneEvent());

    expect(result).toEqual({
      summary: `no pull request merged into main of ${OWNER}/${REPO} has commit ${MERGE.slice(0, 12)}; shadow report not posted`,
      comments: [],
    });
    expect(github().writes()).toEqual([]);
  });

  it('posts nothing when the execution wrote no shadow report', async () => {
    const result = await handler(shadowDoneEvent('exec-none'));

    expect(result).toEqual({
      summary:
        `execution exec-none of pipeline ${PIPELINE} wrote no shadow report at ` +
        `s3://${ARTIFACTS}/${artifactKeys.shadowReport(MODEL, 'exec-none')}; nothing posted`,
      comments: [],
    });
    expect(github().requests).toEqual([]);
  });

  it('posts nothing, and says why, when the shadow report is not a valid record', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: ARTIFACTS,
        Key: artifactKeys.shadowReport(MODEL, EXECUTION),
        Body: JSON.stringify({ ...comparedRecord(), status: 'maybe' }),
      }),
    );

    const result = await handler(shadowDoneEvent());

    expect(result).toEqual({
      summary: expect.stringMatching(
        new RegExp(
          `^the shadow report of execution ${EXECUTION} of pipeline ${PIPELINE} cannot be read \\(s3://${ARTIFACTS}/` +
            `models/${MODEL}/runs/${EXECUTION}/shadow-report\\.json is not a valid record: status: .+\\); nothing posted$`,
        ),
      ),
      comments: [],
    });
    expect(github().requests).toEqual([]);
  });

  it('ignores other stages and states without reading anything', async () => {
    const result = await handler(shadowDoneEvent(EXECUTION, { stage: 'Canary' }));

    expect(result).toEqual({
      summary: `stage Canary of pipeline ${PIPELINE} is SUCCEEDED, not Shadow SUCCEEDED; nothing to report`,
      comments: [],
    });
    expect(codepipeline.calls()).toHaveLength(0);
    expect(github().requests).toEqual([]);
  });

  it('throws on a GitHub 5xx so that Lambda retries the event', async () => {
    await storeReport(comparedRecord());
    github().failWith({ status: 503, path: /\/pulls$/ });

    await expect(handler(shadowDoneEvent())).rejects.toThrow(
      `GitHub did not answer properly while finding the pull request merged with commit ${MERGE.slice(0, 12)} ` +
        "(HTTP 503: Service Unavailable - https://docs.github.com/rest); this is on GitHub's or the network's side: retry the action",
    );
    expect(github().writes()).toEqual([]);
  });
});
