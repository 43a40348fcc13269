// The three dictionaries of the article as one shape: rows of d_model numbers, each row a token.
// Input (W_E) and output (W_U) rows are read from the GGUF file on demand, in their stored type;
// the middle dictionary is a float32 matrix built from the model's states (see middle.ts).
import { InnerWorldError } from '../errors';
import type { LlamaModelFile } from '../gguf/llamaModel';
import type { TensorInfo } from '../gguf/reader';

export type DictionaryName = 'input' | 'output' | 'middle';

export type DictionarySource =
  | { readonly kind: 'tensor'; readonly file: LlamaModelFile; readonly tensor: TensorInfo }
  | { readonly kind: 'f32'; readonly data: Float32Array }; // [n_rows, d_model]

export interface Dictionary {
  readonly name: DictionaryName;
  readonly nRows: number;
  readonly dModel: number;
  /** token id of each row; undefined means row i is token i */
  readonly rowTokens: Int32Array | undefined;
  readonly source: DictionarySource;
  /** an identity for caches of uploaded copies (file path + tensor, or a content key) */
  readonly key: string;
}

export function inputDictionary(file: LlamaModelFile): Dictionary {
  return tensorDictionary('input', file, file.W_E);
}

/** The output dictionary; W_E itself for a model with tied embeddings. */
export function outputDictionary(file: LlamaModelFile): Dictionary {
  return tensorDictionary('output', file, file.W_U);
}

function tensorDictionary(name: DictionaryName, file: LlamaModelFile, tensor: TensorInfo): Dictionary {
  return {
    name,
    nRows: tensor.dims[1]!,
    dModel: tensor.dims[0]!,
    rowTokens: undefined,
    source: { kind: 'tensor', file, tensor },
    key: `${file.file.path}#${tensor.name}`,
  };
}

export function f32Dictionary(name: DictionaryName, data: Float32Array, dModel: number, rowTokens: Int32Array, key: string): Dictionary {
  if (data.length !== rowTokens.length * dModel) throw new Error(`dictionary data holds ${data.length} values, expected ${rowTokens.length} x ${dModel}`);
  return { name, nRows: rowTokens.length, dModel, rowTokens, source: { kind: 'f32', data }, key };
}

export function dictionaryByName(file: LlamaModelFile, name: 'input' | 'output'): Dictionary {
  return name === 'input' ? inputDictionary(file) : outputDictionary(file);
}

/** Rows [start, start + count) as float32 ([count, d_model]); a view for f32 dictionaries. */
export function dictionaryRows(dict: Dictionary, start: number, count: number): Float32Array {
  if (start < 0 || count < 0 || start + count > dict.nRows) throw new RangeError(`rows ${start}..${start + count} are outside the ${dict.name} dictionary (${dict.nRows} rows)`);
  const s = dict.source;
  if (s.kind === 'f32') return s.data.subarray(start * dict.dModel, (start + count) * dict.dModel);
  return s.file.rows(s.tensor, start, count);
}

/** One row per listed row index, gathered ([rows.length, d_model]). */
export function gatherRows(dict: Dictionary, rows: readonly number[]): Float32Array {
  const d = dict.dModel;
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => out.set(dictionaryRows(dict, r, 1), i * d));
  return out;
}

export function tokenOfRow(dict: Dictionary, row: number): number {
  return dict.rowTokens ? dict.rowTokens[row]! : row;
}

/** The row holding a token, or undefined when the dictionary has no entry for it. */
export function rowOfToken(dict: Dictionary, token: number): number | undefined {
  if (!dict.rowTokens) return token >= 0 && token < dict.nRows ? token : undefined;
  const i = dict.rowTokens.indexOf(token);
  return i >= 0 ? i : undefined;
}

export function requireRowOfToken(dict: Dictionary, token: number, text: string): number {
  const r = rowOfToken(dict, token);
  if (r === undefined) throw new InnerWorldError('bad-argument', `"${text}" (token ${token}) has no row in the ${dict.name} dictionary`);
  return r;
}
