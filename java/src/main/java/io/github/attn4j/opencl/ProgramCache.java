package io.github.attn4j.opencl;

import io.github.attn4j.BackendException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;

/**
 * Built programs, one per {@link Key}: (context, device, source file, build options). A program is
 * the concatenation {@code attn_params.h + opencl/common.cl + opencl/<source>}, read from the
 * {@code /kernels} resources packaged in the jar. A failed build throws a {@link BackendException}
 * that carries the options and the build log.
 */
final class ProgramCache {
    /** What a built program depends on; the context and device are identified by their handles. */
    record Key(long context, long device, String source, String options) {}

    private static final Map<String, String> SOURCES = new ConcurrentHashMap<>();

    private final cl_context context;
    private final cl_device_id device;
    private final Map<Key, cl_program> programs = new ConcurrentHashMap<>();

    ProgramCache(cl_context context, cl_device_id device) {
        this.context = context;
        this.device = device;
    }

    /** The program for {@code source} (e.g. "sdpa.cl") built with {@code options}; cached. */
    cl_program get(String source, String options) {
        Key key = new Key(context.getNativePointer(), device.getNativePointer(), source, options);
        cl_program p = programs.get(key);
        if (p != null) {
            return p;
        }
        synchronized (this) {
            return programs.computeIfAbsent(key, k -> build(source, options));
        }
    }

    int size() {
        return programs.size();
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

    private cl_program build(String source, String options) {
        String text = programText(source);
        int[] err = new int[1];
        cl_program p = Cl.created(CL.clCreateProgramWithSource(context, 1, new String[] {text}, null, err), err,
                "clCreateProgramWithSource(" + source + ")");
        int st = CL.clBuildProgram(p, 1, new cl_device_id[] {device}, options, null, null);
        if (st != CL.CL_SUCCESS) {
            String log = buildLog(p);
            CL.clReleaseProgram(p);
            throw new BackendException("OpenCL: building " + source + " with options [" + options + "] failed: "
                    + Cl.status(st) + "\nbuild log:\n" + log);
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

    /** Releases every program (backend close). */
    void release() {
        for (cl_program p : programs.values()) {
            CL.clReleaseProgram(p);
        }
        programs.clear();
    }
}
