/**
 * Issue 11 section 5 bugs that had a failing unit test but no scenario (audit, session 6): each
 * scenario in test/fixtures/scenarios fails with its fix reverted (its header says how that was
 * checked) and holds every invariant and expectation now.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario } from '../../lib/rehearsal/runner';
import type { Template } from '../../lib/rehearsal/template';
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

/**
 * The shipped model stack as `routing.flagDeployment.durationMinutes: 30` synthesizes it: the
 * promotion's strategy lasts 30 minutes (and says so) and the release settings carry the value.
 * Checked against a real synth of that config: these three values are the whole difference.
 */
function withGradualPromotion(template: Template): Template {
  const copy = structuredClone(template) as Template & {
    Resources: Record<string, { Type: string; Properties: any }>;
  };
  const strategies = Object.values(copy.Resources).filter(
    (r) =>
      r.Type === 'AWS::AppConfig::DeploymentStrategy' && !String(r.Properties.Name).endsWith('-rollback'),
  );
  expect(strategies).toHaveLength(1);
  strategies[0]!.Properties.DeploymentDurationInMinutes = 30;
  strategies[0]!.Properties.Description = 'Linear over 30 minutes.';
  const settings = Object.values(copy.Resources).find(
    (r) => r.Type === 'AWS::SSM::Parameter' && String(r.Properties.Value).includes('"flagDeployment"'),
  )!;
  const value = JSON.parse(settings.Properties.Value as string);
  value.routing.flagDeployment.durationMinutes = 30;
  settings.Properties.Value = JSON.stringify(value);
  return copy;
}

it('a rollback under a gradual (30-minute) promotion strategy still reaches every router within the flag cache', async () => {
  const path = 'test/fixtures/scenarios/rollback-instant-under-gradual-promotion.yaml';
  const report = await runScenario(parseScenario(readFileSync(join(ROOT, path), 'utf8'), path), {
    ...shipped,
    template: withGradualPromotion(shipped.template),
  });
  expect(report.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
  const flags = report.timeline.filter((e) => e.actor === 'appconfig').map((e) => e.message);
  // The promotion's flag rolls out over 30 minutes; the rollback's at once.
  expect(flags).toContainEqual(
    expect.stringMatching(/deploying \(30 min, bake 0 min\): stable [0-9a-f]+ on live$/),
  );
  expect(flags).toContainEqual(
    expect.stringMatching(/deploying \(0 min, bake 0 min\): stable [0-9a-f]+ on standby$/),
  );
  expect(report.timeToPreviousServing?.to).toBe('v1');
  expect(report.timeToPreviousServing!.seconds).toBeLessThanOrEqual(
    shipped.config.models[0]!.routing.flagCacheSeconds,
  );
}, 120_000);

it('shadow agreement pairs the two variants on the InferenceId the router sends: the report names the requests it matched', async () => {
  const path = 'test/fixtures/scenarios/shadow-pairs-on-inference-id.yaml';
  const report = await runScenario(parseScenario(readFileSync(join(ROOT, path), 'utf8'), path), shipped);
  expect(report.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
  const done = report.timeline.filter((e) => e.actor === 'shadow (v2)' && e.message.startsWith('succeeded:'));
  expect(done).toHaveLength(1);
  // Without the router's InferenceId the same run says "NOT compared request by request: compared nothing".
  expect(done[0]!.message).not.toMatch(/compared nothing/);
  const matched = Number(/paired on (\d+) matched requests/.exec(done[0]!.message)?.[1]);
  expect(matched).toBeGreaterThan(20);
  expect(done[0]!.message).toMatch(/agreement 100\.0% \[[\d.]+, 100\.0\] on \d+ compared requests/);
}, 120_000);
