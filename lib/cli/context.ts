import { readFileSync } from 'node:fs';
import { ConfigError, formatProblem, loadConfig } from '../config/load';
import type { ModelConfig, PlatformConfig } from '../config/schema';
import { UsageError } from './io';

export const DEFAULT_CONFIG_DIR = 'config';

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

/** Loads the config for `--model`; a broken config or an unknown model is a usage error (exit 2). */
export function loadModel(configDir: string, name: string): { config: PlatformConfig; model: ModelConfig } {
  let config: PlatformConfig;
  try {
    config = loadConfig({ configDir });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new UsageError(
      `--model needs a valid config, and ${configDir}/ has ${err.problems.length} problem(s) (run \`mlops validate-config\`):\n` +
        err.problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
  }
  const model = config.models.find((m) => m.name === name);
  if (!model) {
    const known = config.models.map((m) => m.name).join(', ') || 'none';
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
