package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.attn4j.Alignment;
import io.github.attn4j.Backend;
import io.github.attn4j.DType;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import io.github.attn4j.opencl.OpenClBackend;
import io.github.attn4j.opencl.OpenClScope;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Every tensor of an SDPA call in memory that ends exactly at an inaccessible page, so that any
 * read or write past the end of any buffer faults at once (deterministically, single-threaded)
 * instead of now and then in the multi-threaded stress test.
 *
 * <p>How: the caller's-memory path ({@link OpenClBackend#wrap}) over {@code clCreateBuffer(
 * CL_MEM_USE_HOST_PTR)}, whose host memory is a file mapping one page longer than the file (the
 * file is truncated after mapping, so touching the last page raises SIGBUS). On PoCL the kernel
 * reads and writes that host memory directly. The cases are the stress test's SDPA mask kinds on
 * partial tiles (Sq below the work-group's BLOCK_M, Sk around the 64-key tile), checked against the
 * float64 reference. They run in a child JVM ({@link ChildJvm}): a fault there is an exit code
 * (134, hs_err) and not the death of the surefire JVM.
 *
 * <p>Before the fix of sdpa.cl (rows past Sq evaluated the bias in uniform tiles) the child died
 * with SIGBUS in {@code _pocl_kernel_attn_sdpa_fwd_f32_workgroup} on the first bias case with
 * Sk >= 64.
 */
class OpenClGuardPageTest {
    static final int PAGE = 4096;

    @Test
    void sdpaReadsNothingPastItsBuffers() throws Exception {
        String why = Requirement.unavailableReason("opencl:0");
        if (why != null) {
            Requirement.open("opencl:0"); // fails under -Dattn4j.require=opencl, else skips with the reason
            Assumptions.abort("opencl is unavailable: " + why);
        }
        ChildJvm.Result r = ChildJvm.run(OpenClGuardPageTest.class, List.of("-Xmx512m"), List.of(), 480);
        System.out.printf(Locale.ROOT, "guard-page run: exit %d in %.1f s%n%s%n", r.exitCode(), r.seconds(), r.tail(3));
        assertEquals(0, r.exitCode(), "guard-page run (exit 134 = abort after a fault in a kernel: see hs_err,"
                + " 137 = killed at the timeout); last lines:\n" + r.tail(60));
    }

    /** One mask kind: masks for (B, Hq, Sq, Sk) and whether it asks for LSE and softcap. */
    record Kind(String name, int hq, int hkv, boolean lse, float softcap, MaskMaker masks) {}

    interface MaskMaker {
        Masks make(SplittableRandom r, int b, int h, int sq, int sk);
    }

    static List<Kind> kinds() {
        List<Kind> l = new ArrayList<>();
        l.add(new Kind("plain+lse", 3, 3, true, 0f, (r, b, h, sq, sk) -> Masks.NONE));
        l.add(new Kind("causal", 3, 3, false, 0f, (r, b, h, sq, sk) -> Masks.causal()));
        l.add(new Kind("window-topleft", 3, 3, false, 0f, (r, b, h, sq, sk) -> Masks.builder().window(5, 2)
                .alignment(Alignment.TOP_LEFT).build()));
        l.add(new Kind("kvlen+lse", 3, 3, true, 0f, (r, b, h, sq, sk) -> Masks.builder().kvLengths(lengths(r, b, sk))
                .build()));
        l.add(new Kind("qlen+lse", 3, 3, true, 0f, (r, b, h, sq, sk) -> Masks.builder().qLengths(lengths(r, b, sq))
                .build()));
        l.add(new Kind("bool-full", 3, 3, false, 0f, (r, b, h, sq, sk) -> Masks.builder()
                .boolMask(boolMask(r, b, h, sq, sk)).build()));
        l.add(new Kind("bias-heads", 3, 3, false, 0f, (r, b, h, sq, sk) -> Masks.builder()
                .bias(floats(r, 1, h, sq, sk)).build()));
        l.add(new Kind("bias-full+lse", 3, 3, true, 0f, (r, b, h, sq, sk) -> Masks.builder()
                .bias(floats(r, b, h, sq, sk)).build()));
        l.add(new Kind("alibi-causal", 3, 3, false, 0f, (r, b, h, sq, sk) -> Masks.builder().causal()
                .alibi(floats(r, h)).build()));
        l.add(new Kind("softcap+lse", 3, 3, true, 5f, (r, b, h, sq, sk) -> Masks.NONE));
        l.add(new Kind("gqa-causal", 4, 2, false, 0f, (r, b, h, sq, sk) -> Masks.causal()));
        l.add(new Kind("everything", 3, 3, true, 4f, (r, b, h, sq, sk) -> Masks.builder().window(9, 3)
                .kvLengths(lengths(r, b, sk)).qLengths(lengths(r, b, sq)).boolMask(boolMask(r, 1, 1, sq, sk).view(0,
                        new int[] {sq, sk}, new long[] {sk, 1}))
                .bias(floats(r, sq, sk)).alibi(floats(r, b, h)).build()));
        return l;
    }

    static int[] lengths(SplittableRandom r, int b, int s) {
        int[] l = new int[b];
        for (int i = 0; i < b; i++) {
            l[i] = i == 0 ? s : r.nextInt(0, s + 1);
        }
        return l;
    }

    static Tensor floats(SplittableRandom r, int... shape) {
        float[] a = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return Tensor.of(a, shape);
    }

    static Tensor boolMask(SplittableRandom r, int b, int h, int sq, int sk) {
        boolean[] m = new boolean[b * h * sq * sk];
        for (int i = 0; i < m.length; i++) {
            m[i] = r.nextInt(4) != 0;
        }
        return Tensor.ofBool(m, b, h, sq, sk);
    }

    /**
     * Host memory of {@code bytes} that ends exactly where an inaccessible page starts, as a
     * USE_HOST_PTR buffer. The mapping must stay reachable while the cl_mem lives.
     */
    static final class GuardedMem {
        final MappedByteBuffer map;
        final ByteBuffer data;
        final cl_mem mem;
        final long bytes;

        GuardedMem(OpenClBackend cl, long bytes) throws IOException {
            this.bytes = bytes;
            int pages = (int) ((bytes + PAGE - 1) / PAGE);
            Path f = Files.createTempFile("attn4j-guard-", ".bin");
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                map = ch.map(FileChannel.MapMode.READ_WRITE, 0, (long) (pages + 1) * PAGE);
                ch.truncate((long) pages * PAGE); // the last page of the mapping now faults (SIGBUS)
            } finally {
                Files.delete(f);
            }
            int start = (int) ((long) pages * PAGE - bytes);
            data = map.slice(start, (int) bytes).order(ByteOrder.LITTLE_ENDIAN);
            int[] err = new int[1];
            mem = CL.clCreateBuffer(cl.context(), CL.CL_MEM_READ_WRITE | CL.CL_MEM_USE_HOST_PTR, bytes,
                    Pointer.to(data), err);
            if (err[0] != CL.CL_SUCCESS) {
                throw new IllegalStateException("clCreateBuffer(USE_HOST_PTR): " + CL.stringFor_errorCode(err[0]));
            }
        }
    }

    /** Runs every kind on every shape; exits 0 when every result matches the reference. */
    public static void main(String[] args) throws Exception {
        int[] sqs = {1, 5, 16};
        int[] sks = {1, 37, 64, 65, 149};
        int cases = 0, failures = 0;
        long t0 = System.nanoTime();
        try (Backend backend = io.github.attn4j.Attn4j.open("opencl:0")) {
            OpenClBackend cl = (OpenClBackend) backend;
            int[] err = new int[1];
            @SuppressWarnings("deprecation")
            cl_command_queue queue = CL.clCreateCommandQueue(cl.context(), cl.deviceId(), 0, err);
            for (Kind kind : kinds()) {
                for (int sq : sqs) {
                    for (int sk : sks) {
                        String name = String.format(Locale.ROOT, "%s b=2 hq=%d hkv=%d sq=%d sk=%d", kind.name(),
                                kind.hq(), kind.hkv(), sq, sk);
                        System.out.println("case " + name);
                        System.out.flush();
                        String bad = runCase(cl, queue, kind, 2, sq, sk, new SplittableRandom(31L * sq + sk));
                        cases++;
                        if (bad != null) {
                            failures++;
                            System.out.println("FAIL " + name + ": " + bad);
                        }
                    }
                }
            }
            CL.clReleaseCommandQueue(queue);
        }
        System.out.printf(Locale.ROOT, "%d cases, %d failed, %.1f s%n", cases, failures, (System.nanoTime() - t0) / 1e9);
        System.out.println(failures == 0 ? "GUARD OK" : "GUARD FAILED");
        System.exit(failures == 0 ? 0 : 1);
    }

    /** One case; null when O and LSE match the float64 reference. */
    static String runCase(OpenClBackend cl, cl_command_queue queue, Kind kind, int b, int sq, int sk,
            SplittableRandom r) throws IOException {
        int d = 32, dv = 32;
        Tensor q = floats(r, b, kind.hq(), sq, d), k = floats(r, b, kind.hkv(), sk, d),
                v = floats(r, b, kind.hkv(), sk, dv);
        Tensor o = Tensor.of(new float[b * kind.hq() * sq * dv], b, kind.hq(), sq, dv);
        Tensor lse = kind.lse() ? Tensor.of(new float[b * kind.hq() * sq], b, kind.hq(), sq) : null;
        SdpaParams.Builder pb = SdpaParams.builder(q, k, v, o).masks(kind.masks().make(r, b, kind.hq(), sq, sk));
        if (lse != null) {
            pb.lse(lse);
        }
        if (kind.softcap() > 0) {
            pb.softcap(kind.softcap());
        }
        SdpaParams host = pb.build();
        Reference.SdpaResult ref = Reference.sdpa(host);

        // Every tensor (inputs and outputs) copied into its own guarded buffer.
        Map<Tensor, GuardedMem> mems = new IdentityHashMap<>();
        Function<Tensor, Tensor> toDevice = t -> {
            try {
                long bytes = (t.spanEnd()) * t.dtype().bytes();
                GuardedMem g = new GuardedMem(cl, bytes);
                ByteBuffer tmp = ByteBuffer.allocate((int) bytes);
                ((HostMemory) t.memory()).read(0, tmp);
                g.data.put(0, tmp.array());
                mems.put(t, g);
                return Tensor.of(cl.wrap(g.mem, bytes), t.dtype(), t.shape(), t.strides(), t.offset());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        SdpaParams dev = host.mapTensors(toDevice::apply);
        try (OpenClScope scope = cl.newScope(queue)) {
            scope.run(dev);
            scope.synchronize();
        }
        String bad = compare("O", read(queue, mems.get(o)), ref.o(), 2e-5);
        if (bad == null && lse != null) {
            bad = compare("LSE", read(queue, mems.get(lse)), ref.lse(), 2e-5);
        }
        for (GuardedMem g : mems.values()) {
            CL.clReleaseMemObject(g.mem);
        }
        return bad;
    }

    static float[] read(cl_command_queue queue, GuardedMem g) {
        float[] out = new float[(int) (g.bytes / 4)];
        int rc = CL.clEnqueueReadBuffer(queue, g.mem, CL.CL_TRUE, 0, g.bytes, Pointer.to(out), 0, null, null);
        if (rc != CL.CL_SUCCESS) {
            throw new IllegalStateException("clEnqueueReadBuffer: " + CL.stringFor_errorCode(rc));
        }
        return out;
    }

    static String compare(String what, float[] got, double[] want, double tol) {
        for (int i = 0; i < want.length; i++) {
            double w = want[i], g = got[i];
            boolean ok = Double.isInfinite(w) ? g == w : Math.abs(g - w) <= tol * (1 + Math.abs(w));
            if (!ok) {
                return what + "[" + i + "] = " + g + ", expected " + w;
            }
        }
        return null;
    }
}
