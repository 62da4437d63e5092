/**
 * What promotion reads of the run's records, and the release record's evidence built from them:
 * the eval set hashes (the eval report's, cross-checked against what data validation verified) and
 * every gate's decision. Reading is all done before anything is changed, so a record that is
 * missing or contradicts another stops the stage with nothing written.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { artifactKeys } from '../core/contracts/release-settings';
import { parseEvalReport, type EvalReport } from '../core/gates/eval-report';
import type { GateDecision } from '../core/serving/promotion';
import {
  modelArtifactRecordSchema,
  parseServingRecord,
  type CanaryRecord,
} from '../core/serving/serving-records';
import { shadowReportRecordSchema } from '../core/serving/shadow-report';
import { readJsonRecord } from '../shared/serving';
import { StageFailure } from './failure';

/** The text of an object, or undefined when it does not exist. Any other error throws, naming the object. */
export async function readOptionalText(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<string | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await res.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
    throw new Error(
      `cannot read s3://${bucket}/${key}: ${name}: ${(error as Error).message}; check the function's permissions ` +
        '(s3:GetObject on the object, kms:Decrypt on the bucket key, and s3:ListBucket, without which S3 answers ' +
        'AccessDenied for an object that does not exist), then retry the stage',
      { cause: error },
    );
  }
}

// Only what promotion reads of lambdas/data-validation/record.ts (DataValidationRecord).
const dataValidationRecordSchema = z.object({
  version: z.literal(1),
  verdict: z.enum(['pass', 'fail']),
  evalSets: z.array(
    z.object({
      evalSet: z.string(),
      valid: z.boolean(),
      errors: z.array(z.string()),
      /** Absent when the eval set's data could not be read. */
      dataset: z.object({ md5: z.string() }).optional(),
    }),
  ),
});
type DataValidationRecord = z.output<typeof dataValidationRecordSchema>;

// Only what promotion reads of lambdas/regression-gate/record.ts (RegressionDecision).
const regressionDecisionSchema = z.object({
  verdict: z.enum(['pass', 'fail']),
  regression: z.object({ summary: z.string() }),
});

/** Everything of the run that the release record states, read and cross-checked. */
export interface ReleaseEvidence {
  readonly evalReport: EvalReport;
  readonly evalSetMd5s: Readonly<Record<string, string>>;
  readonly modelArtifactSha256: string;
  readonly decisions: readonly GateDecision[];
}

/**
 * Reads the evaluation, data-validation, regression-gate and shadow records of the run. Throws
 * (StageFailure or a record error) when one that promotion needs is missing or they disagree.
 */
export async function readReleaseEvidence(
  s3: S3Client,
  bucket: string,
  model: string,
  executionId: string,
  canary: CanaryRecord,
  notPromoted: string,
): Promise<ReleaseEvidence> {
  const url = (key: string) => `s3://${bucket}/${key}`;
  const required = async (key: string, producer: string): Promise<string> => {
    const text = await readOptionalText(s3, bucket, key);
    if (text === undefined) {
      throw new StageFailure(
        `${url(key)} does not exist: ${producer} of this run left no record; ${notPromoted}`,
      );
    }
    return text;
  };

  const reportKey = artifactKeys.evalReport(model, executionId);
  const evalReport = parseEvalReport(
    await required(reportKey, 'the regression gate (which keeps the copy of the eval report)'),
    url(reportKey),
  );
  const validationKey = artifactKeys.dataValidation(model, executionId);
  const validation = parseServingRecord(
    dataValidationRecordSchema,
    await required(validationKey, 'the data-validation stage'),
    url(validationKey),
  );
  const decisionKey = artifactKeys.decision(model, executionId);
  const decision = parseServingRecord(
    regressionDecisionSchema,
    await required(decisionKey, 'the regression gate'),
    url(decisionKey),
  );
  const artifact = await readJsonRecord(
    { s3 },
    bucket,
    artifactKeys.modelArtifact(model, executionId),
    modelArtifactRecordSchema,
    `the evaluation build of this run left no hash of the model archive; ${notPromoted}`,
  );

  const disagreements = md5Disagreements(evalReport, validation);
  if (disagreements.length > 0) {
    throw new StageFailure(
      `Promotion refused: the eval report (${url(reportKey)}) and the data-validation record ` +
        `(${url(validationKey)}) of this run disagree on the eval set data, so the model may have been ` +
        `evaluated on data that was not validated: ${disagreements.join('; ')}. ${notPromoted} Find why ` +
        'the evaluation read other data than data validation (a .dvc pin changed between the stages?), then ' +
        'release again.',
    );
  }

  return {
    evalReport,
    evalSetMd5s: Object.fromEntries(
      Object.entries(evalReport.evalSets).map(([set, m]) => [set, m.datasetMd5]),
    ),
    modelArtifactSha256: artifact.sha256,
    decisions: [
      dataValidationDecision(validation, url(validationKey)),
      { gate: 'regression-gate', verdict: decision.verdict, detail: decision.regression.summary },
      await shadowDecision(s3, bucket, artifactKeys.shadowReport(model, executionId)),
      {
        gate: 'canary',
        verdict: 'pass',
        detail: canary.detail.trim() || `the candidate config "${canary.candidateConfigName}" is in service`,
      },
    ],
  };
}

/** Every eval set whose md5 the eval report and data validation do not both state the same way. */
function md5Disagreements(report: EvalReport, validation: DataValidationRecord): string[] {
  const validated = new Map(validation.evalSets.map((s) => [s.evalSet, s]));
  const problems: string[] = [];
  for (const [set, metrics] of Object.entries(report.evalSets)) {
    const checked = validated.get(set);
    if (checked === undefined) {
      problems.push(`${set}: in the eval report (dataset_md5 ${metrics.datasetMd5}) but not validated`);
    } else if (checked.dataset === undefined) {
      problems.push(
        `${set}: the eval report says dataset_md5 ${metrics.datasetMd5}, data validation could not read the data`,
      );
    } else if (checked.dataset.md5 !== metrics.datasetMd5) {
      problems.push(
        `${set}: the eval report says dataset_md5 ${metrics.datasetMd5}, data validation verified ${checked.dataset.md5}`,
      );
    }
  }
  for (const checked of validation.evalSets) {
    if (!(checked.evalSet in report.evalSets)) {
      problems.push(`${checked.evalSet}: validated but not in the eval report`);
    }
  }
  return problems;
}

function dataValidationDecision(validation: DataValidationRecord, where: string): GateDecision {
  const sets = validation.evalSets.map((s) => s.evalSet);
  if (validation.verdict === 'pass') {
    const noun = sets.length === 1 ? 'eval set' : 'eval sets';
    return {
      gate: 'data-validation',
      verdict: 'pass',
      detail: `${sets.length} ${noun} valid and md5-verified (${sets.join(', ')}); report ${where}`,
    };
  }
  const errors = validation.evalSets.flatMap((s) => s.errors);
  return { gate: 'data-validation', verdict: 'fail', detail: errors.join('; ') || `failed; see ${where}` };
}

/** The shadow stage never blocks, so a missing or unreadable report is recorded as such, not an error. */
async function shadowDecision(s3: S3Client, bucket: string, key: string): Promise<GateDecision> {
  const where = `s3://${bucket}/${key}`;
  const text = await readOptionalText(s3, bucket, key);
  if (text === undefined) {
    return { gate: 'shadow', verdict: 'advisory', detail: `no shadow report (${where} does not exist)` };
  }
  try {
    return {
      gate: 'shadow',
      verdict: 'advisory',
      detail: parseServingRecord(shadowReportRecordSchema, text, where).summary,
    };
  } catch (error) {
    return {
      gate: 'shadow',
      verdict: 'advisory',
      detail: `shadow report not readable: ${(error as Error).message}`,
    };
  }
}
