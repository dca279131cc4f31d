package io.github.attn4j.nativetests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.attn4j.Backend;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

/** An absent backend skips its suite, unless -Dattn4j.require names it: then it fails. */
class RequirementTest {
    private final String saved = System.getProperty("attn4j.require");

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty("attn4j.require");
        } else {
            System.setProperty("attn4j.require", saved);
        }
    }

    @Test
    void absentBackendIsSkippedWithTheReason() {
        System.setProperty("attn4j.require", "");
        TestAbortedException e = assertThrows(TestAbortedException.class, () -> Requirement.open("nosuch"));
        assertTrue(e.getMessage().contains("nosuch is unavailable: no provider named 'nosuch'"), e.getMessage());
        assertThrows(TestAbortedException.class, () -> Requirement.open("cpu:7"));
    }

    @Test
    void absentRequiredBackendFails() {
        System.setProperty("attn4j.require", "opencl, NoSuch");
        assertEquals(List.of("opencl", "nosuch"), Requirement.required());
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> Requirement.open("nosuch"));
        assertTrue(e.getMessage().contains("nosuch is required"), e.getMessage());
        assertTrue(Requirement.isRequired("opencl:1"));
    }

    @Test
    void availableBackendOpens() {
        assertNull(Requirement.unavailableReason("cpu"));
        try (Backend b = Requirement.open("cpu")) {
            assertEquals("cpu", b.name());
        }
    }
}
