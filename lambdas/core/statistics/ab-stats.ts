/**
 * The statistics of the A/B analysis, by the unit the router randomises: the user bucket
 * (assignment.ts hashes users into 10,000 buckets; the prediction log records the bucket, never
 * the user). Pure functions of per-bucket totals, no clock, no randomness.
 *
 * - Per-request ratios (error rate, mean confidence) are ratios of two bucket-level sums; their
 *   standard error comes from the delta method over buckets (Deng, Knoblich & Lu, "Applying the
 *   Delta Method in Metric Analytics", KDD 2018), which stays right when one user sends many
 *   requests. Counting requests as independent understates it by the design effect.
 * - Intervals and tests are always valid: a normal-mixture confidence sequence (Howard, Ramdas,
 *   McAuliffe & Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence sequences",
 *   Ann. Statist. 2021, §3; the mixture SPRT of Johari, Koomen, Pekelis & Walsh, "Always Valid
 *   Inference", Oper. Res. 2022, eq. 11). Looking every night at the cumulative data cannot
 *   inflate the error rate, so the experiment needs no fixed horizon.
 * - Holm's step-down procedure across metrics (Holm, Scand. J. Statist. 1979).
 * - The sample-ratio check counts buckets with traffic, not requests (Fabijan et al., "Diagnosing
 *   Sample Ratio Mismatch in Online Controlled Experiments", KDD 2019): requests of one user are
 *   not independent, buckets are.
 */
import { logGamma, normalQuantile } from './stats';

/** One bucket's totals for one ratio metric: the metric is Σ numerator / Σ denominator. */
export interface RatioUnit {
  readonly numerator: number;
  readonly denominator: number;
}

/** A per-request ratio over buckets with its delta-method variance. */
export interface RatioEstimate {
  readonly estimate: number;
  /** Delta-method variance of the estimate (Deng et al. 2018, eq. 2), with the K/(K−1) correction. */
  readonly variance: number;
  /** Buckets with a denominator above 0. */
  readonly buckets: number;
  /** Σ denominator: requests (error rate) or confidence values (mean confidence). */
  readonly denominatorTotal: number;
  /**
   * Kish's effective number of buckets, (Σ x)² / Σ x²: the bucket count if every bucket had
   * the same traffic. 1 when one bucket holds everything; the normal approximation needs many.
   */
  readonly effectiveBuckets: number;
}

/**
 * The ratio Σy / Σx over buckets and its variance by the delta method: with R = Σy / Σx,
 * Var(R) ≈ K / (K − 1) · Σ (yᵢ − R·xᵢ)² / (Σ xᵢ)². This is the linearisation of Deng et al.
 * (2018, §3) written in sums, the same as the cluster-robust (sandwich) variance with the usual
 * small-sample factor. Buckets without traffic add nothing to either sum and may be left out.
 * Null with fewer than 2 buckets of traffic (no spread to estimate).
 */
export function ratioEstimate(units: readonly RatioUnit[]): RatioEstimate | null {
  let sumX = 0;
  let sumY = 0;
  let sumXX = 0;
  let k = 0;
  for (const { numerator, denominator } of units) {
    if (!(denominator >= 0) || !Number.isFinite(numerator) || !Number.isFinite(denominator)) {
      throw new RangeError(
        `ratioEstimate: every bucket needs a finite numerator and a denominator >= 0, got ${numerator}/${denominator}`,
      );
    }
    if (denominator === 0) continue;
    sumX += denominator;
    sumY += numerator;
    sumXX += denominator * denominator;
    k += 1;
  }
  if (k < 2) return null;
  const estimate = sumY / sumX;
  let residualSquares = 0;
  for (const { numerator, denominator } of units) {
    if (denominator === 0) continue;
    const r = numerator - estimate * denominator;
    residualSquares += r * r;
  }
  return {
    estimate,
    variance: ((k / (k - 1)) * residualSquares) / (sumX * sumX),
    buckets: k,
    denominatorTotal: sumX,
    effectiveBuckets: (sumX * sumX) / sumXX,
  };
}

/** An always-valid interval: it covers the truth at every look at once with probability 1 − alpha. */
export interface SequenceInterval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  /** Standard error of the estimate at this look (√variance). */
  readonly standardError: number;
  /** Level of the sequence: it holds at every look with this probability. */
  readonly confidence: number;
}

function checkMixture(variance: number, alpha: number, tau: number): void {
  if (!(variance >= 0) || !Number.isFinite(variance)) {
    throw new RangeError(`the variance must be a finite number >= 0, got ${String(variance)}`);
  }
  if (!(alpha > 0 && alpha < 1)) {
    throw new RangeError(`alpha must be strictly between 0 and 1, got ${String(alpha)}`);
  }
  if (!(tau > 0) || !Number.isFinite(tau)) {
    throw new RangeError(`the mixture scale tau must be a finite number > 0, got ${String(tau)}`);
  }
}

/**
 * Half-width of the normal-mixture confidence sequence at a look where the estimate has variance
 * V, with mixing distribution N(0, τ²) (Johari et al. 2022, eq. 11; Howard et al. 2021, eq. 14):
 *
 *   √( V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V)) )
 *
 * It is the set of θ where the mixture likelihood ratio stays below 1/α, so by Ville's inequality
 * it covers θ at every look simultaneously with probability ≥ 1 − α (asymptotically, when V is
 * estimated: Waudby-Smith et al., "Time-uniform central limit theory", 2021). The sequence is
 * narrowest, about 2.1× a fixed-horizon interval's width, where V ≈ τ² / 8 (α = 0.05): τ is
 * the effect size the experiment is meant to see.
 */
export function mixtureHalfWidth(variance: number, alpha: number, tau: number): number {
  checkMixture(variance, alpha, tau);
  if (variance === 0) return 0;
  const t2 = tau * tau;
  return Math.sqrt(
    ((variance * (variance + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log1p(t2 / variance)),
  );
}

/** The confidence sequence at level 1 − alpha around `estimate`. */
export function confidenceSequence(
  estimate: number,
  variance: number,
  alpha: number,
  tau: number,
): SequenceInterval {
  const half = mixtureHalfWidth(variance, alpha, tau);
  return {
    estimate,
    lower: estimate - half,
    upper: estimate + half,
    standardError: Math.sqrt(variance),
    confidence: 1 - alpha,
  };
}

/**
 * The always-valid p-value of θ = nullValue at this look: min(1, 1/Λ) with Λ the normal-mixture
 * likelihood ratio √(V/(V+τ²)) · exp(τ² (θ̂ − θ₀)² / (2V(V+τ²))) (Johari et al. 2022, eq. 11).
 * P(it ever drops to α or below, at any look) ≤ α under the null.
 */
export function alwaysValidPValue(
  estimate: number,
  nullValue: number,
  variance: number,
  tau: number,
): number {
  checkMixture(variance, 0.5, tau);
  if (variance === 0) return estimate === nullValue ? 1 : 0;
  const t2 = tau * tau;
  const d = estimate - nullValue;
  const logLambda =
    0.5 * Math.log(variance / (variance + t2)) + (t2 * d * d) / (2 * variance * (variance + t2));
  return Math.min(1, Math.exp(-logLambda));
}

/**
 * Holm's step-down adjusted p-values (Holm 1979): sort ascending, multiply the i-th smallest
 * (from 0) by m − i, keep them non-decreasing, cap at 1. Reject where adjusted ≤ α: the chance
 * of any false rejection among the m metrics stays ≤ α. With always-valid p-values it stays ≤ α
 * over every look too, since any rejection needs min p ≤ α/m and each p-value crosses α/m at any
 * look with probability ≤ α/m.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, index], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[index] = running;
  });
  return adjusted;
}

/**
 * Minimum detectable effect at this look: the smallest true difference that the confidence
 * sequence at level 1 − alpha would exclude zero for with probability `power`, if the experiment
 * stopped now: half-width + z(power) · √V (the estimate is normal around the truth with variance V).
 */
export function minimumDetectableEffect(variance: number, alpha: number, tau: number, power = 0.8): number {
  if (!(power > 0 && power < 1)) {
    throw new RangeError(
      `minimumDetectableEffect: power must be strictly between 0 and 1, got ${String(power)}`,
    );
  }
  return mixtureHalfWidth(variance, alpha, tau) + normalQuantile(power) * Math.sqrt(variance);
}

/** The split of buckets with traffic against the split the flag intends. */
export interface BucketSplitCheck {
  /** Buckets in the experiment (the router's 10,000). */
  readonly totalBuckets: number;
  /** Buckets the flag gives the candidate: percent × 100 of 10,000. */
  readonly candidateBuckets: number;
  readonly activeStable: number;
  readonly activeCandidate: number;
  /** Active candidate buckets expected under the flag's split: active × candidateBuckets / totalBuckets. */
  readonly expectedCandidate: number;
  /** Pearson's chi-square of the active candidate count, with the finite-population variance. */
  readonly chiSquare: number;
  /** Exact two-sided hypergeometric p-value. */
  readonly pValue: number;
}

/**
 * Sample-ratio check on buckets. Under a sound assignment every bucket is equally likely to have
 * traffic (users are hashed uniformly), so given A active buckets the active candidate ones are
 * hypergeometric(N, K, A): N buckets, K of them the candidate's. The p-value is exact, two-sided
 * (outcomes no likelier than the observed one), so few active buckets need no large-sample
 * approximation; the chi-square is reported for the reader, (O − E)² / (A·p·(1−p)·(N−A)/(N−1)).
 */
export function bucketSplitCheck(input: {
  readonly totalBuckets: number;
  readonly candidateBuckets: number;
  readonly activeStable: number;
  readonly activeCandidate: number;
}): BucketSplitCheck {
  const { totalBuckets: n, candidateBuckets: k, activeStable, activeCandidate } = input;
  const whole = (x: number) => Number.isSafeInteger(x) && x >= 0;
  if (!whole(n) || n < 2 || !whole(k) || k < 1 || k >= n) {
    throw new RangeError(
      `bucketSplitCheck: needs totalBuckets >= 2 and 1 <= candidateBuckets < totalBuckets, got ${n} and ${k}`,
    );
  }
  if (!whole(activeStable) || !whole(activeCandidate) || activeStable > n - k || activeCandidate > k) {
    throw new RangeError(
      `bucketSplitCheck: active buckets must be whole numbers within each variant's buckets ` +
        `(stable ${n - k}, candidate ${k}), got stable ${activeStable}, candidate ${activeCandidate}`,
    );
  }
  const a = activeStable + activeCandidate;
  const p = k / n;
  const expectedCandidate = a * p;
  const variance = n > 1 ? (a * p * (1 - p) * (n - a)) / (n - 1) : 0;
  const deviation = activeCandidate - expectedCandidate;
  const chiSquare = variance > 0 ? (deviation * deviation) / variance : 0;
  return {
    totalBuckets: n,
    candidateBuckets: k,
    activeStable,
    activeCandidate,
    expectedCandidate,
    chiSquare,
    pValue: hypergeometricTwoSided(n, k, a, activeCandidate),
  };
}

/** Σ P(X = x) over x with P(X = x) ≤ P(X = observed), X ~ hypergeometric(population, successes, draws). */
function hypergeometricTwoSided(
  population: number,
  successes: number,
  draws: number,
  observed: number,
): number {
  const lo = Math.max(0, draws - (population - successes));
  const hi = Math.min(successes, draws);
  const logChoose = (a: number, b: number) => logGamma(a + 1) - logGamma(b + 1) - logGamma(a - b + 1);
  const logPmf = new Float64Array(hi - lo + 1);
  logPmf[0] =
    logChoose(successes, lo) + logChoose(population - successes, draws - lo) - logChoose(population, draws);
  for (let x = lo; x < hi; x++) {
    const i = x - lo;
    logPmf[i + 1] =
      logPmf[i] +
      Math.log(successes - x) +
      Math.log(draws - x) -
      Math.log(x + 1) -
      Math.log(population - successes - draws + x + 1);
  }
  const target = logPmf[observed - lo] + 1e-9;
  let total = 0;
  for (const lp of logPmf) if (lp <= target) total += Math.exp(lp);
  return Math.min(1, total);
}
