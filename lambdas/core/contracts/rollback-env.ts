/**
 * The rollback function's environment: the contract with the construct that deploys it, which can
 * type its environment map with `RollbackEnvInput`.
 */
import { z } from 'zod';
import { EXPERIMENT_MAX_LENGTH, EXPERIMENT_PATTERN } from '../routing/flags';
import { flagIdsEnvSchema } from './handler-env';

/** The experiment of a flag written when there is none to keep one from and none is configured. */
export const FALLBACK_EXPERIMENT = 'rollback';

const text = (what: string) => z.string({ error: `the ${what}` }).min(1, { error: `the ${what}` });
const count = (what: string) =>
  z
    .string({ error: `the ${what}` })
    .regex(/^[1-9][0-9]*$/, { error: `the ${what}, a whole number of at least 1` })
    .transform(Number);

export const rollbackEnvSchema = z.object({
  /** The model this function rolls back, as in its config; a manual event for another model is refused. */
  MODEL_NAME: z
    .string({ error: 'the model name, like document-classifier' })
    .regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, { error: 'a model name like document-classifier' }),
  /** Holds the serving state (read and rewritten) and the rollback records. */
  ARTIFACTS_BUCKET: text('artifacts bucket name'),
  /** DynamoDB table, partition key `pk` (string, the model), sort key `sk` (string): one item per rollback. */
  ROLLBACK_TABLE: text('rollback table name'),
  /** SNS topic on-call is paged on. */
  PAGING_TOPIC_ARN: z
    .string({ error: 'the ARN of the paging topic' })
    .startsWith('arn:', { error: 'the ARN of the paging topic (arn:...)' }),
  /** The endpoint whose config goes back to N-1. */
  LIVE_ENDPOINT: text('live endpoint name'),
  /** The endpoint the router calls for "standby": where N-1 must be warm before the flag points there. */
  STANDBY_ENDPOINT: text('standby endpoint name'),
  /**
   * The live variant's autoscaling (serving.autoscaling), registered again after a rollback that
   * had to deregister it: SageMaker refuses an update that changes the instance type of a variant
   * registered with Application Auto Scaling
   * (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
   */
  AUTOSCALING_MIN_INSTANCES: count('minimum instance count of the live variant'),
  AUTOSCALING_MAX_INSTANCES: count('maximum instance count of the live variant'),
  AUTOSCALING_TARGET_INVOCATIONS: count('target invocations per instance per minute'),
  ...flagIdsEnvSchema.shape,
  /** The live confidence alarm: re-baselined for the version a rollback returns to. */
  CONFIDENCE_ALARM_NAME: text('confidence alarm name'),
  /** This function's ARN as it appears among that alarm's actions (armed: present; provisional: absent). */
  CONFIDENCE_ROLLBACK_ACTION_ARN: z
    .string({ error: "the ARN of this rollback function, as the confidence alarm's action" })
    .startsWith('arn:', {
      error: "the ARN of this rollback function, as the confidence alarm's action (arn:...)",
    }),
  /** monitoring.confidenceAlarm.provisionalStdDev: the provisional band's width. */
  CONFIDENCE_PROVISIONAL_STD_DEV: z
    .string({ error: 'the provisional standard deviation of the confidence alarm' })
    .regex(/^(0|[1-9][0-9]*)?(\.[0-9]+)?$/, {
      error: 'the provisional standard deviation of the confidence alarm, a positive number like 0.05',
    })
    .transform(Number)
    .refine((v) => v > 0, {
      error: 'the provisional standard deviation of the confidence alarm, a positive number like 0.05',
    }),
  /**
   * The alarm every canary lists among its auto-rollback alarms: set to ALARM (with the
   * RollbackRequested metric behind it) to stop a candidate's deployment on the live endpoint.
   */
  ROLLBACK_REQUESTED_ALARM_NAME: text('rollback-requested alarm name'),
  /**
   * The configured experiment (routing.experiment). The flag written keeps the current flag's
   * experiment; this one (else `rollback`) is used only when no readable flag was ever written.
   */
  EXPERIMENT: z
    .string({ error: 'the configured experiment name' })
    .regex(EXPERIMENT_PATTERN, { error: 'a lower-case kebab-case experiment name' })
    .max(EXPERIMENT_MAX_LENGTH, {
      error: `an experiment name of at most ${EXPERIMENT_MAX_LENGTH} characters`,
    })
    .default(FALLBACK_EXPERIMENT),
  POWERTOOLS_SERVICE_NAME: z.string().optional(),
  POWERTOOLS_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT']).optional(),
});

export type RollbackEnvInput = z.input<typeof rollbackEnvSchema>;
export type RollbackEnv = z.output<typeof rollbackEnvSchema>;

/** Thrown when the environment is incomplete; names every key and what it should be. */
export class RollbackEnvError extends Error {
  override readonly name = 'RollbackEnvError';
}

export function rollbackEnv(env: NodeJS.ProcessEnv = process.env): RollbackEnv {
  const parsed = rollbackEnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0]);
    return env[key] === undefined ? `${key} is missing` : `${key} is invalid (expected ${issue.message})`;
  });
  throw new RollbackEnvError(
    `rollback environment: ${[...new Set(problems)].join('; ')}; the function was deployed without its ` +
      "construct's settings, so it cannot roll back: redeploy the model stack, and meanwhile roll back by hand " +
      '(docs/serving.md, "By hand")',
  );
}
