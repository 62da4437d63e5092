import type { Command } from 'commander';
import {
  calibrateConfidenceAlarm,
  calibrationLine,
  CALIBRATION_TARGETS,
  DEFAULT_CALIBRATION_RUN,
  requestsPerMinuteOfMonthly,
  type CalibrationReport,
} from '../../../lambdas/core/monitoring/confidence-alarm';
import { CONFIG_DIR_OPTION, loadModel, toJsonLine } from '../context';
import { CliIo, ExitCode, UsageError } from '../io';

interface Options {
  readonly model: string;
  readonly requestsPerMinute?: string;
  readonly seed?: string;
  readonly configDir?: string;
  readonly json?: boolean;
}

function positiveNumber(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number (got "${raw}")`);
  return n;
}

function seedOf(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_CALIBRATION_RUN.seed;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 100) {
    throw new UsageError(`--seed must be a whole number from 0 to ${2 ** 32 - 100} (got "${raw}")`);
  }
  return n;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function renderText(model: string, source: string, r: CalibrationReport): string {
  const t = r.traffic;
  const s = r.settings;
  const lines = [
    `${model}: confidence alarm at ${r.requestsPerMinute.toFixed(1)} requests/min (${source})`,
    `  rule: z < −${s.stdDevs} in ${s.breachingPeriods} of the last ${s.evaluationPeriods ?? s.breachingPeriods} ${s.periodSeconds}-s periods, evaluated every minute (sliding window); periods with < ${s.minRequests} requests skipped; baseline from the first ${r.baselinePeriods} periods of live traffic`,
    `  traffic model: confidence mean ${t.confidenceMean}, sd ${t.confidenceStdDev} per request (Beta); the minute's mean wanders as AR(1) with sd ${t.periodStdDev}, lag-1 autocorrelation ${t.periodAutocorrelation}; Poisson arrivals`,
    `  false rollbacks: ${r.falseRollbacks.per30Days.toFixed(3)} per 30 days (${r.falseRollbacks.falseAlarms} in ${r.falseRollbacks.days.toFixed(0)} simulated days over ${r.falseRollbacks.versions} versions; 95% upper bound ${r.falseRollbacks.upper95Per30Days.toFixed(2)})`,
    '  detection of a drop in mean confidence (runs from a fresh baseline; delay in minutes after the drop began):',
    '     drop   within 10 min   median delay   p95 delay',
    ...r.detection.map(
      (d) =>
        `     ${d.drop.toFixed(2)}   ${pct(d.detectedWithin).padStart(13)}   ${String(d.medianDelay ?? '> 1 day').padStart(12)}   ${String(d.p95Delay ?? '> 1 day').padStart(9)}`,
    ),
    `  smallest drop detected within 10 minutes in 95% of runs: ${r.smallestDetectableDrop === null ? 'none up to 0.5' : r.smallestDetectableDrop.toFixed(2)}`,
    `  target: ${r.targets.falseRollbacks.met ? 'met' : 'NOT met'}: ${r.targets.falseRollbacks.detail}`,
    r.targets.detection
      ? `  target: ${r.targets.detection.met ? 'met' : 'NOT met'}: ${r.targets.detection.detail}`
      : `  target: no detection target below ${CALIBRATION_TARGETS.fromRequestsPerMinute} requests/min (the smallest detectable drop above is the figure)`,
    `  (seed ${r.seed}; the same definition the stack deploys: lambdas/core/monitoring/confidence-alarm.ts)`,
  ];
  return `${lines.join('\n')}\n`;
}

export function calibrateAlarmCommand(io: CliIo, opts: Options): ExitCode {
  const { model } = loadModel(opts.configDir, opts.model);
  const given = positiveNumber(opts.requestsPerMinute, '--requests-per-minute');
  const rate = given ?? requestsPerMinuteOfMonthly(model.cost.monthlyRequests);
  const source =
    given === undefined
      ? `cost.monthlyRequests ${model.cost.monthlyRequests.toLocaleString('en-US')} over 730 hours`
      : '--requests-per-minute';
  const report = calibrateConfidenceAlarm(model.monitoring, rate, {
    ...DEFAULT_CALIBRATION_RUN,
    seed: seedOf(opts.seed),
  });
  const met = report.targets.falseRollbacks.met && (report.targets.detection?.met ?? true);
  io.stdout.write(
    opts.json
      ? toJsonLine({ model: model.name, source, targetsMet: met, line: calibrationLine(report), ...report })
      : renderText(model.name, source, report),
  );
  return met ? ExitCode.Ok : ExitCode.CheckFailed;
}

export function register(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('calibrate-alarm')
    .description(
      "Simulate the model's live confidence alarm, as the stack deploys it: false rollbacks per 30 days and detection delay of drops in mean confidence.",
    )
    .requiredOption('-m, --model <name>', 'model to calibrate (a file in config/models/)')
    .option(
      '-r, --requests-per-minute <N>',
      "traffic to simulate (default: the model's cost.monthlyRequests spread over 730 hours)",
    )
    .option('--seed <n>', 'seed of the simulation', String(DEFAULT_CALIBRATION_RUN.seed))
    .option(...CONFIG_DIR_OPTION)
    .option('--json', 'print one JSON document instead of text')
    .addHelpText(
      'after',
      '\nThe traffic model is monitoring.confidenceAlarm.traffic in the model config. Takes tens of seconds.\n' +
        'Exit codes: 0 targets met (at most one false rollback per 90 days; at >= 100 requests/min a 0.05 drop\n' +
        'detected within 10 minutes in 95% of runs), 1 a target not met, 2 bad usage or config.',
    )
    .action((opts: Options) => done(calibrateAlarmCommand(io, opts)));
}
