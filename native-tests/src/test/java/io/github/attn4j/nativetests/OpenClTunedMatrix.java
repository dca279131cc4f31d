package io.github.attn4j.nativetests;

import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.Tensor;
import java.util.Map;

/**
 * A matrix on the OpenCL backend opened with overrides of its tuning table ({@code attn4j.opencl.tune}), to run
 * a kernel form the planner would not choose for the matrix's small cases. Subclasses say which cases, and check
 * in {@link #checkOptions()} that the override reached the planner.
 */
abstract class OpenClTunedMatrix extends PropertyScopedMatrix {
    OpenClTunedMatrix(String tune) {
        super(Map.of("attn4j.opencl.tune", tune));
    }

    @Override
    protected final String backendName() {
        return "opencl";
    }

    /** Whether the backend's device is a CPU (the CPU forms and CPU-only paths exist there only). */
    protected boolean onCpu() {
        return "CPU".equals(backend().device().details().get("type"));
    }

    /** The variant the backend plans for {@code p}. */
    protected String variant(OpParams p) {
        return backend().supports(p).variant();
    }

    /** A small SDPA backward call (every tensor [1, 1, 2, d]). */
    static SdpaBackwardParams smallBackward(int d) {
        Tensor[] t = new Tensor[8];
        for (int i = 0; i < t.length; i++) {
            t[i] = Tensor.of(new float[2 * d], 1, 1, 2, d);
        }
        return SdpaBackwardParams.builder(t[0], t[1], t[2], t[3], t[4], Tensor.of(new float[2], 1, 1, 2), t[5], t[6],
                t[7]).build();
    }
}
