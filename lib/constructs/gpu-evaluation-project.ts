import { Duration, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { artifactKeys } from '../../lambdas/core/contracts/release-settings';
import { PREDICTIONS_FOLDER } from '../../lambdas/core/gates/eval-report';
import { MODEL_CLAIM_FILE, stagedArchiveKey } from '../../lambdas/core/gates/model-publication';
import type { ModelConfig } from '../../lambdas/core/contracts/config-schema';
import type { SharedResources } from '../stacks/shared-stack';
import { grantDvcRead, grantMissingKeyAsNotFound } from './grants';

export interface GpuEvaluationProjectProps {
  readonly projectName: string;
  readonly model: ModelConfig;
  /**
   * Key (encrypts the build's artifacts), DVC remote (the build reads the model's prefix only) and
   * artifacts bucket (it reads the one baseline object).
   */
  readonly shared: SharedResources;
  /**
   * The release's build stages the archive it evaluated in this bucket (the release pipeline's own
   * artifact store, which no role running PR code can write) and claims its SHA-256 in its output
   * artifact; the PublishModel step publishes it. A PR build gets none and stages nothing.
   * @default - no staging: the build evaluates and reports only
   */
  readonly stagingBucket?: s3.IBucket;
}

/**
 * The Deep Learning Container image, by digest when the config gives one (a tag can be moved to
 * another image; a digest cannot). LinuxGpuBuildImage names images by tag only, so the digest
 * variant is the same image object (its pull grant and checks) with the reference swapped.
 */
export function evaluationImage(image: ModelConfig['evaluation']['image']): codebuild.IBuildImage {
  const byTag = codebuild.LinuxGpuBuildImage.awsDeepLearningContainersImage(
    image.repository,
    image.tag,
    image.account,
  );
  if (image.digest === undefined) return byTag;
  const tagSuffix = `:${image.tag}`;
  const imageId = `${byTag.imageId.slice(0, -tagSuffix.length)}@${image.digest}`;
  return Object.assign(Object.create(byTag) as codebuild.IBuildImage, { imageId });
}

/** Shell-quotes one value for the buildspec. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The build step that puts the eval sets in the workspace: it fetches, with the AWS CLI, exactly
 * the object versions the DataValidation gate verified against their DVC pins
 * (`artifactKeys.evalSetFiles`, lambdas/core/data/eval-set-files.ts) and checks each file's SHA-256 with
 * `sha256sum`. No DVC, nothing from PyPI: the build runs the team's code in a role that stages the
 * model archive, so it installs no tool the platform cannot pin. Fetching by version id needs
 * s3:GetObjectVersion: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
 *
 * Reads MODEL, ARTIFACTS_BUCKET, DVC_REMOTE_BUCKET and PIPELINE_EXECUTION_ID. Exported for the test
 * that runs it in bash against moto.
 */
export function fetchEvalSetsCommand(): string {
  const listKey = q(artifactKeys.evalSetFiles('MODEL', 'EXECUTION'));
  return [
    `list=${listKey}; list="\${list/MODEL/$MODEL}"; list="\${list/EXECUTION/$PIPELINE_EXECUTION_ID}"`,
    'aws s3 cp "s3://$ARTIFACTS_BUCKET/$list" eval-set-files.tsv --only-show-errors || { echo "Cannot read the eval-set file list s3://$ARTIFACTS_BUCKET/$list that the DataValidation stage writes when it passes: retry the pipeline from DataValidation."; exit 1; }',
    'n=0; total=0',
    "while IFS=$'\\t' read -r sha bytes version key path <&3; do",
    '  case "$sha" in "#"*|"") continue ;; esac',
    '  case "/$path/" in */../*|*/./*|//*) echo "Refusing eval-set path $path: it must stay inside the repository."; exit 1 ;; esac',
    '  mkdir -p "$(dirname "$path")"',
    '  if [ "$version" = "-" ]; then set -- ; else set -- --version-id "$version"; fi',
    '  aws s3api get-object --bucket "$DVC_REMOTE_BUCKET" --key "$key" "$@" "$path" >/dev/null || { echo "Cannot fetch s3://$DVC_REMOTE_BUCKET/$key (version $version) for $path."; exit 1; }',
    '  echo "$sha  $path" | sha256sum --check --quiet --strict - || { echo "$path is not the data DataValidation verified (sha256 $sha): retry the pipeline from DataValidation."; exit 1; }',
    '  n=$((n + 1)); total=$((total + bytes))',
    'done 3< eval-set-files.tsv',
    '[ "$n" -gt 0 ] || { echo "The eval-set file list names no file: retry the pipeline from DataValidation."; exit 1; }',
    'echo "Fetched $n eval-set file(s), $total bytes, each the version DataValidation verified (sha256 checked)."',
  ].join('\n');
}

/**
 * Evaluates the candidate on a GPU: fetches the eval sets DataValidation verified against their
 * pins (by object version and SHA-256), runs the repository's evaluate command and publishes
 * eval_report.json.
 */
export class GpuEvaluationProject extends Construct {
  readonly project: codebuild.PipelineProject;

  constructor(scope: Construct, id: string, props: GpuEvaluationProjectProps) {
    super(scope, id);
    const { model } = props;
    const { image, computeType, timeoutMinutes, command } = model.evaluation;
    const baselineKey = artifactKeys.baseline(model.name);
    const publish = props.stagingBucket !== undefined;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/codebuild/${props.projectName}`,
      retention: logs.RetentionDays.THREE_MONTHS,
    });

    this.project = new codebuild.PipelineProject(this, 'Project', {
      projectName: props.projectName,
      description: `${model.name}: evaluate the candidate on a GPU against the pinned eval sets`,
      environment: {
        buildImage: evaluationImage(image),
        computeType: codebuild.ComputeType[computeType.replace('BUILD_GENERAL1_', '') as 'SMALL' | 'LARGE'],
      },
      encryptionKey: props.shared.key,
      timeout: Duration.minutes(timeoutMinutes),
      logging: { cloudWatch: { logGroup } },
      environmentVariables: {
        MODEL: { value: model.name },
        DVC_REMOTE_BUCKET: { value: props.shared.dvcRemoteBucket.bucketName },
        ARTIFACTS_BUCKET: { value: props.shared.artifactsBucket.bucketName },
        BASELINE_KEY: { value: baselineKey },
        MODEL_ARTIFACT: { value: model.evaluation.modelArtifact },
        ...(props.stagingBucket ? { STAGING_BUCKET: { value: props.stagingBucket.bucketName } } : {}),
      },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          pre_build: {
            commands: [
              // The eval sets must be exactly what the pins say, or the comparison means nothing.
              fetchEvalSetsCommand(),
              [
                'if aws s3api head-object --bucket "$ARTIFACTS_BUCKET" --key "$BASELINE_KEY" >/dev/null 2>head.err; then',
                '  aws s3 cp "s3://$ARTIFACTS_BUCKET/$BASELINE_KEY" baseline_metrics.json; export BASELINE_METRICS="$PWD/baseline_metrics.json";',
                'elif grep -qE "Not Found|404" head.err; then echo "No baseline yet: first release of $MODEL."; export BASELINE_METRICS="";',
                'else cat head.err; echo "Cannot read the baseline s3://$ARTIFACTS_BUCKET/$BASELINE_KEY."; exit 1; fi',
              ].join('\n'),
            ],
          },
          build: {
            commands: [
              'export EVAL_SETS_DIR="$CODEBUILD_SRC_DIR" EVAL_REPORT="$PWD/eval_report.json"',
              command,
              'test -s eval_report.json || { echo "The evaluate command wrote no eval_report.json (format: docs/eval-report.md)."; exit 1; }',
              ...(publish
                ? [
                    // A release ships the archive that was evaluated, byte for byte. This build runs
                    // the team's code, so it only stages the archive and claims its hash; the
                    // PublishModel step checks the claim and publishes (docs/security-production-paths.md).
                    [
                      'test -s "$MODEL_ARTIFACT" || { echo "No model archive at $MODEL_ARTIFACT after the evaluate command: build it there (SageMaker model.tar.gz layout) or set evaluation.modelArtifact."; exit 1; }',
                      `staged=${q(stagedArchiveKey('EXECUTION'))}; staged="\${staged/EXECUTION/$PIPELINE_EXECUTION_ID}"`,
                      'sha=$(sha256sum "$MODEL_ARTIFACT" | cut -d" " -f1); bytes=$(stat -c %s "$MODEL_ARTIFACT")',
                      'aws s3 cp "$MODEL_ARTIFACT" "s3://$STAGING_BUCKET/$staged" --only-show-errors',
                      `printf '{"sha256":"%s","bytes":%s,"commitId":"%s"}\\n' "$sha" "$bytes" "$COMMIT_ID" > ${MODEL_CLAIM_FILE}`,
                      'echo "Staged $MODEL_ARTIFACT ($bytes bytes, sha256 $sha) for the PublishModel step."',
                    ].join('\n'),
                  ]
                : []),
            ],
          },
        },
        // predictions/: the per-example results the report names (docs/eval-report.md), when it has any.
        // A pattern that matches nothing is skipped; only a build whose patterns all match nothing fails
        // (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html, artifacts/files),
        // and eval_report.json is checked above.
        artifacts: {
          files: ['eval_report.json', `${PREDICTIONS_FOLDER}/**/*`, ...(publish ? [MODEL_CLAIM_FILE] : [])],
        },
      }),
    });

    const role = this.project.role as iam.Role;
    grantDvcRead(role, props.shared, model.name);
    // The eval sets by the version DataValidation read (GetObject with a version id).
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObjectVersion'],
        resources: [props.shared.dvcRemoteBucket.arnForObjects(`${model.name}/*`)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          props.shared.artifactsBucket.arnForObjects(baselineKey),
          props.shared.artifactsBucket.arnForObjects(artifactKeys.evalSetFiles(model.name, '*')),
        ],
      }),
    );
    grantMissingKeyAsNotFound(role, props.shared.artifactsBucket);
    // Reading the baseline and the DVC remote needs the key; the project's own artifacts are
    // granted by the pipeline. Nothing in the artifacts bucket is writable from here.
    role.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.shared.key.keyArn] }),
    );
    Validations.of(this.project).acknowledge({
      id: 'AwsSolutions-CB5',
      reason:
        "Model evaluation needs CUDA and a deep-learning stack: the AWS Deep Learning Container image, which CodeBuild's curated images do not provide.",
    });
  }
}
