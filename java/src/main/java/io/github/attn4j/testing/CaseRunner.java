package io.github.attn4j.testing;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Backend;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.DType;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.MergeParams;
import io.github.attn4j.OpParams;
import io.github.attn4j.OpVisitor;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Support;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import io.github.attn4j.testing.CaseResult.Status;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Runs one {@link Case} on a backend and compares it with the float64 reference.
 *
 * <ol>
 *   <li>The case's tensors are drawn ({@link CaseData}) into guarded host buffers; outputs are
 *       poisoned.
 *   <li>In a new scope every buffer is allocated whole ({@link Scope#allocate}), filled by
 *       {@link Scope#copy} and viewed at an offset, so device backends see device tensors (the
 *       zero-copy path), then the op record is built over those views.
 *   <li>{@code backend.supports(params)} false gives UNSUPPORTED with its reason; nothing else does,
 *       except a reason that says the planning itself threw ({@link io.github.attn4j.spi.Plan#PLANNING_FAILED},
 *       e.g. a kernel that does not build): that is a FAIL.
 *   <li>The op runs, the scope synchronizes, every output buffer is copied back whole; guards and
 *       gaps are checked byte for byte, then each output is compared ({@link Comparator}).
 * </ol>
 * Any exception from the backend is a FAIL carrying the exception's message.
 */
public final class CaseRunner {
    private CaseRunner() {}

    /** One reference output: its name, shape, expected values, and the naive low-precision values. */
    private record Expected(String name, int[] shape, double[] values, double[] naive, int[] rows) {}

    /** Runs case {@code c} on {@code backend} with host tensors and compares it with the reference. */
    public static CaseResult run(Backend backend, Case c) {
        return run(backend, null, c);
    }

    /**
     * Runs one case in the caller's scope (e.g. one scope per thread). The case's buffers stay
     * allocated in that scope until it closes.
     */
    public static CaseResult run(Scope scope, Case c) {
        return run(scope.backend(), scope, c);
    }

    private static CaseResult run(Backend backend, Scope given, Case c) {
        long t0 = System.nanoTime();
        String id = backend.device().id();
        try {
            return runChecked(backend, given, c, id, t0);
        } catch (RuntimeException | AssertionError e) {
            return new CaseResult(c, id, Status.FAIL, Double.NaN, Double.NaN, "threw " + e, seconds(t0));
        }
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static CaseResult runChecked(Backend backend, Scope given, Case c, String id, long t0) {
        CaseData data = CaseData.generate(c);
        OpParams host;
        try {
            host = data.params(GuardedBuffer::hostView);
        } catch (IllegalArgumentException e) {
            return new CaseResult(c, id, Status.FAIL, Double.NaN, Double.NaN, "invalid case: " + e.getMessage(),
                    seconds(t0));
        }
        Map<String, ByteBuffer> results = new LinkedHashMap<>();
        Scope owned = given == null ? backend.newScope() : null;
        try {
            Scope scope = given != null ? given : owned;
            Map<GuardedBuffer, Tensor> views = new IdentityHashMap<>();
            for (GuardedBuffer g : data.buffers()) {
                views.put(g, g.toScope(scope));
            }
            OpParams dev = data.params(views::get);
            Support s = backend.supports(dev);
            if (!s.supported()) {
                // a plan that threw (e.g. a kernel that does not build) is a defect, not a limitation
                Status st = s.reason() != null && s.reason().startsWith(io.github.attn4j.spi.Plan.PLANNING_FAILED)
                        ? Status.FAIL : Status.UNSUPPORTED;
                return new CaseResult(c, id, st, Double.NaN, Double.NaN, s.reason(), seconds(t0));
            }
            scope.run(dev);
            scope.synchronize();
            for (Map.Entry<String, GuardedBuffer> e : data.outputs().entrySet()) {
                results.put(e.getKey(), e.getValue().fromScope(scope));
            }
        } finally {
            if (owned != null) {
                owned.close();
            }
        }
        for (Map.Entry<String, GuardedBuffer> e : data.outputs().entrySet()) {
            String bad = e.getValue().untouched(results.get(e.getKey()));
            if (bad != null) {
                return new CaseResult(c, id, Status.FAIL, Double.NaN, Double.NaN, bad, seconds(t0));
            }
        }
        List<Expected> expected = expected(c, host);
        Comparator.Result worst = null;
        for (Expected x : expected) {
            GuardedBuffer g = data.outputs().get(x.name());
            ByteBuffer bytes = results.get(x.name());
            Tensor view = g.viewOf(bytes);
            float[] actual = read(view, x.rows(), x.shape());
            java.util.function.IntPredicate poisoned = k -> g.isPoison(bytes, view.index(elementIndex(view, x.rows(), k)));
            DType storage = x.name().equals("lse") ? DType.F32 : c.dtype();
            Comparator.Result r = Comparator.compare(x.name(), x.shape(), x.values(), actual,
                    storage == DType.F32 ? null : x.naive(), storage, Tolerances.nmseF32(host.op(), x.name()),
                    poisoned);
            if (!r.pass()) {
                return new CaseResult(c, id, Status.FAIL, r.nmse(), r.maxAbs(), r.message(), seconds(t0));
            }
            if (worst == null || r.ratio() > worst.ratio()) {
                worst = r;
            }
        }
        return new CaseResult(c, id, Status.PASS, worst.nmse(), worst.maxAbs(), "", seconds(t0));
    }

    /** The reference outputs (and, for F16/BF16, the naive ones) in the order of the op's outputs. */
    private static List<Expected> expected(Case c, OpParams host) {
        boolean half = c.dtype() != DType.F32;
        List<Expected> l = new ArrayList<>();
        host.accept(new OpVisitor<Void>() {
            @Override
            public Void sdpa(SdpaParams p) {
                if (c.sampledRows() > 0) {
                    int[] rows = sampleRows(c, p);
                    int dv = p.headDimV();
                    double[] o = new double[rows.length * dv];
                    double[] lse = new double[rows.length];
                    for (int n = 0; n < rows.length; n++) {
                        int r = rows[n], i = r % p.seqQ(), h = (r / p.seqQ()) % p.headsQ(), b = r / p.seqQ() / p.headsQ();
                        lse[n] = Reference.sdpaRow(p, b, h, i, o, n * dv);
                    }
                    l.add(new Expected("o", new int[] {rows.length, dv}, o, null, rows));
                    if (p.lse() != null) {
                        l.add(new Expected("lse", new int[] {rows.length}, lse, null, rows));
                    }
                    return null;
                }
                Reference.SdpaResult r = Reference.sdpa(p);
                l.add(new Expected("o", p.o().shape(), r.o(), half ? LowPrecisionNaive.sdpa(p) : null, null));
                if (p.lse() != null) {
                    l.add(new Expected("lse", p.lse().shape(), r.lse(), null, null));
                }
                return null;
            }

            @Override
            public Void softmax(SoftmaxParams p) {
                l.add(new Expected("y", p.x().shape(), Reference.softmax(p), half ? LowPrecisionNaive.softmax(p) : null,
                        null));
                return null;
            }

            @Override
            public Void softmaxBackward(SoftmaxBackwardParams p) {
                l.add(new Expected("dx", p.y().shape(), Reference.softmaxBackward(p),
                        half ? LowPrecisionNaive.softmaxBackward(p) : null, null));
                return null;
            }

            @Override
            public Void sdpaBackward(SdpaBackwardParams p) {
                Reference.SdpaGrads g = Reference.sdpaBackward(p);
                Reference.SdpaGrads n = half ? LowPrecisionNaive.sdpaBackward(p) : null;
                l.add(new Expected("dq", p.dq().shape(), g.dq(), n == null ? null : n.dq(), null));
                l.add(new Expected("dk", p.dk().shape(), g.dk(), n == null ? null : n.dk(), null));
                l.add(new Expected("dv", p.dv().shape(), g.dv(), n == null ? null : n.dv(), null));
                if (p.dbias() != null) {
                    // F32 storage, but computed from F16/BF16 inputs (O among them): the naive rule applies.
                    l.add(new Expected("dbias", p.dbias().shape(), g.dbias(), n == null ? null : n.dbias(), null));
                }
                return null;
            }

            @Override
            public Void additive(AdditiveParams p) {
                Reference.AdditiveResult r = Reference.additive(p);
                Reference.AdditiveResult n = half ? LowPrecisionNaive.additive(p) : null;
                l.add(new Expected("out", p.out().shape(), r.out(), n == null ? null : n.out(), null));
                if (p.weights() != null) {
                    l.add(new Expected("weights", p.weights().shape(), r.weights(), n == null ? null : n.weights(), null));
                }
                return null;
            }

            @Override
            public Void merge(MergeParams p) {
                Reference.MergeResult r = Reference.merge(p);
                l.add(new Expected("o", p.out().shape(), r.o(), half ? LowPrecisionNaive.merge(p) : null, null));
                if (p.outLse() != null) {
                    l.add(new Expected("lse", p.outLse().shape(), r.lse(), null, null));
                }
                return null;
            }

            @Override
            public Void kvAppend(KvAppendParams p) {
                Reference.KvAppendResult r = Reference.kvAppend(p); // a copy: exact in every dtype
                l.add(new Expected("k_cache", p.kCache().shape(), r.kCache(), half ? r.kCache() : null, null));
                l.add(new Expected("v_cache", p.vCache().shape(), r.vCache(), half ? r.vCache() : null, null));
                return null;
            }

            @Override
            public Void additiveBackward(AdditiveBackwardParams p) {
                Reference.AdditiveBackwardResult r = Reference.additiveBackward(p);
                Reference.AdditiveBackwardResult n = half ? LowPrecisionNaive.additiveBackward(p) : null;
                l.add(new Expected("dq", p.dq().shape(), r.dq(), n == null ? null : n.dq(), null));
                l.add(new Expected("dk", p.dk().shape(), r.dk(), n == null ? null : n.dk(), null));
                l.add(new Expected("dv", p.dv().shape(), r.dv(), n == null ? null : n.dv(), null));
                l.add(new Expected("dw", p.dw().shape(), r.dw(), n == null ? null : n.dw(), null));
                if (p.db() != null) {
                    l.add(new Expected("db", p.db().shape(), r.db(), n == null ? null : n.db(), null));
                }
                if (p.dwq() != null) {
                    l.add(new Expected("dwq", p.dwq().shape(), r.dwq(), n == null ? null : n.dwq(), null));
                    l.add(new Expected("dwk", p.dwk().shape(), r.dwk(), n == null ? null : n.dwk(), null));
                }
                return null;
            }

            @Override
            public Void gemm(GemmParams p) {
                l.add(new Expected("c", p.c().shape(), Reference.gemm(p), half ? LowPrecisionNaive.gemm(p) : null, null));
                return null;
            }

            @Override
            public Void rope(RopeParams p) {
                l.add(new Expected("out", p.x().shape(), Reference.rope(p), half ? LowPrecisionNaive.rope(p) : null, null));
                return null;
            }
        });
        return l;
    }

    /** The sampled rows (flat over B*Hq*Sq): first, last, and random ones from the case's seed. */
    static int[] sampleRows(Case c, SdpaParams p) {
        int total = p.batch() * p.headsQ() * p.seqQ();
        int n = Math.min(total, c.sampledRows());
        java.util.TreeSet<Integer> s = new java.util.TreeSet<>();
        s.add(0);
        s.add(total - 1);
        SplittableRandom rnd = new SplittableRandom(c.seed() ^ 0x5EED);
        while (s.size() < n) {
            s.add(rnd.nextInt(total));
        }
        return s.stream().mapToInt(Integer::intValue).limit(n).toArray();
    }

    /** Reads a result view row-major, or only the given rows (flat over all dims but the last). */
    private static float[] read(Tensor view, int[] rows, int[] shape) {
        if (rows == null) {
            return view.toFloatArray();
        }
        int inner = view.rank() == 3 ? 1 : view.dim(view.rank() - 1);
        float[] out = new float[rows.length * inner];
        for (int k = 0; k < out.length; k++) {
            out[k] = view.get(elementIndex(view, rows, k));
        }
        return out;
    }

    /**
     * The multi-index in {@code view} of element {@code k} of the compared array: row-major over the
     * whole view, or over the selected rows (4-D: rows of the last dim; 3-D LSE: single elements).
     */
    private static int[] elementIndex(Tensor view, int[] rows, int k) {
        int[] shape = view.shape();
        if (rows == null) {
            int[] idx = new int[shape.length];
            for (int d = shape.length - 1; d >= 0; d--) {
                idx[d] = k % shape[d];
                k /= shape[d];
            }
            return idx;
        }
        int sq = shape[2], h = shape[1];
        if (view.rank() == 3) {
            int r = rows[k];
            return new int[] {r / sq / h, (r / sq) % h, r % sq};
        }
        int inner = shape[3];
        int r = rows[k / inner];
        return new int[] {r / sq / h, (r / sq) % h, r % sq, k % inner};
    }
}
