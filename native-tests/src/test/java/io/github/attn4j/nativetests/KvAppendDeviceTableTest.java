package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * KV append with a device-resident block table, which the host does not copy back to check: a
 * decode loop of three steps on OpenCL matches the reference step for step, and a table entry out
 * of range makes the kernel skip that row (nothing written anywhere), as KvAppendParams documents.
 */
class KvAppendDeviceTableTest {
    static Backend cl;
    static final Backend CPU = new CpuBackend();

    @BeforeAll
    static void open() {
        cl = OpenClTesting.openOrNull();
    }

    @AfterAll
    static void close() {
        if (cl != null) {
            cl.close();
        }
        CPU.close();
    }

    static Tensor filled(int seed, int... shape) {
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = seed + i * 0.25f;
        }
        return Tensor.of(a, shape);
    }

    static Tensor table(int rows, int cols, int... v) {
        return Tensor.of(HostMemory.of(v), DType.I32, new int[] {rows, cols}, new long[] {cols, 1}, 0);
    }

    @Test
    void decodeStepsAndABadEntryOnTheDevice() {
        OpenClTesting.assumeDevice(cl);
        int b = 2, h = 2, d = 8, ps = 3, pages = 6;
        // sequence 0: pages 4, 1; sequence 1: pages 2, then 99 (out of range: its rows there are skipped)
        Tensor bt = table(b, 2, 4, 1, 2, 99);
        Tensor kc = filled(1000, pages, ps, h, d), vc = filled(2000, pages, ps, h, d);
        Tensor refK = filled(1000, pages, ps, h, d), refV = filled(2000, pages, ps, h, d);
        Tensor outK = filled(0, pages, ps, h, d), outV = filled(0, pages, ps, h, d);
        try (Scope s = cl.newScope()) {
            Tensor dbt = s.upload(bt), dk = s.upload(kc), dv = s.upload(vc);
            int[] len = {1, 2};
            for (int step = 0; step < 3; step++) {
                Tensor kn = filled(10 * step + 1, b, h, 1, d), vn = filled(10 * step + 5, b, h, 1, d);
                // position 3 of sequence 1 (step 1) lands in its second page: entry 99, skipped
                s.kvAppend(KvAppendParams.builder(s.upload(kn), s.upload(vn), dk, dv, dbt, len.clone()).build());
                int[] refLen = len.clone();
                if (len[1] >= ps) { // the reference is given the same table, host-checked: skip that row by hand
                    CPU.kvAppend(KvAppendParams.builder(kn, vn, refK, refV, bt, refLen).appendLengths(1, 0).build());
                } else {
                    CPU.kvAppend(KvAppendParams.builder(kn, vn, refK, refV, bt, refLen).build());
                }
                len[0]++;
                len[1]++;
            }
            s.copy(dk, outK);
            s.copy(dv, outV);
        }
        assertArrayEquals(refK.toFloatArray(), outK.toFloatArray());
        assertArrayEquals(refV.toFloatArray(), outV.toFloatArray());
        assertEquals(11f, outK.get(4, 2, 0, 0), "sequence 0, step 1 (position 2) in page 4, slot 2");
    }
}
