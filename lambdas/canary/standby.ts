/**
 * The standby endpoint around a canary (issue 11: close the canary-to-promotion window).
 *
 * Before the canary shifts the live endpoint to the candidate N, the standby is refreshed with the
 * model that serves now (N-1): the moment the canary passes, a rollback has N-1 warm to send
 * traffic to, and the canary stage itself can record N live with N-1 on standby. A refresh is an
 * `UpdateEndpoint` of the standby (or its `CreateEndpoint` the first time): SageMaker "deploys the
 * EndpointConfig specified in the request to a new fleet of instances ... and then deletes the old
 * instances ... (there is no availability loss)", status `Updating` until `InService`
 * (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html), so the stage
 * waits with its continuation token before it touches the live endpoint.
 *
 * When the canary then fails, the release before (N-2) that the serving state still names on the
 * standby goes back there, so that a rollback of N-1 finds it warm again.
 */
import { UpdateEndpointCommand } from '@aws-sdk/client-sagemaker';
import {
  standbyConfigFor,
  standbyConfigSpec,
  LIVE_VARIANT,
  STANDBY_VARIANT,
} from '../core/serving/endpoint-spec';
import type { ServingState } from '../core/serving/serving-records';
import { isTransientError } from '../core/serving/transient-error';
import { advanceStandby, formatDuration, previousLiveModel } from '../promotion/standby';
import {
  describeEndpoint,
  describeEndpointConfig,
  ensureEndpointConfig,
  isNotFound,
} from '../shared/serving';
import type { ServingContext, ServingSettings, ReleaseNames } from '../core/serving/endpoint-spec';
import type { ServingDeps } from '../shared/serving';

/** What the stage does about the standby before the canary, after one look. */
export type StandbyBeforeCanary =
  | { readonly kind: 'ready'; readonly note: string | null }
  | { readonly kind: 'wait'; readonly summary: string }
  | { readonly kind: 'fail'; readonly message: string };

export interface StandbyInput {
  readonly deps: ServingDeps;
  readonly ctx: ServingContext;
  readonly serving: ServingSettings;
  readonly names: ReleaseNames;
  /** SERVING_NAME_PREFIX and the run's execution id: the names `names` was made from. */
  readonly namePrefix: string;
  readonly executionId: string;
  readonly model: string;
  readonly liveEndpoint: string;
  readonly standbyEndpoint: string;
  /** The config that serves on the live endpoint now: its `live` model goes to the standby. */
  readonly liveConfig: string;
  /** Seconds since this stage started the refresh (a continuation token); undefined on a first look. */
  readonly waitedSeconds: number | undefined;
}

/**
 * Makes the standby hold the model that serves now, warm, before the canary. Ready when the standby
 * is InService on this run's standby config, or on any config whose variant is that model (after
 * a rollback, the standby already holds what went back live). A transient failure is a wait: the
 * next poll tries again.
 */
export async function standbyBeforeCanary(input: StandbyInput): Promise<StandbyBeforeCanary> {
  const { deps, standbyEndpoint } = input;
  const unchanged = `nothing was changed on the live endpoint "${input.liveEndpoint}", which still serves config "${input.liveConfig}"`;
  try {
    let liveModel: string;
    try {
      liveModel = await previousLiveModel(deps.sagemaker, input.liveConfig);
    } catch (error) {
      if (isTransientError(error)) throw error;
      return {
        kind: 'fail',
        // Promotion's wording of the same check; here nothing was changed on the live endpoint yet.
        message: `Canary not started: ${(error as Error).message.replace('Nothing promoted:', `${cap(unchanged)}:`)}`,
      };
    }
    const seen = await describeEndpoint(deps.sagemaker, standbyEndpoint);
    const configName = await standbyConfigName(input, liveModel);
    if (
      seen?.EndpointStatus === 'InService' &&
      seen.EndpointConfigName !== undefined &&
      seen.EndpointConfigName !== configName &&
      (await standbyModelOf(input, seen.EndpointConfigName)) === liveModel
    ) {
      return {
        kind: 'ready',
        note: `The standby endpoint "${standbyEndpoint}" already holds the model that serves now ("${liveModel}", config "${seen.EndpointConfigName}").`,
      };
    }
    await ensureEndpointConfig(
      deps.sagemaker,
      standbyConfigSpec(input.ctx, input.serving, {
        configName,
        modelName: liveModel,
        endpointName: standbyEndpoint,
      }),
    );
    const step = await advanceStandby(
      deps.sagemaker,
      {
        model: input.model,
        standbyEndpoint,
        standbyConfigName: configName,
        liveEndpoint: input.liveEndpoint,
        unchanged,
      },
      input.waitedSeconds,
    );
    switch (step.kind) {
      case 'ready':
        return {
          kind: 'ready',
          note:
            `The standby endpoint "${standbyEndpoint}" holds the model that served before the canary ("${liveModel}", ` +
            `config "${configName}"), warm for a rollback.`,
        };
      case 'fail':
        return { kind: 'fail', message: `Canary not started: ${step.message}` };
      case 'create':
      case 'update':
      case 'wait': {
        const doing =
          step.kind === 'create'
            ? `creating the standby endpoint "${standbyEndpoint}" with config "${configName}"`
            : step.kind === 'update'
              ? `updating the standby endpoint "${standbyEndpoint}" from config "${step.from}" to "${configName}"`
              : step.reason;
        return {
          kind: 'wait',
          summary:
            `Before the canary, the model that serves now ("${liveModel}") goes warm onto the standby, so that a ` +
            `rollback from the candidate has it at once: ${doing}. The live endpoint is not touched until then.`,
        };
      }
    }
  } catch (error) {
    if (!isTransientError(error)) throw error;
    const e = error as Error;
    const waited = input.waitedSeconds ?? 0;
    return {
      kind: 'wait',
      summary:
        `Standby refresh before the canary paused by a transient failure (${e.name}: ${e.message}); the stage tries ` +
        `again at its next poll (waited ${formatDuration(waited)}). ${cap(unchanged)}.`,
    };
  }
}

/**
 * The config that puts `liveModel` on the standby for this run: the run's standby config, unless an
 * earlier attempt of the run made it with another model (a rollback changed what serves since);
 * then one of its own (standbyConfigFor), so that a retried canary can finish.
 */
async function standbyConfigName(input: StandbyInput, liveModel: string): Promise<string> {
  let holds: string | undefined;
  try {
    holds = await standbyModelOf(input, input.names.standbyConfig);
  } catch (error) {
    if (isNotFound(error)) return input.names.standbyConfig;
    throw error;
  }
  if (holds === undefined || holds === liveModel) return input.names.standbyConfig;
  return standbyConfigFor(input.namePrefix, input.executionId, liveModel);
}

/** The model of a standby config's variant (a live config's `live` variant counts too). */
async function standbyModelOf(input: StandbyInput, configName: string): Promise<string | undefined> {
  const variants = (await describeEndpointConfig(input.deps.sagemaker, configName)).ProductionVariants ?? [];
  return variants.find((v) => v.VariantName === STANDBY_VARIANT || v.VariantName === LIVE_VARIANT)?.ModelName;
}

/**
 * After a canary that did not pass: the serving state still names N-1 live and N-2 on standby, but
 * the standby was refreshed with N-1 for the canary. N-2's standby config goes back, so that a
 * rollback of N-1 finds N-2 warm. Returns the sentence for the failure message ('' when nothing
 * had to be done). Never throws.
 */
export async function restoreStandby(
  deps: ServingDeps,
  standbyEndpoint: string,
  state: ServingState | undefined,
): Promise<string> {
  const standby = state?.standby;
  if (!standby) return '';
  try {
    const seen = await describeEndpoint(deps.sagemaker, standbyEndpoint);
    if (seen === undefined) return '';
    if (seen.EndpointConfigName === standby.configName) return '';
    await deps.sagemaker.send(
      new UpdateEndpointCommand({ EndpointName: standbyEndpoint, EndpointConfigName: standby.configName }),
    );
    return (
      ` The standby endpoint "${standbyEndpoint}" goes back to config "${standby.configName}" (${standby.modelVersion}, ` +
      'the rollback target the serving state names; UpdateEndpoint accepted, it takes several minutes).'
    );
  } catch (error) {
    const e = error as Error;
    return (
      ` The standby endpoint "${standbyEndpoint}" could not be put back on config "${standby.configName}" ` +
      `(${standby.modelVersion}, the rollback target the serving state names): ${e.name}: ${e.message}. Until it is, a ` +
      `rollback has no warm standby: aws sagemaker update-endpoint --endpoint-name ${standbyEndpoint} ` +
      `--endpoint-config-name ${standby.configName}.`
    );
  }
}

function cap(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/**
 * Whether the standby endpoint is InService on a config whose variant is the model of `liveConfig`'s
 * live variant (what the stage put there before the canary): then it can take the users of the
 * version before while the live endpoint reverts. False when it cannot be told.
 */
export async function standbyHoldsModelOf(
  deps: ServingDeps,
  standbyEndpoint: string,
  liveConfig: string,
): Promise<boolean> {
  try {
    const seen = await describeEndpoint(deps.sagemaker, standbyEndpoint);
    if (seen?.EndpointStatus !== 'InService' || seen.EndpointConfigName === undefined) return false;
    const [standbyModel, liveModel] = await Promise.all([
      configModel(deps, seen.EndpointConfigName),
      configModel(deps, liveConfig),
    ]);
    return standbyModel !== undefined && standbyModel === liveModel;
  } catch {
    return false;
  }
}

async function configModel(deps: ServingDeps, configName: string): Promise<string | undefined> {
  const variants = (await describeEndpointConfig(deps.sagemaker, configName)).ProductionVariants ?? [];
  return variants.find((v) => v.VariantName === STANDBY_VARIANT || v.VariantName === LIVE_VARIANT)?.ModelName;
}
