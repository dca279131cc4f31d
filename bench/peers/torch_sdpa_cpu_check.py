"""Runs torch_sdpa.py's main with the given arguments (used by TorchPeerScriptTest with --device cpu). With
--stand-in, on a torch before 2.0 (Debian's python3-torch is 1.13), which has no scaled_dot_product_attention, a
math version (is_causal top-left, enable_gqa) and a no-op sdp_kernel are put in their place, so that the peer's
SDPA forward and backward code runs; its times are then those of the stand-in, not of torch's SDPA."""
import contextlib
import math
import os
import sys

import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_sdpa  # noqa: E402


def sdpa(q, k, v, is_causal=False, enable_gqa=False):
    if enable_gqa and k.shape[1] != q.shape[1]:
        r = q.shape[1] // k.shape[1]
        k = k.repeat_interleave(r, 1)
        v = v.repeat_interleave(r, 1)
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if is_causal:
        m = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        s = s.masked_fill(~m, float("-inf"))
    return torch.softmax(s, -1) @ v


if "--stand-in" in sys.argv:
    sys.argv.remove("--stand-in")
    if not hasattr(F, "scaled_dot_product_attention"):
        F.scaled_dot_product_attention = sdpa
        torch.backends.cuda.sdp_kernel = lambda **kw: contextlib.nullcontext()
sys.exit(torch_sdpa.main(sys.argv[1:]))
