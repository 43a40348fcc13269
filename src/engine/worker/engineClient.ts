// Host side of the engine process: typed calls, progress, cancellation, and recovery when the
// process dies (a native crash in llama.cpp, an out-of-memory kill). No 'vscode' here: the
// extension and the tests use it alike.
import { fork, type ChildProcess } from 'node:child_process';
import { InnerWorldError } from '../errors';
import type { AnalysisName, AnalysisParams, AnalysisResult } from '../workbench/analyses';
import type { ModelInfo } from '../llama/session';
import type { AnalysisRequest, EngineMethod, EngineMethods, FromEngine, OpenParams, ToEngine } from './protocol';

export interface EngineClientOptions {
  /** the engine process entry (dist/engineProcess.js, or the .ts source under tsx) */
  readonly script: string;
  readonly execArgv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** a line the engine wrote to stdout/stderr, or a note from the client */
  readonly onLog?: (line: string) => void;
  /** the process ended unexpectedly (the next call starts a new one and reopens the model) */
  readonly onCrash?: (reason: string) => void;
  /**
   * After a restart the model was opened again from its path: what the file holds now (it may
   * have been replaced on disk while the old process had it mapped; see `sameModelFile`).
   */
  readonly onReopen?: (info: ModelInfo) => void;
  /** how long a cancelled request may take to stop before the process is restarted */
  readonly cancelGraceMs?: number;
}

export interface CallOptions {
  readonly onProgress?: (message: string, fraction?: number) => void;
  readonly signal?: AbortSignal;
  /**
   * The caller no longer wants the result (a newer request replaced it): a queued request is
   * cancelled in the engine; a started one runs to its end and its result is dropped, so a short
   * job never costs an engine restart as `signal` may.
   */
  readonly supersede?: AbortSignal;
}

interface Pending {
  readonly method: EngineMethod;
  /** the engine began working on it (a cancel then needs the grace timer) */
  started: boolean;
  cancelRequested: boolean;
  /** cancelled by `supersede`: never restart the engine for it */
  dropOnly: boolean;
  resolve(v: unknown): void;
  reject(e: Error): void;
  readonly onProgress?: CallOptions['onProgress'];
}

export class EngineClient {
  private child: ChildProcess | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lastOpen: OpenParams | undefined;
  private needsReopen = false;
  private disposed = false;

  constructor(private readonly opts: EngineClientOptions) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async call<M extends EngineMethod>(method: M, params: EngineMethods[M]['params'], options: CallOptions = {}): Promise<EngineMethods[M]['result']> {
    if (this.disposed) throw new InnerWorldError('engine-crashed', 'The engine was shut down.');
    if (method === 'open') {
      this.lastOpen = params as OpenParams;
      this.needsReopen = false;
    } else if (method === 'release') {
      this.lastOpen = undefined;
      this.needsReopen = false;
    } else if (this.needsReopen && this.lastOpen) {
      // the process restarted: bring the model back before serving the request
      this.needsReopen = false;
      // opened first, then reported: `onReopen?.(await …)` would skip the open when no one listens
      const info = (await this.send('open', this.lastOpen, {})) as ModelInfo;
      this.opts.onReopen?.(info);
    }
    return this.send(method, params, options) as Promise<EngineMethods[M]['result']>;
  }

  /** One row of the analysis table, typed by its name. */
  analysis<N extends AnalysisName>(name: N, params: AnalysisParams<N>, options: CallOptions = {}): Promise<AnalysisResult<N>> {
    return this.call('analysis', { name, params } as AnalysisRequest, options) as Promise<AnalysisResult<N>>;
  }

  /**
   * Stop the engine process on purpose (a setting only a new process can take, such as the GPU
   * backend): pending requests fail as cancelled, and the next call starts a fresh process with
   * no model open.
   */
  restart(): void {
    const child = this.child;
    this.lastOpen = undefined;
    this.needsReopen = false;
    if (!child) return;
    this.child = undefined;
    child.removeAllListeners('exit');
    child.kill();
    this.failAll(new InnerWorldError('cancelled', 'Cancelled: the engine restarted.'));
  }

  dispose(): void {
    this.disposed = true;
    this.failAll(new InnerWorldError('engine-crashed', 'The engine was shut down.'));
    this.child?.kill();
    this.child = undefined;
  }

  private send(method: EngineMethod, params: unknown, options: CallOptions): Promise<unknown> {
    const child = this.ensureChild();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject, onProgress: options.onProgress, started: false, cancelRequested: false, dropOnly: false });
      const signal = options.signal;
      if (signal) {
        const onAbort = (): void => this.cancel(id);
        if (signal.aborted) queueMicrotask(onAbort);
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      const supersede = options.supersede;
      if (supersede) {
        const onSupersede = (): void => this.cancel(id, true);
        if (supersede.aborted) queueMicrotask(onSupersede);
        else supersede.addEventListener('abort', onSupersede, { once: true });
      }
      child.send({ kind: 'request', id, method, params } satisfies ToEngine);
    });
  }

  private cancel(id: number, dropOnly = false): void {
    const p = this.pending.get(id);
    if (!p || !this.child) return;
    if (dropOnly && (p.started || p.cancelRequested)) return this.drop(id, p);
    if (p.cancelRequested) return;
    p.cancelRequested = true;
    p.dropOnly = dropOnly;
    this.child.send({ kind: 'cancel', id } satisfies ToEngine);
    // a queued request is answered "cancelled" by the engine when its turn comes; only a running
    // one may need the process stopped
    if (p.started) this.armCancelTimer(id, p);
  }

  /** Answer the caller "cancelled" now; the engine's late answer finds nobody waiting and is ignored. */
  private drop(id: number, p: Pending): void {
    this.pending.delete(id);
    p.reject(new InnerWorldError('cancelled', 'Replaced by a newer request.'));
  }

  private armCancelTimer(id: number, p: Pending): void {
    const child = this.child;
    if (!child) return;
    setTimeout(() => {
      if (!this.pending.has(id) || this.child !== child) return;
      // the request is busy inside llama.cpp: stop the process; the model reopens on the next call
      this.pending.delete(id);
      p.reject(new InnerWorldError('cancelled', 'Cancelled.'));
      this.opts.onLog?.(`request ${id} (${p.method}) did not stop in time; restarting the engine`);
      this.restartAfter(child, 'cancelled');
    }, this.opts.cancelGraceMs ?? 2000).unref();
  }

  private restartAfter(child: ChildProcess, why: 'cancelled' | 'crashed'): void {
    if (this.child === child) this.child = undefined;
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    this.needsReopen = this.lastOpen !== undefined;
    this.failAll(new InnerWorldError(why === 'cancelled' ? 'cancelled' : 'engine-crashed', why === 'cancelled' ? 'Cancelled.' : 'The engine restarted.'));
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child;
    const child = fork(this.opts.script, [], {
      execArgv: [...(this.opts.execArgv ?? [])],
      env: this.opts.env ?? process.env,
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const log = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.opts.onLog?.(line);
    };
    child.stdout?.on('data', log);
    child.stderr?.on('data', log);
    child.on('message', (m: FromEngine) => this.onMessage(m));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.disposed) return;
      const reason = signal ? `signal ${signal}` : `exit code ${code}`;
      const busy = [...this.pending.values()].map((p) => p.method);
      this.needsReopen = this.lastOpen !== undefined;
      this.failAll(new InnerWorldError('engine-crashed', `The model engine stopped unexpectedly (${reason})${busy.length ? ` while running ${busy.join(', ')}` : ''}. It restarts on the next request.`));
      this.opts.onCrash?.(reason);
    });
    this.child = child;
    return child;
  }

  private onMessage(m: FromEngine): void {
    if (m.kind === 'log') return this.opts.onLog?.(m.line);
    if (m.kind === 'ready') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.kind === 'started') {
      p.started = true;
      if (p.cancelRequested) {
        if (p.dropOnly) this.drop(m.id, p);
        else this.armCancelTimer(m.id, p);
      }
      return;
    }
    if (m.kind === 'progress') return p.onProgress?.(m.message, m.fraction);
    this.pending.delete(m.id);
    if (m.error) {
      if (m.error.code === 'internal') p.reject(new InnerWorldError('engine-crashed', `Internal error in the engine: ${m.error.message}`, m.error.detail));
      else p.reject(new InnerWorldError(m.error.code, m.error.message, m.error.detail));
    } else {
      p.resolve(m.result);
    }
  }

  private failAll(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }
}

/**
 * Whether two opens of a path read the same model file: same size, modification time and shape.
 * A file replaced on disk while the engine had the old one mapped fails this after a restart.
 */
export function sameModelFile(a: ModelInfo, b: ModelInfo): boolean {
  return a.path === b.path && a.fileBytes === b.fileBytes && a.fileModified === b.fileModified && a.name === b.name && a.arch === b.arch && a.nLayers === b.nLayers && a.dModel === b.dModel && a.nVocab === b.nVocab;
}
