#!/usr/bin/env bash
# The project's test command (`npm test`): every jest suite, with the type-check and lint beside it,
# ending with the "N passed, N failed" line CI reads. Extra arguments go to jest (e.g. `npm test -- test/config`).
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# So the tests that start bin/mlops.js run what `npm ci` installs, not a stale build.
step 'build the CLI (dist/)'
node scripts/build-cli.js || { echo 'CLI build failed'; echo '0 passed, 1 failed'; exit 1; }

# tsc (~12 s of CPU) and eslint + prettier (~35 s) are single-threaded and need nothing from jest,
# nor jest from them: they run beside jest instead of before it, so that on 2 cores they fill the
# time jest's workers spend waiting (moto, cfn-lint, the CLI's child processes) and the end of the
# run, where one worker is done and the other finishes its last suite. Run before jest, they took
# ~40 s of wall time during which jest had not started. `nice`: jest's waits on moto are the
# latency that matters; the checks take the CPU that is left. Their output comes after jest's.
#
# The type-check runs TypeScript 7 (the native compiler, package alias `typescript7`), same tsconfig:
# it reports the same errors as 5.9 (checked with planted errors) for a third of the CPU, and
# --singleThreaded is its cheapest mode here (bench/static-checks.ts: 12 s of CPU against 37 s for
# tsc 5.9 and 18 s for TS 7's default threads). `typescript` stays 5.9.3: TS 7 ships no JavaScript
# compiler API, which typescript-eslint and editors need. Both packages have a `tsc` bin and npm
# links only one of them (which one depends on install order), so TS 7 is run by its path.
nice -n 10 node node_modules/typescript7/bin/tsc --noEmit -p . --singleThreaded >"$tmp/tsc.log" 2>&1 &
tsc_pid=$!
{ nice -n 10 npx eslint . && nice -n 10 npx prettier --check . >/dev/null; } >"$tmp/lint.log" 2>&1 &
lint_pid=$!

step 'tests (jest)'
results="$tmp/jest.json"
npx jest --json --outputFile="$results" "$@"
jest_status=$?

wait "$tsc_pid"
tsc_status=$?
wait "$lint_pid"
lint_status=$?
step 'type-check (tsc --noEmit, TypeScript 7)'
cat "$tmp/tsc.log"
[ "$tsc_status" -ne 0 ] && echo 'type-check failed'
step 'lint (eslint, prettier --check)'
cat "$tmp/lint.log"
[ "$lint_status" -ne 0 ] && echo 'lint failed: run `npm run format` and fix what eslint reports'

# Each failed static check counts as one failure in the closing line CI reads.
static_failed=$(( (tsc_status != 0) + (lint_status != 0) ))
node -e '
  const fs = require("fs");
  const staticFailed = Number(process.argv[2]);
  let r = { numPassedTests: 0, numFailedTests: 0, numRuntimeErrorTestSuites: 1, numPendingTests: 0, numTodoTests: 0, numTotalTests: 0 };
  try {
    r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  } catch {
    console.log("jest wrote no results: it failed before running the tests");
  }
  const skipped = r.numPendingTests + r.numTodoTests;
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites + staticFailed;
  if (skipped > 0) console.log(`${skipped} skipped test(s): skipped tests are failures here`);
  console.log(`${r.numPassedTests} passed, ${failed + skipped} failed`);
  process.exit(failed + skipped > 0 || r.numTotalTests === 0 ? 1 : 0);
' "$results" "$static_failed" || exit 1
exit "$jest_status"
