package io.github.attn4j.cuda.tc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The Java mirror of the tile table and the kernel signatures agree with the CUDA sources. */
class TcTraitsTableTest {

    static String resource(String path) throws IOException {
        try (InputStream in = TcTraitsTableTest.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IOException("missing resource " + path + " (kernels/ is packaged under /kernels)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Rows of ATTN_TC_TRAITS_TABLE parsed from the header. */
    static List<TcTraits> parseTable(String header) {
        int start = header.indexOf("#define ATTN_TC_TRAITS_TABLE(X)");
        assertTrue(start >= 0, "table macro not found");
        int end = header.indexOf("\n\n", start);
        String body = header.substring(start, end);
        Matcher m = Pattern.compile("X\\(\\s*(\\d+),\\s*(\\d+),\\s*(\\d+),\\s*(\\d+),\\s*(\\d+),\\s*([01]),\\s*([01])\\)")
                .matcher(body);
        List<TcTraits> rows = new ArrayList<>();
        while (m.find()) {
            rows.add(new TcTraits(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5)),
                    m.group(6).equals("1"), m.group(7).equals("1")));
        }
        return rows;
    }

    @Test
    void javaTableMirrorsHeader() throws IOException {
        String h = resource("/kernels/cuda/tc_traits.cuh");
        assertEquals(TcTraits.TABLE, parseTable(h));
        Matcher lim = Pattern.compile("#define ATTN_TC_SMEM_LIMIT (\\d+)").matcher(h);
        assertTrue(lim.find());
        assertEquals(TcTraits.SMEM_LIMIT, Integer.parseInt(lim.group(1)));
    }

    @Test
    void tableCoversIssueHeadDimsAndRespectsLimits() {
        assertEquals(List.of(64, 96, 128, 256), TcTraits.headDims());
        for (TcTraits t : TcTraits.TABLE) {
            String row = t.toString();
            assertEquals(16 * t.warps(), t.blockM(), row + ": 16 rows per warp");
            assertEquals(0, t.blockN() % 16, row);
            assertTrue(t.blockN() <= 64, row + ": mask bits fit 32 bits");
            assertTrue(t.stages() >= 2, row);
            assertTrue(t.sharedBytes() <= TcTraits.SMEM_LIMIT, row + " shared " + t.sharedBytes());
            assertEquals(0, (t.blockM() * t.headDim() / 8) % t.threads(), row + ": Q chunks per thread");
            assertEquals(0, (t.blockN() * t.headDim() / 8) % t.threads(), row + ": K/V chunks per thread");
            if (t.swizzle()) {
                assertEquals(0, (t.headDim() / 8) % 8, row + ": swizzle needs D/8 % 8 == 0");
            } else {
                assertEquals(1, t.pitchChunks() % 2, row + ": padded pitch odd");
            }
        }
    }

    @Test
    void sharedBytesPerRow() {
        // Q tile + stages * (K + V), rows of D*2 bytes (D = 96 padded by 16 bytes).
        assertEquals(128 * 128 + 3 * 2 * 64 * 128, TcTraits.forHeadDim(64).orElseThrow().sharedBytes());
        assertEquals(128 * 208 + 2 * 2 * 64 * 208, TcTraits.forHeadDim(96).orElseThrow().sharedBytes());
        assertEquals(128 * 256 + 2 * 2 * 64 * 256, TcTraits.forHeadDim(128).orElseThrow().sharedBytes());
        assertEquals(64 * 512 + 2 * 2 * 32 * 512, TcTraits.forHeadDim(256).orElseThrow().sharedBytes());
        assertTrue(TcTraits.forHeadDim(80).isEmpty());
    }

    /** Parameter names of a C parameter list, "const T_* q" -> "q". */
    static List<String> paramNames(String list) {
        List<String> names = new ArrayList<>();
        for (String p : list.split(",")) {
            String[] w = p.trim().split("[\\s*]+");
            names.add(w[w.length - 1]);
        }
        return names;
    }

    @Test
    void kernelSignaturesMatchArgumentOrder() throws IOException {
        String cu = resource("/kernels/cuda/sdpa_tc.cu");
        Matcher fwd = Pattern.compile("attn_sdpa_fwd_tc_##DT_##_d##D_\\(\\s*\\\\?\\s*([^)]*)\\)", Pattern.DOTALL)
                .matcher(cu);
        assertTrue(fwd.find(), "forward entry macro");
        List<String> names = paramNames(fwd.group(1).replace("\\", " "));
        assertEquals("p", names.get(0));
        assertEquals(TcPlan.FORWARD_ARGS, names.subList(1, names.size()));

        Matcher comb = Pattern.compile("attn_sdpa_combine_f16\\(([^)]*)\\)", Pattern.DOTALL).matcher(cu);
        assertTrue(comb.find(), "combine entry");
        List<String> cn = paramNames(comb.group(1));
        assertEquals("p", cn.get(0));
        assertEquals(TcPlan.COMBINE_ARGS, cn.subList(1, cn.size()));
        assertTrue(cu.contains("attn_sdpa_combine_bf16("), "bf16 combine entry");
        assertTrue(cu.contains("ATTN_TC_TRAITS_TABLE(ATTN_TC_ENTRY_F16)") && cu.contains(
                "ATTN_TC_TRAITS_TABLE(ATTN_TC_ENTRY_BF16)"), "one forward entry per table row and dtype");
        // The documented signature in the file's header comment lists the same order.
        String doc = cu.substring(cu.indexOf("attn_sdpa_fwd_tc_<DT>_d<D>("), cu.indexOf("grid (ceil(Sq"));
        int last = -1;
        for (String a : TcPlan.FORWARD_ARGS) {
            int at = doc.indexOf(" " + a + (a.equals("num_splits") ? ")" : ","));
            assertTrue(at > last, "documented order of " + a + " in " + Arrays.toString(doc.split("\n")));
            last = at;
        }
    }
}
