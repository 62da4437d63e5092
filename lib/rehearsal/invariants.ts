/**
 * The lifecycle invariants of issue 11, checked after every event of a rehearsal (each request,
 * endpoint change, minute, stage invocation and rollback). Each has a stable name used in code, in
 * the output and in saved failing sequences.
 */
import type { RollbackResult } from '../../lambdas/rollback';
import { rolledBackWithoutBridge } from '../../lambdas/core/serving/rollback';
import type { JobOutcome } from '../../lambdas/shared/job-result';
import { artifactKeys } from '../../lambdas/core/contracts/release-settings';
import { confidenceBandProblem } from './confidence-invariant';
import type { Routed } from './traffic';
import type { ReleaseRun, Stage, World } from './world';

export const INVARIANTS = {
  'stable-traffic-released':
    '1. stable traffic only goes to a version that passed its canary and was not rolled back since, or to the rollback target',
  'rollback-returns-to-previous':
    '2. a rollback returns to the version that served immediately before the one rolled back',
  'traffic-returns-to-live':
    '3. after a rollback, once the live endpoint serves N-1, traffic comes back to the live fleet; the standby has capacity while it carries everyone',
  'nothing-undoes-rollback':
    '4. no retried or late stage undoes a rollback, and no rollback undoes a later release',
  'fleet-never-shrinks': '5. the live fleet never shrinks below what autoscaling held before a step',
  'autoscaling-at-quiet': '6. at every quiet point the live variant has autoscaling registered',
  'canary-not-in-alarm': '7. a canary never passes while one of its guardrail alarms is in ALARM',
  'confidence-threshold-follows':
    '8. the confidence threshold belongs to the served version; a stale ALARM does not block later releases',
  'deferred-rollback-revisited':
    '9. a rollback deferred to the release guardrails is looked at again when the release ends',
  'records-agree':
    '10. serving/state.json, the flag and DescribeEndpoint agree at quiet points; promotions and rollbacks leave records',
  'retired-no-endpoint':
    '11. after a retirement no endpoint of the model is left that no stack owns; a refused retirement leaves the model serving',
  'retired-not-deleted-in-use': '12. no endpoint is deleted while the router still sends it requests',
  'retired-refuses':
    '13. after a retirement a release, a retry or a rollback is refused, with a message that says the model is retired',
} as const;

export type InvariantName = keyof typeof INVARIANTS;

export interface InvariantViolation {
  readonly invariant: InvariantName;
  readonly atMs: number;
  readonly message: string;
  /** The scenario step being run, set by the runner. */
  step?: number;
}

/** After this long past a rollback, requests still answered by the version rolled back from are a violation. */
function flagGraceMs(world: World): number {
  return (Number(world.settings.routing.flagCacheSeconds) + 60) * 1000;
}

/** How long a failed canary's update back to the previous config may take (the emulator's: 6 minutes). */
const REVERT_GRACE_MS = 30 * 60_000;

/** How long the standby may carry everyone after the live endpoint is back on N-1. */
const RETURN_GRACE_MS = 10 * 60_000;

/** What served when a rollback started (see Invariants.beforeRollback). */
export interface RollbackBefore {
  readonly top: string | undefined;
  readonly expected: string | undefined;
  /** The release whose canary was deploying to the live endpoint, if one was. */
  readonly deploying?: string | undefined;
}

export class Invariants {
  readonly violations: InvariantViolation[] = [];
  checks = 0;
  private readonly reported = new Set<string>();
  /** Versions whose latest release passed its canary. */
  private readonly passed = new Set<string>();
  /** Versions rolled back from, and when. */
  private readonly rolledBack = new Map<string, number>();
  private rollbackTarget: string | undefined;
  /** Versions that served stable traffic, as a stack: a release pushes, a rollback pops. */
  readonly served: string[] = [];
  private readonly canaryRunning = new Set<string>();
  /** The live fleet before the step that is running, when autoscaling held it. */
  private held: { count: number; what: string } | undefined;
  /** Rollback invocations that have not returned yet. */
  private rollbacksInFlight = 0;
  private lastRollback:
    { atMs: number; to: string; liveBackAtMs?: number; noBridgeFrom?: string } | undefined;
  private deferral: { atMs: number; message: string; endedAtMs?: number } | undefined;
  private flagBeforeStage: string | undefined;
  private confidenceAlarmSince: number | undefined;
  /** The confidence alarm's band and actions as last seen, and since when. */
  private confidenceBand: { text: string; sinceMs: number } | undefined;
  private canaryStartedAtMs: number | undefined;
  /** Candidates whose deployment a person's rollback failed to stop (it paged so): they must not pass. */
  private readonly unstoppedRollbacks = new Set<string>();
  /**
   * A canary that failed while its candidate served put the previous config back: the candidate
   * answers until that update ends (SageMaker keeps the old fleet until the new one is in service),
   * then for the routers' flag cache; `backAtMs` is when the live endpoint served another version.
   */
  private reverting: { label: string; sinceMs: number; backAtMs?: number } | undefined;
  /** Whether a warm N-1 stood on the standby when the canary's latest invocation began. */
  private warmStandbyBeforePoll = false;

  constructor(private readonly world: World) {}

  private violate(invariant: InvariantName, message: string, key = message): void {
    const k = `${invariant}|${key}`;
    if (this.reported.has(k)) return;
    this.reported.add(k);
    this.violations.push({ invariant, atMs: this.world.cloud.nowMs, message });
    this.world.cloud.log('INVARIANT', `${invariant}: ${message}`);
  }

  private get now(): number {
    return this.world.cloud.nowMs;
  }

  /** The initial version, released before the scenario starts. */
  initial(label: string): void {
    this.passed.add(label);
  }

  // -------------------------------------------------------------------------------------------
  // Traffic
  // -------------------------------------------------------------------------------------------

  /** Stable traffic goes to `label` now: a new version pushes, a return to the one before pops. */
  private noteServed(label: string): void {
    const top = this.served.at(-1);
    if (top !== label) {
      if (this.served.at(-2) === label) this.served.pop();
      else this.served.push(label);
    }
  }

  /**
   * With the callers stopped (a `traffic` step of 0) no answer says where stable traffic goes; it
   * would go where the flag points, so the served versions follow that until they come back.
   */
  private followServingWithoutTraffic(): void {
    if (this.world.rpm !== 0) return;
    const label = this.world.serving();
    if (label !== undefined) this.noteServed(label);
  }

  onAnswer(label: string, canary: boolean, _routed: Routed): void {
    this.checks += 1;
    if (canary) return;
    this.noteServed(label);
    // 1. Stable traffic only to a released, not rolled back version (or the rollback target).
    const rolledAt = this.rolledBack.get(label);
    // A rollback that had no warm bridge and paged so: the version rolled back from answers on the
    // live endpoint until the update to the target ends (and the routers' cache after that).
    const lr = this.lastRollback;
    const unbridged =
      lr?.noBridgeFrom === label &&
      (lr.liveBackAtMs === undefined || this.now < lr.liveBackAtMs + flagGraceMs(this.world));
    const rv = this.reverting;
    const reverted =
      rv?.label === label &&
      (rv.backAtMs === undefined
        ? this.now < rv.sinceMs + REVERT_GRACE_MS
        : this.now < rv.backAtMs + flagGraceMs(this.world));
    const eligible =
      label === this.rollbackTarget ||
      this.canaryRunning.has(label) ||
      unbridged ||
      reverted ||
      (this.passed.has(label) && (rolledAt === undefined || this.now < rolledAt + flagGraceMs(this.world)));
    if (!eligible) {
      const why =
        rolledAt !== undefined
          ? `it was rolled back ${minutes(this.now - rolledAt)} earlier`
          : 'it never passed a canary';
      this.violate(
        'stable-traffic-released',
        `stable traffic answered by ${label}, but ${why}`,
        `${label}|${rolledAt}`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Stages
  // -------------------------------------------------------------------------------------------

  beforeStage(run: ReleaseRun, stage: Stage, first: boolean): void {
    this.checks += 1;
    if (first) {
      this.flagBeforeStage = this.world.flagDocument()?.stable.modelVersion;
      const live = this.world.env.LIVE_ENDPOINT!;
      const resource = `endpoint/${live}/variant/live`;
      const count = this.world.cloud.instancesOf(live, 'live');
      this.held =
        this.world.cloud.scalableTargets.has(resource) && count !== undefined
          ? { count, what: `the ${stage} stage of ${run.label}` }
          : undefined;
      if (stage === 'canary') {
        this.canaryRunning.add(run.label);
        this.canaryStartedAtMs = this.now;
      }
    }
    // Before the canary's own failure path touches the standby (it restores N-2 there).
    if (stage === 'canary') this.warmStandbyBeforePoll = this.warmPreviousOnStandby(run.label);
  }

  /**
   * The standby is InService on a version that passed its canary, other than `candidate` (the N-1
   * the canary refreshed it with): users can be sent there at once.
   */
  private warmPreviousOnStandby(candidate: string): boolean {
    const standby = this.world.env.STANDBY_ENDPOINT;
    if (!standby || this.world.cloud.endpoints.get(standby)?.status !== 'InService') return false;
    const label = this.world.labelOfModel(this.world.cloud.servingModel(standby));
    return label !== undefined && label !== candidate && this.passed.has(label);
  }

  afterStage(run: ReleaseRun, stage: Stage, outcome: JobOutcome): void {
    this.checks += 1;
    if (outcome.status === 'in-progress') return;
    if (
      outcome.status === 'succeeded' &&
      (stage === 'canary' || stage === 'promotion') &&
      this.unstoppedRollbacks.has(run.label)
    ) {
      this.violate(
        'rollback-returns-to-previous',
        `a person's rollback during the canary of ${run.label} failed to stop its deployment, and the ${stage} of ${run.label} then succeeded: the rollback was lost`,
      );
    }
    if (stage === 'canary') {
      this.canaryRunning.delete(run.label);
      if (outcome.status === 'succeeded') {
        this.passed.add(run.label);
        this.rolledBack.delete(run.label);
        // 7. Not with a guardrail alarm in ALARM: those its deployment lists (a canary may leave out
        // the confidence alarm when it was in ALARM on the served version before it started).
        const alarms = this.guardrailAlarms();
        const alarming = alarms.filter((a) => this.world.cloud.alarms.state(a) === 'ALARM');
        if (alarming.length > 0) {
          this.violate(
            'canary-not-in-alarm',
            `the canary of ${run.label} passed while ${alarming.join(', ')} ${alarming.length === 1 ? 'is' : 'are'} in ALARM`,
          );
        }
      } else {
        // A failed canary whose candidate serves on the live endpoint, which is updating back: its
        // candidate may answer meanwhile only when no warm N-1 waits on the standby (with one there,
        // the canary sends users to it while the live endpoint reverts).
        const live = this.world.env.LIVE_ENDPOINT!;
        if (
          this.world.cloud.endpoints.get(live)?.status === 'Updating' &&
          this.world.labelOfModel(this.world.cloud.servingModel(live)) === run.label &&
          !this.warmStandbyBeforePoll
        ) {
          this.reverting = { label: run.label, sinceMs: this.now };
        }
        // 8b. An alarm that was in ALARM before the canary started does not fail it.
        const confidence = this.world.env.CONFIDENCE_ALARM_NAME;
        const message = outcome.status === 'failed' ? outcome.message : '';
        if (
          confidence &&
          message.includes(confidence) &&
          this.confidenceAlarmSince !== undefined &&
          this.canaryStartedAtMs !== undefined &&
          this.confidenceAlarmSince < this.canaryStartedAtMs
        ) {
          this.violate(
            'confidence-threshold-follows',
            `the canary of ${run.label} failed on ${confidence}, which had been in ALARM since before the canary started (a stale alarm blocks the release)`,
          );
        }
      }
    }
    if (stage === 'promotion' && outcome.status === 'succeeded') {
      // 10b. A promotion leaves its release record.
      const key = `${this.world.env.ARTIFACTS_BUCKET}/${artifactKeys.releaseRecord(this.world.settings.model, run.executionId)}`;
      if (!this.world.cloud.s3.has(key))
        this.violate('records-agree', `the promotion of ${run.label} left no release record`);
    }
    // 4a. A stage of a release that was rolled back since does not bring it back.
    const flag = this.world.flagDocument()?.stable.modelVersion;
    const flagLabel = this.world.labelOfCommit(flag);
    if (
      outcome.status === 'succeeded' &&
      flag !== this.flagBeforeStage &&
      flagLabel === run.label &&
      this.rolledBack.has(run.label)
    ) {
      this.violate(
        'nothing-undoes-rollback',
        `a retried ${stage} of ${run.label} pointed the flag back at ${run.label}, which had been rolled back`,
      );
    }
    // A canary or promotion that passed and left its version where stable traffic goes serves it
    // from now on, before the next request shows it: a rollback in the same second (the stage's
    // poll came as the endpoint went InService) rolls back from it.
    if (
      outcome.status === 'succeeded' &&
      (stage === 'canary' || stage === 'promotion') &&
      !this.rolledBack.has(run.label) &&
      this.world.serving() === run.label
    ) {
      this.noteServed(run.label);
    }
    this.held = undefined;
  }

  /**
   * 8c. After a re-baseline (another version serves, or the band or the actions changed), an ALARM
   * is a verdict on the new band: entered after the change, or left within the period that follows.
   * An ALARM kept from before is not one (PutMetricAlarm leaves the state as it is, and two versions
   * may have the same provisional band) and, since an alarm acts only on a change of state, it acts
   * on no breach of the new band while it stays there.
   */
  private staleConfidenceAlarm(): string | null {
    const name = this.world.env.CONFIDENCE_ALARM_NAME;
    const alarm = name ? this.world.cloud.alarms.alarms.get(name) : undefined;
    if (!alarm) return null;
    const metrics =
      (alarm.definition.raw.Metrics as { Id?: string; Expression?: string }[] | undefined) ?? [];
    // What the alarm judges: its band and actions, for the version serving/state.json names.
    const version = this.world.servingState()?.live.modelVersion ?? '';
    const text = `${version}|${metrics.map((m) => m.Expression ?? '').join('|')}|${alarm.definition.alarmActions.join(',')}`;
    if (this.confidenceBand?.text !== text) this.confidenceBand = { text, sinceMs: this.now };
    const since = this.confidenceBand.sinceMs;
    if (alarm.state !== 'ALARM' || alarm.changedAtMs >= since) return null;
    if (this.now < since + alarm.definition.periodSeconds * 1000) return null;
    return (
      `the confidence alarm has been in ALARM since ${minutes(this.now - alarm.changedAtMs)} ago, from before it was ` +
      `re-baselined for ${this.world.labelOfCommit(version) ?? 'nothing'} ${minutes(this.now - since)} ago: its ALARM is a verdict on the old band, and it acts on no breach of the new one`
    );
  }

  /** The auto-rollback alarms of the live endpoint's last deployment; every configured one if it lists none. */
  private guardrailAlarms(): string[] {
    const configured = (this.world.env.ROLLBACK_ALARMS ?? '').split(',').filter((a) => a !== '');
    const last = this.world.cloud.endpoints.get(this.world.env.LIVE_ENDPOINT!)?.lastDeploymentConfig as
      { AutoRollbackConfiguration?: { Alarms?: { AlarmName?: string }[] } } | undefined;
    const listed = (last?.AutoRollbackConfiguration?.Alarms ?? []).map((a) => a.AlarmName ?? '');
    const guarded = configured.filter((a) => listed.includes(a));
    return guarded.length > 0 ? guarded : configured;
  }

  // -------------------------------------------------------------------------------------------
  // Rollbacks
  // -------------------------------------------------------------------------------------------

  /**
   * What serves, for a rollback that may follow (an endpoint event that may roll back). Changes
   * nothing but what the checker follows while nobody calls (the flag then says what serves).
   */
  servedBefore(): RollbackBefore {
    this.followServingWithoutTraffic();
    const live = this.world.env.LIVE_ENDPOINT!;
    // A release's canary whose blue/green deployment is under way on the live endpoint: its
    // candidate takes user traffic, so that is what a person rolls back (to the version serving).
    const deploying =
      this.world.cloud.endpoints.get(live)?.op?.kind === 'blue-green'
        ? [...this.canaryRunning].at(-1)
        : undefined;
    return { top: this.served.at(-1), expected: this.served.at(-2), deploying };
  }

  beforeRollback(): RollbackBefore {
    this.checks += 1;
    this.rollbacksInFlight += 1;
    const live = this.world.env.LIVE_ENDPOINT!;
    const before = this.servedBefore();
    const count = this.world.cloud.instancesOf(live, 'live');
    if (
      this.world.cloud.scalableTargets.has(`endpoint/${live}/variant/live`) &&
      count !== undefined &&
      this.held === undefined
    ) {
      this.held = { count, what: 'the rollback' };
    }
    return before;
  }

  afterRollback(before: RollbackBefore, result: RollbackResult): void {
    this.checks += 1;
    this.rollbacksInFlight = Math.max(0, this.rollbacksInFlight - 1);
    // 13. A rollback of a retired model changes nothing and says why.
    if (this.world.retired) {
      const refused = result.status === 'refused' || result.status === 'rejected';
      if (!refused || !/retired/.test(result.message)) {
        this.violate(
          'retired-refuses',
          `a rollback after the retirement ended "${result.status}" (${result.message.split('\n')[0]!.slice(0, 300)}), not refused as retired`,
        );
      }
      return;
    }
    if (result.status === 'deferred') {
      this.deferral = { atMs: this.now, message: result.message };
      return;
    }
    // 2b. A person's rollback during a canary's deployment: it stops that deployment and leaves the
    // version that served before the candidate, or it pages that it failed and the release does not
    // go on to pass or promote the candidate (checked in afterStage).
    const manual = 'record' in result && result.record.trigger.kind === 'manual';
    if (manual && before.deploying !== undefined && result.status === 'failed') {
      this.unstoppedRollbacks.add(before.deploying);
    }
    if (!('record' in result) || result.status === 'failed') return;
    const record = result.record;
    const from = this.world.labelOfCommit(record.from?.modelVersion);
    const to = this.world.labelOfCommit(record.to?.modelVersion);
    const rolledFrom = manual && before.deploying !== undefined ? before.deploying : before.top;
    const expected = manual && before.deploying !== undefined ? before.top : before.expected;
    // 2. Back to the version that served immediately before.
    if (to !== expected) {
      this.violate(
        'rollback-returns-to-previous',
        `the rollback returned to ${to ?? 'nothing'}, but ${expected ?? 'nothing'} served immediately before ${rolledFrom ?? 'the current version'}` +
          (rolledFrom !== before.top ? ` (whose canary was deploying)` : ''),
      );
    }
    // 4b. A rollback rolls back what serves, not an earlier release.
    if (from !== rolledFrom) {
      this.violate(
        'nothing-undoes-rollback',
        rolledFrom === before.top
          ? `the rollback was from ${from ?? 'nothing'}, but ${before.top ?? 'nothing'} served: it undoes a later release`
          : `the rollback was from ${from ?? 'nothing'}, but the canary of ${rolledFrom} was deploying to the live endpoint: a person's rollback then rolls back the candidate`,
      );
    }
    if (from !== undefined) this.rolledBack.set(from, this.now);
    this.rollbackTarget = to;
    // The page says exactly what it does not have (issue 11, invariant 3): no warm bridge.
    const noBridge = result.paged && rolledBackWithoutBridge(record);
    if (to !== undefined)
      this.lastRollback = { atMs: this.now, to, ...(noBridge && from ? { noBridgeFrom: from } : {}) };
    this.deferral = undefined;
    // 10b. A rollback leaves its record.
    if (!this.world.cloud.s3.has(`${this.world.env.ARTIFACTS_BUCKET}/${result.recordKey}`)) {
      this.violate('records-agree', `the rollback to ${to} left no record at ${result.recordKey}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Retirement
  // -------------------------------------------------------------------------------------------

  beforeRetire(): { serving: string | undefined; deleted: number; requests: Map<string, number> } {
    this.checks += 1;
    const w = this.world;
    const endpoints = [w.env.LIVE_ENDPOINT!, w.env.STANDBY_ENDPOINT!];
    return {
      serving: w.serving(),
      deleted: w.cloud.deletedEndpoints.length,
      requests: new Map(endpoints.map((e) => [e, w.recentRequests(e)])),
    };
  }

  afterRetire(
    before: { serving: string | undefined; deleted: number; requests: Map<string, number> },
    retired: boolean,
  ): void {
    this.checks += 1;
    const w = this.world;
    // 12. Nothing deleted under its callers.
    for (const d of w.cloud.deletedEndpoints.slice(before.deleted)) {
      const requests = before.requests.get(d.name) ?? 0;
      if (requests > 0) {
        this.violate(
          'retired-not-deleted-in-use',
          `${d.name} was deleted while the router still sent it requests (${requests} in the last minute or two): its callers now get errors`,
          d.name,
        );
      }
    }
    // 11. Retired: nothing left; refused: nothing changed.
    const left = [w.env.LIVE_ENDPOINT!, w.env.STANDBY_ENDPOINT!].filter((e) => w.cloud.endpoints.has(e));
    if (retired && left.length > 0) {
      this.violate(
        'retired-no-endpoint',
        `the model is retired but ${left.join(', ')} still exist${left.length === 1 ? 's' : ''}: no stack releases, rolls back or deletes ${left.length === 1 ? 'it' : 'them'}`,
      );
    }
    if (!retired && w.serving() !== before.serving) {
      this.violate(
        'retired-no-endpoint',
        `the retirement was refused, but ${before.serving ?? 'nothing'} no longer serves (${w.serving() ?? 'nothing'} does)`,
      );
    }
  }

  /** A release or retry after the retirement, refused by the stopped pipeline. */
  refusedAfterRetirement(what: string, message: string): void {
    this.checks += 1;
    if (!/retired/i.test(message))
      this.violate(
        'retired-refuses',
        `${what} after the retirement was refused without saying why: ${message}`,
      );
  }

  // -------------------------------------------------------------------------------------------
  // After every event
  // -------------------------------------------------------------------------------------------

  check(_kind: string): void {
    this.checks += 1;
    this.followServingWithoutTraffic();
    const w = this.world;
    const live = w.env.LIVE_ENDPOINT!;
    const endpoint = w.cloud.endpoints.get(live);
    const confidence = w.env.CONFIDENCE_ALARM_NAME;
    if (confidence) {
      const inAlarm = w.cloud.alarms.state(confidence) === 'ALARM';
      if (!inAlarm) this.confidenceAlarmSince = undefined;
      else this.confidenceAlarmSince ??= this.now;
    }

    // 5. The live fleet does not shrink below what autoscaling held before the step.
    const count = w.cloud.instancesOf(live, 'live');
    if (
      this.held &&
      count !== undefined &&
      count < this.held.count &&
      w.settings.serving.autoscaling.maxInstances >= this.held.count
    ) {
      this.violate(
        'fleet-never-shrinks',
        `the live fleet shrank from ${this.held.count} to ${count} instances during ${this.held.what}`,
        this.held.what,
      );
    }
    // The rollback's hold on the fleet ends with the rollback: once no invocation is running, the
    // live endpoint's update has ended and the router is back on the live endpoint (the bridge is
    // over), a smaller fleet is autoscaling following the traffic, not the rollback.
    if (
      this.held?.what === 'the rollback' &&
      this.rollbacksInFlight === 0 &&
      endpoint !== undefined &&
      !endpoint.op &&
      endpoint.status === 'InService' &&
      w.flagDocument()?.stable.endpoint !== 'standby'
    ) {
      this.held = undefined;
    }

    const rv = this.reverting;
    if (rv && rv.backAtMs === undefined && endpoint?.status === 'InService') {
      if (w.labelOfModel(w.cloud.servingModel(live)) !== rv.label) rv.backAtMs = this.now;
    }

    // 3. Traffic comes back to the live fleet once it serves N-1.
    const lr = this.lastRollback;
    const flag = w.flagDocument();
    if (lr && endpoint?.status === 'InService' && w.labelOfModel(w.cloud.servingModel(live)) === lr.to)
      lr.liveBackAtMs ??= this.now;
    if (
      lr?.liveBackAtMs !== undefined &&
      flag?.stable.endpoint === 'standby' &&
      this.now > lr.liveBackAtMs + RETURN_GRACE_MS
    ) {
      this.violate(
        'traffic-returns-to-live',
        `the live endpoint has served ${lr.to} since ${minutes(this.now - lr.liveBackAtMs)} ago, but the router still sends everyone to the standby`,
        `${lr.atMs}`,
      );
    }
    if (flag?.stable.endpoint === 'standby' && !w.retired) {
      const standby = w.cloud.instancesOf(w.env.STANDBY_ENDPOINT!, 'standby') ?? 0;
      const capacity = standby * w.settings.serving.autoscaling.targetInvocationsPerInstance;
      // A page about this bridge: sent since the rollback, by the rollback or by an alarm.
      const paged = w.cloud.pages.some((p) => p.atMs >= (lr?.atMs ?? 0) && /capacity/i.test(p.body));
      if (w.rpm > capacity && !paged) {
        this.violate(
          'traffic-returns-to-live',
          `the standby (${standby} instance(s), ${capacity} requests per minute at the autoscaling target) carries all ${w.rpm} requests per minute and no page says so`,
          `capacity|${lr?.atMs}`,
        );
      }
    }

    // 9. A deferred rollback is looked at again when the release ends.
    const d = this.deferral;
    if (d) {
      if (endpoint && !endpoint.op) d.endedAtMs ??= this.now;
      const alarming = [...w.cloud.alarms.alarms.values()].some(
        (a) => a.state === 'ALARM' && d.message.includes(a.definition.name),
      );
      if (!alarming) this.deferral = undefined;
      else if (d.endedAtMs !== undefined && this.now > d.endedAtMs + RETURN_GRACE_MS) {
        this.violate(
          'deferred-rollback-revisited',
          `a rollback deferred ${minutes(this.now - d.atMs)} ago to the release guardrails was not looked at again after the release ended, and its alarm is still in ALARM`,
          `${d.atMs}`,
        );
      }
    }

    // 11. Nothing of a retired model comes back (a late stage or a rollback creating an endpoint).
    if (w.retired && w.quiet()) {
      const left = [live, w.env.STANDBY_ENDPOINT!].filter((e) => w.cloud.endpoints.has(e));
      if (left.length > 0)
        this.violate(
          'retired-no-endpoint',
          `the model is retired but ${left.join(', ')} exist(s) again`,
          'again',
        );
    }
    if (!w.quiet() || !endpoint) return;
    // 6. Autoscaling registered at quiet points.
    if (!w.cloud.scalableTargets.has(`endpoint/${live}/variant/live`)) {
      this.violate(
        'autoscaling-at-quiet',
        `the live variant of ${live} has no autoscaling registered (fleet ${count})`,
        `${w.cloud.endpoints.get(live)?.serving?.configName}`,
      );
    }
    // 10. Records agree.
    const state = w.servingState();
    if (state && flag) {
      const described = endpoint.serving?.configName;
      const problems: string[] = [];
      if (state.live.configName !== described)
        problems.push(`state.json says live config ${state.live.configName}, DescribeEndpoint ${described}`);
      if (state.live.modelVersion !== flag.stable.modelVersion) {
        problems.push(
          `state.json says ${w.labelOfCommit(state.live.modelVersion)} live, the flag ${w.labelOfCommit(flag.stable.modelVersion)}`,
        );
      }
      const answering = w.serving();
      if (answering !== w.labelOfCommit(flag.stable.modelVersion)) {
        problems.push(
          `the flag names ${w.labelOfCommit(flag.stable.modelVersion)}, but ${answering} answers on its endpoint`,
        );
      }
      if (problems.length > 0) this.violate('records-agree', problems.join('; '), problems.join(';'));
    }
    // 8. The confidence threshold belongs to the served version.
    const served = w.serving();
    const stale = this.staleConfidenceAlarm();
    if (stale !== null)
      this.violate('confidence-threshold-follows', stale, `stale|${this.confidenceBand?.sinceMs}`);
    const alarm = confidence ? w.cloud.alarms.alarms.get(confidence) : undefined;
    // A metric-math alarm carries the served version's band in its z expression (and rolls back
    // only once armed); a static-threshold alarm carries its floor in the threshold.
    if (served && alarm && state && alarm.definition.metric.kind === 'math') {
      const problem = confidenceBandProblem(w, served);
      if (problem !== null) this.violate('confidence-threshold-follows', problem, `${served}|${problem}`);
    }
    if (served && alarm && state && alarm.definition.metric.kind === 'stat') {
      const want = w.confidenceThresholdFor(served);
      if (Math.abs(alarm.definition.threshold - want) > 1e-6) {
        this.violate(
          'confidence-threshold-follows',
          `the confidence alarm fires below ${alarm.definition.threshold}, but ${served} serves and its floor is ${want}`,
          `${served}|${alarm.definition.threshold}`,
        );
      }
    }
  }
}

function minutes(ms: number): string {
  return `${Math.round(ms / 60_000)} min`;
}
