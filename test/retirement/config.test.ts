// `serving.retired`: where it may be written, and what validate-config says about it.
import { runCli } from '../helpers/cli';
import { ConfigFixture, EXAMPLE_MODEL, lineOf, problemsOf } from '../helpers/config-fixture';
import { retiredFixture } from './fixtures';

const M = 'models/document-classifier.yaml';

describe('serving.retired in the config', () => {
  let fixture: ConfigFixture | undefined;
  afterEach(() => fixture?.dispose());

  test('GIVEN no key THEN the model is not retired', () => {
    fixture = new ConfigFixture();
    expect(fixture.load().models[0]!.serving.retired).toBe(false);
  });

  test('GIVEN retired: true in the model file THEN it loads, and validate-config warns what the next deploy does (exit 0)', async () => {
    fixture = retiredFixture();
    expect(fixture.load().models[0]!.serving.retired).toBe(true);
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'retired: true');
    const result = await runCli('validate-config', '-c', fixture.dir);
    expect(result.code).toBe(0);
    expect(result.stderr.replaceAll(`${fixture.dir}/`, '')).toContain(
      `  warning: ${M}:${line} serving.retired: document-classifier is retired: the next deploy of mlops-document-classifier ` +
        'deletes the endpoints mlops-document-classifier-live and mlops-document-classifier-standby (they stop serving), ' +
        'stops both pipelines and disarms its alarms and schedules; data and logs are kept. Then ' +
        '`npx cdk destroy Model-document-classifier` may delete the stack (docs/operations.md, Retiring a model). ' +
        'Remove the key to keep the model\n',
    );
  });

  test('GIVEN retired: "yes" THEN the file, line, key, value and the allowed values are named', () => {
    fixture = retiredFixture("'yes'");
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'retired:');
    expect(problemsOf(fixture)).toEqual([
      `${M}:${line} serving.retired: wrong type (got string "yes", expected true or false)`,
    ]);
  });

  test('GIVEN retired: true in platform.yaml defaults THEN it is refused: one line would retire every model', async () => {
    fixture = new ConfigFixture().edit(
      'platform.yaml',
      'defaults:\n',
      'defaults:\n  serving:\n    retired: true\n',
    );
    const line = lineOf(fixture.read('platform.yaml'), 'retired: true');
    const problems = problemsOf(fixture);
    expect(problems).toEqual([
      `platform.yaml:${line} defaults.serving.retired: a model is retired in its own file only: here it would retire ` +
        'every model and delete all their endpoints at the next deploy; remove this key and set serving.retired: true ' +
        'in config/models/<model>.yaml of the model to retire (got true)',
    ]);
    const result = await runCli('validate-config', '-c', fixture.dir);
    expect(result.code).toBe(1);
  });

  test('GIVEN retired: false in platform.yaml defaults THEN it is harmless and accepted', () => {
    fixture = new ConfigFixture().edit(
      'platform.yaml',
      'defaults:\n',
      'defaults:\n  serving:\n    retired: false\n',
    );
    expect(fixture.load().models[0]!.serving.retired).toBe(false);
  });
});
