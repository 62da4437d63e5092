/**
 * Turns zod issues into problems a product engineer can act on:
 * `file:line key.path: what is wrong (got X, expected Y)`.
 */
import type { LineCounter, Document } from 'yaml';
import { isMap, isNode, isPair, isScalar, isSeq } from 'yaml';
import type { z } from 'zod';
import { plural } from './plural';

/** Re-exported for the modules that import it from here; it lives apart so as not to load the YAML library. */
export { plural };

export interface ConfigProblem {
  /** File as given to the loader (relative paths stay relative). */
  readonly file: string;
  /** 1-based line of the offending key or value, when the file has one. */
  readonly line?: number;
  /** Key path in the file, e.g. `thresholds.maxAccuracyDrop` or `evalSets[1].name`; empty for the file. */
  readonly path: string;
  readonly message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}`;
  return p.path ? `${where} ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Thrown by the loader with every problem found, never just the first. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `Configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  return path.reduce<string>((acc, seg) => {
    if (typeof seg === 'number') return `${acc}[${seg}]`;
    return acc ? `${acc}.${seg}` : seg;
  }, '');
}

/** A located YAML document: finds the line of any key path, or of its nearest existing ancestor. */
export class YamlLocator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  lineOf(path: readonly PathSegment[], key?: string): number | undefined {
    for (let depth = path.length; depth >= 0; depth--) {
      const prefix = path.slice(0, depth);
      const node = prefix.length === 0 ? this.doc.contents : this.doc.getIn(prefix, true);
      if (!isNode(node)) continue;
      if (depth === path.length && key !== undefined && isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === key);
        if (pair && isNode(pair.key) && pair.key.range) return this.line(pair.key.range[0]);
      }
      // For a map entry, point at the key, which is where the eye goes.
      if (depth > 0) {
        const parent = depth === 1 ? this.doc.contents : this.doc.getIn(prefix.slice(0, -1), true);
        const last = prefix[prefix.length - 1];
        if (isMap(parent)) {
          const pair = parent.items.find(
            (it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(last),
          );
          if (pair && isNode(pair.key) && pair.key.range) return this.line(pair.key.range[0]);
        }
        if (isSeq(parent) && node.range) return this.line(node.range[0]);
      }
      if (node.range) return this.line(node.range[0]);
    }
    return undefined;
  }

  /** The text a scalar was written as (`012345678901`, `.inf`), for messages that quote it back. */
  sourceOf(path: readonly PathSegment[]): string | undefined {
    const node = this.doc.getIn(path, true);
    return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
  }

  private line(offset: number): number {
    return this.lines.linePos(offset).line;
  }
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** Short, unambiguous rendering of a value a user wrote (numbers as YAML spells them). */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' && !Number.isFinite(value))
    return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
  if (Array.isArray(value)) return `a list of ${plural(value.length, 'item')}`;
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** What a user wrote, with its type where the value alone does not say it: `string "lots"`, `a list of 2 items`. */
function showTyped(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return `${typeof value} ${show(value)}`;
  return show(value);
}

const EXPECTED_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
};

/** Keys an object schema allows at `path`, for "did you mean" hints. */
function knownKeysAt(schema: z.ZodType, path: readonly PathSegment[]): string[] {
  let cur: unknown = schema;
  const unwrap = (s: unknown): unknown => {
    for (;;) {
      const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (!def) return s;
      if (def.innerType) s = def.innerType;
      else if (def.type === 'pipe' && def.in) s = def.in;
      else return s;
    }
  };
  for (const seg of path) {
    cur = unwrap(cur);
    const def = (cur as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (typeof seg === 'number' && def.type === 'array') cur = def.element;
    else if (def.type === 'object') cur = (def.shape as Record<string, unknown>)[seg as string];
    else return [];
    if (cur === undefined) return [];
  }
  cur = unwrap(cur);
  const def = (cur as { _zod: { def: Record<string, unknown> } })._zod.def;
  return def.type === 'object' ? Object.keys(def.shape as object) : [];
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(
        dp[j] + 1,
        dp[j - 1] + 1,
        prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return dp[b.length];
}

export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** One problem per zod issue (one per key for unknown keys), located in the YAML file. */
export function problemsFromIssues(
  file: string,
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  schema: z.ZodType,
  locator: YamlLocator | undefined,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, path);
      for (const key of issue.keys) {
        const hint = suggest(key, known);
        problems.push({
          file,
          line: locator?.lineOf(path, key),
          path: formatPath([...path, key]),
          message: hint
            ? `unknown key (did you mean "${hint}"?)`
            : `unknown key (expected one of: ${known.join(', ') || 'no keys here'})`,
        });
      }
      continue;
    }
    const value = valueAt(input, path);
    // A missing top-level key has no line of its own: naming the file and key is clearer than line 1.
    const line = value === undefined && path.length <= 1 ? undefined : locator?.lineOf(path);
    const message = describe(issue, value, locator?.sourceOf(path), path[path.length - 1]);
    problems.push({ file, line, path: formatPath(path), message });
  }
  return problems;
}

/** The bound of a size issue in words: `at most 50`, `at least 1 character`, `< 3 items`. */
function bound(
  issue: { origin: string; inclusive?: boolean },
  limit: number | bigint,
  atLeast: boolean,
): string {
  const word = atLeast
    ? issue.inclusive === false
      ? '>'
      : 'at least'
    : issue.inclusive === false
      ? '<'
      : 'at most';
  const unit = issue.origin === 'array' ? 'item' : issue.origin === 'string' ? 'character' : undefined;
  return unit ? `${word} ${plural(Number(limit), unit)}` : `${word} ${String(limit)}`;
}

function sizeOf(value: unknown, origin: string): string {
  if (Array.isArray(value)) return plural(value.length, 'item');
  if (origin === 'string' && typeof value === 'string') return plural([...value].length, 'character');
  return show(value);
}

/** What is wrong with a size, by the kind of value: a string is too long, a list has too many items. */
const SIZE_WORDS: Record<string, { readonly big: string; readonly small: string }> = {
  string: { big: 'too long', small: 'too short' },
  array: { big: 'too many items', small: 'too few items' },
};

function describe(
  issue: z.core.$ZodIssue,
  value: unknown,
  source: string | undefined,
  key: PathSegment | undefined,
): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
      if (value === undefined) return `required key is missing (expected ${expected})`;
      if (value === null)
        return `no value (got null, expected ${expected}); write the value after the colon or delete the key`;
      if (typeof value === 'number' && !Number.isFinite(value))
        return `not a finite number (got ${source ?? show(value)}, expected ${expected})`;
      const got = `wrong type (got ${showTyped(value)}, expected ${expected})`;
      // YAML reads 123456789012, 2.6, yes and on as numbers and booleans; quoting keeps the text (and leading zeros).
      if (issue.expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
        const text = source ?? String(value);
        return `${got}; quote it: ${typeof key === 'string' ? `${key}: ` : ''}'${text}'`;
      }
      return got;
    }
    case 'too_big': {
      const word = SIZE_WORDS[issue.origin]?.big ?? 'too large';
      const why = issue.message && !issue.message.startsWith('Too big') ? `${issue.message}: ` : '';
      return `${why}${word} (got ${sizeOf(value, issue.origin)}, expected ${bound(issue, issue.maximum, false)})`;
    }
    case 'too_small': {
      const word = SIZE_WORDS[issue.origin]?.small ?? 'too small';
      const why = issue.message && !issue.message.startsWith('Too small') ? `${issue.message}: ` : '';
      return `${why}${word} (got ${sizeOf(value, issue.origin)}, expected ${bound(issue, issue.minimum, true)})`;
    }
    case 'invalid_value': {
      const allowed = issue.values.map((v) => show(v)).join(', ');
      if (value === undefined) return `required key is missing (expected one of ${allowed})`;
      return `not an allowed value (got ${show(value)}, expected one of ${allowed})`;
    }
    case 'invalid_union': {
      const { discriminator, options } = issue as { discriminator?: string; options?: unknown[] };
      if (discriminator) {
        const got =
          value !== null && typeof value === 'object'
            ? (value as Record<string, unknown>)[discriminator]
            : value;
        const allowed = options?.length
          ? `expected one of ${options.map((o) => show(o)).join(', ')}`
          : undefined;
        if (got === undefined)
          return `required key is missing (${allowed ?? 'the JSON Schema lists the allowed forms'})`;
        return `unknown ${discriminator} (got ${show(got)}${allowed ? `, ${allowed}` : ''})`;
      }
      return `does not match any allowed form (got ${show(value)})`;
    }
    case 'invalid_format': {
      // Format messages in the schema are written as the expected form ("an AWS region like eu-west-1").
      const expected = issue.message.startsWith('Invalid') ? `a ${issue.format}` : issue.message;
      return `invalid format (got ${show(value)}, expected ${expected})`;
    }
    case 'custom':
    default:
      return `${issue.message} (got ${show(value)})`;
  }
}
