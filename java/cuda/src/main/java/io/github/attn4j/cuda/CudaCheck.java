package io.github.attn4j.cuda;

import io.github.attn4j.BackendException;
import jcuda.driver.CUresult;

/** Turns CUresult codes into {@link BackendException}s. The library never enables JCuda exceptions. */
final class CudaCheck {
    private CudaCheck() {}

    /** The CUresult name, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}, without touching native code. */
    static String name(int result) {
        try {
            return CUresult.stringFor(result);
        } catch (LinkageError e) {
            return "CUresult " + result;
        }
    }

    static void check(int result, String what) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new BackendException("cuda: " + what + " failed: " + name(result) + " (" + result + ")");
        }
    }

    /** Checks a kernel launch; the message names the kernel and its grid/block. */
    /** {@code launch} describes the kernel and its shape ({@code Plan.Step.describe()}). */
    static void checkLaunch(int result, String launch) {
        if (result != CUresult.CUDA_SUCCESS) {
            throw new BackendException(message(result, launch));
        }
    }

    static String message(int result, String launch) {
        return "cuda: launching " + launch + " failed: " + name(result) + " (" + result + ")";
    }

    /** The first line of a native loading error, or the line naming the missing shared object. */
    static String oneLine(Throwable e) {
        String msg = String.valueOf(e.getMessage());
        String detail = msg.lines().filter(l -> l.contains("cannot open shared object file")).findFirst()
                .map(l -> l.substring(l.indexOf(": ") + 2).trim()).orElse(msg.lines().findFirst().orElse(""));
        return e.getClass().getSimpleName() + ": " + detail;
    }
}
