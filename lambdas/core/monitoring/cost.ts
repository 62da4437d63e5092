/**
 * Serving-cost estimates from the configured pricing table, for the PR comment, the regression
 * gate and `mlops estimate-cost`. Numbers keep full precision; round only when displaying them
 * (`formatMoney`).
 */

import type { PricingTable } from '../contracts/records';

/**
 * Hours in a billing month: 365 × 24 / 12 = 730, the convention of the AWS Pricing Calculator
 * for always-on resources. Real months have 672 to 744 hours.
 */
export const HOURS_PER_MONTH = 730;

/** Most hours a shadow can run in one month (31 days). */
const MAX_HOURS_IN_A_MONTH = 744;

/** A model billed per token (a hosted foundation model). */
export interface TokenServing {
  readonly kind: 'token';
  /** Key in `PricingTable.tokenModels`. */
  readonly model: string;
  /** Average input tokens per request. */
  readonly avgInputTokens: number;
  /** Average output tokens per request. */
  readonly avgOutputTokens: number;
}

/** Instances of one type, billed per instance-hour. */
export interface InstanceFleet {
  /** Key in `PricingTable.sagemakerInstances`, e.g. `ml.g5.xlarge`. */
  readonly instanceType: string;
  readonly instanceCount: number;
}

/** The candidate's shadow variant, billed only while it runs. */
export interface ShadowFleet extends InstanceFleet {
  /** Hours per month the shadow runs, 0 to 744. */
  readonly hoursPerMonth: number;
}

/** A self-hosted model on SageMaker real-time endpoints. */
export interface SageMakerServing {
  readonly kind: 'sagemaker';
  /** Instance type of the live endpoint's production variant. */
  readonly instanceType: string;
  /** At least 1. */
  readonly instanceCount: number;
  /** The warm N-1 endpoint kept for instant rollback; always running (count 0 means none). */
  readonly standby: InstanceFleet;
  /** A shadow variant, when one runs during the month. */
  readonly shadow?: ShadowFleet;
}

/** What is being priced. */
export type ServingDeployment = TokenServing | SageMakerServing;

/**
 * The parts of a model's config that decide what it costs to serve (`cost` and `serving` of
 * config/models/<model>.yaml), as both the config loader and the release settings a gate Lambda
 * reads hold them.
 */
export interface ServingCostConfig {
  readonly cost: {
    readonly pricing:
      | { readonly kind: 'sagemaker' }
      | {
          readonly kind: 'token';
          readonly model: string;
          readonly avgInputTokens: number;
          readonly avgOutputTokens: number;
        };
    readonly releasesPerMonth: number;
  };
  readonly serving: {
    readonly instanceType: string;
    readonly initialInstanceCount: number;
    readonly standby: { readonly instanceType?: string; readonly instanceCount: number };
    readonly shadow: { readonly windowMinutes: number; readonly instanceCount: number };
  };
}

/**
 * What a model's config costs to serve: the live fleet at its initial size, the warm standby
 * (always on), and the shadow variant for its window at every release.
 */
export function servingDeployment(model: ServingCostConfig): ServingDeployment {
  const { pricing, releasesPerMonth } = model.cost;
  if (pricing.kind === 'token') {
    return {
      kind: 'token',
      model: pricing.model,
      avgInputTokens: pricing.avgInputTokens,
      avgOutputTokens: pricing.avgOutputTokens,
    };
  }
  const { serving } = model;
  return {
    kind: 'sagemaker',
    instanceType: serving.instanceType,
    instanceCount: serving.initialInstanceCount,
    standby: {
      instanceType: serving.standby.instanceType ?? serving.instanceType,
      instanceCount: serving.standby.instanceCount,
    },
    shadow: {
      instanceType: serving.instanceType,
      instanceCount: serving.shadow.instanceCount,
      hoursPerMonth: Math.min(MAX_HOURS_IN_A_MONTH, (serving.shadow.windowMinutes / 60) * releasesPerMonth),
    },
  };
}

/** Which part of the deployment a cost line is for. */
export type CostComponent =
  'input-tokens' | 'output-tokens' | 'live-endpoint' | 'standby-endpoint' | 'shadow-variant';

/** One line of a cost breakdown. */
export interface CostLine {
  readonly component: CostComponent;
  /** Human description, e.g. `live endpoint: 2 × ml.g5.xlarge × 730 h`. */
  readonly item: string;
  readonly monthly: number;
}

/** Estimated cost of a deployment at a given traffic. All amounts are unrounded. */
export interface CostEstimate {
  /** ISO-4217 code of every amount. */
  readonly currency: string;
  /** Date of the prices used (`PricingTable.asOf`), to be shown beside every figure. */
  readonly pricingAsOf: string;
  readonly monthlyRequests: number;
  readonly monthly: number;
  readonly perRequest: number;
  readonly per1kRequests: number;
  /** Lines adding up to `monthly`. */
  readonly breakdown: readonly CostLine[];
}

/** Candidate against baseline. Percentages are in percent (10 means +10 %). */
export interface CostComparison {
  readonly currency: string;
  readonly baseline: CostEstimate;
  readonly candidate: CostEstimate;
  /** candidate.monthly - baseline.monthly. */
  readonly deltaMonthly: number;
  /** deltaMonthly as a percentage of baseline.monthly; null when the baseline costs nothing. */
  readonly deltaPct: number | null;
  readonly deltaPerRequest: number;
  readonly deltaPer1kRequests: number;
  /** deltaPer1kRequests as a percentage of baseline.per1kRequests; null when that is 0. */
  readonly deltaPer1kPct: number | null;
}

/** A model or instance type that the pricing table has no price for. */
export class UnknownPriceError extends Error {
  override readonly name = 'UnknownPriceError';
  constructor(
    readonly table: 'sagemakerInstances' | 'tokenModels',
    readonly key: string,
    readonly known: readonly string[],
    usedFor: string,
  ) {
    const what = table === 'sagemakerInstances' ? 'SageMaker instance type' : 'token-priced model';
    const list = known.length === 0 ? 'none' : [...known].sort().join(', ');
    super(
      `No price for ${what} "${key}" (${usedFor}) in the pricing table; known: ${list}. ` +
        `Fix the name, or add its price under pricing ${table}.`,
    );
  }
}

function requireNumber(value: number, what: string, rule: (v: number) => boolean, expected: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !rule(value)) {
    throw new RangeError(`${what} must be ${expected}, got ${String(value)}`);
  }
}

const isWholeAtLeast = (min: number) => (v: number) => Number.isSafeInteger(v) && v >= min;

function instancePrice(pricing: PricingTable, fleet: InstanceFleet, usedFor: string): number {
  const table = pricing.sagemakerInstances;
  if (!Object.hasOwn(table, fleet.instanceType)) {
    throw new UnknownPriceError('sagemakerInstances', fleet.instanceType, Object.keys(table), usedFor);
  }
  const price = table[fleet.instanceType];
  requireNumber(
    price,
    `pricing sagemakerInstances["${fleet.instanceType}"]`,
    (v) => v >= 0,
    'a price >= 0 per hour',
  );
  return price;
}

function sagemakerLines(deployment: SageMakerServing, pricing: PricingTable): CostLine[] {
  const { standby, shadow } = deployment;
  requireNumber(deployment.instanceCount, 'instanceCount', isWholeAtLeast(1), 'a whole number >= 1');
  if (standby === undefined || standby === null) {
    throw new RangeError(
      'standby is missing: give the N-1 endpoint its instanceType and instanceCount (0 for none)',
    );
  }
  requireNumber(standby.instanceCount, 'standby.instanceCount', isWholeAtLeast(0), 'a whole number >= 0');
  const live: CostLine = {
    component: 'live-endpoint',
    item: `live endpoint: ${deployment.instanceCount} × ${deployment.instanceType} × ${HOURS_PER_MONTH} h`,
    monthly: instancePrice(pricing, deployment, 'live endpoint') * deployment.instanceCount * HOURS_PER_MONTH,
  };
  const lines = [live];
  if (standby.instanceCount > 0) {
    lines.push({
      component: 'standby-endpoint',
      item: `standby endpoint (N-1): ${standby.instanceCount} × ${standby.instanceType} × ${HOURS_PER_MONTH} h`,
      monthly: instancePrice(pricing, standby, 'standby endpoint') * standby.instanceCount * HOURS_PER_MONTH,
    });
  }
  if (shadow !== undefined) {
    requireNumber(shadow.instanceCount, 'shadow.instanceCount', isWholeAtLeast(0), 'a whole number >= 0');
    requireNumber(
      shadow.hoursPerMonth,
      'shadow.hoursPerMonth',
      (v) => v >= 0 && v <= MAX_HOURS_IN_A_MONTH,
      `between 0 and ${MAX_HOURS_IN_A_MONTH} (a 31-day month)`,
    );
    if (shadow.instanceCount > 0 && shadow.hoursPerMonth > 0) {
      lines.push({
        component: 'shadow-variant',
        item: `shadow variant: ${shadow.instanceCount} × ${shadow.instanceType} × ${shadow.hoursPerMonth} h`,
        monthly:
          instancePrice(pricing, shadow, 'shadow variant') * shadow.instanceCount * shadow.hoursPerMonth,
      });
    }
  }
  return lines;
}

function tokenLines(deployment: TokenServing, pricing: PricingTable, monthlyRequests: number): CostLine[] {
  const table = pricing.tokenModels;
  if (!Object.hasOwn(table, deployment.model)) {
    throw new UnknownPriceError('tokenModels', deployment.model, Object.keys(table), 'token-priced model');
  }
  const price = table[deployment.model];
  requireNumber(
    price?.inputPer1k,
    `pricing tokenModels["${deployment.model}"].inputPer1k`,
    (v) => v >= 0,
    'a price >= 0',
  );
  requireNumber(
    price.outputPer1k,
    `pricing tokenModels["${deployment.model}"].outputPer1k`,
    (v) => v >= 0,
    'a price >= 0',
  );
  requireNumber(deployment.avgInputTokens, 'avgInputTokens', (v) => v >= 0, 'a number >= 0');
  requireNumber(deployment.avgOutputTokens, 'avgOutputTokens', (v) => v >= 0, 'a number >= 0');
  return [
    {
      component: 'input-tokens',
      item: `input tokens (${deployment.model}): ${deployment.avgInputTokens} per request`,
      monthly: (deployment.avgInputTokens / 1000) * price.inputPer1k * monthlyRequests,
    },
    {
      component: 'output-tokens',
      item: `output tokens (${deployment.model}): ${deployment.avgOutputTokens} per request`,
      monthly: (deployment.avgOutputTokens / 1000) * price.outputPer1k * monthlyRequests,
    },
  ];
}

/**
 * Monthly and per-request cost of a deployment at `monthlyRequests` requests a month.
 * Token-priced: in/1000 × inputPer1k + out/1000 × outputPer1k per request. SageMaker: price per
 * instance-hour × count × 730 h for the live and standby endpoints, plus the shadow's hours;
 * that fixed cost is spread over the requests. Throws `UnknownPriceError` for an unpriced key.
 */
export function estimateCost(
  deployment: ServingDeployment,
  pricing: PricingTable,
  monthlyRequests: number,
): CostEstimate {
  requireNumber(
    monthlyRequests,
    'monthlyRequests',
    isWholeAtLeast(1),
    'a whole number >= 1 (the cost per request divides by it)',
  );
  let breakdown: CostLine[];
  if (deployment.kind === 'token') breakdown = tokenLines(deployment, pricing, monthlyRequests);
  else if (deployment.kind === 'sagemaker') breakdown = sagemakerLines(deployment, pricing);
  else {
    throw new RangeError(
      `deployment kind must be "token" or "sagemaker", got ${JSON.stringify((deployment as { kind?: unknown }).kind)}`,
    );
  }
  const monthly = breakdown.reduce((sum, line) => sum + line.monthly, 0);
  const perRequest = monthly / monthlyRequests;
  return {
    currency: pricing.currency,
    pricingAsOf: pricing.asOf,
    monthlyRequests,
    monthly,
    perRequest,
    per1kRequests: perRequest * 1000,
    breakdown,
  };
}

function percentChange(delta: number, base: number): number | null {
  return base === 0 ? null : (delta / base) * 100;
}

/** Candidate cost against baseline cost. Both must be in the same currency. */
export function compareCost(baseline: CostEstimate, candidate: CostEstimate): CostComparison {
  if (baseline.currency !== candidate.currency) {
    throw new RangeError(
      `cannot compare a baseline in ${baseline.currency} with a candidate in ${candidate.currency}; ` +
        'price both from the same pricing table',
    );
  }
  const deltaMonthly = candidate.monthly - baseline.monthly;
  const deltaPer1kRequests = candidate.per1kRequests - baseline.per1kRequests;
  return {
    currency: baseline.currency,
    baseline,
    candidate,
    deltaMonthly,
    deltaPct: percentChange(deltaMonthly, baseline.monthly),
    deltaPerRequest: candidate.perRequest - baseline.perRequest,
    deltaPer1kRequests,
    deltaPer1kPct: percentChange(deltaPer1kRequests, baseline.per1kRequests),
  };
}

/** Options of `formatMoney`. */
export interface FormatMoneyOptions {
  /** Show a + on positive amounts, for deltas. @default false */
  readonly signed?: boolean;
  /**
   * Always the currency's usual decimals, also below 1 (`$0.51`): for amounts shown in one column or
   * sentence with larger ones, where `$0.512` beside `$6.28` reads as a different precision.
   * @default false - amounts below 1 get up to three significant digits
   */
  readonly cents?: boolean;
}

/**
 * Formats an amount for people (en-US conventions, so the output does not depend on the machine):
 * the currency's usual decimals (`$1,234.50`), and for amounts below 1 up to three significant
 * digits (`$0.00123`, trailing zeros dropped), since per-request costs are often fractions of a cent.
 */
export function formatMoney(amount: number, currency: string, options: FormatMoneyOptions = {}): string {
  if (!Number.isFinite(amount))
    throw new RangeError(`formatMoney: amount must be a finite number, got ${String(amount)}`);
  if (!/^[A-Za-z]{3}$/.test(currency)) {
    throw new RangeError(
      `formatMoney: currency must be a 3-letter ISO-4217 code such as USD, got ${JSON.stringify(currency)}`,
    );
  }
  const base = {
    style: 'currency',
    currency: currency.toUpperCase(),
    signDisplay: options.signed ? 'exceptZero' : 'auto',
  } as const;
  const usual = new Intl.NumberFormat('en-US', base).resolvedOptions().maximumFractionDigits ?? 2;
  const magnitude = Math.abs(amount);
  const decimals =
    !options.cents && magnitude > 0 && magnitude < 1
      ? Math.max(usual, Math.ceil(-Math.log10(magnitude)) + 2)
      : usual;
  return new Intl.NumberFormat('en-US', {
    ...base,
    minimumFractionDigits: usual,
    maximumFractionDigits: Math.min(decimals, 20),
  }).format(amount);
}
