/**
 * The rehearsal world: the emulated cloud built from the synthesized model stack, the real
 * handlers (shadow, canary, promotion, rollback, router) wired to it through their dependency
 * injection, the release pipeline driving the stages with continuation tokens, the traffic, the
 * alarms and their actions, all on one virtual clock. The invariants (invariants.ts) are checked
 * after every event.
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { parseEvalReport } from '../../lambdas/core/gates/eval-report';
import { publishedArchiveKey } from '../../lambdas/core/gates/model-publication';
import { confidenceFloor } from '../../lambdas/promotion/live-model';
import { createHandler as canaryHandler } from '../../lambdas/canary';
import { createHandler as promotionHandler } from '../../lambdas/promotion';
import { createHandler as rollbackHandler, type RollbackResult } from '../../lambdas/rollback';
import { createHandler as shadowHandler } from '../../lambdas/shadow';
import { createHandler as servingGuardHandler, type GuardResult } from '../../lambdas/serving-guard';
import type { GuardResponse, ServingGuardProperties } from '../../lambdas/core/serving/serving-guard';
import { FIRST_STAGE_AFTER_SOURCE, RETIRED_TRANSITION_REASON } from '../../lambdas/core/contracts/retirement';
import { routerEnvSchema } from '../../lambdas/core/contracts/router-env';
import type { JobOutcome } from '../../lambdas/shared/job-result';
import { logger } from '../../lambdas/shared/logger';
import {
  artifactKeys,
  releaseSettingsSchema,
  type ReleaseSettings,
} from '../../lambdas/core/contracts/release-settings';
import type { PlatformConfig } from '../../lambdas/core/contracts/config-schema';
import { REPO_ROOT } from '../repo-root';
import { alarmDefinition } from './alarms';
import { BaselineJobSchedule } from './baseline-job';
import { clients, flagSummary } from './clients';
import { Cloud, type ModelBehaviour } from './cloud';
import { Invariants, type InvariantViolation } from './invariants';
import { setProcessEnv } from './process-env';
import { Random } from './random';
import {
  functionEnvironment,
  functionId,
  modelTemplate,
  resolveValue,
  resourcesOfType,
  type Template,
} from './template';
import { Traffic } from './traffic';

export const STAGES = ['shadow', 'canary', 'promotion'] as const;
export type Stage = (typeof STAGES)[number];

/** Virtual start of every rehearsal: fixed, so the same seed gives the same timeline. */
export const START_MS = Date.parse('2026-01-05T09:00:00.000Z');

/** How a version answers; unless degraded, from its eval report's production-like set. */
export interface Behaviour {
  confidenceMean: number;
  confidenceStd: number;
  errorRate: number;
  p95LatencyMs: number;
}

/**
 * Documented defaults for a version whose eval report has no production-like set: the example
 * model's production-like figures (examples/document-classifier/eval_report.json).
 */
export const DEFAULT_BEHAVIOUR: Behaviour = {
  confidenceMean: 0.84,
  confidenceStd: 0.08,
  errorRate: 0,
  p95LatencyMs: 140,
};

export interface Version {
  readonly label: string;
  readonly commit: string;
  readonly behaviour: Behaviour;
  readonly evalReport: Record<string, unknown>;
}

export interface ReleaseRun {
  readonly label: string;
  readonly executionId: string;
  readonly instanceType: string | undefined;
  /** Stage outcomes so far. */
  readonly outcomes: Partial<Record<Stage, JobOutcome['status']>>;
  /** Stages still to run (a stopAfter leaves some). */
  pending: Stage[];
  /** A rollback or a later release took over while the run was paused (stopAfter). */
  abandoned: boolean;
  /** A stage of the run is being driven now. */
  running: boolean;
  /**
   * The run paused in the middle of a stage (a release's `pauseIn`): the stage returned a
   * continuation token and the next scenario steps happen while it is in progress. CodePipeline
   * keeps re-invoking such an action, so a rollback does not abandon it: `World.resumePaused`
   * lets its polls go on.
   */
  inStage?: { stage: Stage; jobId: string; token: string; polls: number; stopAfter: Stage | undefined };
}

/** Where a release run pauses part-way through a stage (the scenario's `pauseIn` and `pauseAfter`). */
export interface StagePause {
  readonly stage: Stage;
  /** How long the stage has been in progress (virtual time) when the run pauses; 0: after its first invocation. */
  readonly afterMs: number;
}

export interface WorldOptions {
  readonly config: PlatformConfig;
  readonly configDir: string;
  readonly model: string;
  readonly seed: number;
  readonly requestsPerMinute: number;
  /** The template, when the caller already has it (tests, the bench). */
  readonly template?: Template;
  readonly onSynth?: (message: string) => void;
}

/** A version label's commit id: 40 hex digits derived from the label. */
export function commitOf(label: string): string {
  return createHash('sha1').update(`rehearsal:${label}`).digest('hex');
}

export class World {
  readonly cloud: Cloud;
  readonly settings: ReleaseSettings;
  readonly versions = new Map<string, Version>();
  readonly runs: ReleaseRun[] = [];
  readonly invariants: Invariants;
  readonly env: Record<string, string>;
  private readonly functionEnvs: Record<
    'shadow' | 'canary' | 'promotion' | 'rollback',
    Record<string, string>
  >;
  /** Requests per minute the router gets; a scenario's `traffic` step changes it (0: callers stopped). */
  rpm: number;
  readonly random: Random;
  /**
   * The model was retired (`retire` step: a deploy with `serving.retired: true` whose serving guard
   * succeeded). Then, as lib/stacks/retirement.ts makes the stack: the pipelines stop after Source,
   * alarms call no action, EventBridge rules and schedules are disabled.
   */
  retired = false;
  /** The Custom::ServingGuard resource's properties as synthesized. */
  private readonly guardProperties: Record<string, unknown> | undefined;
  private retirements = 0;
  private readonly traffic: Traffic;
  private readonly handlers;
  private readonly guard: (event: unknown) => Promise<GuardResult>;
  /** What the serving guard answered CloudFormation, in order. */
  readonly guardResponses: GuardResponse[] = [];
  private readonly pendingAlarmActions: { alarm: string; state: string; previous: string; reason: string }[] =
    [];
  private readonly rollbackFunctionArn: string;
  /** EventBridge rules whose target is the rollback function: name and event pattern. */
  private readonly rollbackRules: { name: string; pattern: Record<string, unknown> }[] = [];
  /** The confidence baseline job on its schedule, or why the rehearsal does not run it. */
  readonly baselineJob: BaselineJobSchedule | { readonly why: string };
  /** How long per-minute metrics are kept: the baseline job reads its whole window. */
  private readonly metricRetentionMs: number;
  private executions = 0;
  private jobs = 0;
  /** Depth of handler invocations in progress: alarm actions wait until none runs. */
  private busy = 0;
  /** The traffic of the current minute, by answering version, for the timeline. */
  private minuteSplit = new Map<string, number>();
  private lastMinuteLine = '';
  /** Requests answered per endpoint/variant in the last whole minute, for autoscaling. */
  private lastMinuteInvocations = new Map<string, number>();
  private thisMinuteInvocations = new Map<string, number>();
  /** Stable answers the router logged under another version than the one that answered. */
  readonly mislabelled: { count: number; firstMs: number | undefined } = { count: 0, firstMs: undefined };
  /** The first breaching minute of the alarm that led to the latest rollback, and that rollback. */
  rollbackTiming: { triggerMs: number; target: string; servedMs?: number; by: string } | undefined;

  constructor(readonly options: WorldOptions) {
    this.random = new Random(options.seed);
    this.rpm = options.requestsPerMinute;
    logger.setLogLevel('SILENT');
    const template =
      options.template ?? modelTemplate(options.config, options.configDir, options.model, options.onSynth);
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, p]) => alarmDefinition(p));
    this.cloud = new Cloud(START_MS, this.random, alarms);
    this.cloud.behaviour = this.behaviourOf;

    // Each function's environment as synthesized; a handler runs with its own (they differ, e.g.
    // promotion and rollback deploy the flag with different strategies). `env` holds the keys
    // they share, for the rehearsal's own lookups.
    const functions = {
      shadow: /^ServingShadow/,
      canary: /^ServingCanary/,
      promotion: /^ServingPromotion/,
      rollback: /^MonitoringRollback/,
    };
    this.functionEnvs = Object.fromEntries(
      Object.entries(functions).map(([name, pattern]) => [
        name,
        Object.fromEntries(
          Object.entries(functionEnvironment(template, pattern)).filter(
            ([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('POWERTOOLS_'),
          ),
        ),
      ]),
    ) as Record<'shadow' | 'canary' | 'promotion' | 'rollback', Record<string, string>>;
    this.env = { ...this.functionEnvs.rollback, ...this.functionEnvs.shadow, ...this.functionEnvs.promotion };
    const routerEnv = routerEnvSchema.parse(functionEnvironment(template, /^RoutingRouter/));
    this.rollbackFunctionArn = `:${functionId(template, /^MonitoringRollback/)}`;
    this.guardProperties = resourcesOfType(template, 'Custom::ServingGuard')[0]?.[1];

    // EventBridge rules of the model stack that invoke the rollback function (the live endpoint's
    // state changes: after a rollback, users leave the standby; autoscaling is registered again).
    for (const [id, p] of resourcesOfType(template, 'AWS::Events::Rule')) {
      const targets = (p.Targets as { Arn?: unknown }[] | undefined) ?? [];
      if (p.State === 'DISABLED' || !targets.some((t) => String(t.Arn).endsWith(this.rollbackFunctionArn)))
        continue;
      this.rollbackRules.push({
        name: String(p.Name ?? id),
        pattern: (p.EventPattern ?? {}) as Record<string, unknown>,
      });
    }
    for (const [id, p] of resourcesOfType(template, 'AWS::AppConfig::DeploymentStrategy')) {
      this.cloud.strategies.set(id, {
        durationMinutes: Number(p.DeploymentDurationInMinutes ?? 0),
        bakeMinutes: Number(p.FinalBakeTimeInMinutes ?? 0),
        growthFactor: Number(p.GrowthFactor ?? 100),
      });
    }
    for (const [, p] of resourcesOfType(template, 'AWS::SSM::Parameter')) {
      this.cloud.ssm.set(String(p.Name), String(p.Value));
    }
    const raw = this.cloud.ssm.get(this.env.RELEASE_SETTINGS_PARAMETER ?? '');
    if (raw === undefined) throw new Error('the model stack has no release settings parameter');
    this.settings = releaseSettingsSchema.parse(JSON.parse(raw));

    const c = clients(this.cloud);
    const now = () => new Date(this.cloud.nowMs);
    const sleep = (ms: number) => this.advance(ms);
    const serving = {
      s3: c.s3,
      ssm: c.ssm,
      codepipeline: c.codepipeline,
      now,
      sagemaker: c.sagemaker,
      cloudwatch: c.cloudwatch,
      autoscaling: c.autoscaling,
    } as never;
    this.guard = servingGuardHandler({
      sagemaker: c.sagemaker,
      autoscaling: c.autoscaling,
      cloudwatch: c.cloudwatch,
      now,
      respond: async (_url: string, body: GuardResponse) => {
        this.guardResponses.push(body);
      },
    } as never);
    this.handlers = {
      shadow: shadowHandler(serving),
      canary: canaryHandler({ ...(serving as object), appconfig: c.appconfig } as never),
      promotion: promotionHandler({ ...(serving as object), appconfig: c.appconfig } as never),
      rollback: rollbackHandler({
        s3: c.s3,
        dynamodb: c.dynamodb,
        sns: c.sns,
        sagemaker: c.sagemaker,
        cloudwatch: c.cloudwatch,
        appconfig: c.appconfig,
        autoscaling: c.autoscaling,
        now,
        sleep,
      } as never),
    };
    this.traffic = new Traffic(
      this.cloud,
      routerEnv,
      new TextEncoder().encode('rehearsal-hmac-key-0123456789abcdef'),
    );
    this.cloud.onAlarmAction = () => undefined;
    // In AWS the rollback's formatted ARN and its function's Arn attribute are one string; the
    // emulator names a function's ARN after its logical id, so the rollback is given that one.
    if (this.functionEnvs.rollback.CONFIDENCE_ROLLBACK_ACTION_ARN !== undefined) {
      this.functionEnvs.rollback.CONFIDENCE_ROLLBACK_ACTION_ARN = String(
        resolveValue({ 'Fn::GetAtt': [this.rollbackFunctionArn.slice(1), 'Arn'] }),
      );
    }
    this.baselineJob = BaselineJobSchedule.fromTemplate(
      template,
      { s3: c.s3, ssm: c.ssm, cloudwatch: c.cloudwatch, sagemaker: c.sagemaker },
      now,
      START_MS,
    );
    this.metricRetentionMs =
      Math.max(6, this.settings.monitoring.confidenceAlarm.baselineHours + 2) * 3_600_000;
    this.invariants = new Invariants(this);
  }

  // -------------------------------------------------------------------------------------------
  // Versions
  // -------------------------------------------------------------------------------------------

  /** Registers a version; its eval report and behaviour come from the example report or the defaults. */
  version(label: string): Version {
    const existing = this.versions.get(label);
    if (existing) return existing;
    const commit = commitOf(label);
    const report = this.evalReportFor(commit);
    const sets = report.eval_sets as Record<
      string,
      { confidence?: { mean: number; std: number }; p95_latency_ms?: number }
    >;
    const productionLike =
      this.settings.evalSets.find((s) => s.kind === 'production-like' && sets[s.name]) ??
      this.settings.evalSets.find((s) => sets[s.name]);
    const m = productionLike ? sets[productionLike.name] : undefined;
    const behaviour: Behaviour = {
      confidenceMean: m?.confidence?.mean ?? DEFAULT_BEHAVIOUR.confidenceMean,
      confidenceStd: m?.confidence?.std ?? DEFAULT_BEHAVIOUR.confidenceStd,
      errorRate: DEFAULT_BEHAVIOUR.errorRate,
      p95LatencyMs: m?.p95_latency_ms ?? DEFAULT_BEHAVIOUR.p95LatencyMs,
    };
    const v: Version = { label, commit, behaviour, evalReport: report };
    this.versions.set(label, v);
    return v;
  }

  labelOfCommit(commit: string | undefined): string | undefined {
    if (commit === undefined) return undefined;
    for (const v of this.versions.values()) if (v.commit === commit) return v.label;
    return undefined;
  }

  labelOfModel(modelName: string | undefined): string | undefined {
    return this.labelOfCommit(this.cloud.modelVersionOf(modelName));
  }

  /** The example eval report of the model (examples/<model>/eval_report.json) or one built from defaults. */
  private evalReportFor(commit: string): Record<string, unknown> {
    const file = path.join(REPO_ROOT, 'examples', this.settings.model, 'eval_report.json');
    const example = existsSync(file)
      ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)
      : undefined;
    const exampleSets = (example?.eval_sets ?? {}) as Record<string, unknown>;
    const sets: Record<string, unknown> = {};
    for (const s of this.settings.evalSets) {
      sets[s.name] = exampleSets[s.name] ?? {
        accuracy: 0.9,
        p95_latency_ms: DEFAULT_BEHAVIOUR.p95LatencyMs,
        cost_per_1k_requests: 0.4,
        slice_accuracy: {},
        confidence: { mean: DEFAULT_BEHAVIOUR.confidenceMean, std: DEFAULT_BEHAVIOUR.confidenceStd },
        row_count: 1000,
        dataset_md5: createHash('md5').update(s.name).digest('hex'),
      };
    }
    return {
      schema_version: 1,
      model: this.settings.model,
      model_version: commit,
      generated_at: new Date(START_MS).toISOString(),
      currency: example?.currency ?? 'USD',
      eval_sets: sets,
    };
  }

  private readonly behaviourOf: ModelBehaviour = (modelName, random) => {
    const label = this.labelOfModel(modelName);
    const b = (label && this.versions.get(label)?.behaviour) || DEFAULT_BEHAVIOUR;
    const ok = random.next() >= b.errorRate;
    const confidence = Math.min(1, Math.max(0, b.confidenceMean + b.confidenceStd * random.normal()));
    // Log-normal latency with the given p95 (σ = 0.25).
    const latencyMs = b.p95LatencyMs * Math.exp(0.25 * (random.normal() - 1.645));
    return { ok, confidence, label: 'billing', latencyMs };
  };

  // -------------------------------------------------------------------------------------------
  // Time
  // -------------------------------------------------------------------------------------------

  /**
   * Moves the clock forward by `ms`: traffic at the scenario's rate, endpoint and flag changes at
   * their times, alarms evaluated at each minute boundary, then autoscaling; invariants after
   * each. Alarm actions run once no handler is in the middle of an invocation.
   */
  async advance(ms: number): Promise<void> {
    const end = this.cloud.nowMs + Math.max(0, ms);
    while (this.cloud.nowMs < end) {
      const gap = 60_000 / Math.max(1, this.rpm);
      const now = this.cloud.nowMs;
      const minuteEnd = (Math.floor(now / 60_000) + 1) * 60_000;
      const nextRequest = this.rpm > 0 ? (Math.floor(now / gap) + 1) * gap : Infinity;
      const change = this.cloud.nextChangeAt() ?? Infinity;
      const t = Math.min(end, minuteEnd, nextRequest, change);
      this.cloud.nowMs = t;
      this.cloud.settle();
      // An endpoint change that lands on a minute boundary is checked before that minute's
      // autoscaling acts on it: otherwise a fleet an update shrank and autoscaling grew back in the
      // same instant is never seen (invariant 5), and every emulated duration is whole minutes.
      if (t === change && t === minuteEnd) this.invariants.check('event');
      if (t === nextRequest) await this.sendRequest();
      if (t === minuteEnd) await this.minuteTick();
      // A request's own invariant is checked as it is answered (Invariants.onAnswer); the others
      // read state that only changes with an endpoint or flag change, a minute or a handler.
      if (t !== nextRequest || t === change || t === end) this.invariants.check('event');
      if (this.busy === 0) await this.runAlarmActions();
      if (this.busy === 0) await this.deliverEndpointEvents();
      if (this.busy === 0) await this.runBaselineJob();
    }
  }

  /** The confidence baseline job, when its schedule is due and no handler is mid-invocation. */
  private async runBaselineJob(): Promise<void> {
    const job = this.baselineJob;
    // A retired model's schedules are disabled (lib/stacks/retirement.ts).
    if (this.retired) return;
    if (!(job instanceof BaselineJobSchedule) || !job.due(this.cloud.nowMs)) return;
    this.busy++;
    let line: string | undefined;
    try {
      line = await job.run(this.settings.model, this.cloud.nowMs);
    } finally {
      this.busy--;
    }
    if (line !== undefined) this.cloud.log('baseline job', line);
    this.invariants.check('baseline job');
  }

  /**
   * Delivers SageMaker's endpoint state-change events (Cloud.endpointEvents) to the rollback
   * function through the rules that match them. EventBridge invokes the target asynchronously; the
   * rehearsal delivers once no handler is mid-invocation, in order, like the alarm actions.
   */
  private async deliverEndpointEvents(): Promise<void> {
    while (this.cloud.endpointEvents.length > 0) {
      const event = this.cloud.endpointEvents.shift()!;
      // A retired model's rules are DISABLED (lib/stacks/retirement.ts): nothing is delivered.
      if (this.retired) continue;
      const rule = this.rollbackRules.find((r) => matchesEventPattern(r.pattern, event));
      if (!rule) continue;
      setProcessEnv(this.functionEnvs.rollback);
      // The state change may end with a rollback (one deferred to the release's guardrails, looked
      // at again): the invariants judge it as any other.
      const before = this.invariants.servedBefore();
      this.busy++;
      let result: RollbackResult;
      try {
        result = await this.handlers.rollback(event);
      } finally {
        this.busy--;
      }
      if ('record' in result) {
        this.invariants.afterRollback(before, result);
        const target = this.labelOfCommit(result.record.to?.modelVersion);
        if (target && result.status !== 'failed')
          this.rollbackTiming = {
            triggerMs: Date.parse(result.record.trigger.triggeredAt),
            target,
            by: 'alarm (deferred)',
          };
      }
      if (result.status !== 'ignored') {
        this.cloud.log(
          `EventBridge → rollback fn (${shortEndpoint(event.detail.EndpointName)} ${event.detail.EndpointStatus})`,
          `${result.status}: ${'message' in result ? firstSentence(result.message) : ''}`,
        );
      }
    }
  }

  private async sendRequest(): Promise<void> {
    const before = this.cloud.answers.length;
    const routed = await this.traffic.send();
    const answer = this.cloud.answers[before];
    this.cloud.answers.length = 0;
    if (!answer) {
      this.bump(this.minuteSplit, `${routed.endpoint}:failed`);
      return;
    }
    this.bump(this.thisMinuteInvocations, `${answer.endpoint}/${answer.variant}`);
    const label = this.labelOfModel(answer.modelName) ?? answer.modelName;
    this.bump(
      this.minuteSplit,
      `${routed.endpoint === 'live' ? 'live' : 'standby'} ${label}${answer.canary ? ' (canary fleet)' : ''}`,
    );
    this.invariants.onAnswer(label, answer.canary, routed);
    // What the router logs as the answering version (its flag's), against the model that answered.
    const said = this.labelOfCommit(routed.modelVersion);
    if (!answer.canary && said !== undefined && said !== label) {
      if (this.mislabelled.count === 0) {
        this.cloud.log('router', `logs ${label}'s answers as ${said}'s (the flag names ${said})`);
      }
      this.mislabelled.count += 1;
      this.mislabelled.firstMs ??= this.cloud.nowMs;
    }
    const timing = this.rollbackTiming;
    if (timing && !answer.canary) {
      if (label !== timing.target) timing.servedMs = undefined;
      else timing.servedMs ??= this.cloud.nowMs;
    }
  }

  /** Requests the router sent to `endpoint` in this minute and the last whole one. */
  recentRequests(endpoint: string): number {
    let n = 0;
    for (const map of [this.lastMinuteInvocations, this.thisMinuteInvocations])
      for (const [key, count] of map) if (key.startsWith(`${endpoint}/`)) n += count;
    return n;
  }

  private bump(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  private async minuteTick(): Promise<void> {
    const now = this.cloud.nowMs;
    for (const change of this.cloud.alarms.evaluate(this.cloud.metrics, now)) {
      if (change.from === 'ALARM' || change.to === 'ALARM') {
        this.cloud.log(
          'cloudwatch',
          `alarm ${shortAlarm(change.name)}: ${change.from} → ${change.to} ${change.reason}`,
        );
      }
      // An alarm that changes state runs that state's actions, SNS notifications among them
      // ("CloudWatch can notify users ... when an alarm changes state", Acting_Alarm_Changes.html):
      // an ALARM notifies the paging topic with the alarm's name, description and reason. Not once
      // retired (ActionsEnabled false).
      const paging = change.actions.filter((a) => /Paging/i.test(a));
      if (!this.retired && change.to === 'ALARM' && paging.length > 0) {
        const description = String(
          this.cloud.alarms.alarms.get(change.name)?.definition.raw.AlarmDescription ?? '',
        );
        this.cloud.pages.push({
          atMs: now,
          subject: `ALARM: "${change.name}"`,
          body: `${description}\n${change.reason}`,
        });
        this.cloud.log('pager', `page: ALARM: "${change.name}"`);
      }
      // A retired model's alarms keep their state but call no action (ActionsEnabled false).
      if (
        !this.retired &&
        change.to === 'ALARM' &&
        change.actions.some((a) => a.endsWith(this.rollbackFunctionArn))
      ) {
        this.pendingAlarmActions.push({
          alarm: change.name,
          state: change.to,
          previous: change.from,
          reason: change.reason,
        });
      }
    }
    this.cloud.watchGuardrails();
    this.lastMinuteInvocations = this.thisMinuteInvocations;
    this.thisMinuteInvocations = new Map();
    this.cloud.autoscale(
      (endpoint, variant) => this.lastMinuteInvocations.get(`${endpoint}/${variant}`) ?? 0,
    );
    const split = [...this.minuteSplit.entries()]
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const alarming = [...this.cloud.alarms.alarms.values()]
      .filter((a) => a.state === 'ALARM')
      .map((a) => shortAlarm(a.definition.name));
    const line = `${split || 'no requests'}${alarming.length > 0 ? ` | ALARM: ${alarming.join(', ')}` : ''}`;
    const shape = line.replace(/\d+/g, '#');
    if (shape !== this.lastMinuteLine) {
      this.cloud.timeline.push({ atMs: now - 60_000, actor: 'traffic', message: line });
      this.lastMinuteLine = shape;
    }
    this.minuteSplit = new Map();
    this.cloud.metrics.prune(now - this.metricRetentionMs);
    this.invariants.check('minute');
  }

  private async runAlarmActions(): Promise<void> {
    while (this.pendingAlarmActions.length > 0) {
      const a = this.pendingAlarmActions.shift()!;
      const def = this.cloud.alarms.alarms.get(a.alarm)?.definition;
      const triggerMs = this.cloud.nowMs - (def ? def.datapointsToAlarm * def.periodSeconds * 1000 : 0);
      await this.invokeRollback(
        {
          source: 'aws.cloudwatch',
          alarmArn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${a.alarm}`,
          time: new Date(this.cloud.nowMs).toISOString(),
          alarmData: {
            alarmName: a.alarm,
            state: { value: a.state, reason: a.reason, timestamp: new Date(this.cloud.nowMs).toISOString() },
            previousState: { value: a.previous },
          },
        },
        `alarm ${shortAlarm(a.alarm)}`,
        triggerMs,
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Rollback
  // -------------------------------------------------------------------------------------------

  async invokeRollback(event: unknown, by: string, triggerMs = this.cloud.nowMs): Promise<RollbackResult> {
    const before = this.invariants.beforeRollback();
    setProcessEnv(this.functionEnvs.rollback);
    // A rollback takes over from a release paused between stages: it is no longer in flight. A run
    // paused in the middle of a stage is (CodePipeline keeps polling the action): it goes on.
    for (const r of this.runs) if (!r.running && !r.inStage && r.pending.length > 0) r.abandoned = true;
    this.busy++;
    let result: RollbackResult;
    try {
      result = await this.handlers.rollback(event);
    } finally {
      this.busy--;
    }
    const detail =
      'record' in result
        ? `${result.status}: ${this.labelOfCommit(result.record.from?.modelVersion) ?? '?'} → ${this.labelOfCommit(result.record.to?.modelVersion) ?? '?'}`
        : `${result.status}: ${firstSentence(result.message)}`;
    this.cloud.log(`rollback (${by})`, detail);
    this.invariants.afterRollback(before, result);
    if ('record' in result && result.record.to) {
      const target = this.labelOfCommit(result.record.to.modelVersion);
      if (target && result.status !== 'failed') this.rollbackTiming = { triggerMs, target, by };
    }
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // The release pipeline
  // -------------------------------------------------------------------------------------------

  /** What the stages before Shadow leave in the artifacts bucket for a release run. */
  private writeRunRecords(v: Version, executionId: string): void {
    const bucket = this.env.ARTIFACTS_BUCKET!;
    const model = this.settings.model;
    const put = (key: string, value: unknown) =>
      this.cloud.s3.set(`${bucket}/${key}`, [`${JSON.stringify(value, null, 2)}\n`]);
    const sets = v.evalReport.eval_sets as Record<string, { dataset_md5: string }>;
    put(artifactKeys.evalReport(model, executionId), v.evalReport);
    put(artifactKeys.dataValidation(model, executionId), {
      version: 1,
      verdict: 'pass',
      evalSets: Object.entries(sets).map(([name, m]) => ({
        evalSet: name,
        valid: true,
        errors: [],
        dataset: { md5: m.dataset_md5 },
      })),
    });
    put(artifactKeys.decision(model, executionId), {
      verdict: 'pass',
      regression: { summary: `PASS (rehearsal, ${v.label})` },
    });
    // What the PublishModel stage leaves: the archive at its content-addressed key, with S3's
    // SHA-256 checksum, and the record naming it (lambdas/core/gates/model-publication.ts).
    const archive = `model archive of ${v.label} (${v.commit})`;
    const sha256 = createHash('sha256').update(archive).digest();
    const archiveKey = publishedArchiveKey(model, sha256.toString('hex'));
    this.cloud.s3.set(`${bucket}/${archiveKey}`, [archive]);
    this.cloud.s3Checksums.set(`${bucket}/${archiveKey}`, sha256.toString('base64'));
    put(artifactKeys.modelArtifact(model, executionId), {
      sha256: sha256.toString('hex'),
      bytes: archive.length,
      modelDataUrl: `s3://${bucket}/${archiveKey}`,
      commitId: v.commit,
    });
  }

  /** Starts a release run and drives its stages up to `stopAfter`. */
  async release(
    label: string,
    options: { instanceType?: string; stopAfter?: Stage; pause?: StagePause } = {},
  ): Promise<ReleaseRun | undefined> {
    await this.resumePaused();
    if (this.refusedAfterRetirement(`release ${label}`)) return undefined;
    for (const r of this.runs) if (r.pending.length > 0) r.abandoned = true;
    const v = this.version(label);
    this.executions += 1;
    const executionId = `${this.random.hex(8)}-0000-4000-8000-${String(this.executions).padStart(12, '0')}`;
    this.writeRunRecords(v, executionId);
    const run: ReleaseRun = {
      label,
      executionId,
      instanceType: options.instanceType,
      outcomes: {},
      pending: [...STAGES],
      abandoned: false,
      running: false,
    };
    this.runs.push(run);
    this.cloud.log(
      'pipeline',
      `release ${label} (execution ${executionId.slice(0, 8)}${options.instanceType ? `, ${options.instanceType}` : ''})`,
    );
    await this.continueRun(run, options.stopAfter, options.pause);
    return run;
  }

  /**
   * A retired model's pipelines stop after Source: the transition into the first stage after it is
   * disabled with the reason the console shows (lib/stacks/retirement.ts), so nothing is released.
   */
  private refusedAfterRetirement(what: string): boolean {
    if (!this.retired) return false;
    const message =
      `${what} not started: the release pipeline stops after Source, its transition into ` +
      `${FIRST_STAGE_AFTER_SOURCE} is disabled: "${RETIRED_TRANSITION_REASON}"`;
    this.cloud.log('pipeline', message);
    this.invariants.refusedAfterRetirement(what, message);
    return true;
  }

  /**
   * What a deploy with `serving.retired: true` does to the serving plane: CloudFormation sends the
   * serving guard an Update with Retired "true" (the guard runs last: it depends on every other
   * resource, lib/constructs/serving-guard.ts); on SUCCESS the stack is retired (pipelines,
   * alarms, rules and schedules stopped), on FAILED the deploy rolls back and the model serves on.
   */
  async retire(): Promise<GuardResult> {
    await this.resumePaused();
    if (!this.guardProperties) throw new Error('the model stack has no Custom::ServingGuard resource');
    this.retirements += 1;
    const properties = {
      ...(this.guardProperties as unknown as ServingGuardProperties),
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:serving-guard',
      Retired: 'true',
    };
    const stack = `arn:aws:cloudformation:eu-west-1:123456789012:stack/${properties.StackName}/rehearsal`;
    const event = {
      RequestType: 'Update',
      ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/rehearsal',
      StackId: stack,
      RequestId: `retire-${this.retirements}`,
      LogicalResourceId: 'ServingGuard',
      PhysicalResourceId: `${properties.StackName}-serving-guard`,
      ResourceProperties: properties,
      OldResourceProperties: { ...properties, Retired: 'false' },
    };
    this.cloud.log('cloudformation', `deploy of ${properties.StackName} with serving.retired: true`);
    const before = this.invariants.beforeRetire();
    this.busy++;
    let result: GuardResult;
    try {
      result = await this.guard(event);
    } finally {
      this.busy--;
    }
    const response = this.guardResponses.at(-1);
    if (response?.Status === 'SUCCESS') {
      this.retired = true;
      this.cloud.log('serving guard', `SUCCESS: ${result.message}`);
      this.cloud.log(
        'cloudformation',
        'retired: pipelines stop after Source, alarms call no action, rules and schedules disabled',
      );
    } else {
      this.cloud.log(
        'serving guard',
        `FAILED: ${result.message} (the deploy rolls back; the model serves as before)`,
      );
    }
    this.invariants.afterRetire(before, response?.Status === 'SUCCESS');
    return result;
  }

  /**
   * Lets a run paused in the middle of a stage go on: the stage's polls, then its later stages up
   * to its `stopAfter`. The runner calls it before a step that lets time pass or starts a stage
   * (wait, release, retry) and at the end of the scenario.
   */
  async resumePaused(): Promise<void> {
    for (const run of this.runs) {
      const paused = run.inStage;
      if (!paused) continue;
      this.cloud.log('pipeline', `the ${paused.stage} stage of release ${run.label} goes on`);
      await this.continueRun(run, paused.stopAfter);
    }
  }

  /** A person retries `stage` of the last release run: that stage, then the rest. */
  async retry(stage: Stage): Promise<ReleaseRun | undefined> {
    await this.resumePaused();
    if (this.refusedAfterRetirement(`a retry of stage ${stage}`)) return undefined;
    const run = this.runs.at(-1);
    if (!run) return undefined;
    const from = STAGES.indexOf(stage);
    run.pending = STAGES.slice(from) as Stage[];
    run.abandoned = false;
    this.cloud.log('person', `retries stage ${stage} of release ${run.label}`);
    await this.continueRun(run, undefined);
    return run;
  }

  private async continueRun(
    run: ReleaseRun,
    stopAfter: Stage | undefined,
    pause?: StagePause,
  ): Promise<void> {
    run.running = true;
    while (run.pending.length > 0) {
      const stage = run.pending[0]!;
      const outcome = await this.runStage(run, stage, pause?.stage === stage ? pause.afterMs : undefined);
      if (outcome === 'paused') {
        run.inStage!.stopAfter = stopAfter;
        run.running = false;
        this.cloud.log(
          'pipeline',
          `release ${run.label} is part-way through its ${stage} stage; the next steps happen meanwhile`,
        );
        this.invariants.check('stage');
        return;
      }
      (run.outcomes as Record<Stage, string>)[stage] = outcome.status;
      if (outcome.status !== 'succeeded') {
        run.pending = [];
        break;
      }
      run.pending.shift();
      if (stage === stopAfter) break;
    }
    run.running = false;
    this.invariants.check('stage');
  }

  /**
   * One action of the pipeline: invoke, then re-invoke with the continuation token until it ends.
   * A job that returns a continuation token is "a custom action in progress"; "future jobs use this
   * token to identify the running instance of the action", and a complete action supplies none
   * (continuationToken, https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_PutJobSuccessResult.html).
   * With `pauseAfterMs`, returns 'paused' once the stage has been in progress that long (its token
   * kept in `run.inStage`); a paused stage goes on from its token when the run continues.
   */
  private async runStage(
    run: ReleaseRun,
    stage: Stage,
    pauseAfterMs?: number,
  ): Promise<JobOutcome | 'paused'> {
    const resumed = run.inStage?.stage === stage ? run.inStage : undefined;
    run.inStage = undefined;
    if (!resumed) this.jobs += 1;
    const jobId = resumed?.jobId ?? `job-${this.jobs}`;
    let token: string | undefined = resumed?.token;
    let lastShape = '';
    const instanceType = run.instanceType;
    const stageStartMs = this.cloud.nowMs;
    for (let polls = resumed?.polls ?? 0; ; polls++) {
      const event = {
        'CodePipeline.job': {
          id: jobId,
          data: {
            actionConfiguration: {
              configuration: {
                FunctionName: stage,
                UserParameters: JSON.stringify({
                  executionId: run.executionId,
                  pipeline: 'release',
                  commitId: this.version(run.label).commit,
                }),
              },
            },
            inputArtifacts: [],
            outputArtifacts: [],
            ...(token === undefined ? {} : { continuationToken: token }),
          },
        },
      };
      this.invariants.beforeStage(run, stage, polls === 0);
      // The function's environment as synthesized.
      setProcessEnv(this.functionEnvs[stage]);
      const restoreSettings = this.overrideInstanceType(instanceType);
      this.busy++;
      let outcome: JobOutcome;
      try {
        outcome = await this.handlers[stage](event);
      } finally {
        this.busy--;
        restoreSettings();
      }
      this.invariants.afterStage(run, stage, outcome);
      if (outcome.status !== 'in-progress') {
        const text =
          outcome.status === 'succeeded' ? firstSentence(outcome.summary) : firstLines(outcome.message);
        this.cloud.log(`${stage} (${run.label})`, `${outcome.status}: ${text}`);
        return outcome;
      }
      // The first poll's summary, and any that says something new (a pause on a transient failure),
      // not each poll's "still waiting".
      const said = firstSentence(outcome.summary);
      const shape = said.slice(0, 40).replace(/\d+/g, '#');
      if (polls === 0 || shape !== lastShape) this.cloud.log(`${stage} (${run.label})`, said);
      lastShape = shape;
      token = outcome.continuationToken;
      if (pauseAfterMs !== undefined && this.cloud.nowMs - stageStartMs >= pauseAfterMs) {
        run.inStage = { stage, jobId, token, polls: polls + 1, stopAfter: undefined };
        return 'paused';
      }
      // CodePipeline re-invokes an action that returned a continuation token; the interval is not
      // documented, the rehearsal uses one minute.
      await this.advance(60_000);
    }
  }

  /**
   * A release's serving override (the scenario's `instanceType`) goes into release settings the
   * stages of that run read, under a parameter name of their own: the handlers cache the settings
   * per parameter name for the life of a container.
   */
  /** The overriding settings per parameter name, and the base settings they were made from. */
  private readonly overridden = new Map<string, { baseText: string; text: string }>();

  private overrideInstanceType(instanceType: string | undefined): () => void {
    if (instanceType === undefined) return () => undefined;
    const base = this.env.RELEASE_SETTINGS_PARAMETER!;
    const name = `${base}-${instanceType}`;
    const baseText = this.cloud.ssm.get(base)!;
    let made = this.overridden.get(name);
    if (made?.baseText !== baseText) {
      const settings = JSON.parse(baseText) as ReleaseSettings;
      made = {
        baseText,
        text: JSON.stringify({ ...settings, serving: { ...settings.serving, instanceType } }),
      };
      this.overridden.set(name, made);
    }
    this.cloud.ssm.set(name, made.text);
    setProcessEnv({ RELEASE_SETTINGS_PARAMETER: name });
    return () => {
      setProcessEnv({ RELEASE_SETTINGS_PARAMETER: base });
    };
  }

  // -------------------------------------------------------------------------------------------
  // What is true now
  // -------------------------------------------------------------------------------------------

  private parsed = new Map<string, unknown>();

  /** JSON.parse, remembered per text: the invariants read the same documents after every event. */
  private parseOnce<T>(text: string): T | undefined {
    if (!this.parsed.has(text)) {
      if (this.parsed.size > 100) this.parsed.clear();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        value = undefined;
      }
      this.parsed.set(text, value);
    }
    return this.parsed.get(text) as T | undefined;
  }

  flagDocument(): { stable: { modelVersion: string; endpoint: 'live' | 'standby' } } | undefined {
    const text = this.cloud.deployedFlag();
    return text ? this.parseOnce(text) : undefined;
  }

  servingState():
    | {
        live: { configName: string; modelVersion: string; modelName: string };
        standby: { modelVersion: string } | null;
      }
    | undefined {
    const versions = this.cloud.s3.get(
      `${this.env.ARTIFACTS_BUCKET}/${artifactKeys.servingState(this.settings.model)}`,
    );
    return versions ? this.parseOnce(versions.at(-1)!) : undefined;
  }

  /** The version the router sends stable traffic to (by the deployed flag). */
  serving(): string | undefined {
    const flag = this.flagDocument();
    if (!flag) return this.labelOfModel(this.cloud.servingModel(this.env.LIVE_ENDPOINT!));
    const endpoint = flag.stable.endpoint === 'live' ? this.env.LIVE_ENDPOINT! : this.env.STANDBY_ENDPOINT!;
    return this.labelOfModel(this.cloud.servingModel(endpoint));
  }

  private readonly thresholds = new Map<string, number>();

  confidenceThresholdFor(label: string): number {
    const known = this.thresholds.get(label);
    if (known !== undefined) return known;
    const threshold = confidenceFloor(
      parseEvalReport(JSON.stringify(this.version(label).evalReport), label),
      this.settings,
    ).threshold;
    this.thresholds.set(label, threshold);
    return threshold;
  }

  flagSummary(): string {
    return flagSummary(this.cloud.deployedFlag() ?? '');
  }

  /** True when nothing is in flight: no stage, no endpoint update, no flag deployment, no paused run. */
  quiet(): boolean {
    if (this.busy > 0) return false;
    // A run being driven, paused in a stage, or paused part-way (stopAfter) and not taken over
    // since, is in flight.
    if (this.runs.some((r) => r.running || r.inStage || (r.pending.length > 0 && !r.abandoned))) return false;
    for (const e of this.cloud.endpoints.values()) if (e.op) return false;
    // A state-change event on its way to the rollback function (EventBridge delivers in near real
    // time, not in the same instant) is work in flight, like an endpoint operation.
    if (this.cloud.endpointEvents.length > 0) return false;
    return !this.cloud.flagDeployments.some((d) => d.state === 'DEPLOYING' || d.state === 'BAKING');
  }

  violations(): readonly InvariantViolation[] {
    return this.invariants.violations;
  }
}

export function shortAlarm(name: string): string {
  return name.replace(/^.*?-(live-|label-|cost-|prediction-)/, '$1');
}

/** A failure's message: its first lines, joined (they say what went wrong and what to do). */
function firstLines(text: string): string {
  const joined = text.split('\n').slice(0, 3).join(' ');
  return joined.length > 400 ? `${joined.slice(0, 397)}...` : joined;
}

function firstSentence(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 220 ? `${line.slice(0, 217)}...` : line;
}

/**
 * Whether an event matches an EventBridge event pattern, for the parts the stack's rules use: each
 * key of the pattern must be in the event; an array lists the allowed values, an object matches
 * the event's object field by field
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html).
 */
export function matchesEventPattern(pattern: Record<string, unknown>, event: unknown): boolean {
  if (event === null || typeof event !== 'object') return false;
  const e = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, want]) => {
    const got = e[key];
    if (Array.isArray(want)) return want.some((w) => w === got);
    if (want !== null && typeof want === 'object')
      return matchesEventPattern(want as Record<string, unknown>, got);
    return want === got;
  });
}

function shortEndpoint(name: string): string {
  return name.replace(/^.*-(live|standby)$/, '$1');
}
