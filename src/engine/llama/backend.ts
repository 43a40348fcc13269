// Chooses the llama.cpp build (CPU, CUDA, Vulkan, Metal) with node-llama-cpp's own `getLlama()`,
// then loads that build's libraries for koffi; where no GPU library exists, loads the CPU build
// directly. node-llama-cpp stays usable in the same process either way.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageDir } from '../assets';
import { findLibraryFiles, loadNative, logCallbackProto, registerCallback, type Native } from './native';

export type GpuPreference = 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal';
export type GpuKind = false | 'cuda' | 'vulkan' | 'metal';

export interface Backend {
  readonly native: Native;
  readonly gpu: GpuKind;
  /** human-readable, for the status bar and logs: "CPU", "CUDA (NVIDIA H100 ...)" */
  readonly label: string;
  /**
   * node-llama-cpp's Llama instance on the same build (its own API keeps working next to ours): the
   * one that chose the build, or, when the CPU build was loaded directly, started on first call
   */
  nodeLlama(): Promise<unknown>;
  /** messages from llama.cpp's log, newest last (bounded) */
  readonly log: string[];
  /** free and total bytes of the first GPU device, when there is one */
  gpuMemory(): { free: number; total: number } | undefined;
}

/** node-llama-cpp's prebuilt-binaries package for a platform and GPU kind. */
export function prebuiltPackage(gpu: GpuKind, platform = process.platform, arch = process.arch): string {
  const os = platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : platform;
  return `@node-llama-cpp/${os}-${arch}${gpu ? `-${gpu}` : ''}`;
}

let chosen: Promise<Backend> | undefined;
const LOG_LINES = 200;

/**
 * The process-wide backend. The first call decides; later calls get the same one (a process can
 * hold only one llama.cpp build).
 */
export function getBackend(preference: GpuPreference = 'auto'): Promise<Backend> {
  return (chosen ??= chooseBackend(preference));
}

async function chooseBackend(preference: GpuPreference): Promise<Backend> {
  const log: string[] = [];
  const push = (line: string): void => {
    log.push(line.trimEnd());
    if (log.length > LOG_LINES) log.splice(0, log.length - LOG_LINES);
  };
  if (preference === 'cpu' || (preference === 'auto' && !gpuLibrariesMayExist())) {
    // The CPU build is the only one that can run: load it directly. node-llama-cpp's getLlama()
    // would import its whole package and start a child process to test its binary first, 3 s on a
    // quiet machine and 10 s on a loaded one, for a decision already made (bench/results/peer.md).
    try {
      const native = loadNative(findLibraryFiles(binsDirOf(false)));
      installLog(native, push);
      let nodeLlama: Promise<unknown> | undefined;
      const startNodeLlama = async (): Promise<unknown> => {
        const nlc = (await import('node-llama-cpp')) as typeof import('node-llama-cpp');
        return nlc.getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: nlc.LlamaLogLevel.warn, logger: (_l, m) => push(m) });
      };
      return { native, gpu: false, label: 'CPU', nodeLlama: () => (nodeLlama ??= startNodeLlama()), log, gpuMemory: () => undefined };
    } catch (e) {
      push(`loading the CPU build directly failed (${(e as Error).message}); asking node-llama-cpp`);
    }
  }
  // node-llama-cpp is ESM-only; a dynamic import works from CommonJS too.
  const nlc = (await import('node-llama-cpp')) as typeof import('node-llama-cpp');
  const gpuOption = preference === 'cpu' ? false : preference;
  let llama: Awaited<ReturnType<typeof nlc.getLlama>>;
  try {
    llama = await nlc.getLlama({
      gpu: gpuOption,
      build: 'never',
      progressLogs: false,
      logLevel: nlc.LlamaLogLevel.warn,
      logger: (_level, message) => push(message),
    });
  } catch (e) {
    if (gpuOption === false) throw e;
    push(`GPU build unavailable (${(e as Error).message}); using the CPU build`);
    llama = await nlc.getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: nlc.LlamaLogLevel.warn, logger: (_l, m) => push(m) });
  }
  const gpu = llama.gpu as GpuKind;
  const native = loadNative(findLibraryFiles(binsDirOf(gpu)));

  const gpuDevice = (): unknown => {
    for (let i = 0; i < native.ggml.ggml_backend_dev_count(); i++) {
      const dev = native.ggml.ggml_backend_dev_get(i);
      if (native.ggml.ggml_backend_dev_type(dev) === 1) return dev;
    }
    return undefined;
  };
  const gpuMemory = (): { free: number; total: number } | undefined => {
    const dev = gpuDevice();
    if (!dev) return undefined;
    const free = new BigUint64Array(1);
    const total = new BigUint64Array(1);
    native.ggml.ggml_backend_dev_memory(dev, free, total);
    return { free: Number(free[0]), total: Number(total[0]) };
  };
  const dev = gpuDevice();
  const label = gpu && dev ? `${gpu.toUpperCase()} (${native.ggml.ggml_backend_dev_description(dev)})` : 'CPU';
  return { native, gpu: dev ? gpu : false, label, nodeLlama: () => Promise.resolve(llama), log, gpuMemory };
}

function binsDirOf(gpu: GpuKind): string {
  const pkg = prebuiltPackage(gpu);
  return path.join(packageDir(pkg), 'bins', pkg.slice('@node-llama-cpp/'.length));
}

/**
 * Whether node-llama-cpp's own detection (bindings/utils/detectAvailableComputeLayers.js) could find
 * a GPU: on Linux it looks for libcuda / libnvidia-ml and libvulkan in these folders. Anywhere else
 * (macOS has Metal, Windows its own checks), or when any of them is present, node-llama-cpp
 * decides. Looking in more places than it does only sends more machines to it, never fewer.
 */
export function gpuLibrariesMayExist(platform = process.platform, env: NodeJS.ProcessEnv = process.env): boolean {
  if (platform !== 'linux') return true;
  if (fs.existsSync('/dev/nvidiactl') || fs.existsSync('/dev/dri')) return true;
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? '').split(':'),
    ...(env.CUDA_PATH ? [env.CUDA_PATH, path.join(env.CUDA_PATH, 'lib64')] : []),
    '/usr/lib',
    '/usr/lib64',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib/armv7l-linux-gnu',
    '/usr/local/cuda/lib64',
    '/usr/local/lib',
  ].filter((d) => d.length > 0);
  const gpuLibrary = /^lib(cuda|nvidia-ml|vulkan)\.so(\.\d+)*$/;
  return dirs.some((d) => {
    try {
      return fs.readdirSync(d).some((n) => gpuLibrary.test(n));
    } catch {
      return false; // a folder that is not there
    }
  });
}

/** llama.cpp's warnings and errors into the backend's log (node-llama-cpp's logger does this when it loads the build). */
function installLog(native: Native, push: (line: string) => void): void {
  const WARN = 3;
  const CONT = 5;
  let keeping = false;
  const cb = registerCallback(((level: number, text: string) => {
    if (level !== CONT) keeping = level >= WARN;
    if (keeping && text) push(text);
  }) as never, logCallbackProto);
  native.llama.llama_log_set(cb, null);
}
