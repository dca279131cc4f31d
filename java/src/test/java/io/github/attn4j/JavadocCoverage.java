package io.github.attn4j;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * Lists the public and protected types, methods, constructors and fields of a source tree that
 * have no Javadoc comment of their own, by running the JDK's javadoc with doclint's {@code missing}
 * group. The javadoc jar of the build runs doclint without that group (its {@code @param} and
 * {@code @return} rules would ask for a tag on every accessor); this keeps "every public element
 * has its own comment" checked, with one {@code file:line: element} per miss.
 */
public final class JavadocCoverage {
    private JavadocCoverage() {}

    /**
     * The undocumented public elements under {@code sourceRoot}, as {@code path:line: source line}.
     *
     * @param sourceRoot a module's {@code src/main/java}
     * @param outDir a scratch folder for javadoc's output (under {@code target/})
     * @return one entry per "no comment" warning, empty when everything is documented
     * @throws IOException if the sources cannot be listed
     */
    public static List<String> undocumented(Path sourceRoot, Path outDir) throws IOException {
        ToolProvider javadoc = ToolProvider.findFirst("javadoc")
                .orElseThrow(() -> new IllegalStateException("no javadoc tool in this JDK"));
        List<String> args = new ArrayList<>(List.of("-quiet", "-Xdoclint:missing", "-Xmaxwarns", "100000",
                "-encoding", "UTF-8", "-d", outDir.toString(),
                "-cp", System.getProperty("java.class.path")));
        try (Stream<Path> files = Files.walk(sourceRoot)) {
            files.filter(f -> f.toString().endsWith(".java")).map(Path::toString).sorted().forEach(args::add);
        }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (PrintWriter out = new PrintWriter(buf, true, StandardCharsets.UTF_8)) {
            int rc = javadoc.run(out, out, args.toArray(String[]::new));
            out.flush();
            String text = buf.toString(StandardCharsets.UTF_8);
            if (rc != 0) {
                throw new IllegalStateException("javadoc failed (" + rc + "):\n" + text);
            }
            List<String> misses = new ArrayList<>();
            String[] lines = text.split("\\R");
            for (int i = 0; i < lines.length; i++) {
                if (lines[i].endsWith("warning: no comment")) {
                    String at = lines[i].substring(0, lines[i].length() - "warning: no comment".length());
                    misses.add(at + (i + 1 < lines.length ? lines[i + 1].strip() : ""));
                }
            }
            return misses;
        }
    }
}
