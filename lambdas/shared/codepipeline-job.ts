/**
 * The CodePipeline "invoke Lambda" job event, parsed, never cast: a malformed event or
 * UserParameters payload becomes a job failure that says what was wrong, not a timeout.
 */
import { z } from 'zod';

const s3Location = z.object({ bucketName: z.string().min(1), objectKey: z.string().min(1) });
const artifact = z.object({
  name: z.string(),
  location: z.object({ type: z.literal('S3'), s3Location }),
});

const jobEventSchema = z.object({
  'CodePipeline.job': z.object({
    id: z.string().min(1),
    accountId: z.string().optional(),
    data: z.object({
      actionConfiguration: z.object({
        configuration: z.object({
          FunctionName: z.string().optional(),
          UserParameters: z.string().optional(),
        }),
      }),
      inputArtifacts: z.array(artifact).default([]),
      outputArtifacts: z.array(artifact).default([]),
      artifactCredentials: z
        .object({ accessKeyId: z.string(), secretAccessKey: z.string(), sessionToken: z.string() })
        .optional(),
      continuationToken: z.string().optional(),
      encryptionKey: z.object({ id: z.string(), type: z.string() }).optional(),
    }),
  }),
});

export interface ArtifactLocation {
  readonly name: string;
  readonly bucket: string;
  readonly key: string;
}

export interface ArtifactCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

export interface CodePipelineJob<P> {
  readonly id: string;
  readonly params: P;
  readonly inputArtifacts: readonly ArtifactLocation[];
  readonly outputArtifacts: readonly ArtifactLocation[];
  /** Short-lived credentials for the pipeline's artifact bucket; never log them. */
  readonly artifactCredentials?: ArtifactCredentials;
  /** Set when CodePipeline re-invokes an action that returned a continuation token. */
  readonly continuationToken?: string;
}

/** A job whose input is unusable: reported as the job's failure message. */
export class JobInputError extends Error {
  override readonly name = 'JobInputError';
}

/** Only the job id, for reporting a failure when the rest of the event is unusable. */
export function jobIdOf(event: unknown): string | undefined {
  const id = (event as { 'CodePipeline.job'?: { id?: unknown } } | null)?.['CodePipeline.job']?.id;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

export function parseJobEvent<S extends z.ZodType>(
  event: unknown,
  paramsSchema: S,
): CodePipelineJob<z.output<S>> {
  const parsed = jobEventSchema.safeParse(event);
  if (!parsed.success) {
    throw new JobInputError(`not a CodePipeline job event (${describeIssues(parsed.error.issues)})`);
  }
  const job = parsed.data['CodePipeline.job'];
  const raw = job.data.actionConfiguration.configuration.UserParameters;
  let json: unknown;
  try {
    json = raw === undefined || raw === '' ? {} : JSON.parse(raw);
  } catch {
    throw new JobInputError(
      `UserParameters is not JSON (got ${JSON.stringify(raw?.slice(0, 200))}); fix the pipeline action`,
    );
  }
  const params = paramsSchema.safeParse(json);
  if (!params.success) {
    throw new JobInputError(
      `UserParameters invalid: ${describeIssues(params.error.issues)}; fix the pipeline action`,
    );
  }
  const location = (a: z.output<typeof artifact>): ArtifactLocation => ({
    name: a.name,
    bucket: a.location.s3Location.bucketName,
    key: a.location.s3Location.objectKey,
  });
  return {
    id: job.id,
    params: params.data,
    inputArtifacts: job.data.inputArtifacts.map(location),
    outputArtifacts: job.data.outputArtifacts.map(location),
    artifactCredentials: job.data.artifactCredentials,
    continuationToken: job.data.continuationToken,
  };
}

/** UserParameters every gate action receives: which run it belongs to, from pipeline variables. */
export const runParamsSchema = z.object({
  /** `#{codepipeline.PipelineExecutionId}` */
  executionId: z.string().min(1),
  /** `pr` or `release` */
  pipeline: z.enum(['pr', 'release']),
  /** `#{SourceVariables.CommitId}` */
  commitId: z.string().min(1),
});
export type RunParams = z.output<typeof runParamsSchema>;
