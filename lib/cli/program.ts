import { Command, CommanderError } from 'commander';
import { register as checkRegression } from './commands/check-regression';
import { register as estimateCost } from './commands/estimate-cost';
import { register as rehearse } from './commands/rehearse';
import { register as renderReport } from './commands/render-report';
import { register as scrubPii } from './commands/scrub-pii';
import { register as validateConfig } from './commands/validate-config';
import { register as validateData } from './commands/validate-data';
import { CliIo, ExitCode, UsageError } from './io';

const COMMANDS = [
  validateConfig,
  validateData,
  checkRegression,
  estimateCost,
  renderReport,
  scrubPii,
  rehearse,
];

/** Builds the command tree; an action reports its exit code through `done`. */
export function buildProgram(io: CliIo, done: (code: ExitCode) => void): Command {
  const program = new Command('mlops')
    .description('Release gates of the ML release platform: run them locally before you push.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  for (const register of COMMANDS) register(program, io, done);
  // Subcommands inherit output and exit handling, so `mlops <cmd> --bad-flag` exits 2 too.
  for (const cmd of program.commands) {
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    cmd.exitOverride().showHelpAfterError(`(run \`mlops ${cmd.name()} --help\` for usage)`);
  }
  return program;
}

/** Runs the CLI and resolves to its exit code; never calls process.exit. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = ExitCode.Ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return ExitCode.UsageOrIo;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.UsageOrIo;
    if (err instanceof UsageError) {
      io.stderr.write(`mlops: ${err.message}\n`);
      return ExitCode.UsageOrIo;
    }
    throw err;
  }
}
