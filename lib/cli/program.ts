import { Command, CommanderError } from 'commander';
import { ConfigError, formatProblem, loadConfig } from '../config/load';
import { CliIo, ExitCode, UsageError } from './io';

export const DEFAULT_CONFIG_DIR = 'config';

function validateConfig(io: CliIo, opts: { configDir: string; json?: boolean }): ExitCode {
  try {
    const config = loadConfig({ configDir: opts.configDir });
    if (opts.json) {
      io.stdout.write(
        `${JSON.stringify({ valid: true, models: config.models.map((m) => m.name), problems: [] })}\n`,
      );
    } else {
      io.stdout.write(
        `${opts.configDir}: valid (${config.models.length} model${config.models.length === 1 ? '' : 's'}: ${config.models.map((m) => m.name).join(', ') || 'none'})\n`,
      );
    }
    return ExitCode.Ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (opts.json) {
      io.stdout.write(`${JSON.stringify({ valid: false, problems: err.problems })}\n`);
    } else {
      io.stderr.write(`${opts.configDir}: ${err.problems.length} problem(s):\n`);
      for (const p of err.problems) io.stderr.write(`  ${formatProblem(p)}\n`);
    }
    return ExitCode.CheckFailed;
  }
}

/** Builds the command tree; each action stores its exit code in `result`. */
export function buildProgram(io: CliIo, result: { code: ExitCode }): Command {
  const program = new Command('mlops')
    .description('Release gates of the ML release platform: run them locally before you push.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();

  program
    .command('validate-config')
    .description(
      'Validate config/platform.yaml and config/models/*.yaml; lists every problem with file, line and key.',
    )
    .option('-c, --config-dir <dir>', 'configuration directory', DEFAULT_CONFIG_DIR)
    .option('--json', 'print one JSON document instead of text')
    .action((opts: { configDir: string; json?: boolean }) => {
      result.code = validateConfig(io, opts);
    });

  return program;
}

/** Runs the CLI and resolves to its exit code; never calls process.exit. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const result: { code: ExitCode } = { code: ExitCode.Ok };
  const program = buildProgram(io, result);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.UsageOrIo;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`mlops: ${err.message}\n`);
      return ExitCode.UsageOrIo;
    }
    throw err;
  }
}
