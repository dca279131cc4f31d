package io.github.attn4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * KV append ("reshape and cache"): writes new K and V rows into paged caches, so that a decode loop
 * keeps its cache on the device.
 *
 * <ul>
 *   <li>{@code kNew} {@code [B, Hkv, Snew, D]}, {@code vNew} {@code [B, Hkv, Snew, Dv]}: the new
 *       rows (logical BHSD, any strides), one float dtype shared with the caches;</li>
 *   <li>{@code kCache} {@code [numPages, pageSize, Hkv, D]}, {@code vCache}
 *       {@code [numPages, pageSize, Hkv, Dv]}: the vLLM/FlashInfer "NHD" page layout, any
 *       {@code pageSize >= 1} (any strides);</li>
 *   <li>{@code blockTable} I32 {@code [B, maxPagesPerSeq]}: the pages of each sequence, in order;</li>
 *   <li>{@code startPositions[B]} (host ints): the position in its sequence of row 0 of each
 *       sequence's new rows (its length before the append);</li>
 *   <li>{@code appendLengths[B]} (host ints, optional, each in {@code [0, Snew]}): how many of the
 *       {@code Snew} rows of each sequence are real (a ragged batch padded to Snew); default all.</li>
 * </ul>
 * Row {@code t < appendLengths[b]} of sequence {@code b}, kv head {@code h}, goes to position
 * {@code pos = startPositions[b] + t}: page {@code blockTable[b, pos / pageSize]}, slot
 * {@code pos % pageSize}, i.e. {@code kCache[page, slot, h, :] = kNew[b, h, t, :]} (and V). Nothing
 * else in the caches is written.
 *
 * <p>Checked before any launch ({@link IllegalArgumentException} naming the argument): every
 * shape, dtype and stride; the page size and page count of the two caches agree; each
 * {@code startPositions[b] + appendLengths[b]} is within the table's capacity
 * {@code maxPagesPerSeq * pageSize}; a host block table's entries that the append uses lie in
 * {@code [0, numPages)}. A device-resident block table is not copied back to be checked: the kernels
 * skip (write nothing for) any row whose entry lies outside {@code [0, numPages)}, so a bad entry
 * can lose rows but never writes outside the caches. Two sequences whose tables name the same slot
 * race; that is the caller's to avoid, as in every paged server.
 *
 * @param kNew           the new K rows
 * @param vNew           the new V rows
 * @param kCache         the paged K cache (written)
 * @param vCache         the paged V cache (written)
 * @param blockTable     the block table, I32 {@code [B, maxPagesPerSeq]}
 * @param startPositions the per-sequence start positions
 * @param appendLengths  the per-sequence row counts, or null for Snew each
 */
public record KvAppendParams(Tensor kNew, Tensor vNew, Tensor kCache, Tensor vCache, Tensor blockTable,
        int[] startPositions, int[] appendLengths) implements OpParams {

    /** A builder over the new rows, the caches, the block table and the start positions. */
    public static Builder builder(Tensor kNew, Tensor vNew, Tensor kCache, Tensor vCache, Tensor blockTable,
            int... startPositions) {
        return new Builder(kNew, vNew, kCache, vCache, blockTable, startPositions);
    }

    @Override
    public <R> R accept(OpVisitor<R> v) {
        return v.kvAppend(this);
    }

    @Override
    public String op() {
        return "kv_append";
    }

    /** B. */
    public int batch() {
        return kNew.dim(0);
    }

    /** Hkv. */
    public int headsKv() {
        return kNew.dim(1);
    }

    /** Snew, the new rows per sequence (the padded count with {@link #appendLengths()}). */
    public int seqNew() {
        return kNew.dim(2);
    }

    /** D. */
    public int headDim() {
        return kNew.dim(3);
    }

    /** Dv. */
    public int headDimV() {
        return vNew.dim(3);
    }

    /** The number of pages of each cache. */
    public int numPages() {
        return kCache.dim(0);
    }

    /** Rows per page. */
    public int pageSize() {
        return kCache.dim(1);
    }

    /** Pages per sequence in the block table. */
    public int maxPagesPerSeq() {
        return blockTable.dim(1);
    }

    /** The rows of sequence b that are written. */
    public int appendLength(int b) {
        return appendLengths == null ? seqNew() : appendLengths[b];
    }

    @Override
    public DType dtype() {
        return kNew.dtype();
    }

    @Override
    public List<Tensor> inputs() {
        return List.of(kNew, vNew, blockTable);
    }

    @Override
    public List<Tensor> outputs() {
        return List.of(kCache, vCache);
    }

    @Override
    public KvAppendParams mapTensors(UnaryOperator<Tensor> f) {
        return new KvAppendParams(f.apply(kNew), f.apply(vNew), f.apply(kCache), f.apply(vCache), f.apply(blockTable),
                startPositions, appendLengths);
    }

    /** Builder that validates every argument in {@link #build()}. */
    public static final class Builder {
        private final Tensor kNew, vNew, kCache, vCache, blockTable;
        private final int[] start;
        private int[] lengths;

        Builder(Tensor kNew, Tensor vNew, Tensor kCache, Tensor vCache, Tensor blockTable, int[] start) {
            this.kNew = kNew;
            this.vNew = vNew;
            this.kCache = kCache;
            this.vCache = vCache;
            this.blockTable = blockTable;
            this.start = start == null ? null : start.clone();
        }

        /** Per-sequence row counts in {@code [0, Snew]} (a ragged batch); default Snew for each. */
        public Builder appendLengths(int... lengths) {
            this.lengths = lengths == null ? null : lengths.clone();
            return this;
        }

        /** Checks every argument; throws {@link IllegalArgumentException} naming the first bad one. */
        public KvAppendParams build() {
            OpParams.rank("kNew", kNew, 4);
            OpParams.rank("vNew", vNew, 4);
            OpParams.rank("kCache", kCache, 4);
            OpParams.rank("vCache", vCache, 4);
            OpParams.rank("blockTable", blockTable, 2);
            Check.arg(kNew.dtype().isFloat(), "kNew.dtype", "F32, F16 or BF16", kNew.dtype());
            OpParams.dtype("vNew", vNew, kNew.dtype());
            OpParams.dtype("kCache", kCache, kNew.dtype());
            OpParams.dtype("vCache", vCache, kNew.dtype());
            OpParams.dtype("blockTable", blockTable, DType.I32);
            int b = kNew.dim(0), h = kNew.dim(1), s = kNew.dim(2), d = kNew.dim(3), dv = vNew.dim(3);
            for (int i = 0; i < 4; i++) {
                Check.arg(kNew.dim(i) >= 1, "kNew.shape[" + i + "]", ">= 1", kNew.dim(i));
            }
            OpParams.dim("vNew", vNew, 0, "B", b);
            OpParams.dim("vNew", vNew, 1, "Hkv", h);
            OpParams.dim("vNew", vNew, 2, "Snew", s);
            Check.arg(dv >= 1, "vNew.shape[3] (Dv)", ">= 1", dv);
            int pages = kCache.dim(0), ps = kCache.dim(1);
            Check.arg(pages >= 1, "kCache.shape[0] (numPages)", ">= 1", pages);
            Check.arg(ps >= 1, "kCache.shape[1] (pageSize)", ">= 1", ps);
            OpParams.dim("kCache", kCache, 2, "Hkv", h);
            OpParams.dim("kCache", kCache, 3, "D", d);
            OpParams.dim("vCache", vCache, 0, "numPages", pages);
            OpParams.dim("vCache", vCache, 1, "pageSize", ps);
            OpParams.dim("vCache", vCache, 2, "Hkv", h);
            OpParams.dim("vCache", vCache, 3, "Dv", dv);
            OpParams.dim("blockTable", blockTable, 0, "B", b);
            int maxPages = blockTable.dim(1);
            Check.arg(maxPages >= 1, "blockTable.shape[1] (maxPagesPerSeq)", ">= 1", maxPages);
            Check.arg(start != null && start.length == b, "startPositions", b + " values (one per sequence)",
                    start == null ? "null" : start.length + " values");
            Check.arg(lengths == null || lengths.length == b, "appendLengths", b + " values (one per sequence)",
                    lengths == null ? "null" : lengths.length + " values");
            long capacity = (long) maxPages * ps;
            for (int i = 0; i < b; i++) {
                int n = lengths == null ? s : lengths[i];
                Check.arg(n >= 0 && n <= s, "appendLengths[" + i + "]", "in [0, " + s + "]", n);
                Check.arg(start[i] >= 0, "startPositions[" + i + "]", ">= 0", start[i]);
                Check.arg(start[i] + (long) n <= capacity, "startPositions[" + i + "] + " + n + " rows",
                        "<= the block table's capacity maxPagesPerSeq * pageSize = " + maxPages + " * " + ps + " = "
                                + capacity, start[i] + (long) n);
                if (blockTable.memory().isHost() && n > 0) {
                    for (long pos = start[i] / ps * ps; pos < start[i] + (long) n; pos += ps) {
                        int j = (int) (pos / ps);
                        int page = (int) blockTable.get(i, j);
                        Check.arg(page >= 0 && page < pages, "blockTable[" + i + ", " + j + "]",
                                "a page in [0, " + pages + ")", page);
                    }
                }
            }
            OpParams.checkNoOverlap(List.of("kCache", "vCache"), List.of(kCache, vCache),
                    List.of("kNew", "vNew", "blockTable"), new ArrayList<>(List.of(kNew, vNew, blockTable)), null, null);
            return new KvAppendParams(kNew, vNew, kCache, vCache, blockTable, start, lengths == null ? null
                    : Arrays.copyOf(lengths, lengths.length));
        }
    }
}
