import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { shippedPlatform } from '../helpers/shipped-platform';

/** The stack ids `cdk deploy` accepts: the ids of the app's stacks (what `npx cdk list` prints). */
const stackIds = () => {
  const { shared, models } = shippedPlatform();
  return [shared, ...models].map((s) => s.id);
};

describe('README "Deploying"', () => {
  test('every stack it tells people to `cdk deploy` exists under that id', () => {
    const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Deploying'),
      readme.indexOf('\n## ', readme.indexOf('## Deploying') + 1),
    );
    const named = [...section.matchAll(/npx cdk deploy ([A-Za-z][\w-]*)/g)].map((m) => m[1]);
    expect(named).toEqual(['Shared', 'Model-document-classifier']);
    expect(stackIds()).toEqual(expect.arrayContaining(named));
  });
});
