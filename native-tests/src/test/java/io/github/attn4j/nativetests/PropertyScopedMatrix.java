package io.github.attn4j.nativetests;

import io.github.attn4j.testing.Case;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;

/**
 * A matrix whose backend is opened with some system properties set (backend options such as
 * {@code attn4j.cuda.sdpa=unfused}); they are set when the test instance is created, the backend
 * is opened by the matrix right before it asks for {@link #cases()}, and they are restored there.
 */
abstract class PropertyScopedMatrix extends BackendMatrix {
    private final Map<String, String> previous = new HashMap<>();

    PropertyScopedMatrix(Map<String, String> properties) {
        properties.forEach((k, v) -> {
            previous.put(k, System.getProperty(k));
            System.setProperty(k, v);
        });
    }

    /** Checks that the opened backend took the options (fails the matrix otherwise). */
    protected abstract void checkOptions();

    @Override
    protected List<Case> cases() {
        restore();
        checkOptions();
        return super.cases();
    }

    private void restore() {
        previous.forEach((k, v) -> {
            if (v == null) {
                System.clearProperty(k);
            } else {
                System.setProperty(k, v);
            }
        });
    }

    @AfterAll
    void restoreProperties() {
        restore();
    }
}
