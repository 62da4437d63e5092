import type { Command } from 'commander';
import { ConfigError, formatProblem, loadConfig } from '../../config/load';
import { DEFAULT_CONFIG_DIR, toJsonLine } from '../context';
import { CliIo, ExitCode } from '../io';

interface Options {
  readonly configDir: string;
  readonly json?: boolean;
}

export function validateConfigCommand(io: CliIo, opts: Options): ExitCode {
  try {
    const config = loadConfig({ configDir: opts.configDir });
    const names = config.models.map((m) => m.name);
    if (opts.json) io.stdout.write(toJsonLine({ valid: true, models: names, problems: [] }));
    else
      io.stdout.write(
        `${opts.configDir}: valid (${names.length} model${names.length === 1 ? '' : 's'}: ${names.join(', ') || 'none'})\n`,
      );
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
