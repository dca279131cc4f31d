package io.github.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.UnsupportedFeatureException;
import org.junit.jupiter.api.Test;

/** {@code Backend.prepare}: support is checked for every call, and nothing runs. */
class PrepareTest {
    static SdpaParams sdpa(int d) {
        return SdpaParams.builder(Tensor.of(new float[2 * 3 * d], 1, 2, 3, d), Tensor.of(new float[2 * 4 * d], 1, 2, 4, d),
                Tensor.of(new float[2 * 4 * d], 1, 2, 4, d), Tensor.of(new float[2 * 3 * d], 1, 2, 3, d)).build();
    }

    @Test
    void anUnsupportedCallThrowsWithTheReasonAndNothingLaunches() {
        try (FakeDevice dev = new FakeDevice()) {
            dev.supported = p -> p instanceof SdpaParams s && s.headDim() == 8;
            dev.prepare(sdpa(8));
            SoftmaxParams sm = SoftmaxParams.builder(Tensor.of(new float[12], 3, 4), Tensor.of(new float[12], 3, 4)).build();
            UnsupportedFeatureException e = assertThrows(UnsupportedFeatureException.class, () -> dev.prepare(sdpa(8), sm));
            assertTrue(e.getMessage().contains("softmax") && e.getMessage().contains("the fake device declines this call"),
                    e.getMessage());
            assertEquals(0, dev.launches);
        }
    }

    @Test
    void theReferenceChecksSupportOnly() {
        try (Backend cpu = Attn4j.open("cpu")) {
            float[] o = new float[2 * 3 * 8];
            java.util.Arrays.fill(o, 7f);
            SdpaParams p = SdpaParams.builder(Tensor.of(new float[2 * 3 * 8], 1, 2, 3, 8),
                    Tensor.of(new float[2 * 4 * 8], 1, 2, 4, 8), Tensor.of(new float[2 * 4 * 8], 1, 2, 4, 8),
                    Tensor.of(o, 1, 2, 3, 8)).build();
            cpu.prepare(p);
            for (float x : o) {
                assertEquals(7f, x, "prepare must not run the op");
            }
        }
    }
}
