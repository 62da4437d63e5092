/**
 * The router's environment. The ModelEndpoint construct sets these keys; `routerEnvSchema` is the
 * contract between the two (the construct can check its environment map against it at synth).
 *
 * Written with `zod/mini` (the same zod, functions instead of methods), as are the flag and the
 * prediction record: the router builds these three schemas at every cold start, and zod's classic
 * API adds some 40 bound methods to every schema it builds and cannot be tree-shaken; see
 * bench/README.md ("lambda-init"). Every schema names its own `error`: zod/mini loads no locale, so a
 * schema without one would say only "Invalid input" in the router's bundle.
 */
import * as z from 'zod/mini';

/** A whole number written in decimal digits only ("30", not "3e1" or " 30"), within bounds. */
const wholeNumber = (min: number, max: number) => {
  const error = `a whole number from ${min} to ${max}`;
  return z.pipe(
    z.pipe(z.string({ error }).check(z.regex(/^\d+$/, { error })), z.transform(Number)),
    z.number({ error }).check(z.gte(min, { error }), z.lte(max, { error })),
  );
};

const text = (what: string) =>
  z.string({ error: `a ${what}` }).check(z.minLength(1, { error: `a non-empty ${what}` }));

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;

export const routerEnvSchema = z.object({
  /** The model this router serves, as in its config and the flag's `model`; the metrics' service. */
  MODEL_NAME: z
    .string({ error: 'the model name, like document-classifier' })
    .check(z.regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, { error: 'a model name like document-classifier' })),
  /**
   * The configured experiment name (routing.experiment). The flag's own `experiment` salts the
   * assignment; a flag whose experiment differs from this one is served, with a warning.
   */
  EXPERIMENT: text('experiment name'),
  /** SageMaker endpoint names; the live one serves variant `live`, the standby one variant `standby`. */
  LIVE_ENDPOINT: text('live endpoint name'),
  STANDBY_ENDPOINT: text('standby endpoint name'),
  /** Where the model-version flag is deployed (AppConfig application, environment, profile names or ids). */
  APPCONFIG_APPLICATION: text('AppConfig application'),
  APPCONFIG_ENVIRONMENT: text('AppConfig environment'),
  APPCONFIG_PROFILE: text('AppConfig configuration profile'),
  /** How long a flag read (or a failed one) is kept; also the AppConfig session's minimum poll interval. */
  FLAG_CACHE_SECONDS: wholeNumber(15, 3600),
  /** Timeout of one endpoint call (one attempt). */
  ROUTER_TIMEOUT_MS: wholeNumber(1, 60_000),
  /** Retries of a failed endpoint call; the SDK makes ROUTER_RETRIES + 1 attempts in all. */
  ROUTER_RETRIES: wholeNumber(0, 3),
  /** Secret holding the HMAC key of the prediction log's input hash (at least 32 bytes). */
  HMAC_SECRET_ARN: z
    .string({ error: 'the ARN of the HMAC key secret' })
    .check(z.startsWith('arn:', { error: 'the ARN of the HMAC key secret (arn:...)' })),
  /** Firehose stream of the prediction log. */
  DELIVERY_STREAM_NAME: text('Firehose delivery stream name'),
  /** SQS queue the prediction log falls back to when Firehose does not take a record. */
  FALLBACK_QUEUE_URL: z.url({ error: 'the URL of the prediction-log fallback queue' }),
  /** Powertools logger: `service` key of every log line (set it to the model name) and level. */
  POWERTOOLS_SERVICE_NAME: z.optional(z.string({ error: 'the service name of the log lines' })),
  POWERTOOLS_LOG_LEVEL: z.optional(z.enum(LOG_LEVELS, { error: `one of ${LOG_LEVELS.join(', ')}` })),
});

/** What the construct writes (all strings). */
export type RouterEnvInput = z.input<typeof routerEnvSchema>;
/** What the router reads (numbers parsed). */
export type RouterEnv = z.output<typeof routerEnvSchema>;

/** Parses the environment; the error names every key that is missing or wrong and what it should be. */
export function routerEnv(env: NodeJS.ProcessEnv = process.env): RouterEnv {
  const parsed = routerEnvSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0]);
    return env[key] === undefined ? `${key} is missing` : `${key} is invalid (expected ${issue.message})`;
  });
  throw new Error(
    `router environment: ${[...new Set(problems)].join('; ')}; ` +
      "the function was deployed without the ModelEndpoint construct's router settings: redeploy the model stack",
  );
}
