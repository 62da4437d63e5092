/**
 * The statistics the release gates decide with: intervals that say how sure a comparison is, the
 * three-outcome margin rule, the eval-set size a margin needs, the chi-square test of homogeneity for drift
 * and a seeded random stream for the bootstrap. Plain numbers in, JSON-safe objects out; no clock,
 * and randomness only from a seed passed in. The measured coverage and error rates of every method
 * here are in docs/statistics.md (bench/calibration.ts writes them; test/calibration checks them).
 */
import {
  chiSquareSurvival,
  normalQuantile,
  proportionDifferenceInterval,
  regularizedGammaQ,
  wilsonInterval,
  type Interval,
} from './stats';

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** A stream of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * Mulberry32: a 32-bit generator, small and fast, ample for bootstrap resampling and simulation
 * (not for anything secret). The same seed gives the same stream on every machine.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from text (FNV-1a), so a gate's bootstrap of one eval set is the same on every run. */
export function seedFromText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

// ---------------------------------------------------------------------------------------------
// One proportion
// ---------------------------------------------------------------------------------------------

/**
 * The chi-square quantile for an even number of degrees of freedom 2k, through its Poisson form:
 * P(χ²_{2k} ≤ q) = P(Poisson(q/2) ≥ k). Solved by bisection, which is exact enough and cannot fail.
 */
function chiSquareQuantileEvenDf(probability: number, k: number): number {
  let lo = 0;
  let hi = 2 * k + 40 * Math.sqrt(k) + 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    // P(χ²_{2k} ≤ mid) = 1 − Q(k, mid/2)
    if (1 - regularizedGammaQ(k, mid / 2) < probability) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Brown, Cai & DasGupta's modified Wilson interval for a binomial proportion (Statistical Science
 * 16:101–133, 2001, §4.1.1): the Wilson score interval, whose coverage dips to about 90% when only
 * a handful of events is seen (an error rate of 0.5% on a few hundred requests), with the bound
 * next to 0 (or 1) replaced by its Poisson form for x ≤ x* events: lower = χ²_{2x, α} / (2n).
 * The paper sets x* = 2 for n ≤ 50 and 3 for 51 ≤ n ≤ 100; it stays 3 above 100, where the same
 * dip occurs (measured in docs/statistics.md).
 */
export function binomialInterval(successes: number, trials: number, confidence = 0.95): Interval {
  const wilson = wilsonInterval(successes, trials, confidence);
  const alpha = 1 - confidence;
  const xStar = trials <= 50 ? 2 : 3;
  let { lower, upper } = wilson;
  if (successes >= 1 && successes <= xStar) {
    lower = chiSquareQuantileEvenDf(alpha, successes) / (2 * trials);
  }
  const failures = trials - successes;
  if (failures >= 1 && failures <= xStar) {
    upper = 1 - chiSquareQuantileEvenDf(alpha, failures) / (2 * trials);
  }
  return { estimate: wilson.estimate, lower, upper };
}

// ---------------------------------------------------------------------------------------------
// Difference of two accuracies
// ---------------------------------------------------------------------------------------------

/**
 * Both models' outcomes on the same examples: the paired 2×2 table. Counts of examples.
 * Accuracy of the candidate is (bothCorrect + candidateOnly) / n, of the baseline
 * (bothCorrect + baselineOnly) / n.
 */
export interface PairedCounts {
  readonly bothCorrect: number;
  /** The candidate is right and the baseline wrong. */
  readonly candidateOnly: number;
  /** The baseline is right and the candidate wrong. */
  readonly baselineOnly: number;
  readonly neitherCorrect: number;
}

/** An interval for candidate − baseline accuracy, and how it was made. */
export interface DifferenceInterval extends Interval {
  /** Two-sided confidence of [lower, upper]. */
  readonly confidence: number;
  readonly paired: boolean;
  /** Examples compared (paired), or each side's count (unpaired). */
  readonly n: number | { readonly candidate: number; readonly baseline: number };
  /** e.g. "Newcombe paired (method 10, 1998)". */
  readonly method: string;
}

function checkCount(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a whole number >= 0, got ${String(value)}`);
  }
}

/**
 * Newcombe's square-and-add interval for the difference of two paired proportions, method 10 of
 * Newcombe (1998), "Improved confidence intervals for the difference between binomial proportions
 * based on paired data", Statistics in Medicine 17:2635–2650: the two Wilson intervals combined
 * with the continuity-corrected correlation φ of the table. Checked against the published value
 * of Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables (2017), ch. 8
 * (Cavo et al. table: −0.0621, 95% CI −0.1186 to −0.0046; test/core/gate-stats.test.ts).
 * Estimate = candidate accuracy − baseline accuracy.
 */
export function pairedDifferenceInterval(counts: PairedCounts, confidence = 0.95): DifferenceInterval {
  const { bothCorrect: a, candidateOnly: b, baselineOnly: c, neitherCorrect: d } = counts;
  for (const [k, v] of Object.entries(counts)) checkCount(`pairedDifferenceInterval: ${k}`, v);
  const n = a + b + c + d;
  if (n === 0) throw new RangeError('pairedDifferenceInterval: no examples to compare');
  const x1 = a + b; // candidate correct
  const x2 = a + c; // baseline correct
  const p1 = x1 / n;
  const p2 = x2 / n;
  const w1 = wilsonInterval(x1, n, confidence);
  const w2 = wilsonInterval(x2, n, confidence);
  // φ with Newcombe's continuity correction: 0 when any margin is 0, and shrunk towards 0 by n/2.
  let phi = 0;
  const product = x1 * (n - x1) * x2 * (n - x2);
  if (product > 0) {
    const cross = a * d - b * c;
    const corrected = cross > n / 2 ? cross - n / 2 : cross >= 0 ? 0 : cross;
    phi = corrected / Math.sqrt(product);
  }
  const estimate = p1 - p2;
  const l1 = p1 - w1.lower;
  const u1 = w1.upper - p1;
  const l2 = p2 - w2.lower;
  const u2 = w2.upper - p2;
  const lower = estimate - Math.sqrt(Math.max(0, l1 * l1 - 2 * phi * l1 * u2 + u2 * u2));
  const upper = estimate + Math.sqrt(Math.max(0, u1 * u1 - 2 * phi * u1 * l2 + l2 * l2));
  return {
    estimate,
    lower: Math.max(-1, lower),
    upper: Math.min(1, upper),
    confidence,
    paired: true,
    n,
    method: 'Newcombe paired square-and-add (method 10, Stat Med 1998;17:2635)',
  };
}

/**
 * The same difference from two independent samples (no per-example results): Newcombe's hybrid
 * score interval (method 10 of Newcombe 1998, Stat Med 17:873), from `stats.ts`.
 */
export function unpairedDifferenceInterval(
  candidateCorrect: number,
  candidateN: number,
  baselineCorrect: number,
  baselineN: number,
  confidence = 0.95,
): DifferenceInterval {
  const d = proportionDifferenceInterval(
    candidateCorrect,
    candidateN,
    baselineCorrect,
    baselineN,
    confidence,
  );
  return {
    ...d,
    confidence,
    paired: false,
    n: { candidate: candidateN, baseline: baselineN },
    method: 'Newcombe hybrid score, unpaired (method 10, Stat Med 1998;17:873)',
  };
}

// ---------------------------------------------------------------------------------------------
// The three-outcome margin rule
// ---------------------------------------------------------------------------------------------

/** What the interval alone says about a margin. */
export type MarginOutcome = 'pass' | 'fail' | 'inconclusive';

/**
 * What an inconclusive interval turns into: `point-estimate` applies the threshold to the observed
 * change, as the gate always did (the default, so no team is blocked by the change alone);
 * `pass` and `fail` decide every inconclusive comparison that way.
 */
export type InconclusivePolicy = 'point-estimate' | 'pass' | 'fail';

/** The rule that produced a verdict, named in the check and the PR comment. */
export type DecidingRule = 'interval' | 'point-estimate' | 'inconclusive-policy';

/**
 * The confidence of each one-sided statement: "the drop is within the margin with 95% confidence"
 * uses the lower bound of a two-sided 90% interval, "exceeds it with 95% confidence" the upper.
 */
export const ONE_SIDED_CONFIDENCE = 0.95;
/** The two-sided interval whose bounds are those one-sided 95% bounds. */
export const GATE_INTERVAL_CONFIDENCE = 2 * ONE_SIDED_CONFIDENCE - 1;

/**
 * The outcome for a "may worsen by at most `margin`" rule, where `worsening` is an interval of how
 * much worse the candidate is (positive = worse): pass when its upper bound is within the margin,
 * fail when its lower bound is beyond it, otherwise inconclusive. `tolerance` absorbs float noise.
 */
export function marginOutcome(worsening: Interval, margin: number, tolerance = 1e-9): MarginOutcome {
  if (worsening.upper <= margin + tolerance) return 'pass';
  if (worsening.lower > margin + tolerance) return 'fail';
  return 'inconclusive';
}

/** The final verdict and the rule that gave it. */
export function decideVerdict(
  outcome: MarginOutcome,
  pointWorsening: number,
  margin: number,
  policy: InconclusivePolicy,
  tolerance = 1e-9,
): { readonly verdict: 'pass' | 'fail'; readonly decidedBy: DecidingRule } {
  if (outcome !== 'inconclusive') return { verdict: outcome, decidedBy: 'interval' };
  if (policy === 'point-estimate') {
    return { verdict: pointWorsening <= margin + tolerance ? 'pass' : 'fail', decidedBy: 'point-estimate' };
  }
  return { verdict: policy, decidedBy: 'inconclusive-policy' };
}

// ---------------------------------------------------------------------------------------------
// How many rows a margin needs
// ---------------------------------------------------------------------------------------------

/**
 * Discordance assumed when no per-example results exist yet: the share of examples on which two
 * successive versions of a model disagree about being right. 0.1 is typical of a model around 90–95%
 * accurate whose versions share most of their errors; a measured value replaces it.
 */
export const DEFAULT_ASSUMED_DISCORDANCE = 0.1;

/** Probability that the gate decides a margin it should decide (see {@link rowsNeededForMargin}). */
export const GATE_POWER = 0.8;

/**
 * Rows a paired accuracy comparison needs so that, at the given discordance ψ (share of examples
 * where exactly one model is right), a candidate as good as the baseline passes by the interval
 * with probability {@link GATE_POWER}, and one worse by twice the margin fails by it just as often:
 * n = (z₀.₉₅ + z₀.₈₀)² · ψ / margin² (the normal approximation to the paired difference, whose
 * variance is about ψ / n; Connor 1987, Biometrics 43:207, without the small-d correction).
 */
export function rowsNeededForMargin(
  margin: number,
  discordance: number,
  power = GATE_POWER,
  oneSidedConfidence = ONE_SIDED_CONFIDENCE,
): number {
  if (!(margin > 0 && margin < 1)) {
    throw new RangeError(`rowsNeededForMargin: margin must be between 0 and 1 (exclusive), got ${margin}`);
  }
  if (!(discordance > 0 && discordance <= 1)) {
    throw new RangeError(`rowsNeededForMargin: discordance must be in (0, 1], got ${discordance}`);
  }
  const z = normalQuantile(oneSidedConfidence) + normalQuantile(power);
  return Math.ceil((z * z * discordance) / (margin * margin));
}

/** `1,550`: rows rounded up to 3 significant figures, as the sizing message says "about". */
export function aboutRows(rows: number): string {
  const digits = Math.max(0, Math.floor(Math.log10(Math.max(1, rows))) - 2);
  const step = 10 ** digits;
  return (Math.ceil(rows / step) * step).toLocaleString('en-US');
}

// ---------------------------------------------------------------------------------------------
// Drift significance: test of homogeneity
// ---------------------------------------------------------------------------------------------

/** Result of {@link homogeneityTest}. */
export interface HomogeneityTest {
  /** Pearson's X² = Σ (O − E)² / E over the 2 × k table: the statistic the decision uses. */
  readonly chiSquare: number;
  /** P(χ²_df ≥ X²): how often sampling alone gives distributions this different; 1 with one category. */
  readonly pValue: number;
  /** The G statistic 2 Σ O ln(O / E), kept for comparison (see below). */
  readonly g: number;
  /** P(χ²_df ≥ G). */
  readonly gPValue: number;
  /** Categories seen on either side, minus 1. */
  readonly degreesOfFreedom: number;
}

/**
 * Test of homogeneity of two samples of counts (do they come from one categorical distribution?),
 * with the χ² approximation and k − 1 degrees of freedom. The decision uses Pearson's X², not the G
 * (log-likelihood ratio) statistic: on the sample sizes the gates see (two sets of 100–200 rows over
 * 5 labels) G at level 0.01 false-alarmed 1.1–1.2% (anti-conservative in sparse tables, as Koehler &
 * Larntz, JASA 75:336, 1980, found), X² 0.9% (docs/statistics.md). Both are reported.
 */
export function homogeneityTest(
  current: Readonly<Record<string, number>>,
  reference: Readonly<Record<string, number>>,
): HomogeneityTest {
  const values = new Set([...Object.keys(current), ...Object.keys(reference)]);
  const get = (counts: Readonly<Record<string, number>>, v: string) =>
    Object.hasOwn(counts, v) ? counts[v] : 0;
  let n1 = 0;
  let n2 = 0;
  for (const v of values) {
    n1 += get(current, v);
    n2 += get(reference, v);
  }
  const total = n1 + n2;
  let g = 0;
  let chiSquare = 0;
  let categories = 0;
  for (const v of values) {
    const o1 = get(current, v);
    const o2 = get(reference, v);
    const column = o1 + o2;
    if (column === 0) continue;
    categories++;
    const e1 = (column * n1) / total;
    const e2 = (column * n2) / total;
    if (o1 > 0) g += o1 * Math.log(o1 / e1);
    if (o2 > 0) g += o2 * Math.log(o2 / e2);
    chiSquare += (o1 - e1) ** 2 / e1 + (o2 - e2) ** 2 / e2;
  }
  g = Math.max(0, 2 * g);
  const degreesOfFreedom = Math.max(0, categories - 1);
  const sf = (x: number) => (degreesOfFreedom === 0 ? 1 : chiSquareSurvival(x, degreesOfFreedom));
  return { chiSquare, pValue: sf(chiSquare), g, gPValue: sf(g), degreesOfFreedom };
}
