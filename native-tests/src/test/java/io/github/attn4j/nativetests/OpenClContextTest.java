package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Support;
import io.github.attn4j.Tensor;
import io.github.attn4j.opencl.OpenClBackend;
import org.junit.jupiter.api.Test;

/**
 * Issue 9, point 6, on a real OpenCL device: device memory of another OpenCL backend (another
 * context) is refused with {@link IllegalArgumentException} naming the argument, before any
 * native call (it used to reach the driver and fail with CL_INVALID_CONTEXT); memory of a
 * second backend on the same context is accepted; {@code supports()} on a closed backend answers
 * "backend is closed"; {@code allocate} with a bad shape counts nothing.
 */
class OpenClContextTest {
    @Test
    void memoryOfAnotherContextIsRefused() {
        Backend a = OpenClTesting.openOrNull();
        OpenClTesting.assumeDevice(a);
        Backend b = Requirement.open("opencl:0");
        try (Scope sa = a.newScope(); Scope sb = b.newScope()) {
            assertFalse(((OpenClBackend) a).context().equals(((OpenClBackend) b).context()), "two contexts");
            Tensor inA = sa.upload(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
            Tensor inB = sb.allocate(DType.F32, 2, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sb.copy(inA, inB));
            assertTrue(e.getMessage().startsWith("src.memory: expected"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> sb.copy(inB, inA));
            assertTrue(e.getMessage().startsWith("dst.memory: expected"), e.getMessage());
            SoftmaxParams p = SoftmaxParams.builder(inA, inB).build();
            e = assertThrows(IllegalArgumentException.class, () -> sb.run(p));
            assertTrue(e.getMessage().contains(".memory: expected"), e.getMessage());
            // The same scope still works, and so does host staging between the two.
            float[] back = new float[6];
            sa.copy(inA, Tensor.of(back, 2, 3));
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, back);
        } finally {
            b.close();
            a.close();
        }
    }

    @Test
    void backendOnTheSameContextSharesMemory() {
        Backend a = OpenClTesting.openOrNull();
        OpenClTesting.assumeDevice(a);
        OpenClBackend cl = (OpenClBackend) a;
        try (OpenClBackend same = OpenClBackend.wrap(cl.context(), cl.deviceId()); Scope sa = a.newScope();
                Scope ss = same.newScope()) {
            Tensor x = sa.upload(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
            Tensor y = ss.allocate(DType.F32, 2, 3);
            ss.copy(x, y);
            float[] back = new float[6];
            ss.copy(y, Tensor.of(back, 2, 3));
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, back);
        } finally {
            a.close();
        }
    }

    @Test
    void supportsOnClosedBackendAndBadAllocations() {
        Backend a = OpenClTesting.openOrNull();
        OpenClTesting.assumeDevice(a);
        SoftmaxParams p = SoftmaxParams.builder(Tensor.of(new float[6], 2, 3), Tensor.of(new float[6], 2, 3)).build();
        try (Scope s = a.newScope()) {
            assertTrue(a.supports(p).supported());
            for (int[] shape : new int[][] {{-1, 4}, {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE}}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.allocate(DType.F32, shape));
                assertTrue(e.getMessage().startsWith("shape"), e.getMessage());
                assertEquals(0, s.allocatedBytes());
            }
        }
        a.close();
        Support s = a.supports(p);
        assertFalse(s.supported());
        assertTrue(s.reason().endsWith("backend is closed"), s.reason());
    }
}
