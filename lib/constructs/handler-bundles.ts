import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { ILocalBundling } from 'aws-cdk-lib';
import { REPO_ROOT } from '../repo-root';

/** Repository root: handlers live in `lambdas/<handler>/index.ts`. */
const ROOT = REPO_ROOT;
const LAMBDAS = path.join(ROOT, 'lambdas');
/** Kept between runs: a synth whose inputs did not change reuses the bundles of the last one. */
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'mlops-handler-bundles');

/**
 * How every handler is bundled: what NodejsFunction did with our props (minified, external source
 * map, Node.js 24, CommonJS), with the runtime's AWS SDK v3 left out: bundling our own made each
 * bundle 1.5 MB and `cdk synth` 60% slower. The handlers use only long-stable calls.
 */
export const BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  minify: true,
  sourcemap: true,
  external: ['@aws-sdk/*'],
  logLevel: 'warning',
} as const;

interface Manifest {
  /** The checkout the bundles were built from (node_modules may be shared between checkouts). */
  readonly root: string;
  /** Every file esbuild read, relative to the repository root, with the SHA-256 of its content. */
  readonly inputs: Record<string, string>;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

/** `lambdas/<name>/index.ts` folders; `core` and `shared` are libraries and have none. */
function handlerNames(): string[] {
  return readdirSync(LAMBDAS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(LAMBDAS, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

function isFresh(dir: string): boolean {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return false;
  }
  return Object.entries(manifest.inputs).every(([rel, hash]) => {
    try {
      return sha256(readFileSync(path.join(ROOT, rel))) === hash;
    } catch {
      return false;
    }
  });
}

/** Runs the esbuild call (with the plugin that loads the AWS SDK on first use): see its header. */
const BUILD_SCRIPT = path.join(ROOT, 'scripts', 'bundle-handlers.js');

function build(handlers: readonly string[], into: string): void {
  const tmp = mkdtempSync(path.join(CACHE, 'tmp-'));
  try {
    // One esbuild call for every handler: each shared module (zod, Powertools, Octokit, core) is
    // read and parsed once instead of once per function.
    const options = {
      ...BUILD_OPTIONS,
      external: [...BUILD_OPTIONS.external],
      absWorkingDir: ROOT,
      entryPoints: Object.fromEntries(handlers.map((h) => [`${h}/index`, path.join(LAMBDAS, h, 'index.ts')])),
      outdir: tmp,
      metafile: true,
    };
    const child = spawnSync(process.execPath, [BUILD_SCRIPT], {
      cwd: ROOT,
      input: JSON.stringify(options),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (child.status !== 0) throw new Error(`bundling the Lambda handlers failed:\n${child.stderr}`);
    const inputs: Record<string, string> = {};
    // Files only: the plugin's modules (`lazy-aws-sdk:@aws-sdk/...`) are generated.
    for (const rel of JSON.parse(child.stdout) as string[])
      if (!rel.includes(':')) inputs[rel] = sha256(readFileSync(path.join(ROOT, rel)));
    writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify({ root: ROOT, inputs } satisfies Manifest));
    pruneOlderBuilds(into);
    rmSync(into, { recursive: true, force: true });
    try {
      renameSync(tmp, into);
    } catch (err) {
      // Another process (a parallel jest worker) published the same bundles first: use theirs.
      if (!isFresh(into)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Removes this checkout's other cache entries (an older lockfile or esbuild), so they do not pile up. */
function pruneOlderBuilds(keep: string): void {
  for (const entry of readdirSync(CACHE)) {
    const dir = path.join(CACHE, entry);
    if (dir === keep || entry.startsWith('tmp-')) continue;
    try {
      const { root } = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
      if (root === ROOT) rmSync(dir, { recursive: true, force: true });
    } catch {
      // not a finished entry of ours
    }
  }
}

let bundlesDir: string | undefined;

/**
 * The folder holding `<handler>/index.js` (and its source map) for every handler, built by one
 * esbuild call the first time a synth needs a bundle, and reused while no input changed.
 *
 * Freshness: the cache entry is keyed by the checkout, esbuild's version, the build options, the
 * handler list and package-lock.json; inside it, the SHA-256 of every file esbuild read is checked before
 * reuse, so an edited handler, core module or dependency rebuilds.
 */
export function handlerBundles(): string {
  if (bundlesDir) return bundlesDir;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuildVersion = (require('esbuild') as typeof import('esbuild')).version;
  const handlers = handlerNames();
  const key = sha256(
    JSON.stringify({
      root: ROOT,
      esbuildVersion,
      BUILD_OPTIONS,
      script: sha256(readFileSync(BUILD_SCRIPT)),
      handlers,
      lock: sha256(readFileSync(path.join(ROOT, 'package-lock.json'))),
    }),
  ).slice(0, 16);
  const dir = path.join(CACHE, key);
  mkdirSync(CACHE, { recursive: true });
  if (!isFresh(dir)) build(handlers, dir);
  bundlesDir = dir;
  return dir;
}

/**
 * Local bundling for `Code.fromAsset`: copies the handler's prebuilt bundle. CDK calls it only
 * for stacks that need bundling (Template tests skip it), once per handler per synth.
 */
export class HandlerBundle implements ILocalBundling {
  constructor(readonly handler: string) {}

  tryBundle(outputDir: string): boolean {
    cpSync(path.join(handlerBundles(), this.handler), outputDir, { recursive: true });
    return true;
  }
}
