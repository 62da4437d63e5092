/**
 * scripts/bundle-handlers.js, the esbuild call behind every handler bundle: the AWS SDK loads on first
 * use, not when the handler module loads, and zod keeps its English messages only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

let dir: string;
let inputs: string[];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bundle-handlers-'));
  writeFileSync(
    path.join(dir, 'entry.ts'),
    [
      "import { QueueDoesNotExist, SQSClient } from '@aws-sdk/client-sqs';",
      "import { z } from 'zod';",
      'export const name = z.string().min(3);',
      "export const client = () => new SQSClient({ region: 'eu-west-1' });",
      'export const isMissingQueue = (error: unknown) => error instanceof QueueDoesNotExist;',
      '',
    ].join('\n'),
  );
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle-handlers.js')], {
    cwd: ROOT,
    encoding: 'utf8',
    input: JSON.stringify({
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['@aws-sdk/*'],
      nodePaths: [path.join(ROOT, 'node_modules')],
      absWorkingDir: dir,
      entryPoints: { handler: path.join(dir, 'entry.ts') },
      outdir: path.join(dir, 'out'),
      metafile: true,
      logLevel: 'error',
    }),
  });
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  inputs = JSON.parse(build.stdout) as string[];
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Requires the bundle in a fresh node, as Lambda does (the SDK from NODE_PATH), and runs `script`. */
function inFreshNode(script: string): Record<string, unknown> {
  const run = spawnSync(
    process.execPath,
    [
      '-e',
      `const sdkLoaded = () => Object.keys(require.cache).some((f) => f.includes('/@aws-sdk/'));
       const bundle = require(${JSON.stringify(path.join(dir, 'out', 'handler.js'))});
       const out = {};
       ${script}
       process.stdout.write(JSON.stringify(out));`,
    ],
    {
      cwd: dir,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        NODE_PATH: path.join(ROOT, 'node_modules'),
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
  );
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe('scripts/bundle-handlers.js', () => {
  it('loads the AWS SDK when the code first uses it, not when the module loads', () => {
    const out = inFreshNode(`
      out.atInit = sdkLoaded();
      const sqs = bundle.client();
      out.afterFirstUse = sdkLoaded();
      const real = require('@aws-sdk/client-sqs');
      out.isRealClient = sqs instanceof real.SQSClient;
      out.realErrorClass = bundle.isMissingQueue(new real.QueueDoesNotExist({ message: 'gone', $metadata: {} }));
      out.otherError = bundle.isMissingQueue(new Error('gone'));
    `);
    expect(out).toEqual({
      atInit: false,
      afterFirstUse: true,
      isRealClient: true,
      realErrorClass: true,
      otherError: false,
    });
    // The SDK stays outside the bundle: Lambda's runtime provides it.
    expect(readFileSync(path.join(dir, 'out', 'handler.js'), 'utf8')).toContain(
      'require("@aws-sdk/client-sqs")',
    );
  });

  it("keeps zod's English messages and leaves its other locales out", () => {
    const out = inFreshNode(`out.message = bundle.name.safeParse('ab').error.issues[0].message;`);
    expect(out.message).toBe('Too small: expected string to have >=3 characters');
    const zodLocales = inputs.filter((input) => /zod[\\/]v4[\\/]locales[\\/]/.test(input));
    expect(zodLocales.map((input) => path.basename(input))).toEqual(['en.js', 'en.js']);
  });
});
