import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { unzipSync } from 'fflate';
import type { ArtifactCredentials, ArtifactLocation } from './codepipeline-job';
import { JobInputError } from './codepipeline-job';

/** An S3 client for the pipeline's artifact bucket, with the job's own short-lived credentials. */
export function artifactClient(credentials: ArtifactCredentials | undefined, fallback: S3Client): S3Client {
  return credentials ? new S3Client({ credentials }) : fallback;
}

export function findArtifact(
  artifacts: readonly ArtifactLocation[],
  name: string | undefined,
): ArtifactLocation {
  const artifact = name ? artifacts.find((a) => a.name === name) : artifacts[0];
  if (!artifact) {
    const got = artifacts.map((a) => a.name).join(', ') || 'none';
    throw new JobInputError(
      `input artifact ${name ?? '(any)'} is missing (got: ${got}); fix the pipeline action's inputs`,
    );
  }
  return artifact;
}

/**
 * Reads the files `wanted` from a zipped pipeline artifact. Missing files are absent from the
 * result: the caller decides whether that is an error and says which file in which artifact.
 */
export async function readZippedFiles(
  s3: S3Client,
  artifact: ArtifactLocation,
  wanted: readonly string[],
): Promise<Map<string, Uint8Array>> {
  let bytes: Uint8Array;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: artifact.bucket, Key: artifact.key }));
    if (!res.Body) throw new Error('empty body');
    bytes = await res.Body.transformToByteArray();
  } catch (err) {
    throw new JobInputError(
      `cannot read input artifact ${artifact.name} (s3://${artifact.bucket}/${artifact.key}): ${(err as Error).message}`,
    );
  }
  const normalise = (p: string) => p.replace(/^\.?\//, '');
  const set = new Set(wanted.map(normalise));
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => set.has(normalise(f.name)) });
  } catch (err) {
    throw new JobInputError(`input artifact ${artifact.name} is not a zip file: ${(err as Error).message}`);
  }
  return new Map(Object.entries(files).map(([k, v]) => [normalise(k), v]));
}
