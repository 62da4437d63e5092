/**
 * The confidence alarm's calibration, computed once per alarm definition and traffic instead of
 * once per container: the PR comment keeps it in the artifacts bucket under a key that is the
 * SHA-256 of everything the simulation reads, so a new definition (or traffic, or run size) gets a
 * new key and never an old figure.
 *
 * Pure: hashing and parsing only; the handler does the S3 I/O.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  calibrateConfidenceAlarm,
  calibrationLine,
  DEFAULT_CALIBRATION_RUN,
  type CalibrationReport,
  type CalibrationRunOptions,
  type ConfidenceMonitoringConfig,
} from './confidence-alarm';

/**
 * Part of every key. Bump it when the simulation or the rule's evaluation changes in code without a
 * change of config (confidence-alarm.ts), so the cached figures of the old code are not served.
 */
export const ALARM_CALIBRATION_CODE_VERSION = 1;

/** What one calibration depends on. */
export interface AlarmCalibrationInput {
  /** The model's whole `monitoring` config: every key the alarm or its simulation may read. */
  readonly monitoring: ConfidenceMonitoringConfig;
  readonly requestsPerMinute: number;
  /** @default DEFAULT_CALIBRATION_RUN (what `mlops calibrate-alarm` runs) */
  readonly run?: CalibrationRunOptions;
}

/** JSON with object keys sorted at every level, so equal inputs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The SHA-256 (hex) of the inputs, the code version included. */
export function alarmCalibrationHash(input: AlarmCalibrationInput): string {
  const document = canonicalJson({
    codeVersion: ALARM_CALIBRATION_CODE_VERSION,
    monitoring: input.monitoring,
    requestsPerMinute: input.requestsPerMinute,
    run: input.run ?? DEFAULT_CALIBRATION_RUN,
  });
  return createHash('sha256').update(document, 'utf8').digest('hex');
}

/** Where the calibrations of a model live in the artifacts bucket (the PR comment's only write prefix). */
export const alarmCalibrationPrefix = (model: string) => `models/${model}/alarm-calibration/`;

export const alarmCalibrationKey = (model: string, input: AlarmCalibrationInput) =>
  `${alarmCalibrationPrefix(model)}${alarmCalibrationHash(input)}.json`;

export const ALARM_CALIBRATION_RECORD_VERSION = 1;

export const alarmCalibrationRecordSchema = z.object({
  version: z.literal(ALARM_CALIBRATION_RECORD_VERSION),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  model: z.string(),
  requestsPerMinute: z.number().positive(),
  run: z.object({
    seed: z.number(),
    versions: z.number(),
    daysPerVersion: z.number(),
    runs: z.number(),
  }),
  /** The line the PR comment shows, as `mlops calibrate-alarm` prints it. */
  line: z.string().min(1),
  /** The whole report, for a person reading the object; not read back. */
  report: z.unknown(),
});

export type AlarmCalibrationRecord = z.output<typeof alarmCalibrationRecordSchema>;

/** Runs the simulation (seconds of CPU) and returns the record to keep. */
export function computeAlarmCalibration(
  model: string,
  input: AlarmCalibrationInput,
  calibrate: (
    monitoring: ConfidenceMonitoringConfig,
    requestsPerMinute: number,
    run: CalibrationRunOptions,
  ) => CalibrationReport = calibrateConfidenceAlarm,
): AlarmCalibrationRecord {
  const run = input.run ?? DEFAULT_CALIBRATION_RUN;
  const report = calibrate(input.monitoring, input.requestsPerMinute, run);
  return {
    version: ALARM_CALIBRATION_RECORD_VERSION,
    hash: alarmCalibrationHash(input),
    model,
    requestsPerMinute: input.requestsPerMinute,
    run: { seed: run.seed, versions: run.versions, daysPerVersion: run.daysPerVersion, runs: run.runs },
    line: calibrationLine(report),
    report,
  };
}

/**
 * A kept record, or the reason it cannot be used: not JSON, not this format, or computed for other
 * inputs (its hash is not the key's), in which case it is recomputed and replaced.
 */
export function parseAlarmCalibrationRecord(
  text: string,
  expectedHash: string,
): { ok: true; record: AlarmCalibrationRecord } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `not JSON (${(err as Error).message})` };
  }
  const parsed = alarmCalibrationRecordSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return {
      ok: false,
      problem: `not an alarm calibration record (${first.path.join('.') || '(top level)'}: ${first.message})`,
    };
  }
  if (parsed.data.hash !== expectedHash) {
    return { ok: false, problem: `computed for other inputs (hash ${parsed.data.hash.slice(0, 12)}…)` };
  }
  return { ok: true, record: parsed.data };
}
