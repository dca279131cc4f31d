package io.github.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** binary16 and bfloat16 conversions: exact values, round-to-nearest-even, specials, round trips. */
class HalfTest {
    private static void f16(int bits, float value) {
        assertEquals(value, Half.f16ToFloat((short) bits), "f16ToFloat(0x" + Integer.toHexString(bits) + ")");
        assertEquals((short) bits, Half.floatToF16(value), "floatToF16(" + value + ")");
    }

    @Test
    void f16ExactValues() {
        f16(0x3C00, 1f);
        f16(0xC000, -2f);
        f16(0x7BFF, 65504f);                 // largest finite
        f16(0x0400, 0x1p-14f);               // smallest normal
        f16(0x03FF, 1023 * 0x1p-24f);        // largest subnormal
        f16(0x0001, 0x1p-24f);               // smallest subnormal
        f16(0x0000, 0f);
        f16(0x8000, -0f);
        f16(0x7C00, Float.POSITIVE_INFINITY);
        f16(0xFC00, Float.NEGATIVE_INFINITY);
        f16(0x3555, 0x1.554p-2f);            // 0.333251953125
        assertTrue(Float.isNaN(Half.f16ToFloat((short) 0x7E00)));
        assertTrue(Float.isNaN(Half.f16ToFloat(Half.floatToF16(Float.NaN))));
    }

    @Test
    void f16RoundsToNearestEven() {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0, mantissa 0).
        assertEquals((short) 0x3C00, Half.floatToF16(1f + 0x1p-11f));
        // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): up.
        assertEquals((short) 0x3C02, Half.floatToF16(1f + 3 * 0x1p-11f));
        // Just above half: up.
        assertEquals((short) 0x3C01, Half.floatToF16(1f + 0x1p-11f + 0x1p-20f));
        // Overflow: 65520 is halfway to 2^16, rounds to infinity; just below stays 65504.
        assertEquals((short) 0x7C00, Half.floatToF16(65520f));
        assertEquals((short) 0x7BFF, Half.floatToF16(65519.99f));
        assertEquals((short) 0x7C00, Half.floatToF16(1e10f));
        // Subnormal rounding: 2^-25 is halfway between 0 and 2^-24: ties to even (0).
        assertEquals((short) 0x0000, Half.floatToF16(0x1p-25f));
        assertEquals((short) 0x0001, Half.floatToF16(0x1.8p-25f));
        assertEquals((short) 0x0002, Half.floatToF16(3 * 0x1p-25f)); // 1.5 ulp: ties to even (2)
        assertEquals((short) 0x8000, Half.floatToF16(-1e-10f));
        // Subnormal to normal carry.
        assertEquals((short) 0x0400, Half.floatToF16(0x1p-14f - 0x1p-26f));
    }

    @Test
    void f16RoundTripsEveryValue() {
        for (int b = 0; b < 0x10000; b++) {
            float f = Half.f16ToFloat((short) b);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Half.f16ToFloat(Half.floatToF16(f))));
            } else {
                assertEquals((short) b, Half.floatToF16(f), "0x" + Integer.toHexString(b));
            }
        }
    }

    @Test
    void bf16() {
        assertEquals((short) 0x3F80, Half.floatToBf16(1f));
        assertEquals(1f, Half.bf16ToFloat((short) 0x3F80));
        assertEquals(-2f, Half.bf16ToFloat((short) 0xC000));
        assertEquals((short) 0x7F80, Half.floatToBf16(Float.POSITIVE_INFINITY));
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even; 1 + 3 * 2^-8: up to 1 + 2^-6.
        assertEquals((short) 0x3F80, Half.floatToBf16(1f + 0x1p-8f));
        assertEquals((short) 0x3F82, Half.floatToBf16(1f + 3 * 0x1p-8f));
        assertEquals((short) 0x3F81, Half.floatToBf16(1f + 0x1p-8f + 0x1p-20f));
        // A NaN whose payload sits in the low 16 bits stays NaN.
        assertTrue(Float.isNaN(Half.bf16ToFloat(Half.floatToBf16(Float.intBitsToFloat(0x7F800001)))));
        // The largest float rounds to infinity (bf16 max is 0x7F7F).
        assertEquals((short) 0x7F80, Half.floatToBf16(Float.MAX_VALUE));
        for (int b = 0; b < 0x10000; b++) {
            float f = Half.bf16ToFloat((short) b);
            if (!Float.isNaN(f)) {
                assertEquals((short) b, Half.floatToBf16(f), "0x" + Integer.toHexString(b));
            }
        }
    }

    @Test
    void roundThroughStorage() {
        assertEquals(1f, Half.round(1f + 0x1p-12f, DType.F16));
        assertEquals(1f, Half.round(1f + 0x1p-9f, DType.BF16));
        assertEquals(1f + 0x1p-12f, Half.round(1f + 0x1p-12f, DType.F32));
    }
}
