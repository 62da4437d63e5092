/**
 * The promotion stage's record of a release, and the confidence alarm threshold that promotion
 * writes for the newly promoted model.
 *
 * The record is the audit trail of "what went live, on what evidence, decided by whom": the
 * model artifact hash, the hashes of the eval sets, the eval report itself, the thresholds and
 * every gate's decision. It is validated before it is written, so a contradictory record (hashes
 * that disagree with the report, a promotion past a failed gate) cannot be stored.
 */
import { z } from 'zod';
import type { RegressionThresholds } from '../contracts/records';
import {
  evalReportFileSchema,
  formatJsonPath,
  serializeEvalReport,
  type EvalReport,
} from '../gates/eval-report';

/** The only `schemaVersion` this code writes. */
export const RELEASE_RECORD_SCHEMA_VERSION = 1;

// SageMaker's pattern for endpoint config names.
const configName = z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, {
  error:
    'a SageMaker endpoint config name: 1-63 letters, digits and hyphens, not starting or ending with "-"',
});
const nonEmpty = z.string().regex(/\S/, { error: 'a non-empty string' });
const md5 = z.string().regex(/^[0-9a-f]{32}(\.dir)?$/, {
  error: 'an md5 as in a .dvc file: 32 lowercase hex digits, plus ".dir" for a directory',
});
const threshold = z.number().finite().min(0, { error: 'a number >= 0' });

const decisionSchema = z.strictObject({
  gate: nonEmpty,
  verdict: z.enum(['pass', 'fail', 'advisory']),
  detail: z.string(),
});

/** The stored release record (strict: unknown keys are errors). */
export const releaseRecordSchema = z
  .strictObject({
    schemaVersion: z.literal(RELEASE_RECORD_SCHEMA_VERSION),
    model: nonEmpty,
    modelVersion: nonEmpty,
    /** null when the pipeline could not hash the artifact (e.g. a model registry reference). */
    modelArtifactSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, { error: 'a SHA-256 digest: 64 lowercase hex digits' })
      .nullable(),
    evalSetMd5s: z.record(nonEmpty, md5).refine((m) => Object.keys(m).length >= 1, {
      error: 'at least one eval set',
    }),
    /** The candidate's eval report in its file format (snake_case), as `baseline_metrics.json` stores it. */
    evalReport: evalReportFileSchema,
    thresholds: z.strictObject({
      maxAccuracyDrop: threshold,
      maxLatencyIncreasePct: threshold,
      maxCostIncreasePct: threshold,
      maxBiasGapIncrease: threshold,
      // How the gate decided inconclusive intervals and sized eval sets (issue 12); absent in older records.
      onInconclusive: z.enum(['point-estimate', 'pass', 'fail']).optional(),
      assumedDiscordance: z.number().gt(0).max(1).optional(),
    }),
    decisions: z.array(decisionSchema).min(1, { error: 'at least one gate decision' }),
    promotedBy: nonEmpty,
    promotedAt: z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time with a time zone' }),
    /** null on a model's first release: there is no previous config to keep warm on the standby endpoint. */
    previousConfigName: configName.nullable(),
    candidateConfigName: configName,
  })
  .superRefine((record, ctx) => {
    const issue = (path: PropertyKey[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message, input: undefined });
    };
    if (record.evalReport.model !== record.model) {
      issue(
        ['evalReport', 'model'],
        `the eval report is for model "${record.evalReport.model}", not "${record.model}"`,
      );
    }
    if (record.evalReport.model_version !== record.modelVersion) {
      issue(
        ['evalReport', 'model_version'],
        `the eval report is for version "${record.evalReport.model_version}", not "${record.modelVersion}"`,
      );
    }
    const reportSets = record.evalReport.eval_sets;
    for (const [set, hash] of Object.entries(record.evalSetMd5s)) {
      const reported = reportSets[set]?.dataset_md5;
      if (reported === undefined) {
        issue(['evalSetMd5s', set], `eval set "${set}" is not in the eval report`);
      } else if (reported !== hash) {
        issue(['evalSetMd5s', set], `md5 ${hash} differs from the eval report's dataset_md5 ${reported}`);
      }
    }
    for (const set of Object.keys(reportSets)) {
      if (!(set in record.evalSetMd5s)) {
        issue(['evalSetMd5s'], `eval set "${set}" of the eval report has no md5`);
      }
    }
    const seen = new Set<string>();
    record.decisions.forEach((d, i) => {
      if (seen.has(d.gate)) issue(['decisions', i, 'gate'], `gate "${d.gate}" is recorded twice`);
      seen.add(d.gate);
      if (d.verdict === 'fail') {
        issue(
          ['decisions', i, 'verdict'],
          `gate "${d.gate}" failed (${d.detail || 'no detail'}); a failed gate must stop the release before promotion`,
        );
      }
    });
    if (record.previousConfigName === record.candidateConfigName) {
      issue(
        ['candidateConfigName'],
        `the candidate config "${record.candidateConfigName}" is also the previous one; ` +
          'promotion must move a different config to the standby endpoint',
      );
    }
  });

/** A validated release record. */
export type ReleaseRecord = z.output<typeof releaseRecordSchema>;

/** One gate's decision for the record. */
export interface GateDecision {
  /** Gate name as in the pipeline, e.g. `regression-gate`. */
  readonly gate: string;
  /** `advisory` for stages that never block (shadow). */
  readonly verdict: 'pass' | 'fail' | 'advisory';
  readonly detail: string;
}

/** Input of {@link buildReleaseRecord}. */
export interface ReleaseRecordInput {
  readonly model: string;
  readonly modelVersion: string;
  /** SHA-256 of `model.tar.gz`, lowercase hex. */
  readonly modelArtifactSha256?: string;
  /** Eval set name -> md5 pinned in its `.dvc` file. */
  readonly evalSetMd5s: Readonly<Record<string, string>>;
  readonly evalReport: EvalReport;
  readonly thresholds: RegressionThresholds;
  readonly decisions: readonly GateDecision[];
  /** Who promoted: the pipeline execution or the person who approved it. */
  readonly promotedBy: string;
  /** ISO 8601 with a time zone; passed in because core has no clock. */
  readonly promotedAt: string;
  /** The config that served before; null on the first release. */
  readonly previousConfigName: string | null;
  readonly candidateConfigName: string;
}

/** Thrown by {@link buildReleaseRecord}; `problems` has one line per problem. */
export class ReleaseRecordError extends Error {
  override readonly name = 'ReleaseRecordError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      `release record for promotion is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}); ` +
        `nothing was promoted:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
  }
}

/**
 * Builds and validates the release record written at promotion. The eval report is stored in
 * its file format. Throws ReleaseRecordError listing every problem, each with its key path.
 */
export function buildReleaseRecord(input: ReleaseRecordInput): ReleaseRecord {
  const candidate = {
    schemaVersion: RELEASE_RECORD_SCHEMA_VERSION,
    model: input.model,
    modelVersion: input.modelVersion,
    modelArtifactSha256: input.modelArtifactSha256 ?? null,
    evalSetMd5s: { ...input.evalSetMd5s },
    evalReport: JSON.parse(serializeEvalReport(input.evalReport)) as unknown,
    thresholds: { ...input.thresholds },
    decisions: input.decisions.map((d) => ({ ...d })),
    promotedBy: input.promotedBy,
    promotedAt: input.promotedAt,
    previousConfigName: input.previousConfigName,
    candidateConfigName: input.candidateConfigName,
  };
  const parsed = releaseRecordSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new ReleaseRecordError(parsed.error.issues.map((i) => `${formatJsonPath(i.path)}: ${i.message}`));
  }
  return parsed.data;
}

/**
 * Threshold of the confidence alarm: mean − k·σ of the promoted model's confidence, clamped to
 * [0, 1] (a confidence is a probability, and CloudWatch would otherwise get a threshold the
 * metric can never cross). Throws RangeError on a mean outside [0, 1], σ < 0 or k <= 0.
 */
export function confidenceAlarmThreshold(mean: number, std: number, k: number): number {
  if (!Number.isFinite(mean) || mean < 0 || mean > 1) {
    throw new RangeError(
      `confidenceAlarmThreshold: mean confidence must be between 0 and 1, got ${String(mean)}; ` +
        "take it from the promoted model's eval report (confidence.mean)",
    );
  }
  if (!Number.isFinite(std) || std < 0) {
    throw new RangeError(
      `confidenceAlarmThreshold: standard deviation must be a finite number >= 0, got ${String(std)}`,
    );
  }
  if (!Number.isFinite(k) || k <= 0) {
    throw new RangeError(
      `confidenceAlarmThreshold: k must be a finite number > 0, got ${String(k)}; ` +
        'set monitoring.confidenceStdDevs (default 3)',
    );
  }
  return Math.min(1, Math.max(0, mean - k * std));
}
