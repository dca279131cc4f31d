package io.github.attn4j.bench.peers;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.attn4j.bench.Peer;
import io.github.attn4j.bench.Shape;

/**
 * DJL with the PyTorch engine (libtorch CPU from the {@code pytorch-native-cpu} jar, no download).
 * DJL's NDArray API has no fused attention, so SDPA is composed from its ops as a user would write
 * it: {@code softmax(scale·Q·Kᵀ + causalMask)·V}, materialising the [B, H, Sq, Sk] scores (GQA: K/V
 * heads repeated outside the timed call). Softmax is {@code NDArray.softmax(-1)}; additive attention
 * is the broadcast form {@code softmax(sum_a w·tanh(Qp[:, :, :, None] + Kp[:, :, None] + b))·V},
 * which materialises [B, H, Sq, Sk, A] and is skipped above {@link #BROADCAST_LIMIT} bytes.
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
        if (s.op().equals("softmax_bwd")) {
            return "the softmax backward is not wired for this peer";
        }
        if (s.op().equals("additive")) {
            double need = 4.0 * s.batch() * s.heads() * s.seqQ() * s.seqK() * s.dimA() * 2;
            if (need > BROADCAST_LIMIT) {
                return String.format(java.util.Locale.ROOT, "the broadcast form needs %.1f GiB of temporaries "
                        + "(limit %d GiB)", need / (1L << 30), BROADCAST_LIMIT >> 30);
            }
        }
        return null;
    }

    @Override
    public Prepared prepare(Shape s, String dtype, long seed) {
        NDManager m = manager().newSubManager();
        ai.djl.engine.Engine.getEngine("PyTorch").setRandomSeed((int) seed);
        Runnable call;
        long bytes;
        switch (s.op()) {
            case "softmax" -> {
                NDArray x = m.randomUniform(-4, 4, new ai.djl.ndarray.types.Shape(s.seqQ(), s.seqK()));
                call = () -> x.softmax(-1).close();
                bytes = 2L * 4 * s.seqQ() * s.seqK();
            }
            case "sdpa" -> {
                int rep = s.heads() / s.headsKv();
                NDArray q = m.randomUniform(-1, 1, shape(s.batch(), s.heads(), s.seqQ(), s.headDim()));
                NDArray k = m.randomUniform(-1, 1, shape(s.batch(), s.headsKv(), s.seqK(), s.headDim()));
                NDArray v = m.randomUniform(-1, 1, shape(s.batch(), s.headsKv(), s.seqK(), s.headDimV()));
                if (rep > 1) {
                    k = k.repeat(1, rep);
                    v = v.repeat(1, rep);
                }
                NDArray kt = k.transpose(0, 1, 3, 2).duplicate();
                NDArray vv = v;
                float scale = (float) (1 / Math.sqrt(s.headDim()));
                NDArray mask = null;
                if (s.causal()) {
                    int off = s.seqK() - s.seqQ();
                    float[] bias = new float[s.seqQ() * s.seqK()];
                    for (int i = 0; i < s.seqQ(); i++) {
                        for (int j = 0; j < s.seqK(); j++) {
                            bias[i * s.seqK() + j] = j > i + off ? Float.NEGATIVE_INFINITY : 0f;
                        }
                    }
                    mask = m.create(bias, shape(s.seqQ(), s.seqK()));
                }
                NDArray cm = mask;
                call = () -> {
                    try (NDArray sc = q.matMul(kt)) {
                        sc.muli(scale);
                        if (cm != null) {
                            sc.addi(cm);
                        }
                        try (NDArray p = sc.softmax(-1); NDArray o = p.matMul(vv)) {
                            o.getShape();
                        }
                    }
                };
                bytes = 4L * (q.size() + kt.size() + vv.size() + (long) s.batch() * s.heads() * s.seqQ() * s.headDimV()
                        + 2L * s.batch() * s.heads() * s.seqQ() * s.seqK());
            }
            default -> {
                NDArray qp = m.randomUniform(-1, 1, shape(s.batch(), s.heads(), s.seqQ(), 1, s.dimA()));
                NDArray kp = m.randomUniform(-1, 1, shape(s.batch(), s.heads(), 1, s.seqK(), s.dimA()));
                NDArray v = m.randomUniform(-1, 1, shape(s.batch(), s.heads(), s.seqK(), s.headDimV()));
                NDArray w = m.randomUniform(-1, 1, shape(s.dimA())).divi((float) Math.sqrt(s.dimA()));
                NDArray b = m.randomUniform(-0.1f, 0.1f, shape(s.dimA()));
                call = () -> {
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
                bytes = 4L * (qp.size() + kp.size() + v.size() + 2L * s.dimA() + (long) s.batch() * s.heads() * s.seqQ()
                        * s.headDimV() + (long) s.batch() * s.heads() * s.seqQ() * s.seqK() * s.dimA());
            }
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
