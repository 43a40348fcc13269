// A bad GGUF file raises one of these: the kind says what is wrong, `field` names what was being
// read, `offset` is the byte position in the file, so a user (or a test) can see exactly where.

export type GgufErrorKind =
  | 'not-gguf'
  | 'unsupported-version'
  | 'truncated'
  | 'absurd-count'
  | 'tensor-outside-file'
  | 'unknown-type'
  | 'bad-value'
  | 'unsupported-tensor-type';

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
