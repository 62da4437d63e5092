import { createHash } from 'node:crypto';
import {
  CodePipelineClient,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { strToU8, zipSync } from 'fflate';
import { modelArtifactRecordSchema } from '../../lambdas/core/serving/serving-records';
import { createHandler, publishedRecordSchema, type Deps } from '../../lambdas/publish-model';
import { logger } from '../../lambdas/shared/logger';
import { useMoto } from '../helpers/moto';

const JOB_ID = 'publish-job';
const EXECUTION_ID = 'a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const COMMIT = '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483';
const ARTIFACTS = 'mlops-artifacts';
const STAGING = 'mlops-dc-release-artifacts';
const EVAL_OUTPUT_KEY = 'mlops-document-classifi/EvalReport/out.zip';
const STAGED_KEY = `model-staging/${EXECUTION_ID}/model.tar.gz`;
const RECORD_KEY = `models/document-classifier/runs/${EXECUTION_ID}/model-artifact.json`;
const NOW = new Date('2026-12-06T16:00:00.000Z');
const WEIGHTS = 'the weights that were evaluated';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const ARCHIVE_KEY = `models/document-classifier/archives/sha256/${sha(WEIGHTS)}.tar.gz`;

describe('publish-model handler', () => {
  const moto = useMoto();
  const codepipeline = mockClient(CodePipelineClient);
  let s3: S3Client;
  let deps: Deps;

  beforeAll(() => {
    logger.setLogLevel('SILENT');
    process.env.AWS_ENDPOINT_URL = moto.endpoint;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.MODEL_NAME = 'document-classifier';
    process.env.ARTIFACTS_BUCKET = ARTIFACTS;
    process.env.STAGING_BUCKET = STAGING;
    s3 = new S3Client(moto.clientConfig);
    deps = { s3, codepipeline: new CodePipelineClient({ region: 'eu-west-1' }), now: () => NOW };
  });

  beforeEach(async () => {
    codepipeline.reset();
    codepipeline.on(PutJobSuccessResultCommand).resolves({});
    codepipeline.on(PutJobFailureResultCommand).resolves({});
    for (const bucket of [ARTIFACTS, STAGING]) {
      await s3.send(
        new CreateBucketCommand({
          Bucket: bucket,
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      );
      await s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    }
  });

  function jobEvent(commitId = COMMIT) {
    return {
      'CodePipeline.job': {
        id: JOB_ID,
        accountId: '123456789012',
        data: {
          actionConfiguration: {
            configuration: {
              FunctionName: 'mlops-document-classifier-publish-model',
              UserParameters: JSON.stringify({ executionId: EXECUTION_ID, pipeline: 'release', commitId }),
            },
          },
          inputArtifacts: [
            {
              name: 'EvalReport',
              location: { type: 'S3', s3Location: { bucketName: STAGING, objectKey: EVAL_OUTPUT_KEY } },
            },
          ],
          outputArtifacts: [],
        },
      },
    };
  }

  /** What the release's evaluation build leaves: the staged archive and its claim in the output artifact. */
  async function stage(archive: string | undefined, claim: object | string) {
    if (archive !== undefined) {
      await s3.send(new PutObjectCommand({ Bucket: STAGING, Key: STAGED_KEY, Body: archive }));
    }
    const text = typeof claim === 'string' ? claim : JSON.stringify(claim);
    const zip = zipSync({ 'eval_report.json': strToU8('{}'), 'model-claim.json': strToU8(text) });
    await s3.send(new PutObjectCommand({ Bucket: STAGING, Key: EVAL_OUTPUT_KEY, Body: zip }));
  }

  const claimOf = (bytes: string) => ({
    sha256: sha(bytes),
    bytes: Buffer.byteLength(bytes),
    commitId: COMMIT,
  });

  function result() {
    expect(codepipeline.calls()).toHaveLength(1);
    return codepipeline.call(0).args[0].input as {
      failureDetails?: { message: string };
      executionDetails?: { summary: string };
    };
  }

  async function exists(bucket: string, key: string): Promise<boolean> {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  }

  test('publishes the evaluated archive to its content-addressed key, with S3’s SHA-256, and writes the release record', async () => {
    await stage(WEIGHTS, claimOf(WEIGHTS));

    await createHandler(deps)(jobEvent());

    expect(result().executionDetails?.summary).toContain(
      `Published the evaluated archive (${WEIGHTS.length} bytes, SHA-256 ${sha(WEIGHTS)}, commit ${COMMIT}) as s3://${ARTIFACTS}/${ARCHIVE_KEY}`,
    );
    const archive = await s3.send(
      new GetObjectCommand({ Bucket: ARTIFACTS, Key: ARCHIVE_KEY, ChecksumMode: 'ENABLED' }),
    );
    expect(await archive.Body!.transformToString()).toBe(WEIGHTS);
    expect(Buffer.from(archive.ChecksumSHA256!, 'base64').toString('hex')).toBe(sha(WEIGHTS));

    const recordText = await (
      await s3.send(new GetObjectCommand({ Bucket: ARTIFACTS, Key: RECORD_KEY }))
    ).Body!.transformToString();
    const record = publishedRecordSchema.parse(JSON.parse(recordText));
    // The serving stages parse it with their own schema.
    expect(modelArtifactRecordSchema.parse(record)).toMatchObject({
      sha256: sha(WEIGHTS),
      bytes: WEIGHTS.length,
      modelDataUrl: `s3://${ARTIFACTS}/${ARCHIVE_KEY}`,
      commitId: COMMIT,
    });
    expect(record.stagedFrom).toMatch(new RegExp(`^s3://${STAGING}/${STAGED_KEY}\\?versionId=.+`));
    expect(record.publishedAt).toBe(NOW.toISOString());
  });

  test('the staged archive replaced after the build: nothing is published', async () => {
    await stage(WEIGHTS, claimOf(WEIGHTS));
    await s3.send(new PutObjectCommand({ Bucket: STAGING, Key: STAGED_KEY, Body: 'weights from elsewhere' }));

    await createHandler(deps)(jobEvent());

    expect(result().failureDetails?.message).toBe(
      `s3://${STAGING}/${STAGED_KEY} is not what the evaluation build evaluated: it has 22 bytes with SHA-256 ` +
        `${sha('weights from elsewhere')}, the build recorded ${WEIGHTS.length} bytes with SHA-256 ${sha(WEIGHTS)}. ` +
        'Something wrote the staged archive after the build; nothing was published: find out what in the bucket’s ' +
        'access logs, then rerun the release',
    );
    expect(await exists(ARTIFACTS, RECORD_KEY)).toBe(false);
    const published = await s3.send(new ListObjectVersionsCommand({ Bucket: ARTIFACTS, Prefix: 'models/' }));
    expect(published.Versions ?? []).toEqual([]);
  });

  test('a claim for another commit: nothing is published', async () => {
    await stage(WEIGHTS, { ...claimOf(WEIGHTS), commitId: '0000000' });

    await createHandler(deps)(jobEvent());

    expect(result().failureDetails?.message).toBe(
      `the evaluation build claims commit 0000000, but this run releases ${COMMIT}; nothing was published: rerun the release from the start`,
    );
    expect(await exists(ARTIFACTS, ARCHIVE_KEY)).toBe(false);
  });

  test('no staged archive, or no claim: fails saying which and that nothing was published', async () => {
    await stage(undefined, claimOf(WEIGHTS));
    await createHandler(deps)(jobEvent());
    expect(result().failureDetails?.message).toBe(
      `s3://${STAGING}/${STAGED_KEY} does not exist: the release's evaluation build stages the archive there. Nothing was published.`,
    );

    codepipeline.resetHistory();
    const zip = zipSync({ 'eval_report.json': strToU8('{}') });
    await s3.send(new PutObjectCommand({ Bucket: STAGING, Key: EVAL_OUTPUT_KEY, Body: zip }));
    await createHandler(deps)(jobEvent());
    expect(result().failureDetails?.message).toMatch(
      /^model-claim\.json is missing from input artifact EvalReport/,
    );
  });

  test('a malformed claim names the field', async () => {
    await stage(WEIGHTS, { sha256: 'abc', bytes: 3, commitId: COMMIT });
    await createHandler(deps)(jobEvent());
    expect(result().failureDetails?.message).toBe(
      'model-claim.json (artifact EvalReport) is not a model claim (sha256: a SHA-256 digest: 64 lowercase hex digits); nothing was published',
    );
  });
});
