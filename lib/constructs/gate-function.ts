import * as path from 'node:path';
import { AssetHashType, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { markPipelineAction } from '../nag/nist-acknowledgements';
import { REPO_ROOT } from '../repo-root';
import { reviewWildcards } from '../nag/reviewed-wildcards';
import { HandlerBundle } from './handler-bundles';

export interface GateFunctionProps {
  /** Folder under `lambdas/` holding the handler's `index.ts`. */
  readonly handler: string;
  /** Function name an operator reads in the console, e.g. `mlops-document-classifier-data-validation`. */
  readonly functionName: string;
  readonly description: string;
  /** Environment variables besides the Powertools service name. */
  readonly environment: Record<string, string>;
  /**
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Most concurrent invocations; beyond it callers are throttled.
   * @default - no reservation (the account's unreserved pool)
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Days the function's logs are kept.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A pipeline gate: one handler from `lambdas/`, bundled by the local esbuild (all handlers in one
 * call, cached between synths: ./handler-bundles.ts), on the newest
 * Node.js runtime on arm64, with its own role that may write only its own log group. Callers
 * grant it exactly what its handler touches.
 */
export class GateFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  /** Folder under `lambdas/` of its handler. */
  readonly handler: string;
  /** The function's own log group (metric filters, dashboards). */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GateFunctionProps) {
    super(scope, id);
    this.handler = props.handler;
    const logGroup = (this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    }));
    // A role of our own instead of AWSLambdaBasicExecutionRole: that managed policy may write to
    // every log group in the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.functionName}: what the ${props.handler} gate may touch`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const runtime = lambda.Runtime.NODEJS_24_X;
    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      description: props.description,
      // The hash is the bundle's (OUTPUT): an edit that leaves the bundle unchanged deploys nothing.
      code: lambda.Code.fromAsset(path.join(REPO_ROOT, 'lambdas', props.handler), {
        assetHashType: AssetHashType.OUTPUT,
        // The image is never pulled: the local bundling always succeeds.
        bundling: { image: runtime.bundlingImage, local: new HandlerBundle(props.handler) },
      }),
      handler: 'index.handler',
      runtime,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(5),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.functionName,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });
    // NIST 800-53 findings that hold for every gate function, acknowledged on the function itself.
    Validations.of(this.function).acknowledge({
      id: 'NIST.800.53.R5-LambdaInsideVPC',
      reason:
        'The function reaches only AWS APIs and GitHub over TLS, authorized by its own IAM role; it talks to no private network resource. A VPC would add NAT or an interface endpoint per service, per model, without narrowing what the role may do.',
    });
    if (props.reservedConcurrentExecutions === undefined) {
      Validations.of(this.function).acknowledge({
        id: 'NIST.800.53.R5-LambdaConcurrency',
        reason:
          'Its callers bound its concurrency (one pipeline action per execution, one schedule, one alarm); a reservation would come out of the account’s unreserved pool, which Lambda keeps at 100 or more, and can fail the deploy in a new account: https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html',
      });
    }
  }

  /**
   * `codepipeline:PutJobSuccessResult` / `PutJobFailureResult`: the API has no resource-level
   * permissions, so the resource must be `*`.
   */
  allowReportingJobResults(): void {
    markPipelineAction(this.function);
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
        resources: ['*'],
      }),
    );
    // Reviewed for these two actions only: another grant on `*` in this role still fails the synth.
    reviewWildcards(this.role, {
      finding: /^Resource::\*$/,
      starActions: ['codepipeline:PutJobFailureResult', 'codepipeline:PutJobSuccessResult'],
      reason:
        'codepipeline:PutJobSuccessResult and PutJobFailureResult support no resource-level permissions; the job id in the call is what binds it to one job.',
    });
  }
}
