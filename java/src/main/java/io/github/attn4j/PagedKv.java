package io.github.attn4j;

import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * A paged KV cache (the vLLM/FlashInfer "NHD" layout): K and V rows live in pages of
 * {@code pageSize} rows, {@code kCache [numPages, pageSize, Hkv, D]} and
 * {@code vCache [numPages, pageSize, Hkv, Dv]}; sequence {@code b}'s key {@code j} is row
 * {@code j % pageSize} of page {@code blockTable[b, j / pageSize]}. {@code blockTable} is I32
 * {@code [B, maxPagesPerSeq]}; {@code kvLengths[b]} is the number of keys of sequence b (at most
 * {@code maxPagesPerSeq * pageSize}). Table entries at or past {@code ceil(kvLengths[b] / pageSize)}
 * and cache rows past a sequence's length are never read (they may hold anything).
 *
 * <p>Validation ({@link SdpaParams.Builder#build()}, before any launch): the caches' ranks,
 * dtypes, page counts and page sizes agree, the table is I32 {@code [B, maxPages]}, every length is
 * in {@code [0, maxPages * pageSize]}, and, when the table is in host memory, every entry a
 * sequence reads is in {@code [0, numPages)}. A table in device memory is not read on the host:
 * the kernels clamp each entry they read to {@code [0, numPages)}, so a bad entry gives wrong
 * values for that sequence but never an out-of-bounds read.
 *
 * @param kCache     K pages {@code [numPages, pageSize, Hkv, D]}, any strides
 * @param vCache     V pages {@code [numPages, pageSize, Hkv, Dv]}, any strides
 * @param blockTable I32 {@code [B, maxPagesPerSeq]}: page indices per sequence
 * @param kvLengths  per-sequence key counts {@code [B]}
 */
public record PagedKv(Tensor kCache, Tensor vCache, Tensor blockTable, int[] kvLengths) {

    /** Copies the lengths; null arguments are refused by {@link SdpaParams.Builder#build()}. */
    public PagedKv {
        kvLengths = kvLengths == null ? null : kvLengths.clone();
    }

    /** The page count. */
    public int numPages() {
        return kCache.dim(0);
    }

    /** Rows per page. */
    public int pageSize() {
        return kCache.dim(1);
    }

    /** Table entries per sequence. */
    public int maxPagesPerSeq() {
        return blockTable.dim(1);
    }

    /** The logical key count: the longest sequence, {@code max(kvLengths)}. */
    public int seqK() {
        return Arrays.stream(kvLengths).max().orElse(0);
    }

    /** The per-sequence lengths (a copy). */
    @Override
    public int[] kvLengths() {
        return kvLengths == null ? null : kvLengths.clone();
    }

    /**
     * A cache {@code [numPages, pageSize, Hkv, X]} as the 4-D view {@code [numPages, Hkv, pageSize, X]}
     * (page, head, row in page, column) that the kernels address with the usual four strides.
     */
    static Tensor headMajor(Tensor cache) {
        return cache.view(cache.offset(), new int[] {cache.dim(0), cache.dim(2), cache.dim(1), cache.dim(3)},
                new long[] {cache.stride(0), cache.stride(2), cache.stride(1), cache.stride(3)});
    }

    /** The same cache with every tensor mapped (staging). */
    PagedKv map(UnaryOperator<Tensor> f) {
        return new PagedKv(f.apply(kCache), f.apply(vCache), f.apply(blockTable), kvLengths);
    }

    /** The page of key {@code j} of sequence {@code b} (host tables only). */
    public int page(int b, int j) {
        return (int) blockTable.get(b, j / pageSize());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PagedKv p && kCache.equals(p.kCache) && vCache.equals(p.vCache)
                && blockTable.equals(p.blockTable) && Arrays.equals(kvLengths, p.kvLengths);
    }

    @Override
    public int hashCode() {
        return kCache.hashCode() * 31 + Arrays.hashCode(kvLengths);
    }

    @Override
    public String toString() {
        return "PagedKv[pages=" + kCache.dim(0) + ", pageSize=" + kCache.dim(1) + ", table="
                + Arrays.toString(blockTable.shape()) + ", kvLengths=" + Arrays.toString(kvLengths) + "]";
    }
}
