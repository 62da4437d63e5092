/**
 * Loads `platform.yaml` and `models/*.yaml`, merges platform defaults into each model and
 * validates everything, reporting every problem of every file at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { ConfigError, ConfigProblem, problemsFromIssues, suggest, YamlLocator } from './problems';
import { nameCollisions } from './resource-names';
import { ConfigWarning, configWarnings, ModelLocator } from './warnings';
import { describeYamlError, textEncodingProblem } from './yaml-text';
import {
  INHERITED_SECTIONS,
  ModelConfig,
  modelSchema,
  PlatformConfig,
  PlatformSettings,
  platformSchema,
} from '../../lambdas/core/contracts/config-schema';

export { ConfigError, formatProblem } from './problems';
export type { ConfigProblem } from './problems';
export type { ConfigWarning } from './warnings';

interface ParsedYaml {
  readonly raw: unknown;
  readonly locator?: YamlLocator;
}

/** Reads and parses one YAML file; syntax errors become problems with their line. */
function readYaml(file: string, problems: ConfigProblem[]): ParsedYaml | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push({
      file,
      path: '',
      message:
        code === 'ENOENT'
          ? 'file not found (create it; README "Configuration reference" lists its keys)'
          : `cannot read file (${code})`,
    });
    return undefined;
  }
  // Decoding as 'utf8' would turn bad bytes into U+FFFD silently: `caf\xe9` would pass as `caf�`.
  const encoding = textEncodingProblem(bytes);
  if (encoding) {
    problems.push({ file, line: encoding.line, path: '', message: encoding.message });
    return undefined;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(bytes.toString('utf8'), { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lineOf = (offset: number) => lineCounter.linePos(offset).line;
    for (const e of doc.errors) {
      const line = e.linePos?.[0].line;
      problems.push({ file, line, path: '', message: `invalid YAML: ${describeYamlError(e, doc, lineOf)}` });
    }
    return undefined;
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    // An alias to no anchor (`*nope`) or an alias bomb surfaces only here.
    problems.push({ file, path: '', message: `invalid YAML: ${(err as Error).message}` });
    return undefined;
  }
  if (raw === null || raw === undefined) {
    problems.push({ file, path: '', message: 'file is empty (expected a mapping of settings)' });
    return undefined;
  }
  return { raw, locator: new YamlLocator(doc, lineCounter) };
}

function validate<S extends z.ZodType>(
  file: string,
  schema: S,
  parsed: ParsedYaml,
  problems: ConfigProblem[],
): z.output<S> | undefined {
  const result = schema.safeParse(parsed.raw);
  if (result.success) return result.data;
  problems.push(...problemsFromIssues(file, result.error.issues, parsed.raw, schema, parsed.locator));
  return undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Model values win over platform defaults; lists replace, mappings merge key by key. */
function mergeDefaults(defaults: unknown, own: unknown): unknown {
  if (own === undefined) return defaults;
  if (!isPlainObject(defaults) || !isPlainObject(own)) return own;
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(own)) out[k] = mergeDefaults(defaults[k], v);
  return out;
}

function withPlatformDefaults(rawModel: unknown, rawDefaults: unknown): unknown {
  if (!isPlainObject(rawModel) || !isPlainObject(rawDefaults)) return rawModel;
  const merged: Record<string, unknown> = { ...rawModel };
  for (const section of INHERITED_SECTIONS) {
    if (rawDefaults[section] !== undefined)
      merged[section] = mergeDefaults(rawDefaults[section], rawModel[section]);
  }
  return merged;
}

interface ModelFile {
  readonly file: string;
  /** The model as written, with platform defaults merged in; checked even when the schema failed. */
  readonly raw: unknown;
  readonly locator?: YamlLocator;
}

function stringAt(raw: unknown, keys: readonly string[]): string | undefined {
  let cur = raw;
  for (const k of keys) cur = isPlainObject(cur) ? cur[k] : undefined;
  return typeof cur === 'string' ? cur : undefined;
}

/**
 * Checks that need more than one file: model names, and references into the pricing table.
 * They read the raw values, so a model with an unrelated schema error is still checked.
 */
function crossFileProblems(
  pricing: PlatformSettings['pricing'],
  models: readonly ModelFile[],
  platformName: string | undefined,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (platformName !== undefined) problems.push(...nameCollisionProblems(platformName, models));
  const firstFileByName = new Map<string, string>();
  const { sagemakerInstances, tokenModels } = pricing;
  for (const { file, raw, locator } of models) {
    const at = (p: string[]) => ({ file, line: locator?.lineOf(p), path: p.join('.') });
    const name = stringAt(raw, ['name']);
    const expected = path.basename(file).replace(/\.ya?ml$/, '');
    if (name !== undefined && name !== expected) {
      problems.push({
        ...at(['name']),
        message: `must match the file name (got "${name}", expected "${expected}"); rename the file or the model`,
      });
    }
    const earlier = name === undefined ? undefined : firstFileByName.get(name);
    if (earlier) {
      problems.push({
        ...at(['name']),
        message: `duplicate model name (got "${name}", already used by ${earlier})`,
      });
    } else if (name !== undefined) {
      firstFileByName.set(name, file);
    }
    for (const p of [
      ['serving', 'instanceType'],
      ['serving', 'standby', 'instanceType'],
    ]) {
      const type = stringAt(raw, p);
      if (type !== undefined && !(type in sagemakerInstances)) {
        problems.push({
          ...at(p),
          message: `no price for this instance type (got "${type}", expected one of platform.yaml pricing.sagemakerInstances: ${Object.keys(sagemakerInstances).join(', ') || 'none'}); add its hourly price there or pick a priced type`,
        });
      }
    }
    const tokenModel = stringAt(raw, ['cost', 'pricing', 'model']);
    if (
      stringAt(raw, ['cost', 'pricing', 'kind']) === 'token' &&
      tokenModel !== undefined &&
      !(tokenModel in tokenModels)
    ) {
      problems.push({
        ...at(['cost', 'pricing', 'model']),
        message: `no price for this token model (got "${tokenModel}", expected one of platform.yaml pricing.tokenModels: ${Object.keys(tokenModels).join(', ') || 'none'})`,
      });
    }
  }
  return problems;
}

/**
 * A region the schema's pattern accepts but no AWS region has (`eu-wset-1`). The list is aws-cdk-lib's
 * region-info database, which the synth already relies on for region facts; its README says new regions
 * may be missing from an older release (https://pypi.org/project/aws-cdk.region-info/), hence the upgrade hint.
 */
function regionProblem(region: string): string | undefined {
  const known = RegionInfo.regions.map((r) => r.name);
  if (known.includes(region)) return undefined;
  const near = suggest(region, known);
  return near
    ? `not an AWS region (got "${region}"; did you mean "${near}"?)`
    : `not an AWS region aws-cdk-lib knows (got "${region}"); check the spelling, or upgrade aws-cdk-lib if the region is new`;
}

/**
 * Two models whose resource names would collide (lib/config/resource-names.ts): reported at the
 * later file's `name`, naming both files and the first colliding resource.
 */
function nameCollisionProblems(platformName: string, models: readonly ModelFile[]): ConfigProblem[] {
  const named = models
    .map((m) => ({ ...m, name: stringAt(m.raw, ['name']) }))
    .filter((m): m is ModelFile & { name: string } => m.name !== undefined && /^[a-z0-9-]+$/.test(m.name));
  const problems: ConfigProblem[] = [];
  for (const [i, later] of named.entries()) {
    for (const earlier of named.slice(0, i)) {
      if (earlier.name === later.name) continue; // reported as a duplicate name
      const collisions = nameCollisions(platformName, earlier.name, later.name);
      if (collisions.length === 0) continue;
      const first = collisions[0]!;
      problems.push({
        file: later.file,
        line: later.locator?.lineOf(['name']),
        path: 'name',
        message:
          `resource names collide with ${earlier.file} (got "${later.name}", and "${earlier.name}" there): ` +
          `${first.kind} ${first.names[1]} of "${later.name}" is also ${first.kind} ${first.names[0]} of "${earlier.name}"` +
          `${collisions.length > 1 ? ` (and ${collisions.length - 1} more)` : ''}; rename one of the two models`,
      });
    }
  }
  return problems;
}

export interface LoadOptions {
  /** Directory holding `platform.yaml` and `models/`. */
  readonly configDir: string;
}

/**
 * Loads and validates the whole configuration.
 * @throws ConfigError listing every problem in every file.
 */
export function loadConfig(options: LoadOptions): PlatformConfig {
  // Without the warnings: the confidence alarm's takes a seeded simulation (about 0.3 s of CPU),
  // which every synth, CLI command and test that loads the config would pay for nothing.
  return readConfig(options).config;
}

/**
 * Loads and validates the whole configuration, and lists what a valid config may still get wrong.
 * @throws ConfigError listing every problem in every file.
 */
export function loadConfigWithWarnings(options: LoadOptions): {
  config: PlatformConfig;
  warnings: ConfigWarning[];
} {
  const { config, at } = readConfig(options);
  return { config, warnings: configWarnings(config, at) };
}

function readConfig({ configDir }: LoadOptions): { config: PlatformConfig; at: ModelLocator } {
  const problems: ConfigProblem[] = [];
  const platformFile = path.join(configDir, 'platform.yaml');
  const platformYaml = readYaml(platformFile, problems);
  const platform = platformYaml && validate(platformFile, platformSchema, platformYaml, problems);
  const region = platform && regionProblem(platform.environment.region);
  if (region && platformYaml) {
    const at = ['environment', 'region'];
    problems.push({
      file: platformFile,
      line: platformYaml.locator?.lineOf(at),
      path: at.join('.'),
      message: region,
    });
  }

  const modelsDir = path.join(configDir, 'models');
  let modelFiles: string[] = [];
  let miscasedFiles: string[] = [];
  try {
    const entries = readdirSync(modelsDir).sort();
    modelFiles = entries.filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(modelsDir, f));
    // `Fraud.YAML` would otherwise be skipped without a word, and its model never deployed.
    miscasedFiles = entries.filter((f) => /\.ya?ml$/i.test(f) && !/\.ya?ml$/.test(f));
    for (const f of miscasedFiles) {
      problems.push({
        file: path.join(modelsDir, f),
        path: '',
        message: `not read: model files end in lower-case .yaml or .yml; rename it to ${f.replace(/\.ya?ml$/i, '.yaml')}`,
      });
    }
  } catch {
    problems.push({
      file: modelsDir,
      path: '',
      message: 'directory not found (create it and add one <model>.yaml per model)',
    });
  }

  // Broken defaults are reported once, at platform.yaml, not again in every model.
  const rawDefaults = platform && isPlainObject(platformYaml?.raw) ? platformYaml.raw.defaults : undefined;
  const files: ModelFile[] = [];
  const models: ModelConfig[] = [];
  for (const file of modelFiles) {
    const parsed = readYaml(file, problems);
    if (!parsed) continue;
    const merged = { raw: withPlatformDefaults(parsed.raw, rawDefaults), locator: parsed.locator };
    files.push({ file, ...merged });
    const model = validate(file, modelSchema, merged, problems);
    if (model) models.push(model);
  }

  // The pricing table alone is enough to check references, even when another platform key is wrong.
  const rawPricing = isPlainObject(platformYaml?.raw) ? platformYaml.raw.pricing : undefined;
  const pricing = platform?.pricing ?? platformSchema.shape.pricing.safeParse(rawPricing).data;
  const platformName = platform?.name ?? stringAt(platformYaml?.raw, ['name']);
  if (pricing) problems.push(...crossFileProblems(pricing, files, platformName));
  if (problems.length > 0) {
    // Read like a compiler's output: file by file, top to bottom.
    const fileOrder = [
      platformFile,
      modelsDir,
      ...miscasedFiles.map((f) => path.join(modelsDir, f)),
      ...modelFiles,
    ];
    const rank = (p: ConfigProblem) => [fileOrder.indexOf(p.file), p.line ?? 0];
    throw new ConfigError(
      [...problems].sort((a, b) => {
        const [fa, la] = rank(a);
        const [fb, lb] = rank(b);
        return fa - fb || la - lb;
      }),
    );
  }
  const config = { platform: platform as PlatformSettings, models };
  const fileOf = new Map(files.map((f) => [stringAt(f.raw, ['name']), f]));
  const at: ModelLocator = (model, keys) => {
    const f = fileOf.get(model.name);
    return { file: f?.file ?? modelsDir, line: keys.length > 0 ? f?.locator?.lineOf(keys) : undefined };
  };
  return { config, at };
}
