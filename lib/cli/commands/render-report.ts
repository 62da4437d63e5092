import type { Command } from 'commander';
import type { DriftSummary } from '../../../lambdas/core/contracts/records';
import { checkRegression } from '../../../lambdas/core/gates/regression-gate';
import { monthlyCostFromReports, renderPrComment } from '../../../lambdas/core/gates/report';
import { CONFIG_DIR_OPTION, loadModel, readInputFile, toJsonLine } from '../context';
import { CliIo, ExitCode, UsageError } from '../io';
import { readRegressionInputs, regressionOptions } from './check-regression';

interface Options {
  readonly report: string;
  readonly baseline?: string;
  readonly model?: string;
  readonly configDir?: string;
  readonly drift: string[];
  readonly json?: boolean;
}

/** Drift results from `mlops validate-data --json` (its `drift` list), or a plain list of them. */
function readDrift(file: string): DriftSummary[] {
  let doc: unknown;
  try {
    doc = JSON.parse(readInputFile(file, 'drift results'));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${file} is not JSON (expected the output of \`mlops validate-data --json\`)`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { drift?: unknown })?.drift;
  const ok = (d: unknown): d is DriftSummary =>
    typeof d === 'object' &&
    d !== null &&
    typeof (d as DriftSummary).jsDistance === 'number' &&
    typeof (d as DriftSummary).evalSet === 'string';
  if (!Array.isArray(list) || !list.every(ok)) {
    throw new UsageError(
      `${file} has no drift results (expected the output of \`mlops validate-data --json\`)`,
    );
  }
  return list;
}

export function renderReportCommand(io: CliIo, opts: Options): ExitCode {
  const inputs = readRegressionInputs(opts);
  if ('invalid' in inputs) {
    if (opts.json) {
      io.stdout.write(toJsonLine({ rendered: false, valid: false, problems: inputs.invalid }));
      return ExitCode.CheckFailed;
    }
    io.stderr.write(
      `cannot render: the reports are not valid (format: docs/eval-report.md):\n${inputs.invalid.map((p) => `  ${p}`).join('\n')}\n`,
    );
    return ExitCode.CheckFailed;
  }
  const drift = opts.drift.flatMap(readDrift);
  const regression = checkRegression(
    inputs.candidate,
    inputs.baseline,
    inputs.thresholds,
    regressionOptions(inputs),
  );
  const configured = opts.model ? loadModel(opts.configDir, opts.model) : undefined;
  const cost = configured
    ? monthlyCostFromReports(
        {
          evalSet: configured.model.evalSets.find((s) => s.kind === 'production-like')?.name,
          monthlyRequests: configured.model.cost.monthlyRequests,
          pricingAsOf: configured.config.platform.pricing.asOf,
        },
        inputs.candidate,
        inputs.baseline,
      )
    : undefined;
  const comment = renderPrComment({
    candidate: inputs.candidate,
    baseline: inputs.baseline,
    regression,
    drift: drift.length > 0 ? drift : undefined,
    cost,
  });
  // The Markdown as one string, with what it was rendered from, for scripts that post or inspect it.
  io.stdout.write(
    opts.json
      ? toJsonLine({
          rendered: true,
          verdict: regression.verdict,
          markdown: comment,
          regression,
          drift,
          cost: cost ?? null,
        })
      : comment,
  );
  return ExitCode.Ok;
}

export function register(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('render-report')
    .description(
      'Render the pull-request comment (Markdown): Baseline / Candidate / Delta, drift, gate verdicts.',
    )
    .requiredOption('-r, --report <eval_report.json>', "the candidate's eval report")
    .option('-b, --baseline <baseline_metrics.json>', "the promoted model's report (omit on a first release)")
    .option('-m, --model <name>', "thresholds, eval sets and monthly requests from this model's config")
    .option(...CONFIG_DIR_OPTION)
    .option(
      '-d, --drift <validate-data.json>',
      'drift results to include: the output of `mlops validate-data --json` (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--json',
      'print one JSON document (the Markdown under `markdown`, with the verdicts) instead of Markdown',
    )
    .addHelpText(
      'after',
      '\nThe comment starts with a hidden marker, so the pipeline updates its earlier comment instead of adding one.\nMonthly cost (with --model): measured cost per 1k requests × cost.monthlyRequests.\nExit codes: 0 rendered (whatever the verdict), 1 invalid report, 2 bad usage or unreadable file.',
    )
    .action((opts: Options) => done(renderReportCommand(io, opts)));
}
