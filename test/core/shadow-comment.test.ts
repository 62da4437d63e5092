import { reportMarker } from '../../lambdas/core/gates/report';
import { compareShadow } from '../../lambdas/core/serving/shadow';
import { renderShadowComment, shadowReportMarker } from '../../lambdas/core/serving/shadow-comment';
import type { CaptureSummary, ShadowReportRecord } from '../../lambdas/core/serving/shadow-report';

const MODEL = 'document-classifier';
const COMMIT = '9d8c7b6a59483f2a9c1d0e8b7a6954c3b2a1f0e9';

const capture: CaptureSummary = {
  location: 's3://capture/document-classifier/dc-live/',
  filesFound: 2,
  filesRead: 2,
  recordsRead: 8270,
  unparseable: 0,
  unparseableExamples: [],
  capped: false,
  cappedNote: null,
  error: null,
  agreement: {
    pairedOn: 'inferenceId',
    matched: 4130,
    compared: 4120,
    agreements: 3757,
    failures: { bothFailed: 2, productionOnly: 3, shadowOnly: 5, neitherFailed: 4120 },
    latency: { pairs: 4120, meanMs: 4.2, sdMs: 12, medianMs: 3.5, p99Ms: 41 },
    production: {
      records: 4130,
      withoutInferenceId: 0,
      withoutOutput: 0,
      duplicates: 0,
      pairable: 4130,
      labelled: 4125,
      unpaired: 0,
    },
    shadow: {
      records: 4160,
      withoutInferenceId: 0,
      withoutOutput: 0,
      duplicates: 0,
      pairable: 4160,
      labelled: 4153,
      unpaired: 30,
    },
    otherVariant: 0,
  },
};

const base = {
  schemaVersion: 1 as const,
  model: MODEL,
  executionId: 'exec-r7',
  endpointName: 'mlops-document-classifier-live',
  summary: 'shadow comparison over 60 min',
  writtenAt: '2026-11-05T11:07:00.000Z',
};

function compared(overrides: Partial<Extract<ShadowReportRecord, { status: 'compared' }>> = {}) {
  const report = compareShadow({
    production: { invocations: 4200, errors5xx: 4, errors4xx: 21, latencyMs: { p50: 40, p95: 82, p99: 120 } },
    shadow: { invocations: 4150, errors5xx: 19, errors4xx: 20, latencyMs: { p50: 44, p95: 101, p99: 150 } },
    agreement: { agreements: 3757, compared: 4120 },
    capture: { agreement: capture.agreement, error: null },
  });
  const record: ShadowReportRecord = {
    ...base,
    status: 'compared',
    candidateModel: 'mlops-document-classifier-exec-r7',
    window: { start: '2026-11-05T10:05:00.000Z', end: '2026-11-05T11:05:00.000Z' },
    productionConfig: 'mlops-document-classifier-1a2b3c4d-live',
    shadowConfig: 'mlops-document-classifier-exec-r7-shadow',
    report,
    metricsError: null,
    capture,
    findings: report.findings.map((f) => f.text),
    ...overrides,
  };
  return record;
}

describe('shadow report comment', () => {
  test('the marker is its own: neither it nor the gate report marker starts with the other', () => {
    expect(shadowReportMarker(MODEL)).toBe('<!-- mlops-shadow-report:document-classifier -->');
    expect(shadowReportMarker('a--b <x>')).toBe('<!-- mlops-shadow-report:a%2D-b%20%3Cx%3E -->');
    expect(shadowReportMarker(MODEL).startsWith(reportMarker(MODEL))).toBe(false);
    expect(reportMarker(MODEL).startsWith(shadowReportMarker(MODEL))).toBe(false);
  });

  test('a compared report: window, per-variant invocations and 5xx rate, p95 delta, agreement, findings', () => {
    expect(renderShadowComment({ model: MODEL, commit: COMMIT, record: compared() })).toBe(
      [
        '<!-- mlops-shadow-report:document-classifier -->',
        '## Shadow comparison (advisory): document-classifier',
        '',
        'Release `exec-r7` · commit `9d8c7b6a59483f2a9c1d0e8b7a6954c3b2a1f0e9` · window 2026-11-05T10:05:00.000Z → 2026-11-05T11:05:00.000Z (60 min)',
        '',
        '| | Production | Shadow |',
        '|---|--:|--:|',
        '| Invocations | 4,200 | 4,150 |',
        '| 5xx rate (95% interval) | 0.10% (0.04%–0.24%) | 0.46% (0.29%–0.71%) |',
        '| p95 latency | 82.0 ms | 101.0 ms |',
        '',
        '- 5xx rate difference (shadow − production): +0.36 pp (95% interval +0.14 pp to +0.63 pp)',
        '- p95 latency delta: +19.0 ms (+23.2%)',
        "- Paired on 4,130 matched requests (same `inferenceId` in both variants' data capture):",
        '  - Prediction agreement: 91.2% (95% interval 90.3%–92.0%, modified Wilson) on 4,120 requests both labelled',
        '  - Failure rate difference (shadow − production): +0.05 pp (95% interval −0.12 pp to +0.22 pp, Newcombe paired); 7 vs 5 answers that are not a prediction',
        '  - Latency difference per request (shadow − production): median +3.5 ms, p99 +41.0 ms, mean +4.2 ms (95% interval +3.8 to +4.6 ms) on 4,120 pairs',
        '',
        '### Findings',
        '',
        "- shadow served 4,150 invocations, 98.8% of production's 4,200",
        '- shadow 5xx error rate 0.46% \\[0.29, 0.71\\] vs production 0.10% \\[0.04, 0.24\\]; difference +0.36 points \\[+0.14, +0.63\\]',
        '- shadow 4xx error rate 0.48% \\[0.31, 0.74\\] vs production 0.50% \\[0.33, 0.76\\]; difference -0.02 points \\[-0.33, +0.30\\]',
        '- shadow p50 latency +10% (40 → 44 ms)',
        '- shadow p95 latency +23% (82 → 101 ms)',
        '- shadow p99 latency +25% (120 → 150 ms)',
        '- agreement 91.2% \\[90.3, 92.0\\] on 4,120 compared requests',
        '- paired on 4,130 matched requests (inferenceId); failure rate shadow 0.2% vs production 0.1%, difference +0.05 points \\[-0.12, +0.22\\]; latency difference per request median +3.5 ms, p99 +41 ms, mean +4.2 ms \\[+3.8 ms, +4.6 ms\\] on 4,120 pairs',
        '',
        '_Advisory only: the shadow comparison never blocks a release._',
        '',
      ].join('\n'),
    );
  });

  test('without CloudWatch metrics: says what was not compared and lists the findings', () => {
    const record = compared({
      report: null,
      metricsError: 'AccessDenied: cloudwatch:GetMetricData',
      findings: [
        'CloudWatch metrics could not be read (AccessDenied): errors and latency were not compared',
        'agreement 91.2% (3757 of 4120 compared requests)',
      ],
    });
    expect(renderShadowComment({ model: MODEL, commit: COMMIT, record })).toBe(
      [
        '<!-- mlops-shadow-report:document-classifier -->',
        '## Shadow comparison (advisory): document-classifier',
        '',
        'Release `exec-r7` · commit `9d8c7b6a59483f2a9c1d0e8b7a6954c3b2a1f0e9` · window 2026-11-05T10:05:00.000Z → 2026-11-05T11:05:00.000Z (60 min)',
        '',
        'CloudWatch metrics could not be read (AccessDenied: cloudwatch:GetMetricData): invocations, errors and latency were not compared.',
        '',
        '### Findings',
        '',
        '- CloudWatch metrics could not be read (AccessDenied): errors and latency were not compared',
        '- agreement 91.2% (3757 of 4120 compared requests)',
        '',
        '_Advisory only: the shadow comparison never blocks a release._',
        '',
      ].join('\n'),
    );
  });

  test('insufficient data notes get their own section', () => {
    const report = compareShadow({
      production: { invocations: 50, errors5xx: 0, errors4xx: 0, latencyMs: null },
      shadow: { invocations: 0, errors5xx: 0, errors4xx: 0, latencyMs: null },
      agreement: { agreements: 0, compared: 0 },
    });
    const record = compared({ report, findings: report.findings.map((f) => f.text) });
    expect(renderShadowComment({ model: MODEL, commit: COMMIT, record })).toBe(
      [
        '<!-- mlops-shadow-report:document-classifier -->',
        '## Shadow comparison (advisory): document-classifier',
        '',
        'Release `exec-r7` · commit `9d8c7b6a59483f2a9c1d0e8b7a6954c3b2a1f0e9` · window 2026-11-05T10:05:00.000Z → 2026-11-05T11:05:00.000Z (60 min)',
        '',
        '| | Production | Shadow |',
        '|---|--:|--:|',
        '| Invocations | 50 | 0 |',
        '| 5xx rate (95% interval) | 0.00% (0.00%–7.13%) | — |',
        '| p95 latency | — | — |',
        '',
        '- 5xx rate difference (shadow − production): not compared',
        '- p95 latency delta: not compared',
        '- **Unpaired**: no data capture was given: nothing was compared request by request',
        '',
        '### Findings',
        '',
        "- shadow served 0 invocations, 0.0% of production's 50",
        '- unpaired: no data capture was given: nothing was compared request by request',
        '',
        '### Insufficient data',
        '',
        '- production served 50 invocations in the window, fewer than 100: its error rates are too uncertain to compare; lengthen serving.shadow.windowMinutes',
        '- shadow served 0 invocations in the window, fewer than 100: its error rates cannot be computed; check the shadow sampling percentage and that the window had traffic',
        '- no latency datapoints for production and shadow: latency cannot be compared',
        '- only 0 requests compared for prediction agreement, fewer than 100: agreement cannot be computed; check that data capture records both variants',
        '',
        '_Advisory only: the shadow comparison never blocks a release._',
        '',
      ].join('\n'),
    );
  });

  test('a skipped report is one line saying why', () => {
    const record: ShadowReportRecord = {
      ...base,
      status: 'skipped',
      reason: 'first release of the model: no live endpoint to shadow',
      findings: [],
    };
    expect(renderShadowComment({ model: MODEL, commit: COMMIT, record })).toBe(
      [
        '<!-- mlops-shadow-report:document-classifier -->',
        '**Shadow comparison (advisory): document-classifier**: skipped for release `exec-r7` (first release of the model: no live endpoint to shadow); it never blocks a release.',
        '',
      ].join('\n'),
    );
  });

  test('text from the record is escaped and long lists are cut', () => {
    const record = compared({
      findings: [
        '<img src=x> @team *bold* | pipe',
        ...Array.from({ length: 24 }, (_, i) => `finding ${i + 1}`),
      ],
    });
    const body = renderShadowComment({ model: MODEL, commit: COMMIT, record });
    expect(body).toContain('- &lt;img src=x&gt; @\u200bteam \\*bold\\* \\| pipe\n');
    expect(body).toContain('- finding 19\n- _… and 5 more not shown._\n');
    expect(body).not.toContain('finding 20');
    expect(body).not.toContain('<img');
  });
});
