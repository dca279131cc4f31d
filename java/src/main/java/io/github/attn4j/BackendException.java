package io.github.attn4j;

/**
 * A native failure: a driver call returned an error, a kernel failed to build or launch, or a
 * backend could not be opened. The message names the status, the kernel and the launch shape.
 */
public class BackendException extends RuntimeException {
    /** A failure described by {@code message}. */
    public BackendException(String message) {
        super(message);
    }

    /** A failure described by {@code message}, caused by {@code cause}. */
    public BackendException(String message, Throwable cause) {
        super(message, cause);
    }
}
