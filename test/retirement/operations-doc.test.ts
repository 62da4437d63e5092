// The manual rollback in docs/operations.md ("Rolling back by hand") is run by a person under
// stress, by copy and paste: its function name, payload, bucket, keys and endpoint names must be
// the ones the stack synthesizes and the handler accepts.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { scalableTargetResourceId } from '../../lambdas/core/serving/endpoint-spec';
import { readRollbackEvent } from '../../lambdas/core/serving/rollback';
import { servingStateSchema } from '../../lambdas/core/serving/serving-records';
import { artifactKeys } from '../../lambdas/core/contracts/release-settings';
import { buildPlatform } from '../../lib/platform';
import { newApp, shippedConfig } from '../helpers/config-fixture';

const DOC = path.resolve(__dirname, '../../docs/operations.md');

/** The `sh` code blocks of one `###` section, with continuation lines joined. */
function shellBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`docs/operations.md has no section "${heading}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, ''));
}

/** Splits one command line into words the way sh would for these commands (single and double quotes). */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i < 0 ? undefined : argv[i + 1];
}

describe('docs/operations.md, "Rolling back by hand"', () => {
  const { models } = buildPlatform(newApp(), shippedConfig());
  const stack = models[0]!;
  const template = Template.fromStack(stack).toJSON();
  const resources = template.Resources as Record<string, { Type: string; Properties: any }>;
  const outputs = template.Outputs as Record<string, { Value: unknown }>;
  // The output is a Ref to the function: the function it names, and that function's name.
  const outputRef = (outputs.RollbackFunction!.Value as { Ref: string }).Ref;
  const rollback = resources[outputRef];
  const model = 'document-classifier';
  const lines = shellBlocks(readFileSync(DOC, 'utf8'), '### Rolling back by hand').flatMap((b) =>
    b.split('\n').filter((l) => l.trim() !== ''),
  );
  const commands = lines.map(words);
  const find = (...prefix: string[]) => {
    const found = commands.filter((argv) => prefix.every((p, i) => argv[i] === p));
    expect({ command: prefix.join(' '), found: found.length > 0 }).toEqual({
      command: prefix.join(' '),
      found: true,
    });
    return found;
  };

  test('the stack output RollbackFunction names a function the stack makes', () => {
    expect(rollback?.Type).toBe('AWS::Lambda::Function');
    expect(rollback!.Properties.FunctionName).toBe('mlops-document-classifier-rollback');
  });

  test('aws lambda invoke: the real function name, raw JSON payload, an outfile, and a read timeout that outlasts the function', () => {
    const [invoke] = find('aws', 'lambda', 'invoke');
    expect(option(invoke!, '--function-name')).toBe(rollback!.Properties.FunctionName);
    expect(option(invoke!, '--cli-binary-format')).toBe('raw-in-base64-out');
    // The outfile is the one positional argument, last.
    expect(invoke!.at(-1)).toMatch(/^[\w.-]+\.json$/);
    expect(Number(option(invoke!, '--cli-read-timeout'))).toBeGreaterThanOrEqual(
      rollback!.Properties.Timeout,
    );
  });

  test("the payload is a manual rollback the handler accepts for this function's model", () => {
    const [invoke] = find('aws', 'lambda', 'invoke');
    const payload = JSON.parse(option(invoke!, '--payload')!);
    expect(rollback!.Properties.Environment.Variables.MODEL_NAME).toBe(model);
    const request = readRollbackEvent(payload, model, new Date('2026-12-06T14:30:00Z'));
    expect(request).toMatchObject({ action: 'roll-back', trigger: { kind: 'manual', by: 'Jane Doe' } });
  });

  test('the serving state is read from the bucket the function names, at the key the release path writes', () => {
    const [config] = find('BUCKET=$(aws', 'lambda', 'get-function-configuration');
    expect(option(config!, '--function-name')).toBe(rollback!.Properties.FunctionName);
    const variable = option(config!, '--query')!.replace(/^Environment\.Variables\./, '');
    expect(Object.keys(rollback!.Properties.Environment.Variables)).toContain(variable);
    const copies = find('aws', 's3', 'cp');
    for (const cp of copies) {
      expect(cp[3]).toBe(`s3://$BUCKET/${artifactKeys.servingState(model)}`);
      expect(cp[4]).toBe('-');
    }
  });

  test('the fields the doc prints are fields of the serving state', () => {
    const printer = lines.find((l) => l.includes('python3 -c'))!;
    const live = [...printer.matchAll(/s\["live"\]\["(\w+)"\]/g)].map((m) => m[1]!);
    const standby = [...printer.matchAll(/\(s\["standby"\] or \{\}\)\.get\("(\w+)"\)/g)].map((m) => m[1]!);
    expect(live.length + standby.length).toBe(4);
    const liveKeys = Object.keys(servingStateSchema.shape.live.shape);
    const standbyKeys = Object.keys(servingStateSchema.shape.standby.unwrap().shape);
    expect(live.filter((k) => !liveKeys.includes(k))).toEqual([]);
    expect(standby.filter((k) => !standbyKeys.includes(k))).toEqual([]);
  });

  test('the endpoint and autoscaling names are the live endpoint the stack reports', () => {
    const live = stack.resolve(outputs.LiveEndpoint!.Value) as string;
    for (const argv of [
      ...find('aws', 'sagemaker', 'describe-endpoint'),
      ...find('aws', 'sagemaker', 'update-endpoint'),
    ]) {
      expect(option(argv, '--endpoint-name')).toBe(live);
    }
    const doc = readFileSync(DOC, 'utf8');
    const deregister = doc.match(/aws application-autoscaling deregister-scalable-target [^`]+/)![0];
    expect(option(words(deregister), '--resource-id')).toBe(scalableTargetResourceId(live));
  });
});
