// Files the project takes from the llama.cpp source that node-llama-cpp ships as a git bundle
// (`node_modules/node-llama-cpp/llama/gitRelease.bundle`): the Llama-2 vocabulary GGUF and
// llama.cpp's tokenizer test vectors. They are extracted once into a cache folder (git is needed
// for this build step only), never committed.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const LLAMA_SPM_VOCAB = 'models/ggml-vocab-llama-spm.gguf';
export const LLAMA_SPM_VOCAB_FILES = [LLAMA_SPM_VOCAB, `${LLAMA_SPM_VOCAB}.inp`, `${LLAMA_SPM_VOCAB}.out`];

/** The folder of an installed package, searching node_modules upwards from `from`. */
export function packageDir(name: string, from = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package ${name} is not installed (searched upwards from ${from}); run npm ci`);
    dir = parent;
  }
}

export function llamaCppBundlePath(): string {
  return path.join(packageDir('node-llama-cpp'), 'llama', 'gitRelease.bundle');
}

/**
 * Extract `files` (paths inside the llama.cpp tree) into `destDir`, keeping their relative paths.
 * Already-extracted files are reused. Returns the absolute paths.
 */
export function extractFromLlamaCppBundle(destDir: string, files: readonly string[] = LLAMA_SPM_VOCAB_FILES): string[] {
  const out = files.map((f) => path.join(destDir, f));
  if (out.every((p) => fs.existsSync(p))) return out;
  const bundle = llamaCppBundlePath();
  if (!fs.existsSync(bundle)) throw new Error(`llama.cpp source bundle not found at ${bundle}`);
  const gitDir = path.join(destDir, 'llama.cpp.git');
  if (!fs.existsSync(path.join(gitDir, 'HEAD'))) {
    fs.rmSync(gitDir, { recursive: true, force: true });
    fs.mkdirSync(destDir, { recursive: true });
    execFileSync('git', ['clone', '--bare', '--quiet', bundle, gitDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  files.forEach((f, i) => {
    const bytes = execFileSync('git', ['--git-dir', gitDir, 'show', `HEAD:${f}`], { maxBuffer: 1 << 28 });
    fs.mkdirSync(path.dirname(out[i]!), { recursive: true });
    fs.writeFileSync(`${out[i]}.tmp`, bytes);
    fs.renameSync(`${out[i]}.tmp`, out[i]!);
  });
  return out;
}

/** The project's cache folder for generated and extracted files (gitignored). */
export function projectCacheDir(): string {
  const fromEnv = process.env['INNER_WORLD_CACHE'];
  if (fromEnv) return fromEnv;
  // the repository root is the first folder upwards holding this project's package.json
  let dir = path.resolve(__dirname);
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'llm-inner-world') return path.join(dir, '.cache');
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root; set INNER_WORLD_CACHE');
    dir = parent;
  }
}
