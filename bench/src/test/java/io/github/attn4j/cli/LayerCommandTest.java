package io.github.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Tensor;
import io.github.attn4j.npy.Npy;
import io.github.attn4j.weights.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * run mha, run bahdanau and plot on the cpu backend: the golden PyTorch block through the command
 * line, the Bahdanau example, a PNG, and bad input as one line with exit code 2.
 */
class LayerCommandTest {
    static final Path GOLDEN = Path.of("..", "java", "src", "test", "resources", "golden");
    static final Path BAHDANAU = Path.of("docs", "bahdanau");

    @TempDir
    Path dir;

    @Test
    void mhaMatchesPyTorchThroughTheCommandLine() {
        Path y = dir.resolve("y.npy");
        CliSmokeTest.Out r = CliSmokeTest.call(RunCommand::run, "mha", "--backend", "cpu", "--x",
                GOLDEN.resolve("llama_x.npy").toString(), "--weights", GOLDEN.resolve("llama.safetensors").toString(),
                "--prefix", "model.layers.0.self_attn.", "--heads", "4", "--kv-heads", "2", "--causal", "--rope", "10000",
                "--out", y.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Llama/HF naming, E=24, Hq=4, Hkv=2, D=8"), r.out());
        float[] got = Npy.read(y).toFloatArray(), want = Npy.read(GOLDEN.resolve("llama_y.npy")).toFloatArray();
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5, "element " + i);
        }
    }

    @Test
    void bahdanauThenPlot() throws Exception {
        Path c = dir.resolve("c.npy"), a = dir.resolve("a.npy"), png = dir.resolve("a.png");
        CliSmokeTest.Out r = CliSmokeTest.call(RunCommand::run, "bahdanau", "--backend", "cpu", "--enc",
                BAHDANAU.resolve("enc.npy").toString(), "--dec", BAHDANAU.resolve("dec.npy").toString(), "--weights",
                BAHDANAU.resolve("weights.safetensors").toString(), "--out", c.toString(), "--alignment", a.toString());
        assertEquals(0, r.code(), r.err());
        Tensor al = Npy.read(a);
        assertEquals(4, al.rank());
        for (int i = 0; i < al.dim(2); i++) {
            double sum = 0;
            for (int j = 0; j < al.dim(3); j++) {
                sum += al.get(0, 0, i, j);
            }
            assertEquals(1.0, sum, 1e-5, "alignment row " + i);
        }
        CliSmokeTest.Out p = CliSmokeTest.call(Main::run, "plot", "--weights", a.toString(), "--out", png.toString(),
                "--tgt-tokens", "a b c d e f g h i j k l m n");
        assertEquals(0, p.code(), p.err());
        assertTrue(Files.size(png) > 1000);
        CliSmokeTest.oneLineError(CliSmokeTest.call(Main::run, "plot", "--weights", a.toString(), "--out", png.toString(),
                "--src-tokens", "too few"), "--src-tokens: expected 13 tokens (Sk of the weights), got 2");
    }

    @Test
    void badWeightsAreOneLine() {
        Path w = dir.resolve("w.safetensors");
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("q_proj.weight", Tensor.of(new float[8 * 6], 8, 6));
        SafeTensors.write(w, m);
        Path x = dir.resolve("x.npy");
        Npy.write(x, Tensor.of(new float[2 * 3 * 6], 2, 3, 6));
        CliSmokeTest.oneLineError(CliSmokeTest.call(RunCommand::run, "mha", "--backend", "cpu", "--x", x.toString(),
                "--weights", w.toString(), "--heads", "2", "--out", dir.resolve("y.npy").toString()),
                "tensor 'k_proj.weight' not found (Llama/HF naming)");
        CliSmokeTest.oneLineError(CliSmokeTest.call(RunCommand::run, "mha", "--backend", "cpu", "--x", x.toString(),
                "--weights", w.toString(), "--heads", "zero", "--out", "y.npy"), "--heads: expected an integer");
    }
}
