package io.github.attn4j.bench;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.DType;
import io.github.attn4j.GemmParams;
import io.github.attn4j.Half;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Masks;
import io.github.attn4j.PagedKv;
import io.github.attn4j.OpParams;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The tensors and the op call of one benchmark point, resident in a scope's memory. Inputs are
 * filled from a seeded generator in chunks of at most {@link #CHUNK} elements, so that the host
 * never holds a whole multi-GB input.
 */
public final class Workload {
    static final int CHUNK = 1 << 20;

    private final OpParams params;
    private final Shape shape;
    private final DType dtype;

    private Workload(OpParams params, Shape shape, DType dtype) {
        this.params = params;
        this.shape = shape;
        this.dtype = dtype;
    }

    public OpParams params() {
        return params;
    }

    public Shape shape() {
        return shape;
    }

    public DType dtype() {
        return dtype;
    }

    /** "f32", "f16", "bf16" to a data dtype. */
    public static DType dtype(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "f32", "float32", "fp32" -> DType.F32;
            case "f16", "float16", "fp16", "half" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new IllegalArgumentException("--dtype: expected f32, f16 or bf16, got '" + name + "'");
        };
    }

    public static String name(DType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    public static int elementBytes(String dtype) {
        return dtype(dtype).bytes();
    }

    /** Device bytes the op's own tensors take, before allocating them. */
    public static long tensorBytes(Shape s, DType t) {
        long es = t.bytes();
        return switch (s.op()) {
            case "sdpa_bwd", "additive_bwd" -> (long) s.bytes((int) es);
            case "sdpa" -> es * ((long) s.batch() * s.heads() * s.seqQ() * (s.headDim() + s.headDimV())
                    + (long) s.batch() * s.headsKv() * s.seqK() * (s.headDim() + s.headDimV()));
            case "gemm" -> (long) s.bytes((int) es);
            case "softmax" -> 2 * es * s.batch() * s.heads() * s.seqQ() * (long) s.seqK();
            case "softmax_bwd" -> 3 * es * s.batch() * s.heads() * s.seqQ() * (long) s.seqK();
            default -> es * ((long) s.batch() * s.heads() * s.seqQ() * (s.dimA() + s.headDimV())
                    + (long) s.batch() * s.heads() * s.seqK() * (s.dimA() + s.headDimV()) + 2L * s.dimA());
        };
    }

    /** Allocates the point's tensors in {@code scope}, fills the inputs and builds the call. */
    public static Workload create(Scope scope, Shape s, DType t, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        OpParams p = switch (s.op()) {
            case "sdpa_bwd", "additive_bwd" -> backward(scope, s, t, seed);
            case "sdpa" -> {
                Tensor q = filled(scope, t, rnd, 1f, s.batch(), s.heads(), s.seqQ(), s.headDim());
                Tensor o = scope.allocate(t, s.batch(), s.heads(), s.seqQ(), s.headDimV());
                SdpaParams.Builder b;
                if (s.page() > 0) {
                    yield paged(scope, s, t, rnd, q, o);
                } else {
                    Tensor k = filled(scope, t, rnd, 1f, s.batch(), s.headsKv(), s.seqK(), s.headDim());
                    Tensor v = filled(scope, t, rnd, 1f, s.batch(), s.headsKv(), s.seqK(), s.headDimV());
                    b = SdpaParams.builder(q, k, v, o);
                    if (s.varlen()) {
                        b.masks(Masks.builder().kvLengths(s.kvLengths()).build());
                    }
                }
                if (s.causal()) {
                    b.causal();
                }
                yield b.build();
            }
            case "softmax" -> {
                Tensor x = filled(scope, t, rnd, 4f, s.batch(), s.heads(), s.seqQ(), s.seqK());
                Tensor y = scope.allocate(t, s.batch(), s.heads(), s.seqQ(), s.seqK());
                SoftmaxParams.Builder b = SoftmaxParams.builder(x, y);
                if (s.causal()) {
                    b.causal();
                }
                yield b.build();
            }
            case "softmax_bwd" -> {
                Tensor y = filled(scope, t, rnd, 1f, s.batch(), s.heads(), s.seqQ(), s.seqK());
                Tensor dy = filled(scope, t, rnd, 1f, s.batch(), s.heads(), s.seqQ(), s.seqK());
                Tensor dx = scope.allocate(t, s.batch(), s.heads(), s.seqQ(), s.seqK());
                yield SoftmaxBackwardParams.builder(y, dy, dx).build();
            }
            case "gemm" -> {
                Tensor a = filled(scope, t, rnd, 1f, s.batch(), s.seqQ(), s.headDim());
                Tensor b = filled(scope, t, rnd, 1f, s.batch(), s.headDim(), s.seqK());
                Tensor c = scope.allocate(t, s.batch(), s.seqQ(), s.seqK());
                yield GemmParams.builder(a, b, c).build();
            }
            default -> {
                Tensor qp = filled(scope, t, rnd, 1f, s.batch(), s.heads(), s.seqQ(), s.dimA());
                Tensor kp = filled(scope, t, rnd, 1f, s.batch(), s.heads(), s.seqK(), s.dimA());
                Tensor v = filled(scope, t, rnd, 1f, s.batch(), s.heads(), s.seqK(), s.headDimV());
                Tensor w = filled(scope, t, rnd, (float) (1 / Math.sqrt(s.dimA())), s.dimA());
                Tensor bias = filled(scope, t, rnd, 0.1f, s.dimA());
                Tensor out = scope.allocate(t, s.batch(), s.heads(), s.seqQ(), s.headDimV());
                AdditiveParams.Builder b = AdditiveParams.builder(qp, kp, v, w, out).tanhBias(bias);
                if (s.causal()) {
                    b.masks(Masks.causal());
                }
                yield b.build();
            }
        };
        return new Workload(p, s, t);
    }

    /**
     * A training point: the forward's tensors and call (same seed), run once here so that O and the
     * LSE are real, then the backward from a random dO into fresh gradient tensors.
     */
    private static OpParams backward(Scope scope, Shape s, DType t, long seed) {
        Shape fs = s.withOp(Shape.base(s.op()), s.set());
        OpParams fwd = create(scope, fs, t, seed).params();
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
        if (fwd instanceof SdpaParams f) {
            Tensor lse = scope.allocate(DType.F32, s.batch(), s.heads(), s.seqQ());
            SdpaParams withLse = new SdpaParams(f.q(), f.k(), f.v(), f.o(), lse, f.masks(), f.scale(), f.softcap());
            scope.run(withLse);
            Tensor dout = filled(scope, t, rnd, 1f, f.o().shape());
            SdpaBackwardParams.Builder b = SdpaBackwardParams.builder(f.q(), f.k(), f.v(), f.o(), dout, lse,
                    scope.allocate(t, f.q().shape()), scope.allocate(t, f.k().shape()), scope.allocate(t, f.v().shape()))
                    .masks(f.masks()).scale(f.scale()).softcap(f.softcap());
            return b.build();
        }
        AdditiveParams f = (AdditiveParams) fwd;
        Tensor dout = filled(scope, t, rnd, 1f, f.out().shape());
        return AdditiveBackwardParams.of(f, dout, scope.allocate(t, f.q().shape()), scope.allocate(t, f.k().shape()),
                scope.allocate(t, f.v().shape()), scope.allocate(t, f.w().shape()))
                .tanhBiasGrad(scope.allocate(t, f.b().shape())).build();
    }

    /**
     * A paged decode point: each sequence's pages allocated in turn (page indices ascending within a
     * sequence, as a fresh cache hands them out), the block table uploaded to the scope.
     */
    private static OpParams paged(Scope scope, Shape s, DType t, SplittableRandom rnd, Tensor q, Tensor o) {
        int ps = s.page(), maxPages = (s.seqK() + ps - 1) / ps;
        int[] lens = s.kvLengths();
        int[] table = new int[s.batch() * maxPages];
        int next = 0;
        for (int b = 0; b < s.batch(); b++) {
            for (int e = 0; e < maxPages; e++) {
                table[b * maxPages + e] = e * ps < lens[b] ? next++ : 0;
            }
        }
        int pages = Math.max(1, next);
        Tensor kc = filled(scope, t, rnd, 1f, pages, ps, s.headsKv(), s.headDim());
        Tensor vc = filled(scope, t, rnd, 1f, pages, ps, s.headsKv(), s.headDimV());
        Tensor bt = scope.upload(Tensor.of(HostMemory.of(table), DType.I32, new int[] {s.batch(), maxPages},
                Tensor.contiguousStrides(s.batch(), maxPages), 0));
        SdpaParams.Builder b = SdpaParams.builder(q, new PagedKv(kc, vc, bt, lens), o);
        if (s.causal()) {
            b.causal();
        }
        return b.build();
    }

    /** A new tensor in {@code scope} with elements uniform in [-amp, amp). */
    static Tensor filled(Scope scope, DType t, SplittableRandom rnd, float amp, int... shape) {
        Tensor dst = scope.allocate(t, shape);
        long n = dst.numel();
        int chunk = (int) Math.min(CHUNK, n);
        Object buf = t == DType.F32 ? new float[chunk] : new short[chunk];
        for (long off = 0; off < n; off += chunk) {
            int m = (int) Math.min(chunk, n - off);
            for (int i = 0; i < m; i++) {
                float x = (float) ((rnd.nextDouble() * 2 - 1) * amp);
                switch (t) {
                    case F32 -> ((float[]) buf)[i] = x;
                    case F16 -> ((short[]) buf)[i] = Half.floatToF16(x);
                    default -> ((short[]) buf)[i] = Half.floatToBf16(x);
                }
            }
            HostMemory hm = t == DType.F32 ? HostMemory.of((float[]) buf) : HostMemory.of((short[]) buf);
            Tensor src = Tensor.of(hm, t, new int[] {m}, new long[] {1}, 0);
            scope.copy(src, dst.view(dst.offset() + off, new int[] {m}, new long[] {1}));
        }
        return dst;
    }
}
