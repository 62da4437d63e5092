import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { z } from 'zod';
import { ReleaseSettings, releaseSettingsSchema } from '../core/contracts/release-settings';

let cached: { name: string; settings: Promise<ReleaseSettings> } | undefined;

/** The model's release settings from SSM, read once per container. */
export function loadReleaseSettings(
  ssm: SSMClient,
  parameterName = process.env.RELEASE_SETTINGS_PARAMETER,
): Promise<ReleaseSettings> {
  if (!parameterName)
    throw new Error('RELEASE_SETTINGS_PARAMETER is not set; the function was deployed without it');
  if (cached?.name !== parameterName) {
    const settings = (async () => {
      const res = await ssm.send(new GetParameterCommand({ Name: parameterName }));
      const parsed = releaseSettingsSchema.safeParse(JSON.parse(res.Parameter?.Value ?? 'null'));
      if (!parsed.success) {
        throw new Error(
          `release settings in ${parameterName} do not match this function's version; redeploy the model stack`,
        );
      }
      return parsed.data;
    })();
    settings.catch(() => (cached = undefined)); // a failed read is retried on the next invocation
    cached = { name: parameterName, settings };
  }
  return cached.settings;
}

/** Environment every gate function is deployed with. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; the function was deployed without it`);
  return value;
}

/**
 * Parses a function's environment with its schema. A missing or invalid key means the function
 * was deployed without what its construct sets: the message names every such key.
 * `what` completes "deployed without the <what> settings", e.g. `drift monitor's`.
 */
export function parseEnvironment<S extends z.ZodType>(
  schema: S,
  env: NodeJS.ProcessEnv,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const keys = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
    throw new Error(
      `environment ${keys.join(', ')} missing or invalid; the function was deployed without the ${what} ` +
        'settings: redeploy the model stack',
    );
  }
  return parsed.data;
}
