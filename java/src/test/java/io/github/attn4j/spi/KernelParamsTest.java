package io.github.attn4j.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.AdditiveParams;
import io.github.attn4j.Alignment;
import io.github.attn4j.DType;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Parses the structs of {@code kernels/attn_params.h} (the copy packaged in the jar) and checks that
 * {@link KernelParams} packs the same fields, in the same order, with the same C layout (offsets,
 * size), and puts the right values at the header's offsets.
 */
class KernelParamsTest {
    /** A field of a parsed struct: its name, C type, byte offset and size. */
    record Field(String name, String type, int offset, int size) {}

    /** A parsed struct: fields in order (nested structs flattened as "m{", ..., "}"), size, alignment. */
    record Struct(String name, List<Field> fields, int size, int align) {}

    static final Map<String, Struct> STRUCTS = new LinkedHashMap<>();

    @BeforeAll
    static void parseHeader() throws IOException {
        String text;
        try (InputStream in = KernelParamsTest.class.getResourceAsStream("/kernels/attn_params.h")) {
            assertNotNull(in, "kernels/attn_params.h is not packaged as a resource");
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        text = text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
        Matcher m = Pattern.compile("typedef\\s+struct\\s+(\\w+)\\s*\\{([^}]*)\\}\\s*(\\w+)\\s*;").matcher(text);
        while (m.find()) {
            assertEquals(m.group(1), m.group(3), "typedef name");
            STRUCTS.put(m.group(1), layout(m.group(1), m.group(2)));
        }
        assertTrue(STRUCTS.keySet().containsAll(List.of("attn_mask_params", "attn_sdpa_params", "attn_softmax_params",
                "attn_softmax_bwd_params", "attn_additive_params", "attn_gemm_params", "attn_bgemm_params", "attn_copy_params")), STRUCTS.keySet().toString());
    }

    private static int sizeOf(String type) {
        return switch (type) {
            case "a_i64" -> 8;
            case "a_i32", "a_f32" -> 4;
            default -> throw new AssertionError("unknown field type " + type);
        };
    }

    /** C layout: each field aligned to its size, nested structs to their alignment, size padded. */
    private static Struct layout(String name, String body) {
        List<Field> fields = new ArrayList<>();
        int off = 0, maxAlign = 1;
        for (String stmt : body.split(";")) {
            String s = stmt.trim();
            if (s.isEmpty()) {
                continue;
            }
            String[] parts = s.split("\\s+", 2);
            String type = parts[0];
            for (String n : parts[1].split(",")) {
                String fname = n.trim();
                Struct nested = STRUCTS.get(type);
                if (nested != null) {
                    off = align(off, nested.align());
                    maxAlign = Math.max(maxAlign, nested.align());
                    fields.add(new Field(fname + "{", type, off, 0));
                    for (Field f : nested.fields()) {
                        fields.add(new Field(f.name(), f.type(), off + f.offset(), f.size()));
                    }
                    off += nested.size();
                    fields.add(new Field("}", type, off, 0));
                } else {
                    int size = sizeOf(type);
                    off = align(off, size);
                    maxAlign = Math.max(maxAlign, size);
                    fields.add(new Field(fname, type, off, size));
                    off += size;
                }
            }
        }
        return new Struct(name, fields, align(off, maxAlign), maxAlign);
    }

    private static int align(int off, int a) {
        return (off + a - 1) / a * a;
    }

    private static Tensor f(int... shape) {
        return Tensor.of(new float[Math.toIntExact(Tensor.numel(shape))], shape);
    }

    /** Checks names, types' sizes and the total size; returns the packed bytes. */
    private static ByteBuffer check(String struct, StructWriter w) {
        Struct s = STRUCTS.get(struct);
        List<String> expected = s.fields().stream().map(Field::name).toList();
        assertEquals(expected, w.names(), struct + ": field order");
        byte[] b = w.bytes();
        assertEquals(s.size(), b.length, struct + ": size");
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static Field field(String struct, String name) {
        return STRUCTS.get(struct).fields().stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError(struct + " has no field " + name));
    }

    private static void i32(ByteBuffer b, String struct, String name, int v) {
        Field f = field(struct, name);
        assertEquals(4, f.size());
        assertEquals(v, b.getInt(f.offset()), struct + "." + name);
    }

    private static void i64(ByteBuffer b, String struct, String name, long v) {
        Field f = field(struct, name);
        assertEquals(8, f.size());
        assertEquals(v, b.getLong(f.offset()), struct + "." + name);
    }

    private static void f32(ByteBuffer b, String struct, String name, float v) {
        assertEquals(v, b.getFloat(field(struct, name).offset()), struct + "." + name);
    }

    @Test
    void sdpa() {
        // B=2, Hq=4, Hkv=2, Sq=3, Sk=5, D=8, Dv=6; q viewed at offset 7 in BSHD strides.
        Tensor qMem = f(7 + 2 * 4 * 3 * 8);
        Tensor q = qMem.view(7, new int[] {2, 4, 3, 8}, io.github.attn4j.Layout.BSHD.strides(2, 4, 3, 8));
        Masks m = Masks.builder().alignment(Alignment.TOP_LEFT).window(2, 1).kvLengths(5, 4).qLengths(3, 2)
                .boolMask(Tensor.ofBool(new boolean[15], 3, 5)).bias(f(2, 1, 3, 5)).alibi(f(4)).build();
        SdpaParams p = SdpaParams.builder(q, f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6)).lse(f(2, 4, 3)).masks(m)
                .scale(0.25f).softcap(30f).build();
        String s = "attn_sdpa_params";
        ByteBuffer b = check(s, KernelParams.sdpa(p));
        i64(b, s, "q_off", 7);
        i64(b, s, "q_sh", 8);
        i64(b, s, "q_ss", 32);
        i64(b, s, "v_sh", 30);
        i64(b, s, "lse_sh", 3);
        i32(b, s, "batch", 2);
        i32(b, s, "heads_q", 4);
        i32(b, s, "heads_kv", 2);
        i32(b, s, "group", 2);
        i32(b, s, "seq_q", 3);
        i32(b, s, "seq_k", 5);
        i32(b, s, "head_dim", 8);
        i32(b, s, "head_dim_v", 6);
        f32(b, s, "scale", 0.25f);
        f32(b, s, "scale_log2", (float) (0.25 / Math.log(2)));
        f32(b, s, "softcap", 30f);
        i32(b, s, "flags", 0x3F | KernelParams.F_LSE | KernelParams.F_SOFTCAP);
        i64(b, s, "mask_sb", 0);       // [Sq, Sk] mask broadcast over B and H
        i64(b, s, "mask_sq", 5);
        i64(b, s, "bias_sb", 15);
        i64(b, s, "bias_sh", 0);
        i64(b, s, "alibi_sb", 0);
        i64(b, s, "alibi_sh", 1);
        i32(b, s, "win_left", 2);
        i32(b, s, "win_right", 1);
        i32(b, s, "align_off", 0);
        Masks br = Masks.builder().build();
        ByteBuffer b2 = check(s, KernelParams.sdpa(SdpaParams.builder(f(1, 1, 3, 8), f(1, 1, 5, 8), f(1, 1, 5, 8),
                f(1, 1, 3, 8)).masks(br).build()));
        i32(b2, s, "align_off", 2);
        i32(b2, s, "win_left", -1);
        i32(b2, s, "flags", 0);
    }

    @Test
    void sdpaBackward() {
        // B=2, Hq=4, Hkv=2, Sq=3, Sk=5, D=8, Dv=6; bias [1, 4, 3, 5] with dBias of the same shape.
        Tensor bias = f(1, 4, 3, 5);
        Masks m = Masks.builder().causal().kvLengths(5, 4).bias(bias).build();
        SdpaBackwardParams p = SdpaBackwardParams.builder(f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 2, 5, 6), f(2, 4, 3, 6),
                f(2, 4, 3, 6), f(2, 4, 3), f(2, 4, 3, 8), f(2, 2, 5, 8), f(2, 2, 5, 6)).masks(m).dbias(f(1, 4, 3, 5))
                .scale(0.25f).softcap(30f).build();
        String s = "attn_sdpa_bwd_params";
        ByteBuffer b = check(s, KernelParams.sdpaBackward(p));
        i64(b, s, "do_sh", 18);
        i64(b, s, "dk_sh", 40);
        i64(b, s, "dv_ss", 6);
        i64(b, s, "db_sh", 15);
        i64(b, s, "lse_sh", 3);
        i32(b, s, "group", 2);
        i32(b, s, "db_batch", 1);
        i32(b, s, "db_heads", 4);
        f32(b, s, "scale", 0.25f);
        f32(b, s, "softcap", 30f);
        i32(b, s, "flags", KernelParams.F_BIAS | KernelParams.F_KV_LENGTHS | KernelParams.F_WINDOW
                | KernelParams.F_SOFTCAP | KernelParams.F_DBIAS);
        i32(b, s, "align_off", 2);
    }

    @Test
    void softmaxAndBackward() {
        Tensor x = f(2, 3, 4, 5);
        SoftmaxParams p = SoftmaxParams.builder(x, x).scale(0.5f).masks(Masks.causal()).build();
        String s = "attn_softmax_params";
        ByteBuffer b = check(s, KernelParams.softmax(p));
        i64(b, s, "x_sh", 20);
        i64(b, s, "y_sq", 5);
        i32(b, s, "heads", 3);
        i32(b, s, "seq_k", 5);
        f32(b, s, "scale", 0.5f);
        i32(b, s, "flags", KernelParams.F_WINDOW);
        i32(b, s, "win_right", 0);
        i32(b, s, "align_off", 1);
        SoftmaxBackwardParams pb = SoftmaxBackwardParams.builder(f(6, 7), f(6, 7), f(6, 7)).scale(3f).build();
        String sb = "attn_softmax_bwd_params";
        ByteBuffer bb = check(sb, KernelParams.softmaxBackward(pb));
        i64(bb, sb, "dx_sq", 7);
        i32(bb, sb, "seq_q", 6);
        f32(bb, sb, "scale", 3f);
    }

    @Test
    void additiveAndGemm() {
        AdditiveParams p = AdditiveParams.builder(f(2, 3, 4, 6), f(2, 3, 5, 6), f(2, 3, 5, 7), f(6), f(2, 3, 4, 7))
                .tanhBias(f(6)).weights(f(2, 3, 4, 5)).build();
        String s = "attn_additive_params";
        ByteBuffer b = check(s, KernelParams.additive(p));
        i64(b, s, "kp_ss", 6);
        i64(b, s, "wts_sh", 20);
        i32(b, s, "dim_a", 6);
        i32(b, s, "head_dim_v", 7);
        i32(b, s, "flags", KernelParams.F_WEIGHTS | KernelParams.F_ADD_BIAS);
        String g = "attn_gemm_params";
        ByteBuffer bg = check(g, KernelParams.gemmProjection(f(2, 3, 4, 9), f(6, 9), f(2, 3, 4, 6)));
        i64(bg, g, "a_sm", 9);
        i64(bg, g, "b_sn", 9);
        i64(bg, g, "c_sh", 24);
        i32(bg, g, "m", 4);
        i32(bg, g, "n", 6);
        i32(bg, g, "k", 9);
        i32(bg, g, "heads", 3);
    }

    @Test
    void publicGemm() {
        // op(A) = A^T of a [3, 5, 4] A (K = 5, M = 4), B shared [5, 6], C [3, 4, 6]
        io.github.attn4j.GemmParams p = io.github.attn4j.GemmParams.builder(f(3, 5, 4), f(5, 6), f(3, 4, 6)).transA(true)
                .alpha(2f).beta(0.5f).build();
        String g = "attn_gemm_op_params";
        ByteBuffer b = check(g, KernelParams.gemm(p));
        i64(b, g, "a_sz", 20);
        i64(b, g, "a_sm", 1);
        i64(b, g, "a_sk", 4);
        i64(b, g, "b_sz", 0);
        i64(b, g, "b_sk", 6);
        i64(b, g, "b_sn", 1);
        i64(b, g, "c_sz", 24);
        i32(b, g, "m", 4);
        i32(b, g, "n", 6);
        i32(b, g, "k", 5);
        i32(b, g, "batch", 3);
        f32(b, g, "alpha", 2f);
        f32(b, g, "beta", 0.5f);
    }

    @Test
    void rope() {
        Tensor x = f(2, 3, 5, 8);
        io.github.attn4j.RopeParams p = io.github.attn4j.RopeParams.builder(x, f(2, 3, 5, 8)).offset(7).theta(500f).build();
        String g = "attn_rope_params";
        ByteBuffer b = check(g, KernelParams.rope(p));
        i64(b, g, "x_sh", 40);
        i64(b, g, "o_ss", 8);
        i32(b, g, "seq", 5);
        i32(b, g, "head_dim", 8);
        i32(b, g, "offset", 7);
        f32(b, g, "theta", 500f);
    }

    @Test
    void ropeInverse() {
        Tensor x = f(2, 3, 5, 8);
        String g = "attn_rope_params";
        i32(check(g, KernelParams.rope(io.github.attn4j.RopeParams.builder(x, x).build())), g, "inverse", 0);
        i32(check(g, KernelParams.rope(io.github.attn4j.RopeParams.builder(x, x).inverse().build())), g, "inverse", 1);
    }

    @Test
    void batchedGemm() {
        KernelParams.Operand o = new KernelParams.Operand(1, 2, 3, 4, 5);
        String g = "attn_bgemm_params";
        ByteBuffer b = check(g, new KernelParams.Bgemm(o, o, o, 6, 7, 8, 9, 10, 11, 0.5f, KernelParams.BGEMM_K_KVLEN).pack());
        i64(b, g, "b_sk", 4);
        i64(b, g, "c_sn", 5);
        i32(b, g, "group", 11);
        f32(b, g, "alpha", 0.5f);
        i32(b, g, "flags", KernelParams.BGEMM_K_KVLEN);
    }

    @Test
    void stridedCopy() {
        Tensor a = f(3, 4, 5);
        Tensor b = Tensor.of(io.github.attn4j.HostMemory.of(new float[62]), DType.F32, new int[] {3, 4, 5},
                new long[] {20, 1, 4}, 2);
        String c = "attn_copy_params";
        ByteBuffer bb = check(c, KernelParams.copy(a, b));
        i64(bb, c, "src_s0", 0);
        i64(bb, c, "src_s1", 20);
        i64(bb, c, "dst_s3", 4);
        i64(bb, c, "dst_off", 2);
        i32(bb, c, "d0", 1);
        i32(bb, c, "d3", 5);
    }

    @Test
    void merge() {
        // Two parts (the second O at offset 3 in BSHD strides), output with LSE: 8 part slots, then out.
        Tensor oMem = f(3 + 2 * 3 * 4 * 5);
        Tensor o1 = oMem.view(3, new int[] {2, 3, 4, 5}, io.github.attn4j.Layout.BSHD.strides(2, 3, 4, 5));
        io.github.attn4j.MergeParams p = io.github.attn4j.MergeParams.builder(List.of(f(2, 3, 4, 5), o1),
                List.of(f(2, 3, 4), f(2, 3, 4)), f(2, 3, 4, 5)).lse(f(2, 3, 4)).build();
        String m = "attn_merge_params";
        ByteBuffer bb = check(m, KernelParams.merge(p));
        Struct part = STRUCTS.get("attn_merge_part");
        assertEquals(72, part.size());
        int p1 = field(m, "p1{").offset(), out = 8 * part.size();
        assertEquals(part.size(), p1);
        assertEquals(3, bb.getLong(p1)); // p1.o_off
        assertEquals(60, bb.getLong(p1 + 8)); // p1.o_sb: BSHD [2, 3, 4, 5] = S*H*D
        assertEquals(5, bb.getLong(p1 + 16)); // p1.o_sh = D
        assertEquals(0, bb.getLong(2 * part.size())); // p2 absent: zeros
        assertEquals(out, field(m, "out{").offset());
        i32(bb, m, "n_parts", 2);
        i32(bb, m, "flags", KernelParams.F_LSE);
        i32(bb, m, "head_dim_v", 5);
    }

    @Test
    void kvAppend() {
        Tensor bt = Tensor.of(io.github.attn4j.HostMemory.of(new int[] {0, 1, 2, 3}), DType.I32, new int[] {2, 2},
                new long[] {2, 1}, 0);
        io.github.attn4j.KvAppendParams p = io.github.attn4j.KvAppendParams.builder(f(2, 3, 4, 8), f(2, 3, 4, 6),
                f(4, 5, 3, 8), f(4, 5, 3, 6), bt, 0, 6).build();
        String k = "attn_kv_append_params";
        ByteBuffer bb = check(k, KernelParams.kvAppend(p));
        i64(bb, k, "kc_sp", 5 * 3 * 8);
        i64(bb, k, "kc_ss", 3 * 8);
        i64(bb, k, "kc_sh", 8);
        i64(bb, k, "vn_sh", 4 * 6);
        i64(bb, k, "bt_sb", 2);
        i32(bb, k, "page_size", 5);
        i32(bb, k, "max_pages", 2);
        i32(bb, k, "head_dim_v", 6);
    }
}
