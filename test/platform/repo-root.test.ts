import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { REPO_ROOT } from '../../lib/repo-root';

describe('REPO_ROOT: where lambdas/, cdk.json and examples/ are, from the sources and from dist/', () => {
  test('from the TypeScript sources it is this checkout', () => {
    expect(REPO_ROOT).toBe(path.resolve(__dirname, '../..'));
  });

  test('from a compiled copy under dist/lib/ it is the folder above dist/, not dist/', () => {
    const clone = mkdtempSync(path.join(tmpdir(), 'mlops-root-'));
    try {
      writeFileSync(path.join(clone, 'package.json'), '{}\n');
      mkdirSync(path.join(clone, 'dist/lib'), { recursive: true });
      buildSync({
        entryPoints: [path.resolve(__dirname, '../../lib/repo-root.ts')],
        outfile: path.join(clone, 'dist/lib/repo-root.js'),
        format: 'cjs',
        platform: 'node',
        logLevel: 'warning',
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const compiled = require(path.join(clone, 'dist/lib/repo-root.js')) as { REPO_ROOT: string };
      expect(compiled.REPO_ROOT).toBe(clone);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
