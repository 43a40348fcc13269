// The notebook's weights: every tensor of a GGUF dequantized to float32 by ggml's own to_float
// (through our GGUF reader), written once as one raw little-endian file with a JSON manifest
// (name, shape, byte offset) that the PyTorch side reads into memory as a notebook loads a
// float32 checkpoint. Both sides therefore hold the same numbers; only the arithmetic differs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgmlType } from '../../src/engine/gguf/ggmlTypes';
import { LlamaModelFile } from '../../src/engine/gguf/llamaModel';
import { getBackend } from '../../src/engine/llama/backend';
import { ggmlToFloat } from '../../src/engine/llama/native';

export interface PeerManifest {
  source: string;
  /** the GGUF's size and mtime: a different file gets a new export */
  identity: string;
  hparams: { nLayers: number; dModel: number; nHeads: number; nKvHeads: number; dFf: number; nVocab: number; rmsEps: number; ropeFreqBase: number };
  /** shape as PyTorch sees it (rows first: a Linear's [out, in]) */
  tensors: Array<{ name: string; shape: number[]; offset: number }>;
  bytes: number;
}

/** The float32 export of `gguf` (made on first use): the manifest's path. */
export async function ensureF32Export(gguf: string): Promise<string> {
  const st = fs.statSync(gguf);
  const identity = `${st.size}-${Math.floor(st.mtimeMs)}`;
  const dir = gguf.replace(/\.gguf$/, '.f32');
  const manifestPath = path.join(dir, 'manifest.json');
  try {
    const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as PeerManifest;
    if (m.identity === identity && fs.statSync(path.join(dir, 'weights.f32')).size === m.bytes) return manifestPath;
  } catch {
    // none yet, or from another file: write it
  }
  fs.mkdirSync(dir, { recursive: true });
  const native = (await getBackend('cpu')).native;
  const model = LlamaModelFile.open(gguf);
  const tmp = path.join(dir, `weights.f32.tmp-${process.pid}`);
  const fd = fs.openSync(tmp, 'w');
  const tensors: PeerManifest['tensors'] = [];
  let offset = 0;
  try {
    for (const t of model.file.tensors) {
      const raw = model.file.readTensorBytes(t);
      const f32 = t.type === GgmlType.F32 ? new Float32Array(raw.slice().buffer) : ggmlToFloat(native, t.type, raw, t.nElements);
      const bytes = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
      for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done, offset + done);
      tensors.push({ name: t.name, shape: [...t.dims].reverse(), offset });
      offset += bytes.byteLength;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, 'weights.f32'));
  const h = model.hparams;
  const manifest: PeerManifest = {
    source: path.basename(gguf),
    identity,
    hparams: { nLayers: h.nLayers, dModel: h.dModel, nHeads: h.nHeads, nKvHeads: h.nKvHeads, dFf: h.dFf, nVocab: h.nVocab, rmsEps: h.rmsEps, ropeFreqBase: h.ropeFreqBase },
    tensors,
    bytes: offset,
  };
  model.close();
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 1));
  return manifestPath;
}
