/**
 * The shadow stage's comparison of the production variant and the candidate running as a shadow
 * variant over the shadow window. Advisory only: it reports differences with their uncertainty
 * and never returns a verdict, because the shadow stage blocks only on infrastructure failure.
 *
 * Inputs come from CloudWatch (`Invocations`, `Invocation5XXErrors`, `Invocation4XXErrors`,
 * `ModelLatency` percentiles per variant, summed or read over the window) and from data capture
 * (how many paired requests got the same prediction). Output is strict JSON: no NaN, no Infinity.
 */
import type { CaptureAgreement } from './data-capture';
import { binomialInterval } from '../statistics/gate-stats';
import { comparePaired, type PairedComparison } from './shadow-paired';
import { proportionDifferenceInterval, type Interval } from '../statistics/stats';

/** One variant's traffic over the shadow window. */
export interface VariantWindowSummary {
  /** Requests the variant served (CloudWatch `Invocations`, Sum over the window). */
  readonly invocations: number;
  /** CloudWatch `Invocation5XXErrors`, Sum over the window. */
  readonly errors5xx: number;
  /** CloudWatch `Invocation4XXErrors`, Sum over the window. */
  readonly errors4xx: number;
  /**
   * Latency percentiles in milliseconds (SageMaker's `ModelLatency` is in microseconds: divide by
   * 1000 first). `null` when CloudWatch returned no datapoints.
   */
  readonly latencyMs: LatencyPercentiles | null;
}

/** Latency percentiles in milliseconds. */
export interface LatencyPercentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/** Prediction agreement between the variants on requests both answered (from data capture). */
export interface AgreementCounts {
  /** Paired requests whose predictions matched. */
  readonly agreements: number;
  /** Paired requests compared. */
  readonly compared: number;
}

/** Input of {@link compareShadow}. */
export interface ShadowComparisonInput {
  readonly production: VariantWindowSummary;
  readonly shadow: VariantWindowSummary;
  /** Agreement counts; with `capture`, its `compared` and `agreements`. */
  readonly agreement: AgreementCounts;
  /**
   * Data capture paired on `inferenceId` (lambdas/core/serving/data-capture.ts), or why it could not be
   * read; without it the report says nothing was compared request by request.
   */
  readonly capture?: { readonly agreement: CaptureAgreement; readonly error: string | null };
}

/**
 * Below 100 requests an interval is too wide to say anything: with 0 errors in 100 the Wilson
 * 95% upper bound of the error rate is still 3.7%, with 50% agreement the interval is ±10 points.
 */
export const DEFAULT_MIN_SHADOW_SAMPLES = 100;

/** Options of {@link compareShadow}. */
export interface ShadowComparisonOptions {
  /**
   * Fewest invocations per variant (and compared requests for agreement) for a comparison that
   * means something; below it the report adds an `insufficientData` note.
   * @default DEFAULT_MIN_SHADOW_SAMPLES (100)
   */
  readonly minSamples?: number;
  /** Confidence level of every interval. @default 0.95 */
  readonly confidence?: number;
}

/** One variant's side of the report. */
export interface VariantReport {
  readonly invocations: number;
  /** 5xx errors / invocations; null with no invocations. */
  readonly serverErrorRate: Interval | null;
  /** 4xx errors / invocations; null with no invocations. */
  readonly clientErrorRate: Interval | null;
  readonly latencyMs: LatencyPercentiles | null;
}

/** Latency change of one percentile, shadow minus production. */
export interface LatencyDelta {
  readonly productionMs: number;
  readonly shadowMs: number;
  readonly deltaMs: number;
  /** Relative change in percent; null when production's value is 0. */
  readonly deltaPct: number | null;
}

/** A statement for people reading the release notes; never a verdict. */
export interface ShadowFinding {
  readonly advisory: true;
  readonly topic: 'traffic' | 'errors' | 'latency' | 'agreement' | 'pairing';
  readonly text: string;
}

/** The advisory shadow report, as written to the artifacts bucket. */
export interface ShadowReport {
  readonly advisory: true;
  readonly confidence: number;
  readonly minSamples: number;
  readonly production: VariantReport;
  readonly shadow: VariantReport;
  /** Shadow minus production 5xx rate; null unless both variants have invocations. */
  readonly serverErrorRateDifference: Interval | null;
  /** Shadow minus production 4xx rate; null unless both variants have invocations. */
  readonly clientErrorRateDifference: Interval | null;
  /** Null unless both variants have latency data. */
  readonly latency: {
    readonly p50: LatencyDelta;
    readonly p95: LatencyDelta;
    readonly p99: LatencyDelta;
  } | null;
  /** Agreement on requests paired by `inferenceId`; `rate` is Brown–Cai–DasGupta's modified Wilson. */
  readonly agreement: AgreementCounts & { readonly rate: Interval | null };
  /** Agreement, failure and latency differences on matched requests, or why there were none. */
  readonly paired: PairedComparison;
  readonly findings: readonly ShadowFinding[];
  /** Why some comparison is missing or too uncertain to read; empty when the data suffice. */
  readonly insufficientData: readonly string[];
}

type VariantName = 'production' | 'shadow';

/**
 * Compares the shadow variant with production over the window. Throws RangeError only on input
 * no caller should produce (negative or fractional counts, agreements above compared, non-finite
 * latency); error counts above invocations, which CloudWatch sums over misaligned periods can
 * give, are capped at the invocations with a note.
 */
export function compareShadow(
  input: ShadowComparisonInput,
  options: ShadowComparisonOptions = {},
): ShadowReport {
  const minSamples = options.minSamples ?? DEFAULT_MIN_SHADOW_SAMPLES;
  const confidence = options.confidence ?? 0.95;
  if (!Number.isSafeInteger(minSamples) || minSamples < 1) {
    throw new RangeError(`compareShadow: minSamples must be a whole number >= 1, got ${String(minSamples)}`);
  }
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(
      `compareShadow: confidence must be strictly between 0 and 1 (e.g. 0.95), got ${String(confidence)}`,
    );
  }
  checkVariant('production', input.production);
  checkVariant('shadow', input.shadow);
  const { agreements, compared } = input.agreement;
  checkCount('agreement.agreements', agreements);
  checkCount('agreement.compared', compared);
  if (agreements > compared) {
    throw new RangeError(
      `compareShadow: agreement.agreements (${agreements}) cannot exceed agreement.compared (${compared}); ` +
        'count an agreement only for a request both variants answered',
    );
  }
  if (
    input.capture &&
    (input.capture.agreement.compared !== compared || input.capture.agreement.agreements !== agreements)
  ) {
    throw new RangeError(
      `compareShadow: agreement (${agreements} of ${compared}) differs from the capture pairing ` +
        `(${input.capture.agreement.agreements} of ${input.capture.agreement.compared}); pass the pairing's counts`,
    );
  }

  const notes: string[] = [];
  const findings: ShadowFinding[] = [];
  const finding = (topic: ShadowFinding['topic'], text: string): void => {
    findings.push({ advisory: true, topic, text });
  };

  const prod = capErrors('production', input.production, notes);
  const shad = capErrors('shadow', input.shadow, notes);
  for (const [label, v] of [
    ['production', prod],
    ['shadow', shad],
  ] as const) {
    if (v.invocations < minSamples) {
      notes.push(
        `${label} served ${formatCount(v.invocations)} invocation${v.invocations === 1 ? '' : 's'} in the window, ` +
          `fewer than ${formatCount(minSamples)}: its error rates ${v.invocations === 0 ? 'cannot be computed' : 'are too uncertain to compare'}` +
          (label === 'shadow'
            ? '; check the shadow sampling percentage and that the window had traffic'
            : '; lengthen serving.shadow.windowMinutes'),
      );
    }
  }

  // Error rates are small and often 0 to 3 events: the modified Wilson keeps its coverage there.
  const rate = (errors: number, n: number): Interval | null =>
    n > 0 ? binomialInterval(errors, n, confidence) : null;
  const production: VariantReport = {
    invocations: prod.invocations,
    serverErrorRate: rate(prod.errors5xx, prod.invocations),
    clientErrorRate: rate(prod.errors4xx, prod.invocations),
    latencyMs: prod.latencyMs,
  };
  const shadow: VariantReport = {
    invocations: shad.invocations,
    serverErrorRate: rate(shad.errors5xx, shad.invocations),
    clientErrorRate: rate(shad.errors4xx, shad.invocations),
    latencyMs: shad.latencyMs,
  };
  const bothServed = prod.invocations > 0 && shad.invocations > 0;
  const difference = (a: number, b: number): Interval | null =>
    bothServed ? proportionDifferenceInterval(a, shad.invocations, b, prod.invocations, confidence) : null;
  const serverErrorRateDifference = difference(shad.errors5xx, prod.errors5xx);
  const clientErrorRateDifference = difference(shad.errors4xx, prod.errors4xx);

  if (prod.invocations > 0) {
    finding(
      'traffic',
      `shadow served ${formatCount(shad.invocations)} invocations, ${formatPercent(shad.invocations / prod.invocations)} ` +
        `of production's ${formatCount(prod.invocations)}`,
    );
  }
  if (serverErrorRateDifference !== null && production.serverErrorRate && shadow.serverErrorRate) {
    finding(
      'errors',
      `shadow 5xx error rate ${formatRate(shadow.serverErrorRate)} vs production ${formatRate(production.serverErrorRate)}; ` +
        `difference ${formatPoints(serverErrorRateDifference)}`,
    );
  }
  if (clientErrorRateDifference !== null && production.clientErrorRate && shadow.clientErrorRate) {
    finding(
      'errors',
      `shadow 4xx error rate ${formatRate(shadow.clientErrorRate)} vs production ${formatRate(production.clientErrorRate)}; ` +
        `difference ${formatPoints(clientErrorRateDifference)}`,
    );
  }

  let latency: ShadowReport['latency'] = null;
  if (prod.latencyMs && shad.latencyMs) {
    const p = prod.latencyMs;
    const s = shad.latencyMs;
    latency = {
      p50: latencyDelta(p.p50, s.p50),
      p95: latencyDelta(p.p95, s.p95),
      p99: latencyDelta(p.p99, s.p99),
    };
    for (const key of ['p50', 'p95', 'p99'] as const) {
      const d = latency[key];
      const change =
        d.deltaPct === null
          ? `${d.deltaMs >= 0 ? '+' : '−'}${formatMs(Math.abs(d.deltaMs))} ms`
          : formatSignedPct(d.deltaPct);
      finding(
        'latency',
        `shadow ${key} latency ${change} (${formatMs(d.productionMs)} → ${formatMs(d.shadowMs)} ms)`,
      );
    }
  } else {
    const missing = [prod.latencyMs ? null : 'production', shad.latencyMs ? null : 'shadow'].filter(Boolean);
    notes.push(`no latency datapoints for ${missing.join(' and ')}: latency cannot be compared`);
  }

  const agreementRate = compared > 0 ? binomialInterval(agreements, compared, confidence) : null;
  if (agreementRate !== null) {
    finding(
      'agreement',
      `agreement ${formatPercent(agreementRate.estimate)} [${formatPercentNumber(agreementRate.lower)}, ` +
        `${formatPercentNumber(agreementRate.upper)}] on ${formatCount(compared)} compared request${compared === 1 ? '' : 's'}`,
    );
  }
  const paired = input.capture
    ? comparePaired(input.capture.agreement, input.capture.error, { confidence })
    : comparePaired(null, null);
  finding('pairing', pairingText(paired));
  if (compared < minSamples) {
    notes.push(
      `only ${formatCount(compared)} request${compared === 1 ? '' : 's'} compared for prediction agreement, fewer ` +
        `than ${formatCount(minSamples)}: ${compared === 0 ? 'agreement cannot be computed' : 'the agreement rate is too uncertain to read'}` +
        '; check that data capture records both variants',
    );
  }

  return {
    advisory: true,
    confidence,
    minSamples,
    production,
    shadow,
    serverErrorRateDifference,
    clientErrorRateDifference,
    latency,
    agreement: { agreements, compared, rate: agreementRate },
    paired,
    findings,
    insufficientData: notes,
  };
}

/** One sentence: "paired on N matched requests: ..." or "unpaired: <why>". */
export function pairingText(paired: PairedComparison): string {
  if (paired.status === 'unpaired') return `unpaired: ${paired.reason}`;
  const parts = [
    `paired on ${formatCount(paired.matched)} matched request${paired.matched === 1 ? '' : 's'} (inferenceId)`,
  ];
  const d = paired.failureRateDifference;
  parts.push(
    `failure rate shadow ${formatPercent(d.shadowFailed / d.n)} vs production ${formatPercent(d.productionFailed / d.n)}, ` +
      `difference ${formatPoints(d)}`,
  );
  if (paired.latency) {
    const l = paired.latency;
    parts.push(
      `latency difference per request median ${formatSignedMs(l.medianMs)}, p99 ${formatSignedMs(l.p99Ms)}` +
        (l.meanInterval
          ? `, mean ${formatSignedMs(l.meanInterval.estimate)} [${formatSignedMs(l.meanInterval.lower)}, ${formatSignedMs(l.meanInterval.upper)}]`
          : ` (${l.tooFew ?? 'no interval'})`) +
        ` on ${formatCount(l.pairs)} pairs`,
    );
  } else if (paired.latencyNote) {
    parts.push(paired.latencyNote);
  }
  return parts.join('; ');
}

function formatSignedMs(ms: number): string {
  const text = formatMs(Math.abs(ms));
  if (Number(text) === 0) return '±0 ms';
  return `${ms > 0 ? '+' : '−'}${text} ms`;
}

function checkCount(label: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`compareShadow: ${label} must be a whole number >= 0, got ${String(value)}`);
  }
}

function checkVariant(label: VariantName, v: VariantWindowSummary): void {
  checkCount(`${label}.invocations`, v.invocations);
  checkCount(`${label}.errors5xx`, v.errors5xx);
  checkCount(`${label}.errors4xx`, v.errors4xx);
  if (v.latencyMs === null) return;
  for (const key of ['p50', 'p95', 'p99'] as const) {
    const ms = v.latencyMs[key];
    if (!Number.isFinite(ms) || ms < 0) {
      throw new RangeError(
        `compareShadow: ${label}.latencyMs.${key} must be a finite number of milliseconds >= 0, got ${String(ms)}; ` +
          'pass latencyMs: null when CloudWatch has no datapoints',
      );
    }
  }
}

function capErrors(label: VariantName, v: VariantWindowSummary, notes: string[]): VariantWindowSummary {
  const capped = { ...v };
  for (const [key, code] of [
    ['errors5xx', '5xx'],
    ['errors4xx', '4xx'],
  ] as const) {
    if (v[key] > v.invocations) {
      notes.push(
        `${label} reported ${formatCount(v[key])} ${code} errors for ${formatCount(v.invocations)} invocations ` +
          '(CloudWatch sums over misaligned periods can disagree); the error rate counts at most one error per invocation',
      );
      capped[key] = v.invocations;
    }
  }
  return capped;
}

function latencyDelta(productionMs: number, shadowMs: number): LatencyDelta {
  const deltaMs = shadowMs - productionMs;
  const deltaPct = (deltaMs / productionMs) * 100;
  // A production latency of 0 (or a subnormal one) has no meaningful relative change.
  return { productionMs, shadowMs, deltaMs, deltaPct: Number.isFinite(deltaPct) ? deltaPct : null };
}

/** 4120 -> "4,120", without depending on the runtime's locale data. */
function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A fraction as a percentage with one decimal: 0.9123 -> "91.2%". */
function formatPercent(fraction: number): string {
  return `${formatPercentNumber(fraction)}%`;
}

function formatPercentNumber(fraction: number): string {
  return (fraction * 100).toFixed(1);
}

/** Error rates are small, so two decimals: "0.40% [0.25, 0.64]". */
function formatRate(i: Interval): string {
  return `${(i.estimate * 100).toFixed(2)}% [${(i.lower * 100).toFixed(2)}, ${(i.upper * 100).toFixed(2)}]`;
}

/** A difference of rates in percentage points: "+0.30 points [+0.12, +0.50]". */
function formatPoints(i: Interval): string {
  const signed = (x: number): string => {
    const s = (x * 100).toFixed(2);
    return x > 0 && s !== '0.00' ? `+${s}` : s === '-0.00' ? '0.00' : s;
  };
  return `${signed(i.estimate)} points [${signed(i.lower)}, ${signed(i.upper)}]`;
}

/** "+23%", "−4.5%": whole percent from 10% on, one decimal below. */
function formatSignedPct(pct: number): string {
  const abs = Math.abs(pct);
  const text = abs >= 10 ? abs.toFixed(0) : abs.toFixed(1);
  if (Number(text) === 0) return '±0%';
  return `${pct > 0 ? '+' : '−'}${text}%`;
}

/** Whole milliseconds from 10 ms on, one decimal below. */
function formatMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms.toFixed(1);
}
