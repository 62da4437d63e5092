import {
  AppConfigClient,
  ConflictException,
  CreateApplicationCommand,
  CreateConfigurationProfileCommand,
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  ListHostedConfigurationVersionsCommand,
  StartDeploymentCommand,
  StopDeploymentCommand,
  type CreateHostedConfigurationVersionCommandInput,
} from '@aws-sdk/client-appconfig';
import { mockClient } from 'aws-sdk-client-mock';
import { FlagDocumentError, type FlagDocument } from '../../lambdas/core/routing/flags';
import {
  deployFlag,
  deployStoredVersion,
  FlagDeploymentInProgress,
  flagIds,
  FlagWriteConflict,
  isFlagDeploymentInProgress,
  readCurrentFlag,
  type FlagIds,
} from '../../lambdas/shared/flag-writer';
import { isTransientError } from '../../lambdas/core/serving/transient-error';
import { useMoto } from '../helpers/moto';

const flag: FlagDocument = {
  schemaVersion: 1,
  model: 'document-classifier',
  experiment: 'document-classifier-2026-11',
  stable: { modelVersion: 'a1b2c3d4', endpoint: 'standby' },
  candidate: null,
  killSwitch: false,
  updatedBy: 'rollback: alarm mlops-document-classifier-confidence',
  updatedAt: '2026-11-05T10:00:01.500Z',
};

const conflict = (message: string) => new ConflictException({ message, $metadata: {} });
const unavailable = () =>
  Object.assign(new Error('Service unavailable'), {
    name: 'ServiceUnavailable',
    $metadata: { httpStatusCode: 503 },
  });
const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

/**
 * moto stores and returns hosted versions (Create / Get); it has no ListHostedConfigurationVersions,
 * no LatestVersionNumber check and no deployments, so those are played here, as AppConfig answers.
 */
describe('flag writer', () => {
  const moto = useMoto();
  const client = new AppConfigClient({ region: 'eu-west-1' });
  const appconfig = mockClient(client);
  let motoClient: AppConfigClient;
  let ids: FlagIds;
  /** Version numbers moto created, in order. */
  let created: number[];
  let sleeps: number[];

  beforeAll(() => {
    motoClient = new AppConfigClient(moto.clientConfig);
  });

  /** CreateHostedConfigurationVersion as AppConfig answers it: moto stores, LatestVersionNumber is checked here. */
  const storeVersion = async (input: CreateHostedConfigurationVersionCommandInput) => {
    const latest = created.at(-1);
    if (input.LatestVersionNumber !== undefined && input.LatestVersionNumber !== latest) {
      throw conflict(`LatestVersionNumber ${input.LatestVersionNumber} is not the latest version ${latest}`);
    }
    const out = await motoClient.send(new CreateHostedConfigurationVersionCommand(input));
    created.push(out.VersionNumber!);
    return out;
  };

  beforeEach(async () => {
    const app = await motoClient.send(new CreateApplicationCommand({ Name: 'mlops-document-classifier' }));
    const profile = await motoClient.send(
      new CreateConfigurationProfileCommand({
        ApplicationId: app.Id,
        Name: 'model-version',
        LocationUri: 'hosted',
      }),
    );
    ids = flagIds({
      APPCONFIG_APPLICATION_ID: app.Id!,
      APPCONFIG_ENVIRONMENT_ID: 'env0001',
      APPCONFIG_PROFILE_ID: profile.Id!,
      APPCONFIG_STRATEGY_ID: 'strat01',
    });
    created = [];
    sleeps = [];
    appconfig.reset();
    appconfig.on(CreateHostedConfigurationVersionCommand).callsFake(storeVersion);
    appconfig
      .on(GetHostedConfigurationVersionCommand)
      .callsFake((input) => motoClient.send(new GetHostedConfigurationVersionCommand(input)));
    appconfig.on(ListHostedConfigurationVersionsCommand).callsFake(async () => ({
      Items: created.map((n) => ({ VersionNumber: n })),
    }));
  });

  const put = (text: string) =>
    client.send(
      new CreateHostedConfigurationVersionCommand({
        ApplicationId: ids.applicationId,
        ConfigurationProfileId: ids.profileId,
        Content: new TextEncoder().encode(text),
        ContentType: 'application/json',
      }),
    );
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };

  describe('readCurrentFlag', () => {
    it('GIVEN no version THEN null', async () => {
      expect(await readCurrentFlag(client, ids)).toBeNull();
    });

    it('reads every page and returns the highest version, parsed', async () => {
      await put(JSON.stringify({ ...flag, experiment: 'first' }));
      await put(JSON.stringify(flag));
      await put(JSON.stringify({ ...flag, experiment: 'third' }));
      // Out of order and over two pages: the answer must not depend on AppConfig's order.
      appconfig
        .on(ListHostedConfigurationVersionsCommand)
        .resolvesOnce({ Items: [{ VersionNumber: 1 }, { VersionNumber: 3 }], NextToken: 'page-2' })
        .resolvesOnce({ Items: [{ VersionNumber: 2 }] });
      const current = await readCurrentFlag(client, ids);
      expect(current).toEqual({
        versionNumber: 3,
        document: { ...flag, experiment: 'third' },
        problem: null,
      });
      expect(appconfig.commandCalls(ListHostedConfigurationVersionsCommand)[1]!.args[0].input.NextToken).toBe(
        'page-2',
      );
    });

    it('GIVEN the newest version does not parse THEN it returns its number and the problem', async () => {
      await put(JSON.stringify(flag));
      await put(JSON.stringify({ ...flag, killSwitch: 'yes' }));
      expect(await readCurrentFlag(client, ids)).toEqual({
        versionNumber: 2,
        document: null,
        problem:
          `AppConfig flag ${ids.applicationId}/env0001/${ids.profileId} version 2 is not a valid flag document: ` +
          'killSwitch: invalid value (got "yes", expected true or false); fix the document and deploy it again',
      });
    });
  });

  describe('deployFlag', () => {
    it('stores the document as JSON and deploys it with the strategy', async () => {
      await put(JSON.stringify({ ...flag, stable: { modelVersion: 'f00d', endpoint: 'live' } }));
      appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 12 });
      const deployed = await deployFlag(client, ids, flag, 'rollback to a1b2c3d4', {
        latestVersionNumber: 1,
        sleep,
      });
      expect(deployed).toEqual({ versionNumber: 2, deploymentNumber: 12, stoppedDeployments: [] });

      const stored = await motoClient.send(
        new GetHostedConfigurationVersionCommand({
          ApplicationId: ids.applicationId,
          ConfigurationProfileId: ids.profileId,
          VersionNumber: 2,
        }),
      );
      expect(JSON.parse(new TextDecoder().decode(stored.Content))).toEqual(flag);
      expect(stored.ContentType).toBe('application/json');
      expect(stored.Description).toBe('rollback to a1b2c3d4');
      expect(
        appconfig.commandCalls(CreateHostedConfigurationVersionCommand)[1]!.args[0].input.LatestVersionNumber,
      ).toBe(1);
      expect(appconfig.commandCalls(StartDeploymentCommand)[0]!.args[0].input).toEqual({
        ApplicationId: ids.applicationId,
        EnvironmentId: 'env0001',
        ConfigurationProfileId: ids.profileId,
        DeploymentStrategyId: 'strat01',
        ConfigurationVersion: '2',
        Description: 'rollback to a1b2c3d4',
      });
    });

    it('GIVEN a document the router would refuse THEN nothing is written', async () => {
      const bad = { ...flag, candidate: { modelVersion: 'a1b2c3d4', endpoint: 'live' as const, percent: 5 } };
      await expect(deployFlag(client, ids, bad, 'x', { latestVersionNumber: undefined })).rejects.toThrow(
        FlagDocumentError,
      );
      expect(appconfig.commandCalls(CreateHostedConfigurationVersionCommand)).toHaveLength(0);
    });

    it('GIVEN another writer created a version since THEN FlagWriteConflict, and nothing deployed', async () => {
      await put(JSON.stringify(flag));
      await put(JSON.stringify(flag));
      const error = await deployFlag(client, ids, flag, 'x', { latestVersionNumber: 1 }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FlagWriteConflict);
      expect((error as Error).message).toBe(
        `another writer created a version of the AppConfig flag ${ids.applicationId}/env0001/${ids.profileId} after ` +
          'version 1, which this change was based on (LatestVersionNumber 1 is not the latest version 2); nothing ' +
          'written: read the flag again and rebuild the change on top of it',
      );
      expect(appconfig.commandCalls(StartDeploymentCommand)).toHaveLength(0);
    });

    it('GIVEN a deployment in progress and no leave to stop it THEN FlagDeploymentInProgress; the version is stored', async () => {
      appconfig.on(StartDeploymentCommand).rejects(conflict('Deployment 4 is in progress'));
      const error = await deployFlag(client, ids, flag, 'x', { latestVersionNumber: undefined }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FlagDeploymentInProgress);
      expect((error as Error).message).toBe(
        'another deployment to environment env0001 is in progress (Deployment 4 is in progress); version 1 of the ' +
          `AppConfig flag ${ids.applicationId}/env0001/${ids.profileId} is stored but not deployed: deploy it once ` +
          'that deployment has finished',
      );
      expect(created).toEqual([1]);
      expect(appconfig.commandCalls(StopDeploymentCommand)).toHaveLength(0);
    });

    it('GIVEN a deployment in progress and leave to stop it THEN it stops it and deploys, and says so', async () => {
      appconfig
        .on(StartDeploymentCommand)
        .rejectsOnce(conflict('Deployment 4 is in progress'))
        .resolves({ DeploymentNumber: 5 });
      appconfig.on(ListDeploymentsCommand).resolves({
        Items: [
          { DeploymentNumber: 4, State: 'BAKING', ConfigurationVersion: '7' },
          { DeploymentNumber: 3, State: 'COMPLETE', ConfigurationVersion: '6' },
        ],
      });
      appconfig.on(StopDeploymentCommand).resolves({});
      const deployed = await deployFlag(client, ids, flag, 'x', {
        latestVersionNumber: undefined,
        whenDeploymentInProgress: 'stop',
        sleep,
      });
      expect(deployed).toEqual({
        versionNumber: 1,
        deploymentNumber: 5,
        stoppedDeployments: [{ deploymentNumber: 4, configurationVersion: '7', state: 'BAKING' }],
      });
      expect(appconfig.commandCalls(StopDeploymentCommand).map((c) => c.args[0].input)).toEqual([
        {
          ApplicationId: ids.applicationId,
          EnvironmentId: 'env0001',
          DeploymentNumber: 4,
          AllowRevert: true,
        },
      ]);
      expect(sleeps).toEqual([500]);
    });

    it('GIVEN the environment stays busy after stopping THEN it gives up after 4 attempts, saying what to do', async () => {
      appconfig.on(StartDeploymentCommand).rejects(conflict('busy'));
      appconfig.on(ListDeploymentsCommand).resolves({ Items: [{ DeploymentNumber: 4, State: 'DEPLOYING' }] });
      appconfig.on(StopDeploymentCommand).resolves({});
      const error = await deployFlag(client, ids, flag, 'x', {
        latestVersionNumber: undefined,
        whenDeploymentInProgress: 'stop',
        sleep,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FlagDeploymentInProgress);
      expect((error as Error).message).toBe(
        'another deployment to environment env0001 is in progress (busy) after 4 attempts and stopping ' +
          `deployment(s) 4, 4, 4; version 1 of the AppConfig flag ${ids.applicationId}/env0001/${ids.profileId} is ` +
          'stored but not deployed: stop the running deployment in the AppConfig console and deploy that version',
      );
      expect(appconfig.commandCalls(StartDeploymentCommand)).toHaveLength(4);
      expect(sleeps).toEqual([500, 1000, 2000]);
    });
  });
  describe('transient CreateHostedConfigurationVersion failures', () => {
    it('GIVEN retry waits THEN a throttled write is stored again after each wait, once in all, and deployed', async () => {
      let refusals = 2;
      appconfig.on(CreateHostedConfigurationVersionCommand).callsFake(async (input) => {
        if (refusals-- > 0) throw throttled();
        return storeVersion(input);
      });
      appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 3 });
      const deployed = await deployFlag(client, ids, flag, 'x', {
        latestVersionNumber: undefined,
        transientRetryDelaysMs: [1000, 2000, 4000],
        sleep,
      });
      expect(deployed).toEqual({
        versionNumber: 1,
        deploymentNumber: expect.any(Number),
        stoppedDeployments: [],
      });
      expect(created).toEqual([1]);
      expect(appconfig.commandCalls(CreateHostedConfigurationVersionCommand)).toHaveLength(3);
      expect(sleeps).toEqual([1000, 2000]);
    });

    it('GIVEN no retry waits THEN one attempt, and the throttling reaches the caller as it came', async () => {
      appconfig.on(CreateHostedConfigurationVersionCommand).rejectsOnce(throttled());
      const error = await deployFlag(client, ids, flag, 'x', { latestVersionNumber: undefined, sleep }).catch(
        (e: unknown) => e,
      );
      expect((error as Error).name).toBe('ThrottlingException');
      expect(created).toEqual([]);
      expect(appconfig.commandCalls(CreateHostedConfigurationVersionCommand)).toHaveLength(1);
    });
  });

  describe('transient StartDeployment failures', () => {
    it('GIVEN retry waits THEN a transient failure is retried for the same stored version, one version in all', async () => {
      appconfig
        .on(StartDeploymentCommand)
        .rejectsOnce(unavailable())
        .rejectsOnce(unavailable())
        .resolves({ DeploymentNumber: 3 });
      const deployed = await deployFlag(client, ids, flag, 'x', {
        latestVersionNumber: undefined,
        transientRetryDelaysMs: [1000, 2000, 4000],
        sleep,
      });
      expect(deployed).toEqual({ versionNumber: 1, deploymentNumber: 3, stoppedDeployments: [] });
      expect(created).toEqual([1]);
      expect(
        appconfig.commandCalls(StartDeploymentCommand).map((c) => c.args[0].input.ConfigurationVersion),
      ).toEqual(['1', '1', '1']);
      expect(sleeps).toEqual([1000, 2000]);
    });

    it('GIVEN the failures outlast the waits THEN it says which version is stored but not deployed, and the error stays transient', async () => {
      appconfig.on(StartDeploymentCommand).rejects(unavailable());
      const error = await deployFlag(client, ids, flag, 'x', {
        latestVersionNumber: undefined,
        transientRetryDelaysMs: [1000, 2000],
        sleep,
      }).catch((e: unknown) => e);
      expect((error as Error).message).toBe(
        'AppConfig did not start the deployment (ServiceUnavailable: Service unavailable); version 1 of the ' +
          `AppConfig flag ${ids.applicationId}/env0001/${ids.profileId} is stored but not deployed: deploy that version`,
      );
      // A stage with a next poll retries it there.
      expect(isTransientError(error)).toBe(true);
      expect(appconfig.commandCalls(StartDeploymentCommand)).toHaveLength(3);
    });

    it('GIVEN no retry waits (a stage that retries at its next poll) THEN one attempt', async () => {
      appconfig.on(StartDeploymentCommand).rejects(unavailable());
      const error = await deployFlag(client, ids, flag, 'x', { latestVersionNumber: undefined, sleep }).catch(
        (e: unknown) => e,
      );
      expect(isTransientError(error)).toBe(true);
      expect(appconfig.commandCalls(StartDeploymentCommand)).toHaveLength(1);
      expect(sleeps).toEqual([]);
    });
  });

  describe('deployStoredVersion', () => {
    it("GIVEN another deployment in progress THEN FlagDeploymentInProgress (retried like deployFlag's), not a bare ConflictException", async () => {
      appconfig.on(StartDeploymentCommand).rejects(conflict('Deployment 4 is in progress'));
      const error = await deployStoredVersion(client, ids, 7, 'x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FlagDeploymentInProgress);
      expect((error as Error).message).toBe(
        'another deployment to environment env0001 is in progress (Deployment 4 is in progress); version 7 of the ' +
          `AppConfig flag ${ids.applicationId}/env0001/${ids.profileId} is stored but not deployed: deploy it once ` +
          'that deployment has finished',
      );
      expect(isFlagDeploymentInProgress(new Error('stage failed', { cause: error }))).toBe(true);
      expect(isFlagDeploymentInProgress(conflict('LatestVersionNumber 3 is not the latest version 4'))).toBe(
        false,
      );
    });

    it('deploys the stored version with the flag strategy', async () => {
      appconfig.on(StartDeploymentCommand).resolves({ DeploymentNumber: 9 });
      expect(await deployStoredVersion(client, ids, 7, 'x')).toEqual({
        versionNumber: 7,
        deploymentNumber: 9,
        stoppedDeployments: [],
      });
      expect(appconfig.commandCalls(StartDeploymentCommand)[0]!.args[0].input).toMatchObject({
        ConfigurationVersion: '7',
        DeploymentStrategyId: 'strat01',
        EnvironmentId: 'env0001',
      });
    });
  });
});
