/**
 * The environments of the handlers: the contract between the construct that sets each function's
 * environment map (typed with these, so a missing key fails the synth) and the handler that parses
 * it at start-up. Here, in core, so neither side imports the other (the router's and the rollback's
 * are lambdas/core/contracts/router-env.ts and lambdas/core/contracts/rollback-env.ts).
 */
import { z } from 'zod';

const id = (what: string) => z.string({ error: `the ${what} id` }).min(1, { error: `the ${what} id` });

/** The environment keys that name the flag; a function that writes it sets these four. */
export const flagIdsEnvSchema = z.object({
  APPCONFIG_APPLICATION_ID: id('AppConfig application'),
  APPCONFIG_ENVIRONMENT_ID: id('AppConfig environment'),
  APPCONFIG_PROFILE_ID: id('AppConfig configuration profile'),
  APPCONFIG_STRATEGY_ID: id('AppConfig deployment strategy'),
});

/** Environment of every serving function; the ModelEndpoint construct sets exactly these keys. */
export const servingEnvSchema = z.object({
  RELEASE_SETTINGS_PARAMETER: z.string().min(1),
  ARTIFACTS_BUCKET: z.string().min(1),
  MODEL_NAME: z.string().min(1),
  SERVING_NAME_PREFIX: z.string().min(1),
  EXECUTION_ROLE_ARN: z.string().startsWith('arn:'),
  KMS_KEY_ARN: z.string().startsWith('arn:'),
  /** `s3://<data-capture bucket>/<model>` */
  DATA_CAPTURE_S3_URI: z.string().startsWith('s3://'),
  INFERENCE_IMAGE: z.string().min(1),
  LIVE_ENDPOINT: z.string().min(1),
  STANDBY_ENDPOINT: z.string().min(1),
  /** Comma-separated names of the canary's auto-rollback alarms. */
  ROLLBACK_ALARMS: z.string().min(1),
});
export type ServingEnv = z.output<typeof servingEnvSchema>;
export type ServingEnvKey = keyof ServingEnv;

/** The keys, besides the serving environment, that canary (at its pass) and promotion need: the flag and the confidence alarm. */
export const promotionLiveEnvSchema = flagIdsEnvSchema.extend({
  CONFIDENCE_ALARM_NAME: z.string().min(1),
  /** The rollback function's ARN: an action of the confidence alarm once the version's baseline is armed. */
  CONFIDENCE_ROLLBACK_ACTION_ARN: z.string().startsWith('arn:'),
  /** routing.experiment, for a flag written where none exists yet. */
  EXPERIMENT: z.string().min(1),
});
export type PromotionLiveEnv = z.output<typeof promotionLiveEnvSchema>;

/** Environment; the ModelPipeline construct sets exactly these keys. */
export const publishEnvSchema = z.object({
  MODEL_NAME: z.string().min(1),
  /** The artifacts bucket: published archives and run records. */
  ARTIFACTS_BUCKET: z.string().min(1),
  /** The release pipeline's own artifact bucket, where the evaluation build stages the archive. */
  STAGING_BUCKET: z.string().min(1),
});
export type PublishEnv = z.output<typeof publishEnvSchema>;
