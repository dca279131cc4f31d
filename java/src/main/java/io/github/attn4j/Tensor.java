package io.github.attn4j;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * A strided view of {@link Memory}: dtype, shape, element strides and an element offset. Tensors
 * are cheap immutable values; the memory they view is owned elsewhere (a Java array, a caller's
 * buffer, or a {@link Scope}).
 *
 * <p>Attention tensors are always described in the logical order {@code [B, H, S, D]}; other
 * layouts are just other strides ({@link Layout}, {@link #view(long, int[], long[])}).
 */
public final class Tensor {
    private final Memory memory;
    private final DType dtype;
    private final int[] shape;
    private final long[] strides;
    private final long offset;

    private Tensor(Memory memory, DType dtype, int[] shape, long[] strides, long offset) {
        this.memory = memory;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    /**
     * A view of {@code memory}. Checks that shape and strides are non-negative, that every element
     * lies inside the memory, and that a host array's element type matches the dtype.
     */
    public static Tensor of(Memory memory, DType dtype, int[] shape, long[] strides, long offset) {
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(dtype, "dtype");
        Check.arg(shape.length == strides.length, "strides", shape.length + " strides (one per dim of shape "
                + Arrays.toString(shape) + ")", strides.length);
        for (int i = 0; i < shape.length; i++) {
            Check.arg(shape[i] >= 0, "shape[" + i + "]", ">= 0", shape[i]);
            Check.arg(strides[i] >= 0, "strides[" + i + "]", ">= 0", strides[i]);
        }
        Check.arg(offset >= 0, "offset", ">= 0", offset);
        if (memory instanceof HostMemory h) {
            Check.arg(h.accepts(dtype), "dtype", "a dtype stored in " + h.describe(), dtype);
        }
        Tensor t = new Tensor(memory, dtype, shape.clone(), strides.clone(), offset);
        long span = t.spanEnd();
        long need = span > Long.MAX_VALUE / dtype.bytes() ? Long.MAX_VALUE : span * dtype.bytes();
        Check.arg(need <= memory.byteSize(), "memory", "at least " + need + " bytes for shape "
                + Arrays.toString(shape) + " strides " + Arrays.toString(strides) + " offset " + offset,
                memory.byteSize() + " bytes (" + memory.describe() + ")");
        return t;
    }

    /** Row-major contiguous strides for a shape. */
    public static long[] contiguousStrides(int... shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /**
     * Product of the dims. {@link IllegalArgumentException} for a negative dim or a product past
     * {@code Long.MAX_VALUE}.
     */
    public static long numel(int... shape) {
        Objects.requireNonNull(shape, "shape");
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            Check.arg(shape[i] >= 0, "shape[" + i + "]", ">= 0", shape[i]);
        }
        try {
            for (int d : shape) {
                n = Math.multiplyExact(n, d);
            }
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape: expected at most " + Long.MAX_VALUE + " elements, got "
                    + Arrays.toString(shape));
        }
        return n;
    }

    /**
     * The bytes of a contiguous {@code dtype} tensor of {@code shape}, checked: every dim &ge; 0 and
     * the size within a long, else {@link IllegalArgumentException} naming the shape. Allocators
     * call this before they allocate or count anything.
     */
    public static long byteSize(DType dtype, int... shape) {
        Objects.requireNonNull(dtype, "dtype");
        long n = numel(shape);
        Check.arg(n <= Long.MAX_VALUE / dtype.bytes(), "shape", "at most " + Long.MAX_VALUE + " bytes",
                Arrays.toString(shape) + " of " + dtype + " (" + n + " elements of " + dtype.bytes() + " B)");
        return n * dtype.bytes();
    }

    /** A contiguous F32 tensor over a float array. */
    public static Tensor of(float[] data, int... shape) {
        return of(HostMemory.of(data), DType.F32, shape, contiguousStrides(shape), 0);
    }

    /** A contiguous F16 or BF16 tensor over raw 16-bit values. */
    public static Tensor ofHalf(DType dtype, short[] bits, int... shape) {
        Check.arg(dtype == DType.F16 || dtype == DType.BF16, "dtype", "F16 or BF16", dtype);
        return of(HostMemory.of(bits), dtype, shape, contiguousStrides(shape), 0);
    }

    /** A contiguous BOOL tensor (true = attend for masks). */
    public static Tensor ofBool(boolean[] data, int... shape) {
        byte[] b = new byte[data.length];
        for (int i = 0; i < data.length; i++) {
            b[i] = (byte) (data[i] ? 1 : 0);
        }
        return of(HostMemory.of(b), DType.BOOL, shape, contiguousStrides(shape), 0);
    }

    /** A contiguous tensor over a buffer (direct or heap; elements little-endian). */
    public static Tensor of(ByteBuffer buffer, DType dtype, int... shape) {
        return of(HostMemory.of(buffer), dtype, shape, contiguousStrides(shape), 0);
    }

    /** A 4-D attention tensor of logical shape {@code [b, h, s, d]} over a float array in a layout. */
    public static Tensor of(float[] data, Layout layout, int b, int h, int s, int d) {
        return of(HostMemory.of(data), DType.F32, new int[] {b, h, s, d}, layout.strides(b, h, s, d), 0);
    }

    /** Another view of the same memory. */
    public Tensor view(long offset, int[] shape, long[] strides) {
        return of(memory, dtype, shape, strides, offset);
    }

    /** The host or device memory this view reads and writes. */
    public Memory memory() {
        return memory;
    }

    /** The element type. */
    public DType dtype() {
        return dtype;
    }

    /** The number of dims. */
    public int rank() {
        return shape.length;
    }

    /** The dims, outermost first (a copy). */
    public int[] shape() {
        return shape.clone();
    }

    /** The strides in elements, one per dim (a copy). */
    public long[] strides() {
        return strides.clone();
    }

    /** Dim {@code i} of the shape. */
    public int dim(int i) {
        return shape[i];
    }

    /** The stride of dim {@code i}, in elements. */
    public long stride(int i) {
        return strides[i];
    }

    /** Element offset of element 0 in the memory. */
    public long offset() {
        return offset;
    }

    /** The number of elements, the product of the dims. */
    public long numel() {
        return numel(shape);
    }

    /** One past the largest element index reachable through this view (offset included). */
    public long spanEnd() {
        return span(shape, strides, offset);
    }

    /** {@link #spanEnd()} of a view, {@code Long.MAX_VALUE} when it does not fit in a long. */
    private static long span(int[] shape, long[] strides, long offset) {
        long end = offset;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) {
                return offset;
            }
        }
        try {
            for (int i = 0; i < shape.length; i++) {
                end = Math.addExact(end, Math.multiplyExact(shape[i] - 1L, strides[i]));
            }
            return Math.addExact(end, 1);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** True when the view is row-major contiguous. */
    public boolean isContiguous() {
        return Arrays.equals(strides, contiguousStrides(shape)) || numel() <= 1;
    }

    /** Element index in the memory of a multi-index. */
    public long index(int... idx) {
        long e = offset;
        for (int i = 0; i < idx.length; i++) {
            e += idx[i] * strides[i];
        }
        return e;
    }

    /** Host read of one element as float; the tensor must be on host memory. */
    public float get(int... idx) {
        return host().getFloat(index(idx), dtype);
    }

    /** Host write of one element (rounded to the storage dtype); the tensor must be on host memory. */
    public void set(float v, int... idx) {
        host().setFloat(index(idx), dtype, v);
    }

    /** The host memory, or an {@link IllegalStateException} for device memory. */
    public HostMemory host() {
        if (memory instanceof HostMemory h) {
            return h;
        }
        throw new IllegalStateException("tensor is on " + memory.describe() + ", not host memory");
    }

    /** Copies the elements into a new row-major float array (host tensors only). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        int[] idx = new int[shape.length];
        HostMemory h = host();
        for (int n = 0; n < out.length; n++) {
            out[n] = h.getFloat(index(idx), dtype);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + " strides " + Arrays.toString(strides)
                + (offset != 0 ? " offset " + offset : "") + " on " + memory.describe() + "]";
    }
}
