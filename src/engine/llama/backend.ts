// Chooses the llama.cpp build (CPU, CUDA, Vulkan, Metal) with node-llama-cpp's own `getLlama()`,
// then loads that build's libraries for koffi. node-llama-cpp stays usable in the same process.
import * as path from 'node:path';
import { packageDir } from '../assets';
import { findLibraryFiles, loadNative, type Native } from './native';

export type GpuPreference = 'auto' | 'cpu' | 'cuda' | 'vulkan' | 'metal';
export type GpuKind = false | 'cuda' | 'vulkan' | 'metal';

export interface Backend {
  readonly native: Native;
  readonly gpu: GpuKind;
  /** human-readable, for the status bar and logs: "CPU", "CUDA (NVIDIA H100 ...)" */
  readonly label: string;
  /** node-llama-cpp's Llama instance (its own API keeps working next to ours) */
  readonly llama: unknown;
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
  const pkg = prebuiltPackage(gpu);
  const binsDir = path.join(packageDir(pkg), 'bins', pkg.slice('@node-llama-cpp/'.length));
  const native = loadNative(findLibraryFiles(binsDir));

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
  return { native, gpu: dev ? gpu : false, label, llama, log, gpuMemory };
}
