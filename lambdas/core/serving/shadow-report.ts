/**
 * `runs/<execution>/shadow-report.json`: what the shadow stage leaves for people and for the
 * promotion stage. Validated on write (the shadow stage) and on read (promotion, which records the
 * status and findings as the shadow gate's advisory decision).
 *
 * - `skipped`: nothing was shadowed (a model's first release: no live endpoint yet).
 * - `compared`: the candidate ran as a shadow variant over the window and was compared with
 *   production. `report` is null when CloudWatch could not be read; `capture.error` is set when
 *   data capture could not be read. Either way the production config was put back.
 */
import { z } from 'zod';
import type { CaptureAgreement } from './data-capture';
import { pairingText, type ShadowReport } from './shadow';
import { comparePaired } from './shadow-paired';

export const SHADOW_REPORT_SCHEMA_VERSION = 1;

const nonEmpty = z.string().regex(/\S/, { error: 'a non-empty string' });
const sageMakerName = z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, {
  error: 'a SageMaker name: 1-63 letters, digits and hyphens, not starting or ending with "-"',
});
const isoTime = z.iso.datetime({ offset: true, error: 'an ISO 8601 date-time with a time zone' });
const count = z.number().int().nonnegative();
const finite = z.number().finite();
const interval = z.strictObject({ estimate: finite, lower: finite, upper: finite });
const latency = z.strictObject({ p50: finite, p95: finite, p99: finite });
const latencyDelta = z.strictObject({
  productionMs: finite,
  shadowMs: finite,
  deltaMs: finite,
  deltaPct: finite.nullable(),
});
const variantReport = z.strictObject({
  invocations: count,
  serverErrorRate: interval.nullable(),
  clientErrorRate: interval.nullable(),
  latencyMs: latency.nullable(),
});

/** What {@link compareShadow} returns; typed against its interface so the two cannot drift apart. */
export const shadowComparisonSchema: z.ZodType<ShadowReport> = z.strictObject({
  advisory: z.literal(true),
  confidence: finite,
  minSamples: count,
  production: variantReport,
  shadow: variantReport,
  serverErrorRateDifference: interval.nullable(),
  clientErrorRateDifference: interval.nullable(),
  latency: z.strictObject({ p50: latencyDelta, p95: latencyDelta, p99: latencyDelta }).nullable(),
  agreement: z.strictObject({ agreements: count, compared: count, rate: interval.nullable() }),
  paired: z.discriminatedUnion('status', [
    z.strictObject({
      status: z.literal('paired'),
      pairedOn: z.literal('inferenceId'),
      matched: count,
      agreement: z
        .strictObject({ estimate: finite, lower: finite, upper: finite, agreements: count, compared: count })
        .nullable(),
      failureRateDifference: z.strictObject({
        estimate: finite,
        lower: finite,
        upper: finite,
        n: count,
        productionFailed: count,
        shadowFailed: count,
      }),
      latency: z
        .strictObject({
          pairs: count,
          medianMs: finite,
          p99Ms: finite,
          meanMs: finite,
          meanInterval: interval.nullable(),
          tooFew: nonEmpty.nullable(),
        })
        .nullable(),
      latencyNote: nonEmpty.nullable(),
    }),
    z.strictObject({ status: z.literal('unpaired'), reason: nonEmpty }),
  ]),
  findings: z.array(
    z.strictObject({
      advisory: z.literal(true),
      topic: z.enum(['traffic', 'errors', 'latency', 'agreement', 'pairing']),
      text: nonEmpty,
    }),
  ),
  insufficientData: z.array(nonEmpty),
});

const variantCaptureCounts = z.strictObject({
  records: count,
  withoutInferenceId: count,
  withoutOutput: count,
  duplicates: count,
  pairable: count,
  labelled: count,
  unpaired: count,
});

/** How much data capture was read, and the prediction agreement it gave. */
export const captureSummarySchema = z.strictObject({
  /** `s3://<bucket>/<model>/<endpoint>/`: where the capture files were listed. */
  location: nonEmpty,
  /** Capture files of the two variants in the window's hours. */
  filesFound: count,
  filesRead: count,
  /** Non-blank lines read. */
  recordsRead: count,
  /** Lines that are not capture records; they are counted, never fatal. */
  unparseable: count,
  /** Up to a few unparseable lines, to show what was wrong. */
  unparseableExamples: z.array(z.strictObject({ file: nonEmpty, line: count, reason: nonEmpty })),
  /** True when the read stopped at a limit; `cappedNote` says which. */
  capped: z.boolean(),
  cappedNote: nonEmpty.nullable(),
  /** Why data capture could not be read at all; null when it was read. */
  error: nonEmpty.nullable(),
  /** Both variants' records paired on `inferenceId` (lambdas/core/serving/data-capture.ts). */
  agreement: z.strictObject({
    pairedOn: z.literal('inferenceId'),
    matched: count,
    compared: count,
    agreements: count,
    failures: z.strictObject({
      bothFailed: count,
      productionOnly: count,
      shadowOnly: count,
      neitherFailed: count,
    }),
    latency: z
      .strictObject({ pairs: count, meanMs: finite, sdMs: finite, medianMs: finite, p99Ms: finite })
      .nullable(),
    production: variantCaptureCounts,
    shadow: variantCaptureCounts,
    otherVariant: count,
  }) satisfies z.ZodType<CaptureAgreement>,
});
export type CaptureSummary = z.output<typeof captureSummarySchema>;

const common = {
  schemaVersion: z.literal(SHADOW_REPORT_SCHEMA_VERSION),
  model: nonEmpty,
  executionId: nonEmpty,
  endpointName: sageMakerName,
  /** One or two lines for people: the stage's execution summary and the release record's detail. */
  summary: nonEmpty,
  /** Advisory statements, each one sentence. */
  findings: z.array(nonEmpty),
  writtenAt: isoTime,
};

export const shadowReportRecordSchema = z.discriminatedUnion('status', [
  z.strictObject({ ...common, status: z.literal('skipped'), reason: nonEmpty }),
  z.strictObject({
    ...common,
    status: z.literal('compared'),
    candidateModel: sageMakerName,
    window: z.strictObject({ start: isoTime, end: isoTime }),
    productionConfig: sageMakerName,
    shadowConfig: sageMakerName,
    /** Null when CloudWatch metrics could not be read (`metricsError` says why). */
    report: shadowComparisonSchema.nullable(),
    metricsError: nonEmpty.nullable(),
    capture: captureSummarySchema,
  }),
]);
export type ShadowReportRecord = z.output<typeof shadowReportRecordSchema>;

/**
 * The record's findings: the comparison's own, or, without CloudWatch metrics, what data capture
 * alone says; then what limited the data capture read.
 */
export function shadowFindings(
  report: ShadowReport | null,
  metricsError: string | null,
  capture: CaptureSummary,
): string[] {
  const findings: string[] = [];
  if (report) {
    findings.push(...report.findings.map((f) => f.text));
  } else {
    findings.push(
      `CloudWatch metrics could not be read (${metricsError ?? 'no reason given'}): errors and latency were not compared`,
    );
    const { agreements, compared } = capture.agreement;
    if (compared > 0) {
      findings.push(
        `agreement ${((agreements / compared) * 100).toFixed(1)}% (${agreements} of ${compared} compared requests)`,
      );
    }
    findings.push(pairingText(comparePaired(capture.error ? null : capture.agreement, capture.error)));
  }
  if (capture.error)
    findings.push(`data capture could not be read (${capture.error}): agreement was not compared`);
  if (capture.cappedNote) findings.push(capture.cappedNote);
  return findings;
}

/**
 * One or two lines: prediction agreement and 5xx errors, then p95 latency and how many caveats the
 * report lists. Without metrics, the findings themselves.
 */
export function shadowSummary(
  report: ShadowReport | null,
  findings: readonly string[],
  windowMinutes: number,
): string {
  const head = `shadow comparison over ${windowMinutes} min (advisory, never blocks):`;
  if (!report) return `${head} ${findings.join('; ')}`;
  const pick = (topic: string, contains = '') =>
    report.findings.find((f) => f.topic === topic && f.text.includes(contains))?.text;
  // A comparison that paired nothing says so first, never as a quiet "not measured".
  const pairing =
    report.paired.status === 'paired'
      ? `paired on ${String(report.paired.matched).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} matched request${report.paired.matched === 1 ? '' : 's'}`
      : `NOT compared request by request: ${report.paired.reason}`;
  const first = [pairing, pick('agreement') ?? 'agreement not measured', pick('errors', '5xx')].filter(
    Boolean,
  );
  const second = [pick('latency', 'p95') ?? 'latency not compared'];
  const caveats = report.insufficientData.length;
  if (caveats > 0) second.push(`${caveats} caveat${caveats === 1 ? '' : 's'} on the data in the report`);
  return `${head} ${first.join('; ')}\n${second.join('; ')}`;
}
