package io.github.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The entry point: usage, command dispatch and the one-line error policy of every command. */
class MainTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run main(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8),
                new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    /** One line on stderr, starting with "error: ", no stack frames, and a non-zero exit. */
    static void assertOneLineError(Run r, String expected) {
        assertTrue(r.code() != 0, "exit code");
        assertEquals("error: " + expected + System.lineSeparator(), r.err());
        assertEquals(1, r.err().lines().count());
        assertFalse(r.err().contains("\tat "));
    }

    @Test
    void noArgumentsPrintsUsageAndFails() {
        Run r = main();
        assertEquals(2, r.code());
        assertTrue(r.err().contains("usage:"));
        Run h = main("--help");
        assertEquals(0, h.code());
        assertTrue(h.out().contains("bench --quick"));
    }

    @Test
    void badCommandsAndFlagsGiveOneLineAndANonZeroExit() {
        assertOneLineError(main("frobnicate"),
                "unknown command 'frobnicate': expected devices, run, verify, bench or plot (see --help)");
        assertOneLineError(main("devices", "--all"), "devices: unknown flag --all (expected one of --help)");
        assertOneLineError(main("run", "frob"), "run: unknown op 'frob': expected sdpa, softmax, additive, additive-backward, sdpa-backward, merge, kv-append, mha or bahdanau");
        Run missingNpy = main("run", "softmax", "--backend", "cpu", "--x", dir.resolve("nope.npy").toString(), "--out",
                dir.resolve("y.npy").toString());
        assertTrue(missingNpy.code() != 0);
        assertTrue(missingNpy.err().startsWith("error: run: ") && missingNpy.err().contains("nope.npy"), missingNpy.err());
        assertEquals(1, missingNpy.err().lines().count());
    }

    @Test
    void devicesListsTheCpuReference() {
        Run r = main("devices");
        assertEquals(0, r.code());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("cpu ") && l.contains("available")), r.out());
    }
}
