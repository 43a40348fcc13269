# The notebook we compare against: a plain PyTorch float32 Llama forward pass that keeps every
# hidden state and attention pattern (as TransformerLens' run_with_cache does), and the same lens
# as ours (every state and position, L2-normalized, against the input and output dictionaries,
# top 5) done the way a notebook would: one batched product per dictionary and torch.topk.
# Weights: the float32 export of the same GGUF (bench/peer/weights.ts: ggml's own dequantization).
# A worker: one JSON command per line on stdin, one JSON answer per line on stdout; times are
# taken here, around the work alone.
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch

W = {}
H = {}
cache = {}


def ms_since(t0):
    return (time.perf_counter() - t0) * 1000.0


def load(manifest_path, threads):
    """Read every tensor into memory, as loading a float32 checkpoint does."""
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    m = json.load(open(manifest_path))
    H.update(m["hparams"])
    path = os.path.join(os.path.dirname(manifest_path), "weights.f32")
    with open(path, "rb") as f:
        for t in m["tensors"]:
            n = math.prod(t["shape"])
            f.seek(t["offset"])
            W[t["name"]] = torch.from_numpy(np.fromfile(f, dtype="<f4", count=n)).reshape(t["shape"])
    return {"ms": ms_since(t0)}


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + H["rmsEps"]) * w


def rope(x, cos, sin):
    # llama.cpp's LLAMA rope (GGML_ROPE_TYPE_NORM): adjacent pairs rotate, on the GGUF's own Q/K layout
    t, h, hd = x.shape
    p = x.reshape(t, h, hd // 2, 2)
    a, b = p[..., 0], p[..., 1]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], -1).reshape(t, h, hd)


def capture(tokens):
    """One forward pass keeping hook_embed, every resid_post and every attention pattern."""
    t0 = time.perf_counter()
    cache.clear()
    L, d, nh, nkv = H["nLayers"], H["dModel"], H["nHeads"], H["nKvHeads"]
    hd = d // nh
    T = len(tokens)
    with torch.inference_mode():
        x = W["token_embd.weight"][torch.tensor(tokens)]  # [pos, d_model]
        cache["hook_embed"] = x
        inv = H["ropeFreqBase"] ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]  # [pos, hd/2]
        cos, sin = ang.cos().float()[:, None, :], ang.sin().float()[:, None, :]
        mask = torch.full((T, T), float("-inf")).triu(1)
        for l in range(L):
            p = f"blk.{l}."
            h = rms_norm(x, W[p + "attn_norm.weight"])
            q = rope((h @ W[p + "attn_q.weight"].T).reshape(T, nh, hd), cos, sin)
            k = rope((h @ W[p + "attn_k.weight"].T).reshape(T, nkv, hd), cos, sin)
            v = (h @ W[p + "attn_v.weight"].T).reshape(T, nkv, hd)
            k = k.repeat_interleave(nh // nkv, dim=1)
            v = v.repeat_interleave(nh // nkv, dim=1)
            scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(hd) + mask
            pattern = torch.softmax(scores, -1)  # [head, query_pos, key_pos]
            z = torch.einsum("hts,shd->thd", pattern, v).reshape(T, d)
            x = x + z @ W[p + "attn_output.weight"].T
            h = rms_norm(x, W[p + "ffn_norm.weight"])
            x = x + (torch.nn.functional.silu(h @ W[p + "ffn_gate.weight"].T) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
            cache[f"blocks.{l}.attn.hook_pattern"] = pattern
            cache[f"blocks.{l}.hook_resid_post"] = x
        logits = rms_norm(x, W["output_norm.weight"]) @ W["output.weight"].T  # [pos, d_vocab]
        cache["logits"] = logits
    return {"ms": ms_since(t0), "top1": logits.argmax(-1).tolist()}


def lens(k, want_rows):
    """Every state (embedding + each block's output) at every position, through both dictionaries."""
    t0 = time.perf_counter()
    L = H["nLayers"]
    out = []
    with torch.inference_mode():
        states = torch.stack([cache["hook_embed"]] + [cache[f"blocks.{l}.hook_resid_post"] for l in range(L)])  # [layer, pos, d]
        q = states.transpose(0, 1).reshape(-1, states.shape[-1])  # [pos x layer, d], positions outer as ours
        q = q / q.norm(dim=-1, keepdim=True)
        for name in ("token_embd.weight", "output.weight"):
            _, idx = torch.topk(q @ W[name].T, k, dim=-1)  # [pos x layer, k], best first
            out.append(idx)
    r = {"ms": ms_since(t0)}
    if want_rows:
        r["rows"] = [i.flatten().tolist() for i in out]
    return r


def score(name, cells, ours, theirs):
    """Float32 scores of two words in some lens cells (as lens() computes them), and each cell's spread:
    how near a tie the two sides' differing top words are. Untimed."""
    L = H["nLayers"]
    with torch.inference_mode():
        states = torch.stack([cache["hook_embed"]] + [cache[f"blocks.{l}.hook_resid_post"] for l in range(L)])  # [layer, pos, d]
        q = states.transpose(0, 1).reshape(-1, states.shape[-1])[torch.tensor(cells)]  # [cells, d]
        q = q / q.norm(dim=-1, keepdim=True)
        s = q @ W[name].T  # [cells, d_vocab]
        rows = torch.arange(len(cells))
        return {"ours": s[rows, torch.tensor(ours)].tolist(), "theirs": s[rows, torch.tensor(theirs)].tolist(), "sd": s.std(dim=-1).tolist()}


def blas_library():
    """The BLAS the process actually mapped (Debian's torch takes whichever libblas.so.3 is selected)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1].split("/")[-1] for line in f if "blas" in line.lower()}
    return ", ".join(sorted(libs)) or "none"


def main():
    for line in sys.stdin:
        c = json.loads(line)
        cmd = c["cmd"]
        if cmd == "load":
            r = load(c["manifest"], c["threads"])
        elif cmd == "capture":
            r = capture(c["tokens"])
        elif cmd == "lens":
            r = lens(c["k"], c.get("rows", False))
        elif cmd == "score":
            r = score(c["dict"], c["cells"], c["ours"], c["theirs"])
        elif cmd == "memory":
            r = {"peakKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library()}
        elif cmd == "quit":
            break
        else:
            r = {"error": f"unknown command {cmd}"}
        sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
