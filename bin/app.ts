#!/usr/bin/env node
// CDK entry: wiring only. The config directory defaults to the shipped `config/`;
// `cdk synth -c configDir=path/to/config` synthesizes another one.
import { App } from 'aws-cdk-lib';
import { ConfigError, formatProblem, loadConfig } from '../lib/config/load';
import { buildPlatform } from '../lib/platform';

// aws-cdk-lib's built-in template validation costs most of the synth time (measured: ~10 of ~12 s)
// and checks what cfn-lint checks on every template in `npm test`; CDK_VALIDATION=true turns it on.
// cdk-nag runs either way.
const app = new App({ builtinCloudFormationValidation: process.env.CDK_VALIDATION === 'true' });
const configDir = (app.node.tryGetContext('configDir') as string | undefined) ?? 'config';
try {
  buildPlatform(app, loadConfig({ configDir }));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // A config mistake is the user's to fix: the list of problems, no stack trace.
  process.stderr.write(`Configuration in ${configDir}/ has ${err.problems.length} problem(s):\n`);
  for (const p of err.problems) process.stderr.write(`  ${formatProblem(p)}\n`);
  process.exit(1);
}
