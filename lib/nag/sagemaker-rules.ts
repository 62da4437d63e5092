/**
 * Rules the real SageMaker service enforces but `cdk synth`, cfn-lint and moto do not: a config that
 * breaks one deploys for minutes and then fails (or, worse, deploys and behaves differently from
 * what it says). Each rule is a pure function over plain data that returns the problems found, one
 * message per problem naming the thing, the value got, what is allowed and how to fix it; an empty
 * list means compliant. `SageMakerServiceRulesChecks` runs the rules that can be read off an
 * `AWS::SageMaker::EndpointConfig` over a whole app as a cdk-nag 3 pack.
 */
import { CfnResource, PolicyValidationPluginReport, Stack } from 'aws-cdk-lib';
import { CfnEndpointConfig } from 'aws-cdk-lib/aws-sagemaker';
import { NagMessageLevel, NagPack, NagPackProps, NagRuleCompliance, NagRuleResult } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { MIN_CANARY_FLEET } from '../../lambdas/core/contracts/config-schema';

/** `CfnEndpointConfig.CFN_RESOURCE_TYPE_NAME`, without loading the module that defines it. */
export const ENDPOINT_CONFIG_TYPE = 'AWS::SageMaker::EndpointConfig';

// ---------------------------------------------------------------------------------------------
// Pure rules
// ---------------------------------------------------------------------------------------------

/** The variants of one endpoint config, by name. */
export interface EndpointConfigVariants {
  /** How messages name the endpoint config: its construct path or its name. */
  readonly endpointConfig: string;
  /** Names of the production variants, in order. */
  readonly productionVariants: readonly string[];
  /** Names of the shadow variants (`ShadowProductionVariants`), in order. */
  readonly shadowVariants: readonly string[];
}

const listNames = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');

/**
 * An endpoint config with shadow variants must hold exactly one production variant and exactly one
 * shadow variant. CloudFormation, cfn-lint and moto accept more; SageMaker refuses it at deploy time.
 */
export function shadowVariantProblems(config: EndpointConfigVariants): string[] {
  const { endpointConfig, productionVariants, shadowVariants } = config;
  if (shadowVariants.length === 0) return [];
  const problems: string[] = [];
  if (productionVariants.length !== 1) {
    problems.push(
      `Endpoint config ${endpointConfig} has ${productionVariants.length} production variants` +
        (productionVariants.length > 0 ? ` (${listNames(productionVariants)})` : '') +
        ` beside its shadow variant; SageMaker allows exactly 1 production variant in an endpoint config with ShadowProductionVariants. ` +
        `Fix: keep only the live production variant next to the shadow variant and serve any other model from its own endpoint (the N-1 model lives on the standby endpoint).`,
    );
  }
  if (shadowVariants.length !== 1) {
    problems.push(
      `Endpoint config ${endpointConfig} has ${shadowVariants.length} shadow variants (${listNames(shadowVariants)}); ` +
        `SageMaker allows exactly 1 shadow variant. Fix: shadow one candidate at a time.`,
    );
  }
  return problems;
}

/** The production variant names of an endpoint config, for a blue/green update. */
export interface EndpointConfigVariantNames {
  /** How messages name the endpoint config: its construct path or its name. */
  readonly endpointConfig: string;
  /** Names of its production variants. */
  readonly variantNames: readonly string[];
}

/**
 * A blue/green (or rolling) update must keep the old endpoint config's variant names: the new
 * config may neither drop nor add a production variant name, or SageMaker refuses the update.
 */
export function blueGreenVariantNameProblems(
  current: EndpointConfigVariantNames,
  next: EndpointConfigVariantNames,
): string[] {
  const nextNames = new Set(next.variantNames);
  const currentNames = new Set(current.variantNames);
  const missing = current.variantNames.filter((n) => !nextNames.has(n));
  const added = next.variantNames.filter((n) => !currentNames.has(n));
  if (missing.length === 0 && added.length === 0) return [];
  const changes = [
    missing.length > 0 ? `drops ${listNames(missing)}` : undefined,
    added.length > 0 ? `adds ${listNames(added)}` : undefined,
  ]
    .filter((c) => c !== undefined)
    .join(' and ');
  return [
    `Endpoint config ${next.endpointConfig} ${changes} compared with the config in service (${current.endpointConfig}: ${listNames(current.variantNames)}); ` +
      `a blue/green update needs the same variant names in the old and new configs. ` +
      `Fix: name the new config's variants ${listNames(current.variantNames)}, as in the config in service.`,
  ];
}

/** The canary step of a blue/green update, as the platform asks for it. */
export interface CanarySize {
  /** How messages name the variant being updated. */
  readonly variant: string;
  /** Canary size in percent of the new fleet (`serving.canary.sizePercent`). */
  readonly sizePercent: number;
  /** Instances of the new (green) fleet; pass the smallest fleet the update can meet. */
  readonly instanceCount: number;
}

/** SageMaker's documented ceiling on the canary, in percent of the variant's instances. */
export const MAX_CANARY_PERCENT = 50;

/**
 * The canary must be a whole percentage in 1..50 of a fleet of at least 2 whole instances.
 *
 * What the documentation says (checked 2026-11):
 * - API TrafficRoutingConfig: CanarySize "Value must be less than or equal to 50% of the variant's
 *   total instance count" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html).
 * - API CapacitySize: Type INSTANCE_COUNT or CAPACITY_PERCENT; Value is an Integer, minimum 1
 *   (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CapacitySize.html).
 * - Neither page, nor the canary guide (sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html),
 *   says how a CAPACITY_PERCENT that is not a whole number of instances is rounded.
 * So the platform never sends a percentage: it sends the canary as INSTANCE_COUNT, `sizePercent` of
 * the fleet rounded down, at least one instance and at most half the fleet (`canaryInstanceCount` in lambdas/core/serving/endpoint-spec.ts).
 * Every whole percentage in 1..50 of a fleet of 2 or more is then a canary of whole instances that
 * SageMaker accepts (10 % of 2 instances is 1 instance); a fleet of 1 cannot have a canary, because
 * its one canary instance would be 100 % of it. The percentage stays whole, as SageMaker's own
 * CAPACITY_PERCENT is.
 */
export function canarySizeProblems(canary: CanarySize): string[] {
  const { variant, sizePercent, instanceCount } = canary;
  const problems: string[] = [];
  if (!Number.isInteger(instanceCount) || instanceCount < 1) {
    problems.push(
      `Variant ${variant}: the canary's fleet has ${instanceCount} instances; it needs a whole number of at least ${MIN_CANARY_FLEET}. ` +
        `Fix: run ${MIN_CANARY_FLEET} or more instances.`,
    );
  } else if (instanceCount < MIN_CANARY_FLEET) {
    problems.push(
      `Variant ${variant}: one canary instance would be more than ${MAX_CANARY_PERCENT} % of a fleet of ${instanceCount}; ` +
        `SageMaker allows a canary of at most ${MAX_CANARY_PERCENT} % of the fleet, so this fleet cannot have a canary. ` +
        `Fix: run ${MIN_CANARY_FLEET} or more instances.`,
    );
  }
  if (!Number.isInteger(sizePercent)) {
    problems.push(
      `Variant ${variant}: canary size ${sizePercent} % is not a whole percentage. ` +
        `Fix: use a whole number such as ${Math.min(MAX_CANARY_PERCENT, Math.max(1, Math.round(sizePercent)))} %.`,
    );
  }
  if (!(sizePercent >= 1 && sizePercent <= MAX_CANARY_PERCENT)) {
    problems.push(
      `Variant ${variant}: canary size ${sizePercent} % is outside 1..${MAX_CANARY_PERCENT} %; SageMaker allows a canary of at most ${MAX_CANARY_PERCENT} % of the new fleet. ` +
        `Fix: choose a canary size between 1 and ${MAX_CANARY_PERCENT} %.`,
    );
  }
  return problems;
}

/** Instance limits of a production variant with target-tracking autoscaling. */
export interface AutoscalingLimits {
  /** How messages name the variant. */
  readonly variant: string;
  readonly minInstances: number;
  readonly initialInstanceCount: number;
  readonly maxInstances: number;
}

/**
 * Autoscaling needs whole instance counts with 1 ≤ min ≤ initial ≤ max: a real-time variant cannot
 * scale to zero, and Application Auto Scaling refuses a minimum above the maximum.
 */
export function autoscalingProblems(limits: AutoscalingLimits): string[] {
  const { variant, minInstances, initialInstanceCount, maxInstances } = limits;
  const problems: string[] = [];
  for (const [key, value] of [
    ['minInstances', minInstances],
    ['initialInstanceCount', initialInstanceCount],
    ['maxInstances', maxInstances],
  ] as const) {
    if (!Number.isInteger(value)) {
      problems.push(
        `Variant ${variant}: ${key} is ${value}; instance counts are whole numbers. Fix: round it.`,
      );
    }
  }
  if (minInstances < 1) {
    problems.push(
      `Variant ${variant}: minInstances is ${minInstances}; a real-time endpoint variant needs at least 1 instance. Fix: set minInstances to 1 or more.`,
    );
  }
  if (minInstances > maxInstances) {
    problems.push(
      `Variant ${variant}: minInstances ${minInstances} exceeds maxInstances ${maxInstances}. Fix: lower minInstances or raise maxInstances.`,
    );
  } else if (initialInstanceCount < minInstances || initialInstanceCount > maxInstances) {
    problems.push(
      `Variant ${variant}: initialInstanceCount ${initialInstanceCount} is outside the autoscaling limits ${minInstances}..${maxInstances}. ` +
        `Fix: set initialInstanceCount within ${minInstances}..${maxInstances}, or widen the limits.`,
    );
  }
  return problems;
}

/** Data capture of an endpoint config. */
export interface DataCaptureSampling {
  /** How messages name the endpoint config. */
  readonly endpointConfig: string;
  /** `DataCaptureConfig.InitialSamplingPercentage`. */
  readonly samplingPercent: number;
}

/** SageMaker takes `InitialSamplingPercentage` as an integer in 0..100. */
export function dataCaptureSamplingProblems(capture: DataCaptureSampling): string[] {
  const { endpointConfig, samplingPercent } = capture;
  if (Number.isInteger(samplingPercent) && samplingPercent >= 0 && samplingPercent <= 100) return [];
  return [
    `Endpoint config ${endpointConfig}: data capture sampling ${samplingPercent} % is not a whole percentage in 0..100; ` +
      `SageMaker's InitialSamplingPercentage is an integer from 0 to 100. Fix: set serving.dataCapture.samplingPercent to a whole number from 0 to 100.`,
  ];
}

/** Traffic copied to a shadow variant. */
export interface ShadowSampling {
  /** How messages name the shadow variant. */
  readonly variant: string;
  /** Share of live requests copied to the shadow variant, in percent. */
  readonly samplingPercent: number;
}

/**
 * A shadow variant receives 1..100 % of the live requests: 0 % would run a shadow that is never
 * compared, and more than all requests cannot be copied.
 */
export function shadowSamplingProblems(shadow: ShadowSampling): string[] {
  const { variant, samplingPercent } = shadow;
  if (samplingPercent >= 1 && samplingPercent <= 100) return [];
  return [
    `Shadow variant ${variant}: sampling ${samplingPercent} % is outside 1..100 %; a shadow variant receives a copy of 1 to 100 % of live requests. ` +
      `Fix: set serving.shadow.samplingPercent between 1 and 100.`,
  ];
}

// ---------------------------------------------------------------------------------------------
// cdk-nag pack
// ---------------------------------------------------------------------------------------------

/** The id prefix of every finding of this pack, e.g. `MlopsSageMaker-ShadowVariantCount`. */
export const SAGEMAKER_PACK_NAME = 'MlopsSageMaker';

function isIntrinsic(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/** Variant names of a resolved list, or undefined when the list's length is not known at synth. */
function variantNames(node: CfnResource, variants: unknown): string[] | undefined {
  const resolved: unknown = Stack.of(node).resolve(variants);
  if (resolved === undefined) return [];
  if (!Array.isArray(resolved) || resolved.some(isIntrinsic)) return undefined;
  return resolved.map((v: unknown, i) => {
    // An element given as an IResolvable may resolve to CloudFormation casing.
    const variant = (v ?? {}) as { variantName?: unknown; VariantName?: unknown };
    const name = variant.variantName ?? variant.VariantName;
    return typeof name === 'string' ? name : `#${i + 1} (name not known at synth)`;
  });
}

/**
 * Applies {@link shadowVariantProblems} and {@link dataCaptureSamplingProblems} to every
 * `AWS::SageMaker::EndpointConfig` in the app; values left as tokens until deploy are skipped.
 *
 * Usage: `Validations.of(app).addPlugins(new SageMakerServiceRulesChecks(app))`.
 */
export class SageMakerServiceRulesChecks extends NagPack {
  readonly name = SAGEMAKER_PACK_NAME;
  /** Problems per rule id and construct path, found during the current validation. */
  private problems = new Map<string, Map<string, string[]>>();

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = SAGEMAKER_PACK_NAME;
  }

  /**
   * cdk-nag groups the offending constructs of one rule under the description of the first, so
   * each violation's description is rebuilt from the problems of every construct it lists.
   */
  override validateScope(scope: IConstruct): PolicyValidationPluginReport {
    this.problems = new Map();
    const report = super.validateScope(scope);
    return {
      ...report,
      violations: report.violations.map((violation) => {
        const byPath = this.problems.get(violation.ruleName);
        if (!byPath) return violation;
        const described = violation.violatingResources.flatMap(
          (r) => byPath.get(r.constructPath ?? '') ?? [],
        );
        return described.length > 0 ? { ...violation, description: described.join('\n') } : violation;
      }),
    };
  }

  protected checkResource(node: CfnResource): void {
    // The type first: `isCfnEndpointConfig` compares the same string, but reading the class loads
    // aws-cdk-lib's SageMaker module, which a platform without endpoint configs never needs.
    if (node.cfnResourceType !== ENDPOINT_CONFIG_TYPE || !CfnEndpointConfig.isCfnEndpointConfig(node)) return;
    const path = node.node.path;

    const production = variantNames(node, node.productionVariants);
    const shadow = variantNames(node, node.shadowProductionVariants);
    const variantProblems =
      production && shadow
        ? shadowVariantProblems({
            endpointConfig: path,
            productionVariants: production,
            shadowVariants: shadow,
          })
        : undefined;
    this.applyFindings(
      node,
      'ShadowVariantCount',
      'An endpoint config with ShadowProductionVariants must have exactly one production variant and one shadow variant.',
      variantProblems,
    );

    const capture: unknown = Stack.of(node).resolve(node.dataCaptureConfig);
    const sampling: unknown = (capture as { initialSamplingPercentage?: unknown } | undefined)
      ?.initialSamplingPercentage;
    this.applyFindings(
      node,
      'DataCaptureSampling',
      'Data capture InitialSamplingPercentage must be an integer from 0 to 100.',
      typeof sampling === 'number'
        ? dataCaptureSamplingProblems({ endpointConfig: path, samplingPercent: sampling })
        : undefined,
    );
  }

  /** One rule id per rule, so an acknowledgement survives a change of wording; the problems describe it. */
  private applyFindings(
    node: CfnResource,
    rule: string,
    explanation: string,
    problems: string[] | undefined,
  ): void {
    if (problems && problems.length > 0) {
      const ruleId = `${SAGEMAKER_PACK_NAME}-${rule}`;
      const byPath = this.problems.get(ruleId) ?? new Map<string, string[]>();
      byPath.set(node.node.path, problems);
      this.problems.set(ruleId, byPath);
    }
    this.applyRule({
      ruleSuffixOverride: rule,
      info: problems && problems.length > 0 ? problems.join(' ') : explanation,
      explanation,
      level: NagMessageLevel.ERROR,
      node,
      rule: (): NagRuleResult =>
        problems === undefined
          ? NagRuleCompliance.NOT_APPLICABLE
          : problems.length > 0
            ? NagRuleCompliance.NON_COMPLIANT
            : NagRuleCompliance.COMPLIANT,
    });
  }
}
