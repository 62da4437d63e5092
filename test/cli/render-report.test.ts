import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { reportMarker } from '../../lambdas/core/gates/report';
import { runCli } from '../helpers/cli';
import { SHIPPED_CONFIG } from '../helpers/config-fixture';

const EXAMPLES = path.resolve(__dirname, '../../examples/document-classifier');
const BASELINE = path.join(EXAMPLES, 'baseline_metrics.json');
const REGRESSED = path.join(EXAMPLES, 'eval_report_regressed.json');

describe('mlops render-report', () => {
  test('renders the marker, the Baseline / Candidate / Delta tables and the monthly cost', async () => {
    const r = await runCli(
      'render-report',
      '-r',
      REGRESSED,
      '-b',
      BASELINE,
      '-m',
      'document-classifier',
      '-c',
      SHIPPED_CONFIG,
    );
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(reportMarker('document-classifier'))).toBe(true);
    expect(r.stdout).toContain('**Status: FAIL**');
    expect(r.stdout).toContain(
      '| Accuracy | 94.0% | 91.0% | −3.0 pp | **FAIL** (unpaired, n = 5,000 vs 5,000; Δ 90% CI −3.9 to −2.1 pp; by the interval) |',
    );
    // production-like cost per 1k (0.45 → 0.46) × 2.5M requests a month
    expect(r.stdout).toContain(
      '| Estimated monthly cost | 1,125.00 USD | 1,150.00 USD | +25.00 USD (+2.2%) |',
    );
    expect(r.stdout).toContain('Prices as of 2026-11-01');
  });

  test('includes drift results from validate-data --json', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mlops-drift-'));
    const drift = path.join(dir, 'golden.json');
    writeFileSync(
      drift,
      JSON.stringify({
        drift: [
          {
            evalSet: 'golden_set',
            field: 'label',
            jsDistance: 0.14,
            threshold: 0.1,
            passed: false,
            topMovers: [{ value: 'refund', referenceShare: 0.08, currentShare: 0.21, delta: 0.13 }],
          },
        ],
      }),
    );
    try {
      const r = await runCli('render-report', '-r', REGRESSED, '-b', BASELINE, '--drift', drift);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/golden\\_set.*0\.140.*0\.100/s);
      expect(r.stdout).toContain('refund');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a drift file that is not validate-data output is a usage error', async () => {
    const r = await runCli('render-report', '-r', REGRESSED, '--drift', BASELINE);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has no drift results (expected the output of `mlops validate-data --json`)');
  });
});
