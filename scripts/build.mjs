// Bundles the extension host (Node, CommonJS), the engine process, the CLI and the webviews
// (browser, ESM). Native packages stay external: they load their own prebuilt binaries.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const nodeCommon = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  minify: production,
  external: ['vscode', 'node-llama-cpp', 'koffi'],
  logLevel: 'info',
};

// one bundle per view: webview/views/<entry>.ts -> media/dist/<entry>.js
const webviewEntries = fs.existsSync('webview/views')
  ? fs.readdirSync('webview/views').filter((f) => /^[a-z][A-Za-z]*\.ts$/.test(f)).map((f) => `webview/views/${f}`)
  : [];

const configs = [
  { ...nodeCommon, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { engineProcess: 'src/engine/worker/engineProcess.ts' }, outdir: 'dist' },
  // the block sums' worker thread, loaded by its path from the engine process and the CLI
  { ...nodeCommon, entryPoints: { blockSumsWorker: 'src/engine/compute/blockSumsWorker.ts' }, outdir: 'dist' },
  { ...nodeCommon, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  ...(webviewEntries.length
    ? [{
        bundle: true,
        platform: 'browser',
        format: 'esm',
        target: 'es2022',
        sourcemap: true,
        minify: production,
        entryPoints: webviewEntries,
        outdir: 'media/dist',
        logLevel: 'info',
      }]
    : []),
].filter((c) => Object.values(c.entryPoints).every((p) => fs.existsSync(p)));

if (watch) {
  for (const c of configs) await (await esbuild.context(c)).watch();
} else {
  await Promise.all(configs.map((c) => esbuild.build(c)));
}
