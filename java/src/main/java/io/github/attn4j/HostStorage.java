package io.github.attn4j;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;

/**
 * Where the bytes of a {@link HostMemory} live, so that two wrappers of one storage (two
 * {@code HostMemory.of} calls on one buffer, a slice or duplicate of it, a buffer over an array
 * that is also wrapped directly) are seen as the same memory by the overlap checks.
 *
 * <p>A storage is a {@code base} and the byte position {@code start} of the wrapper's byte 0 in
 * it: the array itself for arrays (start 0) and for heap buffers ({@code array()},
 * {@code arrayOffset()}); {@link #NATIVE} and the buffer's native address for direct buffers.
 *
 * <p>Java 17 has no supported public API that returns a direct buffer's address, or the array of
 * a read-only heap buffer. In order: {@code java.lang.foreign.MemorySegment.ofBuffer(b).address()}
 * (final from Java 22) for direct buffers; then {@code sun.misc.Unsafe} (module
 * {@code jdk.unsupported}, meant for exactly this kind of use until the FFM API) reading the
 * {@code Buffer.address} or {@code ByteBuffer.hb}/{@code offset} fields, but only on Java &lt; 24,
 * where it prints no deprecation warning. When neither answers, the storage is UNKNOWN_DIRECT or
 * UNKNOWN_HEAP and the checks are conservative: an unknown storage may alias every storage of its
 * kind (all native memory, or all byte arrays), so an overlap is never missed; at worst a call
 * with a read-only heap buffer on Java 24+ is refused with a message that says why.
 */
record HostStorage(Object base, long start) {
    /** The base of direct buffers whose address is known; start is the address. */
    static final Object NATIVE = new Object() {
        @Override
        public String toString() {
            return "native memory";
        }
    };
    /** A direct buffer whose address could not be read. */
    static final Object UNKNOWN_DIRECT = new Object() {
        @Override
        public String toString() {
            return "native memory at an unknown address";
        }
    };
    /** A read-only heap buffer whose array could not be read. */
    static final Object UNKNOWN_HEAP = new Object() {
        @Override
        public String toString() {
            return "a heap byte array that cannot be identified (read-only heap buffer)";
        }
    };

    static HostStorage ofArray(Object array) {
        return new HostStorage(array, 0);
    }

    static HostStorage ofBuffer(ByteBuffer b) {
        if (b.hasArray()) {
            return new HostStorage(b.array(), b.arrayOffset());
        }
        if (b.isDirect()) {
            long a = Access.address(b);
            return a != 0 ? new HostStorage(NATIVE, a) : new HostStorage(UNKNOWN_DIRECT, 0);
        }
        byte[] hb = Access.heapArray(b);
        int off = hb == null ? -1 : Access.heapOffset(b);
        return off >= 0 ? new HostStorage(hb, off) : new HostStorage(UNKNOWN_HEAP, 0);
    }

    /** True when the storage position is known exactly. */
    boolean exact() {
        return base != UNKNOWN_DIRECT && base != UNKNOWN_HEAP;
    }

    /** True when the bytes [from, to) of this storage and [otherFrom, otherTo) of {@code o} may intersect. */
    boolean mayOverlap(long from, long to, HostStorage o, long otherFrom, long otherTo) {
        if (from >= to || otherFrom >= otherTo) {
            return false;
        }
        if (!exact() || !o.exact()) {
            return sameKind(o);
        }
        if (base != o.base) {
            return false;
        }
        return start + from < o.start + otherTo && o.start + otherFrom < start + to;
    }

    /** Both native, or both heap byte storage (the only kinds a buffer of unknown position can alias). */
    private boolean sameKind(HostStorage o) {
        return isNative() == o.isNative() && (isNative() || (isBytes() && o.isBytes()));
    }

    private boolean isNative() {
        return base == NATIVE || base == UNKNOWN_DIRECT;
    }

    private boolean isBytes() {
        return base instanceof byte[] || base == UNKNOWN_HEAP;
    }

    /** True when byte {@code from} of this storage and byte {@code otherFrom} of {@code o} are the same byte. */
    boolean sameByte(long from, HostStorage o, long otherFrom) {
        return exact() && base == o.base && start + from == o.start + otherFrom;
    }

    /** Reads buffer internals through the supported routes, once resolved. */
    private static final class Access {
        private static final MethodHandle SEGMENT_OF_BUFFER; // MemorySegment.ofBuffer(Buffer)
        private static final MethodHandle SEGMENT_ADDRESS;   // MemorySegment.address()
        private static final MethodHandle UNSAFE_GET_LONG;   // (Object, long) -> long, bound to the Unsafe
        private static final MethodHandle UNSAFE_GET_OBJECT; // (Object, long) -> Object
        private static final MethodHandle UNSAFE_GET_INT;    // (Object, long) -> int
        private static final long ADDRESS_FIELD, HB_FIELD, OFFSET_FIELD;

        static {
            MethodHandle of = null, addr = null;
            MethodHandles.Lookup l = MethodHandles.publicLookup();
            if (Runtime.version().feature() >= 22) {
                try {
                    Class<?> seg = Class.forName("java.lang.foreign.MemorySegment");
                    of = l.findStatic(seg, "ofBuffer", MethodType.methodType(seg, Buffer.class));
                    addr = l.findVirtual(seg, "address", MethodType.methodType(long.class));
                } catch (ReflectiveOperationException | RuntimeException e) {
                    of = null;
                    addr = null;
                }
            }
            SEGMENT_OF_BUFFER = of;
            SEGMENT_ADDRESS = addr;
            MethodHandle gl = null, go = null, gi = null;
            long af = -1, hf = -1, of2 = -1;
            if (Runtime.version().feature() < 24) {
                try {
                    Class<?> uc = Class.forName("sun.misc.Unsafe");
                    Field f = uc.getDeclaredField("theUnsafe");
                    f.setAccessible(true);
                    Object u = f.get(null);
                    MethodHandle fo = l.findVirtual(uc, "objectFieldOffset", MethodType.methodType(long.class, Field.class))
                            .bindTo(u);
                    af = (long) fo.invoke(Buffer.class.getDeclaredField("address"));
                    hf = (long) fo.invoke(ByteBuffer.class.getDeclaredField("hb"));
                    of2 = (long) fo.invoke(ByteBuffer.class.getDeclaredField("offset"));
                    gl = l.findVirtual(uc, "getLong", MethodType.methodType(long.class, Object.class, long.class)).bindTo(u);
                    go = l.findVirtual(uc, "getObject", MethodType.methodType(Object.class, Object.class, long.class))
                            .bindTo(u);
                    gi = l.findVirtual(uc, "getInt", MethodType.methodType(int.class, Object.class, long.class)).bindTo(u);
                } catch (Throwable e) {
                    gl = null;
                    go = null;
                    gi = null;
                }
            }
            UNSAFE_GET_LONG = gl;
            UNSAFE_GET_OBJECT = go;
            UNSAFE_GET_INT = gi;
            ADDRESS_FIELD = af;
            HB_FIELD = hf;
            OFFSET_FIELD = of2;
        }

        /** The native address of a direct buffer's byte 0, or 0 when it cannot be read. */
        static long address(ByteBuffer b) {
            try {
                if (SEGMENT_OF_BUFFER != null) {
                    return (long) SEGMENT_ADDRESS.invoke(SEGMENT_OF_BUFFER.invoke(b));
                }
                if (UNSAFE_GET_LONG != null) {
                    return (long) UNSAFE_GET_LONG.invoke((Object) b, ADDRESS_FIELD);
                }
            } catch (Throwable e) {
                return 0;
            }
            return 0;
        }

        /** The array behind a heap buffer without an accessible array (read-only), or null. */
        static byte[] heapArray(ByteBuffer b) {
            try {
                return UNSAFE_GET_OBJECT == null ? null
                        : (UNSAFE_GET_OBJECT.invoke((Object) b, HB_FIELD) instanceof byte[] a ? a : null);
            } catch (Throwable e) {
                return null;
            }
        }

        /** The position of a heap buffer's byte 0 in {@link #heapArray(ByteBuffer)}, or -1. */
        static int heapOffset(ByteBuffer b) {
            try {
                return UNSAFE_GET_INT == null ? -1 : (int) UNSAFE_GET_INT.invoke((Object) b, OFFSET_FIELD);
            } catch (Throwable e) {
                return -1;
            }
        }
    }
}
