import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { plural } from '../config/plural';
import type { ModelConfig, PlatformConfig } from '../../lambdas/core/contracts/config-schema';
import { UsageError } from './io';

export const DEFAULT_CONFIG_DIR = 'config';

/** The `--config-dir` option every command shares; without it the config is found as git finds its repository. */
export const CONFIG_DIR_OPTION = [
  '-c, --config-dir <dir>',
  `configuration directory (default: the nearest ${DEFAULT_CONFIG_DIR}/ holding platform.yaml, from the current directory up)`,
] as const;

/**
 * The config directory a command reads: the one given, which must hold platform.yaml, or the nearest
 * `config/platform.yaml` from `cwd` upwards (so `mlops` works from any subdirectory of the project,
 * `config/` included). Relative to `cwd`, as people type paths. A missing one is a usage error (exit 2).
 */
export function resolveConfigDir(
  given: string | undefined,
  cwd: string = process.cwd(),
  option = '--config-dir',
): string {
  if (given !== undefined) {
    let isDir: boolean;
    try {
      isDir = statSync(path.resolve(cwd, given)).isDirectory();
    } catch {
      throw new UsageError(`${option} ${given}: no such directory`);
    }
    if (!isDir) throw new UsageError(`${option} ${given}: not a directory`);
    if (!existsSync(path.resolve(cwd, given, 'platform.yaml'))) {
      throw new UsageError(
        `${option} ${given}: not a config directory, it has no platform.yaml (pass the directory holding platform.yaml and models/)`,
      );
    }
    return given;
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, DEFAULT_CONFIG_DIR);
    if (existsSync(path.join(candidate, 'platform.yaml'))) return path.relative(cwd, candidate) || '.';
    if (path.dirname(dir) === dir) break;
  }
  throw new UsageError(
    `no config found: neither ${path.resolve(cwd)} nor a directory above it has ${DEFAULT_CONFIG_DIR}/platform.yaml; run mlops inside the project or pass --config-dir`,
  );
}

/** Reads a file a user named on the command line; a missing or unreadable file is a usage error (exit 2). */
export function readInputFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(err));
    throw new UsageError(`cannot read ${what} ${file}: ${why}`);
  }
}

/**
 * Loads the config for `--model`; a broken config or an unknown model is a usage error (exit 2).
 * `option` names the command-line option the directory came from, for the messages.
 */
export function loadModel(
  given: string | undefined,
  name: string,
  option = '--model',
): { config: PlatformConfig; model: ModelConfig } {
  const configDir = resolveConfigDir(given, process.cwd(), option === '--model' ? '--config-dir' : option);
  // Loaded here, not with this module: the config loader brings zod, the YAML library and the schema
  // (about 20 MiB of memory), which the commands need only with --model.
  const { ConfigError, formatProblem, loadConfig } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../config/load') as typeof import('../config/load');
  let config: PlatformConfig;
  try {
    config = loadConfig({ configDir });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new UsageError(
      `${option} needs a valid config, and ${configDir}/ has ${plural(err.problems.length, 'problem')} (run \`mlops validate-config -c ${configDir}\`):\n` +
        err.problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
  }
  const model = config.models.find((m) => m.name === name);
  if (!model) {
    const known = config.models.map((m) => m.name).join(', ') || 'none';
    if (option !== '--model') {
      throw new UsageError(
        `${option} ${configDir}: has no model "${name}" (its models: ${known}); a new model has no baseline, so leave out ${option}`,
      );
    }
    throw new UsageError(`unknown model "${name}" (models in ${configDir}/models/: ${known})`);
  }
  return { config, model };
}

/** Strict JSON for machines: one document, one line, newline-terminated. */
export function toJsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new Error(`non-finite number in JSON output: ${v}`);
    return v;
  })}\n`;
}
