// Recommended rules without type information: type-aware linting would re-run the compiler, and tsc already does.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'test-results/',
      'playwright-report/',
      'reports/',
      'runs/',
      '.cache/',
      'gpu/',
      'farm/',
      'scratch/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Node scripts are plain JavaScript, so `no-undef` applies to them and needs Node's globals.
    files: ['**/*.{js,mjs}'],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly', setTimeout: 'readonly' },
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The layers' one-way imports: core is plain TypeScript that runs in Node, the worker and tests.
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'src/core runs in the browser too: keep Node imports in src/node.' },
            { group: ['react', 'react-*', 'zustand'], message: 'src/core has no UI.' },
            {
              group: ['**/ui/**', '**/worker/**', '**/cli/**', '**/node/**'],
              message: 'src/core imports nothing above it.',
            },
          ],
        },
      ],
    },
  },
  {
    // The diagnostics page (kernels.html) runs core code on the page's own backend; it is no part of the studio.
    files: ['src/diagnostics/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/ui/**', '**/worker/**', '**/cli/**', '**/node/**'], message: 'diagnostics use core only.' },
          ],
        },
      ],
    },
  },
  {
    // The UI never touches tensors: tfjs lives in the worker.
    files: ['src/ui/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@tensorflow/*'], message: 'The UI never touches tensors: ask the worker through the bridge.' },
            {
              // Pure modules without tfjs (the settings table and the defaults from it, metric flattening) are fine on the page.
              regex: '/core/(?!rapm/(config|metrics|settings)$)',
              allowTypeImports: true,
              message: 'The UI runs core code only in the worker; import its types with `import type`.',
            },
          ],
        },
      ],
    },
  },
);
