/**
 * Statistics for the nightly A/B analysis, the sample-ratio check and the confidence alarm.
 *
 * Everything here is plain numbers in, plain JSON-safe objects out (no NaN, no Infinity), and
 * needs no dependency: the special functions (normal, Student t, chi-square) are implemented
 * here and checked against scipy in test/fixtures/stats (see generate.py there).
 */

// ---------------------------------------------------------------------------------------------
// Streaming mean and variance (Welford)
// ---------------------------------------------------------------------------------------------

/**
 * Running state of Welford's algorithm. Plain data, so a partition's state can be stored as
 * JSON and merged later (`welfordMerge`). Treat it as opaque: values are kept relative to
 * `shift` (the first value seen), so that data such as 1e9 + small noise keep their digits.
 */
export interface WelfordState {
  readonly count: number;
  /** The first value seen (0 while empty). */
  readonly shift: number;
  /** Mean of (x - shift). */
  readonly shiftedMean: number;
  /** Sum of squared deviations from the mean. */
  readonly m2: number;
}

/** Summary of a sample, as used by `meanDifferenceInterval`. */
export interface WelfordResult {
  readonly count: number;
  /** 0 when count is 0 (check `count` before showing it). */
  readonly mean: number;
  /** Sample variance (divides by n - 1); 0 when count < 2, where it is undefined. */
  readonly variance: number;
  /** Square root of `variance`. */
  readonly stdDev: number;
}

/** The state of an empty sample. */
export function welfordEmpty(): WelfordState {
  return { count: 0, shift: 0, shiftedMean: 0, m2: 0 };
}

/** Returns a new state with `x` added. Throws on a non-finite value, which would poison every later result. */
export function welfordPush(state: WelfordState, x: number): WelfordState {
  if (!Number.isFinite(x)) {
    throw new RangeError(
      `welfordPush: expected a finite number, got ${String(x)}; drop or repair the value before adding it`,
    );
  }
  if (state.count === 0) return { count: 1, shift: x, shiftedMean: 0, m2: 0 };
  const count = state.count + 1;
  const y = x - state.shift;
  const delta = y - state.shiftedMean;
  const shiftedMean = state.shiftedMean + delta / count;
  return { count, shift: state.shift, shiftedMean, m2: state.m2 + delta * (y - shiftedMean) };
}

/** Adds every value of `values` to `state` (default: empty). */
export function welfordFromValues(
  values: Iterable<number>,
  state: WelfordState = welfordEmpty(),
): WelfordState {
  let current = state;
  for (const x of values) current = welfordPush(current, x);
  return current;
}

/**
 * Combines the states of two disjoint samples (Chan, Golub & LeVeque's parallel update), as if
 * every value had been pushed into one state. Lets the nightly job summarise partitions apart.
 */
export function welfordMerge(a: WelfordState, b: WelfordState): WelfordState {
  if (a.count === 0) return b;
  if (b.count === 0) return a;
  const count = a.count + b.count;
  // b's mean in a's frame; the shift difference is exact when the shifts are close.
  const delta = b.shiftedMean + (b.shift - a.shift) - a.shiftedMean;
  return {
    count,
    shift: a.shift,
    shiftedMean: a.shiftedMean + delta * (b.count / count),
    m2: a.m2 + b.m2 + ((delta * delta * a.count) / count) * b.count,
  };
}

/**
 * Count, mean, sample variance and standard deviation of the state.
 * n = 0 gives mean 0 and variance 0; n = 1 gives the value and variance 0. Neither is NaN, so
 * results stay JSON-safe: callers that need a spread must check `count >= 2`.
 */
export function welfordResult(state: WelfordState): WelfordResult {
  const mean = state.count === 0 ? 0 : state.shift + state.shiftedMean;
  if (state.count < 2) return { count: state.count, mean, variance: 0, stdDev: 0 };
  // m2 can come out a hair below zero through rounding when every value is equal.
  const variance = Math.max(0, state.m2 / (state.count - 1));
  return { count: state.count, mean, variance, stdDev: Math.sqrt(variance) };
}

// ---------------------------------------------------------------------------------------------
// Special functions
// ---------------------------------------------------------------------------------------------

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const EPSILON = 1e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 100_000;

/** ln Γ(x) for x > 0 (Lanczos, g = 7; about 15 significant digits). */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) {
    throw new RangeError(`logGamma: expected a finite x > 0, got ${String(x)}`);
  }
  // Reflection keeps the approximation in its accurate range.
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Stirling-series remainder lnΓ(x) - [(x - 1/2) ln x - x + ln √(2π)], for x >= 20 (truncation error about 1e-15). */
function stirlingCorrection(x: number): number {
  const x2 = x * x;
  return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * x2)) / x2) / x2) / x;
}

/**
 * ln B(a, b) = lnΓ(a) + lnΓ(b) - lnΓ(a + b). With a large argument the direct difference of two
 * huge logarithms loses digits (3e-9 relative error in the t CDF at df = 3e6), so the large one
 * goes through Stirling's series, where the huge terms cancel analytically.
 */
function logBeta(a: number, b: number): number {
  const big = Math.max(a, b);
  const small = Math.min(a, b);
  if (big < 20) return logGamma(a) + logGamma(b) - logGamma(a + b);
  // lnΓ(big + small) - lnΓ(big), with the large terms cancelled analytically.
  const ratio =
    (big - 0.5) * Math.log1p(small / big) +
    small * Math.log(big + small) -
    small +
    stirlingCorrection(big + small) -
    stirlingCorrection(big);
  return logGamma(small) - ratio;
}

function notConverged(what: string, args: string): never {
  throw new Error(
    `${what}(${args}) did not converge in ${MAX_ITERATIONS} iterations; this is a bug, please report it`,
  );
}

/** Series for P(a, x), good for x < a + 1. */
function gammaSeries(a: number, x: number, logPrefix: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) return sum * Math.exp(logPrefix);
  }
  return notConverged('gammaSeries', `${a}, ${x}`);
}

/** Continued fraction (modified Lentz) for Q(a, x), good for x >= a + 1. */
function gammaContinuedFraction(a: number, x: number, logPrefix: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) return Math.exp(logPrefix) * h;
  }
  return notConverged('gammaContinuedFraction', `${a}, ${x}`);
}

function checkGammaArgs(name: string, a: number, x: number): void {
  if (!(a > 0) || !Number.isFinite(a) || !(x >= 0) || Number.isNaN(x)) {
    throw new RangeError(
      `${name}: expected a > 0 (finite) and x >= 0, got a = ${String(a)}, x = ${String(x)}`,
    );
  }
}

/**
 * ln(x^a e^-x / Γ(a)). For large a, a ln x, x and lnΓ(a) are huge and nearly cancel (1e-9
 * relative error at a = 1e6), so Stirling's series is used to cancel them analytically.
 */
function gammaLogPrefix(a: number, x: number): number {
  if (a < 20) return a * Math.log(x) - x - logGamma(a);
  const d = (x - a) / a;
  const lnRatio = Math.abs(d) < 0.5 ? Math.log1p(d) : Math.log(x / a);
  return a * (lnRatio - d) + 0.5 * Math.log(a) - LN_SQRT_2PI - stirlingCorrection(a);
}

/** Regularized lower incomplete gamma P(a, x) = γ(a, x) / Γ(a) (scipy.special.gammainc). */
export function regularizedGammaP(a: number, x: number): number {
  checkGammaArgs('regularizedGammaP', a, x);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  const logPrefix = gammaLogPrefix(a, x);
  return x < a + 1 ? gammaSeries(a, x, logPrefix) : 1 - gammaContinuedFraction(a, x, logPrefix);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x) (scipy.special.gammaincc), computed
 * directly in the upper tail so that tiny values keep their relative precision.
 */
export function regularizedGammaQ(a: number, x: number): number {
  checkGammaArgs('regularizedGammaQ', a, x);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  const logPrefix = gammaLogPrefix(a, x);
  return x < a + 1 ? 1 - gammaSeries(a, x, logPrefix) : gammaContinuedFraction(a, x, logPrefix);
}

/** Survival function of the chi-square distribution, P(X >= x) (scipy.stats.chi2.sf). */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  if (!(degreesOfFreedom > 0) || !Number.isFinite(degreesOfFreedom)) {
    throw new RangeError(
      `chiSquareSurvival: degrees of freedom must be > 0, got ${String(degreesOfFreedom)}`,
    );
  }
  if (Number.isNaN(x)) throw new RangeError('chiSquareSurvival: x is NaN');
  if (x <= 0) return 1;
  return regularizedGammaQ(degreesOfFreedom / 2, x / 2);
}

/** Standard normal CDF Φ(x) (scipy.stats.norm.cdf), accurate in relative terms deep into the lower tail. */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) throw new RangeError('normalCdf: x is NaN');
  // Φ(x) = erfc(-x/√2)/2 and erfc(y) = Q(1/2, y²) for y >= 0.
  const tail = x === -Infinity || x === Infinity ? 0 : 0.5 * regularizedGammaQ(0.5, (x * x) / 2);
  return x < 0 ? tail : 1 - tail;
}

function normalPdf(x: number): number {
  return Math.exp(-0.5 * x * x - LN_SQRT_2PI);
}

// Acklam's rational approximation of the normal quantile (relative error below 1.15e-9).
const ACKLAM_A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const ACKLAM_B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
];
const ACKLAM_C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const ACKLAM_LOW = 0.02425;

function acklamLowerHalf(p: number): number {
  if (p < ACKLAM_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    const [c0, c1, c2, c3, c4, c5] = ACKLAM_C;
    const [d0, d1, d2, d3] = ACKLAM_D;
    return (
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  const [a0, a1, a2, a3, a4, a5] = ACKLAM_A;
  const [b0, b1, b2, b3, b4] = ACKLAM_B;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

function checkProbability(name: string, p: number): void {
  if (!(p > 0 && p < 1))
    throw new RangeError(`${name}: expected a probability strictly between 0 and 1, got ${String(p)}`);
}

/**
 * Standard normal quantile Φ⁻¹(p) (scipy.stats.norm.ppf): Acklam's approximation polished by
 * one Halley step, which brings it to near full double precision.
 */
export function normalQuantile(p: number): number {
  checkProbability('normalQuantile', p);
  // 1 - p is exact for p >= 0.5, so the upper half reuses the accurate lower tail.
  if (p > 0.5) return -normalQuantile(1 - p);
  const x = acklamLowerHalf(p);
  const e = normalCdf(x) - p;
  const u = e / normalPdf(x);
  return x - u / (1 + (x * u) / 2);
}

/**
 * Regularized incomplete beta I_x(a, b). y = 1 - x and both logarithms are passed in, so that
 * callers can compute them without cancellation.
 */
function regularizedBeta(x: number, y: number, lnX: number, lnY: number, a: number, b: number): number {
  if (lnX === -Infinity) return 0;
  if (lnY === -Infinity) return 1;
  const logFront = a * lnX + b * lnY - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(logFront) * betaContinuedFraction(y, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) return h;
  }
  return notConverged('betaContinuedFraction', `${x}, ${a}, ${b}`);
}

function checkDegreesOfFreedom(name: string, df: number): void {
  if (!(df > 0) || !Number.isFinite(df)) {
    throw new RangeError(`${name}: degrees of freedom must be a finite number > 0, got ${String(df)}`);
  }
}

/**
 * Above this many degrees of freedom the t distribution goes through the Cornish–Fisher
 * expansion: its error is O(df⁻⁵), while the incomplete-beta continued fraction converges so
 * slowly there that it stops early (1e-8 relative error at df = 1e9).
 */
const LARGE_DF = 1e5;
/** Beyond this |t| (and for df >= LARGE_DF) the tail is below 1e-300 and the expansion is no longer valid. */
const LARGE_DF_MAX_T = 38;

/** P(T <= -|t|) for T ~ Student t with `df` (possibly fractional) degrees of freedom: the smaller tail. */
function studentTLowerTail(absT: number, df: number): number {
  if (absT === 0) return 0.5;
  if (df >= LARGE_DF && absT <= LARGE_DF_MAX_T) return normalCdf(inverseCornishFisherT(-absT, df));
  const t2 = absT * absT;
  if (t2 < df) {
    const y = t2 / (df + t2);
    return 0.5 * regularizedBeta(df / (df + t2), y, -Math.log1p(t2 / df), Math.log(y), df / 2, 0.5);
  }
  // Written with r = df/t² so that a huge |t| (t² overflows past 1e154) stays finite.
  const r = df / absT / absT;
  const lnX = Math.log(df) - 2 * Math.log(absT) - Math.log1p(r);
  return 0.5 * regularizedBeta(r / (1 + r), 1 / (1 + r), lnX, -Math.log1p(r), df / 2, 0.5);
}

/** ln(1 + t²/df) without overflow for huge |t|. */
function log1pT2OverDf(t: number, df: number): number {
  const absT = Math.abs(t);
  if (absT * absT < df) return Math.log1p((absT * absT) / df);
  return 2 * Math.log(absT) - Math.log(df) + Math.log1p(df / absT / absT);
}

/** Student t CDF (scipy.stats.t.cdf); `df` may be fractional, as Welch's degrees of freedom are. */
export function studentTCdf(t: number, df: number): number {
  checkDegreesOfFreedom('studentTCdf', df);
  if (Number.isNaN(t)) throw new RangeError('studentTCdf: t is NaN');
  if (t === -Infinity) return 0;
  if (t === Infinity) return 1;
  const tail = studentTLowerTail(Math.abs(t), df);
  return t < 0 ? tail : 1 - tail;
}

function studentTPdf(t: number, df: number): number {
  const logC = -logBeta(df / 2, 0.5) - 0.5 * Math.log(df);
  return Math.exp(logC - ((df + 1) / 2) * log1pT2OverDf(t, df));
}

/** Cornish–Fisher expansion of the t quantile in powers of 1/df (Abramowitz & Stegun 26.7.5). */
function cornishFisherT(z: number, df: number): number {
  const z2 = z * z;
  const g1 = (z * (z2 + 1)) / 4;
  const g2 = (z * ((5 * z2 + 16) * z2 + 3)) / 96;
  const g3 = (z * (((3 * z2 + 19) * z2 + 17) * z2 - 15)) / 384;
  const g4 = (z * ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945)) / 92160;
  return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
}

/** d/dz of `cornishFisherT`. */
function cornishFisherTSlope(z: number, df: number): number {
  const z2 = z * z;
  const d1 = (3 * z2 + 1) / 4;
  const d2 = ((25 * z2 + 48) * z2 + 3) / 96;
  const d3 = (((21 * z2 + 95) * z2 + 51) * z2 - 15) / 384;
  const d4 = ((((711 * z2 + 5432) * z2 + 7410) * z2 - 5760) * z2 - 945) / 92160;
  return 1 + (d1 + (d2 + (d3 + d4 / df) / df) / df) / df;
}

/** The z with cornishFisherT(z, df) = t, by Newton's method (the map is the identity plus O(z³/df)). */
function inverseCornishFisherT(t: number, df: number): number {
  let z = t;
  for (let i = 0; i < 50; i++) {
    const step = (cornishFisherT(z, df) - t) / cornishFisherTSlope(z, df);
    z -= step;
    if (Math.abs(step) <= 2 * Number.EPSILON * Math.abs(z)) return z;
  }
  return notConverged('inverseCornishFisherT', `${t}, ${df}`);
}

/**
 * Student t quantile (scipy.stats.t.ppf) for any df > 0. Exact forms for df = 1 and 2, the
 * Cornish–Fisher expansion from df = 1e5; otherwise Newton's method on the CDF, kept inside a
 * bracket, from a Cornish–Fisher start.
 */
export function studentTQuantile(p: number, df: number): number {
  checkProbability('studentTQuantile', p);
  checkDegreesOfFreedom('studentTQuantile', df);
  if (p > 0.5) return -studentTQuantile(1 - p, df);
  if (p === 0.5) return 0;
  if (df === 1) return -1 / Math.tan(Math.PI * p);
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  if (df >= LARGE_DF) {
    const z = normalQuantile(p);
    if (z >= -LARGE_DF_MAX_T) return cornishFisherT(z, df);
  }
  // From here p < 0.5, so the answer is negative: solve tail(|t|) = p for s = |t| > 0.
  const tail = (s: number): number => studentTLowerTail(s, df);
  let s = Math.max(-cornishFisherT(normalQuantile(p), df), Number.MIN_VALUE);
  let lo = 0; // tail(lo) >= p
  let hi = Infinity; // tail(hi) < p
  for (let i = 0; i < 2000; i++) {
    const f = tail(s) - p;
    if (f === 0) return -s;
    if (f > 0) lo = s;
    else hi = s;
    // tail'(s) = -pdf(s)
    let next = s + f / studentTPdf(s, df);
    if (!(next > lo && next < hi)) next = hi === Infinity ? Math.max(2 * s, 1) : (lo + hi) / 2;
    if (Math.abs(next - s) <= 4 * Number.EPSILON * s) return -next;
    s = next;
  }
  return notConverged('studentTQuantile', `${p}, ${df}`);
}

/** The two-sided critical value z for a confidence level, e.g. 1.959964 for 0.95. */
export function normalCriticalValue(confidence: number): number {
  checkConfidence(confidence);
  return -normalQuantile((1 - confidence) / 2);
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(
      `confidence must be strictly between 0 and 1 (e.g. 0.95), got ${String(confidence)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Intervals
// ---------------------------------------------------------------------------------------------

/** A point estimate with a two-sided confidence interval. */
export interface Interval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
}

function checkCount(name: string, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name}: ${what} must be a whole number >= 0, got ${String(value)}`);
  }
}

function checkProportionCounts(name: string, successes: number, trials: number): void {
  checkCount(name, successes, 'successes');
  checkCount(name, trials, 'trials');
  if (trials === 0) {
    throw new RangeError(
      `${name}: trials is 0, so there is no proportion to estimate; collect at least one trial first`,
    );
  }
  if (successes > trials) {
    throw new RangeError(`${name}: successes (${successes}) cannot exceed trials (${trials})`);
  }
}

function wilsonWithZ(successes: number, trials: number, z: number): Interval {
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  // At 0 and n successes the bounds are exactly 0 and 1; rounding must not move them off.
  const lower = successes === 0 ? 0 : Math.max(0, Math.min(p, centre - half));
  const upper = successes === trials ? 1 : Math.min(1, Math.max(p, centre + half));
  return { estimate: p, lower, upper };
}

/**
 * Wilson score interval for a binomial proportion (no continuity correction), e.g. a variant's
 * error rate. Well-behaved at 0 and n successes, unlike the Wald interval. Throws when trials is 0.
 */
export function wilsonInterval(successes: number, trials: number, confidence = 0.95): Interval {
  checkProportionCounts('wilsonInterval', successes, trials);
  return wilsonWithZ(successes, trials, normalCriticalValue(confidence));
}

/**
 * Interval for p1 - p2 from two independent samples: Newcombe's hybrid score method (method 10
 * of Newcombe 1998, Stat Med 17:873), built from the two Wilson intervals. Estimate = x1/n1 - x2/n2.
 */
export function proportionDifferenceInterval(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  confidence = 0.95,
): Interval {
  checkProportionCounts('proportionDifferenceInterval (group 1)', x1, n1);
  checkProportionCounts('proportionDifferenceInterval (group 2)', x2, n2);
  const z = normalCriticalValue(confidence);
  const a = wilsonWithZ(x1, n1, z);
  const b = wilsonWithZ(x2, n2, z);
  const estimate = a.estimate - b.estimate;
  const lower = estimate - Math.hypot(a.estimate - a.lower, b.upper - b.estimate);
  const upper = estimate + Math.hypot(a.upper - a.estimate, b.estimate - b.lower);
  return { estimate, lower: Math.max(-1, lower), upper: Math.min(1, upper) };
}

/** Result of `meanDifferenceInterval`. */
export interface MeanDifference extends Interval {
  /** sqrt(varA/nA + varB/nB). */
  readonly standardError: number;
  /** Welch–Satterthwaite degrees of freedom; null for the normal method. */
  readonly degreesOfFreedom: number | null;
  /** Two-sided p-value for "the means are equal" (Welch's t-test, or the z-test for the normal method). */
  readonly pValue: number;
}

/** Options of `meanDifferenceInterval`. */
export interface MeanDifferenceOptions {
  /** @default 0.95 */
  readonly confidence?: number;
  /**
   * `welch` uses Student t with Welch–Satterthwaite degrees of freedom (right for any n);
   * `normal` uses z, which it approaches for large n (both counts in the thousands).
   * @default 'welch'
   */
  readonly method?: 'welch' | 'normal';
}

/**
 * Interval for mean(a) - mean(b) from two sample summaries (e.g. `welfordResult` of each
 * variant's confidence scores): Welch's unequal-variance interval, as scipy's
 * `ttest_ind(a, b, equal_var=False).confidence_interval()`. Each sample needs at least 2 values.
 */
export function meanDifferenceInterval(
  a: WelfordResult,
  b: WelfordResult,
  options: MeanDifferenceOptions = {},
): MeanDifference {
  const confidence = options.confidence ?? 0.95;
  const method = options.method ?? 'welch';
  checkConfidence(confidence);
  for (const [label, s] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (!Number.isSafeInteger(s.count) || s.count < 2) {
      throw new RangeError(
        `meanDifferenceInterval: sample ${label} has ${String(s.count)} values; a variance needs at least 2`,
      );
    }
    if (!Number.isFinite(s.mean) || !(s.variance >= 0) || !Number.isFinite(s.variance)) {
      throw new RangeError(
        `meanDifferenceInterval: sample ${label} must have a finite mean and variance >= 0, ` +
          `got mean ${String(s.mean)}, variance ${String(s.variance)}`,
      );
    }
  }
  const estimate = a.mean - b.mean;
  const va = a.variance / a.count;
  const vb = b.variance / b.count;
  const standardError = Math.sqrt(va + vb);
  // Welch–Satterthwaite, with each variance taken as a share of their sum: squaring va and vb
  // themselves underflows to 0/0 when both are below ~1e-154.
  const shareA = va / (va + vb);
  const shareB = vb / (va + vb);
  const welchDf =
    method === 'welch' && standardError > 0
      ? 1 / ((shareA * shareA) / (a.count - 1) + (shareB * shareB) / (b.count - 1))
      : null;
  const degreesOfFreedom = method === 'welch' ? (welchDf ?? a.count + b.count - 2) : null;
  if (standardError === 0) {
    // Both samples constant: the difference is known exactly.
    return {
      estimate,
      lower: estimate,
      upper: estimate,
      standardError,
      degreesOfFreedom,
      pValue: estimate === 0 ? 1 : 0,
    };
  }
  const alpha = 1 - confidence;
  const critical = welchDf === null ? -normalQuantile(alpha / 2) : -studentTQuantile(alpha / 2, welchDf);
  const statistic = Math.abs(estimate) / standardError;
  const pValue = Math.min(
    1,
    2 * (welchDf === null ? normalCdf(-statistic) : studentTLowerTail(statistic, welchDf)),
  );
  return {
    estimate,
    lower: estimate - critical * standardError,
    upper: estimate + critical * standardError,
    standardError,
    degreesOfFreedom,
    pValue,
  };
}

// ---------------------------------------------------------------------------------------------
// Consecutive breaches (CloudWatch "N out of N")
// ---------------------------------------------------------------------------------------------

/** CloudWatch's `TreatMissingData` values. */
export type MissingDataTreatment = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** Result of `findConsecutiveBreaches`. */
export interface ConsecutiveBreaches {
  /** Whether some run of `n` consecutive breaching datapoints exists (the alarm would fire). */
  readonly breached: boolean;
  /** Index in `values` where the first such run starts; absent when not breached. */
  readonly firstIndex?: number;
  /** Index in `values` of the datapoint that completes that run: where the alarm fires. */
  readonly alarmIndex?: number;
  /** Length of the longest run of breaching datapoints (skipped nulls do not count). */
  readonly longestRun: number;
}

/**
 * Finds `n` consecutive breaching datapoints, as a CloudWatch alarm with "datapoints to alarm"
 * = "evaluation periods" = n (e.g. 5 of 5) would. `null` is a missing datapoint, treated as the
 * alarm's `treatMissingData` says:
 *
 * | treatment      | a null datapoint                                      |
 * |----------------|-------------------------------------------------------|
 * | `breaching`    | counts as a breach                                    |
 * | `notBreaching` | counts as within the threshold: ends the run          |
 * | `ignore`       | is skipped: neither extends nor ends the run          |
 * | `missing`      | is skipped, like `ignore`                             |
 *
 * `ignore` and `missing` differ in CloudWatch only in the state shown while a whole evaluation
 * window has no data (kept vs INSUFFICIENT_DATA), not in whether breaches add up to an alarm.
 * A run of n or more nulls ends the run under both: CloudWatch looks back only a few periods
 * past the evaluation window, so breaches before such a gap have left it.
 *
 * Simplification: when a few datapoints are missing, CloudWatch first looks back past them
 * for real datapoints and applies the treatment only if it still lacks n; this function always
 * applies the treatment. With `notBreaching` it may therefore fire slightly later than CloudWatch.
 */
export function findConsecutiveBreaches(
  values: readonly (number | null)[],
  isBreach: (value: number) => boolean,
  n: number,
  missing: MissingDataTreatment,
): ConsecutiveBreaches {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(
      `findConsecutiveBreaches: n (datapoints to alarm) must be a whole number >= 1, got ${String(n)}`,
    );
  }
  if (!['breaching', 'notBreaching', 'ignore', 'missing'].includes(missing)) {
    throw new RangeError(
      `findConsecutiveBreaches: unknown missing-data treatment "${String(missing)}"; ` +
        'expected breaching, notBreaching, ignore or missing',
    );
  }
  let run = 0;
  let runStart = -1;
  let gap = 0;
  let longestRun = 0;
  let firstIndex: number | undefined;
  let alarmIndex: number | undefined;
  const endRun = (): void => {
    run = 0;
    runStart = -1;
  };
  const extendRun = (index: number): void => {
    if (run === 0) runStart = index;
    run += 1;
    longestRun = Math.max(longestRun, run);
    if (run === n && alarmIndex === undefined) {
      firstIndex = runStart;
      alarmIndex = index;
    }
  };
  values.forEach((value, index) => {
    if (value === null) {
      if (missing === 'breaching') extendRun(index);
      else if (missing === 'notBreaching') endRun();
      else if (++gap >= n) endRun();
      return;
    }
    if (!Number.isFinite(value)) {
      throw new RangeError(
        `findConsecutiveBreaches: datapoint ${index} is ${String(value)}; use null for a missing datapoint`,
      );
    }
    gap = 0;
    if (isBreach(value)) extendRun(index);
    else endRun();
  });
  return alarmIndex === undefined
    ? { breached: false, longestRun }
    : { breached: true, firstIndex, alarmIndex, longestRun };
}

// ---------------------------------------------------------------------------------------------
// Sample-ratio mismatch
// ---------------------------------------------------------------------------------------------

/** Result of `sampleRatioMismatch`. */
export interface SampleRatioMismatch {
  /** Pearson's chi-square statistic. */
  readonly chiSquare: number;
  /** Number of groups - 1. */
  readonly degreesOfFreedom: number;
  /** P(chi-square >= observed) under the intended split; a tiny value (say < 0.001) means the split is broken. */
  readonly pValue: number;
  /** Counts the intended split predicts for the observed total, in input order. */
  readonly expectedCounts: readonly number[];
}

/**
 * Chi-square goodness-of-fit test of the observed counts per variant against the intended
 * traffic split (scipy.stats.chisquare). `expectedShares` are weights in the same order as
 * `observed`; they are normalised, so [50, 50], [0.5, 0.5] and [1, 1] mean the same split.
 */
export function sampleRatioMismatch(
  observed: readonly number[],
  expectedShares: readonly number[],
): SampleRatioMismatch {
  if (observed.length !== expectedShares.length) {
    throw new RangeError(
      `sampleRatioMismatch: ${observed.length} observed counts but ${expectedShares.length} expected shares; give one share per variant`,
    );
  }
  if (observed.length < 2) {
    throw new RangeError(`sampleRatioMismatch: needs at least 2 variants, got ${observed.length}`);
  }
  observed.forEach((count, i) => checkCount('sampleRatioMismatch', count, `observed[${i}]`));
  expectedShares.forEach((share, i) => {
    if (!(share > 0) || !Number.isFinite(share)) {
      throw new RangeError(
        `sampleRatioMismatch: expectedShares[${i}] must be a finite number > 0, got ${String(share)}; ` +
          'leave out variants that should get no traffic',
      );
    }
  });
  const total = observed.reduce((sum, x) => sum + x, 0);
  if (total === 0)
    throw new RangeError('sampleRatioMismatch: every observed count is 0; there is no traffic to test');
  const shareSum = expectedShares.reduce((sum, x) => sum + x, 0);
  const expectedCounts = expectedShares.map((share) => (total * share) / shareSum);
  const chiSquare = observed.reduce((sum, o, i) => sum + (o - expectedCounts[i]) ** 2 / expectedCounts[i], 0);
  const degreesOfFreedom = observed.length - 1;
  return {
    chiSquare,
    degreesOfFreedom,
    pValue: chiSquareSurvival(chiSquare, degreesOfFreedom),
    expectedCounts,
  };
}

// ---------------------------------------------------------------------------------------------
// Summaries from SQL aggregates, and the interval of one mean
// ---------------------------------------------------------------------------------------------

/**
 * The summary of a sample known only by its count, sum and sum of squares, as a SQL engine
 * returns them (sums add up across partitions and days; a Welford state would need a custom
 * aggregate). This is the textbook formula that `welfordPush` avoids: its cancellation costs
 * about log10(mean² / variance) digits, a few for confidences in [0, 1], every digit for data
 * such as 1e9 + noise. Use it only for values of modest offset.
 *
 * Sums that no real sample can produce (sum² > count × sumOfSquares beyond rounding) are refused:
 * they mean the query and its reader disagree about the columns.
 */
export function summaryFromSums(count: number, sum: number, sumOfSquares: number): WelfordResult {
  checkCount('summaryFromSums', count, 'count');
  if (!Number.isFinite(sum) || !Number.isFinite(sumOfSquares) || sumOfSquares < 0) {
    throw new RangeError(
      `summaryFromSums: expected a finite sum and a finite sum of squares >= 0, got sum ${String(sum)}, ` +
        `sum of squares ${String(sumOfSquares)}`,
    );
  }
  if (count === 0) {
    if (sum !== 0 || sumOfSquares !== 0) {
      throw new RangeError(
        `summaryFromSums: count is 0 but sum is ${sum} and sum of squares ${sumOfSquares}; an empty sample sums to 0`,
      );
    }
    return { count: 0, mean: 0, variance: 0, stdDev: 0 };
  }
  const mean = sum / count;
  const m2 = sumOfSquares - sum * mean;
  // Rounding can leave m2 a few ulps of sumOfSquares below 0 when every value is equal.
  if (m2 < -1e-9 * sumOfSquares) {
    throw new RangeError(
      `summaryFromSums: sum ${sum} and sum of squares ${sumOfSquares} over ${count} values imply a negative ` +
        'variance; the sums do not come from one sample (check that both aggregate the same rows)',
    );
  }
  if (count === 1) return { count, mean, variance: 0, stdDev: 0 };
  const variance = Math.max(0, m2) / (count - 1);
  return { count, mean, variance, stdDev: Math.sqrt(variance) };
}

/** Result of `meanInterval`. */
export interface MeanInterval extends Interval {
  /** stdDev / sqrt(count). */
  readonly standardError: number;
  /** count - 1. */
  readonly degreesOfFreedom: number;
}

/**
 * Student t interval for the mean of one sample, as scipy's
 * `stats.t.interval(confidence, n - 1, loc=mean, scale=sd / sqrt(n))`. The t quantile is right
 * for any n and becomes the normal one for large n (`studentTQuantile` switches to the
 * Cornish–Fisher expansion there), so no separate normal method is needed. Needs count >= 2.
 */
export function meanInterval(summary: WelfordResult, confidence = 0.95): MeanInterval {
  checkConfidence(confidence);
  if (!Number.isSafeInteger(summary.count) || summary.count < 2) {
    throw new RangeError(
      `meanInterval: the sample has ${String(summary.count)} values; an interval needs at least 2`,
    );
  }
  if (!Number.isFinite(summary.mean) || !(summary.variance >= 0) || !Number.isFinite(summary.variance)) {
    throw new RangeError(
      `meanInterval: expected a finite mean and variance >= 0, got mean ${String(summary.mean)}, ` +
        `variance ${String(summary.variance)}`,
    );
  }
  const degreesOfFreedom = summary.count - 1;
  const standardError = Math.sqrt(summary.variance / summary.count);
  const half = -studentTQuantile((1 - confidence) / 2, degreesOfFreedom) * standardError;
  return {
    estimate: summary.mean,
    lower: summary.mean - half,
    upper: summary.mean + half,
    standardError,
    degreesOfFreedom,
  };
}
