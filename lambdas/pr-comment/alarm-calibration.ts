/**
 * The PR comment's confidence-alarm line, computed once per alarm definition and traffic and kept in
 * the artifacts bucket (lambdas/core/monitoring/alarm-calibration-cache.ts): the simulation costs
 * seconds of CPU, a read of the kept record milliseconds. The cache never decides what the comment
 * says: a missing, unreadable or foreign record is recomputed, and a failed write only costs the next
 * run the same seconds again.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ReleaseSettings } from '../core/contracts/release-settings';
import {
  alarmCalibrationHash,
  alarmCalibrationKey,
  computeAlarmCalibration,
  parseAlarmCalibrationRecord,
  type AlarmCalibrationInput,
} from '../core/monitoring/alarm-calibration-cache';
import {
  calibrateConfidenceAlarm,
  DEFAULT_CALIBRATION_RUN,
  requestsPerMinuteOfMonthly,
  type CalibrationReport,
  type CalibrationRunOptions,
  type ConfidenceMonitoringConfig,
} from '../core/monitoring/confidence-alarm';
import { logger } from '../shared/logger';

/** The simulation: `calibrateConfidenceAlarm` unless a test injects a cheaper one. */
export type Calibrate = (
  monitoring: ConfidenceMonitoringConfig,
  requestsPerMinute: number,
  run: CalibrationRunOptions,
) => CalibrationReport;

/** Where the line came from, for the log and the tests. */
export type CalibrationSource = 'memory' | 'bucket' | 'computed';

/**
 * The calibration line of the deployed alarm: the model's `monitoring` at its configured traffic
 * (`cost.monthlyRequests` over 730 hours), with `mlops calibrate-alarm`'s default run and seed, so the
 * comment and the CLI print the same figures. Looked up in `memory` (this container), then in the
 * bucket, else simulated and written back.
 */
export async function deployedAlarmCalibration(
  s3: S3Client,
  bucket: string,
  settings: ReleaseSettings,
  memory: Map<string, string>,
  calibrate: Calibrate = calibrateConfidenceAlarm,
  run: CalibrationRunOptions = DEFAULT_CALIBRATION_RUN,
): Promise<{ line: string; source: CalibrationSource; key: string }> {
  const input: AlarmCalibrationInput = {
    monitoring: settings.monitoring,
    requestsPerMinute: requestsPerMinuteOfMonthly(settings.cost.monthlyRequests),
    run,
  };
  const key = alarmCalibrationKey(settings.model, input);
  const remembered = memory.get(key);
  if (remembered !== undefined) return { line: remembered, source: 'memory', key };

  const where = `s3://${bucket}/${key}`;
  const kept = await readKept(s3, bucket, key, where);
  if (kept !== undefined) {
    const parsed = parseAlarmCalibrationRecord(kept, alarmCalibrationHash(input));
    if (parsed.ok) {
      memory.set(key, parsed.record.line);
      return { line: parsed.record.line, source: 'bucket', key };
    }
    logger.warn('kept alarm calibration is unusable; recomputing it', { where, problem: parsed.problem });
  }

  const record = computeAlarmCalibration(settings.model, input, calibrate);
  memory.set(key, record.line);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: `${JSON.stringify(record, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  } catch (err) {
    logger.warn('cannot keep the alarm calibration; the next cold container computes it again', {
      where,
      error: `${(err as Error).name}: ${(err as Error).message}`,
      hint: "the function's role needs s3:PutObject on the alarm-calibration prefix and kms:GenerateDataKey on the bucket's key",
    });
  }
  return { line: record.line, source: 'computed', key };
}

/** The kept record's text; undefined when there is none or it cannot be read (then it is recomputed). */
async function readKept(
  s3: S3Client,
  bucket: string,
  key: string,
  where: string,
): Promise<string | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await res.Body?.transformToString('utf-8')) ?? '';
  } catch (err) {
    const name = (err as Error).name;
    if (name !== 'NoSuchKey' && name !== 'NotFound') {
      logger.warn('cannot read the kept alarm calibration; recomputing it', {
        where,
        error: `${name}: ${(err as Error).message}`,
      });
    }
    return undefined;
  }
}
