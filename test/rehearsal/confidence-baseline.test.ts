/**
 * The confidence alarm over a release's life, through the real handlers on the emulator: the
 * promotion makes it provisional (pages only), the scheduled baseline job measures the served
 * version's live baseline once its window has ended and arms it, and a later drop of confidence
 * rolls back without anyone acting. Invariant 8 (the alarm's band belongs to the served version) is
 * checked after every event.
 */
import { CALIBRATION_TARGETS } from '../../lambdas/core/monitoring/confidence-alarm';
import { runScenario, type RehearsalReport } from '../../lib/rehearsal/runner';
import { parseScenario } from '../../lib/rehearsal/scenario';
import { REHEARSAL_MODEL, shippedRehearsal, type ShippedRehearsal } from '../helpers/rehearsal';

const MODEL = REHEARSAL_MODEL;

let shipped: ShippedRehearsal;

beforeAll(() => {
  shipped = shippedRehearsal();
}, 300_000);

/** Seconds since the scenario started, from a timeline clock like `+06:31:00`. */
function seconds(clock: string): number {
  const [h, m, s] = clock.slice(1).split(':').map(Number);
  return h! * 3600 + m! * 60 + s!;
}

function at(report: RehearsalReport, actor: RegExp, message: RegExp = /.*/): number | undefined {
  const e = report.timeline.find((x) => actor.test(x.actor) && message.test(x.message));
  return e === undefined ? undefined : seconds(e.at);
}

describe('the confidence alarm from promotion to an automatic rollback', () => {
  let report: RehearsalReport;

  beforeAll(async () => {
    // v2's production-like eval mean is 0.84: after 6 healthy hours it degrades by 0.1.
    const scenario = parseScenario(
      [
        `model: ${MODEL}`,
        `traffic: { requestsPerMinute: ${CALIBRATION_TARGETS.fromRequestsPerMinute} }`,
        'seed: 13',
        'steps:',
        '  - release: v2',
        '  - wait: 390m',
        '  - expect: { serving: v2, routerEndpoint: live }',
        '  - degrade: { version: v2, confidenceMean: 0.74 }',
        '  - wait: 30m',
        '  - expect: { serving: v1 }',
      ].join('\n'),
      'inline.yaml',
    );
    report = await runScenario(scenario, shipped);
  }, 600_000);

  it('is provisional after the promotion, then armed by the baseline job once the 6-hour window has passed, with no false rollback', () => {
    const promoted = at(report, /^promotion \(v2\)/, /^succeeded/)!;
    const armed = at(report, /^baseline job$/, /^armed: /);
    expect(armed).toBeDefined();
    const hours = shipped.config.models.find((m) => m.name === MODEL)!.monitoring.confidenceAlarm
      .baselineHours;
    expect(armed! - promoted).toBeGreaterThanOrEqual(hours * 3600);
    // The job runs every 15 minutes and waits 5 for the last datapoints.
    expect(armed! - promoted).toBeLessThanOrEqual(hours * 3600 + 21 * 60);
    const line = report.timeline.find((e) => e.actor === 'baseline job' && e.message.startsWith('armed: '))!;
    expect(line.message).toMatch(/live baseline: mean confidence 0\.8\d+/);
    expect(line.message).toMatch(/is now armed on [0-9a-f]{40}'s live baseline/);
    const degraded = at(report, /^scenario$/, /v2 degrades/)!;
    expect(report.timeline.filter((e) => e.actor.startsWith('rollback') && seconds(e.at) < degraded)).toEqual(
      [],
    );
    expect(report.expectations.map((e) => [e.key, e.ok])).toEqual([
      ['serving', true],
      ['routerEndpoint', true],
      ['serving', true],
    ]);
  });

  it('rolls back on its own within the detection target after confidence drops by 0.1', () => {
    const degraded = at(report, /^scenario$/, /v2 degrades/)!;
    const rollback = at(report, /^rollback \(alarm live-confidence\)$/, /^done: v2 → v1/);
    expect(rollback).toBeDefined();
    expect(rollback! - degraded).toBeLessThanOrEqual(CALIBRATION_TARGETS.withinMinutes * 60);
    expect(report.timeToPreviousServing).toMatchObject({ to: 'v1' });
  });

  it('keeps the alarm on the served version throughout: invariant 8 holds, and after the rollback v1 is provisional', () => {
    const eight = report.invariants.find((i) => i.name === 'confidence-threshold-follows')!;
    expect(eight.violations).toEqual([]);
    expect(report.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  });
});
