/**
 * What `cdk synth` runs (bin/app.ts): loads the config directory and builds the platform, printing
 * the same problems and warnings `mlops validate-config` prints, so a warning is seen by whoever
 * synthesizes, not only by whoever remembers to validate first.
 */
import type { App } from 'aws-cdk-lib';
import { ConfigError, formatProblem, loadConfigWithWarnings } from './config/load';
import { buildPlatform, type Platform } from './platform';

/** Builds the platform from `configDir` into `app`; returns null (after printing why) on a config mistake. */
export function buildPlatformFromConfig(
  app: App,
  configDir: string,
  stderr: Pick<NodeJS.WriteStream, 'write'> = process.stderr,
): Platform | null {
  try {
    const { config, warnings } = loadConfigWithWarnings({ configDir });
    for (const w of warnings) stderr.write(`  warning: ${formatProblem(w)}\n`);
    return buildPlatform(app, config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // A config mistake is the user's to fix: the list of problems, no stack trace.
    stderr.write(`Configuration in ${configDir}/ has ${err.problems.length} problem(s):\n`);
    for (const p of err.problems) stderr.write(`  ${formatProblem(p)}\n`);
    return null;
  }
}
