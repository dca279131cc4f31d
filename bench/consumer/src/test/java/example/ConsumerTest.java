package example;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Attn4j;
import io.github.attn4j.Backend;
import io.github.attn4j.BackendProvider;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;
import java.net.URL;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/** What a user of the published artifacts sees: two jars, three providers, one op on the reference. */
class ConsumerTest {
    static Path jarOf(Class<?> c) throws Exception {
        URL u = c.getProtectionDomain().getCodeSource().getLocation();
        return Path.of(u.toURI());
    }

    @Test
    void theSplitArtifactsResolveAndTheServiceLoaderFindsEveryBackend() throws Exception {
        Path core = jarOf(Attn4j.class);
        Path cuda = jarOf(Class.forName("io.github.attn4j.cuda.CudaProvider"));
        String repo = System.getProperty("consumer.repo");
        assertTrue(core.toString().endsWith(".jar") && core.getFileName().toString().startsWith("attn4j-0"), core.toString());
        assertTrue(cuda.getFileName().toString().startsWith("attn4j-cuda-"), cuda.toString());
        assertTrue(repo == null || repo.isEmpty() || (core.startsWith(Path.of(repo)) && cuda.startsWith(Path.of(repo))),
                "expected both jars from the fresh repository " + repo + ": " + core + ", " + cuda);
        try (JarFile jar = new JarFile(core.toFile())) {
            assertEquals("io.github.attn4j", jar.getManifest().getMainAttributes().getValue("Automatic-Module-Name"));
            assertNull(jar.getEntry("io/github/attn4j/cuda/CudaProvider.class"), "CUDA classes in the core jar");
            assertTrue(jar.stream().noneMatch(e -> e.getName().startsWith("kernels/cuda/")), "CUDA kernels in the core jar");
        }
        try (JarFile jar = new JarFile(cuda.toFile())) {
            assertEquals("io.github.attn4j.cuda", jar.getManifest().getMainAttributes().getValue("Automatic-Module-Name"));
        }
        List<String> names = Attn4j.providers().stream().map(BackendProvider::name).toList();
        assertEquals(List.of("cuda", "opencl", "cpu"), names);
    }

    @Test
    void oneOpRunsOnTheReference() {
        // One key per query: the softmax weight is 1, so each output row is V's only row.
        int b = 1, h = 2, sq = 3, sk = 1, d = 4;
        float[] q = new float[b * h * sq * d], k = new float[b * h * sk * d], v = new float[b * h * sk * d];
        for (int i = 0; i < q.length; i++) {
            q[i] = (i % 7) * 0.25f - 0.5f;
        }
        for (int i = 0; i < k.length; i++) {
            k[i] = 0.5f - (i % 5) * 0.125f;
            v[i] = i + 1;
        }
        float[] o = new float[b * h * sq * d];
        java.util.Arrays.fill(o, Float.NaN);
        try (Backend cpu = Attn4j.open("cpu")) {
            cpu.sdpa(SdpaParams.builder(Tensor.of(q, b, h, sq, d), Tensor.of(k, b, h, sk, d), Tensor.of(v, b, h, sk, d),
                    Tensor.of(o, b, h, sq, d)).masks(Masks.NONE).build());
        }
        float[] want = new float[o.length];
        for (int hh = 0; hh < h; hh++) {
            for (int i = 0; i < sq; i++) {
                System.arraycopy(v, hh * d, want, (hh * sq + i) * d, d);
            }
        }
        assertArrayEquals(want, o, 1e-6f);
    }
}
