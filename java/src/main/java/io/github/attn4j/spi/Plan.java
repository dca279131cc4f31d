package io.github.attn4j.spi;

import io.github.attn4j.Support;
import io.github.attn4j.Tensor;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * How a backend runs one call, decided once: the kernel steps in order, the workspace they share,
 * and the name {@code supports().variant()} reports; or the reason the call cannot run.
 * {@code supports()}, {@code workspaceBytes()} and the launch all read the same value.
 *
 * @param variant        the kernel path ("flash-f32-d64-bn64-r4x64", "fused-simt-d64-f16", ...)
 * @param reason         why the call is not supported (empty when it is)
 * @param steps          the launches, in order
 * @param workspaceBytes device workspace shared by the steps (0 for none)
 */
public record Plan(String variant, String reason, List<Step> steps, long workspaceBytes) {
    /** Copies {@code steps}. */
    public Plan {
        steps = List.copyOf(steps);
    }

    /** A supported plan: {@code steps} sharing {@code workspaceBytes} of workspace. */
    public static Plan of(String variant, long workspaceBytes, List<Step> steps) {
        return new Plan(variant, "", steps, workspaceBytes);
    }

    /**
     * The prefix of the reason of a call whose planning threw (a kernel that does not build, a bug):
     * a defect, not a documented limitation, so test harnesses report it as a failure.
     */
    public static final String PLANNING_FAILED = "cannot plan the call: ";

    /** An unsupported call, with the reason. */
    public static Plan no(String reason) {
        return new Plan("", reason, List.of(), 0);
    }

    /** True when the call can run (no reason given). */
    public boolean supported() {
        return reason.isEmpty();
    }

    /** What {@code Backend.supports()} reports for this plan. */
    public Support support() {
        return supported() ? Support.yes(variant) : Support.no(reason);
    }

    /** Launch {@code i}. */
    public Step step(int i) {
        return steps.get(i);
    }

    /** The same plan with a different variant name (a fallback that says why). */
    public Plan named(String v) {
        return new Plan(v, reason, steps, workspaceBytes);
    }

    /** The same plan with every tensor argument mapped (host tensors to their staged device copies). */
    public Plan mapTensors(UnaryOperator<Tensor> f) {
        return new Plan(variant, reason, steps.stream().map(s -> s.mapTensors(f)).toList(), workspaceBytes);
    }

    /**
     * One launch: kernel {@code entry} of {@code module} ({@code kernels/<lang>/<module>.<ext>}),
     * specialised by {@code constants} (OpenCL {@code -D} build options; CUDA bakes them into the
     * entry), on {@code grid} work-groups (blocks) of {@code block} work-items (threads), with
     * {@code smemBytes} of dynamic shared memory (CUDA), bound to {@code args} in order.
     * Module {@code "cublas"} names a library call instead of a kernel ({@code entry} says which).
     */
    public record Step(String module, String entry, Map<String, Object> constants, long[] grid, long[] block,
            int smemBytes, List<Arg> args) {
        /** Copies every array and list. */
        public Step {
            constants = Collections.unmodifiableMap(new LinkedHashMap<>(constants));
            grid = grid.clone();
            block = block.clone();
            args = List.copyOf(args);
        }

        /** A step without compile-time constants. */
        public static Step of(String module, String entry, long[] grid, long[] block, int smemBytes, List<Arg> args) {
            return new Step(module, entry, Map.of(), grid, block, smemBytes, args);
        }

        /** Work-items per dimension: grid times block (OpenCL's global size). */
        public long[] global() {
            long[] g = new long[grid.length];
            for (int i = 0; i < g.length; i++) {
                g[i] = grid[i] * block[i];
            }
            return g;
        }

        /** Work-items per group. */
        public long blockItems() {
            return Arrays.stream(block).reduce(1, (x, y) -> x * y);
        }

        /** The argument names in order (what the kernel signature must list). */
        public List<String> argNames() {
            return args.stream().map(Arg::name).toList();
        }

        Step mapTensors(UnaryOperator<Tensor> f) {
            return new Step(module, entry, constants, grid, block, smemBytes,
                    args.stream().map(a -> a.mapTensor(f)).toList());
        }

        /** The entry and launch shape, for error messages. */
        public String describe() {
            return entry + " grid " + Arrays.toString(grid) + " block " + Arrays.toString(block)
                    + (smemBytes > 0 ? " smem " + smemBytes + " B" : "");
        }
    }
}
