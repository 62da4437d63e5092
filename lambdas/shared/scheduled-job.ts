/**
 * What every scheduled function (EventBridge Scheduler, event `{"model": "...", ...}`) does around
 * its work: a fresh logger, the event parsed, the release settings loaded and checked to be this
 * function's model, and any failure rethrown as `<label> failed: <what>.<how to rerun>`.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { ReleaseSettings } from '../core/contracts/release-settings';
import { describeError } from '../ab-analysis/query';
import { logger } from './logger';
import { loadReleaseSettings } from './settings';

export interface ScheduledJob<Event extends { readonly model: string }, Env> {
  /** Opens every summary and failure message, e.g. `Drift monitor`. */
  readonly name: string;
  /** What the function does to its model, in "this function <verb> "<model>"", e.g. `monitors`. */
  readonly verb: string;
  /** The event, or a throw saying what is wrong with it (see parseScheduleEvent). */
  readonly parseEvent: (event: unknown) => Event;
  /** Checks of the parsed event made before anything is read. @default - none */
  readonly checkEvent?: (event: Event) => void;
  /** @default - `<name> of <model>` */
  readonly label?: (event: Event) => string;
  /** @default - `{ model }` */
  readonly logKeys?: (event: Event) => Record<string, unknown>;
  /** The function's environment, or a throw naming what is missing. */
  readonly env: () => Env & { readonly RELEASE_SETTINGS_PARAMETER: string };
  /** Appended to failures once the model is known. @default - the schedule's retries, then rerunHint({ model }) */
  readonly rerun?: (event: Event) => string;
}

/** What EventBridge Scheduler invokes. */
export type ScheduledHandler<Result> = (event: unknown, context?: Context) => Promise<Result>;

/** What the work gets: the checked event, environment and release settings, and the run's label. */
export interface ScheduledRun<Event, Env> {
  readonly model: string;
  readonly event: Event;
  readonly env: Env;
  readonly settings: ReleaseSettings;
  readonly label: string;
  /** The invocation's, when Lambda runs the handler. */
  readonly context: Context | undefined;
}

/** ` After fixing it, rerun[ <what>] by invoking the function with <input>.` */
export function rerunHint(input: object, what?: string): string {
  return ` After fixing it, rerun${what ? ` ${what}` : ''} by invoking the function with ${JSON.stringify(input)}.`;
}

/** The event as `schema` has it, or a throw showing the event (cut at 300 characters) and `shape`. */
export function parseScheduleEvent<Schema extends z.ZodType>(
  event: unknown,
  schema: Schema,
  shape: string,
): z.output<Schema> {
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    const shown = JSON.stringify(event) ?? String(event);
    throw new Error(
      `the event ${shown.length > 300 ? `${shown.slice(0, 300)}...` : shown} is not ${shape}; fix the schedule's input`,
    );
  }
  return parsed.data;
}

/**
 * The Lambda handler of a scheduled job: `work` runs once the event, environment and release
 * settings are checked; every failure is logged and rethrown with the run's label and rerun hint.
 */
export function scheduledHandler<Event extends { readonly model: string }, Env, Result>(
  job: ScheduledJob<Event, Env>,
  deps: { readonly ssm: SSMClient },
  work: (run: ScheduledRun<Event, Env>) => Promise<Result>,
): ScheduledHandler<Result> {
  return async (rawEvent, context) => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    let label = job.name;
    let rerun = '';
    try {
      const event = job.parseEvent(rawEvent);
      const { model } = event;
      label = job.label ? job.label(event) : `${job.name} of ${model}`;
      logger.appendKeys(job.logKeys ? job.logKeys(event) : { model });
      job.checkEvent?.(event);
      const env = job.env();
      const settings = await loadReleaseSettings(deps.ssm, env.RELEASE_SETTINGS_PARAMETER);
      if (settings.model !== model) {
        throw new Error(
          `the event names model "${model}" but this function ${job.verb} "${settings.model}" (release settings ` +
            `${env.RELEASE_SETTINGS_PARAMETER}): fix the schedule's input or invoke the function of ${model}`,
        );
      }
      rerun = job.rerun
        ? job.rerun(event)
        : " The schedule retries; after its last retry the event waits in the schedule's dead-letter queue." +
          rerunHint({ model });
      return await work({ model, event, env, settings, label, context });
    } catch (error) {
      const message = `${label} failed: ${(error as Error).message}.${rerun}`;
      logger.error(message, { error: describeError(error) });
      throw new Error(message, { cause: error });
    }
  };
}

const modelEventSchema = z.strictObject({ model: z.string().min(1) });

/** The event `{"model": "..."}` of a function that needs nothing else. */
export function parseModelEvent(event: unknown): z.output<typeof modelEventSchema> {
  return parseScheduleEvent(event, modelEventSchema, '{"model": "<model>"}');
}
