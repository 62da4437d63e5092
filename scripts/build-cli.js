// Compiles the `mlops` CLI to dist/ (one CommonJS .js per .ts, types stripped, no bundling, so
// each command still loads only its own modules) so that bin/mlops.js starts without compiling
// TypeScript. `npm ci` runs it as `prepare`, `npm test` before the tests; it takes well under a
// second. bin/mlops.js runs the TypeScript instead whenever a source is newer than this build.
const { readdirSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/**
 * What the CLI is compiled from: its entry, lib/ (the CLI and the config it reads) and lambdas/
 * (the gates' logic; the rehearsal runs handlers).
 */
const CLI_SOURCES = ['bin/mlops.ts', 'lib', 'lambdas'];

/** The .ts files under `rel` (a file or a folder), and the folders holding them. */
function walk(rel, files, dirs) {
  const abs = path.join(ROOT, rel);
  if (rel.endsWith('.ts')) return void files.push(rel);
  dirs.push(rel);
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    if (e.isDirectory()) walk(path.join(rel, e.name), files, dirs);
    else if (e.name.endsWith('.ts')) files.push(path.join(rel, e.name));
  }
}

const files = [];
const dirs = [];
for (const rel of CLI_SOURCES) walk(rel, files, dirs);

let buildSync;
try {
  ({ buildSync } = require('esbuild'));
} catch {
  // An install without devDependencies: bin/mlops.js runs the TypeScript through tsx instead.
  process.stderr.write('build-cli: esbuild is not installed; mlops will run from the TypeScript sources.\n');
  process.exit(0);
}

const dist = path.join(ROOT, 'dist');
rmSync(dist, { recursive: true, force: true });
buildSync({
  entryPoints: files.map((f) => path.join(ROOT, f)),
  outdir: dist,
  outbase: ROOT,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
// Written last: its time is the build's. bin/mlops.js compares it with the time of every source
// (an edit) and of every folder holding one (a file added, removed or renamed).
writeFileSync(path.join(dist, 'BUILT.json'), JSON.stringify({ sources: [...dirs, ...files] }));
