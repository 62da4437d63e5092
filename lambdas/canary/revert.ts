/**
 * A canary whose candidate served but did not pass puts the previous config back on the live
 * endpoint, which takes minutes (a blue/green update). Meanwhile the live endpoint still answers
 * with the candidate, so the flag sends users to the version before, which the stage put warm on
 * the standby before the canary (./standby.ts), and back to the live endpoint once it serves that
 * version again. Both moves are compare-and-set on the flag's newest version: a flag that names
 * anything else (a person's rollback, a promotion) is left alone.
 */
import type { AppConfigClient } from '@aws-sdk/client-appconfig';
import type { FlagDocument } from '../core/routing/flags';
import type { PromotionLiveEnv } from '../core/contracts/handler-env';
import {
  deployFlag,
  deployStoredVersion,
  flagIds,
  isVersionDeployed,
  readCurrentFlag,
} from '../shared/flag-writer';

export interface FlagMove {
  readonly model: string;
  /** The version that served before the candidate (the serving state's live version). */
  readonly modelVersion: string;
  readonly executionId: string;
  readonly now: Date;
  /** Where the flag sends that version's users now, and where it is to send them. */
  readonly from: 'live' | 'standby';
  readonly to: 'live' | 'standby';
}

export type FlagMoveOutcome =
  | { readonly kind: 'moved' | 'already'; readonly text: string }
  /** The flag names something else: another writer owns it, and it is not undone. */
  | { readonly kind: 'left'; readonly text: string };

/**
 * Moves the flag's stable version `modelVersion` from one endpoint to the other, if the newest
 * version of the flag still names it on `from`; idempotent (a stored but undeployed move is
 * deployed). Throws what the flag writer throws (FlagWriteConflict when another writer stored a
 * version meanwhile, FlagDeploymentInProgress, transient AWS errors): the caller retries at its
 * next poll.
 */
export async function moveFlag(
  appconfig: AppConfigClient,
  env: PromotionLiveEnv,
  move: FlagMove,
): Promise<FlagMoveOutcome> {
  const ids = flagIds(env);
  const current = await readCurrentFlag(appconfig, ids);
  const doc = current?.document ?? null;
  const where = (d: FlagDocument) => `${d.stable.modelVersion} on the ${d.stable.endpoint} endpoint`;
  if (current === null || doc === null) {
    return { kind: 'left', text: 'the flag has no readable version, so it was left as it is' };
  }
  if (doc.stable.modelVersion !== move.modelVersion) {
    return { kind: 'left', text: `the flag names ${where(doc)} (another writer's), so it was left as it is` };
  }
  if (doc.stable.endpoint === move.to) {
    if (await isVersionDeployed(appconfig, ids, current.versionNumber)) {
      return { kind: 'already', text: `the flag already sends users to ${where(doc)}` };
    }
    const deployed = await deployStoredVersion(
      appconfig,
      ids,
      current.versionNumber,
      `canary ${move.executionId}: ${move.modelVersion} on the ${move.to} endpoint, stored by an earlier attempt`,
    );
    return {
      kind: 'moved',
      text: `the flag sends users to ${where(doc)} (version ${deployed.versionNumber})`,
    };
  }
  const next: FlagDocument = {
    ...doc,
    stable: { modelVersion: move.modelVersion, endpoint: move.to },
    updatedBy: `canary ${move.executionId}`,
    updatedAt: move.now.toISOString(),
  };
  const deployed = await deployFlag(
    appconfig,
    ids,
    next,
    `canary ${move.executionId}: ${move.modelVersion} on the ${move.to} endpoint while the live endpoint ` +
      (move.to === 'standby' ? 'reverts from the candidate' : 'serves it again'),
    { latestVersionNumber: current.versionNumber },
  );
  return {
    kind: 'moved',
    text: `the flag sends users to ${where(next)} (version ${deployed.versionNumber}, deployment ${deployed.deploymentNumber})`,
  };
}
