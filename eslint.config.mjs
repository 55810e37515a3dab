// ESLint flat config. The per-folder `no-restricted-imports` rules enforce the design's dependency arrows.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const project = (...folders) => folders.map((f) => `**/src/${f}/**`);

export default tseslint.config(
  {
    ignores: [
      'lib/**',
      'node_modules/**',
      'out/**',
      'bin/**',
      '.ci/**',
      '.tmp/**',
      'eslint.config.mjs',
      'vitest.config.mts',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [{ group: ['../*', '!../shared/*'], message: 'src/shared imports nothing of the project.' }],
        },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins,
          patterns: [
            {
              group: ['@temporalio/*', '!@temporalio/workflow'],
              message: 'Workflows import only @temporalio/workflow.',
            },
            {
              group: [
                ...project('client', 'worker', 'temporal', 'providers'),
                '../client/*',
                '../worker/*',
                '../temporal/*',
                '../providers/*',
              ],
              message: 'Workflows import only src/shared.',
            },
            {
              group: ['../activities/*', '../activities'],
              allowTypeImports: true,
              message: 'Activities are imported by type only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/output/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@temporalio/*',
                ...['activities', 'workflows', 'client', 'worker', 'temporal', 'providers', 'items'].map(
                  (f) => `../${f}/*`,
                ),
              ],
              message: 'src/output is plain files: it imports only src/shared.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/items/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@temporalio/*',
                ...['activities', 'workflows', 'client', 'worker', 'temporal'].flatMap((f) => [`../${f}`, `../${f}/*`]),
              ],
              message: 'src/items (used by the client) imports only src/shared, src/output and src/providers.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/providers/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@temporalio/*',
                '../../activities/*',
                '../../workflows/*',
                '../../client/*',
                '../../worker/*',
                '../../temporal/*',
              ],
              message: 'Providers know nothing of Temporal.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/providers/simulator/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../volcengine/*', '../dashscope/*', '../fal/*', '../openai/*', '../comfyui/*', '@temporalio/*'],
              message: 'The simulator has its own signature check and responses.',
            },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/activities/**/*.ts',
      'src/output/**/*.ts',
      'src/worker/**/*.ts',
      'src/temporal/**/*.ts',
      'src/providers/**/*.ts',
      'src/workflows/**/*.ts',
      'src/shared/**/*.ts',
      'src/items/**/*.ts',
    ],
    ignores: [],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[source.value=/^([.][.][/])+client([/]|$)/]',
          message: 'Nothing imports src/client.',
        },
        {
          selector: 'ImportDeclaration[source.value=/^([.][.][/])+items([/]|$)/]',
          message: 'Only src/client imports src/items (the items file is read before a batch starts).',
        },
      ],
    },
  },
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  prettier,
);
