// A bad GGUF file raises one of these: the kind says what is wrong, `field` names what was being
// read, `offset` is the byte position in the file, so a user (or a test) can see exactly where.

export type GgufErrorKind =
  | 'not-gguf' // no "GGUF" magic
  | 'unsupported-version' // only v2 and v3 (little-endian)
  | 'truncated' // the file ends inside a fixed-size field
  | 'absurd-count' // a count or length that cannot fit in the bytes left (refused before allocating)
  | 'tensor-outside-file' // tensor data would extend past the end of the file
  | 'unknown-type' // a ggml tensor type, metadata value type or array element type we do not know
  | 'bad-value' // a known field with an impossible value (n_dims 5, bool 2, duplicate name, alignment 48)
  | 'unsupported-tensor-type'; // a known tensor type we cannot dequantize

export class GgufError extends Error {
  override readonly name = 'GgufError';
  constructor(
    readonly kind: GgufErrorKind,
    readonly field: string,
    readonly offset: number,
    detail: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${detail} (field ${field}, byte offset ${offset})`);
  }
}
