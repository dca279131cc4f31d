package io.github.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.OpParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.testing.Case.Flag;
import io.github.attn4j.testing.Case.MaskShape;
import io.github.attn4j.testing.Case.Op;
import io.github.attn4j.testing.Case.Special;
import io.github.attn4j.testing.Case.Storage;
import io.github.attn4j.testing.CaseResult.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The harness must be able to fail: a correct "device" passes, and each kind of wrong kernel
 * (an unwritten element, a write past the end, a write into a padding gap, a small numeric error,
 * an ignored mask, a NaN that leaks or vanishes, a wrong-signed infinity) is caught.
 */
class CaseRunnerTest {
    private static Case sdpa() {
        return Case.builder(Op.SDPA).bh(2, 2).seq(7, 17).dims(16, 16).flag(Flag.LSE).build();
    }

    private static CaseResult runFaulty(Case c, java.util.function.Consumer<OpParams> fault) {
        try (FakeDevice d = new FakeDevice()) {
            d.fault = fault;
            return CaseRunner.run(d, c);
        }
    }

    @Test
    void quickMatrixPassesOnACorrectDeviceBackend() {
        try (FakeDevice d = new FakeDevice()) {
            for (Case c : CaseMatrix.quick()) {
                CaseResult r = CaseRunner.run(d, c);
                assertEquals(Status.PASS, r.status(), r::toString);
            }
        }
    }

    @Test
    void cpuBackendPassesAndReportsItsId() {
        try (Backend b = new CpuBackend()) {
            CaseResult r = CaseRunner.run(b, sdpa());
            assertEquals(Status.PASS, r.status(), r::toString);
            assertEquals("cpu:0", r.backend());
            assertTrue(r.nmse() < 1e-12, r::toString);
        }
    }

    @Test
    void unwrittenElementFailsAsPoison() {
        CaseResult r = runFaulty(sdpa(), p -> {
            Tensor o = FakeDevice.host(((SdpaParams) p).o());
            o.host().setFloat(o.index(1, 1, 6, 15), DType.F32, Float.intBitsToFloat(GuardedBuffer.POISON_F32));
        });
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("o[1, 1, 6, 15]") && r.message().contains("never written"), r.message());
    }

    @Test
    void writePastTheEndFailsTheGuard() {
        CaseResult r = runFaulty(sdpa(), p -> {
            Tensor o = FakeDevice.host(((SdpaParams) p).o());
            o.host().setFloat(o.spanEnd(), DType.F32, 1f);
        });
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("guard after the view"), r.message());
    }

    @Test
    void writeBeforeTheStartFailsTheGuard() {
        CaseResult r = runFaulty(sdpa(), p -> {
            Tensor lse = FakeDevice.host(((SdpaParams) p).lse());
            lse.host().setFloat(lse.offset() - 1, DType.F32, 0f);
        });
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().startsWith("lse: ") && r.message().contains("guard before the view"), r.message());
    }

    @Test
    void writeIntoAPaddingGapFails() {
        Case c = sdpa().toBuilder().storage(Storage.PADDED).build();
        CaseResult r = runFaulty(c, p -> {
            Tensor o = FakeDevice.host(((SdpaParams) p).o());
            o.host().setFloat(o.index(0, 0, 0, 15) + 1, DType.F32, 0f); // the element after a row's end
        });
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("gap between elements"), r.message());
    }

    @Test
    void smallNumericErrorFailsF32Threshold() {
        CaseResult r = runFaulty(sdpa(), p -> {
            Tensor o = FakeDevice.host(((SdpaParams) p).o());
            o.host().setFloat(o.index(0, 1, 3, 2), DType.F32, o.get(0, 1, 3, 2) * 1.01f);
        });
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("NMSE") && r.message().contains("threshold"), r.message());
    }

    @Test
    void halfPrecisionRuleAcceptsOneRoundingAndRejectsTwoUlps() {
        Case c = sdpa().toBuilder().dtype(DType.F16).build();
        assertEquals(Status.PASS, runFaulty(c, p -> {}).status());
        // Every output off by 8 ulp of 1.0 (2^-7): far beyond 2x a naive f16 implementation.
        CaseResult r = runFaulty(c, p -> {
            Tensor o = FakeDevice.host(((SdpaParams) p).o());
            CaseData.forEach(o.shape(), idx -> o.set(o.get(idx) + 0x1p-7f, idx));
        });
        assertEquals(Status.FAIL, r.status(), r::toString);
        assertTrue(r.message().contains("naive f16"), r.message());
    }

    @Test
    void ignoringTheMaskFails() {
        Case c = Case.builder(Op.SOFTMAX).bh(2, 2).seq(7, 17).causal().build();
        CaseResult r = runFaulty(c, p -> {
            SoftmaxParams s = (SoftmaxParams) p;
            SoftmaxParams unmasked = SoftmaxParams.builder(FakeDevice.host(s.x()), FakeDevice.host(s.y()))
                    .masks(Masks.NONE).scale(s.scale()).build();
            new CpuBackend().run(unmasked);
        });
        assertEquals(Status.FAIL, r.status());
    }

    @Test
    void nanThatVanishesFails() {
        Case c = Case.builder(Op.SDPA).bh(2, 2).seq(7, 17).dims(16, 16).special(Special.NAN_READ).build();
        CaseResult r = runFaulty(c, p -> {
            Tensor o = FakeDevice.host(((SdpaParams) p).o());
            CaseData.forEach(o.shape(), idx -> {
                if (Float.isNaN(o.get(idx))) {
                    o.set(0f, idx);
                }
            });
        });
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("expected NaN"), r.message());
    }

    @Test
    void nanThatLeaksFromAMaskedKeyFails() {
        Case c = Case.builder(Op.ADDITIVE).bh(2, 2).seq(7, 17).dims(16, 16).kvLengths(true)
                .special(Special.NAN_MASKED).flag(Flag.WEIGHTS).build();
        CaseResult r = runFaulty(c, p -> {
            Tensor out = FakeDevice.host(((AdditiveParams) p).out());
            out.set(Float.NaN, 0, 1, 2, 3);
        });
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("NaN where the reference is"), r.message());
    }

    @Test
    void wrongInfinityFails() {
        Case c = Case.builder(Op.SDPA).bh(2, 2).seq(7, 17).dims(16, 16).special(Special.FULLY_MASKED)
                .flag(Flag.LSE).build();
        CaseResult r = runFaulty(c, p -> {
            Tensor lse = FakeDevice.host(((SdpaParams) p).lse());
            CaseData.forEach(lse.shape(), idx -> {
                if (lse.get(idx) == Float.NEGATIVE_INFINITY) {
                    lse.set(Float.POSITIVE_INFINITY, idx);
                }
            });
        });
        assertEquals(Status.FAIL, r.status());
        assertTrue(r.message().contains("expected -Infinity, got Infinity"), r.message());
    }

    @Test
    void unsupportedOnlyFromSupports() {
        try (FakeDevice d = new FakeDevice()) {
            d.supported = p -> !(p instanceof SdpaParams);
            CaseResult r = CaseRunner.run(d, sdpa());
            assertEquals(Status.UNSUPPORTED, r.status());
            assertEquals("the fake device declines this call", r.message());
            assertEquals(0, d.launches);
            // An exception from the kernel after supports() said yes is a failure.
            d.supported = p -> true;
            d.fault = p -> {
                throw new io.github.attn4j.UnsupportedFeatureException("late refusal");
            };
            assertEquals(Status.FAIL, CaseRunner.run(d, sdpa()).status());
        }
    }

    @Test
    void deviceBackendSeesDeviceTensorsWithOffsets() {
        try (FakeDevice d = new FakeDevice()) {
            d.fault = p -> {
                for (Tensor t : p.inputs()) {
                    assertTrue(t.memory() instanceof FakeDevice.Mem, t::toString);
                }
                for (Tensor t : p.outputs()) {
                    assertTrue(t.memory() instanceof FakeDevice.Mem, t::toString);
                    assertEquals(GuardedBuffer.GUARD, t.offset());
                }
            };
            Case c = Case.builder(Op.SDPA).bh(2, 2).seq(7, 17).dims(16, 16).boolMask(MaskShape.FULL)
                    .bias(MaskShape.SHARED).flag(Flag.LSE).build();
            assertEquals(Status.PASS, CaseRunner.run(d, c).status());
            assertEquals(1, d.launches);
        }
    }

    @Test
    void sampledRowsCompareOnlyThoseRows() {
        Case c = Case.builder(Op.SDPA).seq(300, 300).dims(16, 16).flag(Flag.LSE).sampledRows(5).build();
        assertEquals(Status.PASS, runFaulty(c, p -> {}).status());
        // Break the last row (always sampled).
        CaseResult r = runFaulty(c, p -> FakeDevice.host(((SdpaParams) p).o()).set(5f, 0, 0, 299, 0));
        assertEquals(Status.FAIL, r.status());
        List<Case> longCases = CaseMatrix.longSequence(1);
        assertEquals(32768, longCases.get(0).seqQ());
        assertEquals(64, longCases.get(0).sampledRows());
    }
}
