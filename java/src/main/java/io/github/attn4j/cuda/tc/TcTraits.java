package io.github.attn4j.cuda.tc;

import java.util.List;
import java.util.Optional;

/**
 * One row of the tile table of the tensor-core SDPA kernel: the Java mirror of
 * {@code ATTN_TC_TRAITS_TABLE} in {@code kernels/cuda/tc_traits.cuh} (a test parses that file and
 * compares). Each warp owns 16 query rows, so {@code blockM == 16 * warps}.
 *
 * @param headDim D (and Dv: the kernel needs D == Dv)
 * @param blockM query rows per CTA
 * @param blockN keys per K/V tile
 * @param warps warps per CTA
 * @param stages K/V tiles in flight in the cp.async ring
 * @param qInRegs Q fragments held in registers across the K/V loop
 * @param swizzle XOR-swizzled shared-memory rows (else rows padded by one 16-byte chunk)
 */
public record TcTraits(int headDim, int blockM, int blockN, int warps, int stages, boolean qInRegs,
        boolean swizzle) {

    /** The table, in the order of the header. */
    public static final List<TcTraits> TABLE = List.of(
            new TcTraits(64, 128, 64, 8, 3, true, true),
            new TcTraits(96, 128, 64, 8, 2, true, false),
            new TcTraits(128, 128, 64, 8, 2, true, true),
            new TcTraits(256, 64, 32, 4, 2, false, true));

    /** {@code ATTN_TC_SMEM_LIMIT}: the sm_86/sm_89 opt-in limit every row stays within. */
    public static final int SMEM_LIMIT = 101376;

    /** The row for a head dim, if the table has one. */
    public static Optional<TcTraits> forHeadDim(int d) {
        return TABLE.stream().filter(t -> t.headDim == d).findFirst();
    }

    /** The head dims the table covers, ascending. */
    public static List<Integer> headDims() {
        return TABLE.stream().map(TcTraits::headDim).toList();
    }

    public int threads() {
        return warps * 32;
    }

    /** 16-byte chunks per shared-memory row ({@code TcTile::kPitch}). */
    public int pitchChunks() {
        return swizzle ? headDim / 8 : headDim / 8 + 1;
    }

    /** Dynamic shared memory per CTA ({@code TcTile::kSmemBytes}): Q tile plus {@code stages} K and V tiles. */
    public int sharedBytes() {
        int row = pitchChunks() * 16;
        return blockM * row + stages * 2 * blockN * row;
    }
}
