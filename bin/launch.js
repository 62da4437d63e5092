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

/**
 * `<name> --help` as the build recorded it (dist/<name>.help.txt, what commander printed to a
 * pipe), or undefined when that text may differ from commander's: other arguments, no record, or
 * a terminal narrower than a line (commander would wrap it).
 */
function recordedHelp(name, argv) {
  if (argv.length !== 1 || (argv[0] !== '--help' && argv[0] !== '-h')) return undefined;
  let text;
  try {
    text = readFileSync(path.join(ROOT, 'dist', `${name}.help.txt`), 'utf8');
  } catch {
    return undefined;
  }
  const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
  if (columns !== undefined && text.split('\n').some((line) => line.length > columns)) return undefined;
  return text;
}

/** Runs `bin/<name>.ts`, compiled or, when dist/ is stale, through tsx (saying why on a terminal). */
function launch(name, argv = process.argv.slice(2)) {
  const stale = staleness();
  // Loading and running the CLI to print a fixed text took 4–8 MiB of peak RSS above `node -e 0`
  // (more on Node 24 than on 20); the recorded text takes none (bench/README.md, "startup").
  const help = stale ? undefined : recordedHelp(name, argv);
  if (help !== undefined) {
    process.stdout.on('error', (err) => {
      if (err.code !== 'EPIPE') throw err;
    });
    return void process.stdout.write(help);
  }
  if (!stale) return void require(path.join(ROOT, 'dist', 'bin', `${name}.js`));
  if (process.stderr.isTTY && stale !== 'dist/ is missing') {
    process.stderr.write(`${name}: ${stale}; running the TypeScript (npm run build:cli refreshes dist/)\n`);
  }
  require('tsx/cjs');
  require(path.join(ROOT, 'bin', `${name}.ts`));
}

module.exports = { launch };
