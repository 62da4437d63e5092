/**
 * The repository's root folder, found from this file's own location the way `cliVersion` finds
 * package.json: the first folder upwards that holds one. The same from the TypeScript sources
 * (lib/) and from the compiled copy `cdk synth` and `mlops` run (dist/lib/), where a fixed
 * `__dirname + '../..'` pointed at dist/ and missed lambdas/, cdk.json and examples/.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..');
  }
}

export const REPO_ROOT = findRoot(__dirname);
