package io.github.attn4j.spi;

import io.github.attn4j.Backend;
import io.github.attn4j.DeviceInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Shared backend bookkeeping: open scopes, close-once, leak reports. */
public abstract class AbstractDeviceBackend implements Backend {
    private final DeviceInfo device;
    private final Set<AbstractDeviceScope> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    protected AbstractDeviceBackend(DeviceInfo device) {
        this.device = device;
    }

    @Override
    public String name() {
        return device.backend();
    }

    @Override
    public DeviceInfo device() {
        return device;
    }

    /** True once {@link #close()} has begun. */
    public boolean isClosed() {
        return closed;
    }

    /** Throws {@link IllegalStateException} when closed. */
    public void checkOpen() {
        if (closed) {
            throw new IllegalStateException(device.id() + " backend is closed");
        }
    }

    void register(AbstractDeviceScope s) {
        checkOpen();
        open.add(s);
    }

    void unregister(AbstractDeviceScope s) {
        open.remove(s);
    }

    @Override
    public final void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> leaks = new ArrayList<>();
        for (AbstractDeviceScope s : List.copyOf(open)) {
            long bytes = s.allocatedBytes();
            leaks.add("a scope " + s.origin() + " still held " + bytes + " B in " + s.allocationCount() + " allocations");
            s.close();
        }
        try {
            release();
        } finally {
            if (!leaks.isEmpty()) {
                Leaks.report("Memory was leaked on " + device.id() + ": " + String.join("; ", leaks));
            }
        }
    }

    /** Releases the backend's own native resources (contexts, modules, programs). */
    protected abstract void release();
}
