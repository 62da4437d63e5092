// Starts an entry of this repository (`mlops`, or the CDK app `cdk synth` runs) from its compiled
// copy in dist/ (built by `npm ci` through the `prepare` script, and by `npm test`), or from the
// TypeScript through tsx when dist/ is missing or older than any source or folder, so an edit is
// never run as old code. The check stats ~80 paths: about a millisecond.
const { readFileSync, statSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** Why dist/ cannot be trusted (a source or folder newer than the build), or undefined. */
function staleness() {
  let built;
  let sources;
  try {
    const stamp = path.join(ROOT, 'dist', 'BUILT.json');
    built = statSync(stamp).mtimeMs;
    sources = JSON.parse(readFileSync(stamp, 'utf8')).sources;
  } catch {
    return 'dist/ is missing';
  }
  for (const rel of sources) {
    let mtime;
    try {
      // Not path.join: ~200 calls make node's path normalization hot enough for V8 to optimize it,
      // which maps ~3.5 MiB more of node's own code and made `mlops --help` 48.9 MiB instead of
      // 44.5 (bench/README.md, "startup"). The paths are relative and normalized by the build.
      mtime = statSync(ROOT + path.sep + rel).mtimeMs;
    } catch {
      return `${rel} was removed`;
    }
    if (mtime > built) return `${rel} is newer than dist/`;
  }
  return undefined;
}

/** Runs `bin/<name>.ts`, compiled or, when dist/ is stale, through tsx (saying why on a terminal). */
function launch(name) {
  const stale = staleness();
  if (!stale) return void require(path.join(ROOT, 'dist', 'bin', `${name}.js`));
  if (process.stderr.isTTY && stale !== 'dist/ is missing') {
    process.stderr.write(`${name}: ${stale}; running the TypeScript (npm run build:cli refreshes dist/)\n`);
  }
  require('tsx/cjs');
  require(path.join(ROOT, 'bin', `${name}.ts`));
}

module.exports = { launch };
