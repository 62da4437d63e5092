import fc from 'fast-check';
import {
  countAgreement,
  type CaptureAgreement,
  type CaptureRecord,
} from '../../lambdas/core/serving/data-capture';
import { binomialInterval, pairedDifferenceInterval } from '../../lambdas/core/statistics/gate-stats';
import { compareShadow, pairingText } from '../../lambdas/core/serving/shadow';
import { comparePaired, DEFAULT_MIN_LATENCY_PAIRS } from '../../lambdas/core/serving/shadow-paired';
import { wilsonInterval } from '../../lambdas/core/statistics/stats';

const variants = { production: 'live', shadow: 'shadow' };

/** Both variants' records of `n` requests; `shadowLabel(i)` and latencies per request. */
function window(
  n: number,
  shadowLabel: (i: number) => string | undefined,
  latency?: (i: number) => [number, number],
): CaptureRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const [p, s] = latency?.(i) ?? [undefined, undefined];
    const label = shadowLabel(i);
    return [
      {
        eventId: `p-${i}`,
        inferenceId: `req-${i}`,
        variant: 'live',
        outputCaptured: true,
        outputLabel: 'invoice',
        ...(p === undefined ? {} : { outputLatencyMs: p }),
      },
      {
        eventId: `s-${i}`,
        inferenceId: `req-${i}`,
        variant: 'shadow',
        outputCaptured: true,
        ...(label === undefined ? {} : { outputLabel: label }),
        ...(s === undefined ? {} : { outputLatencyMs: s }),
      },
    ];
  }).flat();
}

describe('comparePaired', () => {
  test('agreement uses the modified Wilson: with 2 disagreements in 200 the lower bound is the Poisson one', () => {
    const pairing = countAgreement(
      window(200, (i) => (i < 2 ? 'receipt' : 'invoice')),
      variants,
    );
    const paired = comparePaired(pairing, null);
    expect(paired.status).toBe('paired');
    if (paired.status !== 'paired') return;
    expect(paired.matched).toBe(200);
    expect(paired.agreement).toEqual({ ...binomialInterval(198, 200), agreements: 198, compared: 200 });
    // The plain Wilson upper bound is lower than the modified one near 1 (it under-covers there).
    expect(paired.agreement!.upper).toBeGreaterThan(wilsonInterval(198, 200).upper);
  });

  test('failure rate difference is shadow minus production, from the paired table (Newcombe)', () => {
    // 1,000 requests: the shadow fails 30 of them, production fails 10, 5 of which both fail.
    const records = window(1000, (i) => (i < 30 ? undefined : 'invoice'));
    for (const r of records) {
      const i = Number(r.inferenceId!.slice(4));
      if (r.variant === 'live' && (i < 5 || (i >= 500 && i < 505)))
        delete (r as { outputLabel?: string }).outputLabel;
    }
    const pairing = countAgreement(records, variants);
    expect(pairing.failures).toEqual({
      bothFailed: 5,
      productionOnly: 5,
      shadowOnly: 25,
      neitherFailed: 965,
    });
    const paired = comparePaired(pairing, null);
    if (paired.status !== 'paired') throw new Error('expected a paired comparison');
    const success = pairedDifferenceInterval({
      bothCorrect: 965,
      candidateOnly: 5,
      baselineOnly: 25,
      neitherCorrect: 5,
    });
    expect(paired.failureRateDifference).toEqual({
      estimate: expect.closeTo(0.02, 12),
      lower: 0 - success.upper,
      upper: 0 - success.lower,
      n: 1000,
      productionFailed: 10,
      shadowFailed: 30,
    });
    expect(paired.failureRateDifference.lower).toBeGreaterThan(0);
  });

  test('latency: median and p99 of per-request differences, a mean interval only from the minimum pairs on', () => {
    const many = comparePaired(
      countAgreement(
        window(
          200,
          () => 'invoice',
          (i) => [40 + (i % 10), 45 + (i % 10) + (i === 0 ? 100 : 0)],
        ),
        variants,
      ),
      null,
    );
    if (many.status !== 'paired' || many.latency === null) throw new Error('expected paired latency');
    expect(many.latency.pairs).toBe(200);
    expect(many.latency.medianMs).toBe(5);
    expect(many.latency.p99Ms).toBeCloseTo(5, 9);
    expect(many.latency.meanMs).toBeCloseTo(5.5, 9);
    expect(many.latency.meanInterval!.lower).toBeLessThan(5.5);
    expect(many.latency.meanInterval!.upper).toBeGreaterThan(5.5);
    expect(many.latency.tooFew).toBeNull();

    const few = comparePaired(
      countAgreement(
        window(
          DEFAULT_MIN_LATENCY_PAIRS - 1,
          () => 'invoice',
          () => [40, 42],
        ),
        variants,
      ),
      null,
    );
    if (few.status !== 'paired' || few.latency === null) throw new Error('expected paired latency');
    expect(few.latency.meanInterval).toBeNull();
    expect(few.latency.tooFew).toBe(
      'only 99 requests with a latency on both sides, fewer than 100: too few for an interval on the mean difference',
    );
    expect(pairingText(few)).toContain('(only 99 requests with a latency on both sides');
  });

  test('answers without latencyMs: latency is left to CloudWatch, and the report says so', () => {
    const paired = comparePaired(
      countAgreement(
        window(50, () => 'invoice'),
        variants,
      ),
      null,
    );
    if (paired.status !== 'paired') throw new Error('expected a paired comparison');
    expect(paired.latency).toBeNull();
    expect(paired.latencyNote).toMatch(
      /^latency not compared request by request: the answers carry no latencyMs/,
    );
  });

  test('nothing paired: the reason names what was missing', () => {
    const noIds = countAgreement(
      window(10, () => 'invoice').map(({ inferenceId: _id, ...rest }) => rest),
      variants,
    );
    const paired = comparePaired(noIds, null);
    expect(paired).toEqual({
      status: 'unpaired',
      reason:
        'compared nothing: production has 10 capture records and shadow 10, but no request appears in both with ' +
        'an inferenceId and an answer; 10 production and 10 shadow records carry no inferenceId (the caller sent ' +
        'no InferenceId: requests that bypass the router, or a router older than this platform version). ' +
        'Agreement, paired errors and paired latency were NOT compared',
    });
    expect(comparePaired(countAgreement([], variants), null)).toEqual({
      status: 'unpaired',
      reason:
        'no data capture records from either variant in the window: nothing was compared request by request; ' +
        'check serving.dataCapture.samplingPercent and that the window had traffic',
    });
    const shadowOnlyEmpty = countAgreement(
      window(3, () => 'invoice').filter((r) => r.variant === 'live'),
      variants,
    );
    expect(comparePaired(shadowOnlyEmpty, null)).toEqual({
      status: 'unpaired',
      reason:
        'the shadow variant has no data capture records in the window (the other has 3 records): nothing was ' +
        'compared request by request; check serving.shadow.samplingPercent',
    });
    expect(comparePaired(shadowOnlyEmpty, 'cannot list s3://x/: AccessDenied')).toEqual({
      status: 'unpaired',
      reason:
        'data capture could not be read (cannot list s3://x/: AccessDenied): nothing was compared request by request',
    });
  });

  test('the shadow report carries the paired figures and refuses agreement counts that contradict the pairing', () => {
    const pairing = countAgreement(
      window(150, (i) => (i % 10 === 0 ? 'receipt' : 'invoice')),
      variants,
    );
    const base = {
      production: {
        invocations: 4000,
        errors5xx: 2,
        errors4xx: 0,
        latencyMs: { p50: 40, p95: 80, p99: 120 },
      },
      shadow: { invocations: 3900, errors5xx: 3, errors4xx: 0, latencyMs: { p50: 44, p95: 90, p99: 130 } },
    };
    const report = compareShadow({
      ...base,
      agreement: { agreements: pairing.agreements, compared: pairing.compared },
      capture: { agreement: pairing, error: null },
    });
    expect(report.paired).toMatchObject({ status: 'paired', matched: 150 });
    expect(report.agreement.rate).toEqual(binomialInterval(135, 150));
    expect(report.findings.find((f) => f.topic === 'pairing')?.text).toMatch(
      /^paired on 150 matched requests \(inferenceId\); failure rate shadow 0\.0% vs production 0\.0%/,
    );
    expect(() =>
      compareShadow({
        ...base,
        agreement: { agreements: 1, compared: 2 },
        capture: { agreement: pairing, error: null },
      }),
    ).toThrow('compareShadow: agreement (1 of 2) differs from the capture pairing (135 of 150)');
  });

  test('for any pairing: intervals hold their estimate, stay in range, and the report is strict JSON', () => {
    const record = fc.record({
      variant: fc.constantFrom('live', 'shadow'),
      inferenceId: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), { nil: undefined }),
      outputLabel: fc.option(fc.constantFrom('x', 'y'), { nil: undefined }),
      latency: fc.option(fc.double({ min: 0, max: 5000, noNaN: true }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 60 }), (records) => {
        const pairing: CaptureAgreement = countAgreement(
          records.map((r, i) => ({
            eventId: `e${i}`,
            variant: r.variant,
            outputCaptured: true,
            ...(r.inferenceId ? { inferenceId: r.inferenceId } : {}),
            ...(r.outputLabel ? { outputLabel: r.outputLabel } : {}),
            ...(r.latency === undefined ? {} : { outputLatencyMs: r.latency }),
          })),
          variants,
        );
        const paired = comparePaired(pairing, null, { minLatencyPairs: 2 });
        expect(JSON.parse(JSON.stringify(paired))).toEqual(paired);
        if (paired.status === 'unpaired') {
          expect(pairing.matched).toBe(0);
          return;
        }
        const f = paired.failureRateDifference;
        expect(f.lower).toBeLessThanOrEqual(f.estimate + 1e-12);
        expect(f.estimate).toBeLessThanOrEqual(f.upper + 1e-12);
        expect(f.lower).toBeGreaterThanOrEqual(-1);
        expect(f.upper).toBeLessThanOrEqual(1);
        if (paired.agreement) {
          expect(paired.agreement.lower).toBeGreaterThanOrEqual(0);
          expect(paired.agreement.upper).toBeLessThanOrEqual(1);
          expect(paired.agreement.lower).toBeLessThanOrEqual(paired.agreement.estimate);
        }
        if (paired.latency?.meanInterval) {
          expect(paired.latency.meanInterval.lower).toBeLessThanOrEqual(paired.latency.meanMs + 1e-9);
          expect(paired.latency.meanInterval.upper).toBeGreaterThanOrEqual(paired.latency.meanMs - 1e-9);
        }
      }),
    );
  });
});
