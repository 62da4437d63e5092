/**
 * Calibration of the A/B analysis by seeded simulation (test/helpers/ab-simulation.ts), short
 * runs against the tolerances; bench/ab-calibration.ts runs them long for
 * docs/statistics.md ("A/B analysis"). Traffic model: users hashed into the router's 10,000
 * buckets, half of a fixed population active each day, geometric requests per active user
 * (mean 10), a per-user error propensity (Gamma(2)-distributed multiple of 1%) and a per-user
 * typical confidence (0.8 ± 0.08): requests of one user are correlated, as in production.
 */
import { seededRandom, seedFromText } from '../../lambdas/core/statistics/gate-stats';
import { aaSpuriousWinnerRate, errorRateDetection, splitFalseAlarmRate } from '../helpers/ab-simulation';

const rng = (label: string) => seededRandom(seedFromText(label));
/** A guard against a hung run, not a speed target: each takes about a second of CPU, longer on a shared machine. */
const GUARD_MS = 180_000;

describe('A/B analysis calibration', () => {
  test(
    'A/A over 30 nightly looks: a spurious winner in at most 5% of experiments',
    () => {
      // 1 request/min (1,440 a day from about 144 users), 50/50: every look is a chance to be fooled.
      const rate = aaSpuriousWinnerRate(
        { requestsPerMinute: 1, candidatePercent: 50 },
        30,
        100,
        rng('ab-aa'),
      );
      expect(rate).toBeLessThanOrEqual(0.05);
    },
    GUARD_MS,
  );

  test(
    'split check with clustered traffic: at most 0.2% false alarms, where counting requests fires on ~45% of days',
    () => {
      const { buckets, requests } = splitFalseAlarmRate(
        { users: 500, candidatePercent: 10 },
        5000,
        rng('ab-split'),
      );
      expect(buckets).toBeLessThanOrEqual(0.002);
      // The check this replaces (chi-square on requests) on the same days.
      expect(requests).toBeGreaterThan(0.3);
    },
    GUARD_MS,
  );

  test(
    'power: an error rate going from 1% to 2% at 10 requests/min with a 10% candidate is found within 7 nights',
    () => {
      const result = errorRateDetection(
        { requestsPerMinute: 10, candidatePercent: 10, candidateErrorFactor: 2 },
        7,
        40,
        rng('ab-power'),
      );
      expect(result.power).toBeGreaterThanOrEqual(0.9);
      expect(result.medianNight).toBeLessThanOrEqual(3);
    },
    GUARD_MS,
  );
});
