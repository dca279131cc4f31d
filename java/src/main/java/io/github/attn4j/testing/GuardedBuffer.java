package io.github.attn4j.testing;

import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Locale;

/**
 * One tensor of a test case with guard regions: a 1-D backing buffer of
 * {@code GUARD + span + GUARD} elements and a view at element offset {@link #GUARD}. Every byte
 * outside the view's elements (the guards and, for padded layouts, the gaps between rows) holds
 * the sentinel {@code 0xA5}; output elements start poisoned with a NaN pattern. After a run,
 * {@link #untouched(ByteBuffer)} checks byte for byte that nothing outside the view changed.
 *
 * <p>On a device backend the whole backing buffer is allocated in the scope and filled from the
 * host ({@link #toScope(Scope)}), the op sees a view with a nonzero offset, and the whole buffer
 * is copied back ({@link #fromScope(Scope)}), so guards are checked on device memory too.
 */
public final class GuardedBuffer {
    /** Guard elements before and after the view. */
    public static final int GUARD = 32;
    /** The sentinel byte of guards and gaps. */
    public static final byte SENTINEL = (byte) 0xA5;

    private final String name;
    private final DType dtype;
    private final int[] shape;
    private final long[] strides;
    private final int length;          // elements in the backing buffer
    private final ByteBuffer host;     // the backing buffer, little-endian, heap
    private byte[] initial;            // the bytes before the run
    private Tensor device;             // the backing buffer in the scope (1-D)

    private GuardedBuffer(String name, DType dtype, int[] shape, long[] strides) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.strides = strides.clone();
        long span = spanOf(shape, strides);
        this.length = Math.toIntExact(2L * GUARD + span);
        this.host = ByteBuffer.allocate(Math.multiplyExact(length, dtype.bytes())).order(ByteOrder.LITTLE_ENDIAN);
        Arrays.fill(host.array(), SENTINEL);
    }

    private static long spanOf(int[] shape, long[] strides) {
        long end = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) {
                return 0;
            }
            end += (shape[i] - 1L) * strides[i];
        }
        return end + 1;
    }

    /** A buffer for a tensor of this shape and element strides, all sentinel bytes. */
    public static GuardedBuffer of(String name, DType dtype, int[] shape, long[] strides) {
        return new GuardedBuffer(name, dtype, shape, strides);
    }

    /** A contiguous buffer. */
    public static GuardedBuffer contiguous(String name, DType dtype, int... shape) {
        return new GuardedBuffer(name, dtype, shape, Tensor.contiguousStrides(shape));
    }

    /** The tensor's name in messages ("q", "out", ...). */
    public String name() {
        return name;
    }

    /** The element type. */
    public DType dtype() {
        return dtype;
    }

    /** The tensor's shape (a copy). */
    public int[] shape() {
        return shape.clone();
    }

    /** The host view (reads and writes go to the backing buffer). */
    public Tensor hostView() {
        return Tensor.of(HostMemory.of(host), dtype, shape, strides, GUARD);
    }

    /** Fills every element of the view with the dtype's poison NaN (outputs, before the run). */
    public GuardedBuffer poison() {
        forEachElement(e -> writePoison(host, e));
        return this;
    }

    private void writePoison(ByteBuffer b, long e) {
        int i = Math.toIntExact(e);
        switch (dtype) {
            case F32 -> b.putInt(i * 4, POISON_F32);
            case F16 -> b.putShort(i * 2, POISON_F16);
            case BF16 -> b.putShort(i * 2, POISON_BF16);
            case BOOL -> b.put(i, (byte) 0x5A);
            case I32 -> b.putInt(i * 4, 0x5A5A5A5A);
        }
    }

    /** The poison bit patterns: quiet NaNs that no arithmetic produces by chance. */
    static final int POISON_F32 = 0x7FC5A5A5;
    static final short POISON_F16 = (short) 0x7E5A;
    static final short POISON_BF16 = (short) 0x7FC5;

    /** True when element {@code e} of {@code b} (a copy of the backing bytes) is the poison pattern. */
    boolean isPoison(ByteBuffer b, long e) {
        int i = Math.toIntExact(e);
        return switch (dtype) {
            case F32 -> b.getInt(i * 4) == POISON_F32;
            case F16 -> b.getShort(i * 2) == POISON_F16;
            case BF16 -> b.getShort(i * 2) == POISON_BF16;
            default -> false;
        };
    }

    /** Records the current bytes as the state before the run. Call after filling. */
    public GuardedBuffer seal() {
        initial = host.array().clone();
        return this;
    }

    /** Allocates the whole backing buffer in the scope, copies the host bytes in, returns the view there. */
    public Tensor toScope(Scope scope) {
        device = scope.allocate(dtype, length);
        scope.copy(Tensor.of(HostMemory.of(host), dtype, new int[] {length}, new long[] {1}, 0), device);
        return device.view(GUARD, shape, strides);
    }

    /** Copies the whole backing buffer back from the scope into a new host buffer and returns it. */
    public ByteBuffer fromScope(Scope scope) {
        ByteBuffer out = ByteBuffer.allocate(host.capacity()).order(ByteOrder.LITTLE_ENDIAN);
        scope.copy(device, Tensor.of(HostMemory.of(out), dtype, new int[] {length}, new long[] {1}, 0));
        return out;
    }

    /** A host view over another copy of the backing bytes (a result fetched with {@link #fromScope}). */
    public Tensor viewOf(ByteBuffer bytes) {
        return Tensor.of(HostMemory.of(bytes), dtype, shape, strides, GUARD);
    }

    /**
     * Checks that every byte outside the view's elements equals its value before the run. Returns
     * null when so, else a message naming the first changed byte and whether it is a guard or a gap.
     */
    public String untouched(ByteBuffer after) {
        BitSet covered = new BitSet(length);
        forEachElement(e -> covered.set(Math.toIntExact(e)));
        byte[] a = after.array();
        int es = dtype.bytes();
        int changed = 0;
        int first = -1;
        for (int e = 0; e < length; e++) {
            if (covered.get(e)) {
                continue;
            }
            for (int k = 0; k < es; k++) {
                int pos = e * es + k;
                if (a[pos] != initial[pos]) {
                    if (first < 0) {
                        first = pos;
                    }
                    changed++;
                }
            }
        }
        if (first < 0) {
            return null;
        }
        int e = first / es;
        String where = e < GUARD ? "guard before the view, " + (GUARD - e) + " element(s) before it"
                : e >= length - GUARD ? "guard after the view, element " + (e - (length - GUARD)) + " after its span"
                : "gap between elements of the strided view, element offset " + (e - GUARD);
        return String.format(Locale.ROOT, "%s: %d byte(s) outside the view changed; first at byte %d (%s): 0x%02x -> 0x%02x",
                name, changed, first, where, initial[first] & 0xff, a[first] & 0xff);
    }

    /** Calls {@code f} with the backing element index of every element of the view, in row-major order. */
    void forEachElement(java.util.function.LongConsumer f) {
        int n = shape.length;
        for (int s : shape) {
            if (s == 0) {
                return;
            }
        }
        int[] idx = new int[n];
        while (true) {
            long e = GUARD;
            for (int d = 0; d < n; d++) {
                e += idx[d] * strides[d];
            }
            f.accept(e);
            int d = n - 1;
            while (d >= 0 && ++idx[d] == shape[d]) {
                idx[d] = 0;
                d--;
            }
            if (d < 0) {
                return;
            }
        }
    }
}
