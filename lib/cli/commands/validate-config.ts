import type { Command } from 'commander';
import { modelStacksWithoutConfig, parseDeployedStacks } from '../../config/deployed-stacks';
import { ConfigError, formatProblem, loadConfigWithWarnings } from '../../config/load';
import { CONFIG_DIR_OPTION, readInputFile, resolveConfigDir, toJsonLine } from '../context';
import { CliIo, ExitCode, UsageError } from '../io';

interface Options {
  readonly configDir?: string;
  readonly json?: boolean;
  /** `aws cloudformation describe-stacks --output json` saved to a file. */
  readonly deployedStacks?: string;
}

export function validateConfigCommand(io: CliIo, opts: Options): ExitCode {
  const configDir = resolveConfigDir(opts.configDir);
  try {
    const { config, warnings } = loadConfigWithWarnings({ configDir });
    if (opts.deployedStacks !== undefined) {
      const read = parseDeployedStacks(readInputFile(opts.deployedStacks, '--deployed-stacks'));
      if ('error' in read) throw new UsageError(`--deployed-stacks ${opts.deployedStacks}: ${read.error}`);
      const orphans = modelStacksWithoutConfig(config, read.stacks, configDir);
      if (orphans.length > 0) throw new ConfigError(orphans);
    }
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
    .addHelpText(
      'after',
      '\nWarnings (e.g. an estimate above cost.monthlyBudget) are printed but leave the exit code at 0.\nExit codes: 0 valid, 1 invalid config, 2 bad usage or no config directory.',
    )
    .action((opts: Options) => done(validateConfigCommand(io, opts)));
}
