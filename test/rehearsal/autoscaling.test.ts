/**
 * The emulated Application Auto Scaling follows target tracking as AWS documents it (citations in
 * lib/rehearsal/cloud.ts `autoscale`): it adds capacity after a few busy minutes, removes it only
 * after a quarter of an hour below the scale-in threshold and to what the busiest of those minutes
 * needs, waits out the ScaleInCooldown the policy was put with between scale-ins, and scales out at
 * once during that cooldown. The policy is the one the handlers put (lambdas/core scalingPolicySpec),
 * not a second copy of its numbers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
} from '@aws-sdk/client-sagemaker';
import {
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { scalableTargetSpec, scalingPolicySpec } from '../../lambdas/core/serving/endpoint-spec';
import { Cloud, TARGET_TRACKING } from '../../lib/rehearsal/cloud';
import { clients } from '../../lib/rehearsal/clients';
import { Random } from '../../lib/rehearsal/random';
import { runScenario } from '../../lib/rehearsal/runner';
import { parseScenario } from '../../lib/rehearsal/scenario';
import { shippedRehearsal } from '../helpers/rehearsal';

const START = Date.parse('2026-01-05T09:00:00Z');
const ENDPOINT = 'mlops-test-live';
const settings = { autoscaling: { minInstances: 2, maxInstances: 6, targetInvocationsPerInstance: 120 } };

/** A live endpoint in service with `instances` instances, autoscaled by the handlers' policy. */
async function autoscaledFleet(instances: number, policy: Record<string, unknown> = {}) {
  const cloud = new Cloud(START, new Random(1), []);
  const c = clients(cloud);
  type SageMakerSent = Parameters<typeof c.sagemaker.send>[0];
  type ScalingSent = Parameters<typeof c.autoscaling.send>[0];
  await c.sagemaker.send(
    new CreateModelCommand({
      ModelName: 'm',
      PrimaryContainer: { Image: 'img' },
    }) as unknown as SageMakerSent,
  );
  await c.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'cfg',
      ProductionVariants: [
        {
          VariantName: 'live',
          ModelName: 'm',
          InstanceType: 'ml.g5.xlarge',
          InitialInstanceCount: instances,
        },
      ],
    }) as unknown as SageMakerSent,
  );
  await c.sagemaker.send(
    new CreateEndpointCommand({
      EndpointName: ENDPOINT,
      EndpointConfigName: 'cfg',
    }) as unknown as SageMakerSent,
  );
  for (let i = 0; i < 60 && cloud.endpoints.get(ENDPOINT)?.status !== 'InService'; i++) {
    cloud.nowMs += 60_000;
    cloud.settle();
  }
  await c.autoscaling.send(
    new RegisterScalableTargetCommand(scalableTargetSpec(settings, ENDPOINT)) as unknown as ScalingSent,
  );
  const spec = scalingPolicySpec(settings, ENDPOINT);
  await c.autoscaling.send(
    new PutScalingPolicyCommand({
      ...spec,
      TargetTrackingScalingPolicyConfiguration: {
        ...spec.TargetTrackingScalingPolicyConfiguration,
        ...policy,
      },
    }) as unknown as ScalingSent,
  );
  const fleet = () => cloud.instancesOf(ENDPOINT, 'live');
  /** One minute of `requests` to the live variant, then the minute's autoscaling; the fleet after it. */
  const minute = (requests: number) => {
    cloud.nowMs += 60_000;
    cloud.autoscale((endpoint, variant) => (endpoint === ENDPOINT && variant === 'live' ? requests : 0));
    return fleet();
  };
  return { cloud, fleet, minute };
}

describe('emulated target tracking on invocations per instance', () => {
  it('reads the target and cooldowns the handlers put, not a copy of them', async () => {
    const { cloud } = await autoscaledFleet(2);
    const spec = scalingPolicySpec(settings, ENDPOINT).TargetTrackingScalingPolicyConfiguration;
    expect(cloud.scalableTargets.get(`endpoint/${ENDPOINT}/variant/live`)?.policy).toMatchObject({
      target: spec.TargetValue,
      scaleInCooldownMs: spec.ScaleInCooldown * 1000,
      scaleOutCooldownMs: spec.ScaleOutCooldown * 1000,
      disableScaleIn: false,
    });
  });

  it('scales out only after the scale-out alarm has seen enough busy minutes, to the count the traffic needs', async () => {
    const { minute } = await autoscaledFleet(2);
    const fleets = [600, 600, 600, 600].map(minute);
    // 300 a minute per instance against a target of 120: ceil(600 / 120) = 5 at the third minute.
    expect(fleets).toEqual([2, 2, 5, 5]);
    expect(TARGET_TRACKING.scaleOutDatapoints).toBe(3);
  });

  it('keeps an idle fleet through a few idle minutes (a rollback bridge) and scales in after a quarter of an hour of low traffic', async () => {
    const { minute } = await autoscaledFleet(5);
    for (let i = 0; i < 20; i++) expect(minute(500)).toBe(5);
    // Six idle minutes: the busiest minute of the last fifteen still needs 5 instances.
    for (let i = 0; i < 6; i++) expect(minute(0)).toBe(5);
    for (let i = 0; i < 20; i++) expect(minute(500)).toBe(5);
    // Then the callers really send less: 14 minutes keep the fleet, the 15th scales it in.
    const after = Array.from({ length: 16 }, () => minute(100));
    expect(after.slice(0, 14)).toEqual(Array(14).fill(5));
    expect(after[14]).toBe(2);
  });

  it('waits out the ScaleInCooldown between scale-ins, and a scale-out during it happens at once', async () => {
    const { minute } = await autoscaledFleet(6, { ScaleInCooldown: 1800 });
    // 100 a minute per instance on 6 is below 0.9 × 120: the 15th such minute scales in to ceil(600/120) = 5.
    const first = Array.from({ length: 15 }, () => minute(600));
    expect(first.slice(0, 14)).toEqual(Array(14).fill(5 + 1));
    expect(first[14]).toBe(5);
    // 240 a minute needs 2; after 15 of them the alarm would scale in again, but the 1800-second
    // cooldown from the last scale-in blocks it until its 30th minute.
    const second = Array.from({ length: 30 }, () => minute(240));
    expect(second.slice(0, 29)).toEqual(Array(29).fill(5));
    expect(second[29]).toBe(2);
    // A burst during the next cooldown scales out after the scale-out alarm's minutes, cooldown or not.
    expect([minute(700), minute(700), minute(700)]).toEqual([2, 2, 6]);
  });

  it('never scales in with DisableScaleIn', async () => {
    const { minute } = await autoscaledFleet(5, { DisableScaleIn: true });
    const fleets = Array.from({ length: 40 }, () => minute(0));
    expect(new Set(fleets)).toEqual(new Set([5]));
  });
});

it('a rollback bridge keeps the autoscaled live fleet; a later drop in traffic scales it in, which is not the rollback (regression)', async () => {
  const path = 'test/fixtures/scenarios/rollback-bridge-keeps-autoscaled-fleet.yaml';
  const text = readFileSync(join(__dirname, '..', '..', path), 'utf8');
  const report = await runScenario(parseScenario(text, path), shippedRehearsal());
  expect(report.invariants.filter((i) => !i.ok).map((i) => i.name)).toEqual([]);
  expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
  expect(report.expectations.filter((e) => e.key === 'liveInstances').map((e) => e.got)).toEqual([
    5, 5, 5, 2,
  ]);
  const scaling = report.timeline.filter((e) => e.actor === 'autoscaling' && /→/.test(e.message));
  expect(scaling.map((e) => `${e.at} ${e.message.replace(/^\S+ /, '')}`)).toEqual([
    expect.stringMatching(/^-00:02:00 2 → 5 instances \(scale-out\)$/),
    expect.stringMatching(/^\+02:45:00 5 → 2 instances \(scale-in\)$/),
  ]);
}, 300_000);
