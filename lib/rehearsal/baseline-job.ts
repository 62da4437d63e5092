/**
 * The confidence baseline job in the rehearsal: the real handler (lambdas/confidence-baseline), run
 * on the schedule the synthesized stack gives it (its AWS::Scheduler::Schedule), with the
 * environment it is deployed with. A rehearsal then shows the confidence alarm going from
 * provisional to armed `baselineHours` after a promotion, as it would in the account.
 *
 * EventBridge Scheduler invokes a rate-based schedule every `rate(value unit)` from its start
 * (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html); the rehearsal
 * starts the schedule with the world.
 */
import { createHandler, type BaselineJobResult } from '../../lambdas/confidence-baseline';
import type { ScheduledHandler } from '../../lambdas/shared/scheduled-job';
import { functionEnvironment, functionId, resourcesOfType, type Template } from './template';
import { setProcessEnv } from './process-env';

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Milliseconds between runs of a `rate(...)` expression; null for a cron expression. */
export function rateIntervalMs(expression: string): number | null {
  const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : null;
}

export interface BaselineJobClients {
  readonly s3: unknown;
  readonly ssm: unknown;
  readonly cloudwatch: unknown;
  readonly sagemaker: unknown;
}

export class BaselineJobSchedule {
  private readonly handler: ScheduledHandler<BaselineJobResult>;
  readonly env: Record<string, string>;
  readonly intervalMs: number;
  private nextRunMs: number;
  private lastOutcome: string | undefined;

  private constructor(
    handler: ScheduledHandler<BaselineJobResult>,
    env: Record<string, string>,
    intervalMs: number,
    startMs: number,
  ) {
    this.handler = handler;
    this.env = env;
    this.intervalMs = intervalMs;
    this.nextRunMs = startMs + intervalMs;
  }

  /**
   * The job as the template deploys it, or why the rehearsal cannot run it (no such function in
   * this template, or a cron schedule).
   */
  static fromTemplate(
    template: Template,
    clients: BaselineJobClients,
    now: () => Date,
    startMs: number,
  ): BaselineJobSchedule | { readonly why: string } {
    const pattern = /^MonitoringConfidenceBaseline[A-Z0-9]/;
    const id = functionId(template, pattern);
    if (id === undefined) return { why: 'the model stack has no confidence baseline job' };
    const schedule = resourcesOfType(template, 'AWS::Scheduler::Schedule').find(([, p]) =>
      String((p.Target as { Arn?: unknown } | undefined)?.Arn).endsWith(`:${id}`),
    );
    if (!schedule) return { why: 'the confidence baseline job has no schedule' };
    const expression = String(schedule[1].ScheduleExpression);
    const interval = rateIntervalMs(expression);
    if (interval === null) return { why: `its schedule ${expression} is not a rate expression` };
    const env = Object.fromEntries(
      Object.entries(functionEnvironment(template, pattern)).filter(
        ([k]) => k !== 'NODE_OPTIONS' && !k.startsWith('POWERTOOLS_'),
      ),
    );
    const handler = createHandler({
      s3: clients.s3,
      ssm: clients.ssm,
      cloudwatch: clients.cloudwatch,
      sagemaker: clients.sagemaker,
      now,
    } as never);
    return new BaselineJobSchedule(handler, env, interval, startMs);
  }

  due(nowMs: number): boolean {
    return nowMs >= this.nextRunMs;
  }

  /**
   * Runs the job once (the schedule's input is `{"model": ...}`) and schedules the next run.
   * Returns a line for the timeline when something changed, else undefined.
   */
  async run(model: string, nowMs: number): Promise<string | undefined> {
    while (this.nextRunMs <= nowMs) this.nextRunMs += this.intervalMs;
    setProcessEnv(this.env);
    let result: BaselineJobResult;
    try {
      result = await this.handler({ model });
    } catch (error) {
      this.lastOutcome = 'failed';
      return `failed: ${(error as Error).message}`;
    }
    const changed = result.outcome !== this.lastOutcome;
    this.lastOutcome = result.outcome;
    if (!changed && result.outcome !== 'armed' && result.outcome !== 'superseded') return undefined;
    return `${result.outcome}: ${result.summary.replace(/^[^:]*: /, '')}`;
  }
}
