import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseEvalReport } from '../../lambdas/core/gates/eval-report';
import {
  RELEASE_RECORD_SCHEMA_VERSION,
  ReleaseRecordError,
  buildReleaseRecord,
  confidenceAlarmThreshold,
  releaseRecordSchema,
  type ReleaseRecordInput,
} from '../../lambdas/core/serving/promotion';
import { DEFAULT_REGRESSION_THRESHOLDS } from '../../lambdas/core/gates/regression-gate';

const reportPath = join(__dirname, '..', 'fixtures', 'eval', 'eval_report.json');
const reportText = readFileSync(reportPath, 'utf8');
const evalReport = parseEvalReport(reportText, 'eval_report.json');

const input: ReleaseRecordInput = {
  model: 'churn-classifier',
  modelVersion: '3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483',
  modelArtifactSha256: 'a'.repeat(64),
  evalSetMd5s: {
    golden_set: '3b1f0c2e9a7d4e6f8a0b1c2d3e4f5a6b',
    production_sample: '9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f.dir',
  },
  evalReport,
  thresholds: DEFAULT_REGRESSION_THRESHOLDS,
  decisions: [
    { gate: 'data-validation', verdict: 'pass', detail: 'schema ok; max JS distance 0.04 <= 0.1' },
    { gate: 'regression-gate', verdict: 'pass', detail: 'accuracy +0.4 points' },
    { gate: 'shadow', verdict: 'advisory', detail: 'agreement 91.2% [90.3, 92.0]' },
    { gate: 'canary', verdict: 'pass', detail: 'candidate config in service' },
  ],
  promotedBy: 'codepipeline:churn-release/7d1e',
  promotedAt: '2026-11-03T09:00:00Z',
  previousConfigName: 'churn-cfg-a1',
  candidateConfigName: 'churn-cfg-b2',
};

function problemsOf(bad: ReleaseRecordInput): readonly string[] {
  try {
    buildReleaseRecord(bad);
  } catch (error) {
    expect(error).toBeInstanceOf(ReleaseRecordError);
    return (error as ReleaseRecordError).problems;
  }
  throw new Error('expected buildReleaseRecord to throw');
}

describe('buildReleaseRecord', () => {
  test('records the release, with the eval report in its file format', () => {
    const record = buildReleaseRecord(input);
    expect(record).toEqual({
      schemaVersion: RELEASE_RECORD_SCHEMA_VERSION,
      model: 'churn-classifier',
      modelVersion: input.modelVersion,
      modelArtifactSha256: 'a'.repeat(64),
      evalSetMd5s: input.evalSetMd5s,
      evalReport: JSON.parse(reportText),
      thresholds: DEFAULT_REGRESSION_THRESHOLDS,
      decisions: input.decisions,
      promotedBy: 'codepipeline:churn-release/7d1e',
      promotedAt: '2026-11-03T09:00:00Z',
      previousConfigName: 'churn-cfg-a1',
      candidateConfigName: 'churn-cfg-b2',
    });
  });

  test('is strict JSON that the exported schema reads back unchanged', () => {
    const record = buildReleaseRecord(input);
    const reread = JSON.parse(JSON.stringify(record)) as unknown;
    expect(releaseRecordSchema.parse(reread)).toEqual(record);
    const withExtra = releaseRecordSchema.safeParse({ ...record, extra: 1 });
    expect(withExtra.error?.issues.map((i) => i.message)).toEqual(['Unrecognized key: "extra"']);
  });

  test('a missing artifact hash is stored as null; a first release has no previous config', () => {
    const record = buildReleaseRecord({ ...input, modelArtifactSha256: undefined, previousConfigName: null });
    expect(record.modelArtifactSha256).toBeNull();
    expect(record.previousConfigName).toBeNull();
  });

  test('refuses a promotion past a failed gate, and says nothing was promoted', () => {
    const bad = {
      ...input,
      decisions: [...input.decisions, { gate: 'bias', verdict: 'fail' as const, detail: 'gap +0.05' }],
    };
    expect(() => buildReleaseRecord(bad)).toThrow(
      'release record for promotion is invalid (1 problem); nothing was promoted:\n' +
        '  - decisions[4].verdict: gate "bias" failed (gap +0.05); a failed gate must stop the release before promotion',
    );
  });

  test.each<[string, Partial<ReleaseRecordInput>, string[]]>([
    [
      'hashes that disagree with the eval report',
      { evalSetMd5s: { golden_set: 'f'.repeat(32), extra_set: 'e'.repeat(32) } },
      [
        `evalSetMd5s.golden_set: md5 ${'f'.repeat(32)} differs from the eval report's dataset_md5 3b1f0c2e9a7d4e6f8a0b1c2d3e4f5a6b`,
        'evalSetMd5s.extra_set: eval set "extra_set" is not in the eval report',
        'evalSetMd5s: eval set "production_sample" of the eval report has no md5',
      ],
    ],
    [
      'a report of another model and version',
      { model: 'fraud', modelVersion: 'abc' },
      [
        'evalReport.model: the eval report is for model "churn-classifier", not "fraud"',
        'evalReport.model_version: the eval report is for version "3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483", not "abc"',
      ],
    ],
    [
      'a malformed hash and date',
      { modelArtifactSha256: 'ABC', promotedAt: '2026-11-03 09:00' },
      [
        'modelArtifactSha256: a SHA-256 digest: 64 lowercase hex digits',
        'promotedAt: an ISO 8601 date-time with a time zone',
      ],
    ],
    [
      'an invalid config name and the same config twice',
      { previousConfigName: 'churn_cfg', candidateConfigName: 'churn_cfg' },
      [
        'previousConfigName: a SageMaker endpoint config name: 1-63 letters, digits and hyphens, not starting or ending with "-"',
        'candidateConfigName: a SageMaker endpoint config name: 1-63 letters, digits and hyphens, not starting or ending with "-"',
        'candidateConfigName: the candidate config "churn_cfg" is also the previous one; promotion must move a ' +
          'different config to the standby endpoint',
      ],
    ],
    [
      'the candidate config equal to the previous one',
      { previousConfigName: 'churn-cfg-b2' },
      [
        'candidateConfigName: the candidate config "churn-cfg-b2" is also the previous one; promotion must move a ' +
          'different config to the standby endpoint',
      ],
    ],
    [
      'no decisions, an empty promoter and a negative threshold',
      {
        decisions: [],
        promotedBy: ' ',
        thresholds: { ...DEFAULT_REGRESSION_THRESHOLDS, maxCostIncreasePct: -1 },
      },
      [
        'thresholds.maxCostIncreasePct: a number >= 0',
        'decisions: at least one gate decision',
        'promotedBy: a non-empty string',
      ],
    ],
    [
      'a gate recorded twice',
      { decisions: [input.decisions[0], input.decisions[0]] },
      ['decisions[1].gate: gate "data-validation" is recorded twice'],
    ],
  ])('refuses %s, naming each problem', (_label, change, problems) => {
    expect(problemsOf({ ...input, ...change })).toEqual(problems);
  });
});

describe('confidenceAlarmThreshold', () => {
  test('is mean - k·σ', () => {
    expect(confidenceAlarmThreshold(0.88, 0.05, 2)).toBeCloseTo(0.78, 15);
  });

  test('is clamped to [0, 1]', () => {
    expect(confidenceAlarmThreshold(0.3, 0.2, 3)).toBe(0);
    expect(confidenceAlarmThreshold(1, 0, 2)).toBe(1);
  });

  test.each<[number, number, number, string]>([
    [
      1.2,
      0.1,
      2,
      "confidenceAlarmThreshold: mean confidence must be between 0 and 1, got 1.2; take it from the promoted model's eval report (confidence.mean)",
    ],
    [0.8, -0.1, 2, 'confidenceAlarmThreshold: standard deviation must be a finite number >= 0, got -0.1'],
    [
      0.8,
      Number.NaN,
      2,
      'confidenceAlarmThreshold: standard deviation must be a finite number >= 0, got NaN',
    ],
    [
      0.8,
      0.1,
      0,
      'confidenceAlarmThreshold: k must be a finite number > 0, got 0; set monitoring.confidenceStdDevs (default 3)',
    ],
  ])('rejects mean %p, σ %p, k %p', (mean, std, k, message) => {
    expect(() => confidenceAlarmThreshold(mean, std, k)).toThrow(new RangeError(message));
  });

  const mean = fc.double({ min: 0, max: 1, noNaN: true });
  const std = fc.double({ min: 0, max: 1, noNaN: true });
  const k = fc.double({ min: Number.MIN_VALUE, max: 10, noNaN: true });

  test('stays in [0, mean] and falls (never rises) as k grows', () => {
    fc.assert(
      fc.property(mean, std, k, k, (m, s, k1, k2) => {
        const [small, large] = k1 <= k2 ? [k1, k2] : [k2, k1];
        const a = confidenceAlarmThreshold(m, s, small);
        const b = confidenceAlarmThreshold(m, s, large);
        expect(b).toBeLessThanOrEqual(a);
        expect(a).toBeLessThanOrEqual(m);
        expect(b).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  test('falls as σ grows', () => {
    fc.assert(
      fc.property(mean, std, std, k, (m, s1, s2, kk) => {
        const [small, large] = s1 <= s2 ? [s1, s2] : [s2, s1];
        expect(confidenceAlarmThreshold(m, large, kk)).toBeLessThanOrEqual(
          confidenceAlarmThreshold(m, small, kk),
        );
      }),
    );
  });
});
