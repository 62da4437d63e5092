/**
 * Shapes that cross module boundaries inside `lambdas/core`, the CLI and the Lambda handlers.
 * Each module may return a richer object; these are the parts the others rely on.
 * Pure data only: everything here must survive `JSON.stringify` unchanged (no NaN, no Infinity).
 */

/** Counts per category value (label, source, ...). Keys are the raw values as strings. */
export type CategoryCounts = Readonly<Record<string, number>>;

/** One category whose share moved between the reference and the current data. */
export interface ShareChange {
  readonly value: string;
  /** Share in the reference data, 0..1. */
  readonly referenceShare: number;
  /** Share in the current data, 0..1. */
  readonly currentShare: number;
  /** currentShare - referenceShare. */
  readonly delta: number;
}

/** Drift of one categorical field of one eval set against its reference. */
export interface DriftSummary {
  /** Eval set name from config, e.g. `golden_set`. */
  readonly evalSet: string;
  /** Field compared, `label` for the label distribution. */
  readonly field: string;
  /** Jensen–Shannon distance, base-2 logarithms, 0..1. */
  readonly jsDistance: number;
  /** The configured maximum (`maxDrift`). */
  readonly threshold: number;
  /** False only when the distance exceeds the threshold AND the difference is significant (status `drift`). */
  readonly passed: boolean;
  /**
   * `within` (distance <= threshold), `drift` (larger and significant), `not-significant` (larger, but
   * sampling alone often gives that much at these sizes), `too-few-rows` (not judged). Absent in
   * records written before the significance test.
   */
  readonly status?: 'within' | 'drift' | 'not-significant' | 'too-few-rows';
  /** Chi-square test of homogeneity p-value (Pearson X²). */
  readonly pValue?: number;
  readonly significant?: boolean;
  /** Categories seen on one side only, by name and share. */
  readonly oneSided?: readonly OneSidedCategory[];
  /** Categories ordered by |delta|, largest first. */
  readonly topMovers: readonly ShareChange[];
}

/** A category seen in only one of the two distributions. */
export interface OneSidedCategory {
  readonly value: string;
  /** Where it was seen: the current data (a new category) or the reference only (a vanished one). */
  readonly side: 'current' | 'reference';
  /** Its share on that side, 0..1. */
  readonly share: number;
}

/** Regression-gate thresholds. Names are the config keys (`thresholds.*`). */
export interface RegressionThresholds {
  /** Largest allowed absolute accuracy drop, e.g. 0.02. */
  readonly maxAccuracyDrop: number;
  /** Largest allowed p95 latency increase in percent, e.g. 15. */
  readonly maxLatencyIncreasePct: number;
  /** Largest allowed cost-per-1k increase in percent, e.g. 10. */
  readonly maxCostIncreasePct: number;
  /** Largest allowed growth (absolute) of the best-minus-worst slice accuracy gap, e.g. 0.03. */
  readonly maxBiasGapIncrease: number;
}

export type Verdict = 'pass' | 'fail';

/** Pricing table from platform config. */
export interface PricingTable {
  /** ISO date the prices were read, shown in every output. */
  readonly asOf: string;
  /** ISO-4217 currency code. */
  readonly currency: string;
  /** SageMaker instance type -> on-demand price per instance-hour. */
  readonly sagemakerInstances: Readonly<Record<string, number>>;
  /** Token-priced model id -> price per 1k input and output tokens. */
  readonly tokenModels: Readonly<
    Record<string, { readonly inputPer1k: number; readonly outputPer1k: number }>
  >;
}
