package io.github.attn4j.opencl;

import java.util.List;

/**
 * Options of an OpenCL backend, read once when it opens ({@link #fromSystemProperties()}) or given
 * explicitly to {@link OpenClProvider#open(int, OpenClOptions)}. Nothing on a hot path reads a
 * system property.
 *
 * @param tune         overrides of the tuning table, {@code NAME=INT,...} (tuning runs only); empty = none
 * @param buildOptions extra OpenCL build options appended to every program (experiments only); empty = none
 */
public record OpenClOptions(String tune, String buildOptions) {
    /** The names {@link #tune} accepts, in the order of the tuning table. */
    static final List<String> TUNE_NAMES = List.of("vw", "sdpaBlockN", "sdpaRows", "sdpaWg", "addBlockN", "addWg",
            "smShortMax", "smKeysPerThread", "smShortGroup", "smLongThreads", "gemmTile", "smRowPerItem", "gemmCpu", "bwdCpu", "decWg",
            "fwdCpu", "fwdCopyKiB", "smNtKiB", "fwdHeads");

    /**
     * Trims both options and checks {@code tune}.
     *
     * @throws IllegalArgumentException when a tuning entry is not {@code NAME=INT} with a known name
     */
    public OpenClOptions {
        tune = tune == null ? "" : tune.trim();
        buildOptions = buildOptions == null ? "" : buildOptions.trim();
        for (String kv : tune.isEmpty() ? new String[0] : tune.split(",")) {
            String[] p = kv.trim().split("=");
            if (p.length != 2 || !TUNE_NAMES.contains(p[0].trim()) || !p[1].trim().matches("[0-9]+")) {
                throw new IllegalArgumentException("attn4j.opencl.tune: expected NAME=INT with NAME in " + TUNE_NAMES
                        + ", got '" + kv + "'");
            }
        }
    }

    /** No tuning overrides and no extra build options. */
    public static OpenClOptions defaults() {
        return new OpenClOptions("", "");
    }

    /** From {@code -Dattn4j.opencl.tune=k=v,...} and {@code -Dattn4j.opencl.options=...}. */
    public static OpenClOptions fromSystemProperties() {
        return new OpenClOptions(System.getProperty("attn4j.opencl.tune", ""),
                System.getProperty("attn4j.opencl.options", ""));
    }
}
