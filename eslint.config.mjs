import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['cdk.out/**', 'node_modules/**', 'coverage/**', 'bench/.data/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Synthesized templates are untyped JSON; tests read them as such.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  // The house rules (docs/architecture in README): pure logic in lambdas/core, which imports no SDK
  // and nothing outside itself; runtime code never imports lib/; constructs import only core.
  {
    files: ['lambdas/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(@aws-sdk|@aws-lambda-powertools)/',
              message: 'lambdas/core is pure: take a port from the handler instead of an SDK client.',
            },
            {
              regex: '^\\.\\./\\.\\./',
              message: 'lambdas/core imports nothing outside lambdas/core.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lambdas/**/*.ts'],
    ignores: ['lambdas/core/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+lib/',
              message: 'Runtime code never imports lib/: put the contract in lambdas/core.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/constructs/**/*.ts', 'lib/stacks/**/*.ts', 'lib/platform.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+lambdas/(?!core/)',
              message: 'Constructs import contracts from lambdas/core, never a handler module.',
            },
          ],
        },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='only']",
          message: 'Focused tests are not allowed.',
        },
        { selector: "CallExpression[callee.property.name='skip']", message: 'Skipped tests fail CI.' },
      ],
    },
  },
);
