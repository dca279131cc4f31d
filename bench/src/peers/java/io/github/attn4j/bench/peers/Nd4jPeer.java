package io.github.attn4j.bench.peers;

import io.github.attn4j.bench.Peer;
import io.github.attn4j.bench.Shape;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.DotProductAttention;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J 1.0.0-M2.1 (nd4j-native, CPU). SDPA is {@code DotProductAttention}, which takes feature-first
 * tensors {@code [B, H, D, S]} and has no causal option, so causal points are not run; inputs are
 * generated directly in that layout. It has no GQA: for Hkv &lt; Hq, K and V are allocated with Hq heads
 * (the memory is counted). Softmax is the {@code SoftMax} op along the last axis. ND4J has no
 * additive-attention op, so additive points are not run.
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
        if (s.op().equals("softmax_bwd")) {
            return "the softmax backward is not wired for this peer";
        }
        if (s.op().equals("additive")) {
            return "ND4J has no additive (Bahdanau) attention op";
        }
        if (s.causal()) {
            return "ND4J dotProductAttention has no causal option";
        }
        if (s.op().equals("sdpa") && s.headDimV() != s.headDim()) {
            return "Dv != D is not exercised for ND4J";
        }
        return null;
    }

    @Override
    public Prepared prepare(Shape s, String dtype, long seed) {
        Nd4j.getRandom().setSeed(seed);
        if (s.op().equals("softmax")) {
            INDArray x = Nd4j.rand(DataType.FLOAT, s.seqQ(), s.seqK()).subi(0.5).muli(8);
            INDArray y = Nd4j.createUninitialized(DataType.FLOAT, s.seqQ(), s.seqK());
            return prepared(() -> Nd4j.exec((DynamicCustomOp) new SoftMax(x, y, -1)), x, y);
        }
        // Feature-first: [B, H, D, S]. K/V with Hq heads (no GQA in ND4J).
        INDArray q = Nd4j.rand(DataType.FLOAT, s.batch(), s.heads(), s.headDim(), s.seqQ()).subi(0.5).muli(2);
        INDArray k = Nd4j.rand(DataType.FLOAT, s.batch(), s.heads(), s.headDim(), s.seqK()).subi(0.5).muli(2);
        INDArray v = Nd4j.rand(DataType.FLOAT, s.batch(), s.heads(), s.headDimV(), s.seqK()).subi(0.5).muli(2);
        INDArray o = Nd4j.createUninitialized(DataType.FLOAT, s.batch(), s.heads(), s.headDimV(), s.seqQ());
        return prepared(() -> {
            DotProductAttention op = new DotProductAttention(q, k, v, null, true, false);
            op.addOutputArgument(o);
            Nd4j.exec(op);
        }, q, k, v, o);
    }

    private static Prepared prepared(Runnable call, INDArray... arrays) {
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
