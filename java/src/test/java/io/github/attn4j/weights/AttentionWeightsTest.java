package io.github.attn4j.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Tensor;
import io.github.attn4j.npy.Npy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Both naming schemes, prefixes, .npy directories, and the error messages. */
class AttentionWeightsTest {
    private static Tensor seq(int... shape) {
        float[] a = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < a.length; i++) {
            a[i] = i + 1;
        }
        return Tensor.of(a, shape);
    }

    private static SafeTensors file(Map<String, Tensor> m) {
        return SafeTensors.parse("w.safetensors", SafeTensors.bytes(m));
    }

    @Test
    void pytorchMhaSplitsInProj() {
        int e = 8;
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("enc.in_proj_weight", seq(3 * e, e));
        m.put("enc.in_proj_bias", seq(3 * e));
        m.put("enc.out_proj.weight", seq(e, e));
        m.put("enc.out_proj.bias", seq(e));
        AttentionWeights w = AttentionWeights.load(file(m), "enc.", 2, 0);
        assertEquals(2, w.heads());
        assertEquals(2, w.kvHeads());
        assertEquals(4, w.headDim());
        assertEquals(8, w.embed());
        assertArrayEquals(new int[] {8, 8}, w.wk().shape());
        assertEquals(8 * 8 + 1, w.wk().get(0, 0)); // row E of in_proj_weight
        assertEquals(2 * 8 * 8 + 8, w.wv().get(0, 7));
        assertEquals(9, w.bk().get(0));
        assertTrue(w.hasBias());
    }

    @Test
    void llamaWithGqaAndPrefix() {
        String p = "model.layers.0.self_attn.";
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(p + "q_proj.weight", seq(4 * 3, 10)); // Hq = 4, D = 3, E = 10
        m.put(p + "k_proj.weight", seq(2 * 3, 10));
        m.put(p + "v_proj.weight", seq(2 * 3, 10));
        m.put(p + "o_proj.weight", seq(10, 12));
        AttentionWeights w = AttentionWeights.load(file(m), p, 4, 2);
        assertEquals(3, w.headDim());
        assertEquals(10, w.embed());
        assertEquals(2, w.kvHeads());
        assertNull(w.bq());
        String e = assertThrows(IllegalArgumentException.class, () -> AttentionWeights.load(file(m), p, 4, 1)).getMessage();
        assertEquals("w.safetensors: tensor '" + p + "k_proj.weight': expected shape [3, 10] [Hkv·D, Ek] = [1·3, Ek], got [6, 10]",
                e);
        String missing = assertThrows(IllegalArgumentException.class, () -> AttentionWeights.load(file(m), "other.", 4, 2))
                .getMessage();
        assertTrue(missing.startsWith("w.safetensors: tensor 'other.q_proj.weight' not found (Llama/HF naming)"), missing);
        m.put(p + "o_proj.weight", seq(10, 11));
        String shape = assertThrows(IllegalArgumentException.class, () -> AttentionWeights.load(file(m), p, 4, 2)).getMessage();
        assertEquals("w.safetensors: tensor '" + p + "o_proj.weight': expected shape [10, 12], got [10, 11]", shape);
    }

    @Test
    void npyDirectoryAndMisShapedBias(@TempDir Path dir) throws Exception {
        int e = 6;
        Npy.write(dir.resolve("in_proj_weight.npy"), seq(3 * e, e));
        Npy.write(dir.resolve("out_proj.weight.npy"), seq(e, e));
        Files.writeString(dir.resolve("README.txt"), "not a tensor");
        WeightSource src = WeightSource.open(dir);
        AttentionWeights w = AttentionWeights.load(src, "", 3, 3);
        assertEquals(2, w.headDim());
        Npy.write(dir.resolve("in_proj_bias.npy"), seq(3 * e + 1));
        Npy.write(dir.resolve("out_proj.bias.npy"), seq(e));
        String msg = assertThrows(IllegalArgumentException.class, () -> AttentionWeights.load(WeightSource.open(dir), "", 3, 0))
                .getMessage();
        assertEquals(dir + ": tensor 'in_proj_bias': expected shape [18], got [19]", msg);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AttentionWeights.load(src, "", 4, 0)).getMessage()
                .startsWith("heads: expected a divisor of E = 6"));
    }
}
