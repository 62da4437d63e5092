// Writes the editor JSON Schemas and the config reference from lambdas/core/contracts/config-schema.ts.
import { writeFileSync } from 'node:fs';
import { GENERATED_FILES } from '../lib/config/json-schema';

for (const [file, render] of Object.entries(GENERATED_FILES)) {
  writeFileSync(file, render());
  process.stdout.write(`wrote ${file}\n`);
}
