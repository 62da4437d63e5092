// README: "`--json` prints one strict JSON document" for every subcommand; render-report refused it (issue 15).
import * as path from 'node:path';
import { runCli } from '../helpers/cli';
import { SHIPPED_CONFIG } from '../helpers/config-fixture';

const EXAMPLES = path.resolve(__dirname, '../../examples/document-classifier');
const args = [
  '-r',
  path.join(EXAMPLES, 'eval_report_regressed.json'),
  '-b',
  path.join(EXAMPLES, 'baseline_metrics.json'),
  '-m',
  'document-classifier',
  '-c',
  SHIPPED_CONFIG,
];

describe('mlops render-report --json', () => {
  test('one JSON document: the same Markdown as without --json, with the verdict beside it', async () => {
    const markdown = await runCli('render-report', ...args);
    const json = await runCli('render-report', ...args, '--json');
    expect(json.code).toBe(0);
    expect(json.stdout.endsWith('}\n')).toBe(true);
    expect(json.stdout.trimEnd().split('\n')).toHaveLength(1);
    const doc = JSON.parse(json.stdout);
    expect(doc).toMatchObject({ rendered: true, verdict: 'fail', markdown: markdown.stdout, drift: [] });
    expect(
      doc.regression.checks.find((c: { check: string; verdict: string }) => c.verdict === 'fail'),
    ).toBeDefined();
    expect(doc.cost).toMatchObject({ pricingAsOf: '2026-11-01' });
  });

  test('an invalid report: exit 1 and the problems as JSON', async () => {
    const r = await runCli('render-report', '-r', path.join(EXAMPLES, '../../package.json'), '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ rendered: false, valid: false });
    expect(doc.problems.length).toBeGreaterThan(0);
  });

  test.each([
    'validate-config',
    'validate-data',
    'check-regression',
    'estimate-cost',
    'render-report',
    'scrub-pii',
  ])('%s --help lists --json, as README promises for every subcommand', async (command) => {
    const r = await runCli(command, '--help');
    expect(r.stdout).toMatch(/^\s+--json\s/m);
  });
});
