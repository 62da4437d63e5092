/**
 * The data-validation report the gate writes to `artifactKeys.dataValidation(model, executionId)`.
 * The PR comment reads it back; it is strict JSON (no NaN, no Infinity).
 */
import type { DriftSummary, Verdict } from '../core/contracts/records';
import type { DatasetValidationResult } from '../core/data/dataset-validation';
import type { RunParams } from '../shared/codepipeline-job';
import type { PinnedDatasetRead } from './pinned-dataset';

export const DATA_VALIDATION_RECORD_VERSION = 1;

/** One eval set: what was read, and the verdict or the reason it could not be judged. */
export interface EvalSetValidation {
  readonly evalSet: string;
  readonly kind: 'benchmark' | 'production-like';
  readonly maxDrift: number;
  /** True when the data was read, verified and passed every check. */
  readonly valid: boolean;
  /** Every reason the eval set fails, one sentence each, starting with the eval set's name. */
  readonly errors: readonly string[];
  /** The eval set's data, when it was read and verified. */
  readonly dataset?: PinnedDatasetRead;
  /** The reference's data, when it was read and verified. */
  readonly reference?: PinnedDatasetRead & {
    readonly totalRows: number;
    readonly validRows: number;
    /** Schema violations in the reference; they do not fail the gate but make its drift less telling. */
    readonly violations: number;
  };
  /** The checks' result, when both datasets were read. */
  readonly result?: DatasetValidationResult;
}

/** The whole report. */
export interface DataValidationRecord extends RunParams {
  readonly version: typeof DATA_VALIDATION_RECORD_VERSION;
  readonly model: string;
  /** ISO 8601, when the gate finished. */
  readonly generatedAt: string;
  readonly verdict: Verdict;
  /** `s3://bucket/prefix` the datasets were read from. */
  readonly dvcRemote: string;
  /** In config order. */
  readonly evalSets: readonly EvalSetValidation[];
  /** Every compared distribution of every eval set (label first), for the PR comment. */
  readonly drift: readonly DriftSummary[];
}
