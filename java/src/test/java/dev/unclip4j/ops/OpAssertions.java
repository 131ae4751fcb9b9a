package dev.unclip4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;
import org.junit.jupiter.api.function.Executable;

/** The bad-input tests' one assertion: the call fails naming the op, the status and the problem. */
final class OpAssertions {
    private OpAssertions() {}

    static void fails(String op, String fragment, Status status, Executable call) {
        UnclipException e = assertThrows(UnclipException.class, call);
        assertEquals(op, e.op(), e.getMessage());
        assertEquals(status, e.status(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
    }
}
