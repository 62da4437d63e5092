const { availableParallelism } = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  // Jest's node environment with a plain global object: see the file.
  testEnvironment: '<rootDir>/test/setup/node-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // swc strips types only; `npm run build` (tsc --noEmit) does the type-check.
  transform: { '^.+\\.[cm]?[tj]sx?$': ['@swc/jest'] },
  // Octokit and its helpers ship ES modules only; swc turns them into CommonJS for jest.
  transformIgnorePatterns: [
    '/node_modules/(?!(@octokit|universal-user-agent|before-after-hook|fast-content-type-parse|json-with-bigint|content-type)/)',
  ],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  // Jest's default (cores - 1) is one worker on a 2-core machine: the suites then run one after
  // another while the core waits on moto and on child processes (esbuild, cfn-lint).
  maxWorkers: Math.max(2, availableParallelism() - 1),
  // Longest suites first even on a clean clone (CI), where jest has no durations yet.
  testSequencer: '<rootDir>/test/setup/sequencer.js',
  // One moto server per worker for the whole run (test/helpers/moto.ts), not one per file.
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  // A guard against a hung test, not a speed target (those are benchmarks in bench/): tests and
  // hooks that talk to moto take seconds when a 2-core CI machine runs 20 suites at once.
  testTimeout: 60_000,
};
