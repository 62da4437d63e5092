/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // swc strips types only; `npm run build` (tsc --noEmit) does the type-check.
  transform: { '^.+\\.[cm]?[tj]sx?$': ['@swc/jest'] },
  // Octokit and its helpers ship ES modules only; swc turns them into CommonJS for jest.
  transformIgnorePatterns: [
    '/node_modules/(?!(@octokit|universal-user-agent|before-after-hook|fast-content-type-parse|json-with-bigint|content-type)/)',
  ],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  // A guard against a hung test, not a speed target (those are benchmarks in bench/): tests and
  // hooks that talk to moto take seconds when a 2-core CI machine runs 20 suites at once.
  testTimeout: 60_000,
};
