import type { Command } from 'commander';
import { ConfigError, formatProblem, loadConfig } from '../../config/load';
import type { PlatformConfig } from '../../../lambdas/core/contracts/config-schema';
import { DEFAULT_CONFIG_DIR, readInputFile, toJsonLine } from '../context';
import { CliIo, ExitCode, UsageError } from '../io';
import type * as RunnerModule from '../../rehearsal/runner';
import type * as ScenarioModule from '../../rehearsal/scenario';
import type { ScenarioProblem } from '../../rehearsal/scenario';

/**
 * The emulator, the handlers and aws-cdk-lib load only when this command runs (a plain require:
 * the CLI runs as CommonJS under tsx).
 */
function load<T>(module: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(module) as T;
}

interface Options {
  readonly configDir: string;
  readonly json?: boolean;
}

/**
 * A scenario that cannot run: exit 2 with every problem, on stderr as text, or with `--json` as
 * the one JSON document on stdout (as `validate-config --json` reports its problems).
 */
function refuse(
  io: CliIo,
  file: string,
  opts: Options,
  problems: readonly ScenarioProblem[],
  format: (p: ScenarioProblem) => string,
): ExitCode {
  if (opts.json) {
    io.stdout.write(toJsonLine({ scenario: file, ok: false, problems }));
  } else {
    io.stderr.write(`${problems.length} problem(s) in the scenario:\n${problems.map(format).join('\n')}\n`);
  }
  return ExitCode.UsageOrIo;
}

export async function rehearseCommand(io: CliIo, file: string, opts: Options): Promise<ExitCode> {
  const text = readInputFile(file, 'scenario');
  // The handlers' SDK clients are fakes here; the SDK's Node version notice is noise in a timeline.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { parseScenario, ScenarioError, formatScenarioProblem } =
    load<typeof ScenarioModule>('../../rehearsal/scenario');
  let scenario;
  try {
    scenario = parseScenario(text, file);
  } catch (error) {
    if (error instanceof ScenarioError) return refuse(io, file, opts, error.problems, formatScenarioProblem);
    throw error;
  }
  let config: PlatformConfig;
  try {
    config = loadConfig({ configDir: opts.configDir });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new UsageError(
      `the scenario needs a valid config, and ${opts.configDir}/ has ${error.problems.length} problem(s):\n` +
        error.problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
  }
  if (!config.models.some((m) => m.name === scenario.model)) {
    const known = config.models.map((m) => m.name).join(', ') || 'none';
    return refuse(
      io,
      file,
      opts,
      [
        {
          file,
          line: scenario.modelLine,
          path: 'model',
          message: `unknown model "${scenario.model}" (models in ${opts.configDir}/models/: ${known}); use one of them or --config-dir with the directory that has it`,
        },
      ],
      formatScenarioProblem,
    );
  }
  const { runScenario, renderReport } = load<typeof RunnerModule>('../../rehearsal/runner');
  const report = await runScenario(scenario, {
    config,
    configDir: opts.configDir,
    onSynth: (m: string) => io.stderr.write(`mlops rehearse: ${m}\n`),
  });
  io.stdout.write(opts.json ? toJsonLine(report) : renderReport(report));
  return report.ok ? ExitCode.Ok : ExitCode.CheckFailed;
}

export function register(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('rehearse')
    .description(
      'Rehearse a release or rollback scenario against the serving-plane emulator, with the real handlers.',
    )
    .argument('<scenario>', 'scenario file (YAML; examples/scenarios/ has some)')
    .option('-c, --config-dir <dir>', 'configuration directory', DEFAULT_CONFIG_DIR)
    .option('--json', 'print one JSON document instead of text')
    .addHelpText(
      'after',
      '\nRuns the scenario on a virtual clock: hours of release in seconds. Prints the timeline, each lifecycle\n' +
        'invariant with its verdict, the final state and the time to N-1 serving (docs/operations.md).\n' +
        'Exit codes: 0 every invariant and expect held, 1 one failed, 2 bad scenario, config or usage.',
    )
    .action(async (file: string, opts: Options) => done(await rehearseCommand(io, file, opts)));
}
