/**
 * The emulated AppConfig hands a gradually deployed flag version to the share of router containers
 * its linear strategy has reached: the timeline AWS documents for a 10-hour deployment at 20%
 * (appconfig-creating-deployment-strategy.html): 0% at 0 h, 20% at 2 h, 40% at 4 h, 60% at 6 h,
 * 80% at 8 h, 100% at 10 h. A promotion with `routing.flagDeployment.durationMinutes` > 0 deploys
 * this way; the emulator used to hand out the first step at once (20% at 0 h, 100% at 8 h).
 */
import { Cloud } from '../../lib/rehearsal/cloud';
import { Random } from '../../lib/rehearsal/random';

const START = Date.parse('2026-01-05T09:00:00.000Z');
const HOUR = 3_600_000;
const CONTAINERS = 100;

function deploying(): Cloud {
  const cloud = new Cloud(START, new Random(1), []);
  cloud.hostedVersions.push(
    { number: 1, content: '{"stable":"old"}', description: '' },
    { number: 2, content: '{"stable":"new"}', description: '' },
  );
  cloud.flagDeployments.push(
    {
      number: 1,
      version: 1,
      previousVersion: undefined,
      strategyId: 'all-at-once',
      startedAt: START - HOUR,
      durationMs: 0,
      bakeMs: 0,
      growthFactor: 100,
      state: 'COMPLETE',
    },
    {
      number: 2,
      version: 2,
      previousVersion: 1,
      strategyId: 'linear-20-over-10h',
      startedAt: START,
      durationMs: 10 * HOUR,
      bakeMs: 0,
      growthFactor: 20,
      state: 'DEPLOYING',
    },
  );
  return cloud;
}

/** The share of containers that get the new version at `hours` into the deployment. */
function shareAt(cloud: Cloud, hours: number): number {
  cloud.nowMs = START + hours * HOUR;
  cloud.settle();
  let reached = 0;
  for (let i = 0; i < CONTAINERS; i++)
    if (cloud.flagVersionFor(i, CONTAINERS)?.content === '{"stable":"new"}') reached += 1;
  return reached / CONTAINERS;
}

describe('AppConfig linear deployment in the rehearsal', () => {
  it("follows AWS's documented timeline: no target at the start, one growth step per 2 hours, all at 10 hours", () => {
    const cloud = deploying();
    expect([0, 1.99, 2, 4, 6, 8, 9.99].map((h) => shareAt(cloud, h))).toEqual([
      0, 0, 0.2, 0.4, 0.6, 0.8, 0.8,
    ]);
    expect(shareAt(cloud, 10)).toBe(1);
    expect(cloud.flagDeployments[1]!.state).toBe('COMPLETE');
  });

  it('hands an instant deployment (0 minutes, the rollback strategy) to every container at once', () => {
    const cloud = deploying();
    const instant = cloud.flagDeployments[1]!;
    cloud.flagDeployments[1] = { ...instant, durationMs: 0, growthFactor: 100 };
    expect(shareAt(cloud, 0)).toBe(1);
  });
});
