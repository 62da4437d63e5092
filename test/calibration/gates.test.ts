/**
 * Calibration of the release gates' statistics, measured by seeded simulation (a few thousand runs
 * each, seconds in all). The tolerances are the issue's: coverage of each 95% interval within
 * [93.5%, 97%]; identical models fail the regression gate at most 5%; a model worse by twice the
 * margin fails at least 80% at the recommended eval-set size; drift on clean iid sets of 100, 200 and
 * 500 rows fails at most 1%. bench/calibration.ts runs the same simulations long for docs/statistics.md.
 */
import { rowsNeededForMargin, seededRandom, seedFromText } from '../../lambdas/core/statistics/gate-stats';
import {
  accuracyGateRates,
  binomialCoverage,
  driftFalseAlarmRate,
  FIVE_CLASSES,
  identicalModelsGateRates,
  pairedCoverage,
  unpairedCoverage,
} from '../helpers/calibration';

const RUNS = 2000;
const COVERAGE = { min: 0.935, max: 0.97 };
const MARGIN = 0.02;
const RECOMMENDED = rowsNeededForMargin(MARGIN, 0.1); // 1,546 rows at a discordance of 0.1

describe('interval coverage at nominal 95%', () => {
  // p is drawn uniformly within each cell; the small-p cells are where Wilson dipped to 90.5–92%.
  test.each([
    [200, 0.005, 0.02],
    [200, 0.02, 0.1],
    [200, 0.1, 0.5],
    [500, 0.005, 0.02],
    [500, 0.02, 0.1],
    [1000, 0.005, 0.02],
    [1000, 0.1, 0.5],
  ])('modified Wilson, n = %i, p in [%f, %f]', (n, lo, hi) => {
    const coverage = binomialCoverage('modified-wilson', n, lo, hi, RUNS, seededRandom(n * 7919 + lo * 1e6));
    expect(coverage).toBeGreaterThanOrEqual(COVERAGE.min);
    expect(coverage).toBeLessThanOrEqual(COVERAGE.max);
  });

  test.each([
    [200, 1000, 0.01, 0.05, 0.01],
    [500, 2000, 0.01, 0.05, 0.01],
    [300, 3000, 0.85, 0.95, 0.02],
  ])('unpaired difference (Newcombe hybrid), n = %i vs %i, p in [%f, %f], gap %f', (n1, n2, lo, hi, gap) => {
    const coverage = unpairedCoverage(n1, n2, lo, hi, gap, RUNS, seededRandom(n1 + n2));
    expect(coverage).toBeGreaterThanOrEqual(COVERAGE.min);
    expect(coverage).toBeLessThanOrEqual(COVERAGE.max);
  });

  test.each([
    [200, 0.1, 0],
    [500, 0.05, 0],
    [500, 0.1, 0.02],
    [2000, 0.05, 0.01],
    [2000, 0.2, 0.04],
  ])('paired difference (Newcombe paired), n = %i, discordance %f, true drop %f', (n, discordance, drop) => {
    const coverage = pairedCoverage(n, 0.92, discordance, drop, RUNS, seededRandom(n + discordance * 1e4));
    expect(coverage).toBeGreaterThanOrEqual(COVERAGE.min);
    expect(coverage).toBeLessThanOrEqual(COVERAGE.max);
  });
});

describe('the regression gate', () => {
  const gate = (n: number, drop: number, policy: 'point-estimate' | 'pass', seed: number) =>
    accuracyGateRates({
      n,
      accuracy: 0.92,
      discordance: 0.1,
      drop,
      margin: MARGIN,
      policy,
      paired: true,
      runs: RUNS,
      random: seededRandom(seed),
    });

  test('the recommended size for a 0.02 margin at discordance 0.1 is about 1,550 rows', () => {
    expect(RECOMMENDED).toBe(1546);
  });

  test('identical models at the recommended size fail the accuracy check at most 5% (default policy)', () => {
    expect(gate(RECOMMENDED, 0, 'point-estimate', 11).fail).toBeLessThanOrEqual(0.05);
  });

  test('identical models fail at most 5% when only the interval may fail them, even at 500 rows', () => {
    expect(gate(500, 0, 'pass', 12).fail).toBeLessThanOrEqual(0.05);
  });

  test('a model worse by twice the margin fails at least 80% at the recommended size', () => {
    expect(gate(RECOMMENDED, 2 * MARGIN, 'point-estimate', 13).fail).toBeGreaterThanOrEqual(0.8);
  });

  test('the whole gate (bias gap bootstrap included) fails identical models at most 5% when only intervals fail', () => {
    const rates = identicalModelsGateRates({
      n: 500,
      slices: 3,
      accuracy: 0.92,
      discordance: 0.1,
      policy: 'pass',
      resamples: 100,
      runs: 100,
      random: seededRandom(14),
    });
    expect(rates.gate).toBeLessThanOrEqual(0.05);
  });
});

describe('the drift gate', () => {
  // The true rates are close to the limit (about 0.9% at 100 and 200 rows, 0.7% at 500, measured over
  // 20,000 runs in docs/statistics.md), so 5,000 runs keep the sampling error near 0.13%.
  test.each([100, 200, 500])('two clean iid sets of %i rows fail at most 1%', (n) => {
    const rate = driftFalseAlarmRate({
      n,
      shares: FIVE_CLASSES,
      maxDrift: 0.1,
      rule: 'distance-and-significance',
      runs: 5000,
      random: seededRandom(seedFromText(`drift ${n}`)),
    });
    expect(rate).toBeLessThanOrEqual(0.01);
  });
});
