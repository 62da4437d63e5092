#!/usr/bin/env bash
# The project's test command (`npm test`): type-check, lint, then every jest suite, ending with
# the "N passed, N failed" line CI reads. Extra arguments go to jest (e.g. `npm test -- test/config`).
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$1"; }

step 'type-check (tsc --noEmit)'
npx tsc --noEmit -p . || { echo 'type-check failed'; echo '0 passed, 1 failed'; exit 1; }

step 'lint (eslint, prettier --check)'
{ npx eslint . && npx prettier --check . >/dev/null; } || {
  echo 'lint failed: run `npm run format` and fix what eslint reports'
  echo '0 passed, 1 failed'
  exit 1
}

step 'build the CLI (dist/)'
# So the tests that start bin/mlops.js run what `npm ci` installs, not a stale build.
node scripts/build-cli.js || { echo 'CLI build failed'; echo '0 passed, 1 failed'; exit 1; }

step 'tests (jest)'
results=$(mktemp)
trap 'rm -f "$results"' EXIT
npx jest --json --outputFile="$results" "$@"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  if (skipped > 0) console.log(`${skipped} skipped test(s): skipped tests are failures here`);
  console.log(`${r.numPassedTests} passed, ${failed + skipped} failed`);
  process.exit(failed + skipped > 0 || r.numTotalTests === 0 ? 1 : 0);
' "$results" || exit 1
exit "$status"
