package io.github.attn4j.npy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.Half;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Tensor;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** .npy round trips, files written by NumPy, and rejection of everything else. */
class NpyTest {
    @TempDir
    Path dir;

    // Written by numpy 2.4 (np.lib.format.write_array), base64.
    /** [[0.5, -1.25, 3], [4, 5, 6e-8]] as <f4. */
    static final String NP_F4 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAA/AACgvwAAQEAAAIBAAACgQFnZgDM=";
    /** [1.5, -2, 65504] as <f2. */
    static final String NP_F2 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPgDA/3s=";
    /** [[True, False, True]]. */
    static final String NP_B1 = "k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAE=";
    /** [1, -2, 2^31 - 1] as <i4. */
    static final String NP_I4 = "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAA/v///////38=";
    /** arange(4).reshape(2, 2) as <f4, format version 2.0. */
    static final String NP_V2 = "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPwAAAEAAAEBA";

    static byte[] b64(String s) {
        return Base64.getDecoder().decode(s);
    }

    @Test
    void readsNumpyFiles() {
        Tensor f4 = Npy.parse("f4", b64(NP_F4));
        assertEquals(DType.F32, f4.dtype());
        assertArrayEquals(new int[] {2, 3}, f4.shape());
        assertArrayEquals(new float[] {0.5f, -1.25f, 3, 4, 5, 6e-8f}, f4.toFloatArray());
        Tensor f2 = Npy.parse("f2", b64(NP_F2));
        assertEquals(DType.F16, f2.dtype());
        assertArrayEquals(new float[] {1.5f, -2, 65504}, f2.toFloatArray());
        Tensor b1 = Npy.parse("b1", b64(NP_B1));
        assertEquals(DType.BOOL, b1.dtype());
        assertArrayEquals(new float[] {1, 0, 1}, b1.toFloatArray());
        Tensor i4 = Npy.parse("i4", b64(NP_I4));
        assertEquals(DType.I32, i4.dtype());
        assertArrayEquals(new int[] {1, -2, Integer.MAX_VALUE}, (int[]) i4.host().array());
        Tensor v2 = Npy.parse("v2", b64(NP_V2));
        assertArrayEquals(new float[] {0, 1, 2, 3}, v2.toFloatArray());
    }

    @Test
    void writesWhatNumpyWrites() {
        // Same header text, padding and data as numpy for the same arrays.
        assertArrayEquals(b64(NP_F4), Npy.bytes("x", Tensor.of(new float[] {0.5f, -1.25f, 3, 4, 5, 6e-8f}, 2, 3)));
        assertArrayEquals(b64(NP_B1), Npy.bytes("x", Tensor.ofBool(new boolean[] {true, false, true}, 1, 3)));
        assertArrayEquals(b64(NP_I4), Npy.bytes("x", Tensor.of(HostMemory.of(new int[] {1, -2, Integer.MAX_VALUE}),
                DType.I32, new int[] {3}, new long[] {1}, 0)));
        short[] h = {Half.floatToF16(1.5f), Half.floatToF16(-2), Half.floatToF16(65504)};
        assertArrayEquals(b64(NP_F2), Npy.bytes("x", Tensor.ofHalf(DType.F16, h, 3)));
    }

    @Test
    void roundTripsEveryDtypeAndShape() {
        int[][] shapes = {{}, {0}, {1}, {7}, {2, 3}, {2, 3, 4, 5}};
        for (int[] shape : shapes) {
            int n = Math.toIntExact(Tensor.numel(shape));
            float[] f = new float[n];
            short[] s = new short[n];
            byte[] b = new byte[n];
            int[] i = new int[n];
            for (int k = 0; k < n; k++) {
                f[k] = k * 0.37f - 1;
                s[k] = Half.floatToF16(k - 2.5f);
                b[k] = (byte) (k % 3 == 0 ? 1 : 0);
                i[k] = k * 1000003 - 7;
            }
            Tensor[] ts = {Tensor.of(f, shape), Tensor.ofHalf(DType.F16, s, shape),
                    Tensor.of(HostMemory.of(b), DType.BOOL, shape, Tensor.contiguousStrides(shape), 0),
                    Tensor.of(HostMemory.of(i), DType.I32, shape, Tensor.contiguousStrides(shape), 0)};
            for (Tensor t : ts) {
                Path p = dir.resolve("t.npy");
                Npy.write(p, t);
                Tensor back = Npy.read(p);
                assertEquals(t.dtype(), back.dtype());
                assertArrayEquals(t.shape(), back.shape(), Arrays.toString(shape));
                assertArrayEquals(t.toFloatArray(), back.toFloatArray());
                assertEquals(0, (10 + headerLen(p)) % 64, "header padded to 64 bytes");
            }
        }
    }

    private static int headerLen(Path p) {
        try {
            byte[] a = Files.readAllBytes(p);
            return (a[8] & 0xff) | (a[9] & 0xff) << 8;
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void writesStridedViewsInCOrder() {
        // A BSHD-strided view of logical shape [1, 2, 3, 2] over a [1, 3, 2, 2] array: written as [1, 2, 3, 2] C order.
        float[] a = new float[12];
        for (int k = 0; k < 12; k++) {
            a[k] = k;
        }
        Tensor t = Tensor.of(HostMemory.of(a), DType.F32, new int[] {1, 2, 3, 2}, new long[] {12, 2, 4, 1}, 0);
        Tensor back = Npy.parse("x", Npy.bytes("x", t));
        assertArrayEquals(t.toFloatArray(), back.toFloatArray());
        assertArrayEquals(new float[] {0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11}, back.toFloatArray());
    }

    @Test
    void usesVersion2WhenTheHeaderNeedsIt() {
        int[] shape = new int[25000]; // "1, " x 25000 > 65535 header bytes
        Arrays.fill(shape, 1);
        Tensor t = Tensor.of(new float[] {42}, shape);
        byte[] b = Npy.bytes("big", t);
        assertEquals(2, b[6]);
        Tensor back = Npy.parse("big", b);
        assertEquals(25000, back.rank());
        assertEquals(42f, back.toFloatArray()[0]);
    }

    /** A v1.0 file with this header dict and data. */
    static byte[] file(String dict, int dataBytes) {
        byte[] h = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] out = new byte[10 + h.length + dataBytes];
        byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) h.length, (byte) (h.length >> 8)};
        System.arraycopy(magic, 0, out, 0, 10);
        System.arraycopy(h, 0, out, 10, h.length);
        return out;
    }

    static void rejects(String problem, byte[] bytes) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.parse("bad.npy", bytes));
        assertTrue(e.getMessage().startsWith("bad.npy: "), e.getMessage());
        assertTrue(e.getMessage().contains(problem), "'" + e.getMessage() + "' should mention '" + problem + "'");
    }

    @Test
    void rejectsBadFiles() {
        String ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        Npy.parse("ok", file(ok, 8));
        rejects("fortran_order True", file("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8));
        rejects("dtype '<f8' is not supported", file("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16));
        rejects("dtype '<i8' is not supported", file("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16));
        rejects("dtype '|u1' is not supported", file("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", 2));
        rejects("big-endian dtype '>f4'", file("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8));
        rejects("truncated data", file(ok, 7));
        rejects("truncated data", file(ok, 0));
        rejects("bytes after the data", file(ok, 9));
        rejects("bad magic string", "not a numpy file at all".getBytes(StandardCharsets.US_ASCII));
        rejects("shorter than the 10-byte preamble", new byte[] {(byte) 0x93, 'N'});
        byte[] v3 = file(ok, 8);
        v3[6] = 3;
        rejects("unsupported format version 3.0", v3);
        byte[] cut = Arrays.copyOf(file(ok, 8), 30);
        rejects("truncated: the header needs", cut);
        rejects("needs descr, fortran_order and shape", file("{'descr': '<f4', 'shape': (2,), }", 8));
        rejects("unknown key 'order'", file("{'descr': '<f4', 'order': 1}", 8));
        rejects("shape entry 'x'", file("{'descr': '<f4', 'fortran_order': False, 'shape': (x,), }", 8));
        rejects("expected a Python dict literal", file("['descr']", 8));
        byte[] bool = file("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", 2);
        bool[bool.length - 1] = 7;
        rejects("bool element 1 is 7", bool);
    }

    @Test
    void rejectsWhatItCannotWriteAndNamesMissingFiles() {
        Tensor bf = Tensor.ofHalf(DType.BF16, new short[2], 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Npy.write(dir.resolve("bf.npy"), bf));
        assertTrue(e.getMessage().contains("bf.npy: BF16 has no NumPy dtype"), e.getMessage());
        Path missing = dir.resolve("missing.npy");
        UncheckedIOException io = assertThrows(UncheckedIOException.class, () -> Npy.read(missing));
        assertTrue(io.getMessage().startsWith(missing + ": cannot read"), io.getMessage());
        rejectsOnDisk();
    }

    private void rejectsOnDisk() {
        Path p = dir.resolve("fortran.npy");
        try {
            Files.write(p, file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }", 8));
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().startsWith(p + ": fortran_order True"), e.getMessage());
    }
}
