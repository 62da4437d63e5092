/**
 * Each lifecycle invariant of issue 11 (section 2, and 11-13 of the retirement) can fail, and a failure is reported under its
 * name, with the step and a message, and turns the rehearsal's verdict to FAIL (exit 1).
 *
 * Every other rehearsal test asserts that the invariants HOLD; a checker that never fires would pass
 * them all. Here a scenario that holds every invariant runs in two parts, and between them the
 * world is sabotaged the way a person or a broken component could: an endpoint updated by hand, a
 * serving state or flag written by hand, autoscaling deregistered, an alarm edited. The scenario
 * must hold every invariant up to the sabotage (so the failure comes from it), and the named
 * invariant must fail after it.
 */
import { artifactKeys } from '../../lambdas/core/contracts/release-settings';
import { bandOfZExpression, zExpression } from '../../lambdas/core/monitoring/confidence-alarm';
import type { RollbackResult } from '../../lambdas/rollback';
import type { InvariantName } from '../../lib/rehearsal/invariants';
import { renderReport, runInWorld, type RehearsalReport } from '../../lib/rehearsal/runner';
import { parseScenario } from '../../lib/rehearsal/scenario';
import { World } from '../../lib/rehearsal/world';
import { REHEARSAL_MODEL, shippedRehearsal, type ShippedRehearsal } from '../helpers/rehearsal';

let shipped: ShippedRehearsal;

beforeAll(() => {
  shipped = shippedRehearsal();
}, 300_000);

const HEAD = `model: ${REHEARSAL_MODEL}\ntraffic: { requestsPerMinute: 20 }\nseed: 11\nsteps:\n`;

interface Sabotaged {
  /** Violations before the sabotage: none, or the scenario proves nothing. */
  readonly before: readonly InvariantName[];
  readonly report: RehearsalReport;
  readonly world: World;
}

/** Runs the scenario's first `afterStep` steps, sabotages the world, then runs the rest. */
async function sabotaged(
  steps: string,
  afterStep: number,
  sabotage: (world: World) => void,
): Promise<Sabotaged> {
  const scenario = parseScenario(HEAD + steps, 'sabotaged.yaml');
  const world = new World({
    config: shipped.config,
    configDir: shipped.configDir,
    model: scenario.model,
    seed: scenario.seed,
    requestsPerMinute: scenario.requestsPerMinute,
    template: shipped.template,
  });
  await runInWorld(world, { ...scenario, steps: scenario.steps.slice(0, afterStep) });
  const before = world.violations().map((v) => v.invariant);
  sabotage(world);
  world.cloud.log('sabotage', 'the world was changed by hand (test)');
  const report = await runInWorld(world, {
    ...scenario,
    initial: null,
    steps: scenario.steps.slice(afterStep),
  });
  return { before, report, world };
}

/** The invariant failed, with a message, in the report and in the text `mlops rehearse` prints. */
function expectFailed(result: Sabotaged, name: InvariantName, message: RegExp): void {
  expect(result.before).toEqual([]);
  const verdict = result.report.invariants.find((i) => i.name === name)!;
  expect(verdict.ok).toBe(false);
  expect(verdict.violations.map((v) => v.message)).toContainEqual(expect.stringMatching(message));
  expect(verdict.violations.every((v) => v.step !== null && /^[+-]\d\d:\d\d:\d\d$/.test(v.at))).toBe(true);
  expect(result.report.ok).toBe(false);
  const text = renderReport(result.report);
  expect(text).toContain(`FAIL  ${verdict.description}`);
  expect(text).toMatch(/\nFAIL: see the invariants and expectations above\n$/);
}

function live(world: World): string {
  return world.env.LIVE_ENDPOINT!;
}

/** The serving state as stored now, and a way to store another version of it. */
function servingStateKey(world: World): string {
  return `${world.env.ARTIFACTS_BUCKET}/${artifactKeys.servingState(world.settings.model)}`;
}

function storedStates(world: World): Record<string, any>[] {
  return world.cloud.s3.get(servingStateKey(world))!.map((t) => JSON.parse(t) as Record<string, any>);
}

function storeState(world: World, state: unknown): void {
  world.cloud.s3.get(servingStateKey(world))!.push(JSON.stringify(state));
}

/** A flag version stored and deployed at once, as a person could with the AppConfig console. */
function deployFlagByHand(world: World, edit: (doc: any) => void): void {
  const doc = JSON.parse(world.cloud.deployedFlag()!) as Record<string, unknown>;
  edit(doc);
  const number = world.cloud.hostedVersions.length + 1;
  world.cloud.hostedVersions.push({ number, content: JSON.stringify(doc), description: 'by hand' });
  world.cloud.flagDeployments.push({
    number: world.cloud.flagDeployments.length + 1,
    version: number,
    previousVersion: undefined,
    strategyId: 'by-hand',
    startedAt: world.cloud.nowMs,
    durationMs: 0,
    bakeMs: 0,
    growthFactor: 100,
    state: 'COMPLETE',
  });
}

const RELEASE_THEN_ROLLBACK = [
  '  - release: v2',
  '  - wait: 10m',
  '  - rollback: { reason: drill }',
  '  - wait: 20m',
  '  - wait: 30m',
].join('\n');

describe('every lifecycle invariant can fail, and says so', () => {
  it('1. stable-traffic-released: v2 answers stable traffic again after it was rolled back (its config put back on the live endpoint by hand)', async () => {
    const result = await sabotaged(RELEASE_THEN_ROLLBACK, 4, (world) => {
      const v2 = [...world.cloud.configs.values()].find(
        (c) =>
          c.EndpointConfigName.endsWith('-live') &&
          (c.ShadowProductionVariants ?? []).length === 0 &&
          world.labelOfModel(c.ProductionVariants[0]!.ModelName) === 'v2',
      )!;
      world.cloud.updateEndpoint({
        EndpointName: live(world),
        EndpointConfigName: v2.EndpointConfigName,
        RetainAllVariantProperties: true,
      });
    });
    expectFailed(
      result,
      'stable-traffic-released',
      /^stable traffic answered by v2, but it was rolled back \d+ min earlier$/,
    );
  });

  it('2. rollback-returns-to-previous: a serving state whose standby names N-2 makes the rollback return there', async () => {
    const steps = [
      '  - release: v2',
      '  - wait: 10m',
      '  - release: v3',
      '  - wait: 10m',
      '  - rollback: { reason: drill }',
      '  - wait: 20m',
    ].join('\n');
    const result = await sabotaged(steps, 4, (world) => {
      const states = storedStates(world);
      const whenV2Served = states.find(
        (s) => world.labelOfCommit(s.live.modelVersion) === 'v2' && s.standby !== null,
      )!;
      storeState(world, { ...states.at(-1), standby: whenV2Served.standby });
    });
    expectFailed(
      result,
      'rollback-returns-to-previous',
      /^the rollback returned to v1, but v2 served immediately before v3$/,
    );
  });

  it('3. traffic-returns-to-live: a flag that keeps everyone on the standby after the live endpoint serves N-1 again', async () => {
    const result = await sabotaged(RELEASE_THEN_ROLLBACK, 4, (world) => {
      expect(world.flagDocument()?.stable.endpoint).toBe('live');
      deployFlagByHand(world, (doc) => {
        doc.stable.endpoint = 'standby';
      });
    });
    expectFailed(
      result,
      'traffic-returns-to-live',
      /^the live endpoint has served v1 since \d+ min ago, but the router still sends everyone to the standby$/,
    );
  });

  it('4. nothing-undoes-rollback: a retried promotion that points the flag back at the release rolled back (as before the fix)', async () => {
    const steps = [
      '  - release: v2',
      '  - wait: 10m',
      '  - rollback: { reason: drill }',
      '  - wait: 20m',
      '  - retry: promotion',
      '  - wait: 10m',
    ].join('\n');
    const result = await sabotaged(steps, 4, (world) => {
      // Today the promotion refuses (the rollback marker beside its run); the stage is made to do
      // what it did before the fix: point the flag back at v2 and report success.
      const v2 = world.version('v2').commit;
      const original = world.invariants.afterStage.bind(world.invariants);
      world.invariants.afterStage = (run, stage, outcome) => {
        if (stage !== 'promotion' || outcome.status === 'in-progress') return original(run, stage, outcome);
        expect(outcome).toMatchObject({
          status: 'failed',
          message: expect.stringMatching(/^Promotion refused/),
        });
        deployFlagByHand(world, (doc) => {
          doc.stable.modelVersion = v2;
        });
        original(run, stage, { status: 'succeeded', summary: 'Promoted (as before the fix)' });
      };
    });
    expectFailed(
      result,
      'nothing-undoes-rollback',
      /^a retried promotion of v2 pointed the flag back at v2, which had been rolled back$/,
    );
  });

  it('5. fleet-never-shrinks: the live fleet cut to one instance while the rollback updates it', async () => {
    const result = await sabotaged(RELEASE_THEN_ROLLBACK, 3, (world) => {
      const endpoint = world.cloud.endpoints.get(live(world))!;
      expect(endpoint.serving!.instances.get('live')).toBe(2);
      endpoint.serving!.instances.set('live', 1);
    });
    expectFailed(
      result,
      'fleet-never-shrinks',
      /^the live fleet shrank from 2 to 1 instances during the rollback$/,
    );
  });

  it('6. autoscaling-at-quiet: the live variant deregistered from Application Auto Scaling by hand', async () => {
    const steps = ['  - release: v2', '  - wait: 10m', '  - wait: 10m'].join('\n');
    const result = await sabotaged(steps, 2, (world) => {
      expect(world.cloud.scalableTargets.delete(`endpoint/${live(world)}/variant/live`)).toBe(true);
    });
    expectFailed(
      result,
      'autoscaling-at-quiet',
      /^the live variant of mlops-document-classifier-live has no autoscaling registered \(fleet 2\)$/,
    );
  });

  it('7. canary-not-in-alarm: a guardrail alarm in ALARM at the moment the canary reports success', async () => {
    const steps = ['  - release: v2', '  - wait: 10m'].join('\n');
    const result = await sabotaged(steps, 0, (world) => {
      const guardrail = world.env.ROLLBACK_ALARMS!.split(',').find((a) => a.endsWith('-p99-model-latency'))!;
      const original = world.invariants.afterStage.bind(world.invariants);
      world.invariants.afterStage = (run, stage, outcome) => {
        if (stage === 'canary' && outcome.status === 'succeeded')
          world.cloud.alarms.setState(guardrail, 'ALARM', 'test', world.cloud.nowMs);
        original(run, stage, outcome);
      };
    });
    expectFailed(
      result,
      'canary-not-in-alarm',
      /^the canary of v2 passed while mlops-document-classifier-live-p99-model-latency is in ALARM$/,
    );
  });

  it("8. confidence-threshold-follows: the confidence alarm's band edited away from the served version's", async () => {
    const steps = ['  - release: v2', '  - wait: 10m', '  - wait: 10m'].join('\n');
    const result = await sabotaged(steps, 2, (world) => {
      const name = world.env.CONFIDENCE_ALARM_NAME!;
      const raw = world.cloud.alarms.alarms.get(name)!.definition.raw;
      const metrics = structuredClone(raw.Metrics as { Id: string; Expression?: string }[]);
      const z = metrics.find((m) => m.Id === 'z')!;
      const band = bandOfZExpression(z.Expression!)!;
      z.Expression = zExpression({ mean: band.mean - 0.2, periodVariance: band.periodVariance });
      world.cloud.alarms.put(name, { Metrics: metrics }); // PutMetricAlarm
    });
    expectFailed(
      result,
      'confidence-threshold-follows',
      /^v2 serves and should have its \w+ band \(B [\d.]+, τ² [\d.e-]+, (rolls back|pages only)\), but the alarm has B [\d.]+/,
    );
  });

  it('9. deferred-rollback-revisited: a rollback deferred to the guardrails whose alarm stays in ALARM after the release, and nobody looks again', async () => {
    const steps = [
      '  - release: v2',
      '  - wait: 10m',
      '  - degrade: { version: v2, p99LatencyMs: 900 }',
      '  - wait: 10m',
      '  - wait: 30m',
    ].join('\n');
    const result = await sabotaged(steps, 4, (world) => {
      expect(world.cloud.alarms.state(`${world.env.LIVE_ENDPOINT}-p99-model-latency`)).toBe('ALARM');
      // The p99 model-latency alarm pages only: nothing in the platform acts on it by itself. A
      // rollback deferred on it is what the rollback function answers during a guarded release.
      const guardrail = world.env.ROLLBACK_ALARMS!.split(',').find((a) => a.endsWith('-p99-model-latency'))!;
      const deferred: RollbackResult = {
        status: 'deferred',
        message: `alarm ${guardrail} fired while a guarded release updates ${live(world)} (test)`,
        paged: true,
      };
      world.invariants.afterRollback({ top: 'v2', expected: 'v1', deploying: undefined }, deferred);
    });
    expect(result.report.final.alarmsInAlarm).toContain('live-p99-model-latency');
    expectFailed(
      result,
      'deferred-rollback-revisited',
      /^a rollback deferred \d+ min ago to the release guardrails was not looked at again after the release ended, and its alarm is still in ALARM$/,
    );
  });

  it('10. records-agree: serving/state.json naming a config the live endpoint does not serve', async () => {
    const steps = ['  - release: v2', '  - wait: 10m', '  - wait: 10m'].join('\n');
    const result = await sabotaged(steps, 2, (world) => {
      const state = storedStates(world).at(-1)!;
      storeState(world, { ...state, live: { ...state.live, configName: 'edited-by-hand' } });
    });
    expectFailed(
      result,
      'records-agree',
      /^state\.json says live config edited-by-hand, DescribeEndpoint mlops-document-classifier-[0-9a-f]+-live$/,
    );
  });
});

describe('the retirement invariants (11-13) can fail, and say so', () => {
  const RETIRED = [
    '  - traffic: { requestsPerMinute: 0 }',
    '  - wait: 16m',
    '  - retire: {}',
    '  - wait: 20m',
    '  - rollback: { reason: after the retirement }',
    '  - wait: 5m',
  ].join('\n');

  it('11 and 13: a live endpoint created again by hand after the retirement, and a rollback that then does not say the model is retired', async () => {
    const result = await sabotaged(RETIRED, 3, (world) => {
      expect(world.cloud.endpoints.has(live(world))).toBe(false);
      const config = [...world.cloud.configs.keys()].find((c) => c.endsWith('-live'))!;
      world.cloud.createEndpoint(live(world), config);
    });
    expectFailed(
      result,
      'retired-no-endpoint',
      /^the model is retired but mlops-document-classifier-live exist\(s\) again$/,
    );
    expectFailed(
      result,
      'retired-refuses',
      /^a rollback after the retirement ended "\w+" \(.*\), not refused as retired$/,
    );
  });

  it('12. retired-not-deleted-in-use: the live endpoint deleted by hand during a deploy while the router still sends it requests', async () => {
    const steps = ['  - retire: {}', '  - wait: 5m'].join('\n');
    const result = await sabotaged(steps, 0, (world) => {
      const original = world.invariants.beforeRetire.bind(world.invariants);
      world.invariants.beforeRetire = () => {
        const before = original();
        world.cloud.deleteEndpoint(live(world));
        return before;
      };
    });
    expectFailed(
      result,
      'retired-not-deleted-in-use',
      /^mlops-document-classifier-live was deleted while the router still sent it requests \(\d+ in the last minute or two\): its callers now get errors$/,
    );
  });
});
