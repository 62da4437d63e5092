/**
 * The platform's configuration schema: the contract with platform teams (`config/platform.yaml`)
 * and product teams (`config/models/<model>.yaml`).
 *
 * Every optional field has a default here, and the default is written into its description, so
 * the generated JSON Schema (editor hover), the config reference and the code never disagree.
 * Objects are strict: an unknown key (a typo) is an error, never silently ignored.
 */
import { z } from 'zod';
import { githubAuthSchema, type GitHubAuth } from '../gates/github-auth';
import { AB_ANALYSIS_DEFAULTS } from '../routing/ab-experiment';

/** Adds the default to the description so editors and the generated reference show it. */
function documented<T extends z.ZodType>(schema: T, description: string): T {
  return schema.meta({ description }) as T;
}

const kebabName = (max: number) =>
  z
    .string()
    .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, {
      message: 'lower-case letters, digits and hyphens, starting with a letter, like document-classifier',
    })
    .max(max);

const percent = (fallback: number, description: string, min = 0, max = 100) =>
  documented(z.number().min(min).max(max).default(fallback), `${description} Default: ${fallback}.`);

const positiveInt = (fallback: number, description: string, max?: number) => {
  const int = z.number().int().positive();
  return documented(
    (max === undefined ? int : int.max(max)).default(fallback),
    `${description} Default: ${fallback}.`,
  );
};

// ---------------------------------------------------------------------------------------------
// Model sections that platform.yaml `defaults` may also set (model value ?? platform default ??
// built-in default).
// ---------------------------------------------------------------------------------------------

export const DEFAULT_THRESHOLDS = {
  maxAccuracyDrop: 0.02,
  maxLatencyIncreasePct: 15,
  maxCostIncreasePct: 10,
  maxBiasGapIncrease: 0.03,
} as const;

export const thresholdsSchema = z
  .strictObject({
    maxAccuracyDrop: documented(
      z.number().min(0).max(1).default(DEFAULT_THRESHOLDS.maxAccuracyDrop),
      'Largest allowed absolute drop in accuracy per eval set (0.02 = two percentage points). Default: 0.02.',
    ),
    maxLatencyIncreasePct: percent(
      DEFAULT_THRESHOLDS.maxLatencyIncreasePct,
      'Largest allowed increase of p95 latency, in percent of the baseline.',
      0,
      1000,
    ),
    maxCostIncreasePct: percent(
      DEFAULT_THRESHOLDS.maxCostIncreasePct,
      'Largest allowed increase of cost per 1k requests, in percent of the baseline.',
      0,
      1000,
    ),
    maxBiasGapIncrease: documented(
      z.number().min(0).max(1).default(DEFAULT_THRESHOLDS.maxBiasGapIncrease),
      'Largest allowed growth of the gap between the best and the worst slice accuracy (absolute). Default: 0.03.',
    ),
    onInconclusive: documented(
      z.enum(['point-estimate', 'pass', 'fail']).default('point-estimate'),
      'What the accuracy and bias-gap checks do when their 90% interval neither clears nor breaks the threshold ' +
        '(inconclusive): point-estimate applies the threshold to the observed change, as before intervals; pass or ' +
        'fail decide every inconclusive check that way. The verdict names the rule that decided (docs/statistics.md). ' +
        'Default: point-estimate.',
    ),
    assumedDiscordance: documented(
      z.number().gt(0).max(1).default(0.1),
      'Share of examples on which two versions of the model disagree about being right, assumed to size eval sets ' +
        'until per-example results give the observed one (docs/statistics.md). Default: 0.1.',
    ),
  })
  .meta({ description: 'Regression-gate thresholds: candidate against the promoted baseline.' });

export const DEFAULT_REQUIRED_FIELDS = ['text', 'label', 'source', 'timestamp'];

export const dataValidationSchema = z
  .strictObject({
    requiredFields: documented(
      z.array(z.string().min(1)).min(1).default(DEFAULT_REQUIRED_FIELDS),
      `Fields every JSONL row must have. Default: ${DEFAULT_REQUIRED_FIELDS.join(', ')}.`,
    ),
    maxTextLength: positiveInt(
      10_000,
      'Longest allowed `text`, in characters (Unicode code points, not UTF-16 units).',
    ),
    allowedLabels: documented(
      z.array(z.string().min(1)).min(1).optional(),
      'If set, a label outside this list is a violation. Default: any label is allowed.',
    ),
    categoricalFields: documented(
      z.array(z.string().min(1)).default(['source']),
      'Categorical fields whose distribution is checked for drift besides the label. Default: source.',
    ),
    maxExamples: positiveInt(20, 'How many violation examples (with line numbers) a report shows.', 1000),
    driftSignificance: documented(
      z.number().gt(0).max(0.2).default(0.01),
      'Drift fails only when the Jensen–Shannon distance exceeds maxDrift AND a chi-square test of homogeneity says sampling ' +
        'alone would give distributions this different less often than this (docs/statistics.md). Default: 0.01.',
    ),
    minDriftRows: positiveInt(
      100,
      'Fewest eval-set rows for drift to be judged; a smaller set is reported as too small to tell, not failed.',
    ),
  })
  .meta({ description: 'Schema every eval-set row must satisfy.' });

/** An image digest: pins the exact image, where a tag can be moved to another image. */
const imageDigest = documented(
  z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, { message: 'an image digest like sha256:<64 lowercase hex digits>' })
    .optional(),
  'Image digest (sha256:...). When given, the image is pulled by digest and the tag is only a label. Default: none (by tag).',
);

/** CodeBuild compute types that run the GPU image (LINUX_GPU_CONTAINER). */
export const GPU_COMPUTE_TYPES = ['BUILD_GENERAL1_SMALL', 'BUILD_GENERAL1_LARGE'] as const;

export const evaluationEnvironmentSchema = z.strictObject({
  image: documented(
    z
      .strictObject({
        repository: z.string().min(1).default('pytorch-training'),
        tag: z.string().min(1).default('2.6.0-gpu-py312-cu126-ubuntu22.04-ec2'),
        account: documented(
          z
            .string()
            .regex(/^\d{12}$/, { message: 'a 12-digit AWS account id, quoted' })
            .default('763104351884'),
          'Account that publishes the AWS Deep Learning Containers. Default: 763104351884.',
        ),
        digest: imageDigest,
      })
      .default({
        repository: 'pytorch-training',
        tag: '2.6.0-gpu-py312-cu126-ubuntu22.04-ec2',
        account: '763104351884',
      }),
    'AWS Deep Learning Container image for GPU evaluation. Default: pytorch-training:2.6.0-gpu-py312-cu126-ubuntu22.04-ec2.',
  ),
  computeType: documented(
    z.enum(GPU_COMPUTE_TYPES).default('BUILD_GENERAL1_LARGE'),
    'CodeBuild GPU compute type. Default: BUILD_GENERAL1_LARGE.',
  ),
  timeoutMinutes: positiveInt(60, 'Evaluation build timeout in minutes (CodeBuild allows up to 2160).', 2160),
});

/** A canary is at least one whole instance and at most half the fleet (SageMaker's 50% ceiling). */
export const MIN_CANARY_FLEET = 2;

export const DEFAULT_INFERENCE_IMAGE = {
  repository: 'pytorch-inference',
  tag: '2.6.0-cpu-py312-ubuntu22.04-sagemaker',
  account: '763104351884',
};

export const servingSchema = z
  .strictObject({
    instanceType: documented(
      z
        .string()
        .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, { message: 'a SageMaker instance type like ml.g5.xlarge' })
        .default('ml.m5.large'),
      'SageMaker instance type of the live endpoint; must be priced in platform.yaml. Default: ml.m5.large.',
    ),
    image: documented(
      z
        .strictObject({
          repository: z.string().min(1).default(DEFAULT_INFERENCE_IMAGE.repository),
          tag: z.string().min(1).default(DEFAULT_INFERENCE_IMAGE.tag),
          account: documented(
            z
              .string()
              .regex(/^\d{12}$/, { message: 'a 12-digit AWS account id, quoted' })
              .default(DEFAULT_INFERENCE_IMAGE.account),
            'Account of the ECR repository. Default: 763104351884 (AWS Deep Learning Containers).',
          ),
          digest: imageDigest,
        })
        .default(DEFAULT_INFERENCE_IMAGE),
      `Inference container image in ECR (same region); it must answer /invocations with JSON {"label": ..., "confidence": ...} (docs/serving.md). Default: ${DEFAULT_INFERENCE_IMAGE.repository}:${DEFAULT_INFERENCE_IMAGE.tag}.`,
    ),
    initialInstanceCount: positiveInt(
      2,
      'Instances of the live production variant at deployment; a canary needs at least 2.',
      100,
    ),
    autoscaling: z
      .strictObject({
        minInstances: positiveInt(1, 'Autoscaling lower bound of the live variant.', 100),
        maxInstances: positiveInt(4, 'Autoscaling upper bound of the live variant.', 100),
        targetInvocationsPerInstance: positiveInt(
          100,
          'Target-tracking goal: invocations per instance per minute.',
        ),
      })
      .default({ minInstances: 1, maxInstances: 4, targetInvocationsPerInstance: 100 }),
    standby: documented(
      z
        .strictObject({
          instanceType: documented(
            z
              .string()
              .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, { message: 'a SageMaker instance type like ml.g5.xlarge' })
              .optional(),
            'Instance type of the warm N-1 endpoint. Default: the live instance type.',
          ),
          instanceCount: positiveInt(
            1,
            'Instances of the warm N-1 endpoint (rollback needs no cold start).',
            100,
          ),
        })
        .default({ instanceCount: 1 }),
      'The warm standby endpoint that serves the previous model after a rollback.',
    ),
    dataCapture: z
      .strictObject({
        samplingPercent: documented(
          z.number().int().min(0).max(100).default(20),
          "Share of live requests and responses captured to S3, a whole percentage (SageMaker's InitialSamplingPercentage is an integer); 0 turns capture off. Default: 20.",
        ),
      })
      .default({ samplingPercent: 20 }),
    shadow: z
      .strictObject({
        samplingPercent: percent(50, 'Share of live traffic copied to the shadow variant.', 1, 100),
        windowMinutes: positiveInt(
          60,
          'How long the shadow variant runs before it is compared; at most 1200 so that the stage, with its two endpoint updates, ends within the 24-hour limit of CodePipeline for a Lambda action.',
          1200,
        ),
        instanceCount: positiveInt(1, 'Instances of the shadow variant while it runs.', 100),
      })
      .default({ samplingPercent: 50, windowMinutes: 60, instanceCount: 1 }),
    canary: z
      .strictObject({
        sizePercent: documented(
          z.number().int().min(1).max(50).default(10),
          'Canary size in whole percent of the new fleet, rounded down to whole instances but at least one; one instance must not exceed 50% of the fleet, so a canary needs 2 or more instances. Default: 10.',
        ),
        waitMinutes: positiveInt(10, 'Canary bake time before the rest of the traffic shifts.', 60),
        maxExecutionTimeoutMinutes: positiveInt(120, 'Longest the whole blue/green update may take.', 480),
        maxServerErrorRatePercent: documented(
          z.number().gt(0).max(100).default(1),
          'Auto-rollback alarm: 5xx responses in percent of invocations over one minute. Default: 1.',
        ),
        maxP99LatencyMs: positiveInt(
          1000,
          'Auto-rollback alarm: p99 model latency in milliseconds over one minute.',
          60_000,
        ),
      })
      .default({
        sizePercent: 10,
        waitMinutes: 10,
        maxExecutionTimeoutMinutes: 120,
        maxServerErrorRatePercent: 1,
        maxP99LatencyMs: 1000,
      }),
    retired: documented(
      z.boolean().default(false),
      "Retires the model: the next deploy deletes its live and standby endpoints, stops both pipelines, disarms its alarms and schedules, keeps its data, and lifts the stack's termination protection so that it can be deleted (docs/operations.md, Retiring a model). Only in the model's own file. Default: false.",
    ),
  })
  .meta({ description: 'SageMaker serving: live endpoint, warm standby, shadow and canary.' });

export const monitoringSchema = z
  .strictObject({
    confidenceStdDevs: documented(
      z.number().positive().max(10).default(3),
      "k of the confidence alarm: a period breaches when its mean confidence is more than k standard deviations of a period mean (at that period's traffic, plus the live baseline's period-to-period variation) below the served version's live baseline. Default: 3 (calibrated with the default rule, 3 of 5 two-minute periods: docs/statistics.md).",
    ),
    confidenceAlarm: z
      .strictObject({
        periodSeconds: documented(
          z
            .number()
            .int()
            .min(60)
            .max(900)
            .refine((s) => s % 60 === 0, { message: 'a whole number of minutes: 60, 120, 180, ... 900' })
            .default(120),
          "The confidence alarm's period in seconds, a multiple of 60 (the router's metrics are one-minute): each datapoint is the mean of one period, evaluated every minute over a sliding window. Longer periods average the input mix's minute-to-minute wander down. Default: 120.",
        ),
        breachingPeriods: positiveInt(
          3,
          'M: breaching periods among the last `evaluationPeriods` (N) before the confidence alarm fires (and rolls back); CloudWatch `DatapointsToAlarm`.',
          60,
        ),
        evaluationPeriods: positiveInt(
          5,
          'N: periods the confidence alarm looks at (CloudWatch `EvaluationPeriods`); at least `breachingPeriods`.',
          60,
        ),
        minRequestsPerPeriod: documented(
          z.number().int().min(2).max(10_000).default(10),
          'Periods with fewer requests with a confidence give no datapoint: they neither breach nor clear the alarm. Default: 10.',
        ),
        baselineHours: documented(
          z.number().int().min(1).max(72).default(6),
          "Hours of the served version's own live traffic after its promotion that make its baseline (B and the period-to-period variation); until then the alarm is provisional. Default: 6.",
        ),
        provisionalStdDev: documented(
          z.number().gt(0).max(0.5).default(0.05),
          "While the live baseline is measured: the alarm's band is the promoted evaluation's mean confidence with this standard deviation, and it pages without rolling back. Default: 0.05.",
        ),
        baselineSchedule: documented(
          z
            .string()
            .regex(/^(cron|rate)\(.+\)$/, {
              message: 'an EventBridge Scheduler expression like rate(15 minutes)',
            })
            .default('rate(15 minutes)'),
          'How often the baseline job looks at the served version: once its baseline window has ended it measures the live baseline and arms the alarm; meanwhile it keeps the alarm provisional (and repairs it after a `cdk deploy`). Default: rate(15 minutes).',
        ),
        traffic: z
          .strictObject({
            confidenceMean: documented(
              z.number().gt(0).lt(1).default(0.8),
              'Simulated traffic for `mlops calibrate-alarm`: mean confidence of one request. Default: 0.8 (Beta(8,2)).',
            ),
            confidenceStdDev: documented(
              z.number().gt(0).lt(0.5).default(0.12),
              'Simulated traffic: standard deviation of one request’s confidence. Default: 0.12 (Beta(8,2)).',
            ),
            periodStdDev: documented(
              z.number().min(0).lt(0.5).default(0.01),
              'Simulated traffic: standard deviation of the true one-minute mean around its long-run mean (the input mix wandering); 0 is iid traffic. Default: 0.01.',
            ),
            periodAutocorrelation: documented(
              z.number().min(0).lt(1).default(0.5),
              'Simulated traffic: lag-1 autocorrelation of that wandering, minute to minute (an AR(1) process). Default: 0.5.',
            ),
          })
          .default({
            confidenceMean: 0.8,
            confidenceStdDev: 0.12,
            periodStdDev: 0.01,
            periodAutocorrelation: 0.5,
          })
          .meta({
            description:
              'The traffic model `mlops calibrate-alarm` simulates; set it from your own traffic (docs/statistics.md, "Live detectors").',
          }),
      })
      .default({
        periodSeconds: 120,
        breachingPeriods: 3,
        evaluationPeriods: 5,
        minRequestsPerPeriod: 10,
        baselineHours: 6,
        provisionalStdDev: 0.05,
        baselineSchedule: 'rate(15 minutes)',
        traffic: {
          confidenceMean: 0.8,
          confidenceStdDev: 0.12,
          periodStdDev: 0.01,
          periodAutocorrelation: 0.5,
        },
      })
      .meta({
        description:
          "The live confidence alarm (a CloudWatch metric-math alarm over the router's metrics): its rule, its baseline window and the traffic model it is calibrated on.",
      }),
    periodSeconds: documented(
      z.union([z.literal(60), z.literal(300)], { error: '60 or 300' }).default(60),
      'Alarm period in seconds: 60 or 300 (the router publishes standard-resolution metrics, so no shorter period has data). Default: 60.',
    ),
    breachingDatapoints: positiveInt(5, 'Consecutive breaching periods before an alarm fires.', 100),
    latency: z
      .strictObject({
        p95Ms: positiveInt(
          500,
          'Alarm when p95 model latency of the live endpoint exceeds this (ms).',
          60_000,
        ),
        p99Ms: positiveInt(
          1000,
          'Alarm when p99 model latency of the live endpoint exceeds this (ms).',
          60_000,
        ),
      })
      .default({ p95Ms: 500, p99Ms: 1000 }),
    invocationDropStdDevs: documented(
      z.number().positive().max(10).default(3),
      'Alarm when invocations fall below the anomaly-detection band of this width (in standard deviations). Default: 3.',
    ),
    drift: z
      .strictObject({
        schedule: documented(
          z
            .string()
            .regex(/^(cron|rate)\(.+\)$/, {
              message: 'an EventBridge Scheduler expression like rate(1 hour)',
            })
            .default('rate(1 hour)'),
          'How often the drift monitor compares recent predictions with the reference. Default: rate(1 hour).',
        ),
        maxLabelDrift: documented(
          z.number().gt(0).max(1).default(0.15),
          'Alarm above this Jensen–Shannon distance (base 2) of predicted labels from the reference. Default: 0.15.',
        ),
      })
      .default({ schedule: 'rate(1 hour)', maxLabelDrift: 0.15 }),
    cost: z
      .strictObject({
        schedule: documented(
          z
            .string()
            .regex(/^(cron|rate)\(.+\)$/, {
              message: 'an EventBridge Scheduler expression like rate(1 hour)',
            })
            .default('rate(1 hour)'),
          'How often the cost monitor estimates the serving cost. Default: rate(1 hour).',
        ),
      })
      .default({ schedule: 'rate(1 hour)' }),
    productionSample: z
      .strictObject({
        schedule: documented(
          z
            .string()
            .regex(/^(cron|rate)\(.+\)$/, {
              message: 'an EventBridge Scheduler expression like cron(0 4 ? * MON *)',
            })
            .default('cron(0 4 ? * MON *)'),
          'When a production-like eval set is sampled from data capture. Default: Mondays 04:00 UTC.',
        ),
        size: positiveInt(500, 'Rows per sample, stratified by predicted label.', 100_000),
        windowHours: positiveInt(168, 'Hours of data capture the sample is drawn from.', 2160),
        piiPatterns: documented(
          z
            .array(
              z.strictObject({
                name: z
                  .string()
                  .regex(/^[a-z][a-z0-9_]*$/, { message: 'a snake_case name like employee_id' }),
                pattern: z
                  .string()
                  .min(1)
                  .refine(
                    (p) => {
                      try {
                        new RegExp(p, 'g'); // as lambdas/core/data/pii.ts compiles it
                        return true;
                      } catch {
                        return false;
                      }
                    },
                    { message: 'a JavaScript regular expression that compiles (check brackets and escapes)' },
                  )
                  .meta({ description: 'A JavaScript regular expression (no flags).' }),
              }),
            )
            .default([]),
          'Extra PII patterns scrubbed besides e-mail, phone, card, account and IP. Default: none.',
        ),
      })
      .default({ schedule: 'cron(0 4 ? * MON *)', size: 500, windowHours: 168, piiPatterns: [] }),
  })
  .meta({ description: 'Alarm settings for the live model.' });

export const routingSchema = z
  .strictObject({
    experiment: documented(
      z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,39}$/, { message: 'a lower-case kebab-case name like ab-2026-11' })
        .default('ab'),
      'Experiment name, salted into the user hash with the model name; a new name reshuffles every user. Default: ab.',
    ),
    timeoutMs: positiveInt(2000, 'Timeout of one endpoint call from the router, in milliseconds.', 60_000),
    retries: documented(
      z.number().int().min(0).max(3).default(1),
      'Retries of a failed endpoint call (throttling, 5xx) before the router answers with an error. Default: 1.',
    ),
    flagCacheSeconds: documented(
      z.number().int().min(15).max(3600).default(30),
      'How long the router caches the flag document; AppConfig allows polling every 15 s at most. Default: 30.',
    ),
    reservedConcurrency: positiveInt(
      50,
      'Most concurrent router invocations: the throttle in front of the endpoints (429 beyond it).',
      1000,
    ),
    flagDeployment: z
      .strictObject({
        durationMinutes: documented(
          z.number().int().min(0).max(1440).default(0),
          'Minutes AppConfig takes to roll a flag change out to every router instance; 0 is at once, which a rollback needs. Default: 0.',
        ),
        bakeMinutes: documented(
          z.number().int().min(0).max(1440).default(0),
          'Minutes AppConfig watches after a flag deployment. Default: 0.',
        ),
      })
      .default({ durationMinutes: 0, bakeMinutes: 0 }),
    analysis: z
      .strictObject({
        schedule: documented(
          z
            .string()
            .regex(/^cron\(.+\)$/, {
              message: 'an EventBridge Scheduler cron expression like cron(30 2 * * ? *)',
            })
            .default('cron(30 2 * * ? *)'),
          'When the nightly A/B analysis runs (UTC). Default: cron(30 2 * * ? *).',
        ),
        minSamples: positiveInt(
          100,
          'Fewest requests per variant since the experiment started before the nightly A/B analysis compares the variants (a floor: the verdict itself comes from the minimum detectable effect, docs/statistics.md).',
        ),
        maxScannedGb: positiveInt(
          10,
          'Athena stops a query that would scan more than this (cost guard).',
          10_000,
        ),
        effectOfInterest: z
          .strictObject({
            errorRate: documented(
              z
                .number()
                .gt(0, { message: 'a difference in error rate as a fraction, e.g. 0.01 for 1 point' })
                .max(0.5, { message: 'write it as a fraction (0.01 is 1 point)' })
                .default(AB_ANALYSIS_DEFAULTS.effectOfInterest.errorRate),
              `Smallest change in error rate (a fraction: 0.01 is 1 point) the experiment is meant to see: the scale of its confidence sequence, and where "no difference detected" turns into "insufficient". Default: ${AB_ANALYSIS_DEFAULTS.effectOfInterest.errorRate}.`,
            ),
            meanConfidence: documented(
              z
                .number()
                .gt(0, { message: 'a difference in mean confidence, e.g. 0.02' })
                .max(0.5, { message: 'a difference in mean confidence, which lies in [0, 1]' })
                .default(AB_ANALYSIS_DEFAULTS.effectOfInterest.meanConfidence),
              `Smallest change in mean confidence the experiment is meant to see (as for errorRate). Default: ${AB_ANALYSIS_DEFAULTS.effectOfInterest.meanConfidence}.`,
            ),
          })
          .default({ ...AB_ANALYSIS_DEFAULTS.effectOfInterest })
          .meta({
            description: 'What the nightly A/B analysis is meant to see, per metric (docs/statistics.md).',
          }),
        minEffectiveBuckets: documented(
          z
            .number()
            .int()
            .min(AB_ANALYSIS_DEFAULTS.minEffectiveBuckets, {
              message: `below ${AB_ANALYSIS_DEFAULTS.minEffectiveBuckets} effective user buckets the intervals' normal approximation fails and a few users decide the result; raise it, do not lower it`,
            })
            .max(10_000, { message: 'the router has 10,000 user buckets' })
            .default(AB_ANALYSIS_DEFAULTS.minEffectiveBuckets),
          `Fewest effective user buckets (Kish) per variant before the nightly A/B analysis compares the variants; raise it when a few heavy users should not decide. Default: ${AB_ANALYSIS_DEFAULTS.minEffectiveBuckets}.`,
        ),
        alpha: documented(
          z
            .number()
            .min(0.001, { message: 'a false-positive rate like 0.05' })
            .max(0.2, {
              message:
                'a false-positive rate like 0.05; above 0.2 one experiment in five would crown a spurious winner',
            })
            .default(AB_ANALYSIS_DEFAULTS.alpha),
          `Chance that the nightly A/B analysis names a winner when the variants are the same, over both metrics and every night of the experiment. Default: ${AB_ANALYSIS_DEFAULTS.alpha}.`,
        ),
      })
      .default({
        schedule: 'cron(30 2 * * ? *)',
        minSamples: 100,
        maxScannedGb: 10,
        effectOfInterest: { ...AB_ANALYSIS_DEFAULTS.effectOfInterest },
        minEffectiveBuckets: AB_ANALYSIS_DEFAULTS.minEffectiveBuckets,
        alpha: AB_ANALYSIS_DEFAULTS.alpha,
      }),
  })
  .meta({ description: 'Request routing: feature flag, A/B assignment, prediction logging and analysis.' });

// ---------------------------------------------------------------------------------------------
// Model file: config/models/<model>.yaml
// ---------------------------------------------------------------------------------------------

export const DEFAULT_TRIGGER_PATHS = ['ml/**', 'data/features/**', 'configs/model_*.yaml'];

const evalSetSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, { message: 'a lower-case snake_case name like golden_set' })
    .meta({ description: 'Name used in reports, metrics and the PR comment, e.g. golden_set.' }),
  kind: z
    .enum(['benchmark', 'production-like'])
    .meta({ description: 'benchmark: a clean, curated set; production-like: sampled from real inputs.' }),
  dvcFile: z
    .string()
    .regex(/\.dvc$/, { message: 'the path of a .dvc pin file in the model repository' })
    .meta({ description: 'Path of the .dvc pin of the eval set, relative to the model repository root.' }),
  referenceDvcFile: z
    .string()
    .regex(/\.dvc$/, { message: 'the path of a .dvc pin file in the model repository' })
    .meta({ description: 'Path of the .dvc pin of the reference set drift is measured against.' }),
  maxDrift: documented(
    z.number().min(0).max(1).default(0.1),
    'Largest allowed Jensen–Shannon distance (base 2, 0..1) of the label distribution. Default: 0.1.',
  ),
});

const sagemakerPricingSchema = z.strictObject({
  kind: z.literal('sagemaker'),
});
const tokenPricingSchema = z.strictObject({
  kind: z.literal('token'),
  model: z.string().min(1).meta({ description: 'Entry of pricing.tokenModels in platform.yaml.' }),
  avgInputTokens: z.number().positive().meta({ description: 'Average input tokens per request.' }),
  avgOutputTokens: z.number().positive().meta({ description: 'Average output tokens per request.' }),
});

export const modelSchema = z
  .strictObject({
    name: kebabName(40).meta({
      description:
        'Model name; must equal the file name without .yaml. Used in stack, resource and metric names.',
    }),
    description: z.string().min(1).max(256).meta({ description: 'One line an operator understands.' }),
    owner: z
      .strictObject({
        team: z.string().min(1).meta({ description: 'Owning team, tagged on every resource.' }),
        contact: z.string().min(1).meta({ description: 'Where to reach the team (e-mail or chat channel).' }),
      })
      .meta({ description: 'Who owns the model: tagged on its resources, named in alarms.' }),
    repository: z
      .strictObject({
        owner: z.string().min(1).meta({ description: 'GitHub organisation or user.' }),
        name: z.string().min(1).meta({ description: 'GitHub repository name.' }),
        branch: documented(z.string().min(1).default('main'), 'Release branch. Default: main.'),
        triggerPaths: documented(
          z
            .array(z.string().min(1))
            .min(1)
            .max(8, { message: 'CodePipeline V2 allows at most 8 file-path globs per trigger filter' })
            .default(DEFAULT_TRIGGER_PATHS),
          `Changed files that trigger the PR pipeline (at most 8 globs). Default: ${DEFAULT_TRIGGER_PATHS.join(', ')}.`,
        ),
      })
      .meta({ description: "The model's GitHub repository and what triggers its pipelines." }),
    codeQuality: z
      .strictObject({
        commands: documented(
          z.array(z.string().min(1)).min(1),
          "The repository's own lint, type-check and unit-test commands; any non-zero exit fails the stage.",
        ),
        installCommands: documented(
          z.array(z.string().min(1)).default([]),
          'Commands run before `commands`. Default: none.',
        ),
      })
      .meta({ description: 'Code-quality stage (CodeBuild, standard image).' }),
    evaluation: evaluationEnvironmentSchema
      .extend({
        command: z.string().min(1).meta({
          description:
            'Evaluate command; receives EVAL_SETS_DIR, BASELINE_METRICS, EVAL_REPORT and MODEL_ARTIFACT environment variables and writes eval_report.json.',
        }),
        modelArtifact: documented(
          z
            .string()
            .min(1)
            .regex(/\.tar\.gz$/, { message: "a path ending in .tar.gz (SageMaker's model archive)" })
            .default('model.tar.gz'),
          'The model archive (SageMaker model.tar.gz layout) the release pipeline ships, relative to the repository root; it must exist after the evaluate command. Default: model.tar.gz.',
        ),
      })
      .meta({ description: 'GPU model evaluation stage (CodeBuild on a Deep Learning Container).' }),
    dataValidation: dataValidationSchema.default(dataValidationSchema.parse({})),
    evalSets: z
      .array(evalSetSchema)
      .min(1)
      .meta({ description: 'Pinned eval sets: usually a clean benchmark and a production-like set.' }),
    thresholds: thresholdsSchema.default(thresholdsSchema.parse({})),
    cost: z
      .strictObject({
        pricing: z
          .discriminatedUnion('kind', [sagemakerPricingSchema, tokenPricingSchema])
          .default({ kind: 'sagemaker' })
          .meta({
            description:
              'sagemaker: priced by instance-hours of serving.instanceType; token: priced per 1k tokens. Default: sagemaker.',
          }),
        monthlyRequests: positiveInt(1_000_000, 'Expected requests per month, for cost per request.'),
        releasesPerMonth: positiveInt(
          4,
          'Expected releases per month; each runs a shadow variant for serving.shadow.windowMinutes.',
          100,
        ),
        monthlyBudget: documented(
          z.number().positive().optional(),
          'Monthly cost budget (pricing currency); the cost alarm fires above it. Default: no budget alarm.',
        ),
      })
      .default({ pricing: { kind: 'sagemaker' }, monthlyRequests: 1_000_000, releasesPerMonth: 4 }),
    serving: servingSchema.default(servingSchema.parse({})),
    monitoring: monitoringSchema.default(monitoringSchema.parse({})),
    routing: routingSchema.default(routingSchema.parse({})),
  })
  .superRefine((model, ctx) => {
    const seen = new Set<string>();
    model.evalSets.forEach((set, i) => {
      if (seen.has(set.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['evalSets', i, 'name'],
          input: set.name,
          message: `duplicate eval set name; each eval set needs its own name`,
        });
      }
      seen.add(set.name);
    });
    const { breachingPeriods, evaluationPeriods } = model.monitoring.confidenceAlarm;
    if (breachingPeriods > evaluationPeriods) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'confidenceAlarm', 'breachingPeriods'],
        input: breachingPeriods,
        message: `must not exceed monitoring.confidenceAlarm.evaluationPeriods (${evaluationPeriods}): M breaching periods among the last N; raise evaluationPeriods or lower breachingPeriods`,
      });
    }
    const { minInstances, maxInstances } = model.serving.autoscaling;
    if (minInstances > maxInstances) {
      ctx.addIssue({
        code: 'custom',
        path: ['serving', 'autoscaling', 'minInstances'],
        input: minInstances,
        message: `must not exceed serving.autoscaling.maxInstances (${maxInstances})`,
      });
    }
    const initial = model.serving.initialInstanceCount;
    if (initial < minInstances || initial > maxInstances) {
      ctx.addIssue({
        code: 'custom',
        path: ['serving', 'initialInstanceCount'],
        input: initial,
        message: `must lie within the autoscaling limits ${minInstances}..${maxInstances}`,
      });
    }
    const { waitMinutes, maxExecutionTimeoutMinutes } = model.serving.canary;
    if (maxExecutionTimeoutMinutes < 10 || maxExecutionTimeoutMinutes <= 2 * waitMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['serving', 'canary', 'maxExecutionTimeoutMinutes'],
        input: maxExecutionTimeoutMinutes,
        message:
          `must be at least 10 and more than twice serving.canary.waitMinutes (${waitMinutes}): SageMaker counts ` +
          'the canary wait and the final bake of the old fleet against this timeout',
      });
    }
    if (initial < MIN_CANARY_FLEET) {
      ctx.addIssue({
        code: 'custom',
        path: ['serving', 'initialInstanceCount'],
        input: initial,
        message:
          `a canary release needs at least ${MIN_CANARY_FLEET} instances: its canary is one whole instance, ` +
          `and SageMaker allows at most 50% of the fleet (set ${MIN_CANARY_FLEET} or more, and autoscaling.maxInstances to match)`,
      });
    }
  })
  .meta({ title: 'ML release platform: model', description: 'One model released by the platform.' });

// ---------------------------------------------------------------------------------------------
// Platform file: config/platform.yaml
// ---------------------------------------------------------------------------------------------

const tagsSchema = z
  .record(
    z
      .string()
      .min(1)
      .max(128)
      .refine((k) => !k.toLowerCase().startsWith('aws:'), {
        message: 'tag keys starting with aws: are reserved by AWS; rename the tag',
      }),
    z.string().max(256),
  )
  .meta({ description: 'Tags applied to every resource of the platform.' });

const lifecycleDays = (fallback: number, description: string) => positiveInt(fallback, description, 36_500);

export const platformSchema = z
  .strictObject({
    name: documented(
      kebabName(20).default('mlops'),
      'Prefix of every stack and resource name. Default: mlops.',
    ),
    environment: z
      .strictObject({
        account: z
          .string()
          .regex(/^\d{12}$/, { message: "a 12-digit AWS account id, quoted (e.g. '123456789012')" })
          .meta({ description: 'AWS account to deploy to.' }),
        region: z
          .string()
          .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { message: 'an AWS region like eu-west-1' })
          .meta({ description: 'AWS region to deploy to.' }),
      })
      .meta({ description: 'Where the platform is deployed.' }),
    github: z
      .strictObject({
        connectionArn: z
          .string()
          .regex(
            /^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/[A-Za-z0-9-]+$/,
            {
              message: 'a connection ARN like arn:aws:codeconnections:<region>:<account>:connection/<id>',
            },
          )
          .meta({
            description: 'CodeConnections (CodeStar) connection to GitHub, created once in the console.',
          }),
        auth: githubAuthSchema.optional().meta({
          description:
            'How PR comments authenticate: { kind: app, appId, installationId, privateKeySecretName } (a GitHub App ' +
            'installation, recommended) or { kind: token, tokenSecretName }. Default: the token in ' +
            'tokenSecretName (or mlops/github-token) when auth is not set.',
        }),
        tokenSecretName: z
          .string()
          .min(1)
          .optional()
          .meta({
            description:
              'Deprecated: same as auth: { kind: token, tokenSecretName }; kept so existing platform files work. ' +
              'Cannot be set together with auth.',
          }),
      })
      .superRefine((github, ctx) => {
        if (github.auth && github.tokenSecretName !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['tokenSecretName'],
            message:
              `tokenSecretName '${github.tokenSecretName}' cannot be set together with github.auth; remove it ` +
              `(or move it into auth: { kind: token, tokenSecretName: ${github.tokenSecretName} })`,
          });
        }
      })
      .meta({ description: 'Source connection and PR-comment credentials.' }),
    paging: z
      .strictObject({
        subscriptions: z
          .array(
            z.discriminatedUnion('protocol', [
              z.strictObject({
                protocol: z.literal('email'),
                endpoint: z.email({ message: 'an e-mail address' }),
              }),
              z.strictObject({
                protocol: z.literal('https'),
                endpoint: z.url({ protocol: /^https$/, message: 'an https:// URL' }),
              }),
              z.strictObject({
                protocol: z.literal('sms'),
                endpoint: z
                  .string()
                  .regex(/^\+[1-9]\d{6,14}$/, { message: 'an E.164 phone number like +4915112345678' }),
              }),
            ]),
          )
          .min(1, { message: 'at least one on-call subscription is needed, or nobody hears an alarm' })
          .meta({ description: 'On-call endpoints subscribed to the paging topic.' }),
      })
      .meta({ description: 'On-call paging topic.' }),
    tags: tagsSchema.default({}),
    storage: z
      .strictObject({
        datasetRetention: z
          .strictObject({
            mode: documented(
              z.enum(['GOVERNANCE', 'COMPLIANCE']).default('GOVERNANCE'),
              'S3 Object Lock mode of the DVC remote and artifacts buckets. COMPLIANCE cannot be shortened by anyone, root included. Default: GOVERNANCE.',
            ),
            days: lifecycleDays(365, 'Days every dataset and release record version stays immutable.'),
          })
          .default({ mode: 'GOVERNANCE', days: 365 }),
        predictionLogs: z
          .strictObject({
            infrequentAccessAfterDays: lifecycleDays(
              30,
              'Days before prediction logs move to S3 Standard-IA.',
            ),
            expireAfterDays: lifecycleDays(400, 'Days prediction logs are kept.'),
          })
          .default({ infrequentAccessAfterDays: 30, expireAfterDays: 400 }),
        dataCapture: z
          .strictObject({ expireAfterDays: lifecycleDays(90, 'Days SageMaker data capture is kept.') })
          .default({ expireAfterDays: 90 }),
        accessLogs: z
          .strictObject({ expireAfterDays: lifecycleDays(365, 'Days S3 server access logs are kept.') })
          .default({ expireAfterDays: 365 }),
        pipelineArtifacts: z
          .strictObject({
            expireAfterDays: lifecycleDays(
              30,
              'Days CodePipeline artifacts (source zips, evaluation outputs) are kept.',
            ),
          })
          .default({ expireAfterDays: 30 }),
        athenaResults: z
          .strictObject({
            expireAfterDays: lifecycleDays(
              30,
              'Days Athena query results (the nightly A/B analysis) are kept.',
            ),
          })
          .default({ expireAfterDays: 30 }),
        noncurrentVersions: z
          .strictObject({
            infrequentAccessAfterDays: lifecycleDays(
              30,
              'Days before superseded object versions in the DVC remote and artifacts buckets move to Standard-IA.',
            ),
          })
          .default({ infrequentAccessAfterDays: 30 }),
      })
      .default({
        datasetRetention: { mode: 'GOVERNANCE', days: 365 },
        predictionLogs: { infrequentAccessAfterDays: 30, expireAfterDays: 400 },
        dataCapture: { expireAfterDays: 90 },
        accessLogs: { expireAfterDays: 365 },
        pipelineArtifacts: { expireAfterDays: 30 },
        athenaResults: { expireAfterDays: 30 },
        noncurrentVersions: { infrequentAccessAfterDays: 30 },
      }),
    pricing: z
      .strictObject({
        asOf: z.iso.date({ message: "a date like '2026-11-01'" }).meta({
          description: 'Date the prices were read from the AWS price list; shown in every cost output.',
        }),
        currency: documented(
          z
            .string()
            .regex(/^[A-Z]{3}$/, { message: 'a three-letter ISO 4217 code like USD' })
            .default('USD'),
          'ISO 4217 currency code. Default: USD.',
        ),
        sagemakerInstances: z
          .record(
            z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, {
              message: 'a SageMaker instance type like ml.g5.xlarge',
            }),
            z.number().positive(),
          )
          .meta({
            description: 'On-demand price per instance-hour of each SageMaker instance type the models use.',
          }),
        tokenModels: documented(
          z
            .record(
              z.string().min(1),
              z.strictObject({ inputPer1k: z.number().min(0), outputPer1k: z.number().min(0) }),
            )
            .default({}),
          'Price per 1k input and output tokens of each token-priced model. Default: none.',
        ),
      })
      .meta({ description: 'Prices for cost estimates and the cost gate.' }),
    defaults: z
      .strictObject({
        thresholds: thresholdsSchema.optional(),
        dataValidation: dataValidationSchema.optional(),
        evaluation: evaluationEnvironmentSchema.optional(),
        serving: servingSchema.optional(),
        monitoring: monitoringSchema.optional(),
      })
      .default({})
      .superRefine((defaults, ctx) => {
        // One line here would delete every model's endpoints at the next deploy.
        if (defaults.serving?.retired) {
          ctx.addIssue({
            code: 'custom',
            path: ['serving', 'retired'],
            input: defaults.serving.retired,
            message:
              'a model is retired in its own file only: here it would retire every model and delete all their endpoints at the next deploy; remove this key and set serving.retired: true in config/models/<model>.yaml of the model to retire',
          });
        }
      })
      .meta({
        description:
          'Settings every model inherits unless its own file sets them (model value, then this, then the built-in default).',
      }),
  })
  .meta({ title: 'ML release platform: platform', description: 'Organisation-wide settings.' });

export type PlatformSettings = z.output<typeof platformSchema>;
export type ModelConfig = z.output<typeof modelSchema>;

/** The whole validated configuration the CDK app and the CLI work from. */
export interface PlatformConfig {
  readonly platform: PlatformSettings;
  readonly models: readonly ModelConfig[];
}

/** Model sections that platform `defaults` may set, in the order they are merged. */
export const INHERITED_SECTIONS = [
  'thresholds',
  'dataValidation',
  'evaluation',
  'serving',
  'monitoring',
] as const;

/** The PR-comment credentials `github` configures: `auth`, else the legacy `tokenSecretName` token. */
export function resolveGitHubAuth(github: PlatformSettings['github']): GitHubAuth {
  return github.auth ?? { kind: 'token', tokenSecretName: github.tokenSecretName ?? 'mlops/github-token' };
}
