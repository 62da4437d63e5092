import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, Help } from 'commander';
import { CliIo, ExitCode, UsageError } from './io';
import { suggestAbbreviatedOptions } from './option-hints';

/** What each `lib/cli/commands/<name>.ts` exports. */
export type RegisterCommand = (program: Command, io: CliIo, done: (code: ExitCode) => void) => void;

export interface CommandEntry {
  /** The subcommand, as typed: `mlops <name>`. */
  readonly name: string;
  /** One line for the list in `mlops --help` (the command's own `--help` has the full description). */
  readonly summary: string;
  /** Its arguments as that list shows them, e.g. `[options] <dataset.jsonl>`. */
  readonly usage: string;
  /** Loads the command's module: only when that command runs or its own help is asked for. */
  readonly load: () => { register: RegisterCommand };
}

/* eslint-disable @typescript-eslint/no-require-imports -- `require` inside `load` is the point:
   `mlops --help` and every other command start without loading a command's modules (zod, the
   config schema, core), which more than halved the CLI's start-up time. */
/**
 * Every subcommand. To add one: write `lib/cli/commands/<name>.ts` exporting
 * `register(program, io, done)` (see validate-config.ts), and add its line here. Keep `summary`
 * short; `usage` must match what the registered command shows (test/cli/program.test.ts checks).
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'validate-config',
    summary: 'Validate config/ and list every problem with file, line and key.',
    usage: '[options]',
    load: () => require('./commands/validate-config'),
  },
  {
    name: 'validate-data',
    summary: 'Validate a JSONL eval set and its drift against a reference.',
    usage: '[options] <dataset.jsonl>',
    load: () => require('./commands/validate-data'),
  },
  {
    name: 'check-regression',
    summary: 'Compare a candidate eval report with the baseline.',
    usage: '[options]',
    load: () => require('./commands/check-regression'),
  },
  {
    name: 'estimate-cost',
    summary: "Estimate a model's monthly serving cost.",
    usage: '[options]',
    load: () => require('./commands/estimate-cost'),
  },
  {
    name: 'render-report',
    summary: 'Render the pull-request comment (Markdown).',
    usage: '[options]',
    load: () => require('./commands/render-report'),
  },
  {
    name: 'scrub-pii',
    summary: 'Replace personal data in a JSONL file.',
    usage: '[options] <input.jsonl>',
    load: () => require('./commands/scrub-pii'),
  },
  {
    name: 'rehearse',
    summary: 'Rehearse a release or rollback scenario on the serving-plane emulator.',
    usage: '[options] <scenario>',
    load: () => require('./commands/rehearse'),
  },
  {
    name: 'calibrate-alarm',
    summary: "Simulate a model's confidence alarm: false rollbacks, detection delay.",
    usage: '[options]',
    load: () => require('./commands/calibrate-alarm'),
  },
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** The version in package.json (found from here both in the sources and in the compiled dist/). */
export function cliVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string };
      if (pkg.version) return pkg.version;
    } catch {
      // no package.json here: look one folder up
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/**
 * Builds the command tree; an action reports its exit code through `done`. `only` names the one
 * command whose module is loaded; the others are listed for `--help` and "did you mean" but not
 * loaded. Without it, every command is loaded.
 */
export function buildProgram(io: CliIo, done: (code: ExitCode) => void, only?: string): Command {
  const usage = new Map(COMMANDS.map((c) => [c.name, c.usage]));
  const program = new Command('mlops')
    .description('Release gates of the ML release platform: run them locally before you push.')
    .version(`mlops ${cliVersion()}`, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .configureHelp({
      subcommandTerm: (cmd) =>
        usage.has(cmd.name()) ? `${cmd.name()} ${usage.get(cmd.name())}` : new Help().subcommandTerm(cmd),
    })
    .exitOverride();
  for (const entry of COMMANDS) {
    if (only === undefined || only === entry.name) entry.load().register(program, io, done);
    else program.command(entry.name);
  }
  for (const cmd of program.commands) {
    const entry = COMMANDS.find((c) => c.name === cmd.name());
    if (entry) cmd.summary(entry.summary);
    // Subcommands inherit output and exit handling, so `mlops <cmd> --bad-flag` exits 2 too.
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    cmd.exitOverride().showHelpAfterError(`(run \`mlops ${cmd.name()} --help\` for usage)`);
    suggestAbbreviatedOptions(cmd);
  }
  return program;
}

/** Runs the CLI and resolves to its exit code; never calls process.exit. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = ExitCode.Ok;
  // `mlops <command> ...` or `mlops help <command>`: only that command's module is loaded.
  const named = argv[0] === 'help' ? argv[1] : argv[0];
  const only = COMMANDS.some((c) => c.name === named) ? named : '';
  const program = buildProgram(
    io,
    (c) => {
      code = c;
    },
    only,
  );
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
