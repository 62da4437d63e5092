/**
 * Calibration of the shadow comparison's paired intervals, measured by seeded simulation of whole
 * shadow windows through the real pairing (lambdas/core/serving/data-capture.ts) and comparison
 * (lambdas/core/serving/shadow.ts): each variant's data capture samples requests independently (80%), 5% of
 * requests arrive without an InferenceId, so the number of matched requests varies from window to
 * window as it does in production. The traffic model is test/helpers/shadow-calibration.ts.
 *
 * Tolerance (issue 12): coverage of a nominal 95% interval within [93.5%, 97%]. The paired failure
 * difference (Newcombe's paired square-and-add) is conservative when failures are rare on a few
 * hundred requests; it is held to "never below 93.5%" there and to the full band where failures are
 * common. bench/shadow-calibration.ts runs the same cells long.
 */
import { seededRandom } from '../../lambdas/core/statistics/gate-stats';
import { DEFAULT_TRAFFIC, pairedCoverage } from '../helpers/shadow-calibration';

const RUNS = 1000;
const COVERAGE = { min: 0.935, max: 0.97 };

describe('shadow comparison: paired interval coverage at nominal 95%', () => {
  test.each([
    [100, 0.85, 0.99],
    [300, 0.95, 0.999],
    [300, 0.5, 0.9],
  ])('agreement (modified Wilson) on %i requests, true agreement in [%f, %f]', (requests, low, high) => {
    const coverage = pairedCoverage(
      { ...DEFAULT_TRAFFIC, requests },
      [low, high],
      RUNS,
      seededRandom(requests * 31 + Math.round(low * 1000)),
    );
    expect(coverage.agreementRuns).toBe(RUNS);
    expect(coverage.agreement).toBeGreaterThanOrEqual(COVERAGE.min);
    expect(coverage.agreement).toBeLessThanOrEqual(COVERAGE.max);
    // Rare failures (1% and 2%): conservative, never below the band.
    expect(coverage.failureDifference).toBeGreaterThanOrEqual(COVERAGE.min);
  });

  test('failure rate difference (Newcombe paired) where failures are common: 10% vs 15%, 5% on both', () => {
    const coverage = pairedCoverage(
      { ...DEFAULT_TRAFFIC, requests: 300, productionFail: 0.1, shadowFail: 0.15, bothFail: 0.05 },
      [0.9, 0.99],
      RUNS,
      seededRandom(7),
    );
    expect(coverage.failureDifference).toBeGreaterThanOrEqual(COVERAGE.min);
    expect(coverage.failureDifference).toBeLessThanOrEqual(COVERAGE.max);
  });

  test('mean latency difference (t interval) on a right-skewed per-request difference', () => {
    const coverage = pairedCoverage(
      { ...DEFAULT_TRAFFIC, requests: 400, latency: true },
      [0.95, 0.99],
      RUNS,
      seededRandom(11),
    );
    // 400 requests at 80% capture on each side and 5% without an id: about 245 pairs, always above
    // the 100 below which the report says "too few".
    expect(coverage.latencyRuns).toBe(RUNS);
    expect(coverage.latencyMean).toBeGreaterThanOrEqual(COVERAGE.min);
    expect(coverage.latencyMean).toBeLessThanOrEqual(COVERAGE.max);
  });
});
