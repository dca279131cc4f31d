package io.github.attn4j.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import io.github.attn4j.BackendException;
import io.github.attn4j.nativetests.Requirement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jocl.cl_program;
import org.junit.jupiter.api.Test;

/**
 * The process-wide program cache: concurrent requests for one variant build it once, a failed
 * build is not cached, two backends on one context share programs until the last one closes, and
 * PoCL's signal handlers are gone again after a build.
 */
class ProgramCacheTest {
    /** A variant no other test builds (a build option of its own), so the first request really builds. */
    private static String uniqueOptions(String tag) {
        return "-cl-std=CL1.2 -DDT_F32 -DDT_SUFFIX=f32 -DROW_THREADS=1 -DROWS_PER_WG=1 -DHAS_BOOL_MASK=0 -DHAS_BIAS=0"
                + " -DHAS_ALIBI=0 -DHAS_WINDOW=0 -DHAS_KV_LEN=0 -DHAS_Q_LEN=0 -DATTN4J_TEST_" + tag + "_"
                + System.nanoTime();
    }

    @Test
    void concurrentRequestsBuildOnceAndFailuresAreNotCached() throws Exception {
        try (Backend b = Requirement.open("opencl:0")) {
            OpenClBackend cl = (OpenClBackend) b;
            String opts = uniqueOptions("SHARED");
            long before = ProgramCache.buildCount();
            int threads = 8;
            CyclicBarrier start = new CyclicBarrier(threads);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<cl_program>> fs = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                fs.add(pool.submit(() -> {
                    start.await();
                    return cl.programs().get("softmax.cl", opts);
                }));
            }
            cl_program first = fs.get(0).get();
            for (Future<cl_program> f : fs) {
                assertSame(first, f.get());
            }
            pool.shutdown();
            assertEquals(1, ProgramCache.buildCount() - before, "builds for 8 concurrent requests of one variant");
            assertTrue(!SignalHandlers.llvmHandlersInstalled() || SignalHandlers.jsigLoaded(),
                    "LLVM's signal handlers are still installed after the build: " + SignalHandlers.status());

            String bad = "-cl-std=CL1.2 -DDT_F32 -DROW_THREADS=garbage(";
            long b0 = ProgramCache.buildCount();
            assertThrows(BackendException.class, () -> cl.programs().get("softmax.cl", bad));
            assertThrows(BackendException.class, () -> cl.programs().get("softmax.cl", bad));
            assertTrue(ProgramCache.buildCount() - b0 >= 2, "a failed build is tried again, not cached");
        }
    }

    @Test
    void backendsOnOneContextShareProgramsUntilTheLastCloses() {
        try (Backend b = Requirement.open("opencl:0")) {
            OpenClBackend owner = (OpenClBackend) b;
            String opts = uniqueOptions("WRAP");
            OpenClBackend wrapped = OpenClBackend.wrap(owner.context(), owner.deviceId());
            long before = ProgramCache.buildCount();
            cl_program p = owner.programs().get("softmax.cl", opts);
            assertSame(p, wrapped.programs().get("softmax.cl", opts));
            assertEquals(1, ProgramCache.buildCount() - before);
            wrapped.close();
            assertSame(p, owner.programs().get("softmax.cl", opts), "still cached while the owner is open");
            assertEquals(1, ProgramCache.buildCount() - before);
            try (Backend other = Requirement.open("opencl:0")) {
                cl_program q = ((OpenClBackend) other).programs().get("softmax.cl", opts);
                assertNotSame(p, q, "another context gets its own program");
            }
        }
    }
}
