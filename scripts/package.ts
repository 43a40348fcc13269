// `npm run package`: one .vsix per platform that node-llama-cpp ships prebuilt llama.cpp for.
// Each holds only what runs: the bundles (dist/*.js), media/, package.json, README, LICENSE,
// CHANGELOG, and the runtime node_modules (node-llama-cpp and koffi with their dependencies) with
// the target's prebuilt binaries only. It stages that in a folder and runs vsce there, so no test,
// source or dev dependency can slip in.
//
//   npm run package                                   every target
//   npm run package -- --target linux-x64             one (repeat --target for more)
//   npm run package -- --target linux-x64 --gpu       also node-llama-cpp's CUDA and Vulkan builds (large)
//   npm run package -- --out folder                   where the .vsix files go (default dist/vsix)
//
// Binaries for a platform other than this one are fetched with `npm pack` from the registry.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

interface Target {
  /** node-llama-cpp's prebuilt packages (CPU, or Metal on Apple silicon), without the @node-llama-cpp/ scope */
  llama: string[];
  /** node-llama-cpp's GPU builds, added with --gpu */
  gpu: string[];
  /** koffi's binary package, without the @koromix/ scope */
  koffi: string;
}

/** vsce targets, each with the prebuilt packages it carries (node-llama-cpp 3.21.1's optionalDependencies). */
export const TARGETS: Record<string, Target> = {
  'linux-x64': { llama: ['linux-x64'], gpu: ['linux-x64-vulkan', 'linux-x64-cuda', 'linux-x64-cuda-ext'], koffi: 'koffi-linux-x64' },
  'linux-arm64': { llama: ['linux-arm64'], gpu: [], koffi: 'koffi-linux-arm64' },
  'linux-armhf': { llama: ['linux-armv7l'], gpu: [], koffi: 'koffi-linux-arm' },
  'darwin-arm64': { llama: ['mac-arm64-metal'], gpu: [], koffi: 'koffi-darwin-arm64' },
  'darwin-x64': { llama: ['mac-x64'], gpu: [], koffi: 'koffi-darwin-x64' },
  'win32-x64': { llama: ['win-x64'], gpu: ['win-x64-vulkan', 'win-x64-cuda', 'win-x64-cuda-ext'], koffi: 'koffi-win32-x64' },
  'win32-arm64': { llama: ['win-arm64'], gpu: [], koffi: 'koffi-win32-arm64' },
};

/** Packages that exist once per platform: only the target's may go in. */
const PER_PLATFORM = /^(@node-llama-cpp\/|@koromix\/koffi-|@reflink\/reflink-)/;

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

const readJson = (file: string): Manifest => JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;

/** Where node would find `name` from `from`: its node_modules, then each parent's, up to the repo root. */
function resolvePackage(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === ROOT || dir === path.dirname(dir)) return undefined;
  }
}

/** The runtime closure of the manifest's dependencies (dependencies and optionalDependencies, not peers or dev), as installed here; per-platform packages left out. */
export function runtimePackages(): string[] {
  const manifest = readJson(path.join(ROOT, 'package.json'));
  const found = new Set<string>();
  const queue: Array<[string, string, boolean]> = Object.keys(manifest.dependencies ?? {}).map((n) => [ROOT, n, false]);
  while (queue.length) {
    const [from, name, optional] = queue.shift()!;
    if (PER_PLATFORM.test(name)) continue;
    const dir = resolvePackage(name, from);
    if (!dir) {
      if (optional) continue;
      throw new Error(`${name} (needed by ${path.relative(ROOT, from) || 'package.json'}) is not installed: run npm ci`);
    }
    if (found.has(dir)) continue;
    found.add(dir);
    const m = readJson(path.join(dir, 'package.json'));
    for (const n of Object.keys(m.dependencies ?? {})) queue.push([dir, n, false]);
    for (const n of Object.keys(m.optionalDependencies ?? {})) queue.push([dir, n, true]);
  }
  return [...found].sort();
}

/** Copy a package folder without its own node_modules (its nested packages are copied as packages of their own). */
function copyPackage(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, filter: (src) => src === from || path.relative(from, src).split(path.sep)[0] !== 'node_modules' });
}

/** A platform package at the version its parent pins: this machine's copy, else `npm pack` from the registry. */
function addPlatformPackage(name: string, version: string, stageModules: string, downloads: string): void {
  const dest = path.join(stageModules, name);
  const local = path.join(ROOT, 'node_modules', name);
  if (fs.existsSync(path.join(local, 'package.json')) && readJson(path.join(local, 'package.json')).version === version) {
    copyPackage(local, dest);
    return;
  }
  fs.mkdirSync(downloads, { recursive: true });
  const r = spawnSync('npm', ['pack', `${name}@${version}`, '--pack-destination', downloads, '--json', '--loglevel=error'], { encoding: 'utf8', cwd: downloads });
  if (r.status !== 0) throw new Error(`npm pack ${name}@${version} failed: ${r.stderr.trim()}`);
  const tarball = path.join(downloads, (JSON.parse(r.stdout) as Array<{ filename: string }>)[0]!.filename);
  fs.mkdirSync(dest, { recursive: true });
  const x = spawnSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1'], { encoding: 'utf8' });
  if (x.status !== 0) throw new Error(`cannot unpack ${tarball}: ${x.stderr}`);
}

/** What vsce must leave out of the staged folder. */
const STAGE_IGNORE = [
  '**/*.map',
  '**/*.ts', // declarations and the TypeScript sources some packages ship next to their JavaScript
  '**/*.cts',
  '**/*.mts',
  '**/*.tsbuildinfo',
  'node_modules/**/test/**',
  'node_modules/.package-lock.json',
  'node_modules/.bin/**',
];

export interface PackageResult {
  target: string;
  file: string;
  bytes: number;
  files: number;
}

export function packageTarget(target: string, opts: { gpu?: boolean; outDir: string }): PackageResult {
  const spec = TARGETS[target];
  if (!spec) throw new Error(`unknown target ${target}; one of: ${Object.keys(TARGETS).join(', ')}`);
  const manifest = readJson(path.join(ROOT, 'package.json'));
  for (const f of ['dist/extension.js', 'dist/engineProcess.js', 'media/icon.png', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing${f.startsWith('dist/') ? ': build first (npm run build)' : ''}`);
  }
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), `inner-world-package-${target}-`));
  try {
    // the manifest as published: no scripts, no dev dependencies, no CLI entry
    const published: Manifest = { ...manifest };
    for (const k of ['devDependencies', 'scripts', 'bin']) delete published[k];
    fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(published, null, 2) + '\n');
    for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md']) fs.copyFileSync(path.join(ROOT, f), path.join(stage, f));
    fs.mkdirSync(path.join(stage, 'dist'));
    for (const f of fs.readdirSync(path.join(ROOT, 'dist'))) if (f.endsWith('.js')) fs.copyFileSync(path.join(ROOT, 'dist', f), path.join(stage, 'dist', f));
    fs.cpSync(path.join(ROOT, 'media'), path.join(stage, 'media'), { recursive: true });

    for (const dir of runtimePackages()) copyPackage(dir, path.join(stage, path.relative(ROOT, dir)));
    const modules = path.join(stage, 'node_modules');
    const downloads = path.join(stage, '.downloads');
    const llamaVersion = readJson(path.join(ROOT, 'node_modules', 'node-llama-cpp', 'package.json')).optionalDependencies!;
    for (const p of [...spec.llama, ...(opts.gpu ? spec.gpu : [])]) addPlatformPackage(`@node-llama-cpp/${p}`, llamaVersion[`@node-llama-cpp/${p}`]!, modules, downloads);
    const koffiVersion = readJson(path.join(ROOT, 'node_modules', 'koffi', 'package.json')).optionalDependencies!;
    const koffiPkg = `@koromix/${spec.koffi}`;
    addPlatformPackage(koffiPkg, koffiVersion[koffiPkg]!, modules, downloads);
    // koffi's Linux packages hold a glibc and a musl build; VS Code's linux targets are glibc
    for (const d of fs.readdirSync(path.join(modules, koffiPkg))) {
      if (target.startsWith('linux-') && d.startsWith('musl_')) fs.rmSync(path.join(modules, koffiPkg, d), { recursive: true });
    }
    fs.rmSync(downloads, { recursive: true, force: true });
    fs.writeFileSync(path.join(stage, '.vscodeignore'), STAGE_IGNORE.join('\n') + '\n');

    fs.mkdirSync(opts.outDir, { recursive: true });
    const file = path.join(opts.outDir, `${manifest.name}-${target}${opts.gpu && spec.gpu.length ? '-gpu' : ''}-${manifest.version}.vsix`);
    fs.rmSync(file, { force: true });
    const vsce = path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
    const r = spawnSync(process.execPath, [vsce, 'package', '--target', target, '--out', file], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0 || !fs.existsSync(file)) throw new Error(`vsce package --target ${target} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    const files = Number(/\((\d+) files?,/.exec(r.stdout)?.[1] ?? NaN);
    return { target, file, bytes: fs.statSync(file).size, files };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

function main(): void {
  const argv = process.argv.slice(2);
  const targets: string[] = [];
  let outDir = path.join(ROOT, 'dist', 'vsix');
  let gpu = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target') targets.push(argv[++i] ?? '');
    else if (argv[i] === '--out') outDir = path.resolve(argv[++i] ?? '');
    else if (argv[i] === '--gpu') gpu = true;
    else {
      console.error(`unknown argument ${argv[i]}\nusage: npm run package -- [--target ${Object.keys(TARGETS).join('|')}]... [--gpu] [--out folder]`);
      process.exit(2);
    }
  }
  // a fresh build: nothing left over from an earlier one (a renamed view) goes into the package
  fs.rmSync(path.join(ROOT, 'media', 'dist'), { recursive: true, force: true });
  for (const f of fs.existsSync(path.join(ROOT, 'dist')) ? fs.readdirSync(path.join(ROOT, 'dist')) : []) {
    if (/\.js(\.map)?$/.test(f)) fs.rmSync(path.join(ROOT, 'dist', f));
  }
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
  for (const target of targets.length ? targets : Object.keys(TARGETS)) {
    const t0 = Date.now();
    console.log(`packaging ${target}${gpu ? ' with GPU builds' : ''}...`);
    const r = packageTarget(target, { gpu, outDir });
    console.log(`  ${path.relative(process.cwd(), r.file)}: ${(r.bytes / 1e6).toFixed(1)} MB, ${r.files} files, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.dirname, 'package.ts')) {
  try {
    main();
  } catch (e) {
    console.error(`npm run package failed: ${(e as Error).message}`);
    process.exit(1);
  }
}
