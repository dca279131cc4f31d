package io.github.attn4j.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.JavadocCoverage;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every public type, method, constructor and field of attn4j-cuda has its own Javadoc comment. */
class JavadocCoverageTest {
    @Test
    void everyPublicElementIsDocumented() throws Exception {
        List<String> misses = JavadocCoverage.undocumented(Path.of("src", "main", "java"),
                Path.of("target", "javadoc-coverage"));
        assertTrue(misses.isEmpty(), misses.size() + " public elements without a Javadoc comment:\n"
                + String.join("\n", misses));
    }
}
