package io.github.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** {@link Attn4j#open()} falling back to the reference logs one WARNING that says what the reference is. */
class ReferenceFallbackWarningTest {
    /** A logger that keeps what it is given. */
    static final class Recording implements System.Logger {
        final List<String> records = new ArrayList<>();

        @Override
        public String getName() {
            return "recording";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            records.add(level + " " + msg);
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            records.add(level + " " + format);
        }

        @Override
        public void log(Level level, Supplier<String> msg) {
            records.add(level + " " + msg.get());
        }
    }

    @Test
    void oneWarningPerProcess() {
        Recording log = new Recording();
        AtomicBoolean once = new AtomicBoolean();
        List<String> why = List.of("cuda: no NVIDIA driver", "opencl: no OpenCL platform or device found");
        assertTrue(Attn4j.warnReferenceFallback(log, once, why));
        assertFalse(Attn4j.warnReferenceFallback(log, once, why));
        assertFalse(Attn4j.warnReferenceFallback(log, once, List.of()));
        assertEquals(1, log.records.size(), log.records.toString());
        String m = log.records.get(0);
        assertTrue(m.startsWith("WARNING "), m);
        for (String part : new String[] {"float64 reference", "correctness oracle", "1000x slower",
                "cuda: no NVIDIA driver; opencl: no OpenCL platform", "pocl-opencl-icd ocl-icd-libopencl1",
                "NVIDIA driver", "-Dattn4j.backend=cpu"}) {
            assertTrue(m.contains(part), "'" + part + "' in " + m);
        }
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void theLoggerIsThePackages() {
        assertEquals("io.github.attn4j", Attn4j.LOG.getName());
    }
}
