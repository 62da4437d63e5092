/**
 * The records the serving stages leave in the artifacts bucket, and what the next stage (or the
 * rollback of the monitoring issue) reads back. Each is validated on write and on read, so a
 * stage never acts on a record it misunderstands.
 *
 * - `runs/<execution>/model-artifact.json`: written by the evaluation build (release pipeline):
 *   the archive that was evaluated, which is the archive that ships.
 * - `runs/<execution>/shadow-report.json`: the shadow stage's advisory report.
 * - `runs/<execution>/canary.json`: what the canary stage did to the live endpoint.
 * - `serving/state.json`: what serves now (live) and what waits warm (standby); promotion
 *   writes it, rollback reads it.
 */
import { z } from 'zod';

export const SERVING_RECORD_SCHEMA_VERSION = 1;

const nonEmpty = z.string().regex(/\S/, { error: 'a non-empty string' });
const sageMakerName = z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, {
  error: 'a SageMaker name: 1-63 letters, digits and hyphens, not starting or ending with "-"',
});
const isoTime = z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time with a time zone' });

/** Written by the evaluation build next to the uploaded `model.tar.gz`. */
export const modelArtifactRecordSchema = z.object({
  /** SHA-256 of the archive, lowercase hex, computed by the build before upload. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'a SHA-256 digest: 64 lowercase hex digits' }),
  /** Size of the archive in bytes. */
  bytes: z.number().int().positive(),
  /** `s3://<artifacts bucket>/models/<model>/runs/<execution>/model.tar.gz` */
  modelDataUrl: z
    .string()
    .regex(/^s3:\/\/[^/]+\/.+\.tar\.gz$/, { error: 'an s3:// URL of a .tar.gz archive' }),
  /** The commit the archive was built from. */
  commitId: nonEmpty,
});
export type ModelArtifactRecord = z.output<typeof modelArtifactRecordSchema>;

/** The canary stage's record of one release attempt on the live endpoint. */
export const canaryRecordSchema = z.strictObject({
  schemaVersion: z.literal(SERVING_RECORD_SCHEMA_VERSION),
  model: nonEmpty,
  executionId: nonEmpty,
  modelVersion: nonEmpty,
  endpointName: sageMakerName,
  candidateModelName: sageMakerName,
  candidateConfigName: sageMakerName,
  /** The config that served before; null when this release created the live endpoint. */
  previousConfigName: sageMakerName.nullable(),
  /** `live`: the candidate's config is in service. `rolled-back`/`failed`: it is not. */
  outcome: z.enum(['live', 'rolled-back', 'failed']),
  detail: z.string(),
  /** Auto-rollback alarms seen in ALARM during the update. */
  alarmsSeen: z.array(nonEmpty),
  startedAt: isoTime,
  finishedAt: isoTime,
});
export type CanaryRecord = z.output<typeof canaryRecordSchema>;

const servedModel = z.strictObject({
  endpointName: sageMakerName,
  /** The endpoint config in service on that endpoint. */
  configName: sageMakerName,
  modelName: sageMakerName,
  /** The model version (usually the commit) as in its eval report. */
  modelVersion: nonEmpty,
  /** The pipeline execution that released it. */
  executionId: nonEmpty,
});

/** What serves now, and what a rollback returns to. */
export const servingStateSchema = z.strictObject({
  schemaVersion: z.literal(SERVING_RECORD_SCHEMA_VERSION),
  model: nonEmpty,
  live: servedModel,
  /**
   * The previous model, warm on the standby endpoint, and `liveConfigName`: its config on the live
   * endpoint, which a rollback puts back. Null until the second release.
   */
  standby: servedModel.extend({ liveConfigName: sageMakerName }).nullable(),
  updatedAt: isoTime,
  updatedBy: nonEmpty,
});
export type ServingState = z.output<typeof servingStateSchema>;

/** Thrown when a stored record does not parse; says which record and what is wrong. */
export class ServingRecordError extends Error {
  override readonly name = 'ServingRecordError';
}

/** Parses a record's JSON text with its schema; `label` (usually its s3:// URL) starts every message. */
export function parseServingRecord<S extends z.ZodType>(schema: S, text: string, label: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ServingRecordError(`${label} is not JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ServingRecordError(`${label} is not a valid record: ${problems.join('; ')}`);
  }
  return parsed.data;
}
