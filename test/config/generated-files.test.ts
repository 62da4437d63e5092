import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GENERATED_FILES } from '../../lib/config/json-schema';
import { SHIPPED_CONFIG } from '../helpers/config-fixture';

const ROOT = path.resolve(__dirname, '../..');

describe('files generated from the zod schema', () => {
  test.each(Object.keys(GENERATED_FILES))('%s is up to date (run `npm run schema` if not)', (file) => {
    expect(readFileSync(path.join(ROOT, file), 'utf8')).toBe(GENERATED_FILES[file]());
  });

  test.each([
    ['platform.yaml', './platform.schema.json'],
    ['models/document-classifier.yaml', '../model.schema.json'],
  ])('%s points editors at its JSON Schema', (file, schema) => {
    const first = readFileSync(path.join(SHIPPED_CONFIG, file), 'utf8').split('\n')[0];
    expect(first).toBe(`# yaml-language-server: $schema=${schema}`);
  });

  test('the editor schema rejects unknown keys and documents defaults', () => {
    const schema = JSON.parse(GENERATED_FILES['config/model.schema.json']());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.thresholds.properties.maxAccuracyDrop).toMatchObject({
      default: 0.02,
      maximum: 1,
    });
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'evalSets', 'evaluation']));
  });
});
