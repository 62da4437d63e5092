import type { Command } from 'commander';
import { detectabilityWarning, requestsPerMinuteOfMonthly } from '../../../lambdas/core/confidence-alarm';
import { ConfigError, formatProblem, loadConfig } from '../../config/load';
import type { PlatformConfig } from '../../config/schema';
import { DEFAULT_CONFIG_DIR, toJsonLine } from '../context';
import { CliIo, ExitCode } from '../io';

interface Options {
  readonly configDir: string;
  readonly json?: boolean;
}

/**
 * Warnings do not fail validation: a model whose configured traffic (cost.monthlyRequests) is too
 * low for the confidence alarm to catch a 0.1 drop within 10 minutes (a short seeded simulation of
 * the deployed rule, lambdas/core/confidence-alarm.ts).
 */
function warningsOf(
  configDir: string,
  config: PlatformConfig,
): { file: string; path: string; message: string }[] {
  return config.models.flatMap((m) => {
    const rate = requestsPerMinuteOfMonthly(m.cost.monthlyRequests);
    const warning = detectabilityWarning(m.monitoring, rate);
    return warning === null
      ? []
      : [
          {
            file: `${configDir}/models/${m.name}.yaml`,
            path: 'cost.monthlyRequests',
            message: `${m.cost.monthlyRequests} requests a month: ${warning}. Check the traffic, or accept that the alarm catches only larger drops (mlops calibrate-alarm --model ${m.name}).`,
          },
        ];
  });
}

export function validateConfigCommand(io: CliIo, opts: Options): ExitCode {
  try {
    const config = loadConfig({ configDir: opts.configDir });
    const names = config.models.map((m) => m.name);
    const warnings = warningsOf(opts.configDir, config);
    if (opts.json) io.stdout.write(toJsonLine({ valid: true, models: names, problems: [], warnings }));
    else {
      io.stdout.write(
        `${opts.configDir}: valid (${names.length} model${names.length === 1 ? '' : 's'}: ${names.join(', ') || 'none'})\n`,
      );
      for (const w of warnings) io.stderr.write(`warning: ${w.file} ${w.path}: ${w.message}\n`);
    }
    return ExitCode.Ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (opts.json) {
      io.stdout.write(toJsonLine({ valid: false, problems: err.problems }));
    } else {
      io.stderr.write(`${opts.configDir}: ${err.problems.length} problem(s):\n`);
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
    .option('-c, --config-dir <dir>', 'configuration directory', DEFAULT_CONFIG_DIR)
    .option('--json', 'print one JSON document instead of text')
    .addHelpText('after', '\nExit codes: 0 valid, 1 invalid config, 2 bad usage.')
    .action((opts: Options) => done(validateConfigCommand(io, opts)));
}
