// The esbuild call of lib/constructs/handler-bundles.ts, in a child process of its own: esbuild runs
// plugins only in its asynchronous API, and CDK's local bundling is synchronous. Reads the build
// options (JSON) on stdin; writes the paths esbuild read (the metafile's inputs) on stdout.
//
// Its plugin makes each `@aws-sdk/*` package load when the code first touches one of its exports
// (`new S3Client(...)`, `new GetObjectCommand(...)`, `err instanceof NoSuchKey`) rather than when the
// handler module loads. The SDK's modules, and the Node.js HTTP stacks they pull in, are most of a
// handler's init time; a handler that builds its clients on first use (lambdas/shared/lazy.ts), or
// never uses a client on a path (the router's SQS fallback), no longer pays for them at init. The
// package is still required from the runtime's node_modules, unchanged, on first use: each of its
// exports becomes a getter that requires it. The export names are read from the installed package.
const { readFileSync } = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const NAMESPACE = 'lazy-aws-sdk';

/** A CommonJS module whose exports are those of `name`, each requiring `name` when first read. */
function lazyModule(name) {
  let keys;
  try {
    keys = Object.keys(require(name)).filter((key) => key !== 'default' && key !== '__esModule');
  } catch {
    // Not installed where the build runs: a plain require, loaded at init as without the plugin.
    return `module.exports = require(${JSON.stringify(name)});\n`;
  }
  return [
    'let sdk;',
    `const load = () => (sdk ??= require(${JSON.stringify(name)}));`,
    `for (const key of ${JSON.stringify(keys)})`,
    '  Object.defineProperty(module.exports, key, { enumerable: true, get: () => load()[key] });',
    '',
  ].join('\n');
}

const lazyAwsSdk = {
  name: NAMESPACE,
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\// }, (args) =>
      // The generated module's own require stays a require of the runtime's package.
      args.namespace === NAMESPACE
        ? { path: args.path, external: true }
        : { path: args.path, namespace: NAMESPACE },
    );
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      loader: 'js',
      contents: lazyModule(args.path),
    }));
  },
};

/**
 * zod's error messages in English only. `import { z } from 'zod'` keeps every module zod's namespace
 * re-exports, including `z.locales` with its 40-odd translations: half of each bundle (264 KB of the
 * router's 533 KB), parsed at every cold start and never used (zod speaks English unless
 * `z.config(z.locales.xx())` is called, which no handler does). `z.locales` keeps `en` only.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: path.join(path.dirname(args.importer), '../locales/en.js'), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      loader: 'js',
      resolveDir: path.dirname(args.path),
      contents: `export { default as en } from ${JSON.stringify(args.path)};\n`,
    }));
  },
};

const options = JSON.parse(readFileSync(0, 'utf8'));
esbuild.build({ ...options, plugins: [lazyAwsSdk, zodEnglishOnly] }).then(
  (result) => process.stdout.write(JSON.stringify(Object.keys(result.metafile.inputs))),
  (error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
