/**
 * CloudWatch for the rehearsal: a per-minute metric store and alarms built from the alarm
 * definitions of the synthesized model stack (AWS::CloudWatch::Alarm), evaluated as CloudWatch
 * documents it (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html,
 * "Evaluating an alarm", and alarms-and-missing-data.html):
 * - each period gives one datapoint (the statistic of the period's samples, or a metric-math
 *   expression over such datapoints); a period without samples is missing;
 * - alarms are evaluated every minute; by default over a sliding window, whose periods end at the
 *   evaluation's minute (a 2-minute period: 13:06–13:08, then 13:07–13:09); with
 *   `EvaluationWindow: {WallClockWindow}` over periods aligned to the clock
 *   (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html);
 * - of the last `EvaluationPeriods` datapoints, `DatapointsToAlarm` breaching ones put the alarm in
 *   ALARM; missing ones count as `TreatMissingData` says (notBreaching: fine; breaching: bad;
 *   ignore: the state stays; missing: all missing gives INSUFFICIENT_DATA);
 * - actions run only when the state changes (an alarm that stays in ALARM acts once).
 * Metric math and the state rule are lambdas/core/monitoring/confidence-alarm.ts's (`compileExpressions`,
 * `nextAlarmState`): the same code the confidence alarm is calibrated with, so an expression that
 * uses another expression (the confidence alarm's gated z) is evaluated as the stack defines it.
 * `nextAlarmState` covers Less/GreaterThanThreshold with ignore, breaching or notBreaching; other
 * alarms (>=, <=, or TreatMissingData `missing`) keep the simpler rule below.
 * `PutMetricAlarm` on an existing alarm replaces its configuration and leaves its state as it is
 * (API_PutMetricAlarm.html); the next evaluation uses the new configuration over the stored
 * datapoints. `SetAlarmState` sets the state, running the new state's actions when it differs, and
 * the next evaluation returns the alarm to its actual state (API_SetAlarmState.html: "often within
 * seconds"; here at the next minute boundary, where every alarm is evaluated).
 */
import {
  compileExpressions,
  evaluationRange,
  nextAlarmState,
  type AlarmRule,
  type CompiledExpressions,
} from '../../lambdas/core/monitoring/confidence-alarm';

export type Dimensions = Readonly<Record<string, string>>;

/** `Name=Value` pairs sorted by name, comma-separated: one series per set of dimensions, in any order. */
function dimensionsKey(dims: Dimensions): string {
  const names = Object.keys(dims);
  if (names.length > 1) names.sort();
  let key = '';
  for (let i = 0; i < names.length; i++) key += `${i === 0 ? '' : ','}${names[i]}=${dims[names[i]!]}`;
  return key;
}

/** Samples per metric and minute. */
export class MetricStore {
  private readonly series = new Map<string, Map<number, number[]>>();
  /** Samples of minutes before this were dropped by `prune` (a minute boundary). */
  private prunedBefore = -Infinity;
  /** The dimensions part of series keys, by dimensions object (alarms ask with the same objects each minute). */
  private readonly dimsKeys = new WeakMap<Dimensions, string>();

  static key(namespace: string, name: string, dims: Dimensions): string {
    return `${namespace}|${name}|${dimensionsKey(dims)}`;
  }

  /** The latest end of an interval `settled` vouched for. */
  private settledUntil = -Infinity;
  /**
   * Counts samples put into an interval `settled` had vouched for (the rehearsal's clock only moves
   * forward, so it never does; a caller that does gets fresh statistics from a cache that checks it).
   */
  revision = 0;

  /** Whether the samples of `[startMs, endMs)` can no longer change: the interval is over and not pruned. */
  settled(startMs: number, endMs: number, nowMs: number): boolean {
    if (endMs > nowMs || startMs < this.prunedBefore) return false;
    if (endMs > this.settledUntil) this.settledUntil = endMs;
    return true;
  }

  put(namespace: string, name: string, dims: Dimensions, atMs: number, value: number): void {
    this.putKeyed(`${namespace}|${name}|${dimensionsKey(dims)}`, atMs, value);
  }

  /** Several metrics of one namespace with the same dimensions (one EMF line, one invocation). */
  putAll(
    namespace: string,
    dims: Dimensions,
    atMs: number,
    values: readonly (readonly [string, number])[],
  ): void {
    const d = dimensionsKey(dims);
    for (const [name, value] of values) this.putKeyed(`${namespace}|${name}|${d}`, atMs, value);
  }

  private putKeyed(key: string, atMs: number, value: number): void {
    if (atMs < this.settledUntil) this.revision += 1;
    let minutes = this.series.get(key);
    if (!minutes) this.series.set(key, (minutes = new Map()));
    const minute = Math.floor(atMs / 60_000);
    const list = minutes.get(minute);
    if (list) list.push(value);
    else minutes.set(minute, [value]);
  }

  /** The samples of `[startMs, startMs + periodMs)`. */
  samples(namespace: string, name: string, dims: Dimensions, startMs: number, periodMs: number): number[] {
    let d = this.dimsKeys.get(dims);
    if (d === undefined) this.dimsKeys.set(dims, (d = dimensionsKey(dims)));
    const minutes = this.series.get(`${namespace}|${name}|${d}`);
    if (!minutes) return [];
    const out: number[] = [];
    for (let m = Math.floor(startMs / 60_000); m < Math.floor((startMs + periodMs) / 60_000); m++) {
      const list = minutes.get(m);
      if (list) for (const v of list) out.push(v);
    }
    return out;
  }

  /** Drops samples older than `beforeMs` (memory stays flat over long runs). */
  prune(beforeMs: number): void {
    const minute = Math.floor(beforeMs / 60_000);
    this.prunedBefore = Math.max(this.prunedBefore, minute * 60_000);
    for (const minutes of this.series.values()) {
      for (const m of minutes.keys()) if (m < minute) minutes.delete(m);
    }
  }
}

/** A CloudWatch statistic over samples: Sum, Average, Minimum, Maximum, SampleCount, pNN. */
export function statistic(stat: string, values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    case 'SampleCount':
      return values.length;
  }
  const p = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (p) {
    const sorted = [...values].sort((a, b) => a - b);
    const rank = Math.ceil((Number(p[1]) / 100) * sorted.length) - 1;
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
  }
  throw new Error(`statistic ${stat} is not supported by the rehearsal`);
}

interface MetricStat {
  readonly namespace: string;
  readonly name: string;
  readonly dims: Dimensions;
  readonly stat: string;
  readonly periodSeconds: number;
}

/** An alarm as the template defines it (PutMetricAlarm's fields). */
export interface AlarmDefinition {
  readonly name: string;
  readonly threshold: number;
  readonly comparison: string;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: string;
  readonly periodSeconds: number;
  /** `sliding` (CloudWatch's default): periods end at the evaluated minute; `wallClock`: aligned to the period. */
  readonly evaluationWindow: 'sliding' | 'wallClock';
  /** A single metric, or metric math (one expression returning data over `queries`). */
  readonly metric:
    | { readonly kind: 'stat'; readonly stat: MetricStat }
    | {
        readonly kind: 'math';
        readonly expressionText: string;
        readonly compiled: CompiledExpressions;
        readonly queries: ReadonlyMap<string, MetricStat>;
      }
    | { readonly kind: 'unsupported'; readonly why: string };
  readonly alarmActions: readonly string[];
  readonly okActions: readonly string[];
  /** The raw PutMetricAlarm-shaped properties, for DescribeAlarms. */
  readonly raw: Record<string, unknown>;
}

function metricStatOf(raw: Record<string, unknown>, fallbackPeriod: number): MetricStat {
  const m = (raw.Metric ?? {}) as Record<string, unknown>;
  const dims = Object.fromEntries(
    ((m.Dimensions as { Name: string; Value: string }[] | undefined) ?? []).map((d) => [
      d.Name,
      String(d.Value),
    ]),
  );
  return {
    namespace: String(m.Namespace),
    name: String(m.MetricName),
    dims,
    stat: String(raw.Stat),
    periodSeconds: Number(raw.Period ?? fallbackPeriod),
  };
}

/** Builds the definition from an AWS::CloudWatch::Alarm's resolved Properties. */
export function alarmDefinition(props: Record<string, unknown>): AlarmDefinition {
  const metrics = props.Metrics as Record<string, unknown>[] | undefined;
  const period = Number(props.Period ?? 60);
  let metric: AlarmDefinition['metric'];
  let periodSeconds = period;
  if (metrics && metrics.length > 0) {
    const returned = metrics.find((m) => m.ReturnData !== false);
    const queries = new Map<string, MetricStat>();
    for (const m of metrics) {
      if (m.MetricStat) queries.set(String(m.Id), metricStatOf(m.MetricStat as Record<string, unknown>, 60));
    }
    if (returned?.Expression) {
      const text = String(returned.Expression);
      const expressions = metrics
        .filter((m) => m.Expression !== undefined)
        .map((m) => ({
          id: String(m.Id),
          expression: String(m.Expression),
          returnData: m.ReturnData !== false,
        }));
      try {
        metric = { kind: 'math', expressionText: text, compiled: compileExpressions(expressions), queries };
      } catch (error) {
        metric = { kind: 'unsupported', why: `metric math "${text}": ${(error as Error).message}` };
      }
      periodSeconds = Number(returned.Period ?? [...queries.values()][0]?.periodSeconds ?? 60);
    } else if (returned?.MetricStat) {
      const stat = metricStatOf(returned.MetricStat as Record<string, unknown>, 60);
      metric = { kind: 'stat', stat };
      periodSeconds = stat.periodSeconds;
    } else {
      metric = { kind: 'unsupported', why: 'no returned metric or expression' };
    }
  } else if (props.MetricName) {
    const dims = Object.fromEntries(
      ((props.Dimensions as { Name: string; Value: string }[] | undefined) ?? []).map((d) => [
        d.Name,
        String(d.Value),
      ]),
    );
    metric = {
      kind: 'stat',
      stat: {
        namespace: String(props.Namespace),
        name: String(props.MetricName),
        dims,
        stat: String(props.ExtendedStatistic ?? props.Statistic),
        periodSeconds: period,
      },
    };
  } else {
    metric = { kind: 'unsupported', why: 'no metric' };
  }
  if (
    String(props.ComparisonOperator).includes('LowerThreshold') ||
    String(props.ComparisonOperator).includes('UpperThreshold')
  ) {
    metric = { kind: 'unsupported', why: 'anomaly detection band (not emulated)' };
  }
  return {
    name: String(props.AlarmName),
    threshold: Number(props.Threshold ?? 0),
    comparison: String(props.ComparisonOperator),
    evaluationPeriods: Number(props.EvaluationPeriods ?? 1),
    datapointsToAlarm: Number(props.DatapointsToAlarm ?? props.EvaluationPeriods ?? 1),
    treatMissingData: String(props.TreatMissingData ?? 'missing'),
    periodSeconds,
    evaluationWindow:
      (props.EvaluationWindow as { WallClockWindow?: unknown } | undefined)?.WallClockWindow === undefined
        ? 'sliding'
        : 'wallClock',
    metric,
    alarmActions: ((props.AlarmActions as unknown[] | undefined) ?? []).map(String),
    okActions: ((props.OKActions as unknown[] | undefined) ?? []).map(String),
    raw: props,
  };
}

function breaches(comparison: string, value: number, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      return false;
  }
}

/** The alarm's rule in the form of the core's `nextAlarmState`, when that covers it. */
function coreRuleOf(def: AlarmDefinition): AlarmRule | undefined {
  const { comparison, treatMissingData } = def;
  if (comparison !== 'LessThanThreshold' && comparison !== 'GreaterThanThreshold') return undefined;
  if (
    treatMissingData !== 'ignore' &&
    treatMissingData !== 'breaching' &&
    treatMissingData !== 'notBreaching'
  )
    return undefined;
  return {
    threshold: def.threshold,
    comparisonOperator: comparison,
    evaluationPeriods: def.evaluationPeriods,
    datapointsToAlarm: def.datapointsToAlarm,
    treatMissingData,
  };
}

export interface AlarmState {
  definition: AlarmDefinition;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason: string;
  changedAtMs: number;
}

export interface AlarmChange {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly actions: readonly string[];
}

/** The alarms of the model stack and their states. */
export class AlarmBook {
  readonly alarms = new Map<string, AlarmState>();

  constructor(definitions: readonly AlarmDefinition[]) {
    for (const d of definitions) {
      this.alarms.set(d.name, {
        definition: d,
        state: 'INSUFFICIENT_DATA',
        reason: 'created',
        changedAtMs: 0,
      });
    }
  }

  state(name: string): string {
    return this.alarms.get(name)?.state ?? 'INSUFFICIENT_DATA';
  }

  /** The alarms the rehearsal cannot evaluate, and why. */
  unsupported(): { name: string; why: string }[] {
    return [...this.alarms.values()]
      .filter((a) => a.definition.metric.kind === 'unsupported')
      .map((a) => ({ name: a.definition.name, why: (a.definition.metric as { why: string }).why }));
  }

  /** PutMetricAlarm: the configuration is replaced, the state kept. */
  put(name: string, props: Record<string, unknown>): void {
    const existing = this.alarms.get(name);
    const definition = alarmDefinition({ ...(existing?.definition.raw ?? {}), ...props, AlarmName: name });
    if (existing) existing.definition = definition;
    else this.alarms.set(name, { definition, state: 'INSUFFICIENT_DATA', reason: 'created', changedAtMs: 0 });
  }

  /** Changes made by SetAlarmState since the last evaluation: returned by it, so their actions run. */
  private readonly setChanges: AlarmChange[] = [];

  /** SetAlarmState: the state now; the next evaluation sets the actual one. */
  setState(name: string, value: string, reason: string, nowMs: number): void {
    const a = this.alarms.get(name);
    if (!a) return;
    if (value !== 'OK' && value !== 'ALARM' && value !== 'INSUFFICIENT_DATA') {
      throw new Error(`SetAlarmState: StateValue ${value} is not OK, ALARM or INSUFFICIENT_DATA`);
    }
    if (a.state === value) return;
    const from = a.state;
    a.state = value;
    a.reason = reason;
    a.changedAtMs = nowMs;
    const def = a.definition;
    const actions = value === 'ALARM' ? def.alarmActions : value === 'OK' ? def.okActions : [];
    this.setChanges.push({ name, from, to: value, reason, actions });
  }

  /**
   * Datapoints of periods whose samples can no longer change (the period is over and not pruned),
   * per alarm definition (PutMetricAlarm replaces it) and period start: each minute's evaluation
   * then computes only the periods that just ended, not the whole evaluation range again.
   */
  private settled = new WeakMap<AlarmDefinition, Map<number, number | undefined>>();
  /** The store and its revision the cached datapoints were computed from. */
  private settledFrom: { store: MetricStore; revision: number } | undefined;

  private datapoint(
    def: AlarmDefinition,
    store: MetricStore,
    startMs: number,
    nowMs: number,
  ): number | undefined {
    let spanMs = def.periodSeconds * 1000;
    if (def.metric.kind === 'math')
      for (const s of def.metric.queries.values()) spanMs = Math.max(spanMs, s.periodSeconds * 1000);
    if (!store.settled(startMs, startMs + spanMs, nowMs)) return this.computeDatapoint(def, store, startMs);
    if (this.settledFrom?.store !== store || this.settledFrom.revision !== store.revision) {
      this.settled = new WeakMap();
      this.settledFrom = { store, revision: store.revision };
    }
    let cache = this.settled.get(def);
    if (!cache) this.settled.set(def, (cache = new Map()));
    if (cache.has(startMs)) return cache.get(startMs);
    const value = this.computeDatapoint(def, store, startMs);
    cache.set(startMs, value);
    return value;
  }

  private computeDatapoint(def: AlarmDefinition, store: MetricStore, startMs: number): number | undefined {
    const periodMs = def.periodSeconds * 1000;
    const value = (s: MetricStat) =>
      statistic(
        s.stat,
        store.samples(s.namespace, s.name, s.dims, startMs, s.periodSeconds * 1000 || periodMs),
      );
    if (def.metric.kind === 'stat') return value(def.metric.stat);
    if (def.metric.kind === 'math') {
      const point: Record<string, number | null> = {};
      for (const [id, s] of def.metric.queries) point[id] = value(s) ?? null;
      return def.metric.compiled.datapoint(point) ?? undefined;
    }
    return undefined;
  }

  /**
   * Evaluates every alarm at `nowMs` (a minute boundary) over the periods that ended by then, and
   * returns the state changes.
   */
  evaluate(store: MetricStore, nowMs: number): AlarmChange[] {
    const changes: AlarmChange[] = this.setChanges.splice(0);
    for (const a of this.alarms.values()) {
      const def = a.definition;
      if (def.metric.kind === 'unsupported') continue;
      const periodMs = def.periodSeconds * 1000;
      const stepMs = def.evaluationWindow === 'wallClock' ? periodMs : 60_000;
      const lastEnd = Math.floor(nowMs / stepMs) * stepMs;
      const rule = coreRuleOf(def);
      const count = rule ? evaluationRange(rule) : def.evaluationPeriods;
      const range: (number | null)[] = [];
      for (let i = count; i >= 1; i--)
        range.push(this.datapoint(def, store, lastEnd - i * periodMs, nowMs) ?? null);
      // The clock only moves forward: periods before this range are never evaluated again.
      const cache = this.settled.get(def);
      if (cache)
        for (const start of cache.keys()) if (start < lastEnd - count * periodMs) cache.delete(start);
      let next: AlarmState['state'];
      if (rule) {
        next = nextAlarmState(range, rule, a.state);
      } else {
        let breaching = 0;
        let missing = 0;
        for (const v of range) {
          if (v === null) {
            missing += 1;
            if (def.treatMissingData === 'breaching') breaching += 1;
          } else if (breaches(def.comparison, v, def.threshold)) breaching += 1;
        }
        if (
          missing === def.evaluationPeriods &&
          (def.treatMissingData === 'missing' || def.treatMissingData === 'ignore')
        ) {
          next = def.treatMissingData === 'ignore' ? a.state : 'INSUFFICIENT_DATA';
        } else {
          next = breaching >= def.datapointsToAlarm ? 'ALARM' : 'OK';
        }
      }
      if (next !== a.state) {
        const values = range.map((v) => (v === null ? 'missing' : String(Math.round(v * 1000) / 1000)));
        const reason = `[${values.join(', ')}] vs threshold ${def.threshold} (${def.comparison}, ${def.datapointsToAlarm} of ${def.evaluationPeriods})`;
        const from = a.state;
        a.state = next;
        a.reason = reason;
        a.changedAtMs = nowMs;
        const actions = next === 'ALARM' ? def.alarmActions : next === 'OK' ? def.okActions : [];
        changes.push({ name: def.name, from, to: next, reason, actions });
      }
    }
    return changes;
  }
}
