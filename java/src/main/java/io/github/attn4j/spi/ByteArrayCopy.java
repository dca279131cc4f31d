package io.github.attn4j.spi;

import io.github.attn4j.HostMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Byte copies between host memories, through a temporary buffer. */
public final class ByteArrayCopy {
    private ByteArrayCopy() {}

    /** Copies {@code bytes} bytes from {@code src} at byte {@code srcByte} to {@code dst} at byte {@code dstByte}. */
    public static void hostToHost(HostMemory src, long srcByte, HostMemory dst, long dstByte, long bytes) {
        ByteBuffer tmp = ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        src.read(srcByte, tmp);
        tmp.flip();
        dst.write(dstByte, tmp);
    }

    /** Element-wise copy between two host views of one shape and element size, any strides. */
    public static void strided(io.github.attn4j.Tensor src, io.github.attn4j.Tensor dst) {
        HostMemory sm = (HostMemory) src.memory(), dm = (HostMemory) dst.memory();
        int rank = src.rank(), es = src.dtype().bytes();
        if (src.numel() == 0) {
            return;
        }
        // innermost runs: the last dim when it is unit-stride on both sides
        boolean run = rank > 0 && src.stride(rank - 1) == 1 && dst.stride(rank - 1) == 1;
        int runLen = run ? src.dim(rank - 1) : 1;
        int outer = run ? rank - 1 : rank;
        ByteBuffer tmp = ByteBuffer.allocate(runLen * es).order(ByteOrder.LITTLE_ENDIAN);
        int[] idx = new int[rank];
        while (true) {
            long so = src.offset(), d0 = dst.offset();
            for (int i = 0; i < outer; i++) {
                so += idx[i] * src.stride(i);
                d0 += idx[i] * dst.stride(i);
            }
            tmp.clear();
            sm.read(so * es, tmp);
            tmp.flip();
            dm.write(d0 * es, tmp);
            int a = outer - 1;
            while (a >= 0 && ++idx[a] == src.dim(a)) {
                idx[a] = 0;
                a--;
            }
            if (a < 0) {
                return;
            }
        }
    }
}
