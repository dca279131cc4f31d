package io.github.attn4j.bench.jmh;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.OpParams;
import io.github.attn4j.Scope;
import io.github.attn4j.bench.Shape;
import io.github.attn4j.bench.ShapeSets;
import io.github.attn4j.bench.Workload;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One attn4j op per invocation on device-resident tensors, with one synchronize per invocation, so
 * that the score is the device time of the op plus one launch and one wait.
 *
 * <pre>
 * java -jar bench/target/benchmarks.jar AttentionBenchmark -p backend=opencl -p op=sdpa -prof gc
 * java -jar bench/target/benchmarks.jar AttentionBenchmark -p shape=sdpa:b=4:h=16:s=2048:d=128:causal
 * </pre>
 *
 * <p>{@code shape} is "small", "medium" (a per-op default) or an explicit shape in the syntax of
 * {@code attn4j bench --shapes} (its op must equal {@code op}; other combinations stop the trial
 * with that message). Device buffers are allocated once per trial. When one input set would fit in
 * a last-level cache ({@link #CACHE_BYTES}), several sets are allocated and the invocations rotate
 * through them, so that the op reads from device memory as it would in a model.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Djava.awt.headless=true"})
public class AttentionBenchmark {
    /** Input sets are rotated until they span at least this many bytes (larger than any LLC we target). */
    static final long CACHE_BYTES = 256L << 20;
    static final int MAX_SETS = 16;

    @Param({"opencl", "cpu"})
    public String backend;

    @Param({"sdpa", "softmax", "additive"})
    public String op;

    @Param({"small"})
    public String shape;

    @Param({"f32"})
    public String dtype;

    private Backend dev;
    private Scope scope;
    private OpParams[] calls;
    private int next;

    /** The per-op default shapes; small enough for the float64 CPU reference. */
    static Shape resolve(String op, String shape) {
        Shape s = switch (shape) {
            case "small" -> switch (op) {
                case "sdpa" -> Shape.sdpa("jmh", 1, 4, 4, 256, 256, 64, false);
                case "softmax" -> Shape.softmax("jmh", 256, 1024);
                default -> Shape.additive("jmh", 2, 1, 64, 64, 64, 64, false);
            };
            case "medium" -> switch (op) {
                case "sdpa" -> Shape.sdpa("jmh", 4, 16, 16, 2048, 2048, 64, true);
                case "softmax" -> Shape.softmax("jmh", 4096, 4096);
                default -> Shape.additive("jmh", 32, 1, 512, 512, 256, 256, false);
            };
            default -> ShapeSets.parse(shape);
        };
        if (!s.op().equals(op)) {
            throw new IllegalArgumentException("shape: expected a " + op + " shape for op=" + op + ", got " + shape);
        }
        return s;
    }

    /** How many input sets to rotate through: enough to exceed {@link #CACHE_BYTES}, at most {@link #MAX_SETS}. */
    static int sets(long bytesPerSet) {
        if (bytesPerSet >= CACHE_BYTES) {
            return 1;
        }
        return (int) Math.min(MAX_SETS, (CACHE_BYTES + bytesPerSet - 1) / bytesPerSet);
    }

    @Setup(Level.Trial)
    public void setup() {
        Shape s = resolve(op, shape);
        dev = Attn4j.open(backend);
        scope = dev.newScope();
        int n = sets(Workload.tensorBytes(s, Workload.dtype(dtype)));
        if (backend.startsWith("cpu")) {
            n = 1; // host memory: the reference is compute-bound and the copies would only cost heap
        }
        calls = new OpParams[n];
        for (int i = 0; i < n; i++) {
            calls[i] = Workload.create(scope, s, Workload.dtype(dtype), 1000 + i).params();
            dev.supports(calls[i]).require(dev.name(), calls[i]);
        }
        scope.synchronize();
    }

    @Benchmark
    public void op() {
        OpParams p = calls[next];
        next = next + 1 == calls.length ? 0 : next + 1;
        scope.run(p);
        scope.synchronize();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (scope != null) {
            scope.close();
        }
        if (dev != null) {
            dev.close();
        }
    }
}
