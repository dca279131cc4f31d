package io.github.attn4j;

/**
 * A backend was asked for a feature it does not implement (for example a head dim above a
 * kernel's limit). The message says which feature and which backend. {@code Backend.supports}
 * answers the same question without throwing.
 */
public class UnsupportedFeatureException extends UnsupportedOperationException {
    /** An unsupported call; {@code message} names the feature and the backend. */
    public UnsupportedFeatureException(String message) {
        super(message);
    }
}
