package io.github.attn4j.spi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Packs a C struct of i64, i32 and f32 fields, little-endian, with C's natural alignment (each
 * field aligned to its size, the struct to its largest field). It also records the field names so
 * that tests can compare the packing order with {@code kernels/attn_params.h}.
 */
public final class StructWriter {
    private final ByteBuffer buf = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
    private final List<String> names = new ArrayList<>();
    private int maxAlign = 1;

    private void align(int a) {
        maxAlign = Math.max(maxAlign, a);
        while (buf.position() % a != 0) {
            buf.put((byte) 0);
        }
    }

    /** Appends an 8-byte aligned {@code int64_t} field. */
    public StructWriter i64(String name, long v) {
        align(8);
        buf.putLong(v);
        names.add(name);
        return this;
    }

    /** Appends a 4-byte aligned {@code int32_t} field. */
    public StructWriter i32(String name, int v) {
        align(4);
        buf.putInt(v);
        names.add(name);
        return this;
    }

    /** Appends a 4-byte aligned {@code float} field. */
    public StructWriter f32(String name, float v) {
        align(4);
        buf.putFloat(v);
        names.add(name);
        return this;
    }

    /** Starts a nested struct (aligned to 8, as every struct here holds i64 fields). */
    public StructWriter begin(String name) {
        align(8);
        names.add(name + "{");
        return this;
    }

    /** Ends a nested struct, padding it to a multiple of 8. */
    public StructWriter end() {
        align(8);
        names.add("}");
        return this;
    }

    /** Field names in packing order; nested structs appear as {@code name{ ... }}. */
    public List<String> names() {
        return List.copyOf(names);
    }

    /** The packed bytes, padded to the struct's alignment. */
    public byte[] bytes() {
        align(maxAlign);
        byte[] out = new byte[buf.position()];
        buf.duplicate().flip().get(out);
        return out;
    }
}
