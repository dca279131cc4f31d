package io.github.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Layout;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.npy.Npy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** devices, run and verify on the cpu backend with tiny .npy files; bad input gives one line and a non-zero exit. */
class CliSmokeTest {
    @TempDir
    Path dir;

    /** The exit code, stdout and stderr of one command. */
    record Out(int code, String out, String err) {}

    interface Command {
        int run(String[] args, PrintStream out, PrintStream err);
    }

    static Out call(Command c, String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code = c.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true,
                StandardCharsets.UTF_8));
        return new Out(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    private Path npy(String name, Tensor t) {
        Path p = dir.resolve(name);
        Npy.write(p, t);
        return p;
    }

    private static Tensor rand(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return Tensor.of(a, shape);
    }

    /** An error is exactly one line on stderr, no stack trace, and a non-zero exit. */
    static void oneLineError(Out r, String fragment) {
        assertTrue(r.code() != 0, "exit code " + r.code());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.startsWith("error: "), err);
        assertTrue(err.contains(fragment), "'" + err + "' should contain '" + fragment + "'");
        assertFalse(err.contains("\tat "), err);
    }

    @Test
    void devices() {
        Out r = call(DevicesCommand::run);
        assertEquals(0, r.code());
        assertTrue(r.out().contains("cpu") && r.out().contains("available"), r.out());
        oneLineError(call(DevicesCommand::run, "extra"), "expected no arguments");
    }

    @Test
    void runSdpaMatchesTheLibraryInBothLayouts() {
        Tensor q = rand(1, 2, 3, 4, 8), k = rand(2, 2, 3, 6, 8), v = rand(3, 2, 3, 6, 5);
        boolean[] mb = new boolean[24];
        for (int i = 0; i < mb.length; i++) {
            mb[i] = i % 5 != 2;
        }
        Tensor mask = Tensor.ofBool(mb, 4, 6);
        Tensor alibi = Tensor.of(new float[] {0.5f, 0.25f, 0.125f}, 3);
        Path pq = npy("q.npy", q), pk = npy("k.npy", k), pv = npy("v.npy", v);
        Path pm = npy("m.npy", mask), pa = npy("a.npy", alibi);
        Path out = dir.resolve("o.npy"), lse = dir.resolve("lse.npy");
        Out r = call(RunCommand::run, "sdpa", "--backend", "cpu", "--q", pq.toString(), "--k", pk.toString(), "--v",
                pv.toString(), "--out", out.toString(), "--lse", lse.toString(), "--align", "top-left", "--causal",
                "--kv-lengths", "6,5", "--q-lengths", "4,3", "--mask", pm.toString(), "--alibi", pa.toString(),
                "--scale", "0.3", "--softcap", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("sdpa on cpu:0: wrote "), r.out());

        Tensor o = Tensor.of(new float[2 * 3 * 4 * 5], 2, 3, 4, 5);
        Tensor l = Tensor.of(new float[24], 2, 3, 4);
        try (CpuBackend cpu = new CpuBackend()) {
            cpu.sdpa(SdpaParams.builder(q, k, v, o).lse(l).scale(0.3f).softcap(4f).masks(Masks.builder()
                    .alignment(io.github.attn4j.Alignment.TOP_LEFT).causal().kvLengths(6, 5).qLengths(4, 3)
                    .boolMask(mask).alibi(alibi).build()).build());
        }
        assertArrayEquals(o.toFloatArray(), Npy.read(out).toFloatArray());
        assertArrayEquals(l.toFloatArray(), Npy.read(lse).toFloatArray());

        // BSHD files: [B, S, H, D] arrays in, [B, S, H, Dv] out; the same numbers.
        Path sq = npy("qs.npy", bshd(q)), sk = npy("ks.npy", bshd(k)), sv = npy("vs.npy", bshd(v));
        Path os = dir.resolve("os.npy");
        Out r2 = call(RunCommand::run, "sdpa", "--backend", "cpu", "--q", sq.toString(), "--k", sk.toString(), "--v",
                sv.toString(), "--out", os.toString(), "--layout", "bshd");
        assertEquals(0, r2.code(), r2.err());
        Tensor plain = Tensor.of(new float[2 * 3 * 4 * 5], 2, 3, 4, 5);
        try (CpuBackend cpu = new CpuBackend()) {
            cpu.sdpa(SdpaParams.builder(q, k, v, plain).build());
        }
        Tensor got = Npy.read(os);
        assertArrayEquals(new int[] {2, 4, 3, 5}, got.shape());
        assertArrayEquals(bshd(plain).toFloatArray(), got.toFloatArray());
    }

    @Test
    void runSdpaBackwardMatchesTheLibrary() {
        // GQA 4:2, causal, a heads-broadcast bias with its gradient, softcap: run the forward, then the backward.
        Tensor q = rand(11, 2, 4, 5, 8), k = rand(12, 2, 2, 7, 8), v = rand(13, 2, 2, 7, 6), dO = rand(14, 2, 4, 5, 6);
        Tensor bias = rand(15, 1, 4, 5, 7);
        Path pq = npy("q.npy", q), pk = npy("k.npy", k), pv = npy("v.npy", v), pd = npy("do.npy", dO);
        Path pb = npy("bias.npy", bias);
        Path dq = dir.resolve("dq.npy"), dk = dir.resolve("dk.npy"), dv = dir.resolve("dv.npy");
        Path db = dir.resolve("db.npy");
        Out r = call(RunCommand::run, "sdpa-backward", "--backend", "cpu", "--q", pq.toString(), "--k", pk.toString(),
                "--v", pv.toString(), "--dout", pd.toString(), "--dq", dq.toString(), "--dk", dk.toString(), "--dv",
                dv.toString(), "--dbias", db.toString(), "--bias", pb.toString(), "--causal", "--softcap", "3");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("sdpa-backward on cpu:0: wrote "), r.out());
        Masks m = Masks.builder().causal().bias(bias).build();
        Tensor o = Tensor.of(new float[2 * 4 * 5 * 6], 2, 4, 5, 6), l = Tensor.of(new float[40], 2, 4, 5);
        Tensor eq = Tensor.of(new float[320], 2, 4, 5, 8), ek = Tensor.of(new float[224], 2, 2, 7, 8);
        Tensor ev = Tensor.of(new float[168], 2, 2, 7, 6), eb = Tensor.of(new float[140], 1, 4, 5, 7);
        try (CpuBackend cpu = new CpuBackend()) {
            cpu.sdpa(SdpaParams.builder(q, k, v, o).lse(l).softcap(3f).masks(m).build());
            cpu.sdpaBackward(io.github.attn4j.SdpaBackwardParams.builder(q, k, v, o, dO, l, eq, ek, ev).dbias(eb)
                    .softcap(3f).masks(m).build());
        }
        assertArrayEquals(eq.toFloatArray(), Npy.read(dq).toFloatArray());
        assertArrayEquals(ek.toFloatArray(), Npy.read(dk).toFloatArray());
        assertArrayEquals(ev.toFloatArray(), Npy.read(dv).toFloatArray());
        assertArrayEquals(eb.toFloatArray(), Npy.read(db).toFloatArray());
        oneLineError(call(RunCommand::run, "sdpa-backward", "--backend", "cpu", "--q", pq.toString(), "--k",
                pk.toString(), "--v", pv.toString(), "--dout", pd.toString(), "--dq", dq.toString(), "--dk",
                dk.toString(), "--dv", dv.toString(), "--dbias", db.toString()), "--dbias");
    }

    /** A contiguous [B, S, H, D] copy of a [B, H, S, D] tensor. */
    private static Tensor bshd(Tensor t) {
        int b = t.dim(0), h = t.dim(1), s = t.dim(2), d = t.dim(3);
        float[] a = new float[Math.toIntExact(t.numel())];
        Tensor view = Tensor.of(HostMemory.of(a), DType.F32, new int[] {b, h, s, d}, Layout.BSHD.strides(b, h, s, d), 0);
        CaseCopy.copy(t, view);
        return Tensor.of(a, b, s, h, d);
    }

    /** Element-wise copy between host views of the same logical shape. */
    static final class CaseCopy {
        static void copy(Tensor src, Tensor dst) {
            int[] shape = src.shape();
            int[] idx = new int[shape.length];
            for (long n = 0; n < src.numel(); n++) {
                dst.set(src.get(idx), idx);
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (++idx[d] < shape[d]) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        }
    }

    @Test
    void runSoftmaxAndAdditive() throws Exception {
        // softmax of [0, ln 3] is [1/4, 3/4]; with a 2-D input.
        Path x = npy("x.npy", Tensor.of(new float[] {0, (float) Math.log(3), 1, 1}, 2, 2));
        Path y = dir.resolve("y.npy");
        Out r = call(RunCommand::run, "softmax", "--backend", "cpu", "--x", x.toString(), "--out", y.toString());
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(new float[] {0.25f, 0.75f, 0.5f, 0.5f}, Npy.read(y).toFloatArray(), 1e-6f);
        // With --causal (Sq = Sk = 2, bottom-right): row 0 sees only key 0.
        Out rc = call(RunCommand::run, "softmax", "--backend", "cpu", "--x", x.toString(), "--out", y.toString(),
                "--causal", "--scale", "2");
        assertEquals(0, rc.code(), rc.err());
        assertArrayEquals(new float[] {1, 0, 0.5f, 0.5f}, Npy.read(y).toFloatArray(), 1e-6f);

        // Additive: A = 1, w = [2 ln 3], qp = [0], kp = [0, atanh(1/2)] -> weights [1/4, 3/4], C = 7 for v = [4, 8].
        float at = (float) (0.5 * Math.log(3));
        Path q = npy("aq.npy", Tensor.of(new float[] {0}, 1, 1, 1, 1));
        Path k = npy("ak.npy", Tensor.of(new float[] {0, at}, 1, 1, 2, 1));
        Path v = npy("av.npy", Tensor.of(new float[] {4, 8}, 1, 1, 2, 1));
        Path w = npy("aw.npy", Tensor.of(new float[] {2 * (float) Math.log(3)}, 1));
        Path c = dir.resolve("c.npy"), wts = dir.resolve("wts.npy");
        Out ra = call(RunCommand::run, "additive", "--backend", "cpu", "--q", q.toString(), "--k", k.toString(), "--v",
                v.toString(), "--w", w.toString(), "--out", c.toString(), "--weights", wts.toString());
        assertEquals(0, ra.code(), ra.err());
        assertArrayEquals(new float[] {7}, Npy.read(c).toFloatArray(), 1e-5f);
        assertArrayEquals(new float[] {0.25f, 0.75f}, Npy.read(wts).toFloatArray(), 1e-6f);
        // Raw inputs: Q = [1, 2], Wq = [[0.5, -0.25]] -> qp = 0; K rows [0, 1], [2, 1], Wk = [[at/2, 0]] -> kp = [0, at].
        Path rq = npy("rq.npy", Tensor.of(new float[] {1, 2}, 1, 1, 1, 2));
        Path rk = npy("rk.npy", Tensor.of(new float[] {0, 1, 2, 1}, 1, 1, 2, 2));
        Path wq = npy("wq.npy", Tensor.of(new float[] {0.5f, -0.25f}, 1, 2));
        Path wk = npy("wk.npy", Tensor.of(new float[] {at / 2, 0}, 1, 2));
        Path b = npy("b.npy", Tensor.of(new float[] {0}, 1));
        Out rr = call(RunCommand::run, "additive", "--backend", "cpu", "--q", rq.toString(), "--k", rk.toString(),
                "--v", v.toString(), "--w", w.toString(), "--out", c.toString(), "--wq", wq.toString(), "--wk",
                wk.toString(), "--b", b.toString());
        assertEquals(0, rr.code(), rr.err());
        assertArrayEquals(new float[] {7}, Npy.read(c).toFloatArray(), 1e-5f);
        assertTrue(Files.exists(c));
    }

    @Test
    void runMerge() {
        // Part 0: LSE 0, O = 2; part 1: LSE ln 3, O = 6 -> O = (2 + 3*6)/4 = 5, LSE = ln 4. Row 1: part 0 empty.
        Path o0 = npy("m0.npy", Tensor.of(new float[] {2, Float.NaN}, 1, 1, 2, 1));
        Path o1 = npy("m1.npy", Tensor.of(new float[] {6, 7}, 1, 1, 2, 1));
        Path l0 = npy("l0.npy", Tensor.of(new float[] {0, Float.NEGATIVE_INFINITY}, 1, 1, 2));
        Path l1 = npy("l1.npy", Tensor.of(new float[] {(float) Math.log(3), 1}, 1, 1, 2));
        Path out = dir.resolve("mo.npy"), lse = dir.resolve("ml.npy");
        Out r = call(RunCommand::run, "merge", "--backend", "cpu", "--o", o0 + "," + o1, "--lse", l0 + "," + l1, "--out",
                out.toString(), "--lse-out", lse.toString());
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(new float[] {5, 7}, Npy.read(out).toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {(float) Math.log(4), 1}, Npy.read(lse).toFloatArray(), 1e-6f);
        oneLineError(call(RunCommand::run, "merge", "--backend", "cpu", "--o", o0 + "," + o1, "--lse", l0.toString(),
                "--out", out.toString()), "lse: expected 2 partial LSEs");
        oneLineError(call(RunCommand::run, "merge", "--backend", "cpu", "--o", o0 + "," + l1, "--lse", l0 + "," + l1,
                "--out", out.toString()), "expected a 4-D array [B, H, S, Dv]");
        oneLineError(call(RunCommand::run, "merge", "--backend", "cpu", "--o", o0.toString(), "--lse", l0.toString()),
                "missing --out");
    }

    @Test
    void runKvAppend() {
        // pageSize 2, 3 pages, Hkv = D = 1; sequence 0 at position 1 through pages [2, 0]: rows 5, 6 go to
        // (page 2, slot 1) and (page 0, slot 0). Everything else keeps its 9.
        Path kc = npy("kc.npy", Tensor.of(new float[] {9, 9, 9, 9, 9, 9}, 3, 2, 1, 1));
        Path vc = npy("vc.npy", Tensor.of(new float[] {9, 9, 9, 9, 9, 9}, 3, 2, 1, 1));
        Path bt = npy("bt.npy", Tensor.of(HostMemory.of(new int[] {2, 0}), DType.I32, new int[] {1, 2},
                new long[] {2, 1}, 0));
        Path k = npy("kn.npy", Tensor.of(new float[] {5, 6}, 1, 1, 2, 1));
        Path v = npy("vn.npy", Tensor.of(new float[] {-5, -6}, 1, 1, 2, 1));
        Path ko = dir.resolve("ko.npy"), vo = dir.resolve("vo.npy");
        String[] base = {"kv-append", "--backend", "cpu", "--k-cache", kc.toString(), "--v-cache", vc.toString(),
            "--block-table", bt.toString(), "--k", k.toString(), "--v", v.toString(), "--k-out", ko.toString(),
            "--v-out", vo.toString()};
        Out r = call(RunCommand::run, concat(base, "--start-positions", "1"));
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(new float[] {6, 9, 9, 9, 9, 5}, Npy.read(ko).toFloatArray());
        assertArrayEquals(new float[] {-6, 9, 9, 9, 9, -5}, Npy.read(vo).toFloatArray());
        oneLineError(call(RunCommand::run, concat(base, "--start-positions", "3")),
                "startPositions[0] + 2 rows: expected <= the block table's capacity");
        oneLineError(call(RunCommand::run, concat(base, "--start-positions", "1,2")), "startPositions: expected 1 values");
        oneLineError(call(RunCommand::run, concat(base, "--start-positions", "1", "--block-table", kc.toString())),
                "given twice");
    }

    @Test
    void runRejectsBadFlagsAndFiles() {
        Path q = npy("q.npy", rand(1, 1, 1, 2, 4));
        Path k = npy("k.npy", rand(2, 1, 1, 3, 4));
        Path v = npy("v.npy", rand(3, 1, 1, 3, 4));
        Path o = dir.resolve("o.npy");
        Path bad = dir.resolve("bad.npy");
        try {
            Files.writeString(bad, "not numpy");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        String[] base = {"sdpa", "--backend", "cpu", "--q", q.toString(), "--k", k.toString(), "--v", v.toString()};
        oneLineError(call(RunCommand::run, base), "missing --out");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--bogus", "1")), "unknown flag --bogus");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--window", "1")), "--window: expected L,R");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--window", "1,x")), "comma-separated");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--causal", "--window", "1,1")),
                "give one");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--scale", "abc")),
                "--scale: expected a number");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--align", "middle")),
                "--align: expected top-left or bottom-right");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--layout", "hsbd")),
                "--layout: expected bhsd or bshd");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--kv-lengths", "9")),
                "kvLengths[0]: expected in [0, 3], got 9");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--mask", bad.toString())),
                "bad.npy: not a .npy file");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--mask", dir.resolve("none.npy")
                .toString())), "none.npy: cannot read");
        oneLineError(call(RunCommand::run, "sdpa", "--backend", "cpu", "--q", k.toString(), "--k", q.toString(), "--v",
                v.toString(), "--out", o.toString()), "v.shape[2] (Sk): expected 2, got 3");
        oneLineError(call(RunCommand::run, concat(base, "--out", o.toString(), "--backend", "cpu")), "given twice");
        oneLineError(call(RunCommand::run, "sdpa", "--backend", "nosuch", "--q", q.toString(), "--k", k.toString(),
                "--v", v.toString(), "--out", o.toString()), "backend: expected one of");
        oneLineError(call(RunCommand::run, "attend"), "unknown op 'attend'");
        oneLineError(call(RunCommand::run, "softmax", "--x"), "--x needs a value");
        oneLineError(call(RunCommand::run, "additive", "--backend", "cpu", "--q", q.toString(), "--k", k.toString(),
                "--v", v.toString(), "--w", q.toString(), "--out", o.toString(), "--wq", q.toString()),
                "--wq and --wk: give both or neither");
        assertFalse(Files.exists(o), "nothing written on errors");
        assertEquals(2, call(RunCommand::run).code());
        assertEquals(0, call(RunCommand::run, "--help").code());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void verifyOnCpu() {
        Out r = call(VerifyCommand::run, "--backend", "cpu", "--quick", "--op", "sdpa", "--filter", "Sq=7,Sk=17.*causal",
                "--seed", "3");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\n");
        assertTrue(lines[0].matches("OP\\s+CASE\\s+BACKEND\\s+NMSE\\s+MAX_ABS_ERR\\s+STATUS"), lines[0]);
        assertTrue(lines[1].matches("sdpa\\s+sdpa\\(.*Sq=7,Sk=17.*causal.*seed=3\\)\\s+cpu:0\\s+\\S+\\s+\\S+\\s+PASS"),
                lines[1]);
        assertTrue(r.out().contains("cpu:0: ") && r.out().contains(" passed, 0 failed, 0 unsupported"), r.out());
        // Asked for, the reference checks itself (exit 0) and says that nothing was verified.
        assertTrue(r.out().contains("checked against itself"), r.out());
        assertTrue(r.out().strip().endsWith("verify: OK (reference self-check; nothing was verified)"), r.out());

        Out list = call(VerifyCommand::run, "--list", "--op", "softmax_backward", "--quick");
        assertEquals(0, list.code());
        assertTrue(list.out().lines().allMatch(l -> l.startsWith("softmax_backward(") || l.endsWith(" cases")));

        oneLineError(call(VerifyCommand::run, "--filter", "("), "--filter: not a regular expression");
        oneLineError(call(VerifyCommand::run, "--op", "conv"), "--op: expected sdpa");
        oneLineError(call(VerifyCommand::run, "--seed", "x"), "--seed: expected an integer");
        oneLineError(call(VerifyCommand::run, "--filter", "nothing-matches-this"), "no case matches");
        oneLineError(call(VerifyCommand::run, "--backend", "nosuch", "--quick"), "backend: expected one of");
    }
}
