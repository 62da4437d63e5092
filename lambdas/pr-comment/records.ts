/**
 * The records a pipeline run leaves in the artifacts bucket (data-validation report, candidate eval report,
 * regression decision) and the promoted baseline, read back for the PR comment. Any of them may be missing:
 * a run that failed early wrote only some. A record that is there but unreadable is reported, not skipped.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { artifactKeys } from '../core/contracts/release-settings';
import type { DriftSummary } from '../core/contracts/records';
import { parseEvalReport, type EvalReport } from '../core/gates/eval-report';
import type { MonthlyCostInput } from '../core/gates/report';
import type { RegressionResult } from '../core/gates/regression-gate';

/** One record: read and valid, absent, or present but unusable (with the reason). */
export type RecordState<T> =
  | { readonly state: 'present'; readonly where: string; readonly value: T }
  | { readonly state: 'missing'; readonly where: string }
  | { readonly state: 'invalid'; readonly where: string; readonly problem: string };

/** The parts of the data-validation report the comment shows. */
export interface DataValidationSummary {
  readonly verdict: 'pass' | 'fail';
  /** One line for the Gates table. */
  readonly summary: string;
  readonly drift: readonly DriftSummary[];
}

/** The parts of the regression decision the comment shows. */
export interface DecisionSummary {
  readonly regression: RegressionResult;
  /** Absent when the decision carries no cost estimate. */
  readonly cost?: MonthlyCostInput;
}

/** Everything one run left behind, plus the promoted baseline. */
export interface RunRecords {
  readonly dataValidation: RecordState<DataValidationSummary>;
  readonly evalReport: RecordState<EvalReport>;
  readonly decision: RecordState<DecisionSummary>;
  readonly baseline: RecordState<EvalReport>;
}

const shareChange = z.object({
  value: z.string(),
  referenceShare: z.number(),
  currentShare: z.number(),
  delta: z.number(),
});

const driftSummary = z.object({
  evalSet: z.string(),
  field: z.string(),
  jsDistance: z.number(),
  threshold: z.number(),
  passed: z.boolean(),
  topMovers: z.array(shareChange).default([]),
});

// Only what the comment reads of lambdas/data-validation/record.ts; other fields are ignored.
const dataValidationRecord = z.object({
  verdict: z.enum(['pass', 'fail']),
  drift: z.array(driftSummary).default([]),
  evalSets: z
    .array(
      z.object({
        evalSet: z.string(),
        valid: z.boolean(),
        errors: z.array(z.string()).default([]),
      }),
    )
    .default([]),
});

const regressionCheck = z.object({
  evalSet: z.string().nullable(),
  check: z.enum([
    'accuracy',
    'p95LatencyMs',
    'costPer1kRequests',
    'biasGap',
    'model',
    'evalSet',
    'dataset',
    'examples',
  ]),
  baseline: z.number().nullable(),
  candidate: z.number().nullable(),
  delta: z.number().nullable(),
  deltaPct: z.number().nullable(),
  thresholdKey: z
    .enum(['maxAccuracyDrop', 'maxLatencyIncreasePct', 'maxCostIncreasePct', 'maxBiasGapIncrease'])
    .nullable(),
  threshold: z.number().nullable(),
  verdict: z.enum(['pass', 'fail']),
  // Decisions written before the gate had intervals (issue 12) lack these: they read as null.
  outcome: z.enum(['pass', 'fail', 'inconclusive']).nullable().default(null),
  decidedBy: z.enum(['interval', 'point-estimate', 'inconclusive-policy']).nullable().default(null),
  interval: z
    .object({ lower: z.number(), upper: z.number(), confidence: z.number(), method: z.string() })
    .nullable()
    .default(null),
  paired: z.boolean().nullable().default(null),
  comparedOn: z.string().nullable().default(null),
  rowsNeeded: z.number().nullable().default(null),
  reason: z.string(),
});

const decisionRecord = z.object({
  model: z.string(),
  regression: z.object({
    verdict: z.enum(['pass', 'fail']),
    model: z.string(),
    candidateVersion: z.string(),
    baselineVersion: z.string().nullable(),
    firstRelease: z.boolean(),
    checks: z.array(regressionCheck),
    notes: z.array(z.string()),
    // Decision records written before the field existed have none.
    undersized: z
      .array(z.object({ evalSet: z.string(), rows: z.number(), rowsNeeded: z.number(), message: z.string() }))
      .default([]),
    summary: z.string(),
  }),
  // A CostEstimate (lambdas/core/monitoring/cost.ts); the candidate's serving cost under the model's config.
  cost: z
    .object({ currency: z.string(), pricingAsOf: z.string(), monthly: z.number() })
    .nullable()
    .optional(),
});

/** Reads the run's records; only an S3 error other than "no such key" throws (the role or the bucket is wrong). */
export async function loadRunRecords(
  s3: S3Client,
  bucket: string,
  model: string,
  executionId: string,
): Promise<RunRecords> {
  const read = <T>(key: string, parse: (text: string, where: string) => T) =>
    readRecord(s3, bucket, key, parse);
  const [dataValidation, evalReport, decision, baseline] = await Promise.all([
    read(artifactKeys.dataValidation(model, executionId), parseDataValidation),
    read(artifactKeys.evalReport(model, executionId), parseEvalReport),
    read(artifactKeys.decision(model, executionId), parseDecision),
    read(artifactKeys.baseline(model), parseEvalReport),
  ]);
  return { dataValidation, evalReport, decision, baseline };
}

/** Reads one record; only an S3 error other than "no such key" throws. */
export async function readRecord<T>(
  s3: S3Client,
  bucket: string,
  key: string,
  parse: (text: string, where: string) => T,
): Promise<RecordState<T>> {
  const where = `s3://${bucket}/${key}`;
  let text: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    text = (await res.Body?.transformToString('utf-8')) ?? '';
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'NoSuchKey' || name === 'NotFound') return { state: 'missing', where };
    const hint = /AccessDenied|Forbidden/.test(name)
      ? "; the function's role needs s3:GetObject on the artifacts bucket and kms:Decrypt on the bucket's key"
      : '';
    throw new Error(`cannot read ${where} (${name}: ${(err as Error).message})${hint}`, { cause: err });
  }
  try {
    return { state: 'present', where, value: parse(text, where) };
  } catch (err) {
    return { state: 'invalid', where, problem: (err as Error).message };
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${where} is not JSON (${(err as Error).message})`, { cause: err });
  }
}

function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
    .join('; ');
}

function parseDataValidation(text: string, where: string): DataValidationSummary {
  const parsed = dataValidationRecord.safeParse(parseJson(text, where));
  if (!parsed.success) {
    throw new Error(`not a data-validation report (${describeZodError(parsed.error)})`);
  }
  const { verdict, drift, evalSets } = parsed.data;
  const errors = evalSets.flatMap((s) => s.errors);
  const driftFailures = drift.filter((d) => !d.passed);
  let summary: string;
  if (errors.length > 0) {
    summary = errors.join('; ');
  } else if (driftFailures.length > 0) {
    summary = driftFailures
      .map((d) => `${d.evalSet}: ${d.field} drift ${d.jsDistance.toFixed(3)} > ${d.threshold.toFixed(3)}`)
      .join('; ');
  } else if (verdict === 'fail') {
    summary = `failed; see ${where}`;
  } else {
    const labelDrift = drift.filter((d) => d.field === 'label');
    const sets = evalSets.length || new Set(drift.map((d) => d.evalSet)).size;
    summary =
      `${sets} eval ${sets === 1 ? 'set' : 'sets'} valid` +
      (labelDrift.length > 0
        ? `; label drift ${labelDrift.map((d) => `${d.evalSet} ${d.jsDistance.toFixed(3)} ≤ ${d.threshold.toFixed(3)}`).join(', ')}`
        : '');
  }
  return { verdict, summary, drift };
}

function parseDecision(text: string, where: string): DecisionSummary {
  const parsed = decisionRecord.safeParse(parseJson(text, where));
  if (!parsed.success) throw new Error(`not a regression decision (${describeZodError(parsed.error)})`);
  const { regression, cost } = parsed.data;
  return {
    regression,
    cost: cost
      ? { candidateMonthly: cost.monthly, currency: cost.currency, pricingAsOf: cost.pricingAsOf }
      : undefined,
  };
}
