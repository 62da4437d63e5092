import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { artifactKeys } from '../../lambdas/core/contracts/release-settings';
import {
  resolveGitHubAuth,
  type ModelConfig,
  type PlatformSettings,
} from '../../lambdas/core/contracts/config-schema';
import { PIPELINE_ARTIFACTS_LOG_PREFIX, type SharedResources } from '../stacks/shared-stack';
import { NAG_PARTITION, reviewWildcards, WildcardReview } from '../nag/reviewed-wildcards';
import { GateFunction } from './gate-function';
import { grantDvcRead, grantMissingKeyAsNotFound } from './grants';
import { GpuEvaluationProject } from './gpu-evaluation-project';
import { publishedArchivePrefix, stagedArchiveKey } from '../../lambdas/core/gates/model-publication';
import { alarmCalibrationPrefix } from '../../lambdas/core/monitoring/alarm-calibration-cache';
import { authSecretName } from '../../lambdas/core/gates/github-auth';
import type { PublishEnv } from '../../lambdas/core/contracts/handler-env';

export interface ModelPipelineProps {
  readonly platform: PlatformSettings;
  readonly model: ModelConfig;
  readonly shared: SharedResources;
  /** The SSM parameter with the model's release settings; the gate functions read it. */
  readonly releaseSettings: ssm.IStringParameter;
}

/** Action names; the PR comment maps them back to gate names, so they are part of the contract. */
export const ACTION_NAMES = {
  source: 'Source',
  codeQuality: 'CodeQuality',
  dataValidation: 'DataValidation',
  modelEvaluation: 'ModelEvaluation',
  regressionGate: 'RegressionGate',
  prComment: 'PrComment',
  publishModel: 'PublishModel',
  shadow: 'Shadow',
  canary: 'Canary',
  promotion: 'Promotion',
} as const;

export type PipelineKind = 'pr' | 'release';

/** The CodeBuild projects of one pipeline: each pipeline has its own, so PR code never runs as the release. */
export interface PipelineProjects {
  readonly codeQuality: codebuild.PipelineProject;
  readonly evaluation: GpuEvaluationProject;
}

/** What every Lambda action of a run receives (lambdas/shared/codepipeline-job.ts runParamsSchema). */
function runUserParameters(kind: PipelineKind) {
  return {
    executionId: '#{codepipeline.PipelineExecutionId}',
    pipeline: kind,
    commitId: '#{SourceVariables.CommitId}',
  };
}

const PARTITION = NAG_PARTITION;

/**
 * The release path of one model: a PR pipeline that runs every gate and comments on the pull
 * request, and a release pipeline that runs the same gates on the main branch and then deploys
 * (the serving issue adds its stages with `addReleaseStage`). Both are CodePipeline V2.
 */
export class ModelPipeline extends Construct {
  readonly prPipeline: codepipeline.Pipeline;
  readonly releasePipeline: codepipeline.Pipeline;
  readonly dataValidation: GateFunction;
  readonly regressionGate: GateFunction;
  readonly prComment: GateFunction;
  /** Copies the evaluated archive to its content-addressed key: the only writer of served archives. */
  readonly publishModel: GateFunction;
  /**
   * Each pipeline's own artifact store. A role that runs PR code is granted the PR store only, so
   * nothing it writes is read by the release pipeline.
   */
  readonly artifactStores: Readonly<Record<PipelineKind, s3.Bucket>>;
  readonly projects: Readonly<Record<PipelineKind, PipelineProjects>>;

  constructor(scope: Construct, id: string, props: ModelPipelineProps) {
    super(scope, id);
    const { platform, model, shared } = props;
    const name = `${platform.name}-${model.name}`;
    const environment = {
      RELEASE_SETTINGS_PARAMETER: props.releaseSettings.parameterName,
      ARTIFACTS_BUCKET: shared.artifactsBucket.bucketName,
    };

    this.dataValidation = new GateFunction(this, 'DataValidation', {
      handler: 'data-validation',
      functionName: `${name}-data-validation`,
      description: `${model.name}: schema and drift of the pinned eval sets`,
      environment: {
        ...environment,
        DVC_REMOTE_BUCKET: shared.dvcRemoteBucket.bucketName,
        DVC_REMOTE_PREFIX: model.name,
      },
      timeout: Duration.minutes(15),
      // 1769 MB is one full vCPU: the scan is CPU-bound.
      memorySize: 1769,
    });
    this.regressionGate = new GateFunction(this, 'RegressionGate', {
      handler: 'regression-gate',
      functionName: `${name}-regression-gate`,
      description: `${model.name}: candidate against baseline, and cost`,
      environment,
    });
    this.prComment = new GateFunction(this, 'PrComment', {
      handler: 'pr-comment',
      functionName: `${name}-pr-comment`,
      description: `${model.name}: posts the release report to the pull request`,
      environment,
      timeout: Duration.minutes(2),
    });

    for (const gate of [this.dataValidation, this.regressionGate, this.prComment]) {
      props.releaseSettings.grantRead(gate.role);
      gate.allowReportingJobResults();
    }
    // Data validation reads the model's DVC prefix and writes its report.
    grantDvcRead(this.dataValidation.role, shared, model.name);
    // The regression gate reads the baseline and its per-example results (promotion keeps them under
    // baseline/predictions/), writes the eval report copy, its predictions files and the decision. The
    // candidate's artifact is read with the job's own artifact credentials, not this role.
    this.regressionGate.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [
          shared.artifactsBucket.arnForObjects(artifactKeys.baseline(model.name)),
          shared.artifactsBucket.arnForObjects(`${artifactKeys.baselinePredictions(model.name)}*`),
        ],
      }),
    );
    grantMissingKeyAsNotFound(this.regressionGate.role, shared.artifactsBucket);
    // Run records: the gates write them, the PR comment reads them.
    const runRecords = shared.artifactsBucket.arnForObjects(`models/${model.name}/runs/*`);
    for (const gate of [this.dataValidation, this.regressionGate]) {
      gate.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [runRecords] }));
      gate.role.addToPolicy(
        new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [shared.key.keyArn] }),
      );
    }
    this.prComment.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [runRecords, shared.artifactsBucket.arnForObjects(artifactKeys.baseline(model.name))],
      }),
    );
    // The confidence alarm's calibration is simulated once per alarm definition and traffic and kept
    // under its own prefix: the PR comment's only write.
    const alarmCalibrations = shared.artifactsBucket.arnForObjects(`${alarmCalibrationPrefix(model.name)}*`);
    this.prComment.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:PutObject'], resources: [alarmCalibrations] }),
    );
    this.prComment.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['kms:GenerateDataKey'], resources: [shared.key.keyArn] }),
    );
    grantMissingKeyAsNotFound(this.prComment.role, shared.artifactsBucket);
    for (const gate of [this.regressionGate, this.prComment]) {
      gate.role.addToPolicy(
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [shared.key.keyArn] }),
      );
    }
    this.prComment.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        // The secret's ARN ends in a random suffix AWS appends; `-??????` matches exactly that.
        resources: [
          Stack.of(this).formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${authSecretName(resolveGitHubAuth(platform.github))}-??????`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    this.artifactStores = {
      pr: this.artifactStore('PrArtifacts', props),
      release: this.artifactStore('ReleaseArtifacts', props),
    };
    this.projects = {
      pr: {
        codeQuality: this.codeQualityProject('PrCodeQuality', `${name}-pr-code-quality`, props),
        evaluation: new GpuEvaluationProject(this, 'PrEvaluation', {
          projectName: `${name}-pr-evaluation`,
          model,
          shared,
        }),
      },
      release: {
        codeQuality: this.codeQualityProject('CodeQuality', `${name}-code-quality`, props),
        evaluation: new GpuEvaluationProject(this, 'Evaluation', {
          projectName: `${name}-evaluation`,
          model,
          shared,
          stagingBucket: this.artifactStores.release,
        }),
      },
    };

    const publishEnv: PublishEnv = {
      MODEL_NAME: model.name,
      ARTIFACTS_BUCKET: shared.artifactsBucket.bucketName,
      STAGING_BUCKET: this.artifactStores.release.bucketName,
    };
    this.publishModel = new GateFunction(this, 'PublishModel', {
      handler: 'publish-model',
      functionName: `${name}-publish-model`,
      description: `${model.name}: publishes the evaluated archive to its content-addressed key`,
      environment: { ...publishEnv },
      timeout: Duration.minutes(15),
      // Hashing a multi-GB archive is network- and CPU-bound: one full vCPU.
      memorySize: 1769,
    });
    this.publishModel.allowReportingJobResults();
    const publishRole = this.publishModel.role;
    publishRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [this.artifactStores.release.arnForObjects(stagedArchiveKey('*'))],
      }),
    );
    publishRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [
          shared.artifactsBucket.arnForObjects(`${publishedArchivePrefix(model.name)}*`),
          shared.artifactsBucket.arnForObjects(artifactKeys.modelArtifact(model.name, '*')),
        ],
      }),
    );
    publishRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [shared.key.keyArn],
      }),
    );

    this.prPipeline = this.pipeline('pr', name, props);
    this.releasePipeline = this.pipeline('release', name, props);

    this.reviewWildcards(model.name);

    // CodePipeline stops at a failed gate; this rule still tells the PR author why.
    new events.Rule(this, 'PrFailed', {
      ruleName: `${name}-pr-failed`,
      description: `${model.name}: post the PR report when the PR pipeline fails`,
      eventPattern: {
        source: ['aws.codepipeline'],
        detailType: ['CodePipeline Pipeline Execution State Change'],
        detail: { pipeline: [this.prPipeline.pipelineName], state: ['FAILED'] },
      },
      targets: [new targets.LambdaFunction(this.prComment.function, { retryAttempts: 2 })],
    });
    // The release pipeline runs after the merge: the shadow stage's advisory report goes onto the
    // merged pull request as its own comment once the Shadow stage succeeds.
    new events.Rule(this, 'ReleaseShadowDone', {
      ruleName: `${name}-release-shadow-done`,
      description: `${model.name}: post the shadow report on the merged pull request`,
      eventPattern: {
        source: ['aws.codepipeline'],
        detailType: ['CodePipeline Stage Execution State Change'],
        detail: {
          pipeline: [this.releasePipeline.pipelineName],
          stage: ['Shadow'],
          state: ['SUCCEEDED'],
        },
      },
      targets: [new targets.LambdaFunction(this.prComment.function, { retryAttempts: 2 })],
    });
    this.prComment.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['codepipeline:GetPipelineExecution', 'codepipeline:ListActionExecutions'],
        // By name, not by reference: the pipeline invokes this function, so a reference would be a cycle.
        resources: [`${name}-pr`, `${name}-release`].map((pipeline) =>
          Stack.of(this).formatArn({ service: 'codepipeline', resource: pipeline }),
        ),
      }),
    );
  }

  /**
   * The wildcards each role is expected to have (cdk-nag IAM5), with the reason; anything else
   * still fails the synth. The Template tests pin the gate functions' exact statements.
   */
  private reviewWildcards(model: string): void {
    const runRecords = `models/${model}/runs/`;
    const kmsDataKey: WildcardReview = {
      finding: /^Action::kms:(GenerateDataKey|ReEncrypt)\*$/,
      reason: 'KMS data-key actions, granted by CDK on the platform key only.',
    };
    const s3ObjectGrants: WildcardReview = {
      finding: /^Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*$/,
      reason: 'CDK-generated S3 grants, scoped by their resources to the pipeline artifact bucket.',
    };
    const pipelineArtifacts: WildcardReview = {
      finding: /^Resource::<[A-Za-z0-9]+(Pr|Release)Artifacts[A-Za-z0-9]+\.Arn>\/\*$/,
      reason:
        "Objects of this pipeline's own artifact store: CodePipeline names each run's artifacts itself.",
    };
    const dvcPrefix: WildcardReview = {
      finding: new RegExp(
        `^Resource::arn:${PARTITION}:s3:::[a-z0-9-]+-dvc-remote-[0-9]+-[a-z0-9-]+/${model}/\\*$`,
      ),
      reason: `Objects under this model's prefix of the DVC remote; their keys are content hashes.`,
    };
    const runRecordPrefix: WildcardReview = {
      finding: new RegExp(
        `^Resource::arn:${PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/${runRecords}\\*$`,
      ),
      reason: `This model's run records (${runRecords}<execution id>/...); keys carry the execution id.`,
    };
    reviewWildcards(this.dataValidation.role, dvcPrefix, runRecordPrefix);
    reviewWildcards(this.regressionGate.role, runRecordPrefix, {
      finding: new RegExp(
        `^Resource::arn:${PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/models/${model}/baseline/predictions/\\*$`,
      ),
      reason:
        "The promoted baseline's per-example results; their names come from its report's predictions_file.",
    });
    reviewWildcards(this.prComment.role, runRecordPrefix, {
      finding: new RegExp(
        `^Resource::arn:${PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/${alarmCalibrationPrefix(model)}\\*$`,
      ),
      reason:
        "This model's kept confidence-alarm calibrations; each key is the SHA-256 of the alarm definition and traffic.",
    });
    for (const pipeline of [this.prPipeline, this.releasePipeline]) {
      reviewWildcards(
        pipeline,
        kmsDataKey,
        s3ObjectGrants,
        pipelineArtifacts,
        {
          finding: /^Resource::<[A-Za-z0-9]+Function[A-Za-z0-9]+\.Arn>:\*$/,
          reason: 'Invoking a gate function includes its versions and aliases (ARN suffix :*).',
        },
        {
          finding: /^Resource::\*$/,
          starActions: ['lambda:ListFunctions'],
          reason:
            'lambda:ListFunctions, which the Lambda invoke action needs, has no resource-level permissions.',
        },
      );
    }
    const projects = [this.projects.pr, this.projects.release];
    for (const project of projects.flatMap((p) => [p.codeQuality, p.evaluation.project])) {
      reviewWildcards(project, kmsDataKey, s3ObjectGrants, pipelineArtifacts, {
        finding: new RegExp(
          `^Resource::arn:${PARTITION}:(logs:[a-z0-9-]+:[0-9]+:log-group:/aws/codebuild/<[A-Za-z0-9]+>:\\*|codebuild:[a-z0-9-]+:[0-9]+:report-group/<[A-Za-z0-9]+>-\\*)$`,
        ),
        reason: "CDK-generated CodeBuild grants on the project's own log streams and report groups.",
      });
    }
    for (const { evaluation } of projects) {
      reviewWildcards(
        evaluation.project,
        dvcPrefix,
        {
          finding: new RegExp(
            `^Resource::arn:${PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/${runRecords}\\*/eval-set-files\\.tsv$`,
          ),
          reason: `Read only: each run's list of the eval-set files DataValidation verified (${runRecords}<execution id>/eval-set-files.tsv).`,
        },
        {
          finding: /^Resource::\*$/,
          starActions: ['ecr:GetAuthorizationToken'],
          reason:
            'ecr:GetAuthorizationToken (to pull the Deep Learning Container image) has no resource-level permissions.',
        },
      );
    }
    reviewWildcards(this.publishModel.role, kmsDataKey, {
      finding: new RegExp(
        `^Resource::(<[A-Za-z0-9]+ReleaseArtifacts[A-Za-z0-9]+\\.Arn>/model-staging/\\*/model\\.tar\\.gz|arn:${PARTITION}:s3:::[a-z0-9-]+-artifacts-[0-9]+-[a-z0-9-]+/models/${model}/(archives/sha256/\\*|runs/\\*/model-artifact\\.json))$`,
      ),
      reason: `The staged archive of each release run (read), this model's content-addressed archives and each run's release record (write).`,
    });
  }

  /** Appends a stage to the release pipeline, after the gates: the seam the serving stages use. */
  addReleaseStage(props: codepipeline.StageOptions): codepipeline.IStage {
    return this.releasePipeline.addStage(props);
  }

  /**
   * Appends a stage of one Lambda action to the release pipeline; the function receives the same
   * run parameters (execution id, commit) as the gates.
   */
  addReleaseLambdaStage(stageName: string, actionName: string, gate: GateFunction): codepipeline.IStage {
    return this.addReleaseStage({
      stageName,
      actions: [
        new actions.LambdaInvokeAction({
          actionName,
          lambda: gate.function,
          userParameters: runUserParameters('release'),
        }),
      ],
    });
  }

  /**
   * A pipeline's artifact store: this model's and this pipeline's alone, encrypted with the
   * platform key, versioned (the publisher copies one exact version of the staged archive).
   */
  private artifactStore(id: string, props: ModelPipelineProps): s3.Bucket {
    const { shared, platform } = props;
    const bucket = new s3.Bucket(this, id, {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: shared.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      // The shared stack's access-log bucket policy admits the platform's pipeline stores.
      serverAccessLogsBucket: shared.accessLogsBucket,
      serverAccessLogsPrefix: `${PIPELINE_ARTIFACTS_LOG_PREFIX}${Stack.of(this).stackName}-${id}/`,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-pipeline-artifacts',
          expiration: Duration.days(platform.storage.pipelineArtifacts.expireAfterDays),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Annotations.of(bucket).acknowledgeWarning(
      '@aws-cdk/aws-s3:accessLogsPolicyNotAdded',
      'The shared stack allows S3 log delivery for every pipeline artifact store (SharedStack, S3ServerAccessLogsOfPipelineArtifactStores).',
    );
    Validations.of(bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason:
        'CodePipeline working artifacts, re-created by the next run and expired after the configured days; the release records and archives that outlive a run are in the artifacts bucket.',
    });
    return bucket;
  }

  private codeQualityProject(
    id: string,
    projectName: string,
    props: ModelPipelineProps,
  ): codebuild.PipelineProject {
    const { codeQuality } = props.model;
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      logGroupName: `/aws/codebuild/${projectName}`,
      retention: logs.RetentionDays.THREE_MONTHS,
    });
    return new codebuild.PipelineProject(this, id, {
      projectName,
      description: `${props.model.name}: the repository's lint, type-check and unit tests`,
      environment: {
        buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
        computeType: codebuild.ComputeType.SMALL,
      },
      encryptionKey: props.shared.key,
      timeout: Duration.minutes(30),
      logging: { cloudWatch: { logGroup } },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        env: { shell: 'bash' },
        phases: {
          ...(codeQuality.installCommands.length > 0
            ? { install: { commands: codeQuality.installCommands } }
            : {}),
          build: { commands: codeQuality.commands },
        },
      }),
    });
  }

  private pipeline(kind: PipelineKind, name: string, props: ModelPipelineProps): codepipeline.Pipeline {
    const { model, platform } = props;
    const projects = this.projects[kind];
    const source = new codepipeline.Artifact('Source');
    const evalOutput = new codepipeline.Artifact('EvalReport');
    const sourceAction = new actions.CodeStarConnectionsSourceAction({
      actionName: ACTION_NAMES.source,
      connectionArn: platform.github.connectionArn,
      owner: model.repository.owner,
      repo: model.repository.name,
      branch: model.repository.branch,
      output: source,
      variablesNamespace: 'SourceVariables',
      // Triggers below decide when to run; the source action only fetches.
      triggerOnPush: false,
    });
    const userParameters = runUserParameters(kind);
    const lambdaAction = (actionName: string, gate: GateFunction, inputs: codepipeline.Artifact[]) =>
      new actions.LambdaInvokeAction({ actionName, lambda: gate.function, inputs, userParameters });

    const pipeline = new codepipeline.Pipeline(this, kind === 'pr' ? 'PrPipeline' : 'ReleasePipeline', {
      pipelineName: `${name}-${kind}`,
      pipelineType: codepipeline.PipelineType.V2,
      // PRs: a newer commit makes the running check moot (superseded). Releases: every merge is
      // released in order, none skipped (queued).
      executionMode:
        kind === 'pr' ? codepipeline.ExecutionMode.SUPERSEDED : codepipeline.ExecutionMode.QUEUED,
      artifactBucket: this.artifactStores[kind],
      restartExecutionOnUpdate: false,
      stages: [
        { stageName: 'Source', actions: [sourceAction] },
        {
          stageName: 'CodeQuality',
          actions: [
            new actions.CodeBuildAction({
              actionName: ACTION_NAMES.codeQuality,
              project: projects.codeQuality,
              input: source,
            }),
          ],
        },
        {
          stageName: 'DataValidation',
          actions: [lambdaAction(ACTION_NAMES.dataValidation, this.dataValidation, [source])],
        },
        {
          stageName: 'ModelEvaluation',
          actions: [
            new actions.CodeBuildAction({
              actionName: ACTION_NAMES.modelEvaluation,
              project: projects.evaluation.project,
              input: source,
              outputs: [evalOutput],
              // The run's id finds the eval-set files DataValidation verified for this run; only a
              // release stages a model (the archive it evaluated, under this id, for this commit).
              environmentVariables: {
                PIPELINE_EXECUTION_ID: { value: '#{codepipeline.PipelineExecutionId}' },
                ...(kind === 'release' ? { COMMIT_ID: { value: '#{SourceVariables.CommitId}' } } : {}),
              },
            }),
          ],
        },
        {
          stageName: 'RegressionGate',
          actions: [lambdaAction(ACTION_NAMES.regressionGate, this.regressionGate, [evalOutput])],
        },
        ...(kind === 'pr'
          ? [{ stageName: 'PrComment', actions: [lambdaAction(ACTION_NAMES.prComment, this.prComment, [])] }]
          : [
              // Only an archive that passed every gate is published, and only by the platform.
              {
                stageName: 'PublishModel',
                actions: [lambdaAction(ACTION_NAMES.publishModel, this.publishModel, [evalOutput])],
              },
            ]),
      ],
      triggers: [
        {
          providerType: codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
          gitConfiguration: {
            sourceAction,
            ...(kind === 'pr'
              ? {
                  pullRequestFilter: [
                    {
                      branchesIncludes: [model.repository.branch],
                      filePathsIncludes: model.repository.triggerPaths,
                      events: [
                        codepipeline.GitPullRequestEvent.OPEN,
                        codepipeline.GitPullRequestEvent.UPDATED,
                      ],
                    },
                  ],
                }
              : {
                  pushFilter: [
                    {
                      branchesIncludes: [model.repository.branch],
                      filePathsIncludes: model.repository.triggerPaths,
                    },
                  ],
                }),
          },
        },
      ],
    });
    return pipeline;
  }
}
