#!/usr/bin/env node
// `npx mlops ...`: runs the compiled CLI in dist/ (built by `npm ci` through the `prepare` script,
// and by `npm test`), or the TypeScript through tsx when dist/ is missing or older than any
// source or folder, so an edit is never run as old code. The check stats ~80 paths: about a
// millisecond.
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
      mtime = statSync(path.join(ROOT, rel)).mtimeMs;
    } catch {
      return `${rel} was removed`;
    }
    if (mtime > built) return `${rel} is newer than dist/`;
  }
  return undefined;
}

const stale = staleness();
if (stale) {
  if (process.stderr.isTTY && stale !== 'dist/ is missing') {
    process.stderr.write(`mlops: ${stale}; running the TypeScript (npm run build:cli refreshes dist/)\n`);
  }
  require('tsx/cjs');
  require('./mlops.ts');
} else {
  require('../dist/bin/mlops.js');
}
