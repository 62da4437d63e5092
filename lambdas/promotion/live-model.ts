/**
 * What the rest of the platform must learn when a model is promoted: the router's flag points at
 * the new version on the live endpoint, and the confidence alarm watches the new version
 * (lambdas/shared/confidence-alarm.ts: provisional around its production-like eval mean until
 * its own live baseline exists). Both steps are idempotent: a retried promotion finds them done
 * and changes nothing.
 */
import type { AppConfigClient } from '@aws-sdk/client-appconfig';
import type { ReleaseSettings } from '../core/contracts/release-settings';
import type { EvalReport } from '../core/gates/eval-report';
import type { FlagDocument } from '../core/routing/flags';
import { confidenceAlarmThreshold } from '../core/serving/promotion';
import { promotionLiveEnvSchema, type PromotionLiveEnv } from '../core/contracts/handler-env';
import {
  deployFlag,
  deployStoredVersion,
  flagIds,
  isVersionDeployed,
  readCurrentFlag,
} from '../shared/flag-writer';
import { parseEnvironment } from '../shared/settings';

export function promotionLiveEnv(env: NodeJS.ProcessEnv = process.env): PromotionLiveEnv {
  return parseEnvironment(promotionLiveEnvSchema, env, "promotion's monitoring");
}

/** The confidence floor of the promoted model and where it came from. */
export interface ConfidenceFloor {
  readonly evalSet: string;
  readonly mean: number;
  readonly std: number;
  readonly k: number;
  readonly threshold: number;
}

/**
 * The floor from the production-like eval set (what live traffic resembles), or the first eval set
 * when none is production-like.
 */
export function confidenceFloor(report: EvalReport, settings: ReleaseSettings): ConfidenceFloor {
  const chosen =
    settings.evalSets.find((s) => s.kind === 'production-like' && report.evalSets[s.name]) ??
    settings.evalSets.find((s) => report.evalSets[s.name]);
  const metrics = chosen ? report.evalSets[chosen.name] : undefined;
  if (!chosen || !metrics) {
    throw new Error(
      `the eval report has none of the configured eval sets (${settings.evalSets.map((s) => s.name).join(', ')}), so the confidence alarm has no baseline`,
    );
  }
  const k = settings.monitoring.confidenceStdDevs;
  const { mean, std } = metrics.confidence;
  // Six decimals: confidences are probabilities, and 0.6799999999999999 helps nobody reading the alarm.
  const threshold = Math.round(confidenceAlarmThreshold(mean, std, k) * 1e6) / 1e6;
  return { evalSet: chosen.name, mean, std, k, threshold };
}

/** Points the flag at the promoted version on the live endpoint, unless it already does. */
export async function pointFlagAtRelease(
  appconfig: AppConfigClient,
  env: PromotionLiveEnv,
  release: {
    readonly model: string;
    readonly modelVersion: string;
    readonly executionId: string;
    readonly now: Date;
  },
): Promise<string> {
  const ids = flagIds(env);
  const current = await readCurrentFlag(appconfig, ids);
  const doc = current?.document ?? null;
  if (
    doc?.stable.modelVersion === release.modelVersion &&
    doc.stable.endpoint === 'live' &&
    doc.candidate === null
  ) {
    // Stored is not served: an earlier attempt may have created the version and then failed to
    // start its deployment (throttled, refused); that attempt's version is deployed now.
    if (await isVersionDeployed(appconfig, ids, current!.versionNumber)) {
      return `the flag already serves ${release.modelVersion} from the live endpoint (version ${current!.versionNumber})`;
    }
    const deployed = await deployStoredVersion(
      appconfig,
      ids,
      current!.versionNumber,
      `promotion of ${release.modelVersion} (execution ${release.executionId}), stored by an earlier attempt`,
    );
    return `the flag now serves ${release.modelVersion} from the live endpoint (version ${deployed.versionNumber}, stored by an earlier attempt, deployment ${deployed.deploymentNumber})`;
  }
  const next: FlagDocument = {
    schemaVersion: 1,
    model: release.model,
    experiment: doc?.experiment ?? env.EXPERIMENT,
    stable: { modelVersion: release.modelVersion, endpoint: 'live' },
    // A release ends any running experiment: the candidate it tested is either this model or gone.
    candidate: null,
    killSwitch: false,
    updatedBy: `promotion ${release.executionId}`,
    updatedAt: release.now.toISOString(),
  };
  const deployed = await deployFlag(
    appconfig,
    ids,
    next,
    `promotion of ${release.modelVersion} (execution ${release.executionId})`,
    { latestVersionNumber: current?.versionNumber },
  );
  return `the flag now serves ${release.modelVersion} from the live endpoint (version ${deployed.versionNumber}, deployment ${deployed.deploymentNumber})`;
}
