package io.github.attn4j;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Host memory: a Java array or an NIO buffer. Multi-byte elements in byte buffers are
 * little-endian (the buffer's own order is ignored), which is also what .npy files and every
 * GPU use.
 */
public final class HostMemory extends Memory {
    private final Object array;      // float[], short[], byte[], int[] or null
    private final ByteBuffer buffer; // when array == null: little-endian duplicate, position 0
    private final HostStorage storage; // where byte 0 lives: two wrappers of one storage may alias

    private HostMemory(Object array, ByteBuffer buffer) {
        this.array = array;
        this.buffer = buffer;
        this.storage = array != null ? HostStorage.ofArray(array) : HostStorage.ofBuffer(buffer);
    }

    /** Wraps a float array (F32 tensors). */
    public static HostMemory of(float[] a) {
        return new HostMemory(Objects.requireNonNull(a, "array"), null);
    }

    /** Wraps a short array holding F16 or BF16 bits. */
    public static HostMemory of(short[] a) {
        return new HostMemory(Objects.requireNonNull(a, "array"), null);
    }

    /** Wraps a byte array (BOOL tensors). */
    public static HostMemory of(byte[] a) {
        return new HostMemory(Objects.requireNonNull(a, "array"), null);
    }

    /** Wraps an int array (I32 tensors). */
    public static HostMemory of(int[] a) {
        return new HostMemory(Objects.requireNonNull(a, "array"), null);
    }

    /** Wraps the bytes from position 0 to the capacity of a buffer (direct or heap), little-endian. */
    public static HostMemory of(ByteBuffer b) {
        Objects.requireNonNull(b, "buffer");
        ByteBuffer d = b.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
        return new HostMemory(null, d);
    }

    /**
     * True when bytes [from, to) of this memory and bytes [otherFrom, otherTo) of {@code other} may
     * be the same bytes: also for two wrappers of one array or buffer, slices and duplicates of one
     * buffer, and a heap buffer over a wrapped byte array (see {@link HostStorage}). Conservative
     * when a buffer's position cannot be read: never a false "disjoint".
     */
    public boolean mayOverlap(long from, long to, HostMemory other, long otherFrom, long otherTo) {
        return storage.mayOverlap(from, to, other.storage, otherFrom, otherTo);
    }

    /** True when byte {@code from} here is known to be byte {@code otherFrom} of {@code other}. */
    public boolean sameByte(long from, HostMemory other, long otherFrom) {
        return storage.sameByte(from, other.storage, otherFrom);
    }

    /** The wrapped array, or null for a buffer. */
    public Object array() {
        return array;
    }

    /** The element size the wrapped array implies (0 for a buffer, which takes any dtype). */
    public int arrayElementBytes() {
        if (array instanceof float[] || array instanceof int[]) {
            return 4;
        }
        if (array instanceof short[]) {
            return 2;
        }
        return array instanceof byte[] ? 1 : 0;
    }

    /** Checks that a tensor of this dtype may view this memory. */
    public boolean accepts(DType t) {
        if (array == null) {
            return true;
        }
        return switch (t) {
            case F32 -> array instanceof float[];
            case F16, BF16 -> array instanceof short[];
            case BOOL -> array instanceof byte[];
            case I32 -> array instanceof int[];
        };
    }

    @Override
    public long byteSize() {
        if (array instanceof float[] a) {
            return 4L * a.length;
        }
        if (array instanceof short[] a) {
            return 2L * a.length;
        }
        if (array instanceof byte[] a) {
            return a.length;
        }
        if (array instanceof int[] a) {
            return 4L * a.length;
        }
        return buffer.capacity();
    }

    @Override
    public boolean isHost() {
        return true;
    }

    @Override
    public String describe() {
        if (array != null) {
            return "host " + array.getClass().getComponentType().getSimpleName() + "[" + byteSize() / arrayElementBytes() + "]";
        }
        return "host " + (buffer.isDirect() ? "direct " : "") + "buffer of " + buffer.capacity() + " B";
    }

    /** Reads element {@code index} (in elements of {@code t}) as a float. */
    public float getFloat(long index, DType t) {
        int i = Math.toIntExact(index);
        if (array != null) {
            return switch (t) {
                case F32 -> ((float[]) array)[i];
                case F16 -> Half.f16ToFloat(((short[]) array)[i]);
                case BF16 -> Half.bf16ToFloat(((short[]) array)[i]);
                case BOOL -> ((byte[]) array)[i] != 0 ? 1f : 0f;
                case I32 -> ((int[]) array)[i];
            };
        }
        return switch (t) {
            case F32 -> buffer.getFloat(Math.multiplyExact(i, 4));
            case F16 -> Half.f16ToFloat(buffer.getShort(Math.multiplyExact(i, 2)));
            case BF16 -> Half.bf16ToFloat(buffer.getShort(Math.multiplyExact(i, 2)));
            case BOOL -> buffer.get(i) != 0 ? 1f : 0f;
            case I32 -> buffer.getInt(Math.multiplyExact(i, 4));
        };
    }

    /** Writes element {@code index} (in elements of {@code t}), rounding to the storage type. */
    public void setFloat(long index, DType t, float v) {
        int i = Math.toIntExact(index);
        if (array != null) {
            switch (t) {
                case F32 -> ((float[]) array)[i] = v;
                case F16 -> ((short[]) array)[i] = Half.floatToF16(v);
                case BF16 -> ((short[]) array)[i] = Half.floatToBf16(v);
                case BOOL -> ((byte[]) array)[i] = (byte) (v != 0 ? 1 : 0);
                case I32 -> ((int[]) array)[i] = (int) v;
            }
            return;
        }
        switch (t) {
            case F32 -> buffer.putFloat(Math.multiplyExact(i, 4), v);
            case F16 -> buffer.putShort(Math.multiplyExact(i, 2), Half.floatToF16(v));
            case BF16 -> buffer.putShort(Math.multiplyExact(i, 2), Half.floatToBf16(v));
            case BOOL -> buffer.put(i, (byte) (v != 0 ? 1 : 0));
            case I32 -> buffer.putInt(Math.multiplyExact(i, 4), (int) v);
        }
    }

    /** Copies {@code dst.remaining()} bytes starting at {@code byteOffset} into {@code dst}. */
    public void read(long byteOffset, ByteBuffer dst) {
        int off = Math.toIntExact(byteOffset);
        int n = dst.remaining();
        ByteBuffer d = dst.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (array == null) {
            d.put(buffer.duplicate().position(off).limit(off + n));
        } else if (array instanceof byte[] a) {
            d.put(a, off, n);
        } else if (array instanceof float[] a) {
            d.asFloatBuffer().put(a, off / 4, n / 4);
        } else if (array instanceof short[] a) {
            d.asShortBuffer().put(a, off / 2, n / 2);
        } else {
            d.asIntBuffer().put((int[]) array, off / 4, n / 4);
        }
        dst.position(dst.position() + n);
    }

    /** Copies {@code src.remaining()} bytes from {@code src} to this memory at {@code byteOffset}. */
    public void write(long byteOffset, ByteBuffer src) {
        int off = Math.toIntExact(byteOffset);
        int n = src.remaining();
        ByteBuffer s = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (array == null) {
            buffer.duplicate().position(off).put(s);
        } else if (array instanceof byte[] a) {
            s.get(a, off, n);
        } else if (array instanceof float[] a) {
            s.asFloatBuffer().get(a, off / 4, n / 4);
        } else if (array instanceof short[] a) {
            s.asShortBuffer().get(a, off / 2, n / 2);
        } else {
            s.asIntBuffer().get((int[]) array, off / 4, n / 4);
        }
        src.position(src.position() + n);
    }
}
