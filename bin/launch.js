// Starts an entry of this repository (`mlops`, or the CDK app `cdk synth` runs) from its compiled
// copy in dist/ (built by `npm ci` through the `prepare` script, and by `npm test`), or from the
// TypeScript through tsx when dist/ is missing or older than any source or folder, so an edit is
// never run as old code. The check stats ~80 paths: about a millisecond.
const { Buffer } = require('node:buffer');
const { fstatSync, readFileSync, statSync, writeSync } = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/**
 * Why dist/ cannot be trusted (a source or folder newer than the build), or undefined. `part`
 * `help`: only the sources the recorded help depends on (scripts/build-cli.js lists them), so a bare
 * `mlops --help` stats ~7 paths rather than ~220: each stat builds a Stats object, and ~220 of them
 * made V8 compile node's `msFromTimeSpec`, ~1.9 MiB of peak RSS (bench/README.md, "startup").
 */
function staleness(part = 'sources') {
  let built;
  let sources;
  try {
    const stamp = path.join(ROOT, 'dist', 'BUILT.json');
    built = statSync(stamp).mtimeMs;
    const record = JSON.parse(readFileSync(stamp, 'utf8'));
    sources = record[part] ?? record.sources;
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

/** True for a bare `--help` or `-h`, which prints the help the build recorded (`recordedHelp`). */
const bareHelp = (argv) => argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h');

/**
 * `<name> --help` as the build recorded it (dist/<name>.help.txt, what commander printed to a
 * pipe), or undefined when that text may differ from commander's: no record, or a terminal narrower
 * than a line (commander would wrap it).
 */
function recordedHelp(name, terminal) {
  let text;
  try {
    text = readFileSync(path.join(ROOT, 'dist', `${name}.help.txt`), 'utf8');
  } catch {
    return undefined;
  }
  const columns = terminal ? process.stdout.columns : undefined;
  if (columns !== undefined && text.split('\n').some((line) => line.length > columns)) return undefined;
  return text;
}

/**
 * Writes `text` to standard output. To a pipe or a file, with plain writes to descriptor 1: the first
 * use of `process.stdout` builds a stream (node's net and stream modules), 2.3 MiB of peak RSS that
 * `mlops --help` needs for nothing else. A terminal (a character device, which /dev/null also is)
 * gets `process.stdout`, as does anything a plain write cannot finish at once.
 */
function print(text, terminal) {
  const quietOnClosedPipe = (err) => {
    if (err.code !== 'EPIPE') throw err;
  };
  let rest = Buffer.from(text);
  if (!terminal) {
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(1, rest));
      return;
    } catch (err) {
      if (err.code === 'EPIPE') return; // the reader went away (`mlops --help | head -1`)
      if (err.code !== 'EAGAIN') throw err;
    }
  }
  process.stdout.on('error', quietOnClosedPipe);
  process.stdout.write(rest);
}

/** Runs `bin/<name>.ts`, compiled or, when dist/ is stale, through tsx (saying why on a terminal). */
function launch(name, argv = process.argv.slice(2)) {
  // Loading and running the CLI to print a fixed text took 4–8 MiB of peak RSS above `node -e 0`
  // (more on Node 24 than on 20); the recorded text takes none (bench/README.md, "startup").
  if (bareHelp(argv) && staleness('help') === undefined) {
    let terminal = true;
    try {
      terminal = fstatSync(1).isCharacterDevice();
    } catch {
      // no standard output to examine: leave it to process.stdout
    }
    const help = recordedHelp(name, terminal);
    if (help !== undefined) return void print(help, terminal);
  }
  const stale = staleness();
  if (!stale) return void require(path.join(ROOT, 'dist', 'bin', `${name}.js`));
  if (process.stderr.isTTY && stale !== 'dist/ is missing') {
    process.stderr.write(`${name}: ${stale}; running the TypeScript (npm run build:cli refreshes dist/)\n`);
  }
  require('tsx/cjs');
  require(path.join(ROOT, 'bin', `${name}.ts`));
}

module.exports = { launch };
