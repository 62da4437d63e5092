/**
 * Each served version's confidence baseline, kept in the serving records so that a rollback
 * restores the restored version's baseline at once, and what the confidence alarm should say for
 * the version that serves (lambdas/core/monitoring/confidence-alarm.ts builds the expression).
 *
 * `models/<model>/serving/confidence-baselines/<modelVersion>.json`: written when a version first
 * serves (promotion, or a rollback to a version that has none) with `baseline: null`; the
 * baseline job fills `baseline` once `servedSince + baselineHours` has passed.
 */
import { z } from 'zod';
import {
  DISARMED_BAND,
  provisionalBand,
  type ConfidenceAlarmMode,
  type ConfidenceBand,
} from './confidence-alarm';

const nonEmpty = z.string().regex(/\S/, { error: 'a non-empty string' });
const isoTime = z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time with a time zone' });
const unit = z.number().min(0).max(1);

export const confidenceBaselineRecordSchema = z.strictObject({
  schemaVersion: z.literal(1),
  model: nonEmpty,
  modelVersion: nonEmpty,
  /** When this version began serving: the start of its baseline window. */
  servedSince: isoTime,
  /** Mean confidence of its production-like eval set: the provisional band's centre; null if unknown. */
  evalMean: unit.nullable(),
  /** The live baseline; null until the baseline window has passed with enough traffic. */
  baseline: z
    .strictObject({
      mean: unit,
      periodVariance: z.number().positive(),
      periods: z.number().int().positive(),
      requests: z.number().int().positive(),
      betweenPeriodStdDev: z.number().min(0),
      meanStandardError: z.number().min(0),
      windowStart: isoTime,
      windowEnd: isoTime,
    })
    .nullable(),
  /**
   * The baseline job's latest look that found too few usable periods: the alarm stays provisional
   * and this says why. Absent until such a look (and on records written before the job existed).
   */
  lastAttempt: z
    .strictObject({
      at: isoTime,
      windowStart: isoTime,
      windowEnd: isoTime,
      /** Periods with at least `minRequestsPerPeriod` requests in the window. */
      usablePeriods: z.number().int().min(0),
      /** Usable periods a baseline needs (MIN_BASELINE_PERIODS). */
      neededPeriods: z.number().int().positive(),
      /** Requests with a confidence in the window. */
      requests: z.number().int().min(0),
    })
    .optional(),
  updatedAt: isoTime,
  updatedBy: nonEmpty,
});
export type ConfidenceBaselineRecord = z.output<typeof confidenceBaselineRecordSchema>;

/** Where a version's record lives in the artifacts bucket. */
export function confidenceBaselineKey(model: string, modelVersion: string): string {
  return `models/${model}/serving/confidence-baselines/${encodeURIComponent(modelVersion)}.json`;
}

/** What the alarm should be for the version that serves. */
export interface ConfidenceAlarmPlan {
  readonly mode: ConfidenceAlarmMode;
  readonly band: ConfidenceBand;
  /** Whether the rollback function is among the alarm actions (armed only: a provisional band pages). */
  readonly rollsBack: boolean;
  /** One clause for a summary: where the band comes from. */
  readonly why: string;
}

export function confidenceAlarmPlan(
  record: ConfidenceBaselineRecord | null,
  provisionalStdDev: number,
): ConfidenceAlarmPlan {
  if (record?.baseline) {
    const b = record.baseline;
    return {
      mode: 'armed',
      band: { mean: b.mean, periodVariance: b.periodVariance },
      rollsBack: true,
      why:
        `armed on ${record.modelVersion}'s live baseline: mean ${b.mean.toFixed(4)}, period-to-period sd ` +
        `${b.betweenPeriodStdDev.toFixed(4)} from ${b.periods} periods (${b.windowStart} to ${b.windowEnd})`,
    };
  }
  if (record && record.evalMean !== null) {
    return {
      mode: 'provisional',
      band: provisionalBand(record.evalMean, provisionalStdDev),
      rollsBack: false,
      why:
        `provisional for ${record.modelVersion} until its live baseline exists: eval mean ${record.evalMean} with sd ` +
        `${provisionalStdDev}, pages without rolling back`,
    };
  }
  return {
    mode: 'disarmed',
    band: DISARMED_BAND,
    rollsBack: false,
    why: `disarmed: ${record ? `no eval mean for ${record.modelVersion}` : 'no baseline record'} until its live baseline exists`,
  };
}
