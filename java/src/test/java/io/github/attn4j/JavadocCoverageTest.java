package io.github.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every public type, method, constructor and field of attn4j has its own Javadoc comment. */
class JavadocCoverageTest {
    @Test
    void everyPublicElementIsDocumented() throws Exception {
        List<String> misses = JavadocCoverage.undocumented(Path.of("src", "main", "java"),
                Path.of("target", "javadoc-coverage"));
        assertTrue(misses.isEmpty(), misses.size() + " public elements without a Javadoc comment:\n"
                + String.join("\n", misses));
    }

    @Test
    void reportsAnUndocumentedPublicMethodWithItsLine(@TempDir Path dir) throws Exception {
        Path src = dir.resolve("src").resolve("p");
        Files.createDirectories(src);
        Files.writeString(src.resolve("A.java"), String.join("\n",
                "package p;",
                "/** Documented. */",
                "public class A {",
                "    /** Documented. */",
                "    public A() {}",
                "    /** Documented. */",
                "    public int documented() { return 1; }",
                "    public int bare() { return 2; }",
                "    int packagePrivate() { return 3; }",
                "}", ""));
        List<String> misses = JavadocCoverage.undocumented(dir.resolve("src"), dir.resolve("out"));
        assertEquals(1, misses.size(), String.valueOf(misses));
        assertTrue(misses.get(0).contains("A.java:8:") && misses.get(0).contains("public int bare()"), misses.get(0));
    }
}
