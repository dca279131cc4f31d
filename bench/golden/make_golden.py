#!/usr/bin/env python3
"""make_golden.py: golden files for the attention layers, from PyTorch itself.

Writes into java/src/test/resources/golden/ (or the folder given as the first argument):

  mha.safetensors        torch.nn.MultiheadAttention(E=16, heads=4, batch_first=True) state_dict under
                         the prefix "enc.self_attn." (in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias)
  mha_x.npy              X [2, 5, 16]
  mha_y_plain.npy        Y with no mask
  mha_y_causal.npy       Y with the causal mask (attn_mask = upper triangle, True = not allowed)
  mha_y_padding.npy      Y with key_padding_mask from lengths [5, 3]
  mha_w_causal.npy       attention weights [2, 4, 5, 5] of the causal call (average_attn_weights=False)
  llama.safetensors      a Llama-style block (q/k/v/o_proj, no bias) under "model.layers.0.self_attn.":
                         E = 24, Hq = 4, Hkv = 2 (GQA), D = 8 (E != Hq*D), RoPE theta 10000
  llama_x.npy            X [2, 6, 24]
  llama_y.npy            Y of the causal block with RoPE

The Llama block is written out here the way Hugging Face's LlamaAttention computes it (rotate_half,
fp32 inverse frequencies 1 / theta^(arange(0, D, 2) / D), repeat_kv for GQA, causal softmax attention,
scale 1/sqrt(D)), with torch ops only. CI does not run this script: the outputs are committed.

  /usr/bin/python3 bench/golden/make_golden.py   (needs numpy and torch >= 1.13; Debian: apt-get install python3-torch)
"""
import json
import os
import struct
import sys

import numpy as np

try:
    import torch
except ImportError:
    sys.exit("make_golden.py needs PyTorch (Debian/Ubuntu: apt-get install python3-torch)")


def write_safetensors(path, tensors):
    """The .safetensors format by hand: 8-byte LE header length, JSON header, raw LE data."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt", "generator": "bench/golden/make_golden.py"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save(out, name, t):
    np.save(os.path.join(out, name), t.detach().cpu().numpy().astype(np.float32))


def mha(out):
    torch.manual_seed(1234)
    e, h, b, s = 16, 4, 2, 5
    m = torch.nn.MultiheadAttention(e, h, batch_first=True, bias=True).eval()
    with torch.no_grad():
        m.in_proj_bias.uniform_(-0.2, 0.2)
        m.out_proj.bias.uniform_(-0.2, 0.2)
    x = torch.rand(b, s, e) * 2 - 1
    write_safetensors(os.path.join(out, "mha.safetensors"),
                      {"enc.self_attn." + k: v for k, v in m.state_dict().items()})
    save(out, "mha_x.npy", x)
    with torch.no_grad():
        y, _ = m(x, x, x, need_weights=False)
        save(out, "mha_y_plain.npy", y)
        causal = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
        y, w = m(x, x, x, attn_mask=causal, need_weights=True, average_attn_weights=False)
        save(out, "mha_y_causal.npy", y)
        save(out, "mha_w_causal.npy", w)
        lengths = torch.tensor([5, 3])
        pad = torch.arange(s)[None, :] >= lengths[:, None]  # True = ignore
        y, _ = m(x, x, x, key_padding_mask=pad, need_weights=False)
        save(out, "mha_y_padding.npy", y)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def llama(out):
    torch.manual_seed(4321)
    e, hq, hkv, d, b, s, theta = 24, 4, 2, 8, 2, 6, 10000.0
    q_proj = torch.nn.Linear(e, hq * d, bias=False)
    k_proj = torch.nn.Linear(e, hkv * d, bias=False)
    v_proj = torch.nn.Linear(e, hkv * d, bias=False)
    o_proj = torch.nn.Linear(hq * d, e, bias=False)
    x = torch.rand(b, s, e) * 2 - 1
    pre = "model.layers.0.self_attn."
    write_safetensors(os.path.join(out, "llama.safetensors"), {
        pre + "q_proj.weight": q_proj.weight, pre + "k_proj.weight": k_proj.weight,
        pre + "v_proj.weight": v_proj.weight, pre + "o_proj.weight": o_proj.weight})
    save(out, "llama_x.npy", x)
    with torch.no_grad():
        q = q_proj(x).view(b, s, hq, d).transpose(1, 2)
        k = k_proj(x).view(b, s, hkv, d).transpose(1, 2)
        v = v_proj(x).view(b, s, hkv, d).transpose(1, 2)
        inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        pos = torch.arange(s).float()
        freqs = torch.outer(pos, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(hq // hkv, dim=1)  # HF repeat_kv: query head h reads kv head h // (hq/hkv)
        v = v.repeat_interleave(hq // hkv, dim=1)
        # causal attention (torch.nn.functional.scaled_dot_product_attention does this from 2.0 on)
        scores = q @ k.transpose(-1, -2) / d ** 0.5
        scores = scores.masked_fill(torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1), float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v
        y = o_proj(o.transpose(1, 2).reshape(b, s, hq * d))
        save(out, "llama_y.npy", y)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "java", "src", "test", "resources", "golden")
    os.makedirs(out, exist_ok=True)
    mha(out)
    llama(out)
    print("golden files written to", os.path.normpath(out), "with torch", torch.__version__)


if __name__ == "__main__":
    main()
