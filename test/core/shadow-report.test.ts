import { compareShadow, type ShadowComparisonInput } from '../../lambdas/core/serving/shadow';
import { countAgreement, type CaptureAgreement } from '../../lambdas/core/serving/data-capture';
import {
  shadowComparisonSchema,
  shadowFindings,
  shadowReportRecordSchema,
  shadowSummary,
  type CaptureSummary,
} from '../../lambdas/core/serving/shadow-report';
import { parseServingRecord } from '../../lambdas/core/serving/serving-records';

const input: ShadowComparisonInput = {
  production: { invocations: 4200, errors5xx: 4, errors4xx: 21, latencyMs: { p50: 40, p95: 82, p99: 120 } },
  shadow: { invocations: 4150, errors5xx: 19, errors4xx: 20, latencyMs: { p50: 44, p95: 101, p99: 150 } },
  agreement: { agreements: 3757, compared: 4120 },
};

/** A window's capture pairing with the same agreement counts as `input`. */
const pairing: CaptureAgreement = {
  pairedOn: 'inferenceId',
  matched: 4130,
  compared: 4120,
  agreements: 3757,
  failures: { bothFailed: 2, productionOnly: 3, shadowOnly: 5, neitherFailed: 4120 },
  latency: null,
  production: {
    records: 4150,
    withoutInferenceId: 20,
    withoutOutput: 0,
    duplicates: 0,
    pairable: 4130,
    labelled: 4127,
    unpaired: 0,
  },
  shadow: {
    records: 4140,
    withoutInferenceId: 0,
    withoutOutput: 0,
    duplicates: 0,
    pairable: 4140,
    labelled: 4133,
    unpaired: 10,
  },
  otherVariant: 0,
};
const pairedInput: ShadowComparisonInput = { ...input, capture: { agreement: pairing, error: null } };

const capture: CaptureSummary = {
  location: 's3://capture/document-classifier/dc-live/dc-live/',
  filesFound: 2,
  filesRead: 2,
  recordsRead: 5,
  unparseable: 1,
  unparseableExamples: [{ file: 'a.jsonl', line: 3, reason: 'not JSON' }],
  capped: false,
  cappedNote: null,
  error: null,
  agreement: countAgreement(
    [
      { eventId: 'e1', inferenceId: 'r1', variant: 'live', outputCaptured: true, outputLabel: 'invoice' },
      { eventId: 'e2', inferenceId: 'r1', variant: 'shadow', outputCaptured: true, outputLabel: 'invoice' },
      { eventId: 'e3', inferenceId: 'r2', variant: 'live', outputCaptured: true, outputLabel: 'invoice' },
      { eventId: 'e4', inferenceId: 'r2', variant: 'shadow', outputCaptured: true, outputLabel: 'receipt' },
    ],
    { production: 'live', shadow: 'shadow' },
  ),
};

const compared = (report: unknown, metricsError: string | null) => ({
  schemaVersion: 1,
  model: 'document-classifier',
  executionId: 'exec-0042',
  endpointName: 'mlops-document-classifier-live',
  status: 'compared',
  candidateModel: 'mlops-document-classifier-exec0042',
  window: { start: '2026-11-05T10:05:00.000Z', end: '2026-11-05T11:05:00.000Z' },
  productionConfig: 'mlops-document-classifier-1a2b3c4d-live',
  shadowConfig: 'mlops-document-classifier-exec0042-shadow',
  report,
  metricsError,
  capture,
  summary: 'shadow comparison over 60 min',
  findings: ['agreement 91.2%'],
  writtenAt: '2026-11-05T11:07:00.000Z',
});

describe('shadow report record', () => {
  test('the comparison schema accepts what compareShadow returns, with and without data', () => {
    for (const i of [
      input,
      {
        production: { invocations: 0, errors5xx: 0, errors4xx: 0, latencyMs: null },
        shadow: { invocations: 0, errors5xx: 0, errors4xx: 0, latencyMs: null },
        agreement: { agreements: 0, compared: 0 },
      },
    ]) {
      const report = compareShadow(i);
      expect(shadowComparisonSchema.parse(report)).toEqual(report);
    }
  });

  test('a compared record round-trips through JSON and the schema', () => {
    const record = compared(compareShadow(input), null);
    expect(
      parseServingRecord(shadowReportRecordSchema, JSON.stringify(record), 'shadow-report.json'),
    ).toEqual(record);
  });

  test('a record that contradicts the schema is refused with the path of each problem', () => {
    const bad = { ...compared(null, 'AccessDenied'), productionConfig: 'not a name!', capture: undefined };
    expect(() =>
      parseServingRecord(shadowReportRecordSchema, JSON.stringify(bad), 'shadow-report.json'),
    ).toThrow(
      'shadow-report.json is not a valid record: productionConfig: a SageMaker name: 1-63 letters, digits and ' +
        'hyphens, not starting or ending with "-"; capture: Invalid input: expected object, received undefined',
    );
    expect(() =>
      parseServingRecord(
        shadowReportRecordSchema,
        JSON.stringify({ ...compared(null, null), status: 'passed' }),
        'shadow-report.json',
      ),
    ).toThrow(/^shadow-report\.json is not a valid record: status: /);
  });

  test('a skipped record needs its reason', () => {
    const skipped = {
      schemaVersion: 1,
      model: 'document-classifier',
      executionId: 'exec-0042',
      endpointName: 'mlops-document-classifier-live',
      status: 'skipped',
      summary: 'skipped',
      findings: [],
      writtenAt: '2026-11-05T10:00:00.000Z',
    };
    expect(() => shadowReportRecordSchema.parse(skipped)).toThrow(/reason/);
    expect(shadowReportRecordSchema.parse({ ...skipped, reason: 'first release' }).status).toBe('skipped');
  });
});

describe('shadow findings and summary', () => {
  test('with metrics: the comparison findings; the summary says how many requests were paired, agreement and 5xx, then p95 latency', () => {
    const report = compareShadow(pairedInput);
    const findings = shadowFindings(report, null, capture);
    expect(findings).toEqual(report.findings.map((f) => f.text));
    expect(shadowSummary(report, findings, 60)).toBe(
      'shadow comparison over 60 min (advisory, never blocks): paired on 4,130 matched requests; agreement 91.2% ' +
        '[90.3, 92.0] on 4,120 compared requests; shadow 5xx error rate 0.46% [0.29, 0.71] vs production 0.10% ' +
        '[0.04, 0.24]; difference +0.36 points [+0.14, +0.63]\nshadow p95 latency +23% (82 → 101 ms)',
    );
  });

  test('both variants captured requests but none share an inferenceId: the summary says nothing was compared', () => {
    const unmatched = countAgreement(
      [
        { eventId: 'e1', variant: 'live', outputCaptured: true, outputLabel: 'invoice' },
        { eventId: 'e1', variant: 'shadow', outputCaptured: true, outputLabel: 'invoice' },
        { eventId: 'e2', inferenceId: 'r2', variant: 'live', outputCaptured: true, outputLabel: 'invoice' },
      ],
      { production: 'live', shadow: 'shadow' },
    );
    const report = compareShadow({
      ...input,
      agreement: { agreements: 0, compared: 0 },
      capture: { agreement: unmatched, error: null },
    });
    expect(report.paired.status).toBe('unpaired');
    expect(report.agreement.rate).toBeNull();
    expect(shadowSummary(report, [], 60).split('\n')[0]).toBe(
      'shadow comparison over 60 min (advisory, never blocks): NOT compared request by request: compared ' +
        'nothing: production has 2 capture records and shadow 1, but no request appears in both with an ' +
        'inferenceId and an answer; 1 production and 1 shadow records carry no inferenceId (the caller sent no ' +
        'InferenceId: requests that bypass the router, or a router older than this platform version). Agreement, ' +
        'paired errors and paired latency were NOT compared; agreement not measured; shadow 5xx error rate 0.46% ' +
        '[0.29, 0.71] vs production 0.10% [0.04, 0.24]; difference +0.36 points [+0.14, +0.63]',
    );
  });

  test('caveats on the data are counted in the summary', () => {
    const report = compareShadow({ ...input, agreement: { agreements: 1, compared: 2 } });
    expect(shadowSummary(report, [], 60).split('\n')[1]).toBe(
      'shadow p95 latency +23% (82 → 101 ms); 1 caveat on the data in the report',
    );
  });

  test('without metrics: what data capture says, and why the rest is missing', () => {
    const findings = shadowFindings(null, 'AccessDenied: not authorized to GetMetricData', {
      ...capture,
      capped: true,
      cappedNote: 'data capture read stopped at 2 files',
    });
    expect(findings).toEqual([
      'CloudWatch metrics could not be read (AccessDenied: not authorized to GetMetricData): errors and latency were not compared',
      'agreement 50.0% (1 of 2 compared requests)',
      'paired on 2 matched requests (inferenceId); failure rate shadow 0.0% vs production 0.0%, difference 0.00 ' +
        'points [-65.76, +65.76]; latency not compared request by request: the answers carry no latencyMs (data ' +
        'capture records no latency); the CloudWatch percentiles compare the two variants as a whole',
      'data capture read stopped at 2 files',
    ]);
    expect(shadowSummary(null, findings, 30)).toBe(
      `shadow comparison over 30 min (advisory, never blocks): ${findings.join('; ')}`,
    );
  });

  test('an unreadable data capture is a finding of its own', () => {
    const findings = shadowFindings(compareShadow(input), null, {
      ...capture,
      error: 'cannot list s3://capture/x/: AccessDenied: denied',
    });
    expect(findings.at(-1)).toBe(
      'data capture could not be read (cannot list s3://capture/x/: AccessDenied: denied): agreement was not compared',
    );
  });
});
