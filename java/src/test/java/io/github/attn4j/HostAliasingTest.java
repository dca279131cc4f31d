package io.github.attn4j;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * Issue 9, point 6: outputs may not alias inputs also when the alias is built through two
 * {@link HostMemory} wrappers of one NIO buffer, a slice or duplicate of it, a read-only view, or
 * a buffer over a byte array that is also wrapped; an output may not have a 0 stride on a dim of
 * size &gt; 1. Disjoint slices of one buffer stay legal, and an exact in-place view through two
 * wrappers is still in place.
 */
class HostAliasingTest {
    private static final int R = 4, N = 8, BYTES = 4 * R * N;

    private static Tensor f32(ByteBuffer b, long offsetElems) {
        return Tensor.of(HostMemory.of(b), DType.F32, new int[] {R, N}, new long[] {N, 1}, offsetElems);
    }

    private static void overlapRejected(Tensor x, Tensor y) {
        ValidationTest.bad(() -> SoftmaxParams.builder(x, y).build(), "y", "memory disjoint from x", "an overlapping view");
    }

    private static ByteBuffer[] kinds() {
        return new ByteBuffer[] {ByteBuffer.allocate(3 * BYTES), ByteBuffer.allocateDirect(3 * BYTES)};
    }

    @Test
    void twoWrappersOfOneBufferOverlap() {
        for (ByteBuffer b : kinds()) {
            Tensor x = f32(b, 0);
            overlapRejected(x, f32(b, 5));                 // two HostMemory.of(b), shifted by 5 elements
            overlapRejected(x, f32(b.duplicate(), 3));     // a duplicate
            overlapRejected(f32(b.slice(8, 2 * BYTES), 0), f32(b, 4)); // a slice: its byte 0 is b's byte 8
        }
    }

    @Test
    void readOnlyViewAndArrayWrapperOverlap() {
        byte[] raw = new byte[3 * BYTES];
        ByteBuffer heap = ByteBuffer.wrap(raw);
        overlapRejected(f32(heap.asReadOnlyBuffer(), 0), f32(heap, 7));
        // A byte[] wrapped directly and through a buffer: a BOOL mask and an F32 output over one array.
        Tensor y = f32(ByteBuffer.wrap(raw, 0, raw.length).slice(), 1);
        Tensor mask = Tensor.of(HostMemory.of(raw), DType.BOOL, new int[] {R, N}, new long[] {N, 1}, 0);
        ValidationTest.bad(() -> SoftmaxParams.builder(f32(ByteBuffer.allocate(BYTES), 0), y)
                .masks(Masks.builder().boolMask(mask).build()).build(), "y", "memory disjoint from mask",
                "an overlapping view");
        ByteBuffer direct = ByteBuffer.allocateDirect(3 * BYTES);
        overlapRejected(f32(direct.asReadOnlyBuffer(), 0), f32(direct.slice(16, 2 * BYTES), 0));
    }

    @Test
    void disjointSlicesOfOneBufferAreAccepted() {
        for (ByteBuffer b : kinds()) {
            Tensor x = f32(b.slice(0, BYTES), 0);
            Tensor y = f32(b.slice(BYTES, BYTES), 0);
            assertDoesNotThrow(() -> SoftmaxParams.builder(x, y).build());
            assertFalse(OpParams.overlaps(x, y));
            assertDoesNotThrow(() -> SoftmaxParams.builder(f32(b, 0), f32(b, R * N)).build());
        }
        // Two different buffers never alias.
        assertFalse(OpParams.overlaps(f32(ByteBuffer.allocateDirect(BYTES), 0), f32(ByteBuffer.allocateDirect(BYTES), 0)));
        assertFalse(OpParams.overlaps(f32(ByteBuffer.allocate(BYTES), 0), f32(ByteBuffer.allocate(BYTES), 0)));
    }

    @Test
    void exactViewThroughTwoWrappersIsInPlace() {
        for (ByteBuffer b : kinds()) {
            Tensor x = f32(b, 0);
            Tensor y = f32(b.slice(0, BYTES), 0);   // the same bytes, another wrapper
            SoftmaxParams p = assertDoesNotThrow(() -> SoftmaxParams.builder(x, y).build());
            assertTrue(p.inPlace());
            assertTrue(OpParams.sameView(x, y));
            assertFalse(OpParams.sameView(x, f32(b, 1)));
        }
    }

    @Test
    void outputWithZeroStrideIsRejected() {
        Tensor x = ValidationTest.f(2, 3, 4, 5);
        Tensor y = Tensor.of(HostMemory.of(new float[120]), DType.F32, new int[] {2, 3, 4, 5}, new long[] {60, 20, 0, 1}, 0);
        ValidationTest.bad(() -> SoftmaxParams.builder(x, y).build(), "y.strides[2]", "a non-zero stride",
                "[60, 20, 0, 1]");
        // SDPA's o and lse, additive's out, softmax backward's dx.
        Tensor o = Tensor.of(HostMemory.of(new float[200]), DType.F32, new int[] {2, 4, 3, 6}, new long[] {72, 18, 0, 1}, 0);
        ValidationTest.bad(() -> SdpaParams.builder(ValidationTest.f(2, 4, 3, 8), ValidationTest.f(2, 2, 5, 8),
                ValidationTest.f(2, 2, 5, 6), o).build(), "o.strides[2]", "a non-zero stride", "[72, 18, 0, 1]");
        Tensor lse = Tensor.of(HostMemory.of(new float[24]), DType.F32, new int[] {2, 4, 3}, new long[] {0, 3, 1}, 0);
        ValidationTest.bad(() -> ValidationTest.sdpa().lse(lse).build(), "lse.strides[0]", "a non-zero stride",
                "[0, 3, 1]");
        Tensor dx = Tensor.of(HostMemory.of(new float[120]), DType.F32, new int[] {2, 3, 4, 5}, new long[] {0, 20, 5, 1}, 0);
        ValidationTest.bad(() -> SoftmaxBackwardParams.builder(x, ValidationTest.f(2, 3, 4, 5), dx).build(),
                "dx.strides[0]", "a non-zero stride", "[0, 20, 5, 1]");
        // A 0 stride on a dim of size 1 writes nothing twice: accepted.
        Tensor y1 = Tensor.of(HostMemory.of(new float[60]), DType.F32, new int[] {1, 3, 4, 5}, new long[] {0, 20, 5, 1}, 0);
        assertDoesNotThrow(() -> SoftmaxParams.builder(ValidationTest.f(1, 3, 4, 5), y1).build());
    }
}
