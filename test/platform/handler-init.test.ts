/**
 * Every handler bundle `cdk synth` ships loads no file of the AWS SDK while its module loads (issue
 * 15): the SDK's modules are most of a cold start's init, so each handler builds its clients on first
 * use (lambdas/shared/lazy.ts) and scripts/bundle-handlers.js defers each `@aws-sdk/*` package until an
 * export is touched. A client constructed at module load (`defaults = { s3: new S3Client({}) }` run by
 * `export const handler = createHandler(defaultDeps())`) loads the SDK at init again: serving-guard and
 * confidence-baseline did, and took twice the others' init. bench/lambda-init.ts measures the time.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { handlerBundles } from '../../lib/constructs/handler-bundles';

import { AWSLAMBDA_GLOBAL_STUB, lambdaInitEnv } from '../helpers/lambda-init-env';
const ROOT = path.resolve(__dirname, '../..');

const ENV = lambdaInitEnv('init-test');

/** The runtime defines `awslambda` (response streaming) before it loads the handler; the router needs it. */
const CHILD = `
${AWSLAMBDA_GLOBAL_STUB}
const mod = require(process.argv[1]);
process.stdout.write(JSON.stringify({
  handler: typeof mod.handler,
  sdkFiles: Object.keys(require.cache).filter((f) => f.includes('/@aws-sdk/')).map((f) => f.slice(f.indexOf('@aws-sdk/'))),
}));`;

let task: string;
let handlers: string[];

beforeAll(() => {
  const bundles = handlerBundles();
  handlers = readdirSync(bundles, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  // Each bundle alone in a folder outside the checkout, as in /var/task: the SDK comes from NODE_PATH.
  task = mkdtempSync(path.join(tmpdir(), 'handler-init-'));
  for (const h of handlers) {
    mkdirSync(path.join(task, h));
    copyFileSync(path.join(bundles, h, 'index.js'), path.join(task, h, 'index.js'));
  }
}, 300_000);

afterAll(() => rmSync(task, { recursive: true, force: true }));

describe('handler bundles at init', () => {
  it('covers every handler under lambdas/', () => {
    const lambdas = path.join(ROOT, 'lambdas');
    const entries = readdirSync(lambdas).filter((d) => existsSync(path.join(lambdas, d, 'index.ts')));
    expect(handlers).toEqual(entries.sort());
    expect(handlers).toEqual(expect.arrayContaining(['router', 'serving-guard', 'confidence-baseline']));
  });

  it('load no file of the AWS SDK while the handler module loads', () => {
    const seen = Object.fromEntries(
      handlers.map((h) => {
        const run = spawnSync(process.execPath, ['-e', CHILD, path.join(task, h, 'index.js')], {
          cwd: path.join(task, h),
          encoding: 'utf8',
          env: { PATH: process.env.PATH, NODE_PATH: path.join(ROOT, 'node_modules'), ...ENV },
        });
        if (run.status !== 0) throw new Error(`${h} failed to load:\n${run.stderr}`);
        return [h, JSON.parse(run.stdout) as { handler: string; sdkFiles: string[] }];
      }),
    );
    expect(seen).toEqual(Object.fromEntries(handlers.map((h) => [h, { handler: 'function', sdkFiles: [] }])));
  }, 120_000);

  // The router's schemas (environment, flag, prediction record) use zod/mini: zod's classic API
  // doubled its bundle (278 KiB, 120 with mini) and its init CPU (bench/lambda-init.ts). zod/mini loads no
  // locale, so each schema names its own messages; this is what a misconfigured router logs.
  it('router: builds its schemas with zod/mini only, and still says what is wrong with its environment', () => {
    const file = path.join(task, 'router', 'index.js');
    const source = readFileSync(file, 'utf8');
    expect(source).toContain('"ZodMiniObject"');
    expect(source).not.toContain('"ZodObject"');
    const env: Record<string, string> = { ...ENV, MODEL_NAME: 'Bad', POWERTOOLS_LOG_LEVEL: 'LOUD' };
    delete env.FLAG_CACHE_SECONDS;
    const run = spawnSync(process.execPath, ['-e', CHILD, file], {
      cwd: path.dirname(file),
      encoding: 'utf8',
      env: { PATH: process.env.PATH, NODE_PATH: path.join(ROOT, 'node_modules'), ...env },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'router environment: MODEL_NAME is invalid (expected a model name like document-classifier); ' +
        'FLAG_CACHE_SECONDS is missing; POWERTOOLS_LOG_LEVEL is invalid (expected one of TRACE, DEBUG, INFO, ' +
        "WARN, ERROR, CRITICAL, SILENT); the function was deployed without the ModelEndpoint construct's router " +
        'settings: redeploy the model stack',
    );
  }, 60_000);
});
