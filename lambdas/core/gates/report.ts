/**
 * The sticky PR comment: one Markdown body per model, found again by its hidden marker and updated in place.
 * Everything that comes from a file (names, labels, details) is escaped, and the body stays under GitHub's
 * comment limit by shortening lists first and cutting whole lines last.
 */
import type { DriftSummary, RegressionThresholds } from '../contracts/records';
import type { EvalReport, EvalSetMetrics } from './eval-report';
import { biasGap, type GatedMetric, type RegressionCheck, type RegressionResult } from './regression-gate';

/** GitHub refuses a comment body longer than this many characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

/** The outcome of one pipeline gate, as shown in the Gates table. */
export interface GateOutcome {
  /** Gate name as used everywhere else: `code quality`, `data validation`, `model evaluation`, `regression`, `cost`. */
  readonly gate: string;
  readonly verdict: 'pass' | 'fail' | 'skipped';
  /** One line for a person: what was checked or why it failed. */
  readonly detail: string;
}

/** Monthly serving cost from the cost estimate (lambdas/core/monitoring/cost.ts); this module only displays it. */
export interface MonthlyCostInput {
  /** Estimated monthly cost of the promoted model; absent on a first release. */
  readonly baselineMonthly?: number;
  readonly candidateMonthly: number;
  /** ISO 4217 code of both amounts. */
  readonly currency: string;
  /** ISO date the prices were read (`PricingTable.asOf`). */
  readonly pricingAsOf: string;
}

/** Everything the PR comment shows. */
export interface PrReportInput {
  readonly candidate: EvalReport;
  /** The promoted model's report; absent on a first release. */
  readonly baseline?: EvalReport;
  /** The regression gate's result for the same candidate and baseline. */
  readonly regression: RegressionResult;
  /**
   * Other gates in pipeline order. A `regression` row is added from `regression` unless one is given.
   * @default - only the regression row
   */
  readonly gates?: readonly GateOutcome[];
  /** Drift of each eval set against its reference. @default - no drift section */
  readonly drift?: readonly DriftSummary[];
  /** Monthly cost estimate. @default - the cost section says it was not estimated */
  readonly cost?: MonthlyCostInput;
  /** Commit shown in the status line. @default - `candidate.modelVersion` */
  readonly commit?: string;
  /**
   * The live confidence alarm's calibration at the model's configured traffic (`calibrationLine` of
   * lambdas/core/monitoring/confidence-alarm.ts, from the deployed settings). @default - no alarm section
   */
  readonly alarmCalibration?: string;
  /** Largest body to return, in UTF-16 code units (never more than GitHub counts). @default GITHUB_COMMENT_LIMIT */
  readonly maxChars?: number;
}

/**
 * The hidden first line of the comment; the poster lists the PR's comments and updates the one that starts
 * with it. Characters that could end an HTML comment or vary in encoding are percent-encoded.
 */
export function reportMarker(model: string): string {
  const safe = Array.from(model)
    .map((ch) => (/^[A-Za-z0-9_.-]$/.test(ch) ? ch : percentEncode(ch)))
    .join('')
    .replace(/-(?=-)/g, '%2D');
  return `<!-- mlops-report:${safe} -->`;
}

function percentEncode(ch: string): string {
  return Array.from(
    new TextEncoder().encode(ch),
    (byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`,
  ).join('');
}

/**
 * Escapes text from a file for a Markdown table cell or line: HTML is shown, not run; `|` cannot split a
 * cell; emphasis, links and @mentions are not triggered; line breaks become spaces. Long text is cut.
 */
export function escapeMarkdown(text: string, maxLength = 200): string {
  const flat = Array.from(text, (ch) => (ch < ' ' || ch === '\u007f' ? ' ' : ch)).join('');
  const cut =
    flat.length > maxLength
      ? `${Array.from(flat)
          .slice(0, maxLength - 1)
          .join('')}…`
      : flat;
  return cut
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~]/g, (ch) => `\\${ch}`)
    .replace(/@/g, '@\u200b');
}

/** Renders the PR comment. Deterministic: the same input gives the same text. */
export function renderPrComment(input: PrReportInput): string {
  const maxChars = input.maxChars ?? GITHUB_COMMENT_LIMIT;
  for (const limits of LIMIT_STEPS) {
    const text = render(input, limits);
    if (text.length <= maxChars) return text;
  }
  return cutToFit(render(input, LIMIT_STEPS[LIMIT_STEPS.length - 1]), maxChars);
}

interface ListLimits {
  readonly slices: number;
  readonly topMovers: number;
  readonly driftFields: number;
  readonly gates: number;
  readonly detailChars: number;
  readonly allChecks: boolean;
}

// Tried in order until the body fits: full detail, then shorter lists, then the bare tables.
const LIMIT_STEPS: readonly ListLimits[] = [
  { slices: 30, topMovers: 5, driftFields: 50, gates: 30, detailChars: 300, allChecks: true },
  { slices: 10, topMovers: 3, driftFields: 20, gates: 15, detailChars: 150, allChecks: false },
  { slices: 0, topMovers: 1, driftFields: 10, gates: 10, detailChars: 80, allChecks: false },
];

function render(input: PrReportInput, limits: ListLimits): string {
  const { candidate, baseline, regression } = input;
  const gates = gateRows(input);
  const driftFailed = (input.drift ?? []).some((d) => !d.passed);
  const failed = regression.verdict === 'fail' || gates.some((g) => g.verdict === 'fail') || driftFailed;
  const commit = input.commit ?? candidate.modelVersion;

  const lines: string[] = [
    reportMarker(candidate.model),
    `## ML release report: ${escapeMarkdown(candidate.model)}`,
    '',
    `**Status: ${failed ? 'FAIL' : 'PASS'}** · candidate ${showCommit(commit)} · ` +
      (baseline ? `baseline ${showCommit(baseline.modelVersion)}` : 'no baseline'),
    '',
  ];
  if (regression.firstRelease || !baseline) {
    lines.push(
      '> **No baseline: first release.** Nothing was compared; these metrics become the baseline when this ' +
        'candidate is promoted.',
      '',
    );
  }
  for (const check of regression.checks.filter((c) => c.evalSet === null && c.verdict === 'fail')) {
    lines.push(`> **FAIL:** ${escapeMarkdown(check.reason, 500)}`, '');
  }

  lines.push('### Gates', '', '| Gate | Verdict | Detail |', '|---|---|---|');
  for (const gate of gates.slice(0, limits.gates)) {
    lines.push(
      `| ${escapeMarkdown(gate.gate, 60)} | ${showVerdict(gate.verdict)} | ${escapeMarkdown(gate.detail, limits.detailChars)} |`,
    );
  }
  lines.push(...moreNote(gates.length - limits.gates, 'gates'), '');

  for (const evalSet of evalSetOrder(input)) {
    lines.push(...evalSetSection(input, evalSet, limits));
  }
  lines.push(...costSection(input.cost));
  if (input.alarmCalibration !== undefined) {
    lines.push('### Live confidence alarm', '', escapeMarkdown(input.alarmCalibration, 500), '');
  }
  lines.push(...thresholdLine(regression.checks));
  for (const note of regression.notes.filter((n) => !n.startsWith('no baseline'))) {
    lines.push(`- ${escapeMarkdown(note, 500)}`);
  }
  if (limits.allChecks && regression.checks.length > 0) {
    if (lines[lines.length - 1] !== '') lines.push('');
    lines.push('<details><summary>Every regression check</summary>', '');
    for (const check of regression.checks) {
      lines.push(`- ${showVerdict(check.verdict)}: ${escapeMarkdown(check.reason, 500)}`);
    }
    lines.push('', '</details>');
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

function gateRows(input: PrReportInput): GateOutcome[] {
  const gates = [...(input.gates ?? [])];
  if (!gates.some((g) => g.gate.trim().toLowerCase() === 'regression')) {
    const r = input.regression;
    const failed = r.checks.filter((c) => c.verdict === 'fail').length;
    const detail = r.firstRelease
      ? `no baseline: first release${failed > 0 ? `; ${failed} of ${r.checks.length} checks failed` : ''}`
      : failed > 0
        ? `${failed} of ${r.checks.length} checks failed`
        : `all ${r.checks.length} checks passed`;
    gates.push({ gate: 'regression', verdict: r.verdict, detail });
  }
  return gates;
}

/** Candidate's eval sets, then the baseline's, then any only the gate or drift know of. */
function evalSetOrder(input: PrReportInput): string[] {
  const names = new Set<string>(Object.keys(input.candidate.evalSets));
  for (const name of Object.keys(input.baseline?.evalSets ?? {})) names.add(name);
  for (const check of input.regression.checks) if (check.evalSet !== null) names.add(check.evalSet);
  for (const drift of input.drift ?? []) names.add(drift.evalSet);
  return [...names];
}

function evalSetSection(input: PrReportInput, evalSet: string, limits: ListLimits): string[] {
  const cand = own(input.candidate.evalSets, evalSet);
  const base = input.baseline && own(input.baseline.evalSets, evalSet);
  const checks = input.regression.checks.filter((c) => c.evalSet === evalSet);
  const verdictOf = (name: RegressionCheck['check']) => {
    const check = checks.find((c) => c.check === name);
    return check ? showVerdict(check.verdict) + statisticalDetail(check) : '—';
  };
  const candCurrency = input.candidate.currency;
  const baseCurrency = input.baseline?.currency ?? candCurrency;
  const lines = [`### ${escapeMarkdown(evalSet, 100)}`, ''];

  if (cand || base) {
    const value = (m: EvalSetMetrics | undefined, metric: GatedMetric, currency: string) =>
      m === undefined ? '—' : formatMetric(metric, metricOf(m, metric), currency);
    lines.push('| Metric | Baseline | Candidate | Delta | Verdict |', '|---|--:|--:|--:|---|');
    for (const [metric, label] of METRIC_ROWS) {
      const b = base && metricOf(base, metric);
      const c = cand && metricOf(cand, metric);
      const delta =
        b === undefined || c === undefined ? '—' : formatDelta(metric, b, c, candCurrency, baseCurrency);
      lines.push(
        `| ${label} | ${value(base, metric, baseCurrency)} | ${value(cand, metric, candCurrency)} | ${delta} | ${verdictOf(metric)} |`,
      );
    }
    const rows = (m: EvalSetMetrics | undefined) => (m ? groupThousands(String(m.rowCount)) : '—');
    const conf = (m: EvalSetMetrics | undefined) =>
      m ? `${fixed(m.confidence.mean, 3)} ± ${fixed(m.confidence.std, 3)}` : '—';
    const md5 = (m: EvalSetMetrics | undefined) => (m ? `${escapeMarkdown(m.datasetMd5.slice(0, 8))}…` : '—');
    const sameData = base && cand ? (base.datasetMd5 === cand.datasetMd5 ? 'same' : 'changed') : '—';
    lines.push(
      `| Rows | ${rows(base)} | ${rows(cand)} | — | — |`,
      `| Confidence mean ± std | ${conf(base)} | ${conf(cand)} | — | — |`,
      `| Dataset md5 | ${md5(base)} | ${md5(cand)} | ${sameData} | ${verdictOf('dataset')} |`,
      '',
    );
  }
  const failing = checks.filter((c) => c.verdict === 'fail');
  for (const check of failing) lines.push(`- **FAIL:** ${escapeMarkdown(check.reason, 500)}`);
  if (failing.length > 0) lines.push('');

  if (limits.slices > 0 && (cand || base)) lines.push(...sliceTable(base, cand, limits.slices));
  const drift = (input.drift ?? []).filter((d) => d.evalSet === evalSet);
  if (drift.length > 0) lines.push(...driftTable(drift, limits));
  return lines;
}

const METRIC_ROWS: readonly (readonly [GatedMetric, string])[] = [
  ['accuracy', 'Accuracy'],
  ['p95LatencyMs', 'p95 latency'],
  ['costPer1kRequests', 'Cost per 1k requests'],
  ['biasGap', 'Bias gap (best − worst slice)'],
];

function metricOf(m: EvalSetMetrics, metric: GatedMetric): number {
  return metric === 'biasGap' ? (biasGap(m.sliceAccuracy)?.gap ?? Number.NaN) : m[metric];
}

function formatMetric(metric: GatedMetric, value: number, currency: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  switch (metric) {
    case 'accuracy':
      return `${fixed(value * 100, 1)}%`;
    case 'biasGap':
      return `${fixed(value * 100, 1)} pp`;
    case 'p95LatencyMs':
      return `${groupThousands(value.toFixed(1))} ms`;
    case 'costPer1kRequests':
      return money(value, 4, currency);
  }
}

function formatDelta(
  metric: GatedMetric,
  b: number,
  c: number,
  currency: string,
  baseCurrency: string,
): string {
  if (!Number.isFinite(b) || !Number.isFinite(c)) return 'n/a';
  switch (metric) {
    case 'accuracy':
    case 'biasGap':
      return `${signed((c - b) * 100, 1)} pp`;
    case 'p95LatencyMs':
      return `${signed(c - b, 1)} ms (${signedPct(b, c)})`;
    case 'costPer1kRequests':
      if (currency !== baseCurrency) return 'n/a (currencies differ)';
      return `${signedMoney(c - b, 4, currency)} (${signedPct(b, c)})`;
  }
}

function sliceTable(
  base: EvalSetMetrics | undefined,
  cand: EvalSetMetrics | undefined,
  max: number,
): string[] {
  const names = [
    ...new Set([...Object.keys(cand?.sliceAccuracy ?? {}), ...Object.keys(base?.sliceAccuracy ?? {})]),
  ];
  // Largest drops first: those are what a reviewer of a bias regression needs to see.
  const change = (name: string) => (sliceOf(cand, name) ?? 0) - (sliceOf(base, name) ?? 0);
  const ordered = base && cand ? [...names].sort((x, y) => change(x) - change(y) || (x < y ? -1 : 1)) : names;
  const cell = (m: EvalSetMetrics | undefined, name: string) => {
    const a = sliceOf(m, name);
    return a === undefined ? '—' : `${fixed(a * 100, 1)}%`;
  };
  const lines = [
    `<details><summary>Slice accuracy (${names.length} slices${base && cand ? ', largest drop first' : ''})</summary>`,
    '',
    '| Slice | Baseline | Candidate | Delta |',
    '|---|--:|--:|--:|',
  ];
  for (const name of ordered.slice(0, max)) {
    const b = sliceOf(base, name);
    const c = sliceOf(cand, name);
    const delta = b === undefined || c === undefined ? '—' : `${signed((c - b) * 100, 1)} pp`;
    lines.push(`| ${escapeMarkdown(name, 80)} | ${cell(base, name)} | ${cell(cand, name)} | ${delta} |`);
  }
  lines.push(...moreNote(names.length - max, 'slices'), '', '</details>', '');
  return lines;
}

/** Names come from files: `constructor` or `toString` must not find Object.prototype's members. */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function sliceOf(m: EvalSetMetrics | undefined, name: string): number | undefined {
  return m && own(m.sliceAccuracy, name);
}

function driftTable(drift: readonly DriftSummary[], limits: ListLimits): string[] {
  const maxMovers = limits.topMovers;
  // Failing fields first, then the most drifted: those are the ones to read when the list is cut.
  const ordered = [...drift].sort(
    (x, y) => Number(x.passed) - Number(y.passed) || y.jsDistance - x.jsDistance,
  );
  const lines = [
    '**Drift** (Jensen–Shannon distance against the reference, 0 = identical, 1 = disjoint)',
    '',
    '| Field | JS distance | Threshold | Verdict | Top movers |',
    '|---|--:|--:|---|---|',
  ];
  for (const d of ordered.slice(0, limits.driftFields)) {
    const movers = d.topMovers
      .slice(0, maxMovers)
      .map(
        (m) =>
          `${escapeMarkdown(m.value, 60)}: ${fixed(m.referenceShare * 100, 1)}% → ${fixed(m.currentShare * 100, 1)}% ` +
          `(${signed(m.delta * 100, 1)} pp)`,
      );
    if (d.topMovers.length > maxMovers) movers.push(`${d.topMovers.length - maxMovers} more`);
    lines.push(
      `| ${escapeMarkdown(d.field, 60)} | ${fixed(d.jsDistance, 3)} | ${fixed(d.threshold, 3)} | ` +
        `${showVerdict(d.passed ? 'pass' : 'fail')} | ${movers.join('; ') || '—'} |`,
    );
  }
  lines.push(...moreNote(drift.length - limits.driftFields, 'drift fields'), '');
  return lines;
}

function costSection(cost: MonthlyCostInput | undefined): string[] {
  const lines = ['### Monthly cost', ''];
  if (!cost) return [...lines, 'Not estimated for this run.', ''];
  const currency = cost.currency;
  const b = cost.baselineMonthly;
  const c = cost.candidateMonthly;
  const show = (v: number | undefined) => (v === undefined ? '—' : money(v, 2, currency));
  const delta =
    b === undefined || !Number.isFinite(b) || !Number.isFinite(c)
      ? '—'
      : `${signedMoney(c - b, 2, currency)} (${signedPct(b, c)})`;
  lines.push(
    '| | Baseline | Candidate | Delta |',
    '|---|--:|--:|--:|',
    `| Estimated monthly cost | ${show(b)} | ${show(c)} | ${delta} |`,
    '',
    `Prices as of ${escapeMarkdown(cost.pricingAsOf, 40)} (on-demand list prices, ${escapeMarkdown(currency, 10)}).`,
    '',
  );
  return lines;
}

function thresholdLine(checks: readonly RegressionCheck[]): string[] {
  const seen = new Map<keyof RegressionThresholds, number>();
  for (const c of checks) {
    if (c.thresholdKey !== null && c.threshold !== null && !seen.has(c.thresholdKey)) {
      seen.set(c.thresholdKey, c.threshold);
    }
  }
  if (seen.size === 0) return [];
  const parts: string[] = [];
  const t = (key: keyof RegressionThresholds) => seen.get(key);
  if (t('maxAccuracyDrop') !== undefined)
    parts.push(`accuracy drop ≤ ${fixed(t('maxAccuracyDrop')! * 100, 1)} pp`);
  if (t('maxLatencyIncreasePct') !== undefined)
    parts.push(`p95 latency increase ≤ ${t('maxLatencyIncreasePct')}%`);
  if (t('maxCostIncreasePct') !== undefined) parts.push(`cost per 1k increase ≤ ${t('maxCostIncreasePct')}%`);
  if (t('maxBiasGapIncrease') !== undefined) {
    parts.push(`bias gap increase ≤ ${fixed(t('maxBiasGapIncrease')! * 100, 1)} pp`);
  }
  return [`Regression thresholds: ${parts.join(', ')}.`, ''];
}

function moreNote(hidden: number, what: string): string[] {
  return hidden > 0 ? ['', `_… and ${hidden} more ${what} not shown (comment length limit)._`] : [];
}

/** Last resort: whole lines up to the limit, open <details> closed, and a note saying what was cut. */
function cutToFit(text: string, maxChars: number): string {
  const lines = text.split('\n');
  const kept: string[] = [];
  let used = 0;
  let openDetails = 0;
  const noteFor = (hidden: number) =>
    `\n_Report truncated: ${hidden} more lines not shown (GitHub comments are limited to ` +
    `${GITHUB_COMMENT_LIMIT.toLocaleString('en-US')} characters); the full report is in the pipeline logs._\n`;
  const reserve = noteFor(lines.length).length + '\n</details>'.length * 4;
  for (const line of lines) {
    // The marker line is always kept: without it the poster would add a new comment on every run.
    const fits = used + line.length + 1 + reserve + '\n</details>'.length * openDetails <= maxChars;
    if (!fits && kept.length > 0) break;
    kept.push(line);
    used += line.length + 1;
    if (line.startsWith('<details>')) openDetails++;
    if (line.startsWith('</details>')) openDetails--;
  }
  const closing = Array.from({ length: Math.max(0, openDetails) }, () => '</details>');
  return `${[...kept, '', ...closing].join('\n')}${noteFor(lines.length - kept.length)}`;
}

/**
 * How sure a statistical verdict is: ` (paired, n = 2,000; Δ 90% CI −0.6 to +0.2 pp; by the interval)`.
 * Empty for checks without an interval (latency, cost, or a gate record written before intervals).
 */
function statisticalDetail(check: RegressionCheck): string {
  if (check.decidedBy === null || check.decidedBy === undefined) return '';
  const rule =
    check.decidedBy === 'interval'
      ? 'by the interval'
      : check.decidedBy === 'point-estimate'
        ? check.outcome === 'inconclusive'
          ? 'inconclusive, by the point estimate'
          : 'point estimate'
        : 'inconclusive, by onInconclusive';
  if (!check.interval) {
    return check.check === 'biasGap' ? ` (no per-example results; ${rule})` : '';
  }
  const pp = (x: number) => {
    const text = Math.abs(x * 100).toFixed(1);
    return Number(text) === 0 ? text : `${x > 0 ? '+' : '−'}${text}`;
  };
  const compared = check.comparedOn
    ? `${escapeMarkdown(check.comparedOn.replace(/ \(.*\)$/, ''), 60)}; `
    : '';
  return ` (${compared}Δ 90% CI ${pp(check.interval.lower)} to ${pp(check.interval.upper)} pp; ${rule})`;
}

function showVerdict(verdict: 'pass' | 'fail' | 'skipped'): string {
  return verdict === 'fail' ? '**FAIL**' : verdict;
}

function showCommit(commit: string): string {
  return /^[A-Za-z0-9._/-]{1,64}$/.test(commit) ? `\`${commit}\`` : escapeMarkdown(commit, 64);
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits).replace(/^-/, '−');
}

/** Signed with a real minus; a value that rounds to zero gets no sign ("0.0", not "−0.0"). */
function signed(value: number, digits: number): string {
  const text = groupThousands(Math.abs(value).toFixed(digits));
  if (Number(Math.abs(value).toFixed(digits)) === 0) return text;
  return `${value < 0 ? '−' : '+'}${text}`;
}

function signedPct(b: number, c: number): string {
  if (b === 0) return c === 0 ? '0.0%' : 'n/a: baseline is 0';
  return `${signed((100 * (c - b)) / b, 1)}%`;
}

function money(value: number, digits: number, currency: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${groupThousands(fixed(value, digits))} ${escapeMarkdown(currency, 10)}`;
}

function signedMoney(value: number, digits: number, currency: string): string {
  return `${signed(value, digits)} ${escapeMarkdown(currency, 10)}`;
}

function groupThousands(text: string): string {
  const [whole, fraction] = text.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** What monthly cost in a report is based on. */
export interface MonthlyCostBasis {
  /** Eval set whose cost per 1k requests stands for production traffic; else the report's first. */
  readonly evalSet?: string;
  readonly monthlyRequests: number;
  /** ISO date of the prices (`PricingTable.asOf`). */
  readonly pricingAsOf: string;
}

/**
 * Monthly cost from what each evaluation measured: cost per 1k requests × monthly requests, for the
 * candidate and the baseline alike, so the delta is the pull request's own. Undefined when the
 * candidate has no eval set to price.
 */
export function monthlyCostFromReports(
  basis: MonthlyCostBasis,
  candidate: EvalReport,
  baseline?: EvalReport,
): MonthlyCostInput | undefined {
  const per1k = (r: EvalReport) =>
    (r.evalSets[basis.evalSet ?? ''] ?? Object.values(r.evalSets)[0])?.costPer1kRequests;
  const candidatePer1k = per1k(candidate);
  if (candidatePer1k === undefined) return undefined;
  const basePer1k = baseline && baseline.currency === candidate.currency ? per1k(baseline) : undefined;
  const scale = basis.monthlyRequests / 1000;
  return {
    candidateMonthly: candidatePer1k * scale,
    baselineMonthly: basePer1k === undefined ? undefined : basePer1k * scale,
    currency: candidate.currency,
    pricingAsOf: basis.pricingAsOf,
  };
}
