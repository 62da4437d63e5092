/**
 * Issue 11, invariant 9, through the real handlers: a rollback an alarm asked for during a canary's
 * guarded deployment, deferred to SageMaker's auto-rollback, is looked at again when the release
 * ends (test/fixtures/scenarios/deferred-rollback-looked-at-again.yaml; its header says what
 * happened before the fix, seen failing with the handler change reverted).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from '../../lib/rehearsal/runner';
import { parseScenario } from '../../lib/rehearsal/scenario';
import { shippedRehearsal, type ShippedRehearsal } from '../helpers/rehearsal';

const ROOT = join(__dirname, '..', '..');

let shipped: ShippedRehearsal;

beforeAll(() => {
  shipped = shippedRehearsal();
}, 300_000);

it('an alarm still in ALARM a whole window after the guarded release ended rolls the serving version back', async () => {
  const path = 'test/fixtures/scenarios/deferred-rollback-looked-at-again.yaml';
  const report = await runScenario(parseScenario(readFileSync(join(ROOT, path), 'utf8'), path), shipped);
  expect(report.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  expect(report.expectations).toHaveLength(3);
  expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
  // Virtual time of the first timeline line that matches, in ms ("+03:47:00").
  const at = (pattern: RegExp) => {
    const clock = report.timeline.find((e) => pattern.test(`${e.actor} ${e.message}`))?.at;
    const [h, m, s] = (clock ?? '').replace('+', '').split(':').map(Number);
    return clock === undefined ? undefined : ((h! * 60 + m!) * 60 + s!) * 1000;
  };
  const deferred = at(/^rollback \(alarm live-error-rate\) deferred: /);
  const ended = at(/^sagemaker .*-live rolled back: InService/);
  const rolledBack = at(/^EventBridge → rollback fn \(live InService\) done: Rolled back /);
  expect(deferred).toBeDefined();
  expect(ended).toBeGreaterThan(deferred!);
  // Not at once (the alarm's window still held the deployment's minutes), but one window later.
  expect(rolledBack! - ended!).toBe(6 * 60_000);
  expect(report.final).toMatchObject({ serving: 'v1', alarmsInAlarm: [] });
  expect(report.pages.map((p) => p.subject)).toContain(
    'Rollback deferred to release guardrails: document-classifier',
  );
}, 180_000);
