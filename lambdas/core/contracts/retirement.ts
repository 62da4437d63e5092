/**
 * What a retired model's stack shows in its pipelines (lib/stacks/retirement.ts builds it), kept
 * here so that the rehearsal emulator can say the same without loading aws-cdk-lib's services.
 */

/** The stage after Source in both pipelines: nothing is built, evaluated or released past it. */
export const FIRST_STAGE_AFTER_SOURCE = 'CodeQuality';

/**
 * Shown in the pipeline console on the disabled transition. CloudFormation allows only letters,
 * digits, spaces and !@().*?- here:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-codepipeline-pipeline-stagetransition.html
 */
export const RETIRED_TRANSITION_REASON =
  'Model retired (serving.retired is true in its config). Remove the key and deploy to release it again.';
