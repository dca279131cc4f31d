package io.github.attn4j.spi;

import io.github.attn4j.DeviceMemory;

/**
 * Stands for a launch's workspace while it is planned: tensors that view it (projections, split-KV
 * partials) give their offsets and strides to the params structs, and the backend binds the real
 * device buffer of {@link Plan#workspaceBytes()} when it launches. Never allocated, never freed.
 */
public final class Workspace extends DeviceMemory {
    /** A stand-in for {@code bytes} of workspace (at least 1). */
    public Workspace(long bytes) {
        super("workspace", Math.max(1, bytes), false);
    }

    @Override
    protected void free() {}
}
