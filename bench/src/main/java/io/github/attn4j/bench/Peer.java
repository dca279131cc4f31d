package io.github.attn4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Another library's attention, timed side by side with attn4j on the same shapes. CPU peers (ND4J,
 * DJL PyTorch) live in {@code bench/src/peers/java} and are on the class path only in the
 * {@code -Ppeers} build; they register through {@link ServiceLoader}. GPU peers run outside the JVM
 * ({@code bench/peers/torch_sdpa.py}) and are merged from their CSV.
 */
public interface Peer extends AutoCloseable {
    /** The name {@code --peers} takes ("nd4j", "djl"). */
    String name();

    /** The implementation label in the results ("nd4j-dot-product-attention"). */
    String impl();

    /** The device it runs on, in words. */
    String device();

    /**
     * Null when the peer can run this point faithfully, else why not (for the results' reason column).
     * A peer never substitutes another op for one it lacks: every op it does not implement (a
     * backward, GEMM, a paged or variable-length KV cache) gets its reason here.
     */
    String unsupported(Shape shape, String dtype);

    /** Allocates the inputs of a point and returns the call; the peer runs synchronously. */
    Prepared prepare(Shape shape, String dtype, long seed);

    /**
     * The TFLOP/s of this library's own f32 GEMM on its device, measured now (the CPU GEMM ceiling
     * when the peer is a BLAS-backed CPU library), or NaN when it has none.
     */
    default double gemmTflops() {
        return Double.NaN;
    }

    @Override
    void close();

    /** A prepared point: its call, and the bytes its inputs and outputs take. */
    interface Prepared extends AutoCloseable {
        void run();

        long bytes();

        /**
         * What the timed call does, when the op's name alone does not say it, for the results' reason
         * column; a backward point whose call also runs the forward (an autograd step) must contain
         * {@link Result#FWD_BWD}, so that ratios compare it with attn4j's forward + backward.
         */
        default String note() {
            return "";
        }

        @Override
        void close();
    }

    /** The peers on the class path; a provider that cannot load (its library missing) is left out. */
    static List<Peer> available() {
        List<Peer> l = new ArrayList<>();
        java.util.Iterator<Peer> it = ServiceLoader.load(Peer.class, Peer.class.getClassLoader()).iterator();
        for (int tries = 0; tries < 64; tries++) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                l.add(it.next());
            } catch (java.util.ServiceConfigurationError | LinkageError e) {
                // this provider is not usable in this build; the iterator moves on to the next
            }
        }
        return l;
    }
}
