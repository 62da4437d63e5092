import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { JobInputError, jobIdOf } from './codepipeline-job';
import { logger } from './logger';

/** CodePipeline shows at most 5000 characters of a failure message. */
const MAX_MESSAGE = 5000;

export type JobOutcome =
  | {
      readonly status: 'succeeded';
      readonly summary: string;
      readonly outputVariables?: Record<string, string>;
    }
  | { readonly status: 'failed'; readonly message: string }
  | { readonly status: 'in-progress'; readonly continuationToken: string; readonly summary: string };

export async function reportOutcome(
  client: CodePipelineClient,
  jobId: string,
  outcome: JobOutcome,
): Promise<void> {
  if (outcome.status === 'failed') {
    await client.send(
      new PutJobFailureResultCommand({
        jobId,
        failureDetails: { type: 'JobFailed', message: outcome.message.slice(0, MAX_MESSAGE) },
      }),
    );
    return;
  }
  await client.send(
    new PutJobSuccessResultCommand({
      jobId,
      continuationToken: outcome.status === 'in-progress' ? outcome.continuationToken : undefined,
      executionDetails: { summary: outcome.summary.slice(0, 2048) },
      outputVariables: outcome.status === 'succeeded' ? outcome.outputVariables : undefined,
    }),
  );
}

/**
 * Runs one job and always reports its outcome: an exception becomes a failure whose message names
 * what went wrong, so a job never hangs until CodePipeline's 20-minute timeout.
 */
export async function runJob(
  client: CodePipelineClient,
  event: unknown,
  work: () => Promise<JobOutcome>,
): Promise<JobOutcome> {
  const jobId = jobIdOf(event);
  if (!jobId) {
    logger.error('event has no CodePipeline job id; nothing to report to', { event });
    throw new JobInputError('event has no CodePipeline job id');
  }
  let outcome: JobOutcome;
  try {
    outcome = await work();
  } catch (err) {
    const message =
      err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
    logger.error('job failed with an exception', { error: err as Error });
    outcome = { status: 'failed', message };
  }
  logger.info('job outcome', { outcome });
  await reportOutcome(client, jobId, outcome);
  return outcome;
}
