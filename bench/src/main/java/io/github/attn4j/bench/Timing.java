package io.github.attn4j.bench;

import io.github.attn4j.Backend;
import io.github.attn4j.Scope;

/**
 * How the points of one backend are timed, and where their scopes come from. Device backends are
 * timed with device events when possible: OpenCL profiling events ({@link OpenClEventTiming}, a
 * profiling queue handed to the backend's public {@code newScope(cl_command_queue)}) and CUDA events
 * ({@link CudaEventTiming}, recorded on the scope's stream). Otherwise, and always on the cpu
 * reference, {@link Timer#WALL}. The method is written into every row.
 */
public interface Timing extends AutoCloseable {
    /** "opencl-events", "cuda-events", "wall+sync". */
    String method();

    /** A scope whose work this timing can see. */
    Scope newScope();

    /** ms per timed run: {@code warmup} untimed runs, then {@code iters} timed ones, each followed by a sync. */
    double[] time(Scope scope, Runnable op, int warmup, int iters);

    @Override
    void close();

    /** The best timing for a backend; {@code note} receives why device events are not used, if so. */
    static Timing of(Backend backend, StringBuilder note) {
        String cls = backend.getClass().getName();
        try {
            if (cls.equals("io.github.attn4j.opencl.OpenClBackend")) {
                return new OpenClEventTiming(backend);
            }
            if (cls.equals("io.github.attn4j.cuda.CudaBackend")) {
                return new CudaEventTiming(backend);
            }
        } catch (RuntimeException | LinkageError | ReflectiveOperationException e) {
            note.append("device events unavailable (").append(BenchCommand.oneLine(e)).append("); ");
        }
        return wall(backend);
    }

    /** Wall clock around run + synchronize, on the backend's own scopes. */
    static Timing wall(Backend backend) {
        return new Timing() {
            @Override
            public String method() {
                return Timer.WALL.method();
            }

            @Override
            public Scope newScope() {
                return backend.newScope();
            }

            @Override
            public double[] time(Scope scope, Runnable op, int warmup, int iters) {
                return Timer.WALL.time(scope::synchronize, op, warmup, iters);
            }

            @Override
            public void close() {}
        };
    }
}
