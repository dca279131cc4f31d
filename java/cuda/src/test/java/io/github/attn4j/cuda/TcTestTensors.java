package io.github.attn4j.cuda;

import io.github.attn4j.DType;
import io.github.attn4j.DeviceMemory;
import io.github.attn4j.Masks;
import io.github.attn4j.SdpaParams;
import io.github.attn4j.Tensor;

/** Tensors over fake device memory (nothing allocated), so plans can be built for huge shapes. */
final class TcTestTensors {
    private TcTestTensors() {}

    static final class FakeDeviceMemory extends DeviceMemory {
        FakeDeviceMemory(long bytes) {
            super("fake", bytes, false);
        }

        @Override
        protected void free() {}
    }

    static Tensor dev(DType dt, int... shape) {
        long bytes = Math.max(1, Tensor.numel(shape)) * dt.bytes();
        return Tensor.of(new FakeDeviceMemory(bytes), dt, shape, Tensor.contiguousStrides(shape), 0);
    }

    static Tensor strided(DType dt, long offset, int[] shape, long[] strides) {
        long span = offset + 1;
        for (int i = 0; i < shape.length; i++) {
            span += (shape[i] - 1L) * strides[i];
        }
        return Tensor.of(new FakeDeviceMemory(span * dt.bytes()), dt, shape, strides, offset);
    }

    /** Contiguous BHSD SDPA call. */
    static SdpaParams sdpa(DType dt, int b, int hq, int hkv, int sq, int sk, int d, int dv, Masks masks) {
        return SdpaParams.builder(dev(dt, b, hq, sq, d), dev(dt, b, hkv, sk, d), dev(dt, b, hkv, sk, dv),
                dev(dt, b, hq, sq, dv)).masks(masks).build();
    }

    static SdpaParams sdpa(DType dt, int b, int hq, int hkv, int sq, int sk, int d) {
        return sdpa(dt, b, hq, hkv, sq, sk, d, d, Masks.NONE);
    }
}
