/**
 * The shadow stage's advisory report as a sticky comment on the merged pull request. It has its own
 * marker, so it never replaces the gate report comment (lambdas/core/gates/report.ts) and that one never
 * replaces it. Everything that comes from a file is escaped; lists are capped so the body stays far
 * below GitHub's comment limit.
 */
import { escapeMarkdown, reportMarker } from '../gates/report';
import type { ShadowReportRecord } from './shadow-report';
import type { PairedComparison } from './shadow-paired';
import type { Interval } from '../statistics/stats';

/** Most findings and insufficient-data notes shown; the rest are counted. */
const MAX_ITEMS = 20;

/** The hidden first line of the shadow comment; encoded as {@link reportMarker} encodes the model. */
export function shadowReportMarker(model: string): string {
  return reportMarker(model).replace('<!-- mlops-report:', '<!-- mlops-shadow-report:');
}

/** What the comment shows: the record, and the release it belongs to. */
export interface ShadowCommentInput {
  readonly model: string;
  /** The released (merge) commit. */
  readonly commit: string;
  readonly record: ShadowReportRecord;
}

const NEVER_BLOCKS = '_Advisory only: the shadow comparison never blocks a release._';

/** Renders the comment. Deterministic: the same input gives the same text. */
export function renderShadowComment(input: ShadowCommentInput): string {
  const { record } = input;
  const marker = shadowReportMarker(input.model);
  const title = `Shadow comparison (advisory): ${escapeMarkdown(input.model)}`;
  if (record.status === 'skipped') {
    return (
      `${marker}\n**${title}**: skipped for release ${code(record.executionId)} ` +
      `(${escapeMarkdown(record.reason, 500)}); it never blocks a release.\n`
    );
  }
  const { report, window } = record;
  const lines = [
    marker,
    `## ${title}`,
    '',
    `Release ${code(record.executionId)} · commit ${code(input.commit)} · window ` +
      `${escapeMarkdown(window.start, 40)} → ${escapeMarkdown(window.end, 40)} (${minutesBetween(window.start, window.end)})`,
    '',
  ];
  if (report) {
    const level = `${fixed(report.confidence * 100, 0)}%`;
    const { production: p, shadow: s } = report;
    const p95 = report.latency?.p95;
    lines.push(
      '| | Production | Shadow |',
      '|---|--:|--:|',
      `| Invocations | ${groupThousands(String(p.invocations))} | ${groupThousands(String(s.invocations))} |`,
      `| 5xx rate (${level} interval) | ${rateCell(p.serverErrorRate)} | ${rateCell(s.serverErrorRate)} |`,
      `| p95 latency | ${p.latencyMs ? `${fixed(p.latencyMs.p95, 1)} ms` : '—'} | ${s.latencyMs ? `${fixed(s.latencyMs.p95, 1)} ms` : '—'} |`,
      '',
      `- 5xx rate difference (shadow − production): ${
        report.serverErrorRateDifference
          ? `${points(report.serverErrorRateDifference.estimate)} (${level} interval ` +
            `${points(report.serverErrorRateDifference.lower)} to ${points(report.serverErrorRateDifference.upper)})`
          : 'not compared'
      }`,
      `- p95 latency delta: ${
        p95
          ? `${signed(p95.deltaMs, 1)} ms${p95.deltaPct === null ? '' : ` (${signed(p95.deltaPct, 1)}%)`}`
          : 'not compared'
      }`,
      ...pairedLines(report.paired, level),
      '',
    );
  } else {
    lines.push(
      `CloudWatch metrics could not be read (${escapeMarkdown(record.metricsError ?? 'no reason given', 500)}): ` +
        'invocations, errors and latency were not compared.',
      '',
    );
  }
  lines.push(...section('Findings', record.findings));
  lines.push(...section('Insufficient data', report?.insufficientData ?? []));
  lines.push(NEVER_BLOCKS);
  return `${lines.join('\n')}\n`;
}

/** The comparison on matched requests: "paired on N matched requests", or unpaired and why. */
function pairedLines(paired: PairedComparison, level: string): string[] {
  if (paired.status === 'unpaired') {
    return [`- **Unpaired**: ${escapeMarkdown(paired.reason, 800)}`];
  }
  const n = groupThousands(String(paired.matched));
  const lines = [
    `- Paired on ${n} matched request${paired.matched === 1 ? '' : 's'} (same \`inferenceId\` in both variants' data capture):`,
  ];
  const a = paired.agreement;
  lines.push(
    `  - Prediction agreement: ${
      a
        ? `${pct(a.estimate)} (${level} interval ${pct(a.lower)}–${pct(a.upper)}, modified Wilson) on ` +
          `${groupThousands(String(a.compared))} requests both labelled`
        : 'not measured (no matched request was labelled by both)'
    }`,
  );
  const f = paired.failureRateDifference;
  lines.push(
    `  - Failure rate difference (shadow − production): ${points(f.estimate)} (${level} interval ` +
      `${points(f.lower)} to ${points(f.upper)}, Newcombe paired); ${groupThousands(String(f.shadowFailed))} vs ` +
      `${groupThousands(String(f.productionFailed))} answers that are not a prediction`,
  );
  const l = paired.latency;
  if (l) {
    lines.push(
      `  - Latency difference per request (shadow − production): median ${signed(l.medianMs, 1)} ms, ` +
        `p99 ${signed(l.p99Ms, 1)} ms, mean ` +
        (l.meanInterval
          ? `${signed(l.meanInterval.estimate, 1)} ms (${level} interval ${signed(l.meanInterval.lower, 1)} to ` +
            `${signed(l.meanInterval.upper, 1)} ms)`
          : `${signed(l.meanMs, 1)} ms (${escapeMarkdown(l.tooFew ?? 'no interval', 300)})`) +
        ` on ${groupThousands(String(l.pairs))} pairs`,
    );
  } else {
    lines.push(
      `  - Latency: ${escapeMarkdown(paired.latencyNote ?? 'not compared request by request', 300)}`,
    );
  }
  return lines;
}

function section(heading: string, items: readonly string[]): string[] {
  if (items.length === 0) return [];
  const shown = items.slice(0, MAX_ITEMS).map((item) => `- ${escapeMarkdown(item, 500)}`);
  const more = items.length > MAX_ITEMS ? [`- _… and ${items.length - MAX_ITEMS} more not shown._`] : [];
  return [`### ${heading}`, '', ...shown, ...more, ''];
}

function rateCell(rate: Interval | null): string {
  const show = (fraction: number) => `${fixed(fraction * 100, 2)}%`;
  return rate ? `${show(rate.estimate)} (${show(rate.lower)}–${show(rate.upper)})` : '—';
}

function minutesBetween(start: string, end: string): string {
  const minutes = Math.round((Date.parse(end) - Date.parse(start)) / 60_000);
  return Number.isFinite(minutes) ? `${minutes} min` : 'unknown length';
}

function code(text: string): string {
  return /^[A-Za-z0-9._/:-]{1,80}$/.test(text) ? `\`${text}\`` : escapeMarkdown(text, 80);
}

function pct(fraction: number): string {
  return `${fixed(fraction * 100, 1)}%`;
}

/** A difference of proportions in percentage points, signed. */
function points(fraction: number): string {
  return `${signed(fraction * 100, 2)} pp`;
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits).replace(/^-/, '−');
}

/** Signed with a real minus; a value that rounds to zero gets no sign. */
function signed(value: number, digits: number): string {
  const text = groupThousands(Math.abs(value).toFixed(digits));
  if (Number(Math.abs(value).toFixed(digits)) === 0) return text;
  return `${value < 0 ? '−' : '+'}${text}`;
}

function groupThousands(text: string): string {
  const [whole, fraction] = text.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}
