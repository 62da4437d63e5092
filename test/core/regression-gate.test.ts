import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { RegressionThresholds } from '../../lambdas/core/contracts/records';
import { parseEvalReport, type EvalReport, type EvalSetMetrics } from '../../lambdas/core/gates/eval-report';
import {
  checkRegression,
  DEFAULT_REGRESSION_THRESHOLDS,
  REGRESSION_TOLERANCE,
  type RegressionCheck,
  type RegressionResult,
} from '../../lambdas/core/gates/regression-gate';

const FIXTURES = join(__dirname, '..', 'fixtures', 'eval');
const fixture = (name: string) => parseEvalReport(readFileSync(join(FIXTURES, name), 'utf8'), name);
const BASELINE = fixture('baseline_metrics.json');
const CANDIDATE = fixture('eval_report.json');
const REGRESSED = fixture('eval_report_regressed.json');
const T = DEFAULT_REGRESSION_THRESHOLDS;

/** A copy of `report` with some metrics of one eval set replaced. */
function withMetrics(report: EvalReport, evalSet: string, changes: Partial<EvalSetMetrics>): EvalReport {
  return {
    ...report,
    evalSets: { ...report.evalSets, [evalSet]: { ...report.evalSets[evalSet], ...changes } },
  };
}

function withoutEvalSet(report: EvalReport, evalSet: string): EvalReport {
  return {
    ...report,
    evalSets: Object.fromEntries(Object.entries(report.evalSets).filter(([k]) => k !== evalSet)),
  };
}

function find(
  result: RegressionResult,
  evalSet: string | null,
  check: RegressionCheck['check'],
): RegressionCheck {
  const found = result.checks.find((c) => c.evalSet === evalSet && c.check === check);
  if (!found) throw new Error(`no ${check} check for ${evalSet} in ${JSON.stringify(result.checks)}`);
  return found;
}

/** Golden-set check of one metric after setting baseline and candidate values for it. */
function gate(
  metric: 'accuracy' | 'p95LatencyMs' | 'costPer1kRequests',
  baseline: number,
  candidate: number,
  thresholds: RegressionThresholds = T,
): RegressionCheck {
  const result = checkRegression(
    withMetrics(BASELINE, 'golden_set', { [metric]: candidate }),
    withMetrics(BASELINE, 'golden_set', { [metric]: baseline }),
    thresholds,
  );
  return find(result, 'golden_set', metric);
}

function gapCheck(baselineSlices: Record<string, number>, candidateSlices: Record<string, number>) {
  const result = checkRegression(
    withMetrics(BASELINE, 'golden_set', { sliceAccuracy: candidateSlices }),
    withMetrics(BASELINE, 'golden_set', { sliceAccuracy: baselineSlices }),
    T,
  );
  return find(result, 'golden_set', 'biasGap');
}

test('default thresholds are the documented ones', () => {
  expect(DEFAULT_REGRESSION_THRESHOLDS).toEqual({
    maxAccuracyDrop: 0.02,
    maxLatencyIncreasePct: 15,
    maxCostIncreasePct: 10,
    maxBiasGapIncrease: 0.03,
  });
});

describe('the fixtures', () => {
  test('a candidate within every threshold passes with one check per metric per eval set', () => {
    const result = checkRegression(CANDIDATE, BASELINE, T);

    expect(result.verdict).toBe('pass');
    expect(result.firstRelease).toBe(false);
    expect(result.baselineVersion).toBe(BASELINE.modelVersion);
    expect(result.candidateVersion).toBe(CANDIDATE.modelVersion);
    expect(result.checks.map((c) => `${c.evalSet}/${c.check}/${c.verdict}`)).toEqual([
      'golden_set/dataset/pass',
      'golden_set/accuracy/pass',
      'golden_set/p95LatencyMs/pass',
      'golden_set/costPer1kRequests/pass',
      'golden_set/biasGap/pass',
      'production_sample/dataset/pass',
      'production_sample/accuracy/pass',
      'production_sample/p95LatencyMs/pass',
      'production_sample/costPer1kRequests/pass',
      'production_sample/biasGap/pass',
    ]);
    expect(result.summary).toBe('PASS: 10 checks passed');
  });

  test('the regressed candidate fails on each golden_set metric with the numbers computed independently', () => {
    const expected = JSON.parse(readFileSync(join(FIXTURES, 'regressed_expected.json'), 'utf8')).evalSets;
    const result = checkRegression(REGRESSED, BASELINE, T);

    expect(result.verdict).toBe('fail');
    for (const evalSet of ['golden_set', 'production_sample']) {
      const want = expected[evalSet];
      expect(find(result, evalSet, 'accuracy').delta).toBeCloseTo(want.accuracyDelta, 12);
      expect(find(result, evalSet, 'p95LatencyMs').deltaPct).toBeCloseTo(want.p95LatencyDeltaPct, 10);
      expect(find(result, evalSet, 'costPer1kRequests').deltaPct).toBeCloseTo(want.costDeltaPct, 10);
      expect(find(result, evalSet, 'biasGap').baseline).toBeCloseTo(want.biasGapBaseline, 12);
      expect(find(result, evalSet, 'biasGap').candidate).toBeCloseTo(want.biasGapCandidate, 12);
    }

    expect(find(result, 'golden_set', 'accuracy')).toMatchObject({
      baseline: 0.94,
      candidate: 0.91,
      threshold: 0.02,
      thresholdKey: 'maxAccuracyDrop',
      verdict: 'fail',
      reason:
        'golden_set accuracy 0.940 → 0.910 (−0.030) exceeds the allowed drop 0.020; unpaired, n = 5,000 vs 5,000 ' +
        '(no per-example results): drop 90% CI 0.021 to 0.039, fails by the interval',
      outcome: 'fail',
      decidedBy: 'interval',
      paired: false,
    });
    expect(find(result, 'golden_set', 'p95LatencyMs')).toMatchObject({
      baseline: 120,
      candidate: 140,
      delta: 20,
      verdict: 'fail',
      reason:
        'golden_set p95 latency 120.0 ms → 140.0 ms (+16.7%) exceeds the allowed increase 15%; compared: ' +
        "each report's p95 over its 5,000 (candidate) and 5,000 (baseline) rows, point estimates with a relative threshold",
      decidedBy: 'point-estimate',
    });
    expect(find(result, 'golden_set', 'costPer1kRequests').reason).toMatch(
      /^golden_set cost per 1k requests 0\.4200 USD → 0\.4700 USD \(\+11\.9%\) exceeds the allowed increase 10%; compared: each report's stated cost/,
    );
    expect(find(result, 'golden_set', 'biasGap').reason).toBe(
      'golden_set bias gap (best − worst slice accuracy) 0.040 → 0.080 (+0.040) exceeds the allowed increase 0.030; ' +
        'candidate best slice "region=eu", worst "region=apac"; no per-example results on both sides, so no interval: point estimate',
    );
    expect(result.checks.filter((c) => c.evalSet === 'production_sample').map((c) => c.verdict)).toEqual(
      Array(5).fill('pass'),
    );
    expect(result.summary).toMatch(/^FAIL: 4 of 10 checks failed: golden_set accuracy .*; and 1 more$/);
  });

  test('the result is strict JSON', () => {
    const result = checkRegression(REGRESSED, BASELINE, T);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });
});

describe('accuracy: baseline − candidate ≤ maxAccuracyDrop', () => {
  test('a drop of exactly the threshold passes although 0.92 − 0.90 is 0.020000000000000018', () => {
    expect(0.92 - 0.9).toBeGreaterThan(0.02);
    const check = gate('accuracy', 0.92, 0.9);
    expect(check.verdict).toBe('pass');
    expect(check.reason).toBe(
      'golden_set accuracy 0.920 → 0.900 (−0.020) is within the allowed drop 0.020; unpaired, n = 5,000 vs 5,000 ' +
        '(no per-example results): drop 90% CI 0.011 to 0.029, inconclusive; passes by the point estimate ' +
        '(onInconclusive: point-estimate)',
    );
    expect(check).toMatchObject({ outcome: 'inconclusive', decidedBy: 'point-estimate' });
    expect(gate('accuracy', 0.94, 0.92).verdict).toBe('pass'); // 0.019999999999999907: below, also passes
  });

  test('a drop just past the tolerance fails, printed with enough digits to see why', () => {
    const check = gate('accuracy', 0.94, 0.9199);
    expect(check.verdict).toBe('fail');
    expect(check.reason).toBe(
      'golden_set accuracy 0.9400 → 0.9199 (−0.0201) exceeds the allowed drop 0.0200; unpaired, n = 5,000 vs 5,000 ' +
        '(no per-example results): drop 90% CI 0.012 to 0.028, inconclusive; fails by the point estimate ' +
        '(onInconclusive: point-estimate)',
    );
  });

  test('the tolerance is tiny: 2e-9 past the threshold fails, 0.5e-9 past passes', () => {
    expect(REGRESSION_TOLERANCE).toBe(1e-9);
    const t = { ...T, maxAccuracyDrop: 0.25 }; // 0.5 and 0.25 are exact in binary: no other float noise
    expect(gate('accuracy', 0.5, 0.25 - 2e-9, t).verdict).toBe('fail');
    expect(gate('accuracy', 0.5, 0.25 - 0.5e-9, t).verdict).toBe('pass');
  });

  test('an improvement passes', () => {
    expect(gate('accuracy', 0.9, 0.95).verdict).toBe('pass');
  });

  test('a zero threshold allows no drop at all', () => {
    const t = { ...T, maxAccuracyDrop: 0 };
    expect(gate('accuracy', 0.9, 0.9, t).verdict).toBe('pass');
    expect(gate('accuracy', 0.9, 0.899, t).verdict).toBe('fail');
  });
});

describe('p95 latency and cost: increase in percent of the baseline', () => {
  test('exactly 15 % more latency passes, 15.01 % fails', () => {
    expect(gate('p95LatencyMs', 100, 115)).toMatchObject({ verdict: 'pass', deltaPct: 15, delta: 15 });
    const over = gate('p95LatencyMs', 100, 115.01);
    expect(over.verdict).toBe('fail');
    expect(over.reason).toBe(
      'golden_set p95 latency 100.0 ms → 115.0 ms (+15.01%) exceeds the allowed increase 15%; compared: ' +
        "each report's p95 over its 5,000 (candidate) and 5,000 (baseline) rows, point estimates with a relative threshold",
    );
  });

  test('exactly 10 % more cost passes although (0.33 − 0.3) / 0.3 is 10.000000000000009 %', () => {
    const check = gate('costPer1kRequests', 0.3, 0.33);
    expect(check.deltaPct).toBeGreaterThan(10);
    expect(check.verdict).toBe('pass');
    expect(check.reason).toBe(
      'golden_set cost per 1k requests 0.3000 USD → 0.3300 USD (+10.0%) is within the allowed increase 10%; ' +
        "compared: each report's stated cost per 1k requests, point estimates with a relative threshold",
    );
  });

  test('faster and cheaper pass with negative deltas', () => {
    expect(gate('p95LatencyMs', 200, 150)).toMatchObject({ verdict: 'pass', delta: -50, deltaPct: -25 });
    expect(gate('costPer1kRequests', 0.5, 0.25)).toMatchObject({ verdict: 'pass', deltaPct: -50 });
  });

  test('a zero baseline: zero to zero passes at 0 %, zero to anything fails (percent undefined)', () => {
    expect(gate('costPer1kRequests', 0, 0)).toMatchObject({ verdict: 'pass', deltaPct: 0, delta: 0 });
    const check = gate('costPer1kRequests', 0, 0.01);
    expect(check).toMatchObject({ verdict: 'fail', deltaPct: null, delta: 0.01 });
    expect(check.reason).toMatch(
      /baseline is 0, so the increase in percent is unbounded; re-evaluate the baseline/,
    );
    expect(gate('p95LatencyMs', 0, 50).verdict).toBe('fail');
  });

  test('costs in different currencies are not compared', () => {
    const result = checkRegression({ ...CANDIDATE, currency: 'EUR' }, BASELINE, T);
    const cost = find(result, 'golden_set', 'costPer1kRequests');
    expect(cost.verdict).toBe('fail');
    expect(cost.reason).toMatch(/candidate reports EUR but the baseline USD/);
  });
});

describe('bias gap: best − worst slice accuracy may grow by at most maxBiasGapIncrease', () => {
  test('growth of exactly the threshold passes, a little more fails', () => {
    // (0.95 − 0.88) − (0.95 − 0.91) is 0.030000000000000027 in floating point.
    const ok = gapCheck({ a: 0.95, b: 0.91 }, { a: 0.95, b: 0.88 });
    expect(ok.verdict).toBe('pass');
    expect(ok.delta).toBeCloseTo(0.03, 12);
    const over = gapCheck({ a: 0.95, b: 0.91 }, { a: 0.95, b: 0.879 });
    expect(over.verdict).toBe('fail');
    expect(over.reason).toMatch(
      /0\.040 → 0\.071 \(\+0\.031\) exceeds the allowed increase 0\.030; candidate best slice "a", worst "b"/,
    );
  });

  test('a slice that gets better can widen the gap too: it is the spread that counts', () => {
    expect(gapCheck({ a: 0.9, b: 0.88 }, { a: 0.99, b: 0.88 }).verdict).toBe('fail');
  });

  test('a baseline slice missing from the candidate fails: dropping the worst slice must not hide a gap', () => {
    const check = gapCheck({ a: 0.95, b: 0.9, worst: 0.7 }, { a: 0.95, b: 0.9 });
    expect(check.verdict).toBe('fail');
    expect(check.reason).toMatch(/slice\(s\) "worst" are in the baseline but missing from the candidate/);
  });

  test('a slice new in the candidate counts in its gap', () => {
    expect(gapCheck({ a: 0.95, b: 0.9 }, { a: 0.95, b: 0.9, c: 0.8 }).verdict).toBe('fail');
    expect(gapCheck({ a: 0.95, b: 0.9 }, { a: 0.95, b: 0.9, c: 0.93 }).verdict).toBe('pass');
  });

  test('a slice named like an Object.prototype member is still seen as missing', () => {
    expect(gapCheck({ a: 0.95, constructor: 0.7 }, { a: 0.95, b: 0.9 }).verdict).toBe('fail');
  });

  test('fewer than two slices cannot give a gap and fails', () => {
    const check = gapCheck({ a: 0.95, b: 0.9 }, { a: 0.95 });
    expect(check.verdict).toBe('fail');
    expect(check.reason).toMatch(/candidate has 1 slice\(s\); a bias gap needs at least two/);
  });
});

describe('fails closed', () => {
  test('an eval set in the baseline but missing from the candidate fails', () => {
    const result = checkRegression(withoutEvalSet(CANDIDATE, 'production_sample'), BASELINE, T);
    expect(result.verdict).toBe('fail');
    expect(find(result, 'production_sample', 'evalSet')).toMatchObject({
      verdict: 'fail',
      reason:
        'production_sample is in the baseline but missing from the candidate report: the evaluate command must report every eval set',
    });
  });

  test.each([
    ['NaN', Number.NaN],
    ['negative', -1],
    ['infinite', Number.POSITIVE_INFINITY],
  ])('a %s candidate metric fails and is null in the JSON result', (_label, value) => {
    const result = checkRegression(
      withMetrics(CANDIDATE, 'golden_set', { p95LatencyMs: value }),
      BASELINE,
      T,
    );
    const check = find(result, 'golden_set', 'p95LatencyMs');
    expect(check.verdict).toBe('fail');
    expect(check.reason).toBe(
      `golden_set p95 latency: the candidate value is ${value}; expected a finite number >= 0`,
    );
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    if (!Number.isFinite(value)) expect(check.candidate).toBeNull();
  });

  test('an accuracy above 1 or a NaN baseline metric fails', () => {
    expect(gate('accuracy', 0.9, 1.5).verdict).toBe('fail');
    const check = gate('accuracy', Number.NaN, 0.9);
    expect(check).toMatchObject({ verdict: 'fail', baseline: null, delta: null });
    expect(check.reason).toMatch(/the baseline value is NaN/);
  });

  test('a metric missing from a report built in code fails', () => {
    const rest: Record<string, unknown> = { ...CANDIDATE.evalSets.golden_set };
    delete rest.accuracy;
    const broken = {
      ...CANDIDATE,
      evalSets: { ...CANDIDATE.evalSets, golden_set: rest as unknown as EvalSetMetrics },
    };
    const check = find(checkRegression(broken, BASELINE, T), 'golden_set', 'accuracy');
    expect(check.verdict).toBe('fail');
    expect(check.reason).toMatch(/candidate value is undefined/);
  });

  test('a threshold that is negative or not a number fails the check it governs', () => {
    const negative = checkRegression(CANDIDATE, BASELINE, { ...T, maxCostIncreasePct: -5 });
    const cost = find(negative, 'golden_set', 'costPer1kRequests');
    expect(cost).toMatchObject({ verdict: 'fail', threshold: null });
    expect(cost.reason).toMatch(/threshold maxCostIncreasePct is -5; expected a finite number >= 0/);
    expect(find(negative, 'golden_set', 'accuracy').verdict).toBe('pass');
    expect(checkRegression(CANDIDATE, BASELINE, { ...T, maxAccuracyDrop: Number.NaN }).verdict).toBe('fail');
  });

  test('a changed eval set md5 fails unless dataset changes are allowed', () => {
    const rePinned = withMetrics(CANDIDATE, 'golden_set', { datasetMd5: 'ffffffffffffffffffffffffffffffff' });
    const strict = checkRegression(rePinned, BASELINE, T);
    expect(strict.verdict).toBe('fail');
    expect(find(strict, 'golden_set', 'dataset').reason).toMatch(
      /^golden_set was evaluated on dataset md5 f{32} but the baseline on 3b1f0c2e.*: re-evaluate the baseline/,
    );

    const allowed = checkRegression(rePinned, BASELINE, T, { allowDatasetChange: true });
    expect(allowed.verdict).toBe('pass');
    expect(allowed.notes).toEqual([
      expect.stringMatching(/^golden_set was evaluated on dataset md5 .*allowed/),
    ]);
  });

  test('a baseline of another model fails', () => {
    const result = checkRegression(CANDIDATE, { ...BASELINE, model: 'fraud-detector' }, T);
    expect(find(result, null, 'model')).toMatchObject({ verdict: 'fail' });
    expect(result.verdict).toBe('fail');
  });

  test('an eval set the config requires fails when missing, even on a first release', () => {
    const result = checkRegression(withoutEvalSet(CANDIDATE, 'production_sample'), undefined, T, {
      requiredEvalSets: ['golden_set', 'production_sample'],
    });
    expect(result.verdict).toBe('fail');
    expect(find(result, 'production_sample', 'evalSet').reason).toMatch(
      /declared in the model's config but missing from the candidate report/,
    );
  });
});

describe('nothing to compare', () => {
  test('no baseline: first release passes with an explicit note', () => {
    const result = checkRegression(CANDIDATE, undefined, T);
    expect(result).toMatchObject({ verdict: 'pass', firstRelease: true, baselineVersion: null });
    expect(result.notes[0]).toMatch(/^no baseline: first release/);
    expect(result.summary).toBe('PASS: no baseline: first release; 8 checks passed');
    expect(find(result, 'golden_set', 'accuracy')).toMatchObject({
      verdict: 'pass',
      baseline: null,
      candidate: 0.935,
      reason: 'golden_set accuracy 0.935: no baseline (first release), nothing to compare',
    });
  });

  test('a first release with a broken metric still fails', () => {
    const broken = withMetrics(CANDIDATE, 'golden_set', { costPer1kRequests: Number.NaN });
    expect(checkRegression(broken, undefined, T).verdict).toBe('fail');
  });

  test('an eval set new in the candidate passes with a note', () => {
    const result = checkRegression(CANDIDATE, withoutEvalSet(BASELINE, 'production_sample'), T);
    expect(result.verdict).toBe('pass');
    expect(find(result, 'production_sample', 'accuracy').reason).toMatch(
      /no baseline for this eval set \(new eval set\)/,
    );
    expect(result.notes).toEqual([
      expect.stringMatching(/^production_sample is new: the baseline has no metrics for it/),
    ]);
  });
});

describe('eval sets too small to decide their accuracy margin', () => {
  const small = (r: EvalReport) => withMetrics(r, 'golden_set', { rowCount: 500 });

  test('500 rows and a 0.02 margin: about 1,550 needed at the assumed discordance, which the note names', () => {
    const result = checkRegression(small(CANDIDATE), small(BASELINE), T);
    const message =
      'golden_set: 500 rows cannot decide a 0.02 accuracy margin; about 1,550 needed (paired, at an assumed ' +
      'discordance of 0.1 (thresholds.assumedDiscordance); per-example results on both sides give the observed one)';
    expect(result.undersized).toEqual([{ evalSet: 'golden_set', rows: 500, rowsNeeded: 1546, message }]);
    expect(result.notes).toContain(message);
    expect(result.verdict).toBe('pass');
  });

  test('the assumed discordance comes from thresholds.assumedDiscordance; enough rows give no note', () => {
    const result = checkRegression(small(CANDIDATE), small(BASELINE), T, { assumedDiscordance: 0.02 });
    expect(result.undersized).toEqual([]);
    expect(checkRegression(CANDIDATE, BASELINE, T).undersized).toEqual([]);
  });
});

describe('properties', () => {
  const fraction = fc.double({ min: 0, max: 1, noNaN: true });
  const positive = fc.double({ min: 0, max: 1000, noNaN: true });
  const metrics = fc.record({
    accuracy: fraction,
    p95LatencyMs: positive,
    costPer1kRequests: positive,
    sliceAccuracy: fc.record({ a: fraction, b: fraction, c: fraction }),
  });
  const thresholds = fc.record({
    maxAccuracyDrop: fc.double({ min: 0, max: 0.2, noNaN: true }),
    maxLatencyIncreasePct: fc.double({ min: 0, max: 50, noNaN: true }),
    maxCostIncreasePct: fc.double({ min: 0, max: 50, noNaN: true }),
    maxBiasGapIncrease: fc.double({ min: 0, max: 0.2, noNaN: true }),
  });
  const looser = fc.record({
    maxAccuracyDrop: fc.double({ min: 0, max: 0.1, noNaN: true }),
    maxLatencyIncreasePct: fc.double({ min: 0, max: 20, noNaN: true }),
    maxCostIncreasePct: fc.double({ min: 0, max: 20, noNaN: true }),
    maxBiasGapIncrease: fc.double({ min: 0, max: 0.1, noNaN: true }),
  });
  // Candidates near the baseline, so that verdicts sit on both sides of the thresholds.
  const pair = fc.tuple(metrics, fc.double({ min: -0.3, max: 0.3, noNaN: true })).map(([base, shift]) => {
    const clamp = (x: number) => Math.min(1, Math.max(0, x));
    const cand = {
      accuracy: clamp(base.accuracy - shift / 3),
      p95LatencyMs: base.p95LatencyMs * (1 + shift),
      costPer1kRequests: base.costPer1kRequests * (1 + shift / 2),
      sliceAccuracy: { ...base.sliceAccuracy, c: clamp(base.sliceAccuracy.c - shift / 4) },
    };
    return [withMetrics(BASELINE, 'golden_set', base), withMetrics(BASELINE, 'golden_set', cand)] as const;
  });
  const add = (t: RegressionThresholds, d: RegressionThresholds): RegressionThresholds => ({
    maxAccuracyDrop: t.maxAccuracyDrop + d.maxAccuracyDrop,
    maxLatencyIncreasePct: t.maxLatencyIncreasePct + d.maxLatencyIncreasePct,
    maxCostIncreasePct: t.maxCostIncreasePct + d.maxCostIncreasePct,
    maxBiasGapIncrease: t.maxBiasGapIncrease + d.maxBiasGapIncrease,
  });

  test('verdicts are monotone in thresholds: loosening never fails a pass, tightening never passes a fail', () => {
    let flips = 0;
    fc.assert(
      fc.property(pair, thresholds, looser, ([baseline, candidate], tight, extra) => {
        const strict = checkRegression(candidate, baseline, tight);
        const loose = checkRegression(candidate, baseline, add(tight, extra));
        expect(loose.checks.map((c) => [c.evalSet, c.check])).toEqual(
          strict.checks.map((c) => [c.evalSet, c.check]),
        );
        strict.checks.forEach((s, i) => {
          const l = loose.checks[i];
          if (s.verdict === 'pass') expect(l.verdict).toBe('pass'); // loosening
          if (l.verdict === 'fail') expect(s.verdict).toBe('fail'); // tightening
          if (s.verdict !== l.verdict) flips++;
        });
        if (strict.verdict === 'pass') expect(loose.verdict).toBe('pass');
      }),
      { numRuns: 500 },
    );
    expect(flips).toBeGreaterThan(0); // the generators do reach the thresholds
  });

  test('the overall verdict fails exactly when some check fails, and the result is strict JSON', () => {
    fc.assert(
      fc.property(pair, thresholds, ([baseline, candidate], t) => {
        const result = checkRegression(candidate, baseline, t);
        expect(result.verdict === 'fail').toBe(result.checks.some((c) => c.verdict === 'fail'));
        expect(JSON.parse(JSON.stringify(result))).toEqual(result);
      }),
    );
  });

  test('comparing a report with itself passes at any thresholds', () => {
    fc.assert(
      fc.property(pair, thresholds, ([baseline], t) => {
        expect(checkRegression(baseline, baseline, t).verdict).toBe('pass');
      }),
    );
  });
});
