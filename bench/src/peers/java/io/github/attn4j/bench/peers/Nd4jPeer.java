package io.github.attn4j.bench.peers;

import io.github.attn4j.bench.Peer;
import io.github.attn4j.bench.Result;
import io.github.attn4j.bench.Shape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.DotProductAttention;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.gradient.SoftmaxBp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J 1.0.0-M2.1 (nd4j-native, CPU), f32 only. Each op is either run as ND4J runs it or reported
 * unsupported with the reason ({@link #unsupported}); no point times a different op under another
 * op's name.
 *
 * <ul>
 *   <li>{@code sdpa}: {@code DotProductAttention}, which takes feature-first tensors {@code [B, H, D, S]}
 *       (the inputs are generated directly in that layout) and has no causal option (causal points are
 *       not run). GQA (Hkv &lt; Hq): the {@code Hq/Hkv} query heads that share a kv head are folded into
 *       the query axis, Q {@code [B, Hkv, D, (Hq/Hkv)·Sq]} against K/V {@code [B, Hkv, D, Sk]}, so K/V
 *       are stored and read once per kv head as in attn4j (the same attention problem: every query
 *       column attends to its kv head's keys independently). Paged or variable-length KV caches are
 *       not run.</li>
 *   <li>{@code softmax}: the {@code SoftMax} op along the last axis, into a preallocated output.</li>
 *   <li>{@code softmax_bwd}: {@code SoftmaxBp(X, dY) -> dX}, ND4J's softmax gradient. It takes the
 *       softmax's input X, not its output Y, and recomputes Y inside, so its point is marked
 *       {@link Result#FWD_BWD} and compared with attn4j's softmax forward + backward.</li>
 *   <li>{@code gemm}: {@code A.mmuli(B, C)} into a preallocated C (batch 1), and {@code Nd4j.matmul(A, B, C)}
 *       on rank-3 arrays for a batch (BLAS sgemm inside).</li>
 *   <li>Not run: {@code sdpa_bwd} (not wired for this peer), {@code additive} and {@code additive_bwd}
 *       (ND4J has no additive attention).</li>
 * </ul>
 */
public final class Nd4jPeer implements Peer {
    @Override
    public String name() {
        return "nd4j";
    }

    @Override
    public String impl() {
        return "nd4j";
    }

    @Override
    public String device() {
        return "nd4j-native " + Nd4j.getBackend().getClass().getSimpleName() + " on the CPU ("
                + Runtime.getRuntime().availableProcessors() + " threads)";
    }

    @Override
    public String unsupported(Shape s, String dtype) {
        if (!dtype.equals("f32")) {
            return "the CPU peers run f32 only";
        }
        switch (s.op()) {
            case "sdpa_bwd":
                return "the SDPA backward is not wired for the ND4J peer (the issue's backward peer is DJL-PyTorch"
                        + " autograd)";
            case "additive", "additive_bwd":
                return "ND4J has no additive (Bahdanau) attention op";
            case "sdpa":
                if (s.causal()) {
                    return "ND4J dotProductAttention has no causal option";
                }
                if (s.headDimV() != s.headDim()) {
                    return "Dv != D is not exercised for ND4J";
                }
                if (s.page() > 0) {
                    return "ND4J has no paged KV cache (block table) attention";
                }
                if (s.varlen()) {
                    return "per-sequence key lengths are not wired for the ND4J peer";
                }
                return null;
            default:
                return null;
        }
    }

    @Override
    public Prepared prepare(Shape s, String dtype, long seed) {
        Nd4j.getRandom().setSeed(seed);
        String why = unsupported(s, dtype);
        if (why != null) {
            throw new IllegalArgumentException(s.key() + ": " + why);
        }
        switch (s.op()) {
            case "softmax": {
                INDArray x = uniform(4, s.seqQ(), s.seqK());
                INDArray y = Nd4j.createUninitialized(DataType.FLOAT, s.seqQ(), s.seqK());
                return prepared(() -> Nd4j.exec((DynamicCustomOp) new SoftMax(x, y, -1)), "", x, y);
            }
            case "softmax_bwd": {
                INDArray x = uniform(4, s.seqQ(), s.seqK());
                INDArray dy = uniform(1, s.seqQ(), s.seqK());
                INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, s.seqQ(), s.seqK());
                return prepared(() -> Nd4j.exec((DynamicCustomOp) new SoftmaxBp(x, dy, dx, -1)), Result.FWD_BWD
                        + ": SoftmaxBp(X, dY) recomputes Y = softmax(X), then dX", x, dy, dx);
            }
            case "gemm": {
                if (s.batch() == 1) {
                    INDArray a = uniform(1, s.seqQ(), s.headDim());
                    INDArray b = uniform(1, s.headDim(), s.seqK());
                    INDArray c = Nd4j.createUninitialized(DataType.FLOAT, s.seqQ(), s.seqK());
                    return prepared(() -> a.mmuli(b, c), "A.mmuli(B, C), C preallocated", a, b, c);
                }
                INDArray a = uniform(1, s.batch(), s.seqQ(), s.headDim());
                INDArray b = uniform(1, s.batch(), s.headDim(), s.seqK());
                INDArray c = Nd4j.createUninitialized(DataType.FLOAT, s.batch(), s.seqQ(), s.seqK());
                return prepared(() -> Nd4j.matmul(a, b, c, false, false, false), "Nd4j.matmul(A, B, C) batched, C"
                        + " preallocated", a, b, c);
            }
            default: {
                // Feature-first [B, H, D, S]; GQA folds the query heads of a kv head into the query axis.
                int group = s.heads() / s.headsKv();
                INDArray q = uniform(1, s.batch(), s.headsKv(), s.headDim(), (long) group * s.seqQ());
                INDArray k = uniform(1, s.batch(), s.headsKv(), s.headDim(), s.seqK());
                INDArray v = uniform(1, s.batch(), s.headsKv(), s.headDimV(), s.seqK());
                INDArray o = Nd4j.createUninitialized(DataType.FLOAT, s.batch(), s.headsKv(), s.headDimV(),
                        (long) group * s.seqQ());
                return prepared(() -> {
                    DotProductAttention op = new DotProductAttention(q, k, v, null, true, false);
                    op.addOutputArgument(o);
                    Nd4j.exec(op);
                }, group > 1 ? "GQA: the " + group + " query heads of a kv head folded into the query axis" : "",
                        q, k, v, o);
            }
        }
    }

    /** A new f32 array of the given shape, uniform in [-amp, amp). */
    private static INDArray uniform(double amp, long... shape) {
        return Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(2 * amp);
    }

    private static Prepared prepared(Runnable call, String note, INDArray... arrays) {
        long bytes = 0;
        for (INDArray a : arrays) {
            bytes += a.length() * a.dataType().width();
        }
        long total = bytes;
        return new Prepared() {
            @Override
            public void run() {
                call.run();
            }

            @Override
            public long bytes() {
                return total;
            }

            @Override
            public String note() {
                return note;
            }

            @Override
            public void close() {
                for (INDArray a : arrays) {
                    a.close();
                }
            }
        };
    }

    /** A 2048² f32 GEMM through ND4J's BLAS (mmuli into a preallocated output): median of 10 after 3 warm-ups. */
    @Override
    public double gemmTflops() {
        int n = 2048;
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.createUninitialized(DataType.FLOAT, n, n);
        for (int i = 0; i < 3; i++) {
            a.mmuli(b, c);
        }
        double[] ms = new double[10];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            a.mmuli(b, c);
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        java.util.Arrays.sort(ms);
        double med = (ms[4] + ms[5]) / 2;
        a.close();
        b.close();
        c.close();
        return 2.0 * n * n * n / (med / 1e3) / 1e12;
    }

    @Override
    public void close() {}
}
