package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.BackendException;
import io.github.attn4j.DType;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.Reference;
import io.github.attn4j.opencl.OpenClBackend;
import io.github.attn4j.opencl.OpenClMemory;
import io.github.attn4j.opencl.OpenClScope;
import java.util.SplittableRandom;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The caller's own cl_mem and command queue, build failures, and what supports() refuses. */
class OpenClInteropTest {
    static Backend backend;

    @BeforeAll
    static void open() {
        backend = OpenClTesting.openOrNull();
    }

    @AfterAll
    static void close() {
        if (backend != null) {
            backend.close();
        }
    }

    private static cl_mem buffer(OpenClBackend cl, float[] init) {
        int[] err = new int[1];
        cl_mem m = CL.clCreateBuffer(cl.context(), CL.CL_MEM_READ_WRITE | CL.CL_MEM_COPY_HOST_PTR, 4L * init.length,
                Pointer.to(init), err);
        assertEquals(CL.CL_SUCCESS, err[0]);
        return m;
    }

    /** SDPA on wrapped caller buffers and the caller's queue: no copies, results in the caller's buffer. */
    @Test
    void wrappedBuffersAndQueue() {
        OpenClTesting.assumeDevice(backend);
        OpenClBackend cl = (OpenClBackend) backend;
        int b = 1, h = 2, s = 37, d = 32;
        int n = b * h * s * d;
        SplittableRandom r = new SplittableRandom(5);
        float[] qa = new float[n], ka = new float[n], va = new float[n];
        for (float[] a : new float[][] {qa, ka, va}) {
            for (int i = 0; i < n; i++) {
                a[i] = (float) (r.nextDouble() * 2 - 1);
            }
        }
        cl_mem qm = buffer(cl, qa), km = buffer(cl, ka), vm = buffer(cl, va), om = buffer(cl, new float[n]);
        int[] err = new int[1];
        @SuppressWarnings("deprecation")
        cl_command_queue queue = CL.clCreateCommandQueue(cl.context(), cl.deviceId(), 0, err);
        assertEquals(CL.CL_SUCCESS, err[0]);
        try (OpenClScope scope = cl.newScope(queue)) {
            int[] shape = {b, h, s, d};
            long[] st = Tensor.contiguousStrides(shape);
            OpenClMemory qw = cl.wrap(qm, 4L * n), kw = cl.wrap(km, 4L * n), vw = cl.wrap(vm, 4L * n),
                    ow = cl.wrap(om, 4L * n);
            SdpaParams p = SdpaParams.builder(Tensor.of(qw, DType.F32, shape, st, 0), Tensor.of(kw, DType.F32, shape, st, 0),
                    Tensor.of(vw, DType.F32, shape, st, 0), Tensor.of(ow, DType.F32, shape, st, 0)).causal().build();
            scope.run(p);
            scope.synchronize();
            assertEquals(0, scope.allocatedBytes(), "no staging for wrapped memory");
            assertTrue(!qw.owned());
        }
        float[] out = new float[n];
        assertEquals(CL.CL_SUCCESS, CL.clEnqueueReadBuffer(queue, om, CL.CL_TRUE, 0, 4L * n, Pointer.to(out), 0, null,
                null), "the caller's queue is still usable after the scope closed");
        SdpaParams host = SdpaParams.builder(Tensor.of(qa, b, h, s, d), Tensor.of(ka, b, h, s, d),
                Tensor.of(va, b, h, s, d), Tensor.of(new float[n], b, h, s, d)).causal().build();
        double[] ref = Reference.sdpa(host).o();
        double num = 0, den = 0;
        for (int i = 0; i < n; i++) {
            num += (out[i] - ref[i]) * (out[i] - ref[i]);
            den += ref[i] * ref[i];
        }
        assertTrue(num / den < 1e-10, "NMSE " + num / den);
        for (cl_mem m : new cl_mem[] {qm, km, vm, om}) {
            assertEquals(CL.CL_SUCCESS, CL.clReleaseMemObject(m), "wrapped buffers are still the caller's to release");
        }
        assertEquals(CL.CL_SUCCESS, CL.clReleaseCommandQueue(queue));
    }

    /** A program that does not build: BackendException with the options and the build log. */
    @Test
    void buildFailureCarriesTheLog() {
        OpenClTesting.assumeDevice(backend);
        // options are read once, when a backend opens: a backend of its own with bad build options (the
        // work-group softmax, which takes VW from the build options; the row-per-item one sets its own)
        io.github.attn4j.opencl.OpenClOptions bad = new io.github.attn4j.opencl.OpenClOptions("smRowPerItem=0", "-DVW=3");
        try (Backend b = new io.github.attn4j.opencl.OpenClProvider().open(backend.device().index(), bad)) {
            Tensor x = Tensor.of(new float[12], 3, 4);
            SoftmaxParams p = SoftmaxParams.builder(x, Tensor.of(new float[12], 3, 4)).build();
            // supports() never throws: it says no, with the build log
            assertTrue(!b.supports(p).supported());
            assertTrue(b.supports(p).reason().contains("VW must be 4, 8 or 16"), b.supports(p).reason());
            BackendException e = assertThrows(BackendException.class, () -> b.softmax(p));
            assertTrue(e.getMessage().contains("build log"), e.getMessage());
            assertTrue(e.getMessage().contains("softmax.cl"), e.getMessage()); // common.cl: #error "VW must be 4, 8 or 16"
            assertTrue(e.getMessage().contains("VW must be 4, 8 or 16"), e.getMessage());
        }
    }

    /** supports() says no, with the reason, for head dims past the specialised range. */
    @Test
    void unsupportedHeadDim() {
        OpenClTesting.assumeDevice(backend);
        Tensor q = Tensor.of(new float[2 * 600], 1, 1, 2, 600);
        SdpaParams p = SdpaParams.builder(q, q, q, Tensor.of(new float[2 * 600], 1, 1, 2, 600)).build();
        assertTrue(!backend.supports(p).supported());
        assertTrue(backend.supports(p).reason().contains("600"), backend.supports(p).reason());
    }
}
