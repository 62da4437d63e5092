/**
 * The writes that make a promotion: the release record, the serving state and the baseline, in
 * that order. Each step compares what is stored with what it would write and writes only when they
 * differ, so a retried stage skips what an earlier attempt finished and writes the rest with the
 * same content; never a second version of the same thing.
 */
import { DescribeModelCommand, ListTagsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ReleaseRecord } from '../core/serving/promotion';
import {
  SERVING_RECORD_SCHEMA_VERSION,
  type CanaryRecord,
  type ServingState,
} from '../core/serving/serving-records';
import { putRunRecord } from '../shared/run-records';
import { StageFailure } from './failure';

/** One write of the promotion. */
export interface CommitStep {
  /** What it writes, for messages: `release record`. */
  readonly what: string;
  readonly bucket: string;
  readonly key: string;
  readonly body: string;
  /** What the object holds now; undefined when it does not exist. */
  readonly stored: string | undefined;
}

export type StepOutcome = 'written' | 'already done';

/**
 * Runs the steps in order, each only if its object does not already hold its body. On the first
 * failure, throws StageFailure naming what is done, what is not, and `situation` (what serves now).
 */
export async function runCommitSteps(
  s3: S3Client,
  steps: readonly CommitStep[],
  situation: string,
): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (const [i, step] of steps.entries()) {
    if (step.stored === step.body) {
      outcomes.push('already done');
      continue;
    }
    try {
      await putRunRecord(s3, step.bucket, step.key, step.body, step.what);
    } catch (error) {
      const where = (s: CommitStep) => `the ${s.what} (s3://${s.bucket}/${s.key})`;
      const done = steps.slice(0, i).map(where);
      const notDone = steps.slice(i).map(where);
      throw new StageFailure(
        `Promotion incomplete: ${(error as Error).message}. Done: ${done.length > 0 ? done.join(', ') : 'nothing'}; ` +
          `not done: ${notDone.join(', ')}. ${situation} Retrying the stage completes the promotion: it keeps what ` +
          'is done and writes the rest with the same content.',
        { cause: error },
      );
    }
    outcomes.push('written');
  }
  return outcomes;
}

/** JSON as every run record is stored: 2-space indent, trailing newline. */
export function recordText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The version and release of the model that goes to the standby endpoint. */
export interface StandbyModel {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly executionId: string;
}

/**
 * Which version and release the previous live model is: from the serving state when it describes
 * the previous live config (the usual case), else from the model's tags, which `createModelSpec`
 * sets (a serving state that is missing or out of date, e.g. lost or written by hand).
 */
export async function identifyStandbyModel(
  sagemaker: SageMakerClient,
  stored: ServingState | undefined,
  previousConfigName: string,
  modelName: string,
): Promise<StandbyModel> {
  if (stored?.live.configName === previousConfigName && stored.live.modelName === modelName) {
    return { modelName, modelVersion: stored.live.modelVersion, executionId: stored.live.executionId };
  }
  const described = await sagemaker.send(new DescribeModelCommand({ ModelName: modelName }));
  const tags = (await sagemaker.send(new ListTagsCommand({ ResourceArn: described.ModelArn }))).Tags ?? [];
  const tag = (key: string) => tags.find((t) => t.Key === key)?.Value?.trim() || undefined;
  const modelVersion = tag('ModelVersion');
  const executionId = tag('PipelineExecutionId');
  if (modelVersion === undefined || executionId === undefined) {
    throw new StageFailure(
      `cannot tell which version the previous model "${modelName}" (config "${previousConfigName}") is: the ` +
        'serving state does not describe that config and the model has no ModelVersion and PipelineExecutionId ' +
        'tags. Nothing promoted: tag the model (aws sagemaker add-tags) and retry the stage.',
    );
  }
  return { modelName, modelVersion, executionId };
}

/** The serving state after this promotion: the candidate live, the previous live model on standby. */
export function promotedServingState(input: {
  readonly record: ReleaseRecord;
  readonly canary: CanaryRecord;
  readonly executionId: string;
  readonly liveEndpoint: string;
  readonly standby: {
    readonly endpointName: string;
    readonly configName: string;
    readonly model: StandbyModel;
  } | null;
}): ServingState {
  const { record, canary, standby } = input;
  return {
    schemaVersion: SERVING_RECORD_SCHEMA_VERSION,
    model: record.model,
    live: {
      endpointName: input.liveEndpoint,
      configName: canary.candidateConfigName,
      modelName: canary.candidateModelName,
      modelVersion: record.modelVersion,
      executionId: input.executionId,
    },
    standby:
      standby === null || canary.previousConfigName === null
        ? null
        : {
            endpointName: standby.endpointName,
            configName: standby.configName,
            modelName: standby.model.modelName,
            modelVersion: standby.model.modelVersion,
            executionId: standby.model.executionId,
            liveConfigName: canary.previousConfigName,
          },
    updatedAt: record.promotedAt,
    updatedBy: record.promotedBy,
  };
}
