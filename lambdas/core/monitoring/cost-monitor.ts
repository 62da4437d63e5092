/**
 * The scheduled cost monitor's arithmetic: what the model's endpoints cost in the last hour, from
 * what was in service (instances) and what was served (invocations), extrapolated to a day and a
 * month. The prices and the month are those of the regression gate's estimate (cost.ts), so the
 * monitor and the gate quote the same figures for the same fleet.
 *
 * - SageMaker-priced: Σ price per instance-hour × instances in service, per endpoint.
 * - Token-priced: invocations × (avgInputTokens × inputPer1k + avgOutputTokens × outputPer1k) / 1000;
 *   instance-hours are not priced, as in `estimateCost`.
 *
 * daily = hourly × 24; monthly = hourly × 730 (`HOURS_PER_MONTH`, the AWS Pricing Calculator's month).
 */
import type { PricingTable } from '../contracts/records';
import { HOURS_PER_MONTH, UnknownPriceError, type CostComponent, type TokenServing } from './cost';

export const HOURS_PER_DAY = 24;

/** One endpoint over the hour measured. */
export interface EndpointUsage {
  readonly role: 'live' | 'standby';
  readonly endpointName: string;
  /** Key in `PricingTable.sagemakerInstances`; priced only when instances are in service. */
  readonly instanceType: string;
  /** `CurrentInstanceCount` of its variant; 0 when the endpoint does not exist. */
  readonly instanceCount: number;
  /** `Invocations` (Sum) of its variant over the hour; 0 without datapoints. */
  readonly invocations: number;
}

/** How the model is priced: `cost.pricing` of its config. */
export type CostPricing = { readonly kind: 'sagemaker' } | TokenServing;

/** One line of the hourly cost. */
export interface HourlyCostLine {
  readonly component: CostComponent;
  /** e.g. `live endpoint: 2 × ml.g4dn.xlarge`. */
  readonly item: string;
  readonly hourly: number;
}

/** The estimate; amounts unrounded, in `currency`. */
export interface ServingCostRate {
  readonly currency: string;
  readonly pricingAsOf: string;
  /** Invocations of every endpoint over the hour. */
  readonly invocations: number;
  readonly hourly: number;
  /** hourly × 24. */
  readonly daily: number;
  /** hourly × 730. */
  readonly monthly: number;
  /** Lines adding up to `hourly`; none when nothing costs. */
  readonly lines: readonly HourlyCostLine[];
}

/**
 * The cost of one hour of the given endpoints, extrapolated. Throws `UnknownPriceError` for an
 * instance type in service or a token model without a price, and a RangeError for a count or an
 * invocation total that is not a number >= 0.
 */
export function estimateServingCostRate(
  endpoints: readonly EndpointUsage[],
  pricing: CostPricing,
  table: PricingTable,
): ServingCostRate {
  for (const e of endpoints) {
    if (!Number.isSafeInteger(e.instanceCount) || e.instanceCount < 0) {
      throw new RangeError(
        `${e.role} endpoint ${e.endpointName}: instance count must be a whole number >= 0, got ${String(e.instanceCount)}`,
      );
    }
    if (typeof e.invocations !== 'number' || !Number.isFinite(e.invocations) || e.invocations < 0) {
      throw new RangeError(
        `${e.role} endpoint ${e.endpointName}: invocations must be a number >= 0, got ${String(e.invocations)}`,
      );
    }
  }
  const invocations = endpoints.reduce((sum, e) => sum + e.invocations, 0);
  let lines: HourlyCostLine[];
  if (pricing.kind === 'sagemaker') {
    lines = endpoints
      .filter((e) => e.instanceCount > 0)
      .map((e) => ({
        component: e.role === 'live' ? 'live-endpoint' : 'standby-endpoint',
        item: `${e.role} endpoint: ${e.instanceCount} × ${e.instanceType}`,
        hourly: instancePrice(table, e) * e.instanceCount,
      }));
  } else if (pricing.kind === 'token') {
    lines = tokenLines(pricing, table, invocations);
  } else {
    throw new RangeError(
      `cost pricing kind must be "sagemaker" or "token", got ${JSON.stringify((pricing as { kind?: unknown }).kind)}`,
    );
  }
  const hourly = lines.reduce((sum, line) => sum + line.hourly, 0);
  return {
    currency: table.currency,
    pricingAsOf: table.asOf,
    invocations,
    hourly,
    daily: hourly * HOURS_PER_DAY,
    monthly: hourly * HOURS_PER_MONTH,
    lines,
  };
}

function instancePrice(table: PricingTable, endpoint: EndpointUsage): number {
  const prices = table.sagemakerInstances;
  if (!Object.hasOwn(prices, endpoint.instanceType)) {
    throw new UnknownPriceError(
      'sagemakerInstances',
      endpoint.instanceType,
      Object.keys(prices),
      `${endpoint.role} endpoint ${endpoint.endpointName}`,
    );
  }
  return prices[endpoint.instanceType];
}

function tokenLines(pricing: TokenServing, table: PricingTable, invocations: number): HourlyCostLine[] {
  if (!Object.hasOwn(table.tokenModels, pricing.model)) {
    throw new UnknownPriceError(
      'tokenModels',
      pricing.model,
      Object.keys(table.tokenModels),
      'token-priced model',
    );
  }
  const price = table.tokenModels[pricing.model];
  return [
    {
      component: 'input-tokens',
      item: `input tokens (${pricing.model}): ${invocations} × ${pricing.avgInputTokens}`,
      hourly: (invocations * pricing.avgInputTokens * price.inputPer1k) / 1000,
    },
    {
      component: 'output-tokens',
      item: `output tokens (${pricing.model}): ${invocations} × ${pricing.avgOutputTokens}`,
      hourly: (invocations * pricing.avgOutputTokens * price.outputPer1k) / 1000,
    },
  ];
}
