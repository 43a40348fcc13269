import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cacheSizes, classifyTensor, parameterTally, tensorTable, type TensorLike } from '../../src/engine/analysis/anatomy';
import { llamaTensorShapes, type LlamaShape } from '../../src/engine/gguf/llamaWriter';
import { GgmlType, bytesFor } from '../../src/engine/gguf/ggmlTypes';
import type { Hparams } from '../../src/engine/gguf/llamaModel';
import { ARCH_FIXTURES, archTensorShapes } from '../fixtures/archModels';

/** A family fixture's tensors (F32), from its spec: no file needed. */
function familyTensors(name: keyof typeof ARCH_FIXTURES, nVocab: number): TensorLike[] {
  return archTensorShapes(ARCH_FIXTURES[name], nVocab).map((t) => {
    const n = t.dims.reduce((a, b) => a * b, 1);
    return { name: t.name, dims: t.dims, type: GgmlType.F32, nElements: n, nBytes: 4 * n };
  });
}

const LLAMA2_7B: LlamaShape = { nVocab: 32000, dModel: 4096, nLayers: 32, nHeads: 32, nKvHeads: 32, dFf: 11008, nCtxTrain: 4096, rmsEps: 1e-5, ropeFreqBase: 10000 };

function hparams(s: LlamaShape): Hparams {
  return { arch: 'llama', nLayers: s.nLayers, dModel: s.dModel, nHeads: s.nHeads, nKvHeads: s.nKvHeads, dHead: s.dModel / s.nHeads, dFf: s.dFf, nVocab: s.nVocab, nCtxTrain: s.nCtxTrain, rmsEps: s.rmsEps, ropeFreqBase: s.ropeFreqBase, ropeDim: s.dModel / s.nHeads, nExperts: 0, nExpertsUsed: 0, dFfExpert: 0 };
}

/** The tensors a GGUF of this shape holds, F16 matrices and F32 norms. */
function tensors(s: LlamaShape, tied = false): TensorLike[] {
  return llamaTensorShapes(s, tied).map((t) => {
    const n = t.dims.reduce((a, b) => a * b, 1);
    const type = t.dims.length === 1 ? GgmlType.F32 : GgmlType.F16;
    return { name: t.name, dims: t.dims, type, nElements: n, nBytes: bytesFor(type, n) };
  });
}

describe('anatomy', () => {
  test("the article's tally for Llama-2-7B shapes is 6,738,415,680; the GGUF holds 64 fewer (no rope_freqs)", () => {
    const tally = parameterTally(hparams(LLAMA2_7B), tensors(LLAMA2_7B));
    assert.equal(tally.article!.total, 6_738_415_680);
    assert.equal(tally.article!.dictionaries, 262_144_000);
    assert.equal(tally.article!.attentionPerLayer, 67_108_864);
    assert.equal(tally.article!.ffnPerLayer, 135_266_304);
    assert.equal(tally.article!.ropeFreqs, 64);
    assert.equal(tally.file.total, 6_738_415_616);
    assert.equal(tally.difference, 64);
    assert.equal(tally.file.attentionPerLayer, tally.article!.attentionPerLayer);
    assert.equal(tally.file.ffnPerLayer, tally.article!.ffnPerLayer);
    assert.equal(tally.notes.length, 1);
    assert.match(tally.notes[0]!, /rope_freqs/);
    assert.match(tally.notes[0]!, /64/);
  });

  test('a file that does store rope_freqs matches the article exactly', () => {
    const ts = tensors(LLAMA2_7B);
    ts.push({ name: 'rope_freqs.weight', dims: [64], type: GgmlType.F32, nElements: 64, nBytes: 256 });
    const tally = parameterTally(hparams(LLAMA2_7B), ts);
    assert.equal(tally.file.total, 6_738_415_680);
    assert.equal(tally.difference, 0);
    assert.deepEqual(tally.notes, []);
  });

  test('grouped-query attention and tied embeddings', () => {
    const s: LlamaShape = { ...LLAMA2_7B, nVocab: 1000, dModel: 256, nLayers: 2, nHeads: 8, nKvHeads: 2, dFf: 512 };
    const tally = parameterTally(hparams(s), tensors(s, true));
    // W_Q and W_O: 256 x 256 each; W_K and W_V: 256 x 64 each (2 kv heads of 32)
    assert.equal(tally.article!.attentionPerLayer, 2 * 256 * 256 + 2 * 256 * 64);
    assert.equal(tally.file.attentionPerLayer, tally.article!.attentionPerLayer);
    assert.equal(tally.difference, 1000 * 256 + 16); // one dictionary and d_head/2 = 16 frequencies
    assert.equal(tally.notes.length, 2);
    assert.ok(tally.notes.some((n) => /tied/.test(n)));
  });

  test("another architecture (GPT-2: fused QKV, LayerNorm biases): the article's tally does not apply, only the file's count", () => {
    // GPT-2 small's tensors as llama.cpp names them: fused attn_qkv, biases, learned positions
    const d = 768;
    const gpt2: TensorLike[] = [['token_embd.weight', [d, 50257]], ['position_embd.weight', [d, 1024]], ['blk.0.attn_qkv.weight', [d, 3 * d]], ['blk.0.attn_qkv.bias', [3 * d]], ['blk.0.attn_norm.bias', [d]], ['blk.0.ffn_up.weight', [d, 4 * d]]].map(([name, dims]) => {
      const n = (dims as number[]).reduce((a, b) => a * b, 1);
      return { name: name as string, dims: dims as number[], type: GgmlType.F32, nElements: n, nBytes: 4 * n };
    });
    const tally = parameterTally({ ...hparams(LLAMA2_7B), arch: 'gpt2', nLayers: 1, dModel: d, nHeads: 12, nKvHeads: 12, dFf: 4 * d, nVocab: 50257 }, gpt2);
    assert.equal(tally.applies, false);
    assert.equal(tally.article, null);
    assert.equal(tally.difference, null, 'no difference against a formula that does not describe the file');
    assert.equal(tally.file.total, 768 * 50257 + 768 * 1024 + 768 * 2304 + 2304 + 768 + 768 * 3072);
    assert.equal(tally.notes.length, 1);
    assert.match(tally.notes[0]!, /"gpt2" model.*only the file's own count \(\d+ parameters\) applies/);
    assert.doesNotMatch(tally.notes[0]!, /tied|rope_freqs/);
  });

  test('a vocabulary-only file: no weights, no tally, no negative difference', () => {
    const tally = parameterTally(hparams(LLAMA2_7B), []);
    assert.equal(tally.applies, false);
    assert.equal(tally.article, null);
    assert.equal(tally.difference, null);
    assert.equal(tally.file.total, 0);
    assert.match(tally.notes.join(' '), /vocabulary and no weights/);
    assert.doesNotMatch(tally.notes.join(' '), /tied/);
  });

  test('a Llama model: the tally applies', () => {
    assert.equal(parameterTally(hparams(LLAMA2_7B), tensors(LLAMA2_7B)).applies, true);
  });

  test('state-vector cache: 270 MB for 1000 tokens at 7B; KV cache', () => {
    const c = cacheSizes(hparams(LLAMA2_7B), 1000);
    assert.equal(c.stateBytes, 33 * 1000 * 4096 * 2);
    assert.ok(Math.abs(c.stateBytes / 1e6 - 270) < 1);
    assert.equal(c.kvBytes, 2 * 32 * 1000 * 4096 * 2);
    const gqa = cacheSizes({ ...hparams(LLAMA2_7B), nKvHeads: 8 }, 1000, 4);
    assert.equal(gqa.kvBytes, 2 * 32 * 1000 * 8 * 128 * 4);
  });

  test('tensor table: grouped by layer, roles in forward order, PyTorch shapes', () => {
    const s: LlamaShape = { ...LLAMA2_7B, nVocab: 100, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 4, dFf: 96 };
    const rows = tensorTable(tensors(s));
    assert.equal(rows[0]!.name, 'token_embd.weight');
    assert.deepEqual(rows[0]!.shape, [100, 64]);
    assert.equal(rows[0]!.role, 'W_E');
    const layer0 = rows.filter((r) => r.layer === 0).map((r) => r.role);
    assert.deepEqual(layer0, ['ln1', 'W_Q', 'W_K', 'W_V', 'W_O', 'ln2', 'W_gate', 'W_in', 'W_out']);
    assert.ok(rows.findIndex((r) => r.layer === 1) > rows.findIndex((r) => r.layer === 0));
    assert.deepEqual(rows.slice(-2).map((r) => r.role), ['ln_final', 'W_U']);
    const ffnUp = rows.find((r) => r.name === 'blk.1.ffn_up.weight')!;
    assert.deepEqual(ffnUp.shape, [96, 64]);
    assert.equal(ffnUp.params, 96 * 64);
    assert.equal(ffnUp.bytes, 96 * 64 * 2);
    assert.equal(ffnUp.type, 'F16');
    assert.deepEqual(classifyTensor('blk.3.ffn_down.weight'), { layer: 3, role: 'W_out' });
    assert.deepEqual(classifyTensor('something.else'), { layer: null, role: 'other' });
  });

  test("phi3's fused attn_qkv is W_QKV (not other) and counts as attention", () => {
    const rows = tensorTable(familyTensors('phi3-fused', 100));
    assert.deepEqual(rows.filter((r) => r.layer === 0).map((r) => r.role), ['ln1', 'W_QKV', 'W_O', 'ln2', 'W_in', 'W_out']);
    assert.deepEqual(classifyTensor('blk.2.attn_qkv.weight'), { layer: 2, role: 'W_QKV' });
    const tally = parameterTally({ ...hparams(LLAMA2_7B), arch: 'phi3', nLayers: 2, dModel: 64, nHeads: 4, nKvHeads: 4, dFf: 128, nVocab: 100 }, familyTensors('phi3-fused', 100));
    assert.equal(tally.file.attentionPerLayer, 64 * 3 * 64 + 64 * 64, 'q, k, v fused and W_O');
    assert.equal(tally.file.other, 0);
  });

  test("a mixture of experts: router W_gate_inp, 3-D expert W_gate / W_in / W_out, and total against active parameters", () => {
    const rows = tensorTable(familyTensors('qwen3moe-experts', 100));
    const layer0 = rows.filter((r) => r.layer === 0);
    assert.deepEqual(layer0.map((r) => r.role), ['ln1', 'W_Q', 'W_K', 'W_V', 'W_O', 'ln2', 'W_gate_inp', 'W_gate', 'W_in', 'W_out', 'other', 'other']);
    assert.deepEqual(layer0.find((r) => r.name === 'blk.0.ffn_up_exps.weight')!.shape, [8, 32, 64], 'PyTorch order: experts, d_ff, d_model');
    const hp = { ...hparams(LLAMA2_7B), arch: 'qwen3moe', nLayers: 2, dModel: 64, nHeads: 4, nKvHeads: 2, dFf: 128, nVocab: 100, nExperts: 8, nExpertsUsed: 2, dFfExpert: 32 };
    const tally = parameterTally(hp, familyTensors('qwen3moe-experts', 100));
    const experts = 2 * 3 * 64 * 32 * 8;
    assert.equal(tally.experts!.expertParams, experts);
    assert.equal(tally.experts!.activePerToken, tally.file.total - (experts * 6) / 8);
    assert.match(tally.notes.join(' '), /picks 2 of 8 experts for every token/);
  });
});
