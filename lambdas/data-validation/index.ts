/**
 * Data-validation gate (CodePipeline Lambda invoke action). Reads each eval set's `.dvc` pin and its
 * reference's from the source artifact, streams both datasets from the DVC remote while verifying their
 * md5, checks the schema and the drift against the reference, writes the full report to the artifacts
 * bucket and reports the verdict to CodePipeline.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { artifactKeys, type ReleaseSettings } from '../core/contracts/release-settings';
import type { DriftSummary } from '../core/contracts/records';
import { evaluateDataset, resolveDatasetSchema, type DatasetSchema } from '../core/data/dataset-validation';
import { describeDrift } from '../core/statistics/drift';
import { DvcFileError, resolveDvcPin } from '../core/data/dvc';
import { formatEvalSetFiles, type EvalSetFile } from '../core/data/eval-set-files';
import { artifactClient, findArtifact, readZippedFiles } from '../shared/artifacts';
import { parseJobEvent, runParamsSchema, type RunParams } from '../shared/codepipeline-job';
import { runJob, type JobOutcome } from '../shared/job-result';
import { gateDeps, type GateDeps } from '../shared/gate-deps';
import { logger } from '../shared/logger';
import { putRunRecord } from '../shared/run-records';
import { loadReleaseSettings, requireEnv } from '../shared/settings';
import { evalSetOut, PinnedDatasetError, scanPinnedDataset, type DvcRemote } from './pinned-dataset';
import { DATA_VALIDATION_RECORD_VERSION, type DataValidationRecord, type EvalSetValidation } from './record';

/** Everything external the handler touches, injectable in tests. */
export type Deps = GateDeps;

type EvalSetSettings = ReleaseSettings['evalSets'][number];

/** The handler, over the given clients and clock. */
export function createHandler(deps: Deps) {
  return async (event: unknown, context?: Context): Promise<JobOutcome> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    return runJob(deps.codepipeline, event, async () => {
      const job = parseJobEvent(event, runParamsSchema);
      logger.appendKeys({ executionId: job.params.executionId, jobId: job.id });
      const settings = await loadReleaseSettings(deps.ssm);
      const remote: DvcRemote = {
        bucket: requireEnv('DVC_REMOTE_BUCKET'),
        prefix: process.env.DVC_REMOTE_PREFIX ?? settings.model,
      };
      const artifactsBucket = requireEnv('ARTIFACTS_BUCKET');

      const source = findArtifact(job.inputArtifacts, undefined);
      const wanted = settings.evalSets.flatMap((set) => [set.dvcFile, set.referenceDvcFile]);
      const files = await readZippedFiles(artifactClient(job.artifactCredentials, deps.s3), source, wanted);
      const text = (path: string) => {
        const bytes = files.get(path.replace(/^\.?\//, ''));
        return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
      };

      const schema = resolveDatasetSchema(settings.dataValidation);
      const evalSets: EvalSetValidation[] = [];
      const verifiedFiles: EvalSetFile[] = [];
      for (const set of settings.evalSets) {
        logger.info('validating eval set', { evalSet: set.name });
        evalSets.push(
          await validateEvalSet(deps.s3, remote, set, text, schema, settings.dataValidation, verifiedFiles),
        );
      }

      const record = buildRecord(settings.model, job.params, deps.now(), remote, evalSets);
      if (record.verdict === 'pass') {
        // What the evaluation build fetches: these object versions, checked by SHA-256 (no DVC there).
        // Written before the verdict, so a passed gate always leaves the list behind.
        const filesKey = artifactKeys.evalSetFiles(settings.model, job.params.executionId);
        let listing: string;
        try {
          listing = formatEvalSetFiles(verifiedFiles, [
            `eval-set files verified by the data-validation gate for ${settings.model}, run ${job.params.executionId}`,
            `DVC remote: s3://${remote.bucket}/${remote.prefix}`,
            'sha256, bytes, versionId, key, path (tab-separated)',
          ]);
        } catch (error) {
          return { status: 'failed', message: `${(error as Error).message}` };
        }
        await putRunRecord(deps.s3, artifactsBucket, filesKey, listing, 'eval-set file list');
      }
      const key = artifactKeys.dataValidation(settings.model, job.params.executionId);
      await putRunRecord(
        deps.s3,
        artifactsBucket,
        key,
        `${JSON.stringify(record, null, 2)}\n`,
        'data-validation report',
      );
      const where = `full report: s3://${artifactsBucket}/${key}`;
      if (record.verdict === 'pass') {
        return { status: 'succeeded', summary: [...evalSets.map(passLine), where].join('\n') };
      }
      const errors = evalSets.flatMap((set) => set.errors);
      return { status: 'failed', message: [...errors, where].join('\n') };
    });
  };
}

/**
 * Reads, verifies and judges one eval set; every problem becomes one of its errors, never a throw.
 * The files read (with their object versions and SHA-256) are appended to `files`.
 */
async function validateEvalSet(
  s3: S3Client,
  remote: DvcRemote,
  set: EvalSetSettings,
  text: (path: string) => string | undefined,
  schema: DatasetSchema,
  drift: { readonly driftSignificance?: number; readonly minDriftRows?: number },
  files: EvalSetFile[],
): Promise<EvalSetValidation> {
  const base = { evalSet: set.name, kind: set.kind, maxDrift: set.maxDrift };
  const failed = (error: unknown, partial: Partial<EvalSetValidation> = {}): EvalSetValidation => {
    logger.warn('eval set could not be validated', { evalSet: set.name, error: error as Error });
    return { ...base, ...partial, valid: false, errors: [describeError(set.name, error)] };
  };
  const referenceLabel = `${set.name} reference`;
  let dataset: EvalSetValidation['dataset'];
  try {
    const pin = resolveDvcPin(set.name, set.dvcFile, text(set.dvcFile));
    const out = evalSetOut(set.name, pin);
    const referencePin = resolveDvcPin(referenceLabel, set.referenceDvcFile, text(set.referenceDvcFile));
    const referenceOut = evalSetOut(referenceLabel, referencePin);
    const current = await scanPinnedDataset(s3, remote, set.name, set.dvcFile, out, schema, pin.wdir);
    dataset = current.read;
    files.push(...current.files);
    const reference = await scanPinnedDataset(
      s3,
      remote,
      referenceLabel,
      set.referenceDvcFile,
      referenceOut,
      schema,
      referencePin.wdir,
    );
    files.push(...reference.files);
    const result = evaluateDataset(
      set.name,
      current.scan,
      reference.scan,
      {
        maxDrift: set.maxDrift,
        driftSignificance: drift.driftSignificance,
        minDriftRows: drift.minDriftRows,
      },
      schema.categoricalFields,
    );
    return {
      ...base,
      valid: result.valid,
      errors: result.errors,
      dataset,
      reference: {
        ...reference.read,
        totalRows: reference.scan.totalRows,
        validRows: reference.scan.validRows,
        violations: reference.scan.violations.total,
      },
      result,
    };
  } catch (error) {
    return failed(error, dataset === undefined ? {} : { dataset });
  }
}

/** A failure sentence that starts with the eval set's name, as the core's messages do. */
function describeError(evalSet: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof PinnedDatasetError || /^\S+/.exec(message)?.[0].replace(/:$/, '') === evalSet) {
    return message;
  }
  // DvcFileError starts with the .dvc file; anything else is unexpected, so keep its class name.
  const what = error instanceof DvcFileError || !(error instanceof Error) ? '' : `${error.name}: `;
  return `${evalSet}: ${what}${message}`;
}

/** One line for the success summary, e.g. `golden_set: 5,000 rows, md5 verified; label drift 0.031 <= maxDrift 0.1`. */
function passLine(set: EvalSetValidation): string {
  const rows = set.result?.totalRows.toLocaleString('en-US') ?? '0';
  const drift = (set.result?.drift ?? []).map((report) => describeDrift(report, 1)).join('; ');
  return `${set.evalSet}: ${rows} rows valid, md5 verified; ${drift}`;
}

function buildRecord(
  model: string,
  params: RunParams,
  now: Date,
  remote: DvcRemote,
  evalSets: readonly EvalSetValidation[],
): DataValidationRecord {
  const drift: DriftSummary[] = evalSets.flatMap((set) =>
    (set.result?.drift ?? []).map((report): DriftSummary => ({
      evalSet: report.evalSet,
      field: report.field,
      jsDistance: report.jsDistance,
      threshold: report.threshold,
      passed: report.passed,
      topMovers: report.topMovers,
    })),
  );
  return {
    version: DATA_VALIDATION_RECORD_VERSION,
    model,
    executionId: params.executionId,
    pipeline: params.pipeline,
    commitId: params.commitId,
    generatedAt: now.toISOString(),
    verdict: evalSets.every((set) => set.valid) ? 'pass' : 'fail',
    dvcRemote: `s3://${remote.bucket}/${remote.prefix}`,
    evalSets,
    drift,
  };
}

/** Clients created once per container. */
export const defaultDeps = gateDeps;

export const handler = createHandler(defaultDeps());
