import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ReleaseSettings, releaseSettingsSchema } from '../../lib/config/release-settings';

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
