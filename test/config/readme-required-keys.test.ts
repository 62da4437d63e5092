// README "Adding a model" must list every key a model cannot leave out, nested ones included (issue 15).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

interface JsonSchema {
  readonly type?: string;
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly default?: unknown;
}

/** Key paths the generated JSON Schema requires without a default, down to the leaves (`evalSets[].kind`). */
function requiredLeaves(node: JsonSchema, prefix = ''): string[] {
  if (node.type === 'array' && node.items?.type === 'object')
    return requiredLeaves(node.items, `${prefix}[]`);
  if (node.type !== 'object' || !node.properties) return [prefix];
  const keys = (node.required ?? []).filter((k) => node.properties?.[k]?.default === undefined);
  if (keys.length === 0) return [prefix];
  return keys.flatMap((k) => requiredLeaves(node.properties![k], prefix ? `${prefix}.${k}` : k));
}

test('README "Adding a model" lists exactly the required keys of the model schema', () => {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'config/model.schema.json'), 'utf8')) as JsonSchema;
  const required = requiredLeaves(schema).sort();
  expect(required).toContain('owner.team');
  expect(required).toContain('evalSets[].kind');

  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Adding a model'));
  const step1 = section.slice(section.indexOf('1. Copy'), section.indexOf('\n2. '));
  const [needed] = step1.split(/A\s+section you add/);
  const listed = [...needed.matchAll(/`([A-Za-z]+(?:\[\])?(?:\.[A-Za-z]+(?:\[\])?)*)`/g)]
    .map((m) => m[1])
    .sort();
  expect(listed).toEqual(required);
});
