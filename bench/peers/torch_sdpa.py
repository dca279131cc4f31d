#!/usr/bin/env python3
"""PyTorch peer for `attn4j bench`: times torch's scaled_dot_product_attention (flash,
memory-efficient and math backends, where each applies), torch.softmax, and the broadcast
additive (Bahdanau) implementation on exactly the shapes of `attn4j bench`, and writes the same
CSV columns, so that `attn4j bench --peer-csv torch.csv` merges it and prints ratios.

Backward points (sdpa_bwd, softmax_bwd, additive_bwd; the flash-bwd, softmax-bwd and additive-bwd
sets) time the backward alone, as attn4j's do: torch.autograd.grad through one forward whose graph
is kept, so the O and LSE the forward saved are reused, not recomputed; the FLOPs of an SDPA or
additive backward are 2.5x its forward's, as in attn4j bench.

Timing: CUDA events around each call, median of --iters runs after --warmup runs (--device cpu:
the wall clock, no peak memory). Peak memory: torch.cuda.max_memory_allocated() over one call, with
the inputs already allocated (the same "tensors + workspace" that attn4j reports; for a backward,
what its forward saved too). Ceilings measured in the same run: a device-to-device copy of 256 MiB
and a square GEMM (torch.matmul) in the run's dtype.

Needs only Python 3.8+ and PyTorch (2.0+ for the SDPA points). Without PyTorch, --list-shapes,
--print-header and --dry-run still work (they are what the attn4j tests check).

    python3 bench/peers/torch_sdpa.py --shapes standard --dtype f16 --out torch.csv
    java -jar bench/target/attn4j.jar bench --backend cuda --peer-csv torch.csv --out results/
"""

import argparse
import csv
import math
import statistics
import sys
import time

# The column contract with io.github.attn4j.bench.Csv (same names, same order).
COLUMNS = [
    "impl", "backend", "device", "op", "set", "dtype", "batch", "heads", "heads_kv", "seq_q", "seq_k",
    "head_dim", "head_dim_v", "dim_a", "causal", "shape", "status", "ms_median", "ms_min", "ms_max", "runs",
    "tflops", "gbps", "copy_gbps", "gemm_tflops", "frac_copy", "frac_gemm", "peak_bytes", "timing", "reason",
]

DTYPE_BYTES = {"f32": 4, "f16": 2, "bf16": 2}


# The ops of io.github.attn4j.bench.Shape that this peer times (not gemm); a backward point takes its forward's
# dims, and its FLOPs are BACKWARD_FLOPS x the forward's (FlashAttention's convention).
OPS = ("sdpa", "sdpa_bwd", "softmax", "softmax_bwd", "additive", "additive_bwd")
BACKWARD_FLOPS = 2.5
# The forward op of each training backward op (softmax_bwd is not one: it has no FLOPs, only bytes).
BASE = {"sdpa_bwd": "sdpa", "additive_bwd": "additive"}


class Shape:
    """Mirror of io.github.attn4j.bench.Shape: same fields, formulas and key text."""

    def __init__(self, op, set_, batch, heads, heads_kv, seq_q, seq_k, head_dim, head_dim_v, dim_a, causal):
        if op not in OPS:
            raise ValueError("op: expected one of %s, got '%s'" % (", ".join(OPS), op))
        for name, v in (("batch", batch), ("heads", heads), ("heads_kv", heads_kv), ("seq_q", seq_q),
                        ("seq_k", seq_k)):
            if v < 1:
                raise ValueError("%s: expected >= 1, got %d" % (name, v))
        if heads % heads_kv:
            raise ValueError("heads_kv: expected a divisor of heads = %d, got %d" % (heads, heads_kv))
        self.op, self.set, self.batch, self.heads, self.heads_kv = op, set_, batch, heads, heads_kv
        self.seq_q, self.seq_k, self.head_dim, self.head_dim_v = seq_q, seq_k, head_dim, head_dim_v
        self.dim_a, self.causal = dim_a, causal

    def kind(self):
        """sdpa, softmax or additive: the op without its _bwd."""
        return self.op.split("_")[0]

    def backward(self):
        """True for the training backward points (sdpa_bwd, additive_bwd)."""
        return self.op in BASE

    def with_op(self, op, set_):
        return Shape(op, set_, self.batch, self.heads, self.heads_kv, self.seq_q, self.seq_k, self.head_dim,
                     self.head_dim_v, self.dim_a, self.causal)

    @staticmethod
    def sdpa(set_, b, h, hkv, sq, sk, d, causal):
        return Shape("sdpa", set_, b, h, hkv, sq, sk, d, d, 0, causal)

    @staticmethod
    def softmax(set_, rows, n):
        return Shape("softmax", set_, 1, 1, 1, rows, n, 0, 0, 0, False)

    @staticmethod
    def additive(set_, b, h, sq, sk, a, dv, causal):
        return Shape("additive", set_, b, h, h, sq, sk, 0, dv, a, causal)

    def flops(self):
        if self.backward():
            return BACKWARD_FLOPS * self.with_op(BASE[self.op], self.set).flops()
        pairs = float(self.batch) * self.heads * self.seq_q * self.seq_k
        if self.op == "sdpa":
            f = 2.0 * pairs * (self.head_dim + self.head_dim_v)
        elif self.op == "additive":
            f = pairs * (5.0 * self.dim_a + 2.0 * self.head_dim_v)
        else:
            f = 0.0
        return f / 2 if self.causal else f

    def bytes(self, es):
        b, h, hkv, sq, sk = self.batch, self.heads, self.heads_kv, self.seq_q, self.seq_k
        d, dv, a = self.head_dim, self.head_dim_v, self.dim_a
        if self.op == "sdpa_bwd":  # Q, K, V, O, dO, LSE read; dQ, dK, dV written
            return es * (2.0 * b * h * sq * (d + 2.0 * dv) + 2.0 * b * hkv * sk * (d + dv)) + 4.0 * b * h * sq
        if self.op == "additive_bwd":
            return es * (2.0 * b * h * sq * (a + dv) + 2.0 * b * h * sk * (a + dv) + 4.0 * a)
        if self.op == "softmax_bwd":  # Y and dY read, dX written
            return 3.0 * es * b * h * sq * sk
        if self.op == "sdpa":
            return es * (float(b) * h * sq * self.head_dim + float(b) * hkv * sk * (self.head_dim + self.head_dim_v)
                         + float(b) * h * sq * self.head_dim_v)
        if self.op == "softmax":
            return 2.0 * es * b * h * sq * sk
        a, dv = self.dim_a, self.head_dim_v
        return es * (float(b) * h * sq * a + float(b) * h * sk * (a + dv) + 2.0 * a + float(b) * h * sq * dv)

    def key(self):
        if self.kind() == "sdpa":
            kv = [("b", self.batch), ("h", self.heads)]
            if self.heads_kv != self.heads:
                kv.append(("hkv", self.heads_kv))
            kv += [("sq", self.seq_q), ("sk", self.seq_k), ("d", self.head_dim)]
            if self.head_dim_v != self.head_dim:
                kv.append(("dv", self.head_dim_v))
        elif self.kind() == "softmax":
            kv = [("r", self.seq_q), ("n", self.seq_k)]
        else:
            kv = [("b", self.batch), ("h", self.heads), ("sq", self.seq_q), ("sk", self.seq_k), ("a", self.dim_a),
                  ("dv", self.head_dim_v)]
        return self.op + "".join(":%s=%d" % (k, v) for k, v in kv) + (":causal" if self.causal else "")


# ---- shape sets: the same as io.github.attn4j.bench.ShapeSets --------------------------------------

def flash_set():
    out = []
    for d in (64, 128):
        for causal in (False, True):
            s = 512
            while s <= 16384:
                h = 2048 // d
                out.append(Shape.sdpa("flash", 16384 // s, h, h, s, s, d, causal))
                s *= 2
    return out


def decode_set():
    return [Shape.sdpa("decode", 1, 32, 8, 1, 1024 << i, 128, False) for i in range(7)]


def softmax_set():
    return [Shape.softmax("softmax", (1 << 24) // (128 << i), 128 << i) for i in range(9)]


def additive_set():
    out = [Shape.additive("additive", 32, 1, s, s, 256, 256, False) for s in (512, 1024, 2048)]
    out += [Shape.additive("additive-a", 32, 1, 512, 512, a, 256, False) for a in (512, 1024)]
    return out


def flash_bwd_set():
    out = []
    s = 1024
    while s <= 16384:
        f = Shape.sdpa("flash-bwd", 1, 8, 8, s, s, 64, False)
        out += [f, f.with_op("sdpa_bwd", "flash-bwd")]
        s *= 2
    return out


def additive_bwd_set():
    out = []
    for f in additive_set():
        g = f.with_op("additive", "additive-bwd")
        out += [g, g.with_op("additive_bwd", "additive-bwd")]
    return out


def softmax_bwd_set():
    return [Shape("softmax_bwd", "softmax-bwd", 1, 1, 1, (1 << 24) // (128 << i), 128 << i, 0, 0, 0, False)
            for i in range(9)]


def small_set():
    out = []
    for causal in (False, True):
        s = 128
        while s <= 1024:
            out.append(Shape.sdpa("small", 1, 8, 8, s, s, 64, causal))
            s *= 2
    sk = 1024
    while sk <= 8192:
        out.append(Shape.sdpa("small-decode", 1, 8, 2, 1, sk, 64, False))
        sk *= 2
    n = 128
    while n <= 4096:
        out.append(Shape.softmax("small-softmax", (1 << 18) // n, n))
        n *= 2
    s = 64
    while s <= 256:
        out.append(Shape.additive("small-additive", 4, 1, s, s, 64, 64, False))
        s *= 2
    return out


SETS = {
    "flash": flash_set,
    "decode": decode_set,
    "softmax": softmax_set,
    "softmax-bwd": softmax_bwd_set,
    "additive": additive_set,
    "flash-bwd": flash_bwd_set,
    "additive-bwd": additive_bwd_set,
    "standard": lambda: flash_set() + decode_set() + softmax_set() + additive_set(),
    "small": small_set,
}

KEYS = ("b", "h", "hkv", "s", "sq", "sk", "d", "dv", "a", "r", "n")


def parse_shape(text):
    """Parses op:key=value:...[:causal], the syntax of `attn4j bench --shapes`."""
    parts = text.strip().split(":")
    op = parts[0].lower()
    if op in BASE:
        return parse_shape(BASE[op] + text.strip()[len(op):]).with_op(op, "custom")
    kv, causal = {}, False
    for p in parts[1:]:
        p = p.strip().lower()
        if p == "causal":
            causal = True
            continue
        if "=" not in p or p.index("=") == 0:
            raise ValueError("shape '%s': expected key=value or 'causal', got '%s'" % (text, p))
        k, v = p.split("=", 1)
        if k not in KEYS:
            raise ValueError("shape '%s': expected a key among %s, got '%s'" % (text, ", ".join(KEYS), k))
        mul = 1
        if v.endswith("k"):
            mul, v = 1024, v[:-1]
        try:
            kv[k] = int(v) * mul
        except ValueError:
            raise ValueError("shape '%s': %s: expected an integer (16k allowed), got '%s'" % (text, k, v))
    sq = kv.get("sq", kv.get("s", -1))
    sk = kv.get("sk", kv.get("s", -1))

    def need(*keys):
        for k in keys:
            if k not in kv:
                raise ValueError("shape '%s': expected key %s, got none" % (text, k))

    def need_seq():
        if sq < 0 or sk < 0:
            raise ValueError("shape '%s': expected s=N or both sq=N and sk=N, got %s" % (text, "no sq" if sq < 0 else "no sk"))

    if op == "sdpa":
        need("b", "h", "d")
        need_seq()
        return Shape("sdpa", "custom", kv["b"], kv["h"], kv.get("hkv", kv["h"]), sq, sk, kv["d"],
                     kv.get("dv", kv["d"]), 0, causal)
    if op in ("softmax", "softmax_bwd"):
        need("r", "n")
        return Shape(op, "custom", 1, 1, 1, kv["r"], kv["n"], 0, 0, 0, causal)
    if op == "additive":
        need("b", "a", "dv")
        need_seq()
        h = kv.get("h", 1)
        return Shape("additive", "custom", kv["b"], h, h, sq, sk, 0, kv["dv"], kv["a"], causal)
    raise ValueError("shape '%s': expected op %s, got '%s'" % (text, ", ".join(OPS), parts[0]))


def resolve(spec):
    out, seen = [], set()
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if item.lower() in SETS:
            shapes = SETS[item.lower()]()
        elif ":" in item:
            shapes = [parse_shape(item)]
        else:
            raise ValueError("--shapes: expected a set name %s or an explicit shape such as "
                             "sdpa:b=1:h=8:s=1024:d=64, got '%s'" % (list(SETS), item))
        for s in shapes:
            ident = (s.key(), s.set)
            if ident not in seen:
                seen.add(ident)
                out.append(s)
    if not out:
        raise ValueError("--shapes: expected at least one set or shape, got '%s'" % spec)
    return out


# ---- rows ------------------------------------------------------------------------------------------

def fmt(v):
    if v is None or (isinstance(v, float) and (math.isnan(v) or math.isinf(v))):
        return ""
    return "%.6g" % v


def row(impl, device, shape, dtype, status, ms=None, copy_gbps=None, gemm_tflops=None, peak=None, timing="",
        reason=""):
    med = mn = mx = tf = gb = fc = fg = None
    runs = 0
    if ms:
        med, mn, mx, runs = statistics.median(ms), min(ms), max(ms), len(ms)
        sec = med / 1e3
        tf = shape.flops() / sec / 1e12 if shape.flops() > 0 else None
        gb = shape.bytes(DTYPE_BYTES[dtype]) / sec / 1e9
        fc = gb / copy_gbps if copy_gbps else None
        fg = tf / gemm_tflops if (tf is not None and gemm_tflops) else None
    return {
        "impl": impl, "backend": "torch", "device": device, "op": shape.op, "set": shape.set, "dtype": dtype,
        "batch": shape.batch, "heads": shape.heads, "heads_kv": shape.heads_kv, "seq_q": shape.seq_q,
        "seq_k": shape.seq_k, "head_dim": shape.head_dim, "head_dim_v": shape.head_dim_v, "dim_a": shape.dim_a,
        "causal": "true" if shape.causal else "false", "shape": shape.key(), "status": status,
        "ms_median": fmt(med), "ms_min": fmt(mn), "ms_max": fmt(mx), "runs": runs, "tflops": fmt(tf),
        "gbps": fmt(gb), "copy_gbps": fmt(copy_gbps), "gemm_tflops": fmt(gemm_tflops), "frac_copy": fmt(fc),
        "frac_gemm": fmt(fg), "peak_bytes": "" if peak is None else int(peak), "timing": timing,
        "reason": reason.replace("\n", " "),
    }


SDPA_IMPLS = ("flash", "efficient", "math")


def impls_for(shape, chosen):
    """Which peer implementations apply to a shape (before asking torch whether it can run them)."""
    if shape.kind() == "sdpa":
        return ["torch-" + i for i in SDPA_IMPLS if i in chosen]
    if shape.kind() == "softmax":
        return ["torch-softmax"] if "softmax" in chosen else []
    return ["torch-additive-broadcast"] if "additive-broadcast" in chosen else []


# ---- the torch part --------------------------------------------------------------------------------

class TorchRunner:
    def __init__(self, args):
        import torch  # noqa: F401  (imported here so that the rest works without torch)
        self.torch = torch
        self.dev = torch.device(args.device)
        self.cuda = self.dev.type == "cuda"
        if self.cuda:
            if not torch.cuda.is_available():
                raise SystemExit("error: torch.cuda.is_available() is False: --device %s needs a CUDA device "
                                 "(--device cpu times torch's CPU kernels)" % args.device)
            torch.cuda.set_device(self.dev)
            self.name = torch.cuda.get_device_name(self.dev)
        elif self.dev.type == "cpu":
            self.name = "cpu (torch %s; %d threads)" % (torch.__version__, torch.get_num_threads())
        else:
            raise SystemExit("error: --device: expected cuda[:N] or cpu, got '%s'" % args.device)
        self.timing = "cuda-events" if self.cuda else "wall"
        self.args = args
        self.tdt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}

    def sync(self):
        if self.cuda:
            self.torch.cuda.synchronize()

    def time_one(self, fn):
        """Milliseconds of one call: CUDA events around it, or the wall clock on the CPU (torch's CPU ops
        return when done)."""
        if not self.cuda:
            t0 = time.perf_counter()
            fn()
            return (time.perf_counter() - t0) * 1e3
        a = self.torch.cuda.Event(enable_timing=True)
        b = self.torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        return a.elapsed_time(b)

    def time(self, fn):
        for _ in range(self.args.warmup):
            fn()
        self.sync()
        return [self.time_one(fn) for _ in range(self.args.iters)]

    def ceilings(self, dtype):
        torch = self.torch
        n = ((256 if self.cuda else 64) << 20) // 4
        src = torch.empty(n, dtype=torch.float32, device=self.dev).uniform_()
        dst = torch.empty_like(src)
        copy_ms = statistics.median(self.time(lambda: dst.copy_(src)))
        copy_gbps = 2.0 * n * 4 / (copy_ms / 1e3) / 1e9
        del src, dst
        m = 8192 if self.cuda else 1024
        a = torch.randn(m, m, dtype=self.tdt[dtype], device=self.dev)
        b = torch.randn(m, m, dtype=self.tdt[dtype], device=self.dev)
        gemm_ms = statistics.median(self.time(lambda: torch.matmul(a, b)))
        gemm_tflops = 2.0 * m ** 3 / (gemm_ms / 1e3) / 1e12
        del a, b
        self.empty_cache()
        return copy_gbps, gemm_tflops

    def empty_cache(self):
        if self.cuda:
            self.torch.cuda.empty_cache()

    def sdpa_call(self, shape, dtype, impl):
        """The forward call, or for sdpa_bwd the backward alone: autograd.grad of dQ, dK, dV through one
        forward whose graph is kept (what it saved, O and LSE for flash and efficient, is reused by every call),
        so that it compares with attn4j's backward point, which starts from a stored O and LSE."""
        torch = self.torch
        import torch.nn.functional as F
        if not hasattr(F, "scaled_dot_product_attention"):
            raise RuntimeError("No available kernel: torch %s has no scaled_dot_product_attention (2.0+)"
                               % torch.__version__)
        t = self.tdt[dtype]
        q = torch.randn(shape.batch, shape.heads, shape.seq_q, shape.head_dim, dtype=t, device=self.dev)
        k = torch.randn(shape.batch, shape.heads_kv, shape.seq_k, shape.head_dim, dtype=t, device=self.dev)
        v = torch.randn(shape.batch, shape.heads_kv, shape.seq_k, shape.head_dim_v, dtype=t, device=self.dev)
        kwargs = {"is_causal": shape.causal}
        note = ""
        if shape.heads_kv != shape.heads:
            try:
                F.scaled_dot_product_attention(q[:1, :, :1], k[:1, :, :1], v[:1, :, :1], enable_gqa=True)
                kwargs["enable_gqa"] = True
            except TypeError:
                rep = shape.heads // shape.heads_kv
                k = k.repeat_interleave(rep, dim=1)
                v = v.repeat_interleave(rep, dim=1)
                note = "torch without enable_gqa: K/V heads repeated outside the timed call"
        if shape.causal and shape.seq_q != shape.seq_k:
            note = (note + "; " if note else "") + "torch is_causal is top-left aligned, attn4j bottom-right"
        backend = self.sdpa_backend(impl)
        if not shape.backward():
            def call():
                with backend():
                    return F.scaled_dot_product_attention(q, k, v, **kwargs)
            return call, note
        ins = [x.requires_grad_() for x in (q, k, v)]
        with backend():
            o = F.scaled_dot_product_attention(q, k, v, **kwargs)
        do = torch.randn_like(o)
        note = (note + "; " if note else "") + "backward alone: autograd.grad of dQ, dK, dV through one kept forward"
        return (lambda: torch.autograd.grad(o, ins, do, retain_graph=True)), note

    def sdpa_backend(self, impl):
        torch = self.torch
        try:
            from torch.nn.attention import SDPBackend, sdpa_kernel
            which = {"torch-flash": SDPBackend.FLASH_ATTENTION, "torch-efficient": SDPBackend.EFFICIENT_ATTENTION,
                     "torch-math": SDPBackend.MATH}[impl]
            return lambda: sdpa_kernel([which])
        except ImportError:  # torch < 2.3
            flags = {"torch-flash": (True, False, False), "torch-efficient": (False, True, False),
                     "torch-math": (False, False, True)}[impl]
            return lambda: torch.backends.cuda.sdp_kernel(enable_flash=flags[0], enable_mem_efficient=flags[1],
                                                          enable_math=flags[2])

    def softmax_call(self, shape, dtype):
        """torch.softmax over rows, or for softmax_bwd its backward alone (dX from Y and dY)."""
        torch = self.torch
        x = torch.randn(shape.seq_q, shape.seq_k, dtype=self.tdt[dtype], device=self.dev) * 4
        if shape.op == "softmax":
            return (lambda: torch.softmax(x, dim=-1)), ""
        x.requires_grad_()
        y = torch.softmax(x, dim=-1)
        dy = torch.randn_like(y)
        return (lambda: torch.autograd.grad(y, x, dy, retain_graph=True)), "backward alone: autograd.grad of dX"

    def additive_call(self, shape, dtype):
        torch = self.torch
        t = self.tdt[dtype]
        b_, h, sq, sk, a, dv = shape.batch, shape.heads, shape.seq_q, shape.seq_k, shape.dim_a, shape.head_dim_v
        qp = torch.rand(b_, h, sq, a, dtype=t, device=self.dev) * 2 - 1
        kp = torch.rand(b_, h, sk, a, dtype=t, device=self.dev) * 2 - 1
        v = torch.rand(b_, h, sk, dv, dtype=t, device=self.dev) * 2 - 1
        w = (torch.rand(a, dtype=t, device=self.dev) * 2 - 1) / math.sqrt(a)
        bias = (torch.rand(a, dtype=t, device=self.dev) * 2 - 1) * 0.1
        mask = None
        if shape.causal:
            off = sk - sq
            mask = torch.ones(sq, sk, dtype=torch.bool, device=self.dev).tril(diagonal=off)

        def call():
            e = (w * torch.tanh(qp[:, :, :, None, :] + kp[:, :, None, :, :] + bias)).sum(-1)
            if mask is not None:
                e = e.masked_fill(~mask, float("-inf"))
            p = torch.softmax(e, dim=-1)
            return torch.matmul(p, v)  # batched [B*H] bmm
        if shape.op == "additive":
            return call, "materialises the [B, H, Sq, Sk, A] tensor"
        ins = [x.requires_grad_() for x in (qp, kp, v, w, bias)]
        c = call()
        dc = torch.randn_like(c)
        return ((lambda: torch.autograd.grad(c, ins, dc, retain_graph=True)),
                "backward alone: autograd.grad of dQp, dKp, dV, dw, db through one kept forward, which saved"
                " [B, H, Sq, Sk, A] tensors")

    def run(self, shapes, dtypes, chosen, progress):
        rows = []
        for dtype in dtypes:
            copy_gbps, gemm_tflops = self.ceilings(dtype)
            print("ceilings %s: copy %.1f GB/s, GEMM %.3g TFLOP/s" % (dtype, copy_gbps, gemm_tflops), file=sys.stderr)
            for shape in shapes:
                for impl in impls_for(shape, chosen):
                    progress(impl, dtype, shape)
                    rows.append(self.point(shape, dtype, impl, copy_gbps, gemm_tflops))
                    self.empty_cache()
        return rows

    def point(self, shape, dtype, impl, copy_gbps, gemm_tflops):
        torch = self.torch
        if impl == "torch-additive-broadcast" and self.cuda:
            # the broadcast tensor, and for the backward the three of that size autograd keeps
            need = float(shape.batch) * shape.heads * shape.seq_q * shape.seq_k * shape.dim_a * DTYPE_BYTES[dtype] * (
                4 if shape.backward() else 2)
            free, _ = torch.cuda.mem_get_info(self.dev)
            if need > free:
                return row(impl, self.name, shape, dtype, "skipped", reason="the broadcast needs %.1f GiB, %.1f GiB free"
                           % (need / 2 ** 30, free / 2 ** 30))
        try:
            if shape.kind() == "sdpa":
                call, note = self.sdpa_call(shape, dtype, impl)
            elif shape.kind() == "softmax":
                call, note = self.softmax_call(shape, dtype)
            else:
                call, note = self.additive_call(shape, dtype)
            self.sync()
            if self.cuda:
                torch.cuda.reset_peak_memory_stats(self.dev)
            call()
            self.sync()
            peak = torch.cuda.max_memory_allocated(self.dev) if self.cuda else None
            est = self.time_one(call) / 1e3 * (self.args.warmup + self.args.iters)
            if est > self.args.max_seconds:
                return row(impl, self.name, shape, dtype, "skipped", reason="estimated %.0f s for %d runs; over "
                           "--max-seconds %.0f" % (est, self.args.warmup + self.args.iters, self.args.max_seconds))
            ms = self.time(call)
            return row(impl, self.name, shape, dtype, "ok", ms, copy_gbps, gemm_tflops, peak, self.timing, note)
        except RuntimeError as e:  # includes torch.cuda.OutOfMemoryError and "No available kernel"
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            status = "skipped" if ("No available kernel" in msg or "out of memory" in msg.lower()) else "failed"
            return row(impl, self.name, shape, dtype, status, reason="%s: %s" % (type(e).__name__, msg))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="standard", help="sets (%s) " % ", ".join(SETS) +
                   "or explicit shapes, as in attn4j bench")
    p.add_argument("--op", default="", help="comma list of %s (default all)" % ", ".join(OPS))
    p.add_argument("--dtype", default="f16", help="comma list of f32, f16, bf16 (default f16)")
    p.add_argument("--impls", default="flash,efficient,math,softmax,additive-broadcast",
                   help="which torch implementations to time")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--max-seconds", type=float, default=120.0)
    p.add_argument("--device", default="cuda:0", help="cuda[:N] (CUDA events) or cpu (wall clock, no peak memory)")
    p.add_argument("--out", default="torch_sdpa.csv", help="CSV file to write")
    p.add_argument("--list-shapes", action="store_true", help="print the shape keys and exit (no torch needed)")
    p.add_argument("--print-header", action="store_true", help="print the CSV header and exit (no torch needed)")
    p.add_argument("--dry-run", action="store_true", help="print the planned points and exit (no torch needed)")
    a = p.parse_args(argv)
    if a.iters < 10:
        p.error("--iters: expected >= 10, got %d" % a.iters)
    if a.warmup < 0:
        p.error("--warmup: expected >= 0, got %d" % a.warmup)
    for d in a.dtype.split(","):
        if d not in DTYPE_BYTES:
            p.error("--dtype: expected f32, f16 or bf16, got '%s'" % d)
    ops = [o for o in a.op.split(",") if o]
    for o in ops:
        if o not in OPS:
            p.error("--op: expected one of %s, got '%s'" % (", ".join(OPS), o))
    try:
        shapes = [s for s in resolve(a.shapes) if not ops or s.op in ops]
    except ValueError as e:
        p.error(str(e))
    return a, shapes


def main(argv=None):
    args, shapes = parse_args(sys.argv[1:] if argv is None else argv)
    if args.print_header:
        print(",".join(COLUMNS))
        return 0
    if args.list_shapes:
        for s in shapes:
            print(s.key())
        return 0
    dtypes = args.dtype.split(",")
    chosen = args.impls.split(",")
    if args.dry_run:
        for d in dtypes:
            for s in shapes:
                for impl in impls_for(s, chosen):
                    print("%s %s %s flops=%.6g bytes=%.6g" % (impl, d, s.key(), s.flops(), s.bytes(DTYPE_BYTES[d])))
        return 0
    try:
        runner = TorchRunner(args)
    except ImportError:
        print("error: PyTorch is not installed (pip install torch); --list-shapes, --print-header and --dry-run "
              "work without it", file=sys.stderr)
        return 2
    total = sum(len(impls_for(s, chosen)) for s in shapes) * len(dtypes)
    done = [0]

    def progress(impl, dtype, shape):
        done[0] += 1
        print("\r[%d/%d] %s %s %s" % (done[0], total, impl, dtype, shape.key()), end="", file=sys.stderr)

    rows = runner.run(shapes, dtypes, chosen, progress)
    print(file=sys.stderr)
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print("wrote %d rows to %s" % (len(rows), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
