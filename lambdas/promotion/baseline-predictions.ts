/**
 * The promoted model's per-example results, kept with the baseline so that the next candidate is
 * compared example by example (docs/eval-report.md). The regression gate kept the candidate's
 * predictions files beside its copy of the report (`runs/<execution>/predictions/...`); promotion
 * copies each to `baseline/predictions/<execution>/...` and writes the baseline report pointing
 * there. The copies are commit steps that run before the baseline report is switched, so the
 * baseline never names a file that is not there, and a file of this release never sits under a
 * report of another: the previous baseline keeps pointing at its own copies until the switch.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { artifactKeys } from '../core/contracts/release-settings';
import { PREDICTIONS_FOLDER, type EvalReport, type EvalSetMetrics } from '../core/gates/eval-report';
import type { CommitStep } from './commit';
import { StageFailure } from './failure';
import { readOptionalText } from './records';

/** What promotion writes for the baseline's per-example results. */
export interface BaselinePredictionsPlan {
  /** The baseline report as written: each `predictions_file` names this release's copy. */
  readonly report: EvalReport;
  /** One copy per predictions file, to run before the baseline report step. */
  readonly steps: readonly CommitStep[];
}

/**
 * `predictions/golden_set.jsonl` of execution E is kept as `predictions/E/golden_set.jsonl` beside
 * the baseline report: one folder per release, so a retry rewrites only its own files.
 */
export function baselinePredictionsFile(executionId: string, predictionsFile: string): string {
  const rest = predictionsFile.slice(PREDICTIONS_FOLDER.length + 1);
  return `${PREDICTIONS_FOLDER}/${executionId}/${rest}`;
}

/**
 * Reads each predictions file the promoted report names (the regression gate's copy) and what the
 * baseline location holds now. A report without predictions files gives no step and is unchanged.
 * @throws StageFailure when the gate's copy is missing: nothing is promoted.
 */
export async function planBaselinePredictions(
  s3: S3Client,
  bucket: string,
  model: string,
  executionId: string,
  report: EvalReport,
  notPromoted: string,
): Promise<BaselinePredictionsPlan> {
  const steps: CommitStep[] = [];
  // Entries, not assignments: an eval set may be named like an Object.prototype member.
  const evalSets: [string, EvalSetMetrics][] = [];
  for (const [evalSet, metrics] of Object.entries(report.evalSets)) {
    if (metrics.predictionsFile === undefined) {
      evalSets.push([evalSet, metrics]);
      continue;
    }
    const source = artifactKeys.runFile(model, executionId, metrics.predictionsFile);
    const body = await readOptionalText(s3, bucket, source);
    if (body === undefined) {
      throw new StageFailure(
        `s3://${bucket}/${source} does not exist: the regression gate of this run kept no copy of the ` +
          `${evalSet} predictions file its report names, so the baseline could not be compared example by ` +
          `example. ${notPromoted} Re-run the release from its RegressionGate stage.`,
      );
    }
    const kept = baselinePredictionsFile(executionId, metrics.predictionsFile);
    const key = artifactKeys.baselineFile(model, kept);
    steps.push({
      what: `${evalSet} predictions file`,
      bucket,
      key,
      body,
      stored: await readOptionalText(s3, bucket, key),
    });
    evalSets.push([evalSet, { ...metrics, predictionsFile: kept }]);
  }
  return {
    report: steps.length === 0 ? report : { ...report, evalSets: Object.fromEntries(evalSets) },
    steps,
  };
}
