// Errors a user sees. Each has a stable code (for the CLI's exit codes and the tests) and a
// message written for the person, not the developer: what happened and what to do.

export type ErrorCode =
  | 'bad-gguf'
  | 'not-llama'
  | 'missing-tensor'
  | 'unsupported-tensor-type'
  | 'model-load-failed'
  | 'out-of-memory'
  | 'empty-prompt'
  | 'prompt-too-long'
  | 'cancelled'
  | 'engine-crashed'
  | 'no-model'
  | 'bad-argument';

export class InnerWorldError extends Error {
  override readonly name = 'InnerWorldError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export function isInnerWorldError(e: unknown): e is InnerWorldError {
  return e instanceof Error && e.name === 'InnerWorldError' && typeof (e as InnerWorldError).code === 'string';
}
