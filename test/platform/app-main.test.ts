/**
 * What `cdk synth` prints about the config: the same warnings and problems as `mlops validate-config`.
 */
import { buildPlatformFromConfig } from '../../lib/app-main';
import { ConfigFixture, EXAMPLE_MODEL, newApp } from '../helpers/config-fixture';

function capture() {
  const chunks: string[] = [];
  return { stream: { write: (s: string) => chunks.push(s) > 0 }, text: () => chunks.join('') };
}

const lineOf = (text: string, snippet: string) => text.split('\n').findIndex((l) => l.includes(snippet)) + 1;

describe('cdk synth (bin/app.ts) and the config', () => {
  let fixture: ConfigFixture;
  beforeEach(() => {
    fixture = new ConfigFixture();
  });
  afterEach(() => fixture.dispose());

  test('a warning is printed as validate-config prints it, and the platform is still built', () => {
    fixture.edit(EXAMPLE_MODEL, 'monthlyBudget: 4000', 'monthlyBudget: 2500');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'monthlyBudget: 2500');
    const err = capture();

    const platform = buildPlatformFromConfig(newApp(), fixture.dir, err.stream);

    expect(platform?.models.map((m) => m.stackName)).toEqual(['mlops-document-classifier']);
    expect(err.text()).toBe(
      `  warning: ${fixture.file(EXAMPLE_MODEL)}:${line} cost.monthlyBudget: the estimated serving cost, $3,444.58 a month, is above this budget of $2,500.00, so the budget alarm would fire on day one; raise the budget or shrink serving (see \`mlops estimate-cost --model document-classifier\`)\n`,
    );
  });

  test('a config problem is listed without a stack trace, and nothing is built', () => {
    fixture.edit(EXAMPLE_MODEL, 'monthlyBudget: 4000', 'monthlyBudget: -1');
    const err = capture();

    expect(buildPlatformFromConfig(newApp(), fixture.dir, err.stream)).toBeNull();
    expect(err.text()).toMatch(
      new RegExp(
        `^Configuration in ${fixture.dir}/ has 1 problem\\(s\\):\\n  ${fixture.file(EXAMPLE_MODEL)}:\\d+ cost\\.monthlyBudget: `,
      ),
    );
    expect(err.text()).not.toMatch(/\n\s+at /);
  });
});
