package io.github.attn4j.cuda;

import java.util.List;
import java.util.Optional;

/**
 * One row of the tile table of the tensor-core SDPA kernel, {@code ATTN_TC_TRAITS_TABLE} in
 * {@code kernels/cuda/tc_traits.cuh} (read by {@link CudaTables}). Each warp owns 16 query rows,
 * so {@code blockM == 16 * warps}.
 *
 * @param headDim D (and Dv: the kernel needs D == Dv)
 * @param blockM query rows per CTA
 * @param blockN keys per K/V tile
 * @param warps warps per CTA
 * @param stages K/V tiles in flight in the cp.async ring
 * @param qInRegs Q fragments held in registers across the K/V loop
 * @param swizzle XOR-swizzled shared-memory rows (else rows padded by one 16-byte chunk)
 */
record TcTraits(int headDim, int blockM, int blockN, int warps, int stages, boolean qInRegs, boolean swizzle) {

    /** The table, in the order of the header. */
    static List<TcTraits> table() {
        return CudaTables.TC_TRAITS;
    }

    /** The row for a head dim, if the table has one. */
    static Optional<TcTraits> forHeadDim(int d) {
        return table().stream().filter(t -> t.headDim == d).findFirst();
    }

    /** The head dims the table covers, ascending. */
    static List<Integer> headDims() {
        return table().stream().map(TcTraits::headDim).toList();
    }

    int threads() {
        return warps * 32;
    }

    /** 16-byte chunks per shared-memory row ({@code TcTile::kPitch}). */
    int pitchChunks() {
        return swizzle ? headDim / 8 : headDim / 8 + 1;
    }

    /** Dynamic shared memory per CTA ({@code TcTile::kSmemBytes}): Q tile plus {@code stages} K and V tiles. */
    int sharedBytes() {
        int row = pitchChunks() * 16;
        return blockM * row + stages * 2 * blockN * row;
    }
}
