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
  | 'bad-argument'
  | 'download-failed'
  /** fits only with part of the layers on the GPU: detail holds how many; ask the user */
  | 'needs-partial-offload';

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

/**
 * Text taken from a file (a key, a tensor name, a token) as it may appear in a message: control
 * characters, escape sequences, NULs, lone surrogates and the Unicode controls that reorder or hide
 * text written as \xNN / \u{...}, and cut to `max` characters, so a hostile file can neither
 * drive the terminal nor flood the log. Quoted, so where it starts and ends is visible.
 */
export function quoteFileText(text: string, max = 80): string {
  const { shown, cut } = escapeShortened(text, max, true);
  return `"${shown}${cut ? `..." (${text.length} characters)` : '"'}`;
}

/** Escaped (as quoteFileText) and cut so the escaped form is at most about `max` characters. */
export function escapeShortened(text: string, max: number, quoted = false): { shown: string; cut: boolean } {
  let shown = '';
  // only the head is looked at: a 200,000-byte key costs no more than a short one
  for (const ch of text.length > 2 * max ? text.slice(0, 2 * max) : text) {
    if (shown.length >= max) return { shown, cut: true };
    shown += quoted && (ch === '"' || ch === '\\') ? `\\${ch}` : escapeChar(ch);
  }
  return { shown, cut: text.length > 2 * max };
}

/** The same escaping without quotes or shortening: for a whole message that may hold file text. */
export function escapeControls(text: string): string {
  return Array.from(text).map(escapeChar).join('');
}

function escapeChar(ch: string): string {
  const c = ch.codePointAt(0)!;
  if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0)) return `\\x${c.toString(16).padStart(2, '0')}`;
  // bidirectional controls, zero-width characters, line/paragraph separators, lone surrogates
  if ((c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c === 0xfeff || (c >= 0xd800 && c <= 0xdfff)) {
    return `\\u{${c.toString(16)}}`;
  }
  return ch;
}
