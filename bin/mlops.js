#!/usr/bin/env node
// `npx mlops ...`: the compiled CLI in dist/, or the TypeScript when dist/ is stale (bin/launch.js).
//
// A bare `mlops --help` is answered here, with the help the build recorded (dist/mlops.help.txt,
// what commander printed to a pipe), while none of the sources it depends on is newer than the
// build (BUILT.json `help`, listed by scripts/build-cli.js). Here rather than in launch.js, and
// without path.join or path.resolve: a second module file for node to resolve, or a path to
// normalize, makes V8 compile node's path-separator check, ~1.9 MiB of peak RSS; the first use of
// process.stdout builds node's net stream, another ~2.3 MiB (bench/README.md, "startup").
const { Buffer } = require('node:buffer');
const { fstatSync, readFileSync, statSync, writeSync } = require('node:fs');
const { sep } = require('node:path');

const ROOT = __dirname.slice(0, __dirname.lastIndexOf(sep));
/** `<ROOT>/<parts>`: the parts are normalized relative paths, as the build wrote them. */
const inRoot = (...parts) => [ROOT, ...parts].join(sep);

/** The recorded help, or undefined while a source it depends on may have changed since the build. */
function recordedHelp() {
  try {
    const stamp = inRoot('dist', 'BUILT.json');
    const built = statSync(stamp).mtimeMs;
    const record = JSON.parse(readFileSync(stamp, 'utf8'));
    for (const rel of record.help ?? record.sources)
      if (statSync(inRoot(rel)).mtimeMs > built) return undefined;
    return readFileSync(inRoot('dist', 'mlops.help.txt'), 'utf8');
  } catch {
    return undefined; // no build, no record, or a source removed: launch.js decides
  }
}

const quietOnClosedPipe = (err) => {
  if (err.code !== 'EPIPE') throw err;
};

/** Prints the recorded help; false when it cannot be trusted or would not fit the terminal. */
function printHelp() {
  const text = recordedHelp();
  if (text === undefined) return false;
  let terminal = true;
  try {
    terminal = fstatSync(1).isCharacterDevice(); // a terminal, or /dev/null
  } catch {
    // no standard output to examine: leave it to process.stdout
  }
  let rest = Buffer.from(text);
  if (terminal) {
    // commander wraps its help to a terminal's width: a narrower terminal needs commander itself.
    const columns = process.stdout.columns;
    if (columns !== undefined && text.split('\n').some((line) => line.length > columns)) return false;
  } else {
    // A pipe or a file: plain writes to descriptor 1, without building process.stdout.
    try {
      while (rest.length > 0) rest = rest.subarray(writeSync(1, rest));
      return true;
    } catch (err) {
      if (err.code === 'EPIPE') return true; // the reader went away (`mlops --help | head -1`)
      if (err.code !== 'EAGAIN') throw err;
    }
  }
  process.stdout.on('error', quietOnClosedPipe);
  process.stdout.write(rest);
  return true;
}

const argv = process.argv.slice(2);
const bareHelp = argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h');
if (!(bareHelp && printHelp())) require('./launch').launch('mlops');
