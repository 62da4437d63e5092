/**
 * PR comment: posts the release report of a PR pipeline run to its pull request, updating the comment it
 * posted before (found by its hidden marker) instead of adding another.
 *
 * Invoked two ways:
 * - as the PR pipeline's last action (CodePipeline job; UserParameters = runParamsSchema), when every gate
 *   passed: the gates come from the records the run wrote, and the outcome goes back to CodePipeline;
 * - by an EventBridge rule on the PR pipeline's FAILED executions, so the author sees why a gate stopped the
 *   run: the gates come from CodePipeline's action executions, and errors are thrown so that Lambda's
 *   asynchronous retries apply;
 * - by an EventBridge rule on the release pipeline's Shadow stage SUCCEEDED: the shadow stage's advisory
 *   report (shadow-report.json) goes onto the merged pull request as a second sticky comment, with its own
 *   marker, so the gate report comment is never touched.
 */
import {
  CodePipelineClient,
  GetPipelineExecutionCommand,
  paginateListActionExecutions,
  type ActionExecutionDetail,
} from '@aws-sdk/client-codepipeline';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Octokit } from '@octokit/rest';
import { z } from 'zod';
import { artifactKeys } from '../core/contracts/release-settings';
import type { CalibrationRunOptions } from '../core/monitoring/confidence-alarm';
import { authSecretName } from '../core/gates/github-auth';
import { reportMarker } from '../core/gates/report';
import { renderShadowComment, shadowReportMarker } from '../core/serving/shadow-comment';
import { shadowReportRecordSchema } from '../core/serving/shadow-report';
import { parseServingRecord } from '../core/serving/serving-records';
import { parseJobEvent, runParamsSchema } from '../shared/codepipeline-job';
import { runJob, type JobOutcome } from '../shared/job-result';
import { logger } from '../shared/logger';
import { loadReleaseSettings, requireEnv } from '../shared/settings';
import { deployedAlarmCalibration, type Calibrate } from './alarm-calibration';
import { renderRunComment } from './body';
import { gatesFromActionExecutions, gatesFromRecords, type GateReport } from './gates';
import {
  createGitHubClient,
  createCredentials,
  describeGitHubError,
  findMergedPullRequests,
  findOpenPullRequests,
  upsertComment,
  type PostedComment,
} from './github';
import { loadRunRecords, readRecord, type RunRecords } from './records';
import { lazy } from '../shared/lazy';

export { PR_PIPELINE_GATES, type GateActionName } from './gates';

/** Everything external the handler talks to. */
export interface Deps {
  readonly s3: S3Client;
  readonly ssm: SSMClient;
  readonly secrets: SecretsManagerClient;
  readonly codepipeline: CodePipelineClient;
  /**
   * Builds the GitHub client for a token.
   * @default - Octokit against GITHUB_API_URL (else https://api.github.com) with a request timeout
   */
  readonly github: (token: string) => Octokit;
  /** Epoch milliseconds, for the GitHub App JWT and the installation token's expiry. @default Date.now */
  readonly now?: () => number;
  /**
   * The confidence alarm's calibration (seconds of simulation), run only when the artifacts bucket
   * keeps none for the deployed alarm definition and traffic (./alarm-calibration.ts).
   * @default calibrateConfidenceAlarm
   */
  readonly calibrate?: Calibrate;
  /**
   * The size and seed of that simulation; part of the kept record's key.
   * @default DEFAULT_CALIBRATION_RUN (what `mlops calibrate-alarm` runs, so both print the same figures)
   */
  readonly calibrationRun?: CalibrationRunOptions;
}

/** What one invocation did. */
export interface PrCommentResult {
  /** One line for a person, also the CodePipeline action's summary. */
  readonly summary: string;
  readonly comments: readonly PostedComment[];
}

/** EventBridge's event for a pipeline execution that changed state (the rule sends only FAILED). */
const pipelineStateChangeSchema = z.object({
  source: z.literal('aws.codepipeline'),
  'detail-type': z.literal('CodePipeline Pipeline Execution State Change'),
  detail: z.object({
    pipeline: z.string().min(1),
    'execution-id': z.string().min(1),
    state: z.string(),
  }),
});

/** EventBridge's event for a pipeline stage that changed state (the rule sends only Shadow SUCCEEDED). */
const stageStateChangeSchema = z.object({
  source: z.literal('aws.codepipeline'),
  'detail-type': z.literal('CodePipeline Stage Execution State Change'),
  detail: z.object({
    pipeline: z.string().min(1),
    'execution-id': z.string().min(1),
    stage: z.string(),
    state: z.string(),
  }),
});

/** Clients for the Lambda runtime, created once per container. */
export function defaultDeps(): Deps {
  return {
    s3: lazy(() => new S3Client({})),
    ssm: lazy(() => new SSMClient({})),
    secrets: lazy(() => new SecretsManagerClient({})),
    codepipeline: lazy(() => new CodePipelineClient({})),
    github: (token) => createGitHubClient(token),
  };
}

/** The handler over injected clients. */
export function createHandler(deps: Deps): (event: unknown) => Promise<JobOutcome | PrCommentResult> {
  const tokens = createCredentials(deps.secrets, { client: deps.github, now: deps.now });
  // Alarm calibration lines by key, for the life of the container.
  const calibrations = new Map<string, string>();

  /** The GitHub client, and a wrapper that turns GitHub failures into messages for a person. */
  async function gitHubSession(settings: Awaited<ReturnType<typeof loadReleaseSettings>>) {
    const repo = settings.repository;
    const secretName = authSecretName(settings.github.auth);
    const github = deps.github(await tokens.get(settings.github.auth, repo));
    const call = async <T>(doing: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (err) {
        const error = describeGitHubError(err, doing, repo, secretName);
        if (error.status === 401 || error.status === 403) tokens.forget();
        throw error;
      }
    };
    return { github, call };
  }

  /** The source commit of a pipeline execution; undefined when it failed before fetching its source. */
  async function executionCommit(pipeline: string, executionId: string): Promise<string | undefined> {
    const where = `execution ${executionId} of pipeline ${pipeline}`;
    const execution = await describeAws(where, 'codepipeline:GetPipelineExecution', () =>
      deps.codepipeline.send(
        new GetPipelineExecutionCommand({ pipelineName: pipeline, pipelineExecutionId: executionId }),
      ),
    );
    return execution.pipelineExecution?.artifactRevisions?.[0]?.revisionId;
  }

  /** Renders the run's comment and upserts it on every open pull request of the commit. */
  async function postReport(
    executionId: string,
    commit: string,
    gatesFor: (records: RunRecords) => GateReport[],
  ): Promise<PrCommentResult> {
    const settings = await loadReleaseSettings(deps.ssm);
    const bucket = requireEnv('ARTIFACTS_BUCKET');
    const records = await loadRunRecords(deps.s3, bucket, settings.model, executionId);
    const alarm = await deployedAlarmCalibration(
      deps.s3,
      bucket,
      settings,
      calibrations,
      deps.calibrate,
      deps.calibrationRun,
    );
    logger.info('alarm calibration', { source: alarm.source, key: alarm.key });
    const body = renderRunComment({
      costBasis: {
        evalSet: settings.evalSets.find((set) => set.kind === 'production-like')?.name,
        monthlyRequests: settings.cost.monthlyRequests,
        pricingAsOf: settings.pricing.asOf,
      },
      model: settings.model,
      commit,
      executionId,
      records,
      gates: gatesFor(records),
      alarmCalibration: alarm.line,
    });
    const repo = settings.repository;
    const { github, call } = await gitHubSession(settings);

    const short = commit.slice(0, 12);
    const pulls = await call(`finding the pull requests of commit ${short}`, () =>
      findOpenPullRequests(github, repo, commit),
    );
    if (pulls.length === 0) {
      const summary = `no open pull request into ${repo.branch} of ${repo.owner}/${repo.name} has commit ${short}; nothing posted`;
      logger.info(summary, { commit });
      return { summary, comments: [] };
    }
    const comments: PostedComment[] = [];
    for (const pr of pulls) {
      comments.push(
        await call(`posting the report on pull request #${pr.number}`, () =>
          upsertComment(github, repo, pr.number, reportMarker(settings.model), body),
        ),
      );
      logger.info('report comment posted', { ...comments[comments.length - 1] });
    }
    const summary = comments
      .map((c) =>
        c.action === 'unchanged'
          ? `the report comment on PR #${c.pullRequest} is already up to date (${c.url})`
          : `${c.action} the report comment on PR #${c.pullRequest} (${c.url})`,
      )
      .join('; ');
    return { summary, comments };
  }

  async function onJob(event: unknown): Promise<JobOutcome> {
    return runJob(deps.codepipeline, event, async () => {
      const job = parseJobEvent(event, runParamsSchema);
      logger.appendKeys({ executionId: job.params.executionId });
      const result = await postReport(job.params.executionId, job.params.commitId, gatesFromRecords);
      return { status: 'succeeded', summary: result.summary };
    });
  }

  async function onPipelineFailure(
    event: z.output<typeof pipelineStateChangeSchema>,
  ): Promise<PrCommentResult> {
    const { pipeline, 'execution-id': executionId, state } = event.detail;
    logger.appendKeys({ executionId });
    if (state !== 'FAILED') {
      const summary = `pipeline ${pipeline} execution is ${state}, not FAILED; nothing to report`;
      logger.info(summary);
      return { summary, comments: [] };
    }
    const where = `execution ${executionId} of pipeline ${pipeline}`;
    const commit = await executionCommit(pipeline, executionId);
    if (!commit) {
      const summary = `${where} has no source revision (it failed before its source was fetched); nothing to report`;
      logger.warn(summary);
      return { summary, comments: [] };
    }
    const actions = await describeAws(where, 'codepipeline:ListActionExecutions', async () => {
      const all: ActionExecutionDetail[] = [];
      const pages = paginateListActionExecutions(
        { client: deps.codepipeline },
        { pipelineName: pipeline, filter: { pipelineExecutionId: executionId } },
      );
      for await (const page of pages) all.push(...(page.actionExecutionDetails ?? []));
      return all;
    });
    const result = await postReport(executionId, commit, () => gatesFromActionExecutions(actions));
    logger.info('reported the failed run', { summary: result.summary });
    return result;
  }

  /** Posts the shadow stage's advisory report on the pull request the released commit was merged with. */
  async function onShadowDone(event: z.output<typeof stageStateChangeSchema>): Promise<PrCommentResult> {
    const { pipeline, 'execution-id': executionId, stage, state } = event.detail;
    logger.appendKeys({ executionId });
    if (stage !== 'Shadow' || state !== 'SUCCEEDED') {
      const summary = `stage ${stage} of pipeline ${pipeline} is ${state}, not Shadow SUCCEEDED; nothing to report`;
      logger.info(summary);
      return { summary, comments: [] };
    }
    const where = `execution ${executionId} of pipeline ${pipeline}`;
    const commit = await executionCommit(pipeline, executionId);
    if (!commit) {
      const summary = `${where} has no source revision; no pull request to post the shadow report on`;
      logger.warn(summary);
      return { summary, comments: [] };
    }
    const settings = await loadReleaseSettings(deps.ssm);
    const repo = settings.repository;
    const short = commit.slice(0, 12);
    const record = await readRecord(
      deps.s3,
      requireEnv('ARTIFACTS_BUCKET'),
      artifactKeys.shadowReport(settings.model, executionId),
      (text, label) => parseServingRecord(shadowReportRecordSchema, text, label),
    );
    if (record.state !== 'present') {
      const summary =
        record.state === 'missing'
          ? `${where} wrote no shadow report at ${record.where}; nothing posted`
          : `the shadow report of ${where} cannot be read (${record.problem}); nothing posted`;
      if (record.state === 'missing') logger.warn(summary);
      else logger.error(summary);
      return { summary, comments: [] };
    }
    const { github, call } = await gitHubSession(settings);
    const pulls = await call(`finding the pull request merged with commit ${short}`, () =>
      findMergedPullRequests(github, repo, commit),
    );
    if (pulls.length === 0) {
      const summary = `no pull request merged into ${repo.branch} of ${repo.owner}/${repo.name} has commit ${short}; shadow report not posted`;
      logger.info(summary, { commit });
      return { summary, comments: [] };
    }
    const body = renderShadowComment({ model: settings.model, commit, record: record.value });
    const comments: PostedComment[] = [];
    for (const pr of pulls) {
      comments.push(
        await call(`posting the shadow report on pull request #${pr.number}`, () =>
          upsertComment(github, repo, pr.number, shadowReportMarker(settings.model), body),
        ),
      );
      logger.info('shadow report comment posted', { ...comments[comments.length - 1] });
    }
    const summary = comments
      .map((c) =>
        c.action === 'unchanged'
          ? `the shadow report comment on PR #${c.pullRequest} is already up to date (${c.url})`
          : `${c.action} the shadow report comment on PR #${c.pullRequest} (${c.url})`,
      )
      .join('; ');
    return { summary, comments };
  }

  return async (event: unknown) => {
    logger.resetKeys();
    if (event !== null && typeof event === 'object' && 'CodePipeline.job' in event) return onJob(event);
    const change = pipelineStateChangeSchema.safeParse(event);
    if (change.success) return onPipelineFailure(change.data);
    const stageChange = stageStateChangeSchema.safeParse(event);
    if (stageChange.success) return onShadowDone(stageChange.data);
    const keys = event !== null && typeof event === 'object' ? Object.keys(event).join(', ') : typeof event;
    throw new Error(
      `unexpected event (keys: ${keys || 'none'}); expected a CodePipeline job or an EventBridge ` +
        '"CodePipeline Pipeline Execution State Change" or "CodePipeline Stage Execution State Change" event',
    );
  };
}

async function describeAws<T>(where: string, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const name = (err as Error).name;
    const hint = /AccessDenied/.test(name) ? `; the function's role needs ${action} on the pipeline` : '';
    throw new Error(`cannot read ${where} (${name}: ${(err as Error).message})${hint}`, { cause: err });
  }
}

export const handler = createHandler(defaultDeps());
