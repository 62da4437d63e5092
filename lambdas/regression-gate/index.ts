/**
 * Regression gate and cost (CodePipeline Lambda invoke action). Compares the candidate's
 * `eval_report.json` (the evaluation stage's output artifact) with the promoted model's baseline under
 * the configured thresholds, estimates the serving cost, keeps a copy of the report and the decision in
 * the artifacts bucket, and fails the run on regression. No baseline means a first release, which passes
 * with an explicit note; a baseline that exists but cannot be read fails.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { artifactKeys } from '../core/contracts/release-settings';
import { estimateCost, formatMoney, servingDeployment, type CostEstimate } from '../core/monitoring/cost';
import { EvalReportError, parseEvalReport, type EvalReport } from '../core/gates/eval-report';
import { PredictionsError } from '../core/gates/predictions';
import { checkRegression } from '../core/gates/regression-gate';
import { artifactClient, downloadArtifact, findArtifact, unzipFiles } from '../shared/artifacts';
import { parseJobEvent, runParamsSchema, type ArtifactLocation } from '../shared/codepipeline-job';
import { runJob, type JobOutcome } from '../shared/job-result';
import { gateDeps, type GateDeps } from '../shared/gate-deps';
import { logger } from '../shared/logger';
import { putRunRecord } from '../shared/run-records';
import { loadReleaseSettings, requireEnv } from '../shared/settings';
import {
  baselinePredictions,
  candidatePredictions,
  MAX_PREDICTIONS_FILE_BYTES,
  namedPredictionsFiles,
  PredictionsBudget,
  PredictionsInputError,
} from './predictions';
import type { RegressionDecision } from './record';

/** The file the evaluation build publishes at the root of its output artifact. */
export const EVAL_REPORT_FILE = 'eval_report.json';

/** Largest evaluation artifact read: the report and its predictions files, compressed. */
export const MAX_EVAL_ARTIFACT_BYTES = 128 * 2 ** 20;

/** Everything external the handler touches, injectable in tests. */
export type Deps = GateDeps;

/** The handler, over the given clients and clock. */
export function createHandler(deps: Deps) {
  return async (event: unknown, context?: Context): Promise<JobOutcome> => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    return runJob(deps.codepipeline, event, async () => {
      const job = parseJobEvent(event, runParamsSchema);
      const { executionId } = job.params;
      logger.appendKeys({ executionId, jobId: job.id });
      const settings = await loadReleaseSettings(deps.ssm);
      const bucket = requireEnv('ARTIFACTS_BUCKET');
      const { model } = settings;

      const input = findArtifact(job.inputArtifacts, undefined);
      const zip = await downloadArtifact(artifactClient(job.artifactCredentials, deps.s3), input, {
        maxZipBytes: MAX_EVAL_ARTIFACT_BYTES,
      });
      const limits = { maxFileBytes: MAX_PREDICTIONS_FILE_BYTES };
      const reportBytes = unzipFiles(zip, input, [EVAL_REPORT_FILE], limits).get(EVAL_REPORT_FILE);
      if (reportBytes === undefined) {
        return failed(
          `${EVAL_REPORT_FILE} is missing from the root of input artifact ${input.name} (s3://${input.bucket}/${input.key}); ` +
            `the evaluation build must write it there and list it in the buildspec's artifacts`,
        );
      }
      let candidate: EvalReport;
      try {
        candidate = parseEvalReport(
          Buffer.from(reportBytes).toString('utf8'),
          `${EVAL_REPORT_FILE} (artifact ${input.name})`,
        );
      } catch (error) {
        if (error instanceof EvalReportError) return failed(error.message);
        throw error;
      }
      if (candidate.model !== model) {
        return failed(
          `${EVAL_REPORT_FILE} is for model "${candidate.model}" but this pipeline releases "${model}"; ` +
            'the evaluate command must write the model name of config/models/<model>.yaml',
        );
      }

      const baselineKey = artifactKeys.baseline(model);
      const baseline = await readBaseline(deps.s3, bucket, baselineKey);
      // Per-example results of both sides make the accuracy comparison paired (docs/eval-report.md).
      const budget = new PredictionsBudget();
      let examples: Awaited<ReturnType<typeof readExamples>>;
      try {
        examples = await readExamples(
          deps,
          { zip, input, limits, candidate, baseline, budget, bucket, baselineKey },
          settings.dataValidation.allowedLabels,
        );
      } catch (error) {
        if (error instanceof PredictionsInputError || error instanceof PredictionsError) {
          return failed(error.message);
        }
        throw error;
      }
      const regression = checkRegression(candidate, baseline, settings.thresholds, {
        requiredEvalSets: settings.evalSets.map((set) => set.name),
        examples: { candidate: examples.candidate, baseline: examples.baseline },
        onInconclusive: settings.thresholds.onInconclusive,
        assumedDiscordance: settings.thresholds.assumedDiscordance,
      });
      const cost = estimateCost(servingDeployment(settings), settings.pricing, settings.cost.monthlyRequests);

      await putRunRecord(
        deps.s3,
        bucket,
        artifactKeys.evalReport(model, executionId),
        reportBytes,
        'candidate report',
      );
      // Beside the report copy, at the paths it names: promotion keeps them with the baseline.
      for (const [file, bytes] of examples.files) {
        await putRunRecord(
          deps.s3,
          bucket,
          artifactKeys.runFile(model, executionId, file),
          bytes,
          'candidate predictions file',
        );
      }
      const decision: RegressionDecision = {
        model,
        executionId,
        pipeline: job.params.pipeline,
        commitId: job.params.commitId,
        decidedAt: deps.now().toISOString(),
        thresholds: settings.thresholds,
        regression,
        cost,
        verdict: regression.verdict,
      };
      const decisionKey = artifactKeys.decision(model, executionId);
      await putRunRecord(
        deps.s3,
        bucket,
        decisionKey,
        `${JSON.stringify(decision, null, 2)}\n`,
        'decision record',
      );
      logger.info('regression decision', {
        verdict: regression.verdict,
        firstRelease: regression.firstRelease,
      });

      const where = `full decision: s3://${bucket}/${decisionKey}`;
      if (regression.verdict === 'fail') return failed(`${regression.summary}\n${where}`);
      return {
        status: 'succeeded',
        summary: [regression.summary, ...regression.notes, describeCost(cost), where].join('\n'),
      };
    });
  };
}

function failed(message: string): JobOutcome {
  return { status: 'failed', message };
}

/** `estimated serving cost $8,410.00/month ($3.36 per 1k requests at 2,500,000 requests/month; prices as of 2026-11-01)` */
function describeCost(cost: CostEstimate): string {
  const money = (amount: number) => formatMoney(amount, cost.currency);
  return (
    `estimated serving cost ${money(cost.monthly)}/month (${money(cost.per1kRequests)} per 1k requests at ` +
    `${cost.monthlyRequests.toLocaleString('en-US')} requests/month; prices as of ${cost.pricingAsOf})`
  );
}

/**
 * The promoted model's report, or undefined when none was ever promoted (NoSuchKey). Any other error
 * fails the gate: an unreadable baseline must not turn into a first release that compares nothing.
 */
async function readBaseline(s3: S3Client, bucket: string, key: string): Promise<EvalReport | undefined> {
  const where = `s3://${bucket}/${key}`;
  let text: string;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!res.Body) throw new Error('the response has no body');
    text = await res.Body.transformToString('utf8');
  } catch (error) {
    if ((error as { name?: unknown }).name === 'NoSuchKey') {
      logger.info('no baseline: first release', { baseline: where });
      return undefined;
    }
    throw new Error(
      `cannot read the baseline ${where}: ${(error as Error).name}: ${(error as Error).message}; ` +
        "an unreadable baseline is not treated as a first release: check the bucket and the function's " +
        'permissions (s3:GetObject on the object, kms:Decrypt on the bucket key, and s3:ListBucket, without ' +
        'which S3 answers AccessDenied for a baseline that does not exist yet), then retry the stage',
      { cause: error },
    );
  }
  try {
    return parseEvalReport(text, `the baseline ${where}`);
  } catch (error) {
    if (!(error instanceof EvalReportError)) throw error;
    throw new Error(
      `${error.message}\nThe promoted baseline is damaged: restore the previous version of the object ` +
        '(the bucket is versioned) or promote a valid report',
      { cause: error },
    );
  }
}

/**
 * The candidate's predictions files (from the artifact, labels checked against the config) and the
 * baseline's (kept with it by promotion), each as the report names it.
 */
async function readExamples(
  deps: Deps,
  from: {
    readonly zip: Uint8Array;
    readonly input: ArtifactLocation;
    readonly limits: { readonly maxFileBytes: number };
    readonly candidate: EvalReport;
    readonly baseline: EvalReport | undefined;
    readonly budget: PredictionsBudget;
    readonly bucket: string;
    readonly baselineKey: string;
  },
  allowedLabels?: readonly string[],
) {
  const named = namedPredictionsFiles(from.candidate).map(([, file]) => file);
  const unzipped = named.length > 0 ? unzipFiles(from.zip, from.input, named, from.limits) : new Map();
  const candidate = candidatePredictions(
    from.candidate,
    (file) => unzipped.get(file),
    { report: `${EVAL_REPORT_FILE} (artifact ${from.input.name})`, artifact: from.input.name },
    allowedLabels,
    from.budget,
  );
  const baseline =
    from.baseline === undefined
      ? undefined
      : await baselinePredictions(deps.s3, from.bucket, from.baselineKey, from.baseline, from.budget);
  return { candidate: candidate.sources, files: candidate.files, baseline };
}

/** Clients created once per container. */
export const defaultDeps = gateDeps;

export const handler = createHandler(defaultDeps());
