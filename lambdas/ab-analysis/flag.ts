/**
 * The default intended-split reader: the model-version flag from AppConfig (appconfigdata), read
 * once per invocation through a fresh configuration session.
 */
import {
  GetLatestConfigurationCommand,
  StartConfigurationSessionCommand,
  type AppConfigDataClient,
} from '@aws-sdk/client-appconfigdata';
import { z } from 'zod';
import { intendedSplitFromFlag, type ReadIntendedSplit } from './intended-split';
import { describeError } from './query';
import { parseEnvironment } from '../shared/settings';

const flagEnvSchema = z.object({
  APPCONFIG_APPLICATION: z.string().min(1),
  APPCONFIG_ENVIRONMENT: z.string().min(1),
  APPCONFIG_PROFILE: z.string().min(1),
});

export function appConfigSplitReader(
  client: AppConfigDataClient,
  env: NodeJS.ProcessEnv = process.env,
): ReadIntendedSplit {
  return async () => {
    const {
      APPCONFIG_APPLICATION: application,
      APPCONFIG_ENVIRONMENT: environment,
      APPCONFIG_PROFILE: profile,
    } = parseEnvironment(flagEnvSchema, env, "flag's AppConfig");
    const where = `AppConfig flag ${application}/${environment}/${profile}`;
    let text: string;
    let version: string | undefined;
    try {
      const session = await client.send(
        new StartConfigurationSessionCommand({
          ApplicationIdentifier: application,
          EnvironmentIdentifier: environment,
          ConfigurationProfileIdentifier: profile,
        }),
      );
      const latest = await client.send(
        new GetLatestConfigurationCommand({ ConfigurationToken: session.InitialConfigurationToken }),
      );
      text = new TextDecoder().decode(latest.Configuration ?? new Uint8Array());
      version = latest.VersionLabel;
    } catch (error) {
      throw new Error(
        `cannot read the ${where}: ${describeError(error)}; check that the flag is deployed to environment ` +
          `${environment} and that the function's role may read it (appconfig:StartConfigurationSession, ` +
          'appconfig:GetLatestConfiguration)',
        { cause: error },
      );
    }
    // The first GetLatestConfiguration of a session carries the document; empty means none is deployed.
    if (text.trim() === '') {
      throw new Error(`the ${where} is empty: deploy the flag document to environment ${environment}`);
    }
    return intendedSplitFromFlag(text, version ? `${where} (version ${version})` : where);
  };
}
