package io.github.attn4j.opencl;

import io.github.attn4j.BackendException;
import io.github.attn4j.spi.KernelBuilds;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;

/**
 * Built programs, shared by the whole process and keyed by {@link Key}: (context, device, source
 * file, build options), so each variant is built once per process however many backends, scopes
 * and threads ask for it. A program is the concatenation
 * {@code attn_params.h + opencl/common.cl + opencl/<source>}, read from the {@code /kernels}
 * resources packaged in the jar.
 *
 * <p>Builds run one at a time in the process, under {@link SignalHandlers#LOCK} (the lock device
 * enumeration takes too): PoCL's compiler installs LLVM's signal handlers, and the JVM's are put
 * back after each build (see {@link SignalHandlers}). Callers that want a program being built wait
 * for that one build. A failed build throws a {@link BackendException} with the options and the
 * build log and leaves nothing in the cache, so a later call tries again; a build that failed
 * because a temporary file vanished under the compiler (what LLVM's signal handler does when it
 * catches one of the JVM's signals) is tried again, up to three times in all.
 *
 * <p>Each backend has its own instance (one per context); {@link #release()} releases the programs
 * no other open instance on the same context uses.
 */
final class ProgramCache {
    /** What a built program depends on; the context and device are identified by their handles. */
    record Key(long context, long device, String source, String options) {}

    /** A built program and how many open caches use it (both guarded by {@link SignalHandlers#LOCK}). */
    private static final class Entry {
        final cl_program program;
        int users;

        Entry(cl_program program) {
            this.program = program;
        }
    }

    private static final Map<String, String> SOURCES = new ConcurrentHashMap<>();
    /** Every program of the process. */
    private static final Map<Key, Entry> PROGRAMS = new ConcurrentHashMap<>();
    /** Builds that ran (not cache hits), for tests. */
    private static final AtomicLong BUILDS = new AtomicLong();

    private final cl_context context;
    private final cl_device_id device;
    /** The entries this cache holds a use of: its fast path, and what {@link #release()} gives back. */
    private final Map<Key, cl_program> mine = new ConcurrentHashMap<>();
    private boolean released;

    ProgramCache(cl_context context, cl_device_id device) {
        this.context = context;
        this.device = device;
    }

    /** The program for {@code source} (e.g. "sdpa.cl") built with {@code options}; built once per process. */
    cl_program get(String source, String options) {
        Key key = new Key(context.getNativePointer(), device.getNativePointer(), source, options);
        cl_program p = mine.get(key);
        if (p != null) {
            return p;
        }
        synchronized (SignalHandlers.LOCK) {
            if (released) {
                throw new IllegalStateException("OpenCL program cache: the backend is closed");
            }
            p = mine.get(key);
            if (p != null) {
                return p;
            }
            Entry e = PROGRAMS.get(key);
            if (e == null) {
                e = new Entry(SignalHandlers.guarded(() -> build(source, options)));
                PROGRAMS.put(key, e);
            }
            e.users++;
            mine.put(key, e.program);
            return e.program;
        }
    }

    /** The full program text for a source file. */
    static String programText(String source) {
        return resource("attn_params.h") + "\n" + resource("opencl/common.cl") + "\n" + resource("opencl/" + source);
    }

    private static String resource(String path) {
        return SOURCES.computeIfAbsent(path, p -> {
            try (InputStream in = ProgramCache.class.getResourceAsStream("/kernels/" + p)) {
                if (in == null) {
                    throw new BackendException("OpenCL: kernel source /kernels/" + p + " is not on the class path");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new BackendException("OpenCL: cannot read kernel source /kernels/" + p, e);
            }
        });
    }

    /** Attempts of one build when the compiler's temporary file vanished (see the class comment). */
    private static final int BUILD_ATTEMPTS = 3;

    private cl_program build(String source, String options) {
        BackendException failure = null;
        for (int attempt = 1; attempt <= BUILD_ATTEMPTS; attempt++) {
            try {
                return buildOnce(source, options);
            } catch (BuildFailure f) {
                if (failure == null) {
                    failure = f.exception();
                } else {
                    failure.addSuppressed(f.exception());
                }
                if (!f.fileVanished()) {
                    break;
                }
            }
        }
        throw failure;
    }

    /** A failed clBuildProgram: the exception to throw, and whether the log blames a vanished temporary file. */
    private static final class BuildFailure extends RuntimeException {
        private final BackendException exception;
        private final String log;

        BuildFailure(BackendException exception, String log) {
            super(null, null, false, false);
            this.exception = exception;
            this.log = log;
        }

        BackendException exception() {
            return exception;
        }

        boolean fileVanished() {
            return log.contains("unable to rename temporary") || log.contains("No such file or directory");
        }
    }

    private cl_program buildOnce(String source, String options) {
        String text = programText(source);
        int[] err = new int[1];
        cl_program p = Cl.created(CL.clCreateProgramWithSource(context, 1, new String[] {text}, null, err), err,
                "clCreateProgramWithSource(" + source + ")");
        long t0 = System.nanoTime();
        int st = CL.clBuildProgram(p, 1, new cl_device_id[] {device}, options, null, null);
        KernelBuilds.record(System.nanoTime() - t0);
        BUILDS.incrementAndGet();
        if (st != CL.CL_SUCCESS) {
            String log = buildLog(p);
            CL.clReleaseProgram(p);
            throw new BuildFailure(new BackendException("OpenCL: building " + source + " with options [" + options
                    + "] failed: " + Cl.status(st) + "\nbuild log:\n" + log), log);
        }
        return p;
    }

    private String buildLog(cl_program p) {
        long[] size = new long[1];
        if (CL.clGetProgramBuildInfo(p, device, CL.CL_PROGRAM_BUILD_LOG, 0, null, size) != CL.CL_SUCCESS) {
            return "(no build log)";
        }
        byte[] b = new byte[(int) size[0]];
        if (CL.clGetProgramBuildInfo(p, device, CL.CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null) != CL.CL_SUCCESS) {
            return "(no build log)";
        }
        return new String(b, StandardCharsets.UTF_8).replace("\0", "").trim();
    }

    /** How many programs this cache uses. */
    int size() {
        return mine.size();
    }

    /** Programs built in this process so far (builds, not cache hits), for tests. */
    static long buildCount() {
        return BUILDS.get();
    }

    /** Gives back this cache's programs (backend close); a program no open cache uses is released. */
    void release() {
        synchronized (SignalHandlers.LOCK) {
            released = true;
            for (Key k : mine.keySet()) {
                Entry e = PROGRAMS.get(k);
                if (e != null && --e.users == 0) {
                    PROGRAMS.remove(k);
                    CL.clReleaseProgram(e.program);
                }
            }
            mine.clear();
        }
    }
}
