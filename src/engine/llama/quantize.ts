// ggml's own quantizer (`ggml_quantize_chunk` in libggml-base), for writing quantized fixtures,
// the demo model in a K-quant, and benchmark models. It is also the oracle side of the
// dequantization tests.
import { bytesFor } from '../gguf/ggmlTypes';
import type { Quantizer } from '../gguf/llamaWriter';
import type { Native } from './native';

export function ggmlQuantizer(native: Native): Quantizer {
  return (type, data, nRows, nPerRow) => {
    const out = new Uint8Array(bytesFor(type, nRows * nPerRow));
    const written = native.base.ggml_quantize_chunk(type, data, out, 0, nRows, nPerRow, null);
    if (written !== out.byteLength) throw new Error(`ggml_quantize_chunk wrote ${written} bytes, expected ${out.byteLength}`);
    return out;
  };
}
