/** NumPy {@code .npy} reading and writing for host tensors ({@link io.github.attn4j.npy.Npy}). */
package io.github.attn4j.npy;
