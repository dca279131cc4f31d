package io.github.attn4j.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.Half;
import io.github.attn4j.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The safetensors reader and writer: round trips, a hand-made file, every header check, and garbage. */
class SafeTensorsTest {
    private static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    @Test
    void readsAHandMadeFile() {
        ByteBuffer d = ByteBuffer.allocate(8 + 4 + 4).order(ByteOrder.LITTLE_ENDIAN);
        d.putFloat(1.5f).putFloat(-2f);
        d.putShort(Half.floatToF16(0.25f)).putShort(Half.floatToF16(3f));
        d.putShort(Half.floatToBf16(-1f)).putShort(Half.floatToBf16(8f));
        String h = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b.weight\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[8,12]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[12,16]}}";
        SafeTensors s = SafeTensors.parse("t.safetensors", file(h, d.array()));
        assertEquals(java.util.List.of("a", "b.weight", "c"), s.names());
        assertEquals("pt", s.metadata().get("format"));
        assertArrayEquals(new float[] {1.5f, -2f}, s.get("a").toFloatArray());
        Tensor b = s.get("b.weight");
        assertEquals(DType.F16, b.dtype());
        assertArrayEquals(new int[] {1, 2}, b.shape());
        assertArrayEquals(new float[] {0.25f, 3f}, b.toFloatArray());
        assertEquals(DType.BF16, s.get("c").dtype());
        assertArrayEquals(new float[] {-1f, 8f}, s.get("c").toFloatArray());
    }

    @Test
    void roundTripsEveryDtypeAndStridedViews() {
        SplittableRandom r = new SplittableRandom(3);
        Map<String, Tensor> m = new LinkedHashMap<>();
        float[] x = new float[24];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-4, 4);
        }
        Tensor t = Tensor.of(x, 2, 3, 4);
        m.put("plain", t);
        m.put("transposed \"quoted\"", t.view(0, new int[] {4, 6}, new long[] {1, 4}));
        short[] h = new short[6];
        short[] bf = new short[6];
        for (int i = 0; i < 6; i++) {
            h[i] = Half.floatToF16(x[i]);
            bf[i] = Half.floatToBf16(x[i]);
        }
        m.put("half", Tensor.ofHalf(DType.F16, h, 2, 3));
        m.put("bf", Tensor.ofHalf(DType.BF16, bf, 6));
        m.put("empty", Tensor.of(new float[0], 0, 5));
        byte[] bytes = SafeTensors.bytes(m);
        assertEquals(0, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong() % 8, "header padded to 8");
        SafeTensors s = SafeTensors.parse("rt", bytes);
        for (Map.Entry<String, Tensor> e : m.entrySet()) {
            Tensor got = s.get(e.getKey());
            assertEquals(e.getValue().dtype(), got.dtype(), e.getKey());
            assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
            assertArrayEquals(e.getValue().toFloatArray(), got.toFloatArray(), e.getKey());
        }
    }

    private static String error(String header, int dataBytes) {
        return assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.parse("f.safetensors", file(header, new byte[dataBytes])).get("a")).getMessage();
    }

    @Test
    void everyHeaderProblemIsNamed() {
        assertTrue(error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8)
                .contains("tensor 'a': 4 bytes for shape [2] of F32 (expected 8)"));
        assertTrue(error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8)
                .contains("data_offsets [0, 16] outside the 8-byte data section"));
        assertTrue(error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8).contains("shape[0]"));
        assertTrue(error("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8)
                .contains("tensor 'a' has dtype F64 (expected F32, F16 or BF16)"));
        assertTrue(error("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4)
                .contains("no tensor 'a' (the file has 1: b)"));
        assertTrue(error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{}}", 4)
                .contains("repeated key \"a\""));
        assertTrue(error("[1,2]", 0).contains("expected a JSON object, got an array"));
        assertTrue(error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4).contains("bad header: JSON"));
        assertTrue(error("{\"a\":3}", 0).contains("tensor 'a': expected an object"));
        byte[] f = file("{}", new byte[0]);
        f[0] = (byte) 0xff; // header length 255 > file
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SafeTensors.parse("g", f)).getMessage()
                .contains("bad header length 255"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SafeTensors.parse("g", new byte[3])).getMessage()
                .contains("shorter than the 8-byte header length"));
    }

    /**
     * Garbage: random bytes, random header lengths, and a valid file with random bytes changed,
     * inserted or cut. Every outcome is a parsed file or an IllegalArgumentException naming the
     * file; never another exception, never a huge allocation.
     */
    @Test
    void garbageNeverEscapesAsAnythingButIllegalArgument() {
        SplittableRandom r = new SplittableRandom(20261130);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("w", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        m.put("b", Tensor.ofHalf(DType.F16, new short[] {1, 2, 3}, 3));
        byte[] good = SafeTensors.bytes(m);
        int parsed = 0;
        for (int n = 0; n < 3000; n++) {
            byte[] f;
            switch (n % 4) {
                case 0 -> {
                    f = new byte[r.nextInt(64)];
                    r.nextBytes(f);
                }
                case 1 -> {
                    f = good.clone();
                    for (int k = 0; k < 1 + r.nextInt(4); k++) {
                        f[r.nextInt(f.length)] = (byte) r.nextInt(256);
                    }
                }
                case 2 -> f = java.util.Arrays.copyOf(good, r.nextInt(good.length + 8));
                default -> {
                    f = good.clone();
                    // replace one header character with a JSON-significant one
                    String specials = "{}[]\":,-0123456789eE.\\ ";
                    int hl = (int) ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong();
                    f[8 + r.nextInt(hl)] = (byte) specials.charAt(r.nextInt(specials.length()));
                }
            }
            try {
                SafeTensors s = SafeTensors.parse("fuzz", f);
                for (String name : s.names()) {
                    try {
                        s.get(name);
                    } catch (IllegalArgumentException e) {
                        assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
                    }
                }
                parsed++;
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
            }
        }
        assertTrue(parsed > 0, "some mutations leave a valid file");
    }
}
