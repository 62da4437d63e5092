/**
 * PublishModel (release pipeline, CodePipeline Lambda invoke action, after the regression gate):
 * the only writer of model archives that SageMaker serves. The evaluation build (team code)
 * staged the archive in the release pipeline's artifact bucket and claimed its SHA-256 in its
 * output artifact; this step hashes the staged object version itself, refuses anything that
 * differs from the claim, copies exactly that version to its content-addressed key in the
 * artifacts bucket, and writes the run's `model-artifact.json`, which the serving stages read.
 * lambdas/core/gates/model-publication.ts says why the published archive cannot change afterwards.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import {
  base64ToHex,
  MAX_COPY_BYTES,
  MODEL_CLAIM_FILE,
  modelClaimSchema,
  publicationProblem,
  publishedArchiveKey,
  stagedArchiveKey,
  type ModelClaim,
} from '../core/gates/model-publication';
import { publishEnvSchema } from '../core/contracts/handler-env';
import { modelArtifactRecordSchema } from '../core/serving/serving-records';
import { artifactClient, findArtifact, readZippedFiles } from '../shared/artifacts';
import { parseJobEvent, runParamsSchema } from '../shared/codepipeline-job';
import { gateDeps, type GateDeps } from '../shared/gate-deps';
import { runJob, type JobOutcome } from '../shared/job-result';
import { logger } from '../shared/logger';
import { putRunRecord } from '../shared/run-records';
import { parseEnvironment } from '../shared/settings';

export type Deps = Pick<GateDeps, 's3' | 'codepipeline' | 'now'>;

/** `model-artifact.json` as this step writes it: the record schema plus where it came from. */
export const publishedRecordSchema = modelArtifactRecordSchema.extend({
  archiveVersionId: z.string().min(1),
  stagedFrom: z.string().min(1),
  publishedAt: z.string().min(1),
});
export type PublishedRecord = z.output<typeof publishedRecordSchema>;

export function createHandler(deps: Deps) {
  return async (event: unknown, context?: Context): Promise<JobOutcome> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    return runJob(deps.codepipeline, event, async () => {
      const job = parseJobEvent(event, runParamsSchema);
      const { executionId, commitId } = job.params;
      logger.appendKeys({ executionId, jobId: job.id });
      const env = parseEnvironment(publishEnvSchema, process.env, "ModelPipeline construct's");

      const input = findArtifact(job.inputArtifacts, undefined);
      const files = await readZippedFiles(artifactClient(job.artifactCredentials, deps.s3), input, [
        MODEL_CLAIM_FILE,
      ]);
      const claimBytes = files.get(MODEL_CLAIM_FILE);
      if (claimBytes === undefined) {
        return failed(
          `${MODEL_CLAIM_FILE} is missing from input artifact ${input.name}: the release's evaluation build writes it ` +
            'after staging the archive. Nothing was published: check the evaluation build log, then rerun the release.',
        );
      }
      const claim = parseClaim(Buffer.from(claimBytes).toString('utf8'), input.name);
      if (typeof claim === 'string') return failed(claim);

      const stagedKey = stagedArchiveKey(executionId);
      const location = `s3://${env.STAGING_BUCKET}/${stagedKey}`;
      const head = await headStaged(deps.s3, env.STAGING_BUCKET, stagedKey);
      if (head === undefined) {
        return failed(
          `${location} does not exist: the release's evaluation build stages the archive there. Nothing was published.`,
        );
      }
      let sha256 = '(not computed)';
      if (head.bytes <= MAX_COPY_BYTES) {
        sha256 = await hashVersion(deps.s3, env.STAGING_BUCKET, stagedKey, head.versionId);
      }
      const problem = publicationProblem(claim, commitId, { location, bytes: head.bytes, sha256 });
      if (problem) return failed(problem);

      // Exactly the version that was hashed: a later write to the staging key makes a new version.
      const key = publishedArchiveKey(env.MODEL_NAME, sha256);
      const copied = await deps.s3.send(
        new CopyObjectCommand({
          Bucket: env.ARTIFACTS_BUCKET,
          Key: key,
          CopySource: `${env.STAGING_BUCKET}/${encodeURIComponent(stagedKey).replace(/%2F/g, '/')}?versionId=${encodeURIComponent(head.versionId)}`,
          // S3 computes the SHA-256 of what it wrote and keeps it with the object: the serving
          // stages compare it with the record before CreateModel.
          // https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      const written = copied.CopyObjectResult?.ChecksumSHA256;
      if (written === undefined || base64ToHex(written) !== sha256) {
        throw new Error(
          `S3 reports SHA-256 ${written === undefined ? 'none' : base64ToHex(written)} for the copy at s3://${env.ARTIFACTS_BUCKET}/${key}, ` +
            `not ${sha256}; the release record was not written, so nothing will serve it`,
        );
      }
      const record: PublishedRecord = {
        sha256,
        bytes: head.bytes,
        modelDataUrl: `s3://${env.ARTIFACTS_BUCKET}/${key}`,
        commitId,
        archiveVersionId: copied.VersionId ?? 'unversioned',
        stagedFrom: `${location}?versionId=${head.versionId}`,
        publishedAt: deps.now().toISOString(),
      };
      const recordKey = `models/${env.MODEL_NAME}/runs/${executionId}/model-artifact.json`;
      await putRunRecord(
        deps.s3,
        env.ARTIFACTS_BUCKET,
        recordKey,
        `${JSON.stringify(record, null, 2)}\n`,
        'release record',
      );
      logger.info('model published', { sha256, bytes: head.bytes, key });
      return {
        status: 'succeeded',
        summary:
          `Published the evaluated archive (${head.bytes} bytes, SHA-256 ${sha256}, commit ${commitId}) as ` +
          `${record.modelDataUrl}; release record s3://${env.ARTIFACTS_BUCKET}/${recordKey}`,
      };
    });
  };
}

function parseClaim(text: string, artifact: string): ModelClaim | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `${MODEL_CLAIM_FILE} (artifact ${artifact}) is not JSON (${(error as Error).message}); nothing was published`;
  }
  const parsed = modelClaimSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return `${MODEL_CLAIM_FILE} (artifact ${artifact}) is not a model claim (${issues}); nothing was published`;
  }
  return parsed.data;
}

async function headStaged(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ versionId: string; bytes: number } | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (!head.VersionId) {
      throw new Error(
        `s3://${bucket}/${key} has no version id: the release artifact bucket must be versioned`,
      );
    }
    return { versionId: head.VersionId, bytes: head.ContentLength ?? 0 };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NotFound' || name === 'NoSuchKey') return undefined;
    throw error;
  }
}

async function hashVersion(s3: S3Client, bucket: string, key: string, versionId: string): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  const hash = createHash('sha256');
  for await (const chunk of res.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function failed(message: string): JobOutcome {
  return { status: 'failed', message };
}

export const handler = createHandler(gateDeps());
