import path from 'node:path';
import type { Command } from 'commander';
import { EvalReport, EvalReportError, parseEvalReport } from '../../../lambdas/core/gates/eval-report';
import type { InconclusivePolicy } from '../../../lambdas/core/statistics/gate-stats';
import { parsePredictions, PredictionsError } from '../../../lambdas/core/gates/predictions';
import {
  checkRegression,
  DEFAULT_REGRESSION_THRESHOLDS,
  ExampleSource,
  RegressionCheck,
  RegressionOptions,
  RegressionResult,
} from '../../../lambdas/core/gates/regression-gate';
import type { RegressionThresholds } from '../../../lambdas/core/contracts/records';
import { CONFIG_DIR_OPTION, loadModel, readInputFile, toJsonLine } from '../context';
import { CliIo, ExitCode } from '../io';

export interface RegressionInputs {
  readonly candidate: EvalReport;
  readonly baseline?: EvalReport;
  readonly thresholds: RegressionThresholds;
  readonly requiredEvalSets?: readonly string[];
  /** Per-example results named by each report's `predictions_file`, read from beside the report. */
  readonly examples: NonNullable<RegressionOptions['examples']>;
  readonly onInconclusive?: InconclusivePolicy;
  readonly assumedDiscordance?: number;
}

/** The options of `checkRegression` that come from the inputs. */
export function regressionOptions(inputs: RegressionInputs): RegressionOptions {
  return {
    requiredEvalSets: inputs.requiredEvalSets,
    examples: inputs.examples,
    onInconclusive: inputs.onInconclusive,
    assumedDiscordance: inputs.assumedDiscordance,
  };
}

interface Options {
  readonly report: string;
  readonly baseline?: string;
  readonly model?: string;
  readonly configDir?: string;
  readonly json?: boolean;
}

/**
 * Reads the candidate and baseline reports and the thresholds (`--model`'s, or the defaults).
 * A report that fails its schema is a failed check, not a usage error: the gate fails closed.
 */
export function readRegressionInputs(
  opts: Pick<Options, 'report' | 'baseline' | 'model' | 'configDir'>,
): RegressionInputs | { readonly invalid: readonly string[] } {
  const model = opts.model ? loadModel(opts.configDir, opts.model).model : undefined;
  const problems: string[] = [];
  const parse = (file: string, what: string) => {
    try {
      return parseEvalReport(readInputFile(file, what), file);
    } catch (err) {
      if (!(err instanceof EvalReportError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const candidate = parse(opts.report, 'eval report');
  const baseline = opts.baseline ? parse(opts.baseline, 'baseline') : undefined;
  if (!candidate || problems.length > 0) return { invalid: problems };
  // A predictions file that cannot be read is a usage error (exit 2); one that is invalid fails the check.
  const readExamples = (report: EvalReport, file: string) => {
    const found = new Map<string, ExampleSource>();
    for (const [evalSet, m] of Object.entries(report.evalSets)) {
      if (m.predictionsFile === undefined) continue;
      const where = path.join(path.dirname(file), m.predictionsFile);
      try {
        const rows = parsePredictions(
          readInputFile(where, `predictions file of ${evalSet} (named in ${file})`),
          where,
          {
            allowedLabels: model?.dataValidation.allowedLabels,
          },
        );
        found.set(evalSet, { rows, file: where, report: file });
      } catch (err) {
        if (!(err instanceof PredictionsError)) throw err;
        problems.push(...err.problems);
      }
    }
    return found;
  };
  const examples = {
    candidate: readExamples(candidate, opts.report),
    baseline: baseline && opts.baseline ? readExamples(baseline, opts.baseline) : undefined,
  };
  if (problems.length > 0) return { invalid: problems };
  return {
    candidate,
    baseline,
    thresholds: model?.thresholds ?? DEFAULT_REGRESSION_THRESHOLDS,
    requiredEvalSets: model?.evalSets.map((s) => s.name),
    examples,
    onInconclusive: model?.thresholds.onInconclusive,
    assumedDiscordance: model?.thresholds.assumedDiscordance,
  };
}

function renderText(result: RegressionResult): string {
  const lines = [result.summary];
  const width = Math.max(...result.checks.map((c) => `${c.evalSet ?? ''} ${c.check}`.length), 10);
  for (const c of result.checks as RegressionCheck[]) {
    const name = `${c.evalSet ?? ''} ${c.check}`.trim().padEnd(width);
    lines.push(`  ${c.verdict === 'pass' ? 'pass' : 'FAIL'}  ${name}  ${c.reason}`);
  }
  for (const note of result.notes) lines.push(`  note: ${note}`);
  return `${lines.join('\n')}\n`;
}

export function checkRegressionCommand(io: CliIo, opts: Options): ExitCode {
  const inputs = readRegressionInputs(opts);
  if ('invalid' in inputs) {
    if (opts.json) io.stdout.write(toJsonLine({ verdict: 'fail', valid: false, problems: inputs.invalid }));
    else
      io.stderr.write(
        `FAIL: the reports or their per-example results are not valid (format: docs/eval-report.md):\n${inputs.invalid.map((p) => `  ${p}`).join('\n')}\n`,
      );
    return ExitCode.CheckFailed;
  }
  const result = checkRegression(
    inputs.candidate,
    inputs.baseline,
    inputs.thresholds,
    regressionOptions(inputs),
  );
  io.stdout.write(opts.json ? toJsonLine({ ...result, thresholds: inputs.thresholds }) : renderText(result));
  return result.verdict === 'pass' ? ExitCode.Ok : ExitCode.CheckFailed;
}

export function register(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('check-regression')
    .description('Compare a candidate eval report with the baseline; one verdict per metric and eval set.')
    .requiredOption('-r, --report <eval_report.json>', "the candidate's eval report")
    .option('-b, --baseline <baseline_metrics.json>', "the promoted model's report (omit on a first release)")
    .option(
      '-m, --model <name>',
      "take thresholds and eval sets from this model's config (default: built-in defaults)",
    )
    .option(...CONFIG_DIR_OPTION)
    .option('--json', 'print one JSON document instead of text')
    .addHelpText(
      'after',
      `\nDefaults without --model: accuracy may drop ${DEFAULT_REGRESSION_THRESHOLDS.maxAccuracyDrop}, p95 latency rise ${DEFAULT_REGRESSION_THRESHOLDS.maxLatencyIncreasePct}%,\ncost rise ${DEFAULT_REGRESSION_THRESHOLDS.maxCostIncreasePct}%, slice-accuracy gap grow ${DEFAULT_REGRESSION_THRESHOLDS.maxBiasGapIncrease}.\nExit codes: 0 no regression, 1 regression or invalid report, 2 bad usage or unreadable file.`,
    )
    .action((opts: Options) => done(checkRegressionCommand(io, opts)));
}
