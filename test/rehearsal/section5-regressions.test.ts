/**
 * Issue 11 section 5 bugs that had a failing unit test but no scenario (audit, session 6): each
 * scenario in test/fixtures/scenarios fails with its fix reverted (its header says how that was
 * checked) and holds every invariant and expectation now.
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

it('shadow restore keeps an autoscaled live fleet: 3 instances at 300 requests a minute before, during and after the shadow stage', async () => {
  const path = 'test/fixtures/scenarios/shadow-restore-keeps-autoscaled-fleet.yaml';
  const report = await runScenario(parseScenario(readFileSync(join(ROOT, path), 'utf8'), path), shipped);
  expect(report.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  expect(report.expectations).toHaveLength(5);
  expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
  expect(report.expectations.filter((e) => e.key === 'liveInstances').map((e) => e.got)).toEqual([3, 3]);
  // The restore asked SageMaker to keep the fleet: the update back to production names 3 instances.
  expect(report.timeline).toContainEqual(
    expect.objectContaining({
      actor: 'sagemaker',
      message: expect.stringMatching(
        /Updating to mlops-document-classifier-[0-9a-f]+-live \(live: 3 instances\)$/,
      ),
    }),
  );
}, 120_000);

it('a canary that changed the instance type and was rolled back by its guardrail leaves the live variant with autoscaling', async () => {
  const path = 'test/fixtures/scenarios/guardrail-failed-instance-type-canary-keeps-autoscaling.yaml';
  const report = await runScenario(parseScenario(readFileSync(join(ROOT, path), 'utf8'), path), shipped);
  expect(report.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
  const canary = report.timeline.filter((e) => e.actor === 'canary (v2)').map((e) => e.message);
  expect(canary.at(-1)).toMatch(/^failed: Canary failed: the update to .* was rolled back/);
  expect(
    report.timeline.filter((e) => e.actor === 'autoscaling').map((e) => e.message.split(' ')[0]),
  ).toEqual(['registered', 'deregistered', 'registered']);
}, 120_000);
