// A model's YAML deleted while its stack is deployed: validate-config --deployed-stacks names the
// stack and the fix; the stacks really carry the tags it goes by.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildPlatform } from '../../lib/platform';
import { runCli } from '../helpers/cli';
import { ConfigFixture, newApp, shippedConfig } from '../helpers/config-fixture';

const stack = (name: string, status: string, tags: Record<string, string>) => ({
  StackName: name,
  StackStatus: status,
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
});

describe('validate-config --deployed-stacks', () => {
  let fixture: ConfigFixture;
  beforeEach(() => {
    fixture = new ConfigFixture();
  });
  afterEach(() => fixture.dispose());

  /** Writes describe-stacks output into the fixture and returns its path. */
  const deployed = (stacks: unknown[]) => {
    const file = path.join(fixture.dir, 'stacks.json');
    writeFileSync(file, JSON.stringify({ Stacks: stacks }));
    return file;
  };

  test('the model stacks carry the Platform and Model tags it reads (CloudFormation stack tags)', () => {
    const app = newApp();
    const { models } = buildPlatform(app, shippedConfig());
    // The cloud assembly's stack tags are what cdk deploy gives CloudFormation.
    const artifact = app.synth().getStackByName(models[0]!.stackName);
    expect(artifact.tags).toMatchObject({ Platform: 'mlops', Model: 'document-classifier' });
  });

  test('GIVEN a deployed model stack whose YAML was deleted THEN exit 1, naming the file, the stack and the fix', async () => {
    const file = deployed([
      stack('mlops-shared', 'UPDATE_COMPLETE', { Platform: 'mlops' }),
      stack('mlops-document-classifier', 'UPDATE_COMPLETE', {
        Platform: 'mlops',
        Model: 'document-classifier',
      }),
      stack('mlops-fraud-scorer', 'UPDATE_COMPLETE', { Platform: 'mlops', Model: 'fraud-scorer' }),
    ]);
    const result = await runCli('validate-config', '-c', fixture.dir, '--deployed-stacks', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `  ${path.join(fixture.dir, 'models', 'fraud-scorer.yaml')}: missing, but the stack mlops-fraud-scorer (UPDATE_COMPLETE) ` +
        'of model fraud-scorer is deployed: its endpoints mlops-fraud-scorer-live and mlops-fraud-scorer-standby may still ' +
        'serve, and no deploy would ever update or delete them. Put the file back with serving.retired: true, npx cdk ' +
        'deploy Model-fraud-scorer (it deletes the endpoints), npx cdk destroy Model-fraud-scorer, then remove the file ' +
        '(docs/operations.md, Retiring a model)\n',
    );
    const json = await runCli('validate-config', '-c', fixture.dir, '--deployed-stacks', file, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).problems).toHaveLength(1);
  });

  test("GIVEN only stacks with config, deleted ones and another platform's THEN exit 0", async () => {
    const file = deployed([
      stack('mlops-document-classifier', 'UPDATE_COMPLETE', {
        Platform: 'mlops',
        Model: 'document-classifier',
      }),
      stack('mlops-old-model', 'DELETE_COMPLETE', { Platform: 'mlops', Model: 'old-model' }),
      stack('other-fraud-scorer', 'CREATE_COMPLETE', { Platform: 'other', Model: 'fraud-scorer' }),
      stack('unrelated', 'CREATE_COMPLETE', {}),
    ]);
    const result = await runCli('validate-config', '-c', fixture.dir, '--deployed-stacks', file);
    expect(result.code).toBe(0);
  });

  test('GIVEN a file that is not describe-stacks output, or none THEN exit 2 saying so', async () => {
    const file = path.join(fixture.dir, 'stacks.json');
    writeFileSync(file, '{"StackSummaries": []}');
    const wrong = await runCli('validate-config', '-c', fixture.dir, '--deployed-stacks', file);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      `--deployed-stacks ${file}: not the output of aws cloudformation describe-stacks --output json (Stacks:`,
    );
    const missing = await runCli('validate-config', '-c', fixture.dir, '--deployed-stacks', `${file}.nope`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read --deployed-stacks ${file}.nope: no such file`);
  });
});
