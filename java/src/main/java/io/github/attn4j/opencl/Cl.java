package io.github.attn4j.opencl;

import io.github.attn4j.BackendException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * Return-code checks and info queries. attn4j never turns on JOCL's exceptions (a process-wide
 * switch); every {@code cl*} status goes through {@link #check} and becomes a
 * {@link BackendException} that names the status and what was being done.
 */
final class Cl {
    private Cl() {}

    /** The status name, e.g. {@code CL_OUT_OF_RESOURCES (-5)}. */
    static String status(int code) {
        String s;
        try {
            s = CL.stringFor_errorCode(code);
        } catch (RuntimeException e) {
            s = "CL_UNKNOWN";
        }
        return s + " (" + code + ")";
    }

    /** Throws when {@code code} is not {@code CL_SUCCESS}; {@code what} says which call and on what. */
    static void check(int code, String what) {
        if (code != CL.CL_SUCCESS) {
            throw new BackendException("OpenCL: " + what + " failed: " + status(code));
        }
    }

    /** For the {@code clCreate*} calls that report through an errcode array. */
    static <T> T created(T obj, int[] err, String what) {
        check(err[0], what);
        if (obj == null) {
            throw new BackendException("OpenCL: " + what + " returned null");
        }
        return obj;
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        check(CL.clGetDeviceInfo(d, param, 0, null, size), "clGetDeviceInfo(" + param + ")");
        byte[] buf = new byte[(int) size[0]];
        check(CL.clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null), "clGetDeviceInfo(" + param + ")");
        return cstring(buf);
    }

    static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        check(CL.clGetPlatformInfo(p, param, 0, null, size), "clGetPlatformInfo(" + param + ")");
        byte[] buf = new byte[(int) size[0]];
        check(CL.clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null), "clGetPlatformInfo(" + param + ")");
        return cstring(buf);
    }

    /** A cl_ulong, cl_uint or size_t device parameter, as a long ({@code bytes} = 4 or 8). */
    static long deviceLong(cl_device_id d, int param, int bytes) {
        ByteBuffer b = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
        check(CL.clGetDeviceInfo(d, param, bytes, Pointer.to(b), null), "clGetDeviceInfo(" + param + ")");
        return bytes == 4 ? b.getInt(0) & 0xffffffffL : b.getLong(0);
    }

    static long deviceSizeT(cl_device_id d, int param) {
        return deviceLong(d, param, Sizeof.size_t);
    }

    /** The build log of {@code program} on {@code device}, trimmed; empty when there is none or it cannot be read. */
    static String buildLog(org.jocl.cl_program program, cl_device_id device) {
        long[] size = new long[1];
        if (CL.clGetProgramBuildInfo(program, device, CL.CL_PROGRAM_BUILD_LOG, 0, null, size) != CL.CL_SUCCESS
                || size[0] <= 1) {
            return "";
        }
        byte[] b = new byte[Math.toIntExact(size[0])];
        if (CL.clGetProgramBuildInfo(program, device, CL.CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null)
                != CL.CL_SUCCESS) {
            return "";
        }
        return cstring(b);
    }

    private static String cstring(byte[] b) {
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8).trim();
    }
}
