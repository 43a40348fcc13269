// Entry of the engine process (forked by the extension host). It owns llama.cpp: a native crash
// here ends this process only; the host reports it and starts a fresh one.
import { isInnerWorldError } from '../errors';
import { EngineService } from './engineService';
import type { EngineMethod, FromEngine, SerializedError, ToEngine } from './protocol';

const service = new EngineService();
const cancelled = new Set<number>();
let queue: Promise<void> = Promise.resolve();

function send(msg: FromEngine): void {
  process.send?.(msg);
}

async function dispatch(method: EngineMethod, params: never, id: number): Promise<unknown> {
  const progress = (message: string, fraction?: number): void => send({ kind: 'progress', id, message, fraction });
  switch (method) {
    case 'open':
      return service.open(params, progress);
    case 'release':
      return service.release();
    case 'inspect':
      return service.inspect(params);
    case 'analysis': {
      const r = params as { name: never; params: never };
      return service.analysis(r.name, r.params, progress);
    }
    case 'forget':
      return service.forget((params as { inspectionId: number }).inspectionId);
    case 'crash':
      process.abort();
    // falls through (abort does not return)
    case 'hold': {
      const until = Date.now() + (params as { ms: number }).ms;
      while (Date.now() < until);
      return null;
    }
  }
  throw new Error(`unknown engine method ${String(method)}`);
}

function serialize(e: unknown): SerializedError {
  if (isInnerWorldError(e)) return { code: e.code, message: e.message, detail: e.detail };
  const err = e instanceof Error ? e : new Error(String(e));
  return { code: 'internal', message: err.message, detail: err.stack };
}

process.on('message', (msg: ToEngine) => {
  if (msg.kind === 'cancel') {
    cancelled.add(msg.id);
    return;
  }
  // start each request on a fresh macrotask, so cancels that arrived meanwhile are seen first
  queue = queue.then(() => new Promise<void>((r) => setImmediate(r))).then(async () => {
    if (cancelled.delete(msg.id)) {
      send({ kind: 'response', id: msg.id, error: { code: 'cancelled', message: 'Cancelled.' } });
      return;
    }
    send({ kind: 'started', id: msg.id });
    try {
      const result = await dispatch(msg.method, msg.params as never, msg.id);
      send({ kind: 'response', id: msg.id, result: result ?? null });
    } catch (e) {
      send({ kind: 'response', id: msg.id, error: serialize(e) });
    }
  });
});

// the host went away: nothing left to serve
process.on('disconnect', () => process.exit(0));
send({ kind: 'ready' });
