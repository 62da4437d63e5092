/**
 * What the generator draws beside the classic steps: releases paused part-way through each stage
 * (`pauseIn`/`pauseAfter`), the callers stopping and coming back (`traffic`), and now and then a
 * retirement near the end (`retire`). Every drawn sequence is written in the scenario format and
 * read back as the same steps, so a shrunk failure replays with `mlops rehearse`.
 */
import fc from 'fast-check';
import { parseScenario, type Step } from '../../lib/rehearsal/scenario';
import { scenarioYaml, sequences, toScenario, type Gen } from '../../lib/rehearsal/sequences';

const OPTIONS = { model: 'document-classifier', seed: 3, requestsPerMinute: 4 };
const drawn = fc.sample(sequences(6), { seed: 7, numRuns: 600 });

function steps(gen: readonly Gen[]): Step[] {
  return [...toScenario(gen, OPTIONS).steps];
}

it('pauses releases part-way through each stage, from its first poll to 45 minutes in', () => {
  const paused = drawn.flatMap(steps).flatMap((s) => (s.kind === 'release' && s.pauseIn ? [s] : []));
  expect(new Set(paused.map((s) => s.pauseIn))).toEqual(new Set(['shadow', 'canary', 'promotion']));
  const minutes = paused.map((s) => (s.kind === 'release' ? (s.pauseAfterMs ?? 0) / 60_000 : 0));
  expect(Math.min(...minutes)).toBe(0);
  expect(Math.max(...minutes)).toBeGreaterThan(30);
  expect(Math.max(...minutes)).toBeLessThanOrEqual(45);
  // A pause never lies beyond the run's stopAfter (the scenario format refuses that).
  for (const s of drawn.flatMap(steps)) {
    if (s.kind === 'release' && s.pauseIn && s.stopAfter)
      expect(['shadow', 'canary', 'promotion'].indexOf(s.pauseIn)).toBeLessThanOrEqual(
        ['shadow', 'canary', 'promotion'].indexOf(s.stopAfter),
      );
  }
});

it('stops and resumes the callers, but most sequences keep their traffic and the classic steps', () => {
  const all = drawn.flatMap(steps);
  const rates = all.flatMap((s) => (s.kind === 'traffic' ? [s.requestsPerMinute] : []));
  expect(new Set(rates)).toEqual(new Set([0, OPTIONS.requestsPerMinute]));
  const withTraffic = drawn.filter((g) => g.some((s) => s.kind === 'traffic')).length;
  expect(withTraffic / drawn.length).toBeLessThan(0.4);
  const classic = all.filter(
    (s) => !['traffic', 'retire'].includes(s.kind) && !(s.kind === 'release' && s.pauseIn),
  );
  expect(classic.length / all.length).toBeGreaterThan(0.8);
});

it('retires rarely and only at the end: at most two steps a person might still try come after', () => {
  const retiring = drawn.filter((g) => g.some((s) => s.kind === 'retire'));
  expect(retiring.length).toBeGreaterThan(drawn.length / 20);
  expect(retiring.length).toBeLessThan(drawn.length / 5);
  for (const g of retiring) {
    const at = g.findIndex((s) => s.kind === 'retire');
    expect(g.filter((s) => s.kind === 'retire')).toHaveLength(1);
    const after = g.slice(at + 1);
    expect(after.length).toBeLessThanOrEqual(2);
    expect(after.every((s) => ['release', 'rollback', 'retry', 'wait'].includes(s.kind))).toBe(true);
  }
  // Some retirements come after the callers stopped and 16 quiet minutes: the guard can retire then.
  const quiet = retiring.filter((g) => {
    const at = g.findIndex((s) => s.kind === 'retire');
    const [stop, wait] = g.slice(at - 2, at);
    return stop?.kind === 'traffic' && stop.callers === 'stop' && wait?.kind === 'wait' && wait.minutes >= 15;
  });
  expect(quiet.length).toBeGreaterThan(0);
  expect(quiet.length).toBeLessThan(retiring.length);
});

it('draws none of them with `classic`, the steps of earlier long runs', () => {
  const classic = fc.sample(sequences(6, undefined, { classic: true }), { seed: 7, numRuns: 600 });
  const kinds = new Set(classic.flat().map((s) => s.kind));
  expect(kinds.has('traffic') || kinds.has('retire')).toBe(false);
  expect(classic.flat().some((s) => s.kind === 'release' && s.pause !== undefined)).toBe(false);
  expect(kinds).toEqual(new Set(['release', 'degrade', 'rollback', 'retry', 'fail', 'wait']));
});

it('writes every drawn sequence as a scenario that reads back as the same steps', () => {
  const strip = (list: readonly Step[]) => list.map(({ line: _line, ...rest }) => rest);
  for (const gen of drawn) {
    const scenario = toScenario(gen, OPTIONS);
    const back = parseScenario(scenarioYaml(scenario, 'generated'), 'generated.yaml');
    expect(strip(back.steps)).toEqual(strip(scenario.steps));
    expect(back.requestsPerMinute).toBe(OPTIONS.requestsPerMinute);
  }
});
