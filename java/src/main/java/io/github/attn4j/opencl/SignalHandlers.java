package io.github.attn4j.opencl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Keeps PoCL's LLVM from owning the JVM's signal handlers.
 *
 * <p>What happens without this (PoCL 3.1 with LLVM 15, Debian 12; see the README, "Threads and
 * signal handlers"): the first {@code clGetDeviceIDs} initialises PoCL, which calls
 * {@code llvm::sys::RemoveFileOnSignal}; that installs LLVM's {@code SignalHandler} for SIGSEGV,
 * SIGBUS, SIGILL, SIGTRAP, SIGABRT, SIGQUIT, SIGSYS, SIGXCPU, SIGXFSZ, SIGHUP, SIGINT, SIGTERM and
 * SIGUSR2 (flags {@code SA_RESETHAND | SA_NODEFER | SA_ONSTACK}), and PoCL adds its own SIGFPE
 * handler, which skips integer division instructions. Nothing restores them. The JVM's ordinary
 * SIGSEGVs (implicit null checks, safepoint polls) then reach LLVM first: the handler resets itself
 * to SIG_DFL, puts the saved handlers back, deletes every temporary file LLVM has open (a kernel
 * build running at that moment fails: "unable to rename temporary ..."), and returns, so the fault
 * repeats into the JVM. A second thread faulting inside that window meets SIG_DFL and the process
 * dies (exit 139); a Java {@code x / 0} in compiled code returns a value instead of throwing. Each
 * {@code clBuildProgram} installs LLVM's handlers again (clang's temporary preprocessor output).
 *
 * <p>What this class does: every OpenCL call that can run PoCL's compiler (device enumeration,
 * program builds) runs under one process-wide {@link #LOCK} through {@link #guarded}. Afterwards,
 * if LLVM's handlers are installed (seen in {@code /proc/self/status} {@code SigCgt}: SIGTRAP,
 * SIGABRT, SIGXCPU and SIGSYS are caught, which HotSpot never does) and the JVM runs without
 * signal chaining, it sends this process SIGXFSZ. LLVM's handler takes it, puts back the handlers it
 * saved (the JVM's, SIGFPE included) and returns; no fault repeats, since the signal was sent, and
 * no build is in flight, since the lock is held. Had a JVM fault already done the same, the JVM's
 * own handler receives the SIGXFSZ, and HotSpot ignores SIGXFSZ. It is only sent when SIGXFSZ
 * was caught before OpenCL started, so it can never take the default action (a core dump).
 *
 * <p>The window that remains is the build itself: while PoCL compiles a kernel (1 to 3 s on a CPU),
 * LLVM owns the handlers again. Only signal chaining closes it, so when {@code libjsig.so} is not
 * loaded, one warning says how to start the JVM. {@code -Dattn4j.opencl.restoreSignals=false}
 * turns the restoring off (the warning stays).
 */
final class SignalHandlers {
    /** Held around every OpenCL call that may run PoCL's compiler: one at a time per process. */
    static final Object LOCK = new Object();

    private static final System.Logger LOG = System.getLogger("io.github.attn4j.opencl");
    private static final int SIGTRAP = 5, SIGABRT = 6, SIGXCPU = 24, SIGXFSZ = 25, SIGSYS = 31;
    /** Signals LLVM catches and HotSpot does not: all four caught means LLVM's handlers are in. */
    private static final long LLVM_MARKERS = bit(SIGTRAP) | bit(SIGABRT) | bit(SIGXCPU) | bit(SIGSYS);
    private static final boolean LINUX = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
    /** Caught signals before the first OpenCL call of this process (this class loads just before it). */
    private static final long BASELINE = caughtSignals();
    private static final boolean JSIG = jsigLoaded();
    private static final boolean RESTORE = !"false".equals(System.getProperty("attn4j.opencl.restoreSignals"));
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    /** How long the lock is kept after LLVM's handler started (see {@link #restore()}). */
    private static final long GRACE_MS = 50;
    private static volatile String lastRestore = "never needed";

    private SignalHandlers() {}

    private static long bit(int sig) {
        return 1L << (sig - 1);
    }

    /** Runs {@code call} under {@link #LOCK}, then puts the JVM's signal handlers back if PoCL replaced them. */
    static <T> T guarded(Supplier<T> call) {
        synchronized (LOCK) {
            try {
                return call.get();
            } finally {
                afterNativeCall();
            }
        }
    }

    /** True when the JVM runs with signal chaining ({@code libjsig.so} is mapped into the process). */
    static boolean jsigLoaded() {
        if (!LINUX) {
            return false;
        }
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.anyMatch(l -> l.endsWith("/libjsig.so"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The SigCgt mask of /proc/self/status (bit n-1 = signal n caught), or -1 when unknown. */
    static long caughtSignals() {
        if (!LINUX) {
            return -1;
        }
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
            for (String l : lines) {
                if (l.startsWith("SigCgt:")) {
                    return Long.parseUnsignedLong(l.substring(7).trim(), 16);
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    /** Whether LLVM's handlers are installed now (false when it cannot be told). */
    static boolean llvmHandlersInstalled() {
        long now = caughtSignals();
        return now != -1 && (now & LLVM_MARKERS) == LLVM_MARKERS;
    }

    /** What the last check found, for the devices report and tests. */
    static String status() {
        return (JSIG ? "signal chaining (libjsig) is on" : "no signal chaining (libjsig not loaded)")
                + "; JVM handlers: " + lastRestore;
    }

    private static void afterNativeCall() {
        if (!LINUX || !llvmHandlersInstalled()) {
            return;
        }
        if (JSIG) {
            // libjsig kept the JVM's handlers first and chains to LLVM's: nothing to do.
            return;
        }
        boolean canRestore = RESTORE && BASELINE != -1 && (BASELINE & LLVM_MARKERS) == 0
                && (BASELINE & bit(SIGXFSZ)) != 0;
        String outcome;
        if (canRestore) {
            outcome = restore();
        } else {
            outcome = BASELINE != -1 && (BASELINE & LLVM_MARKERS) != 0
                    ? "left as found (OpenCL was initialised outside attn4j before it)"
                    : RESTORE ? "left as found (SIGXFSZ is not caught by the JVM here)"
                            : "left as found (-Dattn4j.opencl.restoreSignals=false)";
        }
        lastRestore = outcome;
        if (WARNED.compareAndSet(false, true)) {
            String jsig = Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString();
            LOG.log(System.Logger.Level.WARNING, "OpenCL (PoCL's LLVM) replaced the JVM's SIGSEGV, SIGBUS, SIGILL and"
                    + " SIGFPE handlers; attn4j " + (canRestore ? "puts the JVM's back after each OpenCL initialisation"
                    + " and kernel build, but while a kernel compiles" : "could not put them back (" + outcome
                    + "), so from now on") + " a fault in another Java thread can crash the JVM. Start the JVM with"
                    + " signal chaining: LD_PRELOAD=" + jsig + " (the attn4j command line does this itself).");
        }
    }

    /** Sends this process SIGXFSZ and waits until LLVM's handlers are gone. */
    private static String restore() {
        long pid = ProcessHandle.current().pid();
        String kill = Files.isExecutable(Path.of("/bin/kill")) ? "/bin/kill" : "kill";
        try {
            Process p = new ProcessBuilder(kill, "-XFSZ", Long.toString(pid))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            int rc = p.waitFor();
            if (rc != 0) {
                return "not restored (kill -XFSZ exited " + rc + ")";
            }
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (llvmHandlersInstalled()) {
                if (System.nanoTime() > deadline) {
                    return "not restored (LLVM's handlers still installed 2 s after SIGXFSZ)";
                }
                Thread.sleep(1);
            }
            // The markers clear when LLVM's handler starts (it unregisters first); it then deletes the
            // temporary files it knows of. Keep the lock a little longer so that the next build's
            // temporary file is not created before that handler has finished.
            Thread.sleep(GRACE_MS);
            return "restored";
        } catch (IOException e) {
            return "not restored (cannot run kill: " + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "not restored (interrupted)";
        }
    }
}
