package io.github.attn4j.weights;

import io.github.attn4j.Tensor;
import io.github.attn4j.npy.Npy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A directory of {@code .npy} files, one tensor each, named by the file name without {@code .npy}
 * ({@code in_proj_weight.npy}, {@code model.layers.0.self_attn.q_proj.weight.npy}). Files are read
 * when a tensor is asked for.
 */
public final class NpyDirectory implements WeightSource {
    private final Path dir;
    private final Map<String, Path> files;

    private NpyDirectory(Path dir, Map<String, Path> files) {
        this.dir = dir;
        this.files = files;
    }

    /** Lists the {@code .npy} files of a directory. */
    public static NpyDirectory open(Path dir) {
        Map<String, Path> m = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(".npy")).sorted().forEach(p -> {
                String n = p.getFileName().toString();
                m.put(n.substring(0, n.length() - 4), p);
            });
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot list (" + e + ")", e);
        }
        return new NpyDirectory(dir, m);
    }

    @Override
    public String file() {
        return dir.toString();
    }

    @Override
    public List<String> names() {
        return List.copyOf(files.keySet());
    }

    @Override
    public boolean has(String name) {
        return files.containsKey(name);
    }

    @Override
    public int[] shape(String name) {
        return get(name).shape();
    }

    @Override
    public Tensor get(String name) {
        Path p = files.get(name);
        if (p == null) {
            throw new IllegalArgumentException(dir + ": no tensor '" + name + "' (no " + name + ".npy; the directory has "
                    + files.size() + " .npy files)");
        }
        return Npy.read(p);
    }
}
