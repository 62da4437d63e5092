// Longest suites first, so that neither jest worker is left running one long suite alone at the end.
// Jest's own order uses the durations of the last run, and without them (a clean clone: CI) the file
// size; but the longest suites here are short files that simulate (rehearsals, calibrations), which
// that order ran last. Without a recorded duration this uses the CPU seconds in suite-weights.json
// (measured with `npx tsx bench/test-cpu.ts --weights`), else the file size.
const path = require('node:path');
const { statSync } = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;
const weights = require('./suite-weights.json');

const ROOT = path.resolve(__dirname, '../..');
/** About 0.14 ms of CPU per byte of test file: the median over this repository's suites (2026-12). */
const MS_PER_BYTE = 0.14;

class LongestFirst extends Sequencer {
  sort(tests) {
    const estimate = (test) => {
      const recorded = this.time(test);
      if (recorded != null) return recorded;
      const weight = weights[path.relative(ROOT, test.path).split(path.sep).join('/')];
      if (weight != null) return weight * 1000;
      try {
        return statSync(test.path).size * MS_PER_BYTE;
      } catch {
        return 0;
      }
    };
    const ms = new Map(tests.map((t) => [t, estimate(t)]));
    // Suites that failed last time still come first, as in jest's own order.
    return [...tests].sort(
      (a, b) => Number(this.hasFailed(b)) - Number(this.hasFailed(a)) || ms.get(b) - ms.get(a),
    );
  }
}

module.exports = LongestFirst;
