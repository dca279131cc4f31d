package io.github.attn4j.spi;

import io.github.attn4j.Tensor;
import java.util.function.UnaryOperator;

/**
 * One kernel argument, named as in the kernel signature. Both device backends bind a list of these
 * in order ({@link KernelArgs} builds the lists), so no launch site counts arguments.
 */
public sealed interface Arg {
    /** The parameter name in the {@code .cu} and {@code .cl} signature. */
    String name();

    /** The same argument with its tensor (if any) replaced, e.g. a host tensor by its staged copy. */
    default Arg mapTensor(UnaryOperator<Tensor> f) {
        return this;
    }

    /** A params struct, passed by value. */
    record Struct(String name, byte[] bytes) implements Arg {}

    /**
     * A tensor's buffer (the kernel adds the element offset from the struct); {@code null} for an
     * absent optional tensor, which the backend binds to a small placeholder the kernel never reads.
     * A tensor over {@link Workspace} memory binds the launch's workspace.
     */
    record Buffer(String name, Tensor tensor) implements Arg {
        @Override
        public Arg mapTensor(UnaryOperator<Tensor> f) {
            return tensor == null || tensor.memory() instanceof Workspace ? this : new Buffer(name, f.apply(tensor));
        }
    }

    /** A small int array (per-batch lengths) uploaded for the launch; {@code null} when absent. */
    record Ints(String name, int[] values) implements Arg {}

    /** An {@code int} scalar. */
    record I32(String name, int value) implements Arg {}
}
