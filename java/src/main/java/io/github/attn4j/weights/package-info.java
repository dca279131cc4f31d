/**
 * Weights from the files people have: {@code .safetensors} ({@link io.github.attn4j.weights.SafeTensors}, read
 * directly), directories of {@code .npy} files ({@link io.github.attn4j.weights.NpyDirectory}), and the two naming
 * schemes of attention blocks ({@link io.github.attn4j.weights.AttentionWeights}).
 */
package io.github.attn4j.weights;
