package io.github.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.DeviceMemory;
import io.github.attn4j.Scope;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Support;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Issue 9, point 6: {@code allocate} with a negative dim or an element count past a long throws
 * {@link IllegalArgumentException} naming the shape before anything is allocated or counted;
 * {@code supports()} on a closed backend says "backend is closed" and never throws; device memory
 * of another backend instance with the same name is refused before any native call. Run on the
 * cpu backend and on {@link FakeDevice} (which goes through {@code AbstractDeviceScope}).
 */
class AllocationValidationTest {
    private static final int MAX = Integer.MAX_VALUE;

    private static List<Supplier<Backend>> backends() {
        return List.of(CpuBackend::new, FakeDevice::new);
    }

    private static void badShape(Scope s, DType t, int... shape) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.allocate(t, shape));
        assertTrue(e.getMessage().startsWith("shape"), e.getMessage());
        assertEquals(0, s.allocatedBytes(), "nothing may be counted after a refused allocate");
    }

    @Test
    void badShapesAreRefusedBeforeAllocation() {
        for (Supplier<Backend> make : backends()) {
            try (Backend b = make.get(); Scope s = b.newScope()) {
                badShape(s, DType.F32, -1, 4);
                badShape(s, DType.F16, 4, -3);
                badShape(s, DType.F32, MAX, MAX, MAX);   // 2^93 elements: past a long
                badShape(s, DType.F32, MAX, MAX, 4);     // 2^64 elements
                badShape(s, DType.F32, 1 << 30, 1 << 30, 4);  // 2^62 elements fit, 2^64 bytes do not
                Tensor t = s.allocate(DType.F32, 2, 3);
                assertEquals(24, s.allocatedBytes());
                assertEquals(6, t.numel());
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.numel(MAX, MAX, MAX));
        assertTrue(e.getMessage().startsWith("shape: expected"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.byteSize(DType.F32, -1));
    }

    @Test
    void cpuRefusesMoreThanOneArray() {
        try (Backend b = new CpuBackend(); Scope s = b.newScope()) {
            badShape(s, DType.F32, MAX, 2);
        }
    }

    @Test
    void supportsOnClosedBackendSaysSo() {
        SoftmaxParams p = SoftmaxParams.builder(Tensor.of(new float[6], 2, 3), Tensor.of(new float[6], 2, 3)).build();
        Backend b = new CpuBackend(); // the device backends: OpenClContextTest (native-tests)
        assertTrue(b.supports(p).supported());
        b.close();
        Support s = b.supports(p);
        assertFalse(s.supported());
        assertTrue(s.reason().endsWith("backend is closed"), s.reason());
    }

    /** Memory of another backend instance with the same name and a different context. */
    @Test
    void memoryOfAnotherContextIsRefused() {
        FakeDevice a = new FakeDevice();
        try (Scope s = a.newScope()) {
            Tensor ok = s.allocate(DType.F32, 2, 3);
            Tensor foreign = Tensor.of(new OtherContextMem(24), DType.F32, new int[] {2, 3}, new long[] {3, 1}, 0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.copy(foreign, ok));
            assertTrue(e.getMessage().startsWith("src.memory: expected"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.copy(ok, foreign));
            assertTrue(e.getMessage().startsWith("dst.memory: expected"), e.getMessage());
        } finally {
            a.close();
        }
    }

    /** "fake" memory that belongs to no FakeDevice instance (as an OpenCL buffer of another context). */
    private static final class OtherContextMem extends DeviceMemory {
        OtherContextMem(long n) {
            super("fake", n, false);
        }

        @Override
        public boolean usableBy(Backend backend) {
            return false;
        }

        @Override
        protected void free() {}
    }
}
