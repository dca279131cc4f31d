package io.github.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Alignment;
import io.github.attn4j.DType;
import io.github.attn4j.MergeParams;
import io.github.attn4j.testing.Case.AlibiShape;
import io.github.attn4j.testing.Case.Flag;
import io.github.attn4j.testing.Case.MaskShape;
import io.github.attn4j.testing.Case.Op;
import io.github.attn4j.testing.Case.Special;
import io.github.attn4j.testing.Case.Storage;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The matrix covers what issue 2 asks for, names are unique and carry the seed. */
class CaseMatrixTest {
    private static final List<Case> ALL = CaseMatrix.all();

    private static void covered(String what, Predicate<Case> p) {
        assertTrue(ALL.stream().anyMatch(p), "no case with " + what);
    }

    @Test
    void namesAreUniqueAndCarryTheSeed() {
        Set<String> names = new HashSet<>();
        for (Case c : ALL) {
            assertTrue(names.add(c.name()), "duplicate " + c.name());
            assertTrue(c.name().endsWith(",seed=" + Case.DEFAULT_SEED + ")"), c.name());
        }
        assertTrue(CaseMatrix.all(99).stream().allMatch(c -> c.seed() == 99 && c.name().contains("seed=99")));
    }

    @Test
    void sizesHeadDimsAndGqa() {
        for (Op op : Op.values()) {
            if (op == Op.MERGE || op == Op.KV_APPEND) { // no keys: see merge() and kvAppend() below
                continue;
            }
            for (int s : CaseMatrix.SIZES) {
                if (op == Op.SDPA || op == Op.ADDITIVE) {
                    covered(op + " Sq=" + s, c -> c.op() == op && c.seqQ() == s);
                }
                if (op == Op.ROPE) { // RoPE's seqK is the position offset: its sizes are S
                    covered(op + " S=" + s, c -> c.op() == op && c.seqQ() == s);
                } else {
                    covered(op + " Sk=" + s, c -> c.op() == op && c.seqK() == s);
                }
            }
        }
        for (int d : CaseMatrix.HEAD_DIMS) {
            covered("D=" + d, c -> c.op() == Op.SDPA && c.dim() == d && c.dimV() == d);
        }
        covered("Dv < D", c -> c.op() == Op.SDPA && c.dimV() < c.dim());
        covered("Dv > D", c -> c.op() == Op.SDPA && c.dimV() > c.dim());
        for (int g : new int[] {1, 2, 4, 8}) {
            covered("GQA ratio " + g, c -> c.op() == Op.SDPA && c.heads() / c.headsKv() == g);
        }
        covered("long softmax rows", c -> c.op() == Op.SOFTMAX && c.seqK() >= 4096);
        covered("long backward rows", c -> c.op() == Op.SOFTMAX_BACKWARD && c.seqK() >= 4096);
    }

    @Test
    void merge() {
        for (int parts : new int[] {1, 2, 3, MergeParams.MAX_DEVICE_PARTS}) {
            covered("merge of " + parts + " parts", c -> c.op() == Op.MERGE && c.dim() == parts);
        }
        for (Case.Special sp : Case.Special.values()) {
            if (sp != Case.Special.NAN_MASKED) {
                covered("merge " + sp, c -> c.op() == Op.MERGE && c.special() == sp);
            }
        }
        for (DType t : DType.values()) {
            if (t.isFloat()) {
                covered("merge " + t, c -> c.op() == Op.MERGE && c.dtype() == t);
            }
        }
        covered("merge without LSE out", c -> c.op() == Op.MERGE && !c.has(Case.Flag.LSE));
        covered("merge padded", c -> c.op() == Op.MERGE && c.storage() == Case.Storage.PADDED);
    }

    @Test
    void kvAppend() {
        for (int ps : new int[] {1, 5, 16}) {
            covered("kv append page " + ps, c -> c.op() == Op.KV_APPEND && c.seqK() == ps);
        }
        covered("kv append decode", c -> c.op() == Op.KV_APPEND && c.seqQ() == 1);
        covered("kv append across pages", c -> c.op() == Op.KV_APPEND && c.seqQ() > c.seqK());
        covered("kv append ragged", c -> c.op() == Op.KV_APPEND && c.kvLengths());
        covered("kv append D != Dv", c -> c.op() == Op.KV_APPEND && c.dim() != c.dimV());
        for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            covered("kv append " + t, c -> c.op() == Op.KV_APPEND && c.dtype() == t);
        }
    }

    @Test
    void everyMaskKindAloneBothAlignmentsAndBothDirections() {
        for (Op op : new Op[] {Op.SDPA, Op.SOFTMAX, Op.ADDITIVE}) {
            for (Alignment a : Alignment.values()) {
                for (boolean longerKeys : new boolean[] {true, false}) {
                    Predicate<Case> base = c -> c.op() == op && c.alignment() == a && c.seqQ() != c.seqK()
                            && (c.seqK() > c.seqQ()) == longerKeys;
                    covered(op + " causal " + a, base.and(c -> c.windowLeft() == -1 && c.windowRight() == 0
                            && c.boolMask() == MaskShape.NONE && !c.kvLengths()));
                    covered(op + " window " + a, base.and(c -> c.windowLeft() >= 0 && c.windowRight() >= 0));
                    covered(op + " alibi [H] " + a, base.and(c -> c.alibi() == AlibiShape.H));
                    covered(op + " alibi [B,H] " + a, base.and(c -> c.alibi() == AlibiShape.BH));
                }
            }
            covered(op + " kvLengths", c -> c.op() == op && c.kvLengths());
            covered(op + " qLengths", c -> c.op() == op && c.qLengths());
            for (MaskShape s : MaskShape.values()) {
                covered(op + " mask " + s, c -> c.op() == op && c.boolMask() == s);
                covered(op + " bias " + s, c -> c.op() == op && c.bias() == s);
            }
            covered(op + " combined", c -> c.op() == op && c.kvLengths() && c.qLengths() && c.windowRight() == 0
                    && c.boolMask() != MaskShape.NONE && c.bias() != MaskShape.NONE && c.alibi() != AlibiShape.NONE);
            for (Special s : Special.values()) {
                covered(op + " " + s, c -> c.op() == op && c.special() == s);
            }
            for (Storage st : Storage.values()) {
                covered(op + " " + st, c -> c.op() == op && c.storage() == st);
            }
            for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16}) {
                covered(op + " " + t, c -> c.op() == op && c.dtype() == t);
            }
        }
        covered("softcap", c -> c.op() == Op.SDPA && c.softcap() > 0);
        covered("fully masked by causal with Sq > Sk", c -> c.op() == Op.SDPA && c.seqQ() > c.seqK()
                && c.alignment() == Alignment.BOTTOM_RIGHT && c.windowRight() == 0 && c.windowLeft() == -1);
    }

    @Test
    void opVariants() {
        covered("softmax in place", c -> c.op() == Op.SOFTMAX && c.has(Flag.IN_PLACE));
        covered("softmax 2-D", c -> c.op() == Op.SOFTMAX && c.has(Flag.TWO_D));
        covered("backward in place", c -> c.op() == Op.SOFTMAX_BACKWARD && c.has(Flag.IN_PLACE));
        covered("backward 2-D", c -> c.op() == Op.SOFTMAX_BACKWARD && c.has(Flag.TWO_D));
        for (boolean raw : new boolean[] {true, false}) {
            for (boolean b : new boolean[] {true, false}) {
                for (boolean w : new boolean[] {true, false}) {
                    covered("additive raw=" + raw + " b=" + b + " weights=" + w, c -> c.op() == Op.ADDITIVE
                            && c.has(Flag.RAW) == raw && c.has(Flag.ADD_BIAS) == b && c.has(Flag.WEIGHTS) == w);
                }
            }
        }
        covered("sdpa without LSE", c -> c.op() == Op.SDPA && !c.has(Flag.LSE));
        covered("sampled long rows", c -> c.sampledRows() > 0 && c.seqK() >= 4096);
    }

    @Test
    void quickAndFilter() {
        List<Case> quick = CaseMatrix.quick();
        assertTrue(quick.size() > 100 && quick.size() < ALL.size() / 2 + 100, "quick has " + quick.size());
        assertTrue(ALL.containsAll(quick));
        List<Case> f16 = CaseMatrix.filter(ALL, Op.SOFTMAX, "type=f16");
        assertFalse(f16.isEmpty());
        assertTrue(f16.stream().allMatch(c -> c.op() == Op.SOFTMAX && c.dtype() == DType.F16));
        assertEquals(ALL.size(), CaseMatrix.filter(ALL, null, null).size());
        assertEquals(Op.SOFTMAX_BACKWARD, Op.parse("softmax-backward"));
    }

    @Test
    void nameIsReadable() {
        Case c = Case.builder(Op.SDPA).dtype(DType.BF16).bh(2, 8).heads(8, 2).seq(7, 17).dims(64, 32)
                .storage(Storage.BSHD).alignment(Alignment.TOP_LEFT).causal().kvLengths(true).boolMask(MaskShape.BATCH)
                .alibi(AlibiShape.H).softcap(30f).flag(Flag.LSE).seed(5).build();
        assertEquals("sdpa(type=bf16,B=2,Hq=8,Hkv=2,Sq=7,Sk=17,D=64,Dv=32,layout=bshd,align=tl,causal,kvlen,"
                + "mask=b1qk,alibi=h,softcap=30,lse,seed=5)", c.name());
        assertEquals(c, c.toBuilder().build());
    }
}
