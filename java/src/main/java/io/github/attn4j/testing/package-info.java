/**
 * The backend test matrix as data, shared by {@code attn4j verify} and the {@code native-tests}
 * JUnit suites (ggml {@code test-backend-ops} style).
 *
 * <ul>
 *   <li>{@link io.github.attn4j.testing.Case}: one case as a value with a readable name;
 *   <li>{@link io.github.attn4j.testing.CaseMatrix}: the matrix ({@code all()}, {@code quick()},
 *       {@code longSequence()}, {@code filter(...)});
 *   <li>{@link io.github.attn4j.testing.CaseRunner}: runs a case on a backend with guarded, poisoned
 *       buffers in the backend's own memory and compares with the float64 reference;
 *   <li>{@link io.github.attn4j.testing.Comparator} and {@link io.github.attn4j.testing.Tolerances}:
 *       the NaN/Inf rules, NMSE thresholds with their reasons, and the FlashAttention rule for
 *       F16/BF16 against {@link io.github.attn4j.testing.LowPrecisionNaive}.
 * </ul>
 */
package io.github.attn4j.testing;
