// Compiles the `mlops` CLI and the CDK app to dist/ (one CommonJS .js per .ts, types stripped, no
// bundling, so each command still loads only its own modules) so that bin/mlops.js and bin/app.js
// (what `cdk synth` runs) start without compiling TypeScript. `npm ci` runs it as `prepare`,
// `npm test` before the tests; it takes well under a second. bin/launch.js runs the TypeScript
// instead whenever a source is newer than this build.
const { spawnSync } = require('node:child_process');
const { readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/**
 * What is compiled: the two entries, lib/ (the CLI, the config it reads, the stacks and
 * constructs) and lambdas/ (the gates' logic; the rehearsal runs handlers).
 */
const CLI_SOURCES = ['bin/mlops.ts', 'bin/app.ts', 'lib', 'lambdas'];

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
// The CLI's entry, program.ts, its helpers and commander as one file: `mlops --help` then resolves
// and loads 4 modules instead of 13, and each resolution runs node's path normalization; ~200 of
// them made V8 optimize that function, mapping ~3.5 MiB more of node's own code (peak RSS 47.9
// MiB, now 43; bench/README.md, "startup"). io.ts and the commands stay separate modules: the
// commands import io.ts too, and one copy of it keeps `instanceof UsageError` true; they use
// commander only through the Command they are given (type imports).
const cliBundle = buildSync({
  entryPoints: [path.join(ROOT, 'lib/cli/main.ts')],
  outfile: path.join(dist, 'lib/cli/main.js'),
  bundle: true,
  external: ['./commands/*', './io'],
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  allowOverwrite: true,
  metafile: true,
});
// `mlops --help` as commander prints it to a pipe, which bin/launch.js prints without loading the
// CLI while this build is fresh. The help's own inputs are recorded with it: the modules the compiled
// CLI loads to print it (the preloaded script writes their list to a file), each mapped back to its
// source (main.js to the sources bundled into it).
const loadedList = path.join(dist, 'help-modules.json');
const help = spawnSync(
  process.execPath,
  ['-r', path.join(ROOT, 'scripts', 'loaded-modules.js'), path.join(dist, 'bin', 'mlops.js'), '--help'],
  { encoding: 'utf8', env: { ...process.env, MLOPS_LOADED_MODULES: loadedList } },
);
if (help.status !== 0) {
  process.stderr.write(`build-cli: mlops --help failed (${help.status}):\n${help.stderr}`);
  process.exit(1);
}
writeFileSync(path.join(dist, 'mlops.help.txt'), help.stdout);
const loaded = JSON.parse(readFileSync(loadedList, 'utf8'));
rmSync(loadedList);
const helpFiles = new Set();
for (const file of loaded) {
  const rel = path.relative(dist, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) continue; // node_modules, the launcher itself
  if (rel === path.join('lib', 'cli', 'main.js')) {
    for (const input of Object.keys(cliBundle.metafile.inputs)) {
      const abs = path.resolve(ROOT, input);
      if (!path.relative(ROOT, abs).startsWith('..') && !abs.includes(`${path.sep}node_modules${path.sep}`))
        helpFiles.add(path.relative(ROOT, abs));
    }
  } else helpFiles.add(rel.replace(/\.js$/, '.ts'));
}
for (const rel of helpFiles) {
  if (!files.includes(rel)) {
    process.stderr.write(`build-cli: the help loads ${rel}, which is not among the compiled sources\n`);
    process.exit(1);
  }
}
const helpDirs = [...new Set([...helpFiles].map((rel) => path.dirname(rel)))];
// Written last: its time is the build's. bin/launch.js compares it with the time of every source
// (an edit) and of every folder holding one (a file added, removed or renamed); for a bare
// `mlops --help`, with those of the help's own sources only (`help`).
writeFileSync(
  path.join(dist, 'BUILT.json'),
  JSON.stringify({ sources: [...dirs, ...files], help: [...helpDirs, ...helpFiles].sort() }),
);
