/**
 * What the serving handlers (shadow, canary, promotion) share: their environment, their clients,
 * and idempotent SageMaker helpers. Every create is by a deterministic name, so an invocation
 * retried by CodePipeline (or by hand) finds what an earlier one created and checks it is the same.
 */
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  SageMakerClient,
  type CreateEndpointConfigCommandInput,
  type DescribeEndpointCommandOutput,
  type DescribeEndpointConfigCommandOutput,
} from '@aws-sdk/client-sagemaker';
import { z } from 'zod';
import type { CreateModelSpec, EndpointConfigSpec, ServingContext } from '../core/serving/endpoint-spec';
import {
  archiveChecksumProblem,
  archiveUrlProblem,
  publishedArchiveKey,
  type PublishedRecord,
} from '../core/gates/model-publication';
import { parseServingRecord } from '../core/serving/serving-records';
import { gateDeps, type GateDeps } from './gate-deps';
import { parseEnvironment } from './settings';
import { lazy } from './lazy';
import { servingEnvSchema, type ServingEnv } from '../core/contracts/handler-env';

/** Parses the environment; a missing key says the function was deployed without it. */
export function servingEnv(env: NodeJS.ProcessEnv = process.env): ServingEnv {
  return parseEnvironment(servingEnvSchema, env, "ModelEndpoint construct's");
}

export function servingContext(env: ServingEnv): ServingContext {
  return {
    model: env.MODEL_NAME,
    namePrefix: env.SERVING_NAME_PREFIX,
    executionRoleArn: env.EXECUTION_ROLE_ARN,
    kmsKeyArn: env.KMS_KEY_ARN,
    dataCaptureS3Uri: env.DATA_CAPTURE_S3_URI,
    image: env.INFERENCE_IMAGE,
  };
}

export function rollbackAlarmNames(env: ServingEnv): string[] {
  return env.ROLLBACK_ALARMS.split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Clients of the serving handlers; tests pass their own. */
export interface ServingDeps extends GateDeps {
  readonly sagemaker: SageMakerClient;
  readonly cloudwatch: CloudWatchClient;
  readonly autoscaling: ApplicationAutoScalingClient;
}

let defaults: ServingDeps | undefined;

/** Clients created once per container. */
export function servingDeps(): ServingDeps {
  defaults ??= {
    ...gateDeps(),
    sagemaker: lazy(() => new SageMakerClient({})),
    cloudwatch: lazy(() => new CloudWatchClient({})),
    autoscaling: lazy(() => new ApplicationAutoScalingClient({})),
  };
  return defaults;
}

/** A deep copy without readonly: the SDK's input types are mutable. */
function mutable<T>(value: T): unknown {
  return structuredClone(value);
}

/** SageMaker says "not found" as a ValidationException with a message; this recognises it. */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.name === 'ResourceNotFound' || e.name === 'ResourceNotFoundException') return true;
  return e.name === 'ValidationException' && /could not find|does not exist|not found/i.test(e.message ?? '');
}

function isAlreadyExists(error: unknown): boolean {
  const e = error as { name?: string; message?: string } | undefined;
  return (
    e?.name === 'ResourceInUse' ||
    (e?.name === 'ValidationException' && /already exist/i.test(e.message ?? ''))
  );
}

/** DescribeEndpoint, or undefined when the endpoint does not exist. */
export async function describeEndpoint(
  sagemaker: SageMakerClient,
  endpointName: string,
): Promise<DescribeEndpointCommandOutput | undefined> {
  try {
    return await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function describeEndpointConfig(
  sagemaker: SageMakerClient,
  configName: string,
): Promise<DescribeEndpointConfigCommandOutput> {
  return sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
}

/**
 * Creates the model, or checks that the model of that name already has the same image and
 * archive (a retry); a different one is an error, never silently reused.
 */
export async function ensureModel(
  sagemaker: SageMakerClient,
  spec: CreateModelSpec,
): Promise<'created' | 'existed'> {
  try {
    await sagemaker.send(
      new CreateModelCommand({
        ...spec,
        PrimaryContainer: { ...spec.PrimaryContainer },
        Tags: [...spec.Tags],
      }),
    );
    return 'created';
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const existing = await sagemaker.send(new DescribeModelCommand({ ModelName: spec.ModelName }));
  const container = existing.PrimaryContainer;
  if (
    container?.Image !== spec.PrimaryContainer.Image ||
    container?.ModelDataUrl !== spec.PrimaryContainer.ModelDataUrl
  ) {
    throw new Error(
      `SageMaker model ${spec.ModelName} already exists with image ${container?.Image ?? 'none'} and archive ` +
        `${container?.ModelDataUrl ?? 'none'}, not ${spec.PrimaryContainer.Image} and ${spec.PrimaryContainer.ModelDataUrl}; ` +
        'it was made by another run with the same execution id prefix: delete it or rerun the pipeline',
    );
  }
  return 'existed';
}

/** Creates the endpoint config, or checks that the existing one of that name has the same variants. */
export async function ensureEndpointConfig(
  sagemaker: SageMakerClient,
  spec: EndpointConfigSpec,
): Promise<'created' | 'existed'> {
  try {
    await sagemaker.send(new CreateEndpointConfigCommand(mutable(spec) as CreateEndpointConfigCommandInput));
    return 'created';
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const existing = await describeEndpointConfig(sagemaker, spec.EndpointConfigName);
  const summary = (variants: readonly { VariantName?: string; ModelName?: string }[] | undefined) =>
    (variants ?? []).map((v) => `${v.VariantName}:${v.ModelName}`).join(',');
  const want = `${summary(spec.ProductionVariants)}|${summary(spec.ShadowProductionVariants)}`;
  const have = `${summary(existing.ProductionVariants)}|${summary(existing.ShadowProductionVariants)}`;
  if (want !== have) {
    throw new Error(
      `endpoint config ${spec.EndpointConfigName} already exists with variants ${have}, not ${want}; ` +
        'it was made by another run: delete it or rerun the pipeline',
    );
  }
  return 'existed';
}

/**
 * The model archive this run's evaluation build uploaded, from its `model-artifact.json`; a
 * missing record says which stage did not produce it.
 */
export async function readJsonRecord<S extends z.ZodType>(
  deps: Pick<GateDeps, 's3'>,
  bucket: string,
  key: string,
  schema: S,
  missing: string,
): Promise<z.output<S>> {
  const label = `s3://${bucket}/${key}`;
  let text: string;
  try {
    const res = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await res.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchKey' || name === 'NotFound')
      throw new Error(`${label} does not exist: ${missing}`, { cause: error });
    throw new Error(`cannot read ${label}: ${name}: ${(error as Error).message}`, { cause: error });
  }
  return parseServingRecord(schema, text, label);
}

/**
 * Why a SageMaker model must not be created from this release record, or null: the archive must
 * be this model's published, content-addressed object, and S3's SHA-256 of it must be the
 * record's. Checked before every CreateModel (docs/security-production-paths.md).
 */
export async function publishedArchiveProblem(
  deps: Pick<GateDeps, 's3'>,
  bucket: string,
  model: string,
  record: PublishedRecord,
): Promise<string | null> {
  const urlProblem = archiveUrlProblem(record, { bucket, model });
  if (urlProblem !== null) return urlProblem;
  const key = publishedArchiveKey(model, record.sha256);
  let checksum: string | undefined;
  try {
    const head = await deps.s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
    );
    checksum = head.ChecksumSHA256;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NotFound' || name === 'NoSuchKey') {
      return `the published archive s3://${bucket}/${key} does not exist: the PublishModel stage of this run did not publish it; rerun the release`;
    }
    throw error;
  }
  return archiveChecksumProblem(record, checksum);
}
