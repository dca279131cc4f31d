package io.github.attn4j.cuda;

/** CUDA's grid limits, for the planner's checks. */
final class LaunchConfig {
    private LaunchConfig() {}

    static final long MAX_GRID_X = Integer.MAX_VALUE;
    static final int MAX_GRID_YZ = 65535;

    /** True when the grid fits the limits (for supports()). */
    static boolean fits(long gridX, long gridY, long gridZ) {
        return gridX >= 1 && gridX <= MAX_GRID_X && gridY >= 1 && gridY <= MAX_GRID_YZ && gridZ >= 1 && gridZ <= MAX_GRID_YZ;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
