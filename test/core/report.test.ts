import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { DriftSummary } from '../../lambdas/core/contracts/records';
import { parseEvalReport, type EvalReport, type EvalSetMetrics } from '../../lambdas/core/gates/eval-report';
import { checkRegression, DEFAULT_REGRESSION_THRESHOLDS } from '../../lambdas/core/gates/regression-gate';
import {
  escapeMarkdown,
  GITHUB_COMMENT_LIMIT,
  renderPrComment,
  reportMarker,
  type GateOutcome,
  type PrReportInput,
} from '../../lambdas/core/gates/report';

const FIXTURES = join(__dirname, '..', 'fixtures', 'eval');
const fixture = (name: string) => parseEvalReport(readFileSync(join(FIXTURES, name), 'utf8'), name);
const BASELINE = fixture('baseline_metrics.json');
const CANDIDATE = fixture('eval_report.json');
const REGRESSED = fixture('eval_report_regressed.json');

const GATES: GateOutcome[] = [
  { gate: 'code quality', verdict: 'pass', detail: 'ruff, mypy, pytest: 212 passed' },
  { gate: 'data validation', verdict: 'pass', detail: 'schema valid; drift within threshold' },
  { gate: 'model evaluation', verdict: 'pass', detail: 'eval_report.json written' },
];
const DRIFT: DriftSummary[] = [
  {
    evalSet: 'production_sample',
    field: 'label',
    jsDistance: 0.0412,
    threshold: 0.1,
    passed: true,
    topMovers: [
      { value: 'churned', referenceShare: 0.12, currentShare: 0.15, delta: 0.03 },
      { value: 'retained', referenceShare: 0.88, currentShare: 0.85, delta: -0.03 },
    ],
  },
];
const COST = {
  baselineMonthly: 1234.5,
  candidateMonthly: 1302.25,
  currency: 'USD',
  pricingAsOf: '2026-10-01',
};

function input(candidate: EvalReport, baseline: EvalReport | undefined, extra: Partial<PrReportInput> = {}) {
  return {
    candidate,
    baseline,
    regression: checkRegression(candidate, baseline, DEFAULT_REGRESSION_THRESHOLDS),
    gates: GATES,
    drift: DRIFT,
    cost: COST,
    ...extra,
  } satisfies PrReportInput;
}

/** The Markdown table row whose first cell is `label`, split into cells on unescaped pipes. */
function row(markdown: string, label: string, after = ''): string[] {
  const from = after ? markdown.indexOf(after) : 0;
  expect(from).toBeGreaterThanOrEqual(0);
  const line = markdown
    .slice(from)
    .split('\n')
    .find((l) => l.startsWith(`| ${label} |`));
  if (line === undefined) throw new Error(`no row "${label}" after "${after}" in:\n${markdown}`);
  return cells(line);
}

function cells(line: string): string[] {
  return line
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());
}

function withSlices(report: EvalReport, evalSet: string, sliceAccuracy: Record<string, number>): EvalReport {
  const metrics: EvalSetMetrics = { ...report.evalSets[evalSet], sliceAccuracy };
  return { ...report, evalSets: { ...report.evalSets, [evalSet]: metrics } };
}

describe('reportMarker', () => {
  test('is a hidden HTML comment naming the model', () => {
    expect(reportMarker('churn-classifier')).toBe('<!-- mlops-report:churn-classifier -->');
  });

  test('cannot close the comment early, whatever the model name', () => {
    fc.assert(
      fc.property(fc.string(), (model) => {
        const inner = reportMarker(model).slice('<!-- '.length, -' -->'.length);
        expect(inner).not.toContain('--');
        expect(inner).not.toContain('>');
        expect(inner).toMatch(/^mlops-report:[A-Za-z0-9_.%-]*$/);
      }),
    );
    expect(reportMarker('a-->b')).toBe('<!-- mlops-report:a%2D-%3Eb -->');
  });

  test('tells different models apart', () => {
    expect(reportMarker('a b')).not.toBe(reportMarker('a_b'));
    expect(reportMarker('a-b')).not.toBe(reportMarker('a--b'));
  });
});

describe('renderPrComment', () => {
  test('an eval set too small to decide its accuracy margin is said so, with the rows needed and the discordance used', () => {
    const small = (r: EvalReport) => ({
      ...r,
      evalSets: { ...r.evalSets, golden_set: { ...r.evalSets.golden_set, rowCount: 500 } },
    });
    const markdown = renderPrComment(input(small(CANDIDATE), small(BASELINE)));
    expect(markdown.split('\n')).toContain(
      '- golden\\_set: 500 rows cannot decide a 0.02 accuracy margin; about 1,550 needed (paired, at an assumed ' +
        'discordance of 0.1 (thresholds.assumedDiscordance); per-example results on both sides give the observed one)',
    );
  });

  test('starts with the marker, then the title and the status with the candidate commit', () => {
    const md = renderPrComment(input(CANDIDATE, BASELINE));
    const lines = md.split('\n');
    expect(lines[0]).toBe('<!-- mlops-report:churn-classifier -->');
    expect(lines[1]).toBe('## ML release report: churn-classifier');
    expect(lines[3]).toBe(
      '**Status: PASS** · candidate `3f2a9c1d0e8b7a6954c3b2a1f0e9d8c7b6a59483` · baseline `a1b2c3d4e5f60718293a4b5c6d7e8f9012345678`',
    );
    expect(md).not.toMatch(/first release/i);
  });

  test('the Baseline / Candidate / Delta table has the right numbers and signs', () => {
    const md = renderPrComment(input(REGRESSED, BASELINE));
    const golden = '### golden\\_set';
    expect(row(md, 'Metric', golden)).toEqual(['Metric', 'Baseline', 'Candidate', 'Delta', 'Verdict']);
    expect(row(md, 'Accuracy', golden)).toEqual([
      'Accuracy',
      '94.0%',
      '91.0%',
      '−3.0 pp',
      '**FAIL** (unpaired, n = 5,000 vs 5,000; Δ 90% CI −3.9 to −2.1 pp; by the interval)',
    ]);
    expect(row(md, 'p95 latency', golden)).toEqual([
      'p95 latency',
      '120.0 ms',
      '140.0 ms',
      '+20.0 ms (+16.7%)',
      '**FAIL**',
    ]);
    expect(row(md, 'Cost per 1k requests', golden)).toEqual([
      'Cost per 1k requests',
      '0.4200 USD',
      '0.4700 USD',
      '+0.0500 USD (+11.9%)',
      '**FAIL**',
    ]);
    expect(row(md, 'Bias gap (best − worst slice)', golden)).toEqual([
      'Bias gap (best − worst slice)',
      '4.0 pp',
      '8.0 pp',
      '+4.0 pp',
      '**FAIL** (no per-example results; point estimate)',
    ]);
    expect(row(md, 'Rows', golden)).toEqual(['Rows', '5,000', '5,000', '—', '—']);

    const production = '### production\\_sample';
    expect(row(md, 'Accuracy', production)).toEqual([
      'Accuracy',
      '91.0%',
      '90.5%',
      '−0.5 pp',
      'pass (unpaired, n = 20,000 vs 20,000; Δ 90% CI −1.0 to 0.0 pp; by the interval)',
    ]);
    expect(row(md, 'p95 latency', production)).toEqual([
      'p95 latency',
      '135.0 ms',
      '140.2 ms',
      '+5.2 ms (+3.9%)',
      'pass',
    ]);
    expect(row(md, 'Cost per 1k requests', production)[3]).toBe('+0.0100 USD (+2.2%)');
  });

  test('failing checks are spelt out under their eval set, and the status is FAIL', () => {
    const md = renderPrComment(input(REGRESSED, BASELINE));
    expect(md).toContain('**Status: FAIL**');
    expect(md).toContain(
      '- **FAIL:** golden\\_set accuracy 0.940 → 0.910 (−0.030) exceeds the allowed drop 0.020',
    );
    expect(row(md, 'regression', '### Gates')).toEqual(['regression', '**FAIL**', '4 of 10 checks failed']);
  });

  test('every gate is listed with its verdict and detail; one failing gate fails the status', () => {
    const gates: GateOutcome[] = [
      ...GATES.slice(0, 2),
      { gate: 'model evaluation', verdict: 'fail', detail: 'dvc status is dirty: data/golden.csv modified' },
      { gate: 'cost', verdict: 'skipped', detail: 'no pricing for ml.g6.xlarge' },
    ];
    const md = renderPrComment(input(CANDIDATE, BASELINE, { gates }));
    expect(md).toContain('**Status: FAIL**');
    expect(row(md, 'code quality', '### Gates')).toEqual([
      'code quality',
      'pass',
      'ruff, mypy, pytest: 212 passed',
    ]);
    expect(row(md, 'model evaluation', '### Gates')).toEqual([
      'model evaluation',
      '**FAIL**',
      'dvc status is dirty: data/golden.csv modified',
    ]);
    expect(row(md, 'cost', '### Gates')).toEqual(['cost', 'skipped', 'no pricing for ml.g6.xlarge']);
    expect(row(md, 'regression', '### Gates')).toEqual(['regression', 'pass', 'all 10 checks passed']);
  });

  test('a regression gate given by the caller is not duplicated', () => {
    const gates: GateOutcome[] = [{ gate: 'regression', verdict: 'pass', detail: 'from the pipeline' }];
    const md = renderPrComment(input(CANDIDATE, BASELINE, { gates }));
    expect(md.match(/^\| regression \|/gm)).toHaveLength(1);
  });

  test('drift shows the JS distance against its threshold and the top movers', () => {
    const md = renderPrComment(input(CANDIDATE, BASELINE));
    expect(row(md, 'label', '### production\\_sample')).toEqual([
      'label',
      '0.041',
      '0.100',
      'pass',
      'churned: 12.0% → 15.0% (+3.0 pp); retained: 88.0% → 85.0% (−3.0 pp)',
    ]);
    const failing = [{ ...DRIFT[0], jsDistance: 0.23, passed: false }];
    const failed = renderPrComment(input(CANDIDATE, BASELINE, { drift: failing }));
    expect(failed).toContain('**Status: FAIL**');
    expect(row(failed, 'label', '### production\\_sample').slice(1, 4)).toEqual([
      '0.230',
      '0.100',
      '**FAIL**',
    ]);
  });

  test('monthly cost: baseline, candidate, signed delta and the pricing date', () => {
    const md = renderPrComment(input(CANDIDATE, BASELINE));
    expect(row(md, 'Estimated monthly cost')).toEqual([
      'Estimated monthly cost',
      '1,234.50 USD',
      '1,302.25 USD',
      '+67.75 USD (+5.5%)',
    ]);
    expect(md).toContain('Prices as of 2026-10-01');

    const cheaper = renderPrComment(
      input(CANDIDATE, BASELINE, { cost: { ...COST, candidateMonthly: 1000 } }),
    );
    expect(row(cheaper, 'Estimated monthly cost')[3]).toBe('−234.50 USD (−19.0%)');

    const none = renderPrComment(input(CANDIDATE, BASELINE, { cost: undefined }));
    expect(none).toContain('### Monthly cost\n\nNot estimated for this run.');
  });

  test('first release: an explicit no-baseline note and no deltas', () => {
    const md = renderPrComment(
      input(CANDIDATE, undefined, {
        cost: { candidateMonthly: 1302.25, currency: 'USD', pricingAsOf: '2026-10-01' },
      }),
    );
    expect(md).toContain('**Status: PASS**');
    expect(md).toContain('· no baseline');
    expect(md).toContain('> **No baseline: first release.**');
    expect(row(md, 'Accuracy', '### golden\\_set')).toEqual(['Accuracy', '—', '93.5%', '—', 'pass']);
    expect(row(md, 'Estimated monthly cost')).toEqual(['Estimated monthly cost', '—', '1,302.25 USD', '—']);
    expect(row(md, 'regression', '### Gates')[2]).toBe('no baseline: first release');
  });

  test('an eval set missing from the candidate shows its baseline and fails', () => {
    const evalSets = { golden_set: CANDIDATE.evalSets.golden_set };
    const md = renderPrComment(input({ ...CANDIDATE, evalSets }, BASELINE));
    expect(md).toContain('**Status: FAIL**');
    expect(row(md, 'Accuracy', '### production\\_sample')).toEqual(['Accuracy', '91.0%', '—', '—', '—']);
    expect(md).toContain(
      '- **FAIL:** production\\_sample is in the baseline but missing from the candidate report',
    );
  });

  test('a delta that rounds to zero carries no sign', () => {
    const same = renderPrComment(input(BASELINE, BASELINE));
    expect(row(same, 'Accuracy', '### golden\\_set')[3]).toBe('0.0 pp');
    expect(row(same, 'p95 latency', '### golden\\_set')[3]).toBe('0.0 ms (0.0%)');
  });

  test('slices are listed largest drop first', () => {
    const md = renderPrComment(input(REGRESSED, BASELINE));
    const section = md.slice(md.indexOf('Slice accuracy (3 slices'), md.indexOf('### production'));
    const names = section
      .split('\n')
      .filter((l) => l.startsWith('| region'))
      .map((l) => cells(l)[0]);
    expect(names).toEqual(['region=apac', 'region=us', 'region=eu']);
    expect(row(section, 'region=apac')).toEqual(['region=apac', '91.0%', '87.0%', '−4.0 pp']);
  });
});

describe('the live confidence alarm section', () => {
  test('shows the calibration line it is given, after the cost, and nothing without one', () => {
    const line =
      'Confidence alarm at 57 requests/min: 0.00 false rollbacks per 30 days; drop 0.05 median 9 min, 0.1 median 5 min; smallest drop caught within 10 min in 95% of runs: 0.07.';
    const md = renderPrComment(input(CANDIDATE, BASELINE, { alarmCalibration: line }));
    expect(md).toContain(`### Live confidence alarm\n\n${line}\n`);
    expect(md.indexOf('### Live confidence alarm')).toBeGreaterThan(md.indexOf('### Monthly cost'));
    expect(renderPrComment(input(CANDIDATE, BASELINE))).not.toContain('Live confidence alarm');
  });
});

describe('escaping', () => {
  test('labels from files cannot break a table, inject HTML or mention people', () => {
    const nasty = { 'a|b': 0.9, '<script>alert(1)</script>': 0.8, '@security-team *bold*': 0.85 };
    const candidate = withSlices(CANDIDATE, 'golden_set', nasty);
    const baseline = withSlices(BASELINE, 'golden_set', nasty);
    const drift: DriftSummary[] = [
      {
        ...DRIFT[0],
        topMovers: [{ value: 'x|y\n| injected | row |', referenceShare: 0.5, currentShare: 0.6, delta: 0.1 }],
      },
    ];
    const gates: GateOutcome[] = [
      { gate: 'code | quality', verdict: 'fail', detail: 'line1\nline2 <img src=x>' },
    ];
    const md = renderPrComment(input(candidate, baseline, { drift, gates }));

    expect(md).not.toContain('<script>');
    expect(md).not.toContain('<img');
    expect(md).not.toMatch(/@security-team/);
    expect(md).not.toMatch(/^\| injected/m);
    expect(row(md, 'a\\|b')).toEqual(['a\\|b', '90.0%', '90.0%', '0.0 pp']);
    expect(row(md, '&lt;script&gt;alert(1)&lt;/script&gt;')).toHaveLength(4);
    expect(row(md, '@\u200bsecurity-team \\*bold\\*')).toHaveLength(4);
    expect(row(md, 'code \\| quality')).toEqual([
      'code \\| quality',
      '**FAIL**',
      'line1 line2 &lt;img src=x&gt;',
    ]);
    expect(row(md, 'label', '### production\\_sample')).toHaveLength(5);

    // Every table row in the whole comment has as many cells as its header.
    let width = 0;
    for (const line of md.split('\n')) {
      if (!line.startsWith('|')) {
        width = 0;
        continue;
      }
      const n = cells(line).length;
      if (width === 0) width = n;
      expect(n).toBe(width);
    }
  });

  test('escapeMarkdown leaves no unescaped pipe, angle bracket or line break, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const out = escapeMarkdown(text, 10_000);
        expect(out).not.toMatch(/(?<!\\)(\\\\)*\|/);
        expect(out).not.toMatch(/[<>\n\r]/);
      }),
    );
  });

  test('a commit that is not a plain id is escaped, not put in a code span', () => {
    const md = renderPrComment(input(CANDIDATE, BASELINE, { commit: 'abc`</details>' }));
    expect(md).toContain('candidate abc\\`&lt;/details&gt;');
  });
});

describe('length limit', () => {
  const manySlices = Object.fromEntries(
    Array.from({ length: 3000 }, (_, i) => [
      `segment-${String(i).padStart(4, '0')}-${'x'.repeat(60)}`,
      0.5 + (i % 50) / 100,
    ]),
  );

  test('long lists are shortened with a note and the body stays under the GitHub limit', () => {
    const candidate = withSlices(CANDIDATE, 'golden_set', manySlices);
    const baseline = withSlices(BASELINE, 'golden_set', manySlices);
    const md = renderPrComment(input(candidate, baseline));

    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(md).toContain('_… and 2970 more slices not shown (comment length limit)._');
    expect(md.startsWith('<!-- mlops-report:churn-classifier -->\n')).toBe(true);
  });

  test('when shortening is not enough, whole lines are cut, <details> are closed and a note says so', () => {
    const drift: DriftSummary[] = Array.from({ length: 2000 }, (_, i) => ({
      ...DRIFT[0],
      field: `feature_${i}`,
    }));
    const md = renderPrComment(input(REGRESSED, BASELINE, { drift, maxChars: 2500 }));

    expect(md.length).toBeLessThanOrEqual(2500);
    expect(md.startsWith('<!-- mlops-report:churn-classifier -->\n')).toBe(true);
    expect(md).toContain('**Status: FAIL**');
    expect(md).toMatch(
      /_Report truncated: \d+ more lines not shown \(GitHub comments are limited to 65,536 characters\)/,
    );
    expect((md.match(/<details>/g) ?? []).length).toBe((md.match(/<\/details>/g) ?? []).length);
  });

  test('a long drift list shows failing and most drifted fields first, and the cost section survives', () => {
    const drift: DriftSummary[] = Array.from({ length: 400 }, (_, i) => ({
      ...DRIFT[0],
      field: `feature_${i}`,
      jsDistance: i === 123 ? 0.5 : i === 7 ? 0.09 : 0.01,
      passed: i !== 123,
    }));
    const md = renderPrComment(input(CANDIDATE, BASELINE, { drift }));
    const fields = md
      .split('\n')
      .filter((l) => l.startsWith('| feature'))
      .map((l) => cells(l)[0]);
    expect(fields.slice(0, 2)).toEqual(['feature\\_123', 'feature\\_7']);
    expect(fields).toHaveLength(50);
    expect(md).toContain('_… and 350 more drift fields not shown (comment length limit)._');
    expect(row(md, 'Estimated monthly cost')[2]).toBe('1,302.25 USD');
    expect(md.endsWith('</details>\n')).toBe(true);
  });

  test('a huge input still fits the real limit', () => {
    const drift: DriftSummary[] = Array.from({ length: 5000 }, (_, i) => ({
      ...DRIFT[0],
      field: `feature_${i}`,
    }));
    const gates = Array.from({ length: 500 }, (_, i) => ({
      gate: `gate ${i}`,
      verdict: 'pass' as const,
      detail: 'x'.repeat(2000),
    }));
    const md = renderPrComment(input(REGRESSED, BASELINE, { drift, gates }));
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(md).toContain('more gates not shown');
  });
});
