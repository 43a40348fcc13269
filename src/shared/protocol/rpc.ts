// A tiny typed request/response layer used by both sides of a webview: requests carry ids, and
// every pending request is rejected when the other side goes away or a handler throws.

export interface RpcRequest<M extends string = string, P = unknown> {
  readonly type: 'request';
  readonly id: number;
  readonly method: M;
  readonly params: P;
}

export interface RpcResponse<R = unknown> {
  readonly type: 'response';
  readonly id: number;
  readonly result?: R;
  readonly error?: string;
}

/** A method table: each method's params and result. */
export type RpcMethods<M> = { [K in keyof M]: { params: unknown; result: unknown } };

/** Client half: sends requests, matches responses by id. */
export class RpcClient<M extends RpcMethods<M>> {
  private next = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(private readonly post: (msg: RpcRequest) => void) {}

  request<K extends keyof M & string>(method: K, params: M[K]['params']): Promise<M[K]['result']> {
    return this.start(method, params).result;
  }

  /** A request and its id (for progress and cancel messages about it). */
  start<K extends keyof M & string>(method: K, params: M[K]['params']): { id: number; result: Promise<M[K]['result']> } {
    const id = this.next++;
    const result = new Promise<M[K]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.post({ type: 'request', id, method, params });
      } catch (e) {
        this.pending.delete(id);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    return { id, result };
  }

  /** Feed a message; returns true when it was a response to one of ours. */
  handle(msg: unknown): boolean {
    if (!isResponse(msg)) return false;
    const p = this.pending.get(msg.id);
    if (!p) return true;
    this.pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result);
    return true;
  }

  rejectAll(reason: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new Error(reason));
  }

  get pendingCount(): number {
    return this.pending.size;
  }
}

/** Server half: dispatches requests to handlers, answers every one (errors included). */
export async function serveRequest<M extends RpcMethods<M>>(
  msg: unknown,
  handlers: { [K in keyof M]: (params: M[K]['params'], requestId: number) => Promise<M[K]['result']> | M[K]['result'] },
  reply: (r: RpcResponse) => void,
): Promise<boolean> {
  if (!isRequest(msg)) return false;
  const handler = handlers[msg.method as keyof M];
  try {
    if (!handler) throw new Error(`unknown request ${msg.method}`);
    const result = await handler(msg.params as never, msg.id);
    reply({ type: 'response', id: msg.id, result });
  } catch (e) {
    reply({ type: 'response', id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
  return true;
}

function isResponse(m: unknown): m is RpcResponse {
  return typeof m === 'object' && m !== null && (m as RpcResponse).type === 'response' && typeof (m as RpcResponse).id === 'number';
}
function isRequest(m: unknown): m is RpcRequest {
  return typeof m === 'object' && m !== null && (m as RpcRequest).type === 'request' && typeof (m as RpcRequest).id === 'number';
}
