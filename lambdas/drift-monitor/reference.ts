/**
 * The drift monitor's reference: the label counts of the production-like eval set's reference
 * set, as the data-validation gate of the live release recorded them
 * (`artifactKeys.dataValidation`, lambdas/data-validation/record.ts).
 */
import { z } from 'zod';
import type { CategoryCounts } from '../core/contracts/records';
import { countsFromShares } from '../core/monitoring/drift-monitor';
import { DATA_VALIDATION_RECORD_VERSION } from '../data-validation/record';

// Only what the drift monitor reads of DataValidationRecord; other fields are ignored.
export const dataValidationReferenceSchema = z.object({
  version: z.literal(DATA_VALIDATION_RECORD_VERSION),
  evalSets: z.array(
    z.object({
      evalSet: z.string(),
      kind: z.enum(['benchmark', 'production-like']),
      /** Absent when the gate could not read the eval set or its reference. */
      result: z
        .object({
          /** Label shares of the reference, count / total. */
          referenceDistribution: z.record(z.string(), z.number()),
          drift: z.array(z.object({ field: z.string(), referenceTotal: z.number() })),
        })
        .optional(),
    }),
  ),
});
export type DataValidationReference = z.output<typeof dataValidationReferenceSchema>;

/** The reference label counts the monitor compares with. */
export interface LabelReference {
  /** The production-like eval set whose reference set this is. */
  readonly evalSet: string;
  readonly counts: CategoryCounts;
  readonly total: number;
}

/**
 * The first production-like eval set's reference label counts (config order). `where` names the
 * record in every message; `configFile` is where a person fixes a missing eval set.
 */
export function productionLikeReference(
  record: DataValidationReference,
  labelField: string,
  where: string,
  configFile: string,
): LabelReference {
  const set = record.evalSets.find((s) => s.kind === 'production-like');
  if (!set) {
    const names = record.evalSets.map((s) => `${s.evalSet} (${s.kind})`).join(', ') || 'none';
    throw new Error(
      `${where} has no production-like eval set (it has: ${names}), so there is no reference of real traffic to ` +
        `compare predictions with: add an eval set of kind production-like to evalSets in ${configFile} and release`,
    );
  }
  const labelDrift = set.result?.drift.find((d) => d.field === labelField);
  if (!set.result || !labelDrift) {
    throw new Error(
      `${where} holds no reference label distribution for eval set ${set.evalSet} (` +
        `${set.result ? `no drift report of field '${labelField}'` : 'the gate did not read it'}), yet that release ` +
        'passed the gate: the record was changed or written by another version; rerun the release pipeline to ' +
        'record it again',
    );
  }
  const counts = countsFromShares(
    set.result.referenceDistribution,
    labelDrift.referenceTotal,
    `${where}, eval set ${set.evalSet}`,
  );
  return { evalSet: set.evalSet, counts, total: labelDrift.referenceTotal };
}
