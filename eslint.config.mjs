import tseslint from 'typescript-eslint';

const noVscode = {
  'no-restricted-imports': ['error', {
    paths: [{ name: 'vscode', message: 'src/engine, src/shared and webview run without VS Code: keep vscode imports in src/commands, src/panels, src/hovers ...' }],
  }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'media/dist/**', 'node_modules/**', '.cache/**', 'bench/.tmp/**', 'test-results/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-var': 'error',
      eqeqeq: ['error', 'smart'],
    },
  },
  { files: ['src/engine/**/*.ts', 'src/shared/**/*.ts', 'src/cli/**/*.ts', 'webview/**/*.ts'], rules: noVscode },
);
