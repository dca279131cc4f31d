package io.github.attn4j.spi;

import io.github.attn4j.HostMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Byte copies between host memories, through a temporary buffer. */
public final class ByteArrayCopy {
    private ByteArrayCopy() {}

    public static void hostToHost(HostMemory src, long srcByte, HostMemory dst, long dstByte, long bytes) {
        ByteBuffer tmp = ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        src.read(srcByte, tmp);
        tmp.flip();
        dst.write(dstByte, tmp);
    }
}
