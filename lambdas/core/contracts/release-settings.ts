/**
 * The release settings of one model: what the gate Lambdas apply at run time. The model stack
 * publishes them as an SSM parameter; the handlers parse it with the same schema, so a stack and
 * a handler of different versions fail loudly instead of misreading each other.
 */
import { z } from 'zod';
import { githubAuthSchema } from '../gates/github-auth';
import {
  dataValidationSchema,
  ModelConfig,
  modelSchema,
  PlatformSettings,
  platformSchema,
  resolveGitHubAuth,
  thresholdsSchema,
} from './config-schema';

export const RELEASE_SETTINGS_VERSION = 1;

export const releaseSettingsSchema = z.object({
  version: z.literal(RELEASE_SETTINGS_VERSION),
  platform: z.string(),
  model: z.string(),
  repository: modelSchema.shape.repository,
  github: z.object({ auth: githubAuthSchema }),
  thresholds: thresholdsSchema,
  dataValidation: dataValidationSchema,
  evalSets: modelSchema.shape.evalSets,
  cost: modelSchema.shape.cost,
  serving: modelSchema.shape.serving,
  routing: modelSchema.shape.routing,
  monitoring: modelSchema.shape.monitoring,
  pricing: platformSchema.shape.pricing,
});

export type ReleaseSettings = z.output<typeof releaseSettingsSchema>;

export function releaseSettings(platform: PlatformSettings, model: ModelConfig): ReleaseSettings {
  return {
    version: RELEASE_SETTINGS_VERSION,
    platform: platform.name,
    model: model.name,
    repository: model.repository,
    github: { auth: resolveGitHubAuth(platform.github) },
    thresholds: model.thresholds,
    dataValidation: model.dataValidation,
    evalSets: model.evalSets,
    cost: model.cost,
    serving: model.serving,
    routing: model.routing,
    monitoring: model.monitoring,
    pricing: platform.pricing,
  };
}

/** Where a pipeline run keeps its records in the artifacts bucket. */
export const artifactKeys = {
  baseline: (model: string) => `models/${model}/baseline/baseline_metrics.json`,
  /**
   * A per-example results file of the baseline (`predictions_file` of baseline_metrics.json, which
   * lies under predictions/): beside the report, as the report names it.
   */
  baselineFile: (model: string, predictionsFile: string) => `models/${model}/baseline/${predictionsFile}`,
  /** Every per-example results file of the baseline: the one prefix the regression gate reads there. */
  baselinePredictions: (model: string) => `models/${model}/baseline/predictions/`,
  run: (model: string, executionId: string) => `models/${model}/runs/${executionId}/`,
  dataValidation: (model: string, executionId: string) =>
    `models/${model}/runs/${executionId}/data-validation.json`,
  /**
   * Every eval-set file the data-validation gate verified (object version, SHA-256, path), which the
   * evaluation build fetches instead of running DVC (lambdas/core/data/eval-set-files.ts). Only the gate writes it.
   */
  evalSetFiles: (model: string, executionId: string) =>
    `models/${model}/runs/${executionId}/eval-set-files.tsv`,
  evalReport: (model: string, executionId: string) => `models/${model}/runs/${executionId}/eval_report.json`,
  /** The regression gate's copy of a predictions file of the run's report, at the path the report names. */
  runFile: (model: string, executionId: string, predictionsFile: string) =>
    `models/${model}/runs/${executionId}/${predictionsFile}`,
  decision: (model: string, executionId: string) =>
    `models/${model}/runs/${executionId}/regression-decision.json`,
  /** The model archive the evaluation build uploads (release pipeline only). */
  modelArchive: (model: string, executionId: string) => `models/${model}/runs/${executionId}/model.tar.gz`,
  /** Its SHA-256, size and commit, written by the same build. */
  modelArtifact: (model: string, executionId: string) =>
    `models/${model}/runs/${executionId}/model-artifact.json`,
  shadowReport: (model: string, executionId: string) =>
    `models/${model}/runs/${executionId}/shadow-report.json`,
  canary: (model: string, executionId: string) => `models/${model}/runs/${executionId}/canary.json`,
  /**
   * The record of the rollback away from this run's release, beside the run: a retried or late
   * promotion of it finds it and refuses to send users back to what was rolled back.
   */
  runRollback: (model: string, executionId: string) => `models/${model}/runs/${executionId}/rollback.json`,
  /** The release record of a promotion; one per release, kept forever. */
  releaseRecord: (model: string, executionId: string) => `models/${model}/releases/${executionId}.json`,
  /** What serves now and what the standby holds; the canary writes it when it passes (promotion ensures it), rollback reads it. */
  servingState: (model: string) => `models/${model}/serving/state.json`,
  /** The record of one rollback (or refusal), by its start time (ISO 8601); kept forever. */
  rollbackRecord: (model: string, startedAt: string) => `models/${model}/rollbacks/${startedAt}.json`,
  /** The nightly A/B analysis of one day (`YYYY-MM-DD`); a rerun of the day replaces it. */
  abReport: (model: string, day: string) => `models/${model}/ab/${day}.json`,
} as const;
