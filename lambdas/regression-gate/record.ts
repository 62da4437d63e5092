/**
 * The decision record the regression gate writes to `artifactKeys.decision(model, executionId)`:
 * what was compared, under which thresholds, and the verdict. Strict JSON.
 */
import type { RegressionThresholds, Verdict } from '../core/contracts/records';
import type { CostEstimate } from '../core/monitoring/cost';
import type { RegressionResult } from '../core/gates/regression-gate';
import type { RunParams } from '../shared/codepipeline-job';

export interface RegressionDecision extends RunParams {
  readonly model: string;
  /** ISO 8601, when the gate decided. */
  readonly decidedAt: string;
  readonly thresholds: RegressionThresholds;
  /** The full comparison; `regression.firstRelease` says whether there was a baseline. */
  readonly regression: RegressionResult;
  /** Estimated serving cost of the model's configured deployment. */
  readonly cost: CostEstimate;
  readonly verdict: Verdict;
}
