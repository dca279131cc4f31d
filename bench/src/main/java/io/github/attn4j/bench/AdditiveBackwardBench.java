package io.github.attn4j.bench;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Forward and backward of additive attention side by side on one backend, device-resident F32
 * tensors, pre-projected inputs with a tanh bias (the {@code additive} set's op), one warm-up run
 * each (kernel builds), then the median of {@code iters} timed runs, each ended by a synchronize.
 * FLOPs: the forward's count of {@link Shape#flops()}; the backward is counted as 2.5x the forward
 * (FlashAttention's convention; it recomputes the tanh sum three times: statistics, dQp, dKp/dV).
 *
 * <pre>java -cp bench/target/attn4j.jar io.github.attn4j.bench.AdditiveBackwardBench [BACKEND] [ITERS] [S,S,..]</pre>
 */
public final class AdditiveBackwardBench {
    private AdditiveBackwardBench() {}

    /** Runs the measurement and prints a Markdown table. */
    public static void main(String[] args) {
        String backend = args.length > 0 ? args[0] : "opencl";
        int iters = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        String[] seqs = (args.length > 2 ? args[2] : "128,256,512").split(",");
        System.out.println("| shape | fwd ms | bwd ms | bwd/fwd | fwd+bwd ms | fwd GFLOP/s | bwd GFLOP/s (2.5x fwd FLOPs) |");
        System.out.println("|---|---:|---:|---:|---:|---:|---:|");
        try (Backend b = Attn4j.open(backend); Scope s = b.newScope()) {
            for (String sq : seqs) {
                int n = Integer.parseInt(sq.trim());
                Shape shape = Shape.additive("additive", 32, 1, n, n, 256, 256, false);
                row(s, shape, iters);
            }
        }
    }

    private static Tensor rand(Scope s, SplittableRandom r, double scale, int... shape) {
        float[] f = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return s.upload(Tensor.of(f, shape));
    }

    private static void row(Scope s, Shape sh, int iters) {
        SplittableRandom r = new SplittableRandom(7);
        int bt = sh.batch(), h = sh.heads(), sq = sh.seqQ(), sk = sh.seqK(), a = sh.dimA(), dv = sh.headDimV();
        Tensor q = rand(s, r, 1, bt, h, sq, a), k = rand(s, r, 1, bt, h, sk, a), v = rand(s, r, 1, bt, h, sk, dv);
        Tensor w = rand(s, r, 0.2, a), bias = rand(s, r, 0.5, a), dc = rand(s, r, 1, bt, h, sq, dv);
        Tensor c = s.allocate(DType.F32, bt, h, sq, dv);
        AdditiveParams fwd = AdditiveParams.builder(q, k, v, w, c).tanhBias(bias).build();
        AdditiveBackwardParams bwd = AdditiveBackwardParams.of(fwd, dc, s.allocate(DType.F32, bt, h, sq, a),
                s.allocate(DType.F32, bt, h, sk, a), s.allocate(DType.F32, bt, h, sk, dv), s.allocate(DType.F32, a))
                .tanhBiasGrad(s.allocate(DType.F32, a)).build();
        double f = time(s, () -> s.additive(fwd), iters), g = time(s, () -> s.additiveBackward(bwd), iters);
        double flops = sh.flops();
        System.out.printf(Locale.ROOT, "| B=%d S=%d A=%d Dv=%d | %.1f | %.1f | %.2f | %.1f | %.2f | %.2f |%n", bt, sq, a, dv,
                f, g, g / f, f + g, flops / f / 1e6, 2.5 * flops / g / 1e6);
    }

    private static double time(Scope s, Runnable op, int iters) {
        op.run();
        s.synchronize();
        double[] t = new double[iters];
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            op.run();
            s.synchronize();
            t[i] = (System.nanoTime() - t0) / 1e6;
        }
        java.util.Arrays.sort(t);
        return t[iters / 2];
    }
}
