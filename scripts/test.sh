#!/usr/bin/env bash
# The project's test command (`npm test`): type-check, lint, then every jest suite, ending with
# the "N passed, N failed" line CI reads. Extra arguments go to jest (e.g. `npm test -- test/config`).
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# tsc (~45 s of CPU) and eslint + prettier (~20 s each) are single-threaded: one after the other they
# leave the second core idle for over a minute, side by side they take about as long as tsc alone.
npx tsc --noEmit -p . >"$tmp/tsc.log" 2>&1 &
tsc_pid=$!
{ npx eslint . && npx prettier --check . >/dev/null; } >"$tmp/lint.log" 2>&1 &
lint_pid=$!
wait "$tsc_pid"
tsc_status=$?
wait "$lint_pid"
lint_status=$?

step 'type-check (tsc --noEmit)'
cat "$tmp/tsc.log"
step 'lint (eslint, prettier --check)'
cat "$tmp/lint.log"
if [ "$tsc_status" -ne 0 ] || [ "$lint_status" -ne 0 ]; then
  [ "$tsc_status" -ne 0 ] && echo 'type-check failed'
  [ "$lint_status" -ne 0 ] && echo 'lint failed: run `npm run format` and fix what eslint reports'
  echo '0 passed, 1 failed'
  exit 1
fi

step 'build the CLI (dist/)'
# So the tests that start bin/mlops.js run what `npm ci` installs, not a stale build.
node scripts/build-cli.js || { echo 'CLI build failed'; echo '0 passed, 1 failed'; exit 1; }

step 'tests (jest)'
results="$tmp/jest.json"
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
