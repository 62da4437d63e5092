/**
 * An in-memory AppConfig hosted-configuration store behind an aws-sdk-client-mock stub, for the
 * handlers that write the feature flag (canary, promotion): versions are numbered from 1 in the order
 * they are created, and every StartDeployment is listed as COMPLETE, newest first, as
 * ListDeployments returns them.
 */
import {
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  ListHostedConfigurationVersionsCommand,
  StartDeploymentCommand,
  type AppConfigClient,
} from '@aws-sdk/client-appconfig';
import type { AwsClientStub } from 'aws-sdk-client-mock';

export interface FlagStore {
  /** The text of each hosted version; version n is `versions[n - 1]`. */
  versions: string[];
  /** The configuration version of each deployment started, oldest first. */
  deployments: string[];
}

/** Resets `stub` and answers the flag's AppConfig calls from a new, empty store it returns. */
export function installFlagStore(stub: AwsClientStub<AppConfigClient>): FlagStore {
  const store: FlagStore = { versions: [], deployments: [] };
  stub.reset();
  stub.on(ListHostedConfigurationVersionsCommand).callsFake(async () => ({
    Items: store.versions.map((_, i) => ({ VersionNumber: i + 1 })),
  }));
  stub.on(GetHostedConfigurationVersionCommand).callsFake(async (input: { VersionNumber: number }) => ({
    VersionNumber: input.VersionNumber,
    Content: new TextEncoder().encode(store.versions[input.VersionNumber - 1]),
    ContentType: 'application/json',
  }));
  stub.on(CreateHostedConfigurationVersionCommand).callsFake(async (input: { Content: Uint8Array }) => {
    store.versions.push(new TextDecoder().decode(input.Content));
    return { VersionNumber: store.versions.length };
  });
  stub.on(StartDeploymentCommand).callsFake(async (input: { ConfigurationVersion: string }) => {
    store.deployments.push(input.ConfigurationVersion);
    return { DeploymentNumber: store.deployments.length, State: 'DEPLOYING' };
  });
  stub.on(ListDeploymentsCommand).callsFake(async () => ({
    Items: store.deployments
      .map((version, i) => ({ DeploymentNumber: i + 1, ConfigurationVersion: version, State: 'COMPLETE' }))
      .reverse(),
  }));
  return store;
}
