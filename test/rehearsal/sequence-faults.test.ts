/**
 * The generator's fail steps: the default five calls (the draw every known long-run index and the
 * fixed-seed test rely on), or every call the stages make when asked (bench --all-calls).
 */
import fc from 'fast-check';
import { FAULT_CALLS } from '../../lib/rehearsal/scenario';
import { DEFAULT_FAULT_CALLS, sequences, type Gen } from '../../lib/rehearsal/sequences';

function failCalls(samples: Gen[][]): Set<string> {
  return new Set(samples.flat().flatMap((g) => (g.kind === 'fail' ? [g.call] : [])));
}

it('by default a fail step names one of the five default calls', () => {
  const calls = failCalls(fc.sample(sequences(6), { seed: 7, numRuns: 500 }));
  expect([...calls].sort()).toEqual([...DEFAULT_FAULT_CALLS].sort());
});

it('with every call, fail steps reach calls beyond the default five, and the other steps are drawn as by default', () => {
  const all = fc.sample(sequences(6, FAULT_CALLS), { seed: 7, numRuns: 500 });
  const calls = failCalls(all);
  expect([...calls].every((c) => (FAULT_CALLS as readonly string[]).includes(c))).toBe(true);
  expect(
    [...calls].filter((c) => !(DEFAULT_FAULT_CALLS as readonly string[]).includes(c)).length,
  ).toBeGreaterThan(10);
  // The same seed: the same kinds of steps in the same order; only the calls differ.
  const byDefault = fc.sample(sequences(6), { seed: 7, numRuns: 500 });
  expect(all.map((gen) => gen.map((g) => g.kind))).toEqual(byDefault.map((gen) => gen.map((g) => g.kind)));
});
