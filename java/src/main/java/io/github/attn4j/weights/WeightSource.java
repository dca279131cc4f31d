package io.github.attn4j.weights;

import io.github.attn4j.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Named tensors read from files: a {@code .safetensors} file ({@link SafeTensors}) or a directory of
 * {@code <name>.npy} files ({@link NpyDirectory}). Tensors come back as contiguous host tensors.
 */
public interface WeightSource {
    /** Where the tensors come from (for error messages). */
    String file();

    /** Every tensor name. */
    List<String> names();

    /** True when there is a tensor of this name. */
    boolean has(String name);

    /** A tensor's shape, without reading its data; throws {@link IllegalArgumentException} when absent. */
    int[] shape(String name);

    /** A tensor as a host tensor; throws {@link IllegalArgumentException} when absent. */
    Tensor get(String name);

    /** A {@code .safetensors} file, or a directory of {@code .npy} files, by what the path is. */
    static WeightSource open(Path path) {
        if (Files.isDirectory(path)) {
            return NpyDirectory.open(path);
        }
        if (path.toString().endsWith(".npy")) {
            throw new IllegalArgumentException(path + ": a .npy file holds one tensor; give the directory of"
                    + " <name>.npy files, or a .safetensors file");
        }
        return SafeTensors.read(path);
    }
}
