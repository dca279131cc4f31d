package io.github.attn4j.bench.peers;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.github.attn4j.bench.Peer;
import io.github.attn4j.bench.Result;
import io.github.attn4j.bench.Shape;

/**
 * DJL with the PyTorch engine (libtorch CPU from the {@code pytorch-native-cpu} jar, no download),
 * f32 only. Each op is either run as a DJL user writes it or reported unsupported with the reason
 * ({@link #unsupported}); no point times a different op under another op's name.
 *
 * <ul>
 *   <li>{@code sdpa}: DJL's NDArray API has no fused attention, so SDPA is composed from its ops:
 *       {@code softmax(scale·Q·Kᵀ + causalMask)·V}, materialising the scores. GQA (Hkv &lt; Hq) is done
 *       without repeating K/V: Q {@code [B, Hq, Sq, D]} is reshaped (a view) to
 *       {@code [B, Hkv, (Hq/Hkv)·Sq, D]}, the query heads of a kv head stacked along the query axis,
 *       and multiplied by {@code Kᵀ [B, Hkv, D, Sk]} (a transposed view); the causal mask is tiled over
 *       the group. This covers dense decode ({@code Sq = 1}). Paged or variable-length KV caches are
 *       not run (DJL has no block-table attention).</li>
 *   <li>{@code sdpa_bwd}: PyTorch autograd as a user trains: Q, K, V require gradients, the timed call
 *       runs the forward above under a {@link GradientCollector} and then {@code O.backward(dO)} for a
 *       given random dO (libtorch's {@code backward(O, dO)}, {@link JniUtils#backward}), leaving dQ, dK,
 *       dV in the inputs' gradients (accumulated across calls, as PyTorch does without
 *       {@code zero_grad}). The point therefore times <b>forward + backward</b>; it carries
 *       {@link Result#FWD_BWD}, and the ratio is taken against attn4j's forward plus backward points.</li>
 *   <li>{@code softmax}: {@code NDArray.softmax(-1)}. {@code softmax_bwd}: autograd likewise,
 *       {@code Y = X.softmax(-1)} then {@code Y.backward(dY)} (libtorch's fused softmax backward), so it
 *       also times forward + backward.</li>
 *   <li>{@code gemm}: {@code A.matMul(B)} ({@code [M, K]·[K, N]}, or batched {@code [B, M, K]·[B, K, N]});
 *       DJL has no preallocated-output form, so each call allocates C (and closes it).</li>
 *   <li>{@code additive}: the broadcast form {@code softmax(sum_a w·tanh(Qp[:, :, :, None] + Kp[:, :, None] + b))·V},
 *       which materialises [B, H, Sq, Sk, A] and is skipped above {@link #BROADCAST_LIMIT} bytes.
 *       {@code additive_bwd} is not run (not wired for this peer).</li>
 * </ul>
 */
public final class DjlPeer implements Peer {
    static final long BROADCAST_LIMIT = 4L << 30;

    private NDManager manager;

    private NDManager manager() {
        if (manager == null) {
            manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        }
        return manager;
    }

    @Override
    public String name() {
        return "djl";
    }

    @Override
    public String impl() {
        return "djl-pytorch";
    }

    @Override
    public String device() {
        Engine e = Engine.getEngine("PyTorch");
        return "DJL " + Engine.getDjlVersion() + " PyTorch " + e.getVersion() + " on the CPU";
    }

    @Override
    public String unsupported(Shape s, String dtype) {
        if (!dtype.equals("f32")) {
            return "the CPU peers run f32 only";
        }
        switch (s.op()) {
            case "additive_bwd":
                return "the additive backward is not wired for the DJL peer";
            case "additive": {
                double need = 4.0 * s.batch() * s.heads() * s.seqQ() * s.seqK() * s.dimA() * 2;
                if (need > BROADCAST_LIMIT) {
                    return String.format(java.util.Locale.ROOT, "the broadcast form needs %.1f GiB of temporaries "
                            + "(limit %d GiB)", need / (1L << 30), BROADCAST_LIMIT >> 30);
                }
                return null;
            }
            case "sdpa", "sdpa_bwd":
                if (s.page() > 0) {
                    return "DJL has no paged KV cache (block table) attention";
                }
                if (s.varlen()) {
                    return "per-sequence key lengths are not wired for the DJL peer";
                }
                return null;
            default:
                return null;
        }
    }

    @Override
    public Prepared prepare(Shape s, String dtype, long seed) {
        String why = unsupported(s, dtype);
        if (why != null) {
            throw new IllegalArgumentException(s.key() + ": " + why);
        }
        NDManager m = manager().newSubManager();
        Engine.getEngine("PyTorch").setRandomSeed((int) seed);
        try {
            return switch (s.op()) {
                case "softmax" -> softmax(m, s);
                case "softmax_bwd" -> softmaxBackward(m, s);
                case "sdpa", "sdpa_bwd" -> sdpa(m, s);
                case "gemm" -> gemm(m, s);
                default -> additive(m, s);
            };
        } catch (RuntimeException | Error e) {
            m.close();
            throw e;
        }
    }

    private static Prepared softmax(NDManager m, Shape s) {
        NDArray x = m.randomUniform(-4, 4, shape(s.seqQ(), s.seqK()));
        return prepared(m, () -> x.softmax(-1).close(), 2L * 4 * s.seqQ() * s.seqK(), "");
    }

    private static Prepared softmaxBackward(NDManager m, Shape s) {
        NDArray x = m.randomUniform(-4, 4, shape(s.seqQ(), s.seqK()));
        NDArray dy = m.randomUniform(-1, 1, shape(s.seqQ(), s.seqK()));
        x.setRequiresGradient(true);
        Runnable call = () -> {
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray y = x.softmax(-1);
                JniUtils.backward((PtNDArray) y, (PtNDArray) dy, false, false);
                scope.suppressNotUsedWarning();
            }
        };
        // X, dY, Y, dX (the gradient).
        return prepared(m, call, 4L * 4 * s.seqQ() * s.seqK(), Result.FWD_BWD
                + ": autograd, Y = X.softmax(-1) then Y.backward(dY) -> dX");
    }

    private static Prepared gemm(NDManager m, Shape s) {
        NDArray a = s.batch() == 1 ? m.randomUniform(-1, 1, shape(s.seqQ(), s.headDim()))
                : m.randomUniform(-1, 1, shape(s.batch(), s.seqQ(), s.headDim()));
        NDArray b = s.batch() == 1 ? m.randomUniform(-1, 1, shape(s.headDim(), s.seqK()))
                : m.randomUniform(-1, 1, shape(s.batch(), s.headDim(), s.seqK()));
        long bytes = 4L * s.batch() * ((long) s.seqQ() * s.headDim() + (long) s.headDim() * s.seqK()
                + (long) s.seqQ() * s.seqK());
        return prepared(m, () -> a.matMul(b).close(), bytes, "A.matMul(B), C allocated by each call");
    }

    /** SDPA forward, or (sdpa_bwd) the autograd step forward + O.backward(dO); GQA by folding, no repeat. */
    private static Prepared sdpa(NDManager m, Shape s) {
        int group = s.heads() / s.headsKv();
        long rows = (long) group * s.seqQ();
        NDArray q = m.randomUniform(-1, 1, shape(s.batch(), s.heads(), s.seqQ(), s.headDim()));
        NDArray k = m.randomUniform(-1, 1, shape(s.batch(), s.headsKv(), s.seqK(), s.headDim()));
        NDArray v = m.randomUniform(-1, 1, shape(s.batch(), s.headsKv(), s.seqK(), s.headDimV()));
        float scale = (float) (1 / Math.sqrt(s.headDim()));
        NDArray mask = null;
        if (s.causal()) {
            // Row r of a kv head's stacked rows is query row r % Sq of its group (bottom-right aligned).
            int off = s.seqK() - s.seqQ();
            float[] bias = new float[(int) (rows * s.seqK())];
            for (int r = 0; r < rows; r++) {
                int i = r % s.seqQ();
                for (int j = 0; j < s.seqK(); j++) {
                    bias[r * s.seqK() + j] = j > i + off ? Float.NEGATIVE_INFINITY : 0f;
                }
            }
            mask = m.create(bias, shape(rows, s.seqK()));
        }
        NDArray cm = mask;
        ai.djl.ndarray.types.Shape folded = shape(s.batch(), s.headsKv(), rows, s.headDim());
        ai.djl.ndarray.types.Shape out = shape(s.batch(), s.heads(), s.seqQ(), s.headDimV());
        java.util.function.Supplier<NDArray> forward = () -> {
            NDArray sc = q.reshape(folded).matMul(k.transpose(0, 1, 3, 2));
            sc.muli(scale); // in place: autograd allows it (the matmul's backward keeps its inputs, not its output)
            if (cm != null) {
                sc.addi(cm);
            }
            return sc.softmax(-1).matMul(v).reshape(out);
        };
        long scores = (long) s.batch() * s.headsKv() * rows * s.seqK();
        long io = q.size() + k.size() + v.size() + (long) s.batch() * s.heads() * s.seqQ() * s.headDimV();
        String note = group > 1 ? "GQA: the " + group + " query heads of a kv head stacked on the query axis (a"
                + " reshape, K/V not repeated)" : "";
        if (!s.op().equals("sdpa_bwd")) {
            Runnable call = () -> {
                try (NDScope scope = new NDScope()) {
                    forward.get().getShape();
                    scope.suppressNotUsedWarning();
                }
            };
            // Q, K, V, O and two score-sized temporaries (scaled scores, probabilities).
            return prepared(m, call, 4L * (io + 2 * scores), note);
        }
        NDArray dout = m.randomUniform(-1, 1, out);
        q.setRequiresGradient(true);
        k.setRequiresGradient(true);
        v.setRequiresGradient(true);
        Runnable call = () -> {
            try (NDScope scope = new NDScope(); GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray o = forward.get();
                JniUtils.backward((PtNDArray) o, (PtNDArray) dout, false, false);
                scope.suppressNotUsedWarning();
            }
        };
        // Q, K, V, O, dO, dQ, dK, dV; the saved scores and probabilities, and their two gradients.
        return prepared(m, call, 4L * (2 * io + s.batch() * (long) s.heads() * s.seqQ() * s.headDimV() + 4 * scores),
                Result.FWD_BWD + ": autograd, O = softmax(scale.Q.K^T + mask).V then O.backward(dO) -> dQ, dK, dV"
                        + (note.isEmpty() ? "" : "; " + note));
    }

    private static Prepared additive(NDManager m, Shape s) {
        NDArray qp = m.randomUniform(-1, 1, shape(s.batch(), s.heads(), s.seqQ(), 1, s.dimA()));
        NDArray kp = m.randomUniform(-1, 1, shape(s.batch(), s.heads(), 1, s.seqK(), s.dimA()));
        NDArray v = m.randomUniform(-1, 1, shape(s.batch(), s.heads(), s.seqK(), s.headDimV()));
        NDArray w = m.randomUniform(-1, 1, shape(s.dimA())).divi((float) Math.sqrt(s.dimA()));
        NDArray b = m.randomUniform(-0.1f, 0.1f, shape(s.dimA()));
        Runnable call = () -> {
            try (NDArray sum = qp.add(kp)) {
                sum.addi(b);
                try (NDArray t = sum.tanh()) {
                    t.muli(w);
                    try (NDArray e = t.sum(new int[] {-1}); NDArray p = e.softmax(-1); NDArray o = p.matMul(v)) {
                        o.getShape();
                    }
                }
            }
        };
        long bytes = 4L * (qp.size() + kp.size() + v.size() + 2L * s.dimA() + (long) s.batch() * s.heads() * s.seqQ()
                * s.headDimV() + (long) s.batch() * s.heads() * s.seqQ() * s.seqK() * s.dimA());
        return prepared(m, call, bytes, "");
    }

    private static Prepared prepared(NDManager m, Runnable call, long bytes, String note) {
        return new Prepared() {
            @Override
            public void run() {
                call.run();
            }

            @Override
            public long bytes() {
                return bytes;
            }

            @Override
            public String note() {
                return note;
            }

            @Override
            public void close() {
                m.close();
            }
        };
    }

    private static ai.djl.ndarray.types.Shape shape(long... dims) {
        return new ai.djl.ndarray.types.Shape(dims);
    }

    @Override
    public void close() {
        if (manager != null) {
            manager.close();
        }
    }
}
