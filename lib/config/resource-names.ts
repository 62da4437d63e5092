/**
 * The physical names a model stack gives its resources, by kind, so that the config can refuse
 * two models whose names would collide before CloudFormation (or IAM) mixes them up. Names
 * that extend each other are fine (`document-classifier`, `document-classifier-v2`); a pair
 * like `fraud` and `fraud-pr` is not: `fraud`'s PR code-quality project would be named
 * `mlops-fraud-pr-code-quality`, exactly `fraud-pr`'s release code-quality project.
 *
 * test/config/resource-names.test.ts checks that every name in a synthesized model stack is
 * listed here, so a construct that adds a named resource must add it here too.
 */
import { endpointNames, releaseNamePatterns } from '../../lambdas/core/serving/endpoint-spec';
import { patternsOverlap } from '../../lambdas/core/security/iam-patterns';

/** The id `cdk deploy` and `cdk destroy` select a model's stack by (CloudFormation names it `<platform>-<model>`). */
export function modelStackId(modelName: string): string {
  return `Model-${modelName}`;
}

/** Resource kinds with a name space of their own in an account and region. */
export type ResourceKind =
  | 'Lambda function'
  | 'CodeBuild project'
  | 'CodePipeline pipeline'
  | 'CloudWatch alarm'
  | 'CloudWatch dashboard'
  | 'EventBridge rule'
  | 'EventBridge schedule'
  | 'SQS queue'
  | 'DynamoDB table'
  | 'Firehose stream'
  | 'Athena workgroup'
  | 'AppConfig application'
  | 'AppConfig deployment strategy'
  | 'SageMaker endpoint'
  | 'SageMaker model'
  | 'SageMaker endpoint config';

/** `<platform>-<model>-<suffix>` names by kind; `''` is the prefix itself. */
export const MODEL_RESOURCE_SUFFIXES: Readonly<Partial<Record<ResourceKind, readonly string[]>>> = {
  'Lambda function': [
    'ab-analysis',
    'canary',
    'confidence-baseline',
    'cost-monitor',
    'data-validation',
    'drift-monitor',
    'pr-comment',
    'prediction-log-replay',
    'production-sample',
    'promotion',
    'publish-model',
    'regression-gate',
    'rollback',
    'router',
    'serving-guard',
    'shadow',
  ],
  'CodeBuild project': ['code-quality', 'evaluation', 'pr-code-quality', 'pr-evaluation'],
  'CodePipeline pipeline': ['pr', 'release'],
  'CloudWatch alarm': [
    'ab-analysis-dead-letters',
    'cost-budget',
    'label-drift',
    'live-5xx-rate',
    'live-confidence',
    'live-error-rate',
    'live-invocation-drop',
    'live-p95-latency',
    'live-p99-latency',
    'live-p99-model-latency',
    'live-rollback-requested',
    'monitor-dead-letters',
    'prediction-log-fallback',
    'prediction-log-fallback-dead-letters',
    'standby-capacity',
  ],
  'CloudWatch dashboard': [''],
  'EventBridge rule': ['pr-failed', 'release-shadow-done', 'live-endpoint-state'],
  'EventBridge schedule': [
    'ab-analysis',
    'confidence-baseline',
    'cost-monitor',
    'drift-monitor',
    'production-sample',
  ],
  'SQS queue': ['ab-analysis-dlq', 'monitor-dlq', 'prediction-log-fallback', 'prediction-log-fallback-dlq'],
  'DynamoDB table': ['rollbacks'],
  'Firehose stream': ['predictions'],
  'Athena workgroup': ['analysis'],
  'AppConfig application': [''],
  'AppConfig deployment strategy': ['flag', 'flag-rollback'],
};

export interface ModelResourceName {
  readonly kind: ResourceKind;
  /** A name, or an IAM pattern (`?`) for names made per release. */
  readonly name: string;
}

/** Every name (or per-release name pattern) the model's stack and release path create. */
export function modelResourceNames(platformName: string, modelName: string): ModelResourceName[] {
  const prefix = `${platformName}-${modelName}`;
  const fixed = Object.entries(MODEL_RESOURCE_SUFFIXES).flatMap(([kind, suffixes]) =>
    (suffixes ?? []).map((s) => ({ kind: kind as ResourceKind, name: s === '' ? prefix : `${prefix}-${s}` })),
  );
  const endpoints = endpointNames(prefix);
  const release = releaseNamePatterns(prefix);
  return [
    ...fixed,
    { kind: 'SageMaker endpoint', name: endpoints.live },
    { kind: 'SageMaker endpoint', name: endpoints.standby },
    { kind: 'SageMaker model', name: release.model },
    ...[release.liveConfig, release.shadowConfig, release.standbyConfig].map((name) => ({
      kind: 'SageMaker endpoint config' as const,
      name,
    })),
  ];
}

export interface NameCollision {
  readonly kind: ResourceKind;
  /** The first model's name (or pattern) and the second's. */
  readonly names: readonly [string, string];
}

/** Resources of the two models that would share a name (or a per-release name pattern). */
export function nameCollisions(platformName: string, a: string, b: string): NameCollision[] {
  const theirs = modelResourceNames(platformName, b);
  return modelResourceNames(platformName, a).flatMap((mine) =>
    theirs
      .filter((t) => t.kind === mine.kind && patternsOverlap(mine.name, t.name))
      .map((t) => ({ kind: mine.kind, names: [mine.name, t.name] as const })),
  );
}
