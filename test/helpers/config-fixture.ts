import { App, AppProps } from 'aws-cdk-lib';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, formatProblem, loadConfig } from '../../lib/config/load';
import type { PlatformConfig } from '../../lambdas/core/contracts/config-schema';

export const SHIPPED_CONFIG = path.resolve(__dirname, '../../config');
export const EXAMPLE_MODEL = 'models/document-classifier.yaml';

/** A private copy of the shipped config that a test may edit. */
export class ConfigFixture {
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'mlops-config-'));
    cpSync(SHIPPED_CONFIG, this.dir, { recursive: true });
  }

  file(rel: string): string {
    return path.join(this.dir, rel);
  }

  read(rel: string): string {
    return readFileSync(this.file(rel), 'utf8');
  }

  write(rel: string, text: string): this {
    writeFileSync(this.file(rel), text);
    return this;
  }

  /** Replaces one exact snippet; fails loudly if the shipped example changed under the test. */
  edit(rel: string, from: string, to: string): this {
    const text = this.read(rel);
    if (!text.includes(from)) throw new Error(`fixture: ${rel} does not contain ${JSON.stringify(from)}`);
    return this.write(rel, text.replace(from, to));
  }

  load(): PlatformConfig {
    return loadConfig({ configDir: this.dir });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function shippedConfig(): PlatformConfig {
  return loadConfig({ configDir: SHIPPED_CONFIG });
}

/**
 * An App configured like `cdk synth` configures bin/app.ts: the feature flags of cdk.json
 * (without them, tests would check different templates than the ones deployed) and no
 * built-in CloudFormation validation (cfn-lint checks the templates instead).
 */
export function newApp(props: AppProps & { bundle?: boolean } = {}): App {
  const { bundle, ...appProps } = props;
  const cdkJson = JSON.parse(readFileSync(path.resolve(__dirname, '../../cdk.json'), 'utf8'));
  // Bundling the Lambda handlers takes seconds; Template tests skip it (the synth test bundles).
  const bundling = bundle ? {} : { 'aws:cdk:bundling-stacks': [] };
  return new App({
    builtinCloudFormationValidation: false,
    ...appProps,
    context: { ...cdkJson.context, ...bundling, ...appProps.context },
  });
}

/** The 1-based line of the first line of `text` that contains `snippet`; fails loudly when none does. */
export function lineOf(text: string, snippet: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(snippet));
  if (index < 0) throw new Error(`fixture: no line contains ${snippet}`);
  return index + 1;
}

/** The problems a fixture's config is rejected with, paths relative to the fixture; fails if it loads. */
export function problemsOf(fixture: ConfigFixture): string[] {
  try {
    fixture.load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.map((p) => formatProblem(p).replaceAll(`${fixture.dir}/`, ''));
  }
  throw new Error('expected the config to be rejected, but it loaded');
}
