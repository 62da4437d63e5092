import fc from 'fast-check';
import {
  alarmCalibrationHash,
  alarmCalibrationKey,
  canonicalJson,
  computeAlarmCalibration,
  parseAlarmCalibrationRecord,
} from '../../lambdas/core/monitoring/alarm-calibration-cache';
import {
  calibrationLine,
  DEFAULT_CALIBRATION_RUN,
  requestsPerMinuteOfMonthly,
} from '../../lambdas/core/monitoring/confidence-alarm';
import { shippedConfig } from '../helpers/config-fixture';

const model = shippedConfig().models[0];
const monitoring = model.monitoring;
const rate = requestsPerMinuteOfMonthly(model.cost.monthlyRequests);
const SHORT = { seed: 3, versions: 1, daysPerVersion: 1, runs: 10 };

describe('alarm calibration cache key', () => {
  it('is the same for the same inputs whatever the order of their keys', () => {
    const reordered = Object.fromEntries(Object.entries(monitoring).reverse()) as typeof monitoring;
    expect(alarmCalibrationHash({ monitoring: reordered, requestsPerMinute: rate })).toBe(
      alarmCalibrationHash({ monitoring, requestsPerMinute: rate }),
    );
    // The default run is the CLI's, named or not.
    expect(alarmCalibrationHash({ monitoring, requestsPerMinute: rate, run: DEFAULT_CALIBRATION_RUN })).toBe(
      alarmCalibrationHash({ monitoring, requestsPerMinute: rate }),
    );
  });

  it('changes with any alarm setting, the traffic model, the traffic or the run', () => {
    const base = alarmCalibrationHash({ monitoring, requestsPerMinute: rate });
    const a = monitoring.confidenceAlarm;
    const variants = [
      { ...monitoring, confidenceStdDevs: monitoring.confidenceStdDevs + 0.1 },
      { ...monitoring, periodSeconds: monitoring.periodSeconds * 2 },
      { ...monitoring, confidenceAlarm: { ...a, breachingPeriods: a.breachingPeriods + 1 } },
      { ...monitoring, confidenceAlarm: { ...a, minRequestsPerPeriod: a.minRequestsPerPeriod + 1 } },
      { ...monitoring, confidenceAlarm: { ...a, baselineHours: a.baselineHours + 1 } },
      {
        ...monitoring,
        confidenceAlarm: { ...a, traffic: { ...a.traffic, periodStdDev: a.traffic.periodStdDev + 0.001 } },
      },
    ];
    const hashes = variants.map((m) => alarmCalibrationHash({ monitoring: m, requestsPerMinute: rate }));
    hashes.push(alarmCalibrationHash({ monitoring, requestsPerMinute: rate + 1 }));
    hashes.push(
      alarmCalibrationHash({
        monitoring,
        requestsPerMinute: rate,
        run: { ...DEFAULT_CALIBRATION_RUN, seed: 1 },
      }),
    );
    expect(new Set([base, ...hashes]).size).toBe(hashes.length + 1);
  });

  it('lives under the model prefix, named by the 64-hex hash', () => {
    expect(alarmCalibrationKey('document-classifier', { monitoring, requestsPerMinute: rate })).toMatch(
      /^models\/document-classifier\/alarm-calibration\/[0-9a-f]{64}\.json$/,
    );
  });

  it('canonical JSON parses back to the same value and ignores key order (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
          const reversed = Object.fromEntries(Object.entries(value).reverse());
          expect(canonicalJson(reversed)).toBe(text);
        }
      }),
    );
  });
});

describe('alarm calibration record', () => {
  const input = { monitoring, requestsPerMinute: rate, run: SHORT };
  const record = computeAlarmCalibration('document-classifier', input);

  it('holds the line the CLI prints for the same run, and reads back', () => {
    expect(record.line).toBe(calibrationLine(record.report as Parameters<typeof calibrationLine>[0]));
    expect(record.run).toEqual(SHORT);
    const parsed = parseAlarmCalibrationRecord(JSON.stringify(record), alarmCalibrationHash(input));
    expect(parsed).toEqual({ ok: true, record: JSON.parse(JSON.stringify(record)) });
  });

  it('is refused when it is not JSON, not a record, or computed for other inputs', () => {
    const hash = alarmCalibrationHash(input);
    expect(parseAlarmCalibrationRecord('{"line": "trunc', hash)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^not JSON/),
    });
    expect(parseAlarmCalibrationRecord('{"line": "x"}', hash)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^not an alarm calibration record \(version/),
    });
    const other = alarmCalibrationHash({ ...input, requestsPerMinute: rate * 2 });
    expect(parseAlarmCalibrationRecord(JSON.stringify(record), other)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^computed for other inputs/),
    });
  });
});
