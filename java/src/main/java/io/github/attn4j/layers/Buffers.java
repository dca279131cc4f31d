package io.github.attn4j.layers;

import io.github.attn4j.DType;
import io.github.attn4j.Half;
import io.github.attn4j.HostMemory;
import io.github.attn4j.Scope;
import io.github.attn4j.Tensor;
import java.util.HashMap;
import java.util.Map;

/**
 * A layer's reusable device buffers, by name: each grows (doubling) to the largest call and is
 * reused afterwards, so a decoding loop allocates nothing after its first steps. The scope owns
 * the memory.
 */
final class Buffers {
    private final Scope scope;
    private final Map<String, Tensor> flat = new HashMap<>();

    Buffers(Scope scope) {
        this.scope = scope;
    }

    /** A contiguous tensor of {@code shape} over the buffer {@code name} (contents undefined). */
    Tensor get(String name, DType dt, int... shape) {
        long n = Math.max(1, Tensor.numel(shape));
        Tensor f = flat.get(name);
        if (f == null || f.dtype() != dt || f.numel() < n) {
            long cap = f == null || f.dtype() != dt ? n : Math.max(n, Math.min(2 * f.numel(), Integer.MAX_VALUE - 8L));
            f = scope.allocate(dt, Math.toIntExact(cap));
            flat.put(name, f);
        }
        return f.view(f.offset(), shape, Tensor.contiguousStrides(shape));
    }

    /**
     * {@code t [B, S, F]} itself when it is on the device with rows {@code [B*S, F]} (B and S
     * contiguous), else a contiguous device copy in the buffer {@code name}.
     */
    Tensor device(String name, Tensor t) {
        boolean rows = t.rank() != 3 || t.dim(0) == 1 || t.stride(0) == (long) t.dim(1) * t.stride(1);
        if (!t.memory().isHost() && rows) {
            return t;
        }
        Tensor d = get(name, t.dtype(), t.shape());
        scope.copy(t, d);
        return d;
    }

    /** A host tensor converted to {@code dt} (a new array), uploaded to a new device tensor. */
    static Tensor upload(Scope scope, Tensor host, DType dt) {
        return scope.upload(convert(host, dt));
    }

    /** A contiguous host copy of a host tensor in {@code dt}. */
    static Tensor convert(Tensor host, DType dt) {
        int n = Math.toIntExact(host.numel());
        int[] shape = host.shape();
        int[] idx = new int[shape.length];
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = host.get(idx);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        if (dt == DType.F32) {
            return Tensor.of(f, shape);
        }
        short[] s = new short[n];
        for (int i = 0; i < n; i++) {
            s[i] = dt == DType.F16 ? Half.floatToF16(f[i]) : Half.floatToBf16(f[i]);
        }
        return Tensor.of(HostMemory.of(s), dt, shape, Tensor.contiguousStrides(shape), 0);
    }
}
