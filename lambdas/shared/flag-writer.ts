/**
 * Writes the model-version flag (lambdas/core/routing/flags.ts) the way the router reads it: a new hosted
 * configuration version in AppConfig, then a deployment of it to the router's environment.
 *
 * Two writers can race (a release widening its canary, a rollback): each passes the version its
 * document was based on as `LatestVersionNumber`, so AppConfig refuses the second write with a
 * ConflictException instead of silently dropping the first writer's change. AppConfig also runs one
 * deployment per environment at a time: StartDeployment while another deployment to the environment is
 * in progress is refused with ConflictException, "the request could not be processed because of
 * conflict in the current state of the resource"
 * (https://docs.aws.amazon.com/appconfig/2019-10-09/APIReference/API_StartDeployment.html; aws-cdk's
 * appconfig module queues deployments per environment because simultaneous ones are "not allowed",
 * https://github.com/aws/aws-cdk/pull/29500). A deployment is in progress for its strategy's deployment
 * time plus its final bake time (https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-deployment-strategy-create.html):
 * the release's strategy has neither unless `routing.flagDeployment` sets them (default 0 and 0), and the
 * rollback's has neither, so such a refusal ends within moments, or once a slower deployment (a
 * configured release strategy, a person's) has baked. A rollback stops the one in progress (it is the
 * change being rolled back, or a stale experiment change) and deploys its own; a release does not
 * stop anything and tries again later (FlagDeploymentInProgress).
 */
import {
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  ListHostedConfigurationVersionsCommand,
  StartDeploymentCommand,
  StopDeploymentCommand,
  type AppConfigClient,
} from '@aws-sdk/client-appconfig';
import { z } from 'zod';
import { FlagDocumentError, parseFlagDocument, type FlagDocument } from '../core/routing/flags';
import { isTransientError } from '../core/serving/transient-error';
import type { flagIdsEnvSchema } from '../core/contracts/handler-env';

/** Where the flag lives: CloudFormation's ids of the ModelRouting construct's AppConfig resources. */
export interface FlagIds {
  readonly applicationId: string;
  readonly environmentId: string;
  readonly profileId: string;
  readonly strategyId: string;
}

export function flagIds(env: z.output<typeof flagIdsEnvSchema>): FlagIds {
  return {
    applicationId: env.APPCONFIG_APPLICATION_ID,
    environmentId: env.APPCONFIG_ENVIRONMENT_ID,
    profileId: env.APPCONFIG_PROFILE_ID,
    strategyId: env.APPCONFIG_STRATEGY_ID,
  };
}

/** Names the flag in messages: `AppConfig flag <application>/<environment>/<profile>`. */
export function flagLabel(ids: FlagIds): string {
  return `AppConfig flag ${ids.applicationId}/${ids.environmentId}/${ids.profileId}`;
}

/** The newest hosted version of the flag. */
export type CurrentFlag =
  | { readonly versionNumber: number; readonly document: FlagDocument; readonly problem: null }
  /** The newest version does not parse (AppConfig validates only at deployment): `problem` says why. */
  | { readonly versionNumber: number; readonly document: null; readonly problem: string };

/**
 * The newest hosted configuration version of the flag profile, parsed; null when the profile has
 * none. The newest is what the last writer meant, deployed or not, and its number is the
 * `LatestVersionNumber` a writer must pass. AppConfig does not document the list's order, so every
 * page is read and the highest number taken.
 */
export async function readCurrentFlag(client: AppConfigClient, ids: FlagIds): Promise<CurrentFlag | null> {
  let latest: number | undefined;
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new ListHostedConfigurationVersionsCommand({
        ApplicationId: ids.applicationId,
        ConfigurationProfileId: ids.profileId,
        MaxResults: 50,
        NextToken: nextToken,
      }),
    );
    for (const item of page.Items ?? []) {
      if (item.VersionNumber !== undefined && (latest === undefined || item.VersionNumber > latest)) {
        latest = item.VersionNumber;
      }
    }
    nextToken = page.NextToken || undefined;
  } while (nextToken !== undefined);
  if (latest === undefined) return null;

  const version = await client.send(
    new GetHostedConfigurationVersionCommand({
      ApplicationId: ids.applicationId,
      ConfigurationProfileId: ids.profileId,
      VersionNumber: latest,
    }),
  );
  const text = new TextDecoder().decode(version.Content ?? new Uint8Array());
  try {
    const document = parseFlagDocument(text, `${flagLabel(ids)} version ${latest}`);
    return { versionNumber: latest, document, problem: null };
  } catch (error) {
    if (error instanceof FlagDocumentError)
      return { versionNumber: latest, document: null, problem: error.message };
    throw error;
  }
}

/**
 * Whether `versionNumber` of the flag is deployed to the environment, or deploying: the newest
 * deployment is of that version and was not stopped or rolled back. ListDeployments lists "in
 * descending deployment number order" (https://docs.aws.amazon.com/appconfig/2019-10-09/APIReference/API_ListDeployments.html);
 * sorted again here, cheaply, rather than trusted. A writer whose StartDeployment failed after it created the
 * version finds it stored but not deployed, and deploys it.
 */
export async function isVersionDeployed(
  client: AppConfigClient,
  ids: FlagIds,
  versionNumber: number,
): Promise<boolean> {
  const listed = await client.send(
    new ListDeploymentsCommand({
      ApplicationId: ids.applicationId,
      EnvironmentId: ids.environmentId,
      MaxResults: 10,
    }),
  );
  const newest = [...(listed.Items ?? [])]
    .filter((d) => d.DeploymentNumber !== undefined)
    .sort((a, b) => b.DeploymentNumber! - a.DeploymentNumber!)[0];
  return (
    newest !== undefined &&
    newest.ConfigurationVersion === String(versionNumber) &&
    !['ROLLED_BACK', 'REVERTED'].includes(newest.State ?? '')
  );
}

/**
 * Starts a deployment of a version already stored (one whose earlier StartDeployment failed).
 * @throws FlagDeploymentInProgress when another deployment to the environment is in progress (the
 *   same refusal deployFlag reports, so that callers retry it the same way).
 */
export async function deployStoredVersion(
  client: AppConfigClient,
  ids: FlagIds,
  versionNumber: number,
  description: string,
  options: TransientRetryOptions = {},
): Promise<DeployedFlag> {
  try {
    const deploymentNumber = await startDeployment(
      client,
      ids,
      versionNumber,
      description.slice(0, MAX_DESCRIPTION),
      options,
    );
    return { versionNumber, deploymentNumber, stoppedDeployments: [] };
  } catch (error) {
    if ((error as Error).name !== 'ConflictException') throw error;
    throw new FlagDeploymentInProgress(
      `another deployment to environment ${ids.environmentId} is in progress (${(error as Error).message}); ` +
        `version ${versionNumber} of the ${flagLabel(ids)} is stored but not deployed: deploy it once that ` +
        'deployment has finished',
      { cause: error },
    );
  }
}

/** Waits between StartDeployment attempts refused for a transient reason. */
export interface TransientRetryOptions {
  /**
   * Waits before each further StartDeployment of the same stored version when AppConfig refuses it for
   * a transient reason (throttling, a server error, a timeout: core/serving/transient-error.ts). Empty
   * for a caller that retries at its next poll; a caller without one (a rollback, the settle step)
   * retries here.
   * @default [] (no retry)
   */
  readonly transientRetryDelaysMs?: readonly number[];
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The bounded retries of a rollback's flag deployment: 4 attempts over ~7 s. */
export const ROLLBACK_FLAG_RETRY_DELAYS_MS: readonly number[] = [1000, 2000, 4000];

/**
 * StartDeployment of a stored version, again after each wait of `transientRetryDelaysMs` while it
 * fails transiently; returns the deployment number. A transient failure past the last wait is thrown
 * as it came, so callers still see it as transient (and may retry later).
 */
async function startDeployment(
  client: AppConfigClient,
  ids: FlagIds,
  versionNumber: number,
  description: string,
  options: TransientRetryOptions,
): Promise<number> {
  const delays = options.transientRetryDelaysMs ?? [];
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      const started = await client.send(
        new StartDeploymentCommand({
          ApplicationId: ids.applicationId,
          EnvironmentId: ids.environmentId,
          ConfigurationProfileId: ids.profileId,
          DeploymentStrategyId: ids.strategyId,
          ConfigurationVersion: String(versionNumber),
          Description: description,
        }),
      );
      if (started.DeploymentNumber === undefined) {
        throw new Error(
          `AppConfig started a deployment of the ${flagLabel(ids)} but returned no DeploymentNumber`,
        );
      }
      return started.DeploymentNumber;
    } catch (error) {
      const delay = delays[attempt];
      if (delay === undefined || !isTransientError(error)) throw error;
      await sleep(delay);
    }
  }
}

/** Another writer created a version after the one this document was based on; nothing was written. */
export class FlagWriteConflict extends Error {
  override readonly name = 'FlagWriteConflict';
}

/** Another deployment to the environment is in progress and the caller chose not to stop it. */
export class FlagDeploymentInProgress extends Error {
  override readonly name = 'FlagDeploymentInProgress';
}

/**
 * True when the error, or one it wraps (`cause`, at most 5 deep), is FlagDeploymentInProgress: a
 * refusal that ends by itself, which a stage retries at its next poll.
 */
export function isFlagDeploymentInProgress(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++) {
    if (e instanceof FlagDeploymentInProgress) return true;
    e = e.cause;
  }
  return false;
}

export interface DeployFlagOptions extends TransientRetryOptions {
  /**
   * The hosted version the document was based on (from `readCurrentFlag`); AppConfig refuses the
   * write if a newer one exists. Undefined when the profile had no version.
   */
  readonly latestVersionNumber: number | undefined;
  /**
   * What to do when another deployment to the environment is in progress: `fail` (the default)
   * throws FlagDeploymentInProgress; `stop` stops it and deploys this one (a rollback).
   * @default 'fail'
   */
  readonly whenDeploymentInProgress?: 'fail' | 'stop';
}

/** A deployment this write stopped to make way for its own. */
export interface StoppedDeployment {
  readonly deploymentNumber: number;
  /** The hosted version it was deploying. */
  readonly configurationVersion: string;
  /** Its state when stopped: DEPLOYING, BAKING or VALIDATING. */
  readonly state: string;
}

export interface DeployedFlag {
  readonly versionNumber: number;
  readonly deploymentNumber: number;
  /** Deployments stopped first (only with `whenDeploymentInProgress: 'stop'`). */
  readonly stoppedDeployments: readonly StoppedDeployment[];
}

/** States of a deployment that block another one; ROLLING_BACK ends by itself within moments. */
const STOPPABLE = new Set(['DEPLOYING', 'BAKING', 'VALIDATING']);
/** StartDeployment attempts in all while the environment is busy; the waits between them add up to ~3.5 s. */
const START_ATTEMPTS = 4;
const START_RETRY_DELAYS_MS = [500, 1000, 2000];
/** AppConfig's limit on a description. */
const MAX_DESCRIPTION = 1024;

/**
 * Validates `doc` with the flag schema, stores it as a new hosted version (application/json) and
 * deploys that version with the flag's deployment strategy.
 * @throws FlagDocumentError when the document is invalid (nothing written).
 * @throws FlagWriteConflict when another writer created a version since `latestVersionNumber`.
 * @throws FlagDeploymentInProgress when another deployment runs and `whenDeploymentInProgress` is `fail`,
 *   or it still runs after stopping it and retrying.
 */
export async function deployFlag(
  client: AppConfigClient,
  ids: FlagIds,
  doc: FlagDocument,
  description: string,
  options: DeployFlagOptions,
): Promise<DeployedFlag> {
  const label = flagLabel(ids);
  const content = JSON.stringify(doc, null, 2);
  // The same parse the router does, so a document the router would refuse is never written.
  parseFlagDocument(content, `the new version of the ${label}`);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const text = description.slice(0, MAX_DESCRIPTION);

  let versionNumber: number;
  // A transient refusal (throttling, a server error) stored nothing, so the same write is tried again
  // after each wait of `transientRetryDelaysMs`. LatestVersionNumber keeps it safe: should a timed-out
  // attempt have stored its version after all, the next one is refused as a conflict, not stored twice.
  const delays = options.transientRetryDelaysMs ?? [];
  for (let attempt = 0; ; attempt++) {
    try {
      const created = await client.send(
        new CreateHostedConfigurationVersionCommand({
          ApplicationId: ids.applicationId,
          ConfigurationProfileId: ids.profileId,
          Content: new TextEncoder().encode(content),
          ContentType: 'application/json',
          Description: text,
          LatestVersionNumber: options.latestVersionNumber,
        }),
      );
      if (created.VersionNumber === undefined) {
        throw new Error(`AppConfig created a version of the ${label} but returned no VersionNumber`);
      }
      versionNumber = created.VersionNumber;
      break;
    } catch (error) {
      const delay = delays[attempt];
      if (delay !== undefined && isTransientError(error)) {
        await sleep(delay);
        continue;
      }
      if ((error as Error).name === 'ConflictException') {
        throw new FlagWriteConflict(
          `another writer created a version of the ${label} after version ${options.latestVersionNumber ?? '(none)'}, ` +
            `which this change was based on (${(error as Error).message}); nothing written: read the flag again and ` +
            'rebuild the change on top of it',
          { cause: error },
        );
      }
      throw error;
    }
  }

  const stopped: StoppedDeployment[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      const deploymentNumber = await startDeployment(client, ids, versionNumber, text, options);
      return { versionNumber, deploymentNumber, stoppedDeployments: stopped };
    } catch (error) {
      if ((error as Error).name !== 'ConflictException') {
        if (!isTransientError(error)) throw error;
        throw new Error(
          `AppConfig did not start the deployment (${(error as Error).name}: ${(error as Error).message}); ` +
            `version ${versionNumber} of the ${label} is stored but not deployed: deploy that version`,
          { cause: error },
        );
      }
      const busy = `another deployment to environment ${ids.environmentId} is in progress (${(error as Error).message})`;
      if (options.whenDeploymentInProgress !== 'stop') {
        throw new FlagDeploymentInProgress(
          `${busy}; version ${versionNumber} of the ${label} is stored but not deployed: deploy it once that ` +
            'deployment has finished',
          { cause: error },
        );
      }
      if (attempt >= START_ATTEMPTS) {
        throw new FlagDeploymentInProgress(
          `${busy} after ${START_ATTEMPTS} attempts${stopped.length > 0 ? ` and stopping deployment(s) ${stopped.map((s) => s.deploymentNumber).join(', ')}` : ''}; ` +
            `version ${versionNumber} of the ${label} is stored but not deployed: stop the running deployment in the ` +
            'AppConfig console and deploy that version',
          { cause: error },
        );
      }
      stopped.push(...(await stopRunningDeployments(client, ids)));
      await sleep(START_RETRY_DELAYS_MS[attempt - 1] ?? 2000);
    }
  }
}

/** Stops every deployment in progress to the environment (the newest few are enough: one runs at a time). */
async function stopRunningDeployments(client: AppConfigClient, ids: FlagIds): Promise<StoppedDeployment[]> {
  const listed = await client.send(
    new ListDeploymentsCommand({
      ApplicationId: ids.applicationId,
      EnvironmentId: ids.environmentId,
      MaxResults: 10,
    }),
  );
  const stopped: StoppedDeployment[] = [];
  for (const d of listed.Items ?? []) {
    if (d.DeploymentNumber === undefined || !STOPPABLE.has(d.State ?? '')) continue;
    try {
      // AllowRevert: without it AppConfig stops only a DEPLOYING deployment, not a BAKING one.
      await client.send(
        new StopDeploymentCommand({
          ApplicationId: ids.applicationId,
          EnvironmentId: ids.environmentId,
          DeploymentNumber: d.DeploymentNumber,
          AllowRevert: true,
        }),
      );
    } catch (error) {
      // It may have finished or been stopped since the list; the retried StartDeployment tells.
      if (
        (error as Error).name === 'ResourceNotFoundException' ||
        (error as Error).name === 'BadRequestException'
      ) {
        continue;
      }
      throw error;
    }
    stopped.push({
      deploymentNumber: d.DeploymentNumber,
      configurationVersion: d.ConfigurationVersion ?? 'unknown',
      state: d.State ?? 'unknown',
    });
  }
  return stopped;
}
