// Lint: typescript-eslint's recommended rules over the TypeScript sources; type checking itself
// is `tsc --noEmit` (npm run typecheck), which `npm run lint` runs first.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'certs-dev/', 'var/', '.tap/', 'dist/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // Unused arguments prefixed with _ are deliberate (interface conformance).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Tests, benchmarks and scripts may print.
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
