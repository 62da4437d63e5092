/**
 * Turns zod issues into problems a product engineer can act on:
 * `file:line key.path: what is wrong (got X, expected Y)`.
 */
import type { LineCounter, Document } from 'yaml';
import { isMap, isNode, isPair, isScalar, isSeq } from 'yaml';
import type { z } from 'zod';

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

/** Short, unambiguous rendering of a value a user wrote. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'mapping';
  return typeof value;
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
    problems.push({ file, line, path: formatPath(path), message: describe(issue, value) });
  }
  return problems;
}

function describe(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
      if (value === undefined) return `required key is missing (expected ${expected})`;
      return `wrong type (got ${typeName(value)} ${show(value)}, expected ${expected})`;
    }
    case 'too_big': {
      const unit = issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : '';
      const got = Array.isArray(value) ? `${value.length} items` : show(value);
      const bound = `${issue.inclusive === false ? '<' : 'at most'} ${String(issue.maximum)}${unit}`;
      const why = issue.message && !issue.message.startsWith('Too big') ? `${issue.message}: ` : '';
      return `${why}too large (got ${got}, expected ${bound})`;
    }
    case 'too_small': {
      const unit = issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : '';
      const got = Array.isArray(value) ? `${value.length} items` : show(value);
      const bound = `${issue.inclusive === false ? '>' : 'at least'} ${String(issue.minimum)}${unit}`;
      const why = issue.message && !issue.message.startsWith('Too small') ? `${issue.message}: ` : '';
      return `${why}too small (got ${got}, expected ${bound})`;
    }
    case 'invalid_value':
      return `not an allowed value (got ${show(value)}, expected one of ${issue.values.map((v) => show(v)).join(', ')})`;
    case 'invalid_union': {
      const discriminator = (issue as { discriminator?: string }).discriminator;
      if (discriminator) {
        const got =
          value !== null && typeof value === 'object'
            ? (value as Record<string, unknown>)[discriminator]
            : value;
        return `unknown ${discriminator} (got ${show(got)}); the JSON Schema lists the allowed forms`;
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
