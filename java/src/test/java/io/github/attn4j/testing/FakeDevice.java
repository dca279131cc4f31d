package io.github.attn4j.testing;

import io.github.attn4j.DeviceInfo;
import io.github.attn4j.DeviceMemory;
import io.github.attn4j.HostMemory;
import io.github.attn4j.OpParams;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import io.github.attn4j.cpu.CpuBackend;
import io.github.attn4j.spi.AbstractDeviceBackend;
import io.github.attn4j.spi.AbstractDeviceScope;
import io.github.attn4j.spi.Plan;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
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
    /** Every device allocation of every scope, in order. */
    final List<Mem> allocations = new java.util.ArrayList<>();

    FakeDevice() {
        super(DeviceInfo.available("fake", 0, "test device over byte arrays", Map.of()));
    }

    @Override
    protected Plan plan(OpParams params) {
        return supported.test(params) ? Plan.of("fake", 0, List.of()) : Plan.no("the fake device declines this call");
    }

    @Override
    protected Plan copyPlan(Tensor src, Tensor dst) {
        return Plan.of("fake-copy", 0, List.of(Plan.Step.of("copy", "copy", new long[] {1}, new long[] {1}, 0,
                io.github.attn4j.spi.KernelArgs.copy(src, dst))));
    }

    @Override
    public Scope newScope() {
        return new AbstractDeviceScope(this) {
            @Override
            protected DeviceMemory allocateBytes(long bytes) {
                Mem m = new Mem(bytes);
                allocations.add(m);
                return m;
            }

            @Override
            protected void writeChunk(ByteBuffer src, DeviceMemory dst, long dstByte) {
                ((Mem) dst).buffer().position(Math.toIntExact(dstByte)).put(src);
            }

            @Override
            protected void readChunk(DeviceMemory src, long srcByte, ByteBuffer dst) {
                ByteBuffer s = ((Mem) src).buffer().position(Math.toIntExact(srcByte));
                dst.put(s.limit(s.position() + dst.remaining()));
            }

            @Override
            protected void copyOnDevice(DeviceMemory src, long srcByte, DeviceMemory dst, long dstByte, long bytes) {
                System.arraycopy(((Mem) src).bytes, Math.toIntExact(srcByte), ((Mem) dst).bytes, Math.toIntExact(dstByte),
                        Math.toIntExact(bytes));
            }

            @Override
            protected void waitFor(AbstractDeviceScope other) {}

            @Override
            protected void drainQuietly() {}

            @Override
            protected void launch(Plan plan, OpParams p) {
                if (p == null) { // the strided copy
                    List<io.github.attn4j.spi.Arg> a = plan.step(0).args();
                    io.github.attn4j.spi.ByteArrayCopy.strided(host(((io.github.attn4j.spi.Arg.Buffer) a.get(1)).tensor()),
                            host(((io.github.attn4j.spi.Arg.Buffer) a.get(2)).tensor()));
                    return;
                }
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

    /** Nothing to build: the fake device runs its ops on the CPU reference. */
    @Override
    protected void build(Plan plan) {}

    @Override
    protected void release() {
        cpu.close();
    }
}
