package io.github.attn4j.testing;

import io.github.attn4j.DeviceInfo;
import io.github.attn4j.DeviceMemory;
import io.github.attn4j.HostMemory;
import io.github.attn4j.OpParams;
import io.github.attn4j.Scope;
import io.github.attn4j.Support;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.spi.AbstractDeviceBackend;
import io.github.attn4j.spi.AbstractDeviceScope;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A "device" backend for tests whose memory is Java byte arrays behind {@link DeviceMemory}: it
 * goes through {@link AbstractDeviceScope} like a real device backend and computes with the CPU
 * reference. A fault hook runs after each launch on the device bytes of the call, so tests can
 * make it misbehave (write a guard, skip an output, perturb values).
 */
final class FakeDevice extends AbstractDeviceBackend {
    static final class Mem extends DeviceMemory {
        final byte[] bytes;
        boolean freed;

        Mem(long n) {
            super("fake", n, true);
            bytes = new byte[Math.toIntExact(n)];
        }

        @Override
        protected void free() {
            freed = true;
        }

        ByteBuffer buffer() {
            return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    private final CpuBackend cpu = new CpuBackend();
    Consumer<OpParams> fault = p -> {};
    Predicate<OpParams> supported = p -> true;
    int launches;

    FakeDevice() {
        super(DeviceInfo.available("fake", 0, "test device over byte arrays", Map.of()));
    }

    @Override
    public Support supports(OpParams params) {
        return supported.test(params) ? Support.yes("fake") : Support.no("the fake device declines this call");
    }

    @Override
    public long workspaceBytes(OpParams params) {
        return 0;
    }

    @Override
    public Scope newScope() {
        return new AbstractDeviceScope(this) {
            @Override
            protected DeviceMemory allocateBytes(long bytes) {
                return new Mem(bytes);
            }

            @Override
            protected void copyToDevice(HostMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
                ByteBuffer d = ((Mem) dst).buffer().position(Math.toIntExact(dstByte)).limit(Math.toIntExact(dstByte + bytes));
                src.read(srcByte, d);
            }

            @Override
            protected void copyToHost(DeviceMemory src, long srcByte, HostMemory dst, long dstByte, long bytes) {
                ByteBuffer s = ((Mem) src).buffer().position(Math.toIntExact(srcByte)).limit(Math.toIntExact(srcByte + bytes));
                dst.write(dstByte, s);
            }

            @Override
            protected void copyOnDevice(DeviceMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
                System.arraycopy(((Mem) src).bytes, Math.toIntExact(srcByte), ((Mem) dst).bytes, Math.toIntExact(dstByte),
                        Math.toIntExact(bytes));
            }

            @Override
            protected void launch(OpParams p) {
                launches++;
                cpu.run(host(p));
                fault.accept(p);
            }

            @Override
            public void synchronize() {
                checkOpen();
            }
        };
    }

    /** The call with every device tensor viewed as host memory over the same bytes. */
    static OpParams host(OpParams p) {
        return p.mapTensors(FakeDevice::host);
    }

    static Tensor host(Tensor t) {
        Mem m = (Mem) t.memory();
        return Tensor.of(HostMemory.of(m.buffer()), t.dtype(), t.shape(), t.strides(), t.offset());
    }

    @Override
    protected void release() {
        cpu.close();
    }
}
