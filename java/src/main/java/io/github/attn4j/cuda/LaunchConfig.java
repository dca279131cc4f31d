package io.github.attn4j.cuda;

/** A kernel launch shape: grid, block and dynamic shared memory in bytes. */
record LaunchConfig(int gridX, int gridY, int gridZ, int blockX, int smemBytes) {
    static final long MAX_GRID_X = Integer.MAX_VALUE;
    static final int MAX_GRID_YZ = 65535;

    static LaunchConfig of(long gridX, long gridY, long gridZ, int block, int smem) {
        if (gridX < 1 || gridX > MAX_GRID_X || gridY < 1 || gridY > MAX_GRID_YZ || gridZ < 1 || gridZ > MAX_GRID_YZ) {
            throw new IllegalArgumentException("grid (" + gridX + ", " + gridY + ", " + gridZ
                    + ") exceeds the CUDA limits (x <= 2^31-1, y, z <= 65535)");
        }
        return new LaunchConfig((int) gridX, (int) gridY, (int) gridZ, block, smem);
    }

    /** True when the grid fits the limits (for supports()). */
    static boolean fits(long gridX, long gridY, long gridZ) {
        return gridX >= 1 && gridX <= MAX_GRID_X && gridY >= 1 && gridY <= MAX_GRID_YZ && gridZ >= 1 && gridZ <= MAX_GRID_YZ;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    @Override
    public String toString() {
        return "grid (" + gridX + ", " + gridY + ", " + gridZ + ") block (" + blockX + ", 1, 1) smem " + smemBytes + " B";
    }
}
