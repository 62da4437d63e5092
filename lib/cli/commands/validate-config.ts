import type { Command } from 'commander';
import { EvalReportError, parseEvalReport } from '../../../lambdas/core/gates/eval-report';
import { checkRegression } from '../../../lambdas/core/gates/regression-gate';
import { modelStacksWithoutConfig, parseDeployedStacks } from '../../config/deployed-stacks';
import { ConfigError, formatProblem, loadConfigWithWarnings } from '../../config/load';
import type { ConfigProblem } from '../../config/problems';
import type { PlatformConfig } from '../../../lambdas/core/contracts/config-schema';
import { CONFIG_DIR_OPTION, readInputFile, resolveConfigDir, toJsonLine } from '../context';
import { CliIo, ExitCode, UsageError } from '../io';
import { readRegressionInputs, regressionOptions } from './check-regression';

interface Options {
  readonly configDir?: string;
  readonly json?: boolean;
  /** `aws cloudformation describe-stacks --output json` saved to a file. */
  readonly deployedStacks?: string;
  /** An eval report of one of the models: its eval sets are sized against the model's accuracy margin. */
  readonly report?: string;
  /** The baseline report; with per-example results on both sides the observed discordance sizes them. */
  readonly baseline?: string;
}

/**
 * Warnings for eval sets of `--report` too small to decide the model's accuracy margin, at the
 * discordance the two runs' examples show (`--baseline` with per-example results on both sides) or
 * the assumed one (`thresholds.assumedDiscordance`); the message says which. Problems with the
 * reports themselves are returned as `invalid` (exit 1).
 */
function evalSetSizeWarnings(
  config: PlatformConfig,
  configDir: string,
  opts: Options,
): { warnings: ConfigProblem[]; invalid?: readonly string[] } {
  if (opts.report === undefined) {
    if (opts.baseline !== undefined)
      throw new UsageError('--baseline needs --report: the eval report to size');
    return { warnings: [] };
  }
  let model: string;
  try {
    model = parseEvalReport(readInputFile(opts.report, 'eval report'), opts.report).model;
  } catch (err) {
    if (!(err instanceof EvalReportError)) throw err;
    return { warnings: [], invalid: err.problems };
  }
  if (!config.models.some((m) => m.name === model)) {
    const names = config.models.map((m) => m.name).join(', ') || 'none';
    return {
      warnings: [],
      invalid: [
        `${opts.report} model: got ${JSON.stringify(model)}, expected a model of ${configDir} (${names}); ` +
          'the evaluate command must write the name of config/models/<model>.yaml',
      ],
    };
  }
  const inputs = readRegressionInputs({ ...opts, report: opts.report, model, configDir });
  if ('invalid' in inputs) return { warnings: [], invalid: inputs.invalid };
  // With no baseline the report is compared with itself: only the sizing is wanted, not a verdict.
  const result = checkRegression(
    inputs.candidate,
    inputs.baseline ?? inputs.candidate,
    inputs.thresholds,
    regressionOptions(inputs),
  );
  return {
    warnings: result.undersized.map((u) => ({
      file: opts.report!,
      path: `eval_sets.${u.evalSet}.row_count`,
      message: u.message,
    })),
  };
}

export function validateConfigCommand(io: CliIo, opts: Options): ExitCode {
  const configDir = resolveConfigDir(opts.configDir);
  try {
    const loaded = loadConfigWithWarnings({ configDir });
    const { config } = loaded;
    if (opts.deployedStacks !== undefined) {
      const read = parseDeployedStacks(readInputFile(opts.deployedStacks, '--deployed-stacks'));
      if ('error' in read) throw new UsageError(`--deployed-stacks ${opts.deployedStacks}: ${read.error}`);
      const orphans = modelStacksWithoutConfig(config, read.stacks, configDir);
      if (orphans.length > 0) throw new ConfigError(orphans);
    }
    const sizing = evalSetSizeWarnings(config, configDir, opts);
    if (sizing.invalid) {
      if (opts.json) io.stdout.write(toJsonLine({ valid: false, problems: sizing.invalid, warnings: [] }));
      else {
        io.stderr.write(
          `${opts.report}: the reports to size the eval sets by are not valid (format: docs/eval-report.md):\n` +
            sizing.invalid.map((p) => `  ${p}\n`).join(''),
        );
      }
      return ExitCode.CheckFailed;
    }
    const warnings = [...loaded.warnings, ...sizing.warnings];
    const names = config.models.map((m) => m.name);
    if (opts.json) {
      io.stdout.write(toJsonLine({ valid: true, models: names, problems: [], warnings }));
      return ExitCode.Ok;
    }
    io.stdout.write(
      `${configDir}: valid (${names.length} model${names.length === 1 ? '' : 's'}: ${names.join(', ') || 'none'})\n`,
    );
    // Warnings leave the exit code at 0: the config deploys; they say what it would then do.
    for (const w of warnings) io.stderr.write(`  warning: ${formatProblem(w)}\n`);
    return ExitCode.Ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (opts.json) {
      io.stdout.write(toJsonLine({ valid: false, problems: err.problems, warnings: [] }));
    } else {
      const n = err.problems.length;
      io.stderr.write(`${configDir}: ${n} problem${n === 1 ? '' : 's'}:\n`);
      for (const p of err.problems) io.stderr.write(`  ${formatProblem(p)}\n`);
    }
    return ExitCode.CheckFailed;
  }
}

export function register(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('validate-config')
    .description(
      'Validate config/platform.yaml and config/models/*.yaml; lists every problem with file, line and key.',
    )
    .option(...CONFIG_DIR_OPTION)
    .option('--json', 'print one JSON document instead of text')
    .option(
      '--deployed-stacks <file>',
      'also refuse model stacks that are deployed but have no config file (the file holds `aws cloudformation describe-stacks --output json`)',
    )
    .option(
      '-r, --report <eval_report.json>',
      "also warn when an eval set of this report is too small to decide its model's accuracy margin",
    )
    .option(
      '-b, --baseline <baseline_metrics.json>',
      "with --report: size at the discordance the two runs' per-example results show, not the assumed one",
    )
    .addHelpText(
      'after',
      '\nWarnings (e.g. an estimate above cost.monthlyBudget) are printed but leave the exit code at 0.\nExit codes: 0 valid, 1 invalid config or report, 2 bad usage, no config directory or an unreadable file.',
    )
    .action((opts: Options) => done(validateConfigCommand(io, opts)));
}
