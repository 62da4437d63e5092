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
  return unzipFiles(await downloadArtifact(s3, artifact), artifact, wanted);
}

/** Limits of {@link downloadArtifact} and {@link unzipFiles}. */
export interface ArtifactLimits {
  /** Largest zip read; a larger one is refused by its Content-Length before its body is read. */
  readonly maxZipBytes?: number;
  /** Largest uncompressed file taken from it; a larger one is refused by its declared size before inflating. */
  readonly maxFileBytes?: number;
}

/** The artifact's zip bytes, once, for several {@link unzipFiles} calls. */
export async function downloadArtifact(
  s3: S3Client,
  artifact: ArtifactLocation,
  limits: ArtifactLimits = {},
): Promise<Uint8Array> {
  const where = `input artifact ${artifact.name} (s3://${artifact.bucket}/${artifact.key})`;
  let bytes: Uint8Array;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: artifact.bucket, Key: artifact.key }));
    if (!res.Body) throw new Error('empty body');
    const max = limits.maxZipBytes;
    if (max !== undefined && (res.ContentLength ?? 0) > max) {
      (res.Body as { destroy?: () => void }).destroy?.();
      throw new JobInputError(
        `${where} is ${res.ContentLength} bytes, more than the ${max} this action reads; ` +
          'publish only the report and its predictions files in the evaluation artifact',
      );
    }
    bytes = await res.Body.transformToByteArray();
  } catch (err) {
    if (err instanceof JobInputError) throw err;
    throw new JobInputError(`cannot read ${where}: ${(err as Error).message}`);
  }
  return bytes;
}

/** The files `wanted` of a downloaded artifact; missing files are absent from the result. */
export function unzipFiles(
  bytes: Uint8Array,
  artifact: ArtifactLocation,
  wanted: readonly string[],
  limits: ArtifactLimits = {},
): Map<string, Uint8Array> {
  const normalise = (p: string) => p.replace(/^\.?\//, '');
  const set = new Set(wanted.map(normalise));
  const tooLarge: string[] = [];
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        if (!set.has(normalise(f.name))) return false;
        if (limits.maxFileBytes !== undefined && f.originalSize > limits.maxFileBytes) {
          tooLarge.push(`${f.name} (${f.originalSize} bytes)`);
          return false;
        }
        return true;
      },
    });
  } catch (err) {
    throw new JobInputError(`input artifact ${artifact.name} is not a zip file: ${(err as Error).message}`);
  }
  if (tooLarge.length > 0) {
    throw new JobInputError(
      `input artifact ${artifact.name}: ${tooLarge.join(', ')} larger than the ${limits.maxFileBytes} bytes ` +
        'this action reads from one file',
    );
  }
  return new Map(Object.entries(files).map(([k, v]) => [normalise(k), v]));
}
