package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * PoCL 3.1's loaded-kernel cache under concurrent launches of one kernel with growing grids
 * ({@code PoclLaunchGate}): with 8 PoCL worker threads, three long launches of the SDPA forward's CPU
 * form (one 16-row block against 2^19 keys each, on three scopes) are in flight when a fourth scope
 * launches the same kernel on a wider grid (1040 rows: 128 row-block groups where the others have 64).
 * Without the gate PoCL 3.1 loads a second copy of the kernel for the wider grid, the three older
 * launches decrement its count when they finish, and the process aborts
 * ({@code pocl_release_dlhandle_cache: Assertion 'found->ref_count > 0' failed}): every run of the
 * control did on PoCL 3.1. With the gate (the default) the wide launch waits for them; it passes and
 * every output matches the float64 reference. Both run in child JVMs ({@link ChildJvm}).
 */
class OpenClLaunchGateTest {
    static final int SK = 1 << 19, D = 64, WIDE_ROWS = 1040, LONG = 3;

    @Test
    void aWiderGridBesideLaunchesInFlight() throws Exception {
        String why = Requirement.unavailableReason("opencl:0");
        if (why != null) {
            Requirement.open("opencl:0");
            Assumptions.abort("opencl is unavailable: " + why);
        }
        String version;
        try (Backend b = Attn4j.open("opencl:0")) {
            version = b.device().toString();
        }
        Assumptions.assumeTrue(version.contains("PoCL") || version.contains("Portable Computing Language"),
                "the gate concerns PoCL's CPU devices: " + version);
        Map<String, String> env = Map.of("POCL_MAX_PTHREAD_COUNT", "8");
        ChildJvm.Result gated = ChildJvm.run(OpenClLaunchGateTest.class, List.of("-Xmx512m"), List.of(), 300, env);
        System.out.printf(Locale.ROOT, "gated: exit %d in %.1f s%n%s%n", gated.exitCode(), gated.seconds(),
                gated.tail(8));
        assertEquals(0, gated.exitCode(), "with the gate; last lines:\n" + gated.tail(40));
        ChildJvm.Result control = ChildJvm.run(OpenClLaunchGateTest.class,
                List.of("-Xmx512m", "-Dattn4j.opencl.launchGate=false"), List.of(), 300, env);
        System.out.printf(Locale.ROOT, "control (no gate): exit %d in %.1f s%n%s%n", control.exitCode(),
                control.seconds(), control.tail(4));
        if (version.contains("PoCL 3.1")) {
            // The control shows that the scenario reaches the defect; a newer PoCL fixed it and may pass.
            assertEquals(134, control.exitCode(), "the control was expected to hit PoCL 3.1's abort; last lines:\n"
                    + control.tail(40));
        }
    }

    private static Tensor rows(Tensor t, int n) {
        return t.view(t.offset(), new int[] {1, 1, n, t.dim(3)}, t.strides());
    }

    private static float[] host(Scope s, Tensor t) {
        Tensor h = Tensor.of(new float[(int) t.numel()], t.shape());
        s.copy(t, h);
        return h.toFloatArray();
    }

    private static double maxError(float[] got, double[] want) {
        double e = 0;
        for (int i = 0; i < want.length; i++) {
            e = Math.max(e, Double.isNaN(got[i]) ? Double.POSITIVE_INFINITY : Math.abs(got[i] - want[i]));
        }
        return e;
    }

    /** The child: exit 0 when every output matched. */
    public static void main(String[] args) throws Exception {
        float[] k = OpenClScopeTest.random(SK * D, 1), v = OpenClScopeTest.random(SK * D, 2);
        float[] q = OpenClScopeTest.random(WIDE_ROWS * D, 3), ks = OpenClScopeTest.random(16 * D, 4);
        int bad = 0;
        try (Backend b = Attn4j.open("opencl:0"); Scope s0 = b.newScope()) {
            Tensor dk = s0.upload(Tensor.of(k, 1, 1, SK, D)), dv = s0.upload(Tensor.of(v, 1, 1, SK, D));
            Tensor dq = s0.upload(Tensor.of(q, 1, 1, WIDE_ROWS, D)), dks = s0.upload(Tensor.of(ks, 1, 1, 16, D));
            Tensor wide = s0.allocate(DType.F32, 1, 1, WIDE_ROWS, D);
            // The kernel's first load: a grid 64 wide (16 rows: one row block, padded to 64 groups).
            s0.sdpa(SdpaParams.builder(rows(dq, 16), dks, dks, rows(wide, 16)).build());
            s0.synchronize();
            Scope[] s = new Scope[LONG + 1];
            Tensor[] out = new Tensor[LONG];
            for (int i = 0; i <= LONG; i++) {
                s[i] = b.newScope();
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < LONG; i++) {
                out[i] = s[i].allocate(DType.F32, 1, 1, 16, D);
                s[i].sdpa(SdpaParams.builder(rows(dq, 16), dk, dv, out[i]).build());
            }
            s[LONG].sdpa(SdpaParams.builder(dq, dks, dks, wide).build()); // 65 row blocks: 128 groups
            for (Scope x : s) {
                x.synchronize();
            }
            System.out.printf(Locale.ROOT, "all four finished after %.3f s%n", (System.nanoTime() - t0) / 1e9);
            double[] wantLong = Reference.sdpa(SdpaParams.builder(Tensor.of(Arrays.copyOf(q, 16 * D), 1, 1, 16, D),
                    Tensor.of(k, 1, 1, SK, D), Tensor.of(v, 1, 1, SK, D), Tensor.of(new float[16 * D], 1, 1, 16, D))
                    .build()).o();
            for (int i = 0; i < LONG; i++) {
                double e = maxError(host(s[i], out[i]), wantLong);
                System.out.printf(Locale.ROOT, "long launch %d: max error %.3g%n", i, e);
                bad += e <= 1e-4 ? 0 : 1;
            }
            double[] wantWide = Reference.sdpa(SdpaParams.builder(Tensor.of(q, 1, 1, WIDE_ROWS, D),
                    Tensor.of(ks, 1, 1, 16, D), Tensor.of(ks, 1, 1, 16, D),
                    Tensor.of(new float[WIDE_ROWS * D], 1, 1, WIDE_ROWS, D)).build()).o();
            double e = maxError(host(s[LONG], wide), wantWide);
            System.out.printf(Locale.ROOT, "wide launch: max error %.3g%n", e);
            bad += e <= 1e-5 ? 0 : 1;
            for (Scope x : s) {
                x.close();
            }
        }
        System.out.println(bad == 0 ? "ok" : bad + " outputs off");
        System.exit(bad == 0 ? 0 : 1);
    }
}
