// A bad GGUF file raises one of these: the kind says what is wrong, `field` names what was being
// read, `offset` is the byte position in the file, so a user (or a test) can see exactly where.

import { escapeControls, escapeShortened } from '../errors';

export type GgufErrorKind =
  | 'not-gguf' // no "GGUF" magic
  | 'unsupported-version' // only v2 and v3 (little-endian)
  | 'truncated' // the file ends inside a fixed-size field
  | 'absurd-count' // a count or length that cannot fit in the bytes left (refused before allocating)
  | 'tensor-outside-file' // tensor data would extend past the end of the file
  | 'unknown-type' // a ggml tensor type, metadata value type or array element type we do not know
  | 'bad-value' // a known field with an impossible value (n_dims 5, bool 2, duplicate name, alignment 48)
  | 'bad-layout' // tensors that overlap, leave gaps, are out of order, or a tensor count that leaves bytes unaccounted for
  | 'unsupported-tensor-type'; // a known tensor type we cannot dequantize

export class GgufError extends Error {
  override readonly name = 'GgufError';
  /** the field, escaped and shortened (it may hold a key or tensor name from the file) */
  readonly field: string;
  /** what is wrong, without the path: for a caller that names the path itself */
  readonly reason: string;
  constructor(
    readonly kind: GgufErrorKind,
    field: string,
    readonly offset: number,
    detail: string,
    readonly file?: string,
  ) {
    // file text in `detail` is quoted by the reader (quoteFileText); escaping the whole line again
    // is the safety net that keeps any raw control byte or escape sequence out of a terminal
    const short = escapeShortened(field, 120);
    const f = short.cut ? `${short.shown}...` : short.shown;
    const reason = `${escapeControls(detail)} (field ${f}, byte offset ${offset})`;
    super(`${file ? `${escapeControls(file)}: ` : ''}${reason}`);
    this.field = f;
    this.reason = reason;
  }
}
