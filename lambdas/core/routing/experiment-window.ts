/**
 * How many days of prediction log the nightly A/B analysis reads to find its experiment. The flag
 * history over EXPERIMENT_LOOKBACK_DAYS (35) is the whole answer, but it costs 35 days of log a
 * night. The previous night's report already holds that answer up to the end of the previous day,
 * so a night where the same experiment simply went on needs only its own day: if every request of
 * the day was served under the previous night's experiment (same flag, same two model versions),
 * the 35-day search would find exactly the previous night's experiment, and it is carried over.
 * Anything else (no previous report, another table, an experiment older than the window, a flag or
 * version change during the day, no request that day) falls back to the 35-day search, so the
 * result is always the one the full search gives (test/core/experiment-window.test.ts checks that
 * over generated logs).
 */
import { z } from 'zod';
import {
  daysBefore,
  EXPERIMENT_LOOKBACK_DAYS,
  findExperiment,
  type Experiment,
  type FlagHistoryRow,
} from './ab-experiment';

/** The part of the previous night's report (`models/<model>/ab/<day>.json`) read here. */
export const previousNightSchema = z.object({
  schemaVersion: z.literal(2),
  model: z.string(),
  day: z.string(),
  table: z.string(),
  analysis: z.object({
    experiment: z
      .object({
        name: z.string(),
        candidatePercent: z.number(),
        stableVersion: z.string(),
        candidateVersion: z.string(),
        flags: z.array(z.string()),
        after: z.string().nullable(),
        firstSeen: z.string(),
        firstDay: z.string(),
        startedBeforeWindow: z.boolean(),
      })
      .nullable(),
  }),
});

export type PreviousNight = z.output<typeof previousNightSchema>;

/** Which days the flag-history query reads tonight, and why. */
export type FlagHistoryPlan =
  | {
      readonly kind: 'day-only';
      readonly fromDay: string;
      readonly toDay: string;
      /** The previous night's experiment, carried over if the day shows nothing else. */
      readonly previous: Experiment;
    }
  | { readonly kind: 'full'; readonly fromDay: string; readonly toDay: string; readonly why: string };

/** The first day of the full search for `day` (35 days, the day included). */
export const lookbackStart = (day: string) => daysBefore(day, EXPERIMENT_LOOKBACK_DAYS - 1);

/**
 * Tonight's flag-history window. `previous` is the report of the day before `day` (undefined when
 * there is none), for the table `table`.
 */
export function planFlagHistory(
  day: string,
  model: string,
  table: string,
  previous: PreviousNight | undefined,
): FlagHistoryPlan {
  const full = (why: string): FlagHistoryPlan => ({
    kind: 'full',
    fromDay: lookbackStart(day),
    toDay: day,
    why,
  });
  const yesterday = daysBefore(day, 1);
  if (previous === undefined) return full(`no report for ${yesterday}`);
  if (previous.day !== yesterday || previous.model !== model || previous.table !== table) {
    return full(
      `the report for ${yesterday} is for ${previous.model} on ${previous.day} from ${previous.table}`,
    );
  }
  const experiment = previous.analysis.experiment;
  if (experiment === null) return full(`no experiment was running at the end of ${yesterday}`);
  // Only an experiment that began after tonight's window opens is the full search's answer too: an
  // older one is cut at the window's first day (and one that began on it is reported as possibly
  // older), which only the full search can see.
  if (experiment.firstDay <= lookbackStart(day)) {
    return full(
      `the experiment began on ${experiment.firstDay}, before the ${EXPERIMENT_LOOKBACK_DAYS}-day window`,
    );
  }
  return { kind: 'day-only', fromDay: day, toDay: day, previous: experiment };
}

const sameIdentity = (a: Experiment, b: Experiment) =>
  a.name === b.name &&
  a.candidatePercent === b.candidatePercent &&
  a.stableVersion === b.stableVersion &&
  a.candidateVersion === b.candidateVersion &&
  a.flags.length === b.flags.length &&
  a.flags.every((f, i) => f === b.flags[i]);

/**
 * The experiment at the end of `day` from that day's flag history alone, when every request of the
 * day went to the previous night's experiment: then it is that experiment, unchanged. Null when the
 * day shows anything else; the full search decides then.
 */
export function continueExperiment(
  dayRows: readonly FlagHistoryRow[],
  day: string,
  previous: Experiment,
): Experiment | null {
  const today = findExperiment(dayRows, { fromDay: day, day });
  if (!today.found || today.experiment.after !== null) return null;
  return sameIdentity(today.experiment, previous) ? previous : null;
}
