/**
 * The CUDA backend (JCuda driver API, JCublas2 when {@code libcublas.so.12} loads).
 *
 * <p>Structure: {@link io.github.attn4j.cuda.CudaPlans} decides "which kernel and which launch
 * shape" from the op and the device properties, as plain functions (unit-tested without a GPU);
 * {@link io.github.attn4j.spi.KernelArgs} lists the kernel arguments in the order of the
 * {@code kernels/cuda/*.cu} signatures; {@link io.github.attn4j.cuda.CudaModules} loads the kernel
 * modules (embedded fatbin, else NVRTC, else an exception naming both failures);
 * {@link io.github.attn4j.cuda.CudaScope} issues the work on its stream;
 * {@link io.github.attn4j.cuda.CudaBackend} owns the primary context, pushed and popped around every
 * call.
 *
 * <p>Driver requirements: the embedded fatbin carries SASS for sm_75, sm_80, sm_86, sm_89 and
 * sm_90, which any driver that supports those GPUs with CUDA 12 or newer loads; its compute_90
 * PTX (emitted by nvcc 13) needs a CUDA 13 driver to JIT on newer GPUs. The NVRTC path needs
 * {@code libnvrtc.so.12} (the CUDA 12 runtime libraries) and a driver at least as new as that
 * NVRTC.
 */
package io.github.attn4j.cuda;
