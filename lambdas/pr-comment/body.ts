/**
 * The comment body: the full report of lambdas/core/gates/report.ts when the run got as far as a regression
 * decision, else a short form of this module's own (same marker, so either replaces the other) that names
 * the gate that stopped the run and shows its whole failure message.
 */
import type { DriftSummary } from '../core/contracts/records';
import type { EvalReport } from '../core/gates/eval-report';
import {
  escapeMarkdown,
  GITHUB_COMMENT_LIMIT,
  monthlyCostFromReports,
  renderPrComment,
  reportMarker,
  type MonthlyCostBasis,
} from '../core/gates/report';
import type { GateReport } from './gates';
import type { RecordState, RunRecords } from './records';

/** What one run's comment is made of. */
export interface CommentInput {
  readonly model: string;
  /** The evaluated commit. */
  readonly commit: string;
  readonly executionId: string;
  readonly records: RunRecords;
  /** In pipeline order. */
  readonly gates: readonly GateReport[];
  /**
   * How to turn measured cost per 1k requests into monthly cost, as `mlops render-report` does.
   * @default - the decision's serving-cost estimate (candidate only)
   */
  readonly costBasis?: MonthlyCostBasis;
  /** The confidence alarm's calibration line. @default - no alarm section */
  readonly alarmCalibration?: string;
}

/** Longest failure message shown in full; CodePipeline itself keeps at most 5000 characters. */
const MAX_MESSAGE_CHARS = 4000;
const MAX_DRIFT_ROWS = 20;

/** The comment for a run: the full report when possible, else the short form. */
export function renderRunComment(input: CommentInput): string {
  const { records } = input;
  const notes = unreadRecordNotes(input);
  const drift = records.dataValidation.state === 'present' ? records.dataValidation.value.drift : undefined;
  if (records.evalReport.state !== 'present' || records.decision.state !== 'present') {
    return renderShortComment(input, notes);
  }
  const { regression, cost } = records.decision.value;
  const baseline = baselineOf(records, regression.baselineVersion);
  if (baseline.note) notes.push(baseline.note);
  const noteText = notes.map((n) => `\n> **Note:** ${escapeMarkdown(n, 600)}\n`).join('');
  return (
    renderPrComment({
      // The marker comes from the candidate's model name: a report naming another model (which the
      // regression gate fails) must still replace this model's comment, not start a new one.
      candidate: { ...records.evalReport.value, model: input.model },
      baseline: baseline.report,
      regression,
      gates: input.gates,
      drift: drift && drift.length > 0 ? drift : undefined,
      cost:
        (input.costBasis &&
          monthlyCostFromReports(input.costBasis, records.evalReport.value, baseline.report)) ??
        cost,
      commit: input.commit,
      alarmCalibration: input.alarmCalibration,
      maxChars: GITHUB_COMMENT_LIMIT - noteText.length,
    }) + noteText
  );
}

/** The baseline the decision was made against, if it is still the promoted one. */
function baselineOf(
  records: RunRecords,
  baselineVersion: string | null,
): { report?: EvalReport; note?: string } {
  if (baselineVersion === null) return {};
  const stored = records.baseline;
  if (stored.state === 'present' && stored.value.modelVersion === baselineVersion)
    return { report: stored.value };
  const now =
    stored.state === 'present'
      ? `has since been replaced by ${stored.value.modelVersion}`
      : stored.state === 'missing'
        ? `is no longer at ${stored.where}`
        : `cannot be read (${stored.problem})`;
  return {
    note:
      `the baseline this run was compared with (${baselineVersion}) ${now}, so its numbers are not shown; ` +
      'the verdicts are those of the comparison the regression gate made.',
  };
}

/** Records that are present but unreadable and that no gate row already explains. */
function unreadRecordNotes(input: CommentInput): string[] {
  const shown = input.gates.map((g) => g.detail).join('\n');
  const { dataValidation, evalReport, decision } = input.records;
  return [dataValidation, evalReport, decision]
    .filter((r): r is Extract<RecordState<unknown>, { state: 'invalid' }> => r.state === 'invalid')
    .filter((r) => !shown.includes(r.where))
    .map((r) => `${r.where} could not be read: ${r.problem}`);
}

/**
 * The comment of a run that stopped before the full report could be made: the Gates table, each failure
 * message in full, and whatever drift or metrics the run did record.
 */
export function renderShortComment(input: CommentInput, notes: readonly string[] = []): string {
  const { gates, records } = input;
  const failed = gates.filter((g) => g.verdict === 'fail');
  const driftFailed =
    records.dataValidation.state === 'present' && records.dataValidation.value.verdict === 'fail';
  const status = failed.length > 0 || driftFailed ? 'FAIL' : 'INCOMPLETE';
  const where =
    failed.length > 0
      ? `the run stopped at **${escapeMarkdown(failed[0].gate, 60)}**`
      : 'the run recorded no regression decision';
  const lines = [
    reportMarker(input.model),
    `## ML release report: ${escapeMarkdown(input.model)}`,
    '',
    `**Status: ${status}** · candidate ${showCode(input.commit)} · ${where}`,
    '',
    failed.length > 0
      ? '> The full report (Baseline / Candidate / Delta) needs the model evaluation and the regression gate ' +
        'to finish. Fix what failed below and push again; this comment is updated on every run.'
      : '> The full report (Baseline / Candidate / Delta) needs the records of the model evaluation and the ' +
        'regression gate, and this run has not written them all (see the Gates table).',
    '',
    '### Gates',
    '',
    '| Gate | Verdict | Detail |',
    '|---|---|---|',
    ...gates.map(
      (g) =>
        `| ${escapeMarkdown(g.gate, 60)} | ${g.verdict === 'fail' ? '**FAIL**' : g.verdict} | ${escapeMarkdown(g.detail, 300)} |`,
    ),
    '',
  ];
  for (const gate of failed) {
    lines.push(
      `### Why ${escapeMarkdown(gate.gate, 60)} failed`,
      '',
      ...codeBlock(gate.message ?? gate.detail),
    );
    if (gate.url && !/[\s<>]/.test(gate.url)) lines.push(`[Logs](<${gate.url}>)`, '');
  }
  if (records.dataValidation.state === 'present')
    lines.push(...driftSection(records.dataValidation.value.drift));
  if (records.evalReport.state === 'present') lines.push(...metricsSection(records.evalReport.value));
  for (const note of notes) lines.push(`> **Note:** ${escapeMarkdown(note, 600)}`, '');
  lines.push(`Pipeline execution ${showCode(input.executionId)}.`);
  return `${lines.join('\n')}\n`;
}

/** A fenced block longer than any backtick run in the text, so the message cannot close it early. */
function codeBlock(text: string): string[] {
  const cut = text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}\n… (cut)` : text;
  const longestRun = Math.max(0, ...Array.from(cut.matchAll(/`+/g), (m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return [`${fence}text`, cut.replace(/\r\n?/g, '\n'), fence, ''];
}

function driftSection(drift: readonly DriftSummary[]): string[] {
  if (drift.length === 0) return [];
  const lines = [
    '### Drift',
    '',
    '| Eval set | Field | JS distance | Max | Verdict | Largest moves |',
    '|---|---|--:|--:|---|---|',
  ];
  for (const d of drift.slice(0, MAX_DRIFT_ROWS)) {
    const moves = d.topMovers
      .slice(0, 3)
      .map((m) => `${m.value} ${pct(m.referenceShare)} → ${pct(m.currentShare)}`)
      .join(', ');
    lines.push(
      `| ${escapeMarkdown(d.evalSet, 60)} | ${escapeMarkdown(d.field, 60)} | ${d.jsDistance.toFixed(3)} | ` +
        `${d.threshold.toFixed(3)} | ${d.passed ? 'pass' : '**FAIL**'} | ${escapeMarkdown(moves, 200) || '—'} |`,
    );
  }
  if (drift.length > MAX_DRIFT_ROWS)
    lines.push('', `_… and ${drift.length - MAX_DRIFT_ROWS} more not shown._`);
  return [...lines, ''];
}

function metricsSection(report: EvalReport): string[] {
  const lines = [
    '### Candidate metrics',
    '',
    'Not compared with the baseline: the regression gate recorded no decision.',
    '',
    '| Eval set | Accuracy | p95 latency | Cost per 1k requests | Rows |',
    '|---|--:|--:|--:|--:|',
  ];
  for (const [name, m] of Object.entries(report.evalSets)) {
    lines.push(
      `| ${escapeMarkdown(name, 60)} | ${pct(m.accuracy)} | ${m.p95LatencyMs.toFixed(1)} ms | ` +
        `${m.costPer1kRequests.toFixed(4)} ${escapeMarkdown(report.currency, 10)} | ${m.rowCount.toLocaleString('en-US')} |`,
    );
  }
  return [...lines, ''];
}

function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function showCode(text: string): string {
  return /^[A-Za-z0-9._/:-]{1,80}$/.test(text) ? `\`${text}\`` : escapeMarkdown(text, 80);
}
