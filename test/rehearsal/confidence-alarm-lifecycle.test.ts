/**
 * Invariant 8 outside the window between a canary and its promotion: the confidence alarm's state
 * is a verdict on the band of the version that serves, and an alarm that went into ALARM before a
 * release began does not block that release. Scenarios through the real handlers on the emulator,
 * every invariant checked after every event.
 */
import type { InvariantName } from '../../lib/rehearsal/invariants';
import { runScenario, type RehearsalReport } from '../../lib/rehearsal/runner';
import { parseScenario } from '../../lib/rehearsal/scenario';
import { REHEARSAL_MODEL, shippedRehearsal, type ShippedRehearsal } from '../helpers/rehearsal';

const MODEL = REHEARSAL_MODEL;

let shipped: ShippedRehearsal;

beforeAll(() => {
  shipped = shippedRehearsal();
}, 300_000);

async function rehearse(steps: readonly string[], requestsPerMinute = 20): Promise<RehearsalReport> {
  const text = [
    `model: ${MODEL}`,
    `traffic: { requestsPerMinute: ${requestsPerMinute} }`,
    'seed: 46',
    'steps:',
    ...steps.map((s) => `  - ${s}`),
  ].join('\n');
  return runScenario(parseScenario(text, 'inline.yaml'), shipped);
}

function failed(report: RehearsalReport): InvariantName[] {
  return report.invariants.filter((i) => !i.ok).map((i) => i.name);
}

describe('invariant 8: a confidence alarm in ALARM before a release began', () => {
  it('does not fail the canary of the release that replaces the degraded version (found by the generated sequences)', async () => {
    // v1 collapses: its provisional alarm pages (no rollback: nothing to return to). v2 is the fix.
    const report = await rehearse([
      'degrade: { version: v1, confidenceMean: 0.5 }',
      'wait: 10m',
      'release: v2',
      'wait: 10m',
      'expect: { serving: v2, liveEndpoint: v2, standby: v1, routerEndpoint: live }',
    ]);
    expect(
      report.timeline.some((e) => e.actor === 'cloudwatch' && /live-confidence: OK → ALARM/.test(e.message)),
    ).toBe(true);
    expect(failed(report)).toEqual([]);
    expect(report.expectations.every((e) => e.ok)).toBe(true);
    expect(report.final.alarmsInAlarm).toEqual([]);
  });

  it("is evaluated afresh on the band of the version promoted after it: the ALARM of v1's band does not carry over to v2", async () => {
    // v2 fixes v1's errors but collapses too: promotion re-baselines the alarm for v2, whose own
    // provisional band it breaches. Kept in ALARM from v1's band, the alarm would never page for v2.
    const report = await rehearse([
      'degrade: { version: v1, confidenceMean: 0.5 }',
      'wait: 10m',
      '{ release: v2, stopAfter: shadow }',
      'degrade: { version: v2, confidenceMean: 0.5 }',
      'retry: canary',
      'wait: 15m',
      'expect: { serving: v2 }',
    ]);
    expect(failed(report)).toEqual([]);
    expect(report.expectations.every((e) => e.ok)).toBe(true);
    const promoted = report.timeline.findIndex(
      (e) => e.actor === 'promotion (v2)' && e.message.startsWith('succeeded'),
    );
    expect(promoted).toBeGreaterThan(0);
    // After the promotion the alarm enters ALARM again, on v2's band (its actions run again).
    expect(
      report.timeline
        .slice(promoted)
        .some((e) => e.actor === 'cloudwatch' && /live-confidence: \S+ → ALARM/.test(e.message)),
    ).toBe(true);
  });
});
