package io.github.attn4j.cpu;

import io.github.attn4j.AdditiveBackwardParams;
import io.github.attn4j.AdditiveParams;
import io.github.attn4j.GemmParams;
import io.github.attn4j.RopeParams;
import io.github.attn4j.Backend;
import io.github.attn4j.Check;
import io.github.attn4j.DType;
import io.github.attn4j.DeviceInfo;
import io.github.attn4j.HostMemory;
import io.github.attn4j.KvAppendParams;
import io.github.attn4j.MergeParams;
import io.github.attn4j.OpParams;
import io.github.attn4j.OpVisitor;
import io.github.attn4j.Scope;
import io.github.attn4j.SdpaBackwardParams;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.SoftmaxBackwardParams;
import io.github.attn4j.SoftmaxParams;
import io.github.attn4j.Support;
import io.github.attn4j.Tensor;
import io.github.attn4j.spi.ByteArrayCopy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The "cpu" backend: the float64 {@link Reference}, results rounded once to the output dtype.
 * It supports every op and option, on host tensors only. It is meant for correctness, not speed.
 */
public final class CpuBackend implements Backend {
    static final DeviceInfo DEVICE = DeviceInfo.available("cpu", 0, "float64 reference (" + Runtime.getRuntime()
            .availableProcessors() + " threads)", Map.of("precision", "float64 accumulation"));

    /** The largest array every JVM allocates. */
    private static final int MAX_ARRAY = Integer.MAX_VALUE - 8;

    private volatile boolean closed;

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public DeviceInfo device() {
        return DEVICE;
    }

    @Override
    public Support supports(OpParams params) {
        if (closed) {
            return Support.no("cpu backend is closed");
        }
        for (Tensor t : all(params)) {
            if (!t.memory().isHost()) {
                return Support.no("tensor on " + t.memory().describe() + ": the cpu backend takes host tensors");
            }
        }
        return Support.yes("reference-f64");
    }

    private static List<Tensor> all(OpParams p) {
        List<Tensor> l = new ArrayList<>(p.inputs());
        l.addAll(p.outputs());
        return l;
    }

    @Override
    public long workspaceBytes(OpParams params) {
        return 0;
    }

    @Override
    public Scope newScope() {
        if (closed) {
            throw new IllegalStateException("cpu backend is closed");
        }
        return new CpuScope();
    }

    @Override
    public void close() {
        closed = true;
    }

    /** Runs one op on host tensors. */
    static void execute(OpParams p) {
        p.accept(new OpVisitor<Void>() {
            @Override
            public Void sdpa(SdpaParams s) {
                Reference.SdpaResult r = Reference.sdpa(s);
                Reference.store(r.o(), s.o());
                if (s.lse() != null) {
                    Reference.store(r.lse(), s.lse());
                }
                return null;
            }

            @Override
            public Void softmax(SoftmaxParams s) {
                Reference.store(Reference.softmax(s), s.y());
                return null;
            }

            @Override
            public Void softmaxBackward(SoftmaxBackwardParams s) {
                Reference.store(Reference.softmaxBackward(s), s.dx());
                return null;
            }

            @Override
            public Void additive(AdditiveParams a) {
                Reference.AdditiveResult r = Reference.additive(a);
                Reference.store(r.out(), a.out());
                if (a.weights() != null) {
                    Reference.store(r.weights(), a.weights());
                }
                return null;
            }

            @Override
            public Void sdpaBackward(SdpaBackwardParams s) {
                Reference.SdpaGrads g = Reference.sdpaBackward(s);
                Reference.store(g.dq(), s.dq());
                Reference.store(g.dk(), s.dk());
                Reference.store(g.dv(), s.dv());
                if (s.dbias() != null) {
                    Reference.store(g.dbias(), s.dbias());
                }
                return null;
            }

            @Override
            public Void merge(MergeParams m) {
                Reference.MergeResult r = Reference.merge(m);
                Reference.store(r.o(), m.out());
                if (m.outLse() != null) {
                    Reference.store(r.lse(), m.outLse());
                }
                return null;
            }

            @Override
            public Void kvAppend(KvAppendParams k) {
                Reference.KvAppendResult r = Reference.kvAppend(k);
                Reference.store(r.kCache(), k.kCache());
                Reference.store(r.vCache(), k.vCache());
                return null;
            }

            @Override
            public Void additiveBackward(AdditiveBackwardParams a) {
                Reference.AdditiveBackwardResult r = Reference.additiveBackward(a);
                Reference.store(r.dq(), a.dq());
                Reference.store(r.dk(), a.dk());
                Reference.store(r.dv(), a.dv());
                Reference.store(r.dw(), a.dw());
                if (a.db() != null) {
                    Reference.store(r.db(), a.db());
                }
                if (a.dwq() != null) {
                    Reference.store(r.dwq(), a.dwq());
                    Reference.store(r.dwk(), a.dwk());
                }
                return null;
            }

            @Override
            public Void gemm(GemmParams g) {
                double[] r = Reference.gemm(g);
                Reference.store(r, g.c());
                return null;
            }

            @Override
            public Void rope(RopeParams r) {
                Reference.store(Reference.rope(r), r.out());
                return null;
            }
        });
    }

    private final class CpuScope implements Scope {
        private boolean scopeClosed;
        private long allocated;

        private void checkOpen() {
            if (scopeClosed || closed) {
                throw new IllegalStateException("cpu scope is closed");
            }
        }

        @Override
        public Backend backend() {
            return CpuBackend.this;
        }

        @Override
        public Tensor allocate(DType dtype, int... shape) {
            checkOpen();
            Check.arg(Tensor.byteSize(dtype, shape) >= 0 && Tensor.numel(shape) <= MAX_ARRAY, "shape",
                    "at most " + MAX_ARRAY + " elements (one Java array)", Arrays.toString(shape));
            int n = (int) Tensor.numel(shape);
            HostMemory m = switch (dtype) {
                case F32 -> HostMemory.of(new float[n]);
                case F16, BF16 -> HostMemory.of(new short[n]);
                case BOOL -> HostMemory.of(new byte[n]);
                case I32 -> HostMemory.of(new int[n]);
            };
            allocated += m.byteSize();
            return Tensor.of(m, dtype, shape, Tensor.contiguousStrides(shape), 0);
        }

        @Override
        public void copy(Tensor src, Tensor dst) {
            checkOpen();
            Check.arg(src.dtype() == dst.dtype(), "dst.dtype", src.dtype(), dst.dtype());
            Check.arg(Arrays.equals(src.shape(), dst.shape()), "dst.shape", Arrays.toString(src.shape()),
                    Arrays.toString(dst.shape()));
            int es = src.dtype().bytes();
            if (src.isContiguous() && dst.isContiguous()) {
                ByteArrayCopy.hostToHost(src.host(), src.offset() * es, dst.host(), dst.offset() * es, src.numel() * es);
                return;
            }
            // Any strides (a KV-cache slice, a BSHD view): element by element, bit for bit, through a
            // contiguous staging copy so that overlapping views read the source before any write.
            Check.arg(!io.github.attn4j.OpParams.overlaps(src, dst) || io.github.attn4j.OpParams.sameView(src, dst), "dst",
                    "memory disjoint from src (or the same view)", "an overlapping view");
            int n = Math.toIntExact(src.numel());
            HostMemory tmp = HostMemory.of(java.nio.ByteBuffer.allocate(n * es));
            int[] idx = new int[src.rank()];
            for (int pass = 0; pass < 2; pass++) {
                java.util.Arrays.fill(idx, 0);
                for (int i = 0; i < n; i++) {
                    if (pass == 0) {
                        ByteArrayCopy.hostToHost(src.host(), src.index(idx) * es, tmp, (long) i * es, es);
                    } else {
                        ByteArrayCopy.hostToHost(tmp, (long) i * es, dst.host(), dst.index(idx) * es, es);
                    }
                    for (int d = idx.length - 1; d >= 0; d--) {
                        if (++idx[d] < src.dim(d)) {
                            break;
                        }
                        idx[d] = 0;
                    }
                }
            }
        }

        @Override
        public void run(OpParams params) {
            checkOpen();
            supports(params).require("cpu", params);
            execute(params);
        }

        @Override
        public void synchronize() {
            checkOpen();
        }

        @Override
        public long allocatedBytes() {
            return allocated;
        }

        @Override
        public void close() {
            scopeClosed = true;
        }
    }
}
