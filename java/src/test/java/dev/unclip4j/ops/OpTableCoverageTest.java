package dev.unclip4j.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unclip4j.bindings.UnclipLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The header, the bindings and the op table name the same ops: adding an op means adding a row. */
class OpTableCoverageTest {
    /** Context, memory and weight management: symbols of unclip.h that are not ops. */
    private static final Set<String> NOT_OPS = Set.of("uc_context_create", "uc_context_set_threads", "uc_weight_prepare", "uc_weight_forget", "uc_weight_release", "uc_weight_restore", "uc_device_describe", "uc_alloc", "uc_free",
            "uc_memcpy", "uc_memset", "uc_synchronize", "uc_event_create", "uc_event_destroy", "uc_event_record",
            "uc_event_elapsed_ms");

    @Test
    void headerOpsAreBound() throws IOException {
        Path header = Path.of("..", "native", "include", "unclip.h");
        Matcher m = Pattern.compile("UC_API uc_status (uc_\\w+)\\(").matcher(Files.readString(header));
        Set<String> declared = new TreeSet<>();
        while (m.find()) if (!NOT_OPS.contains(m.group(1))) declared.add(m.group(1));
        assertEquals(declared, new TreeSet<>(UnclipLibrary.OPS), "ops declared in unclip.h vs bound in UnclipLibrary.OPS");
    }

    @Test
    void everyOpHasARow() {
        Set<String> covered = OpCases.all().stream().map(OpCase::op).collect(Collectors.toSet());
        for (String op : UnclipLibrary.OPS) assertTrue(covered.contains(op), op + " has no row in OpCases");
    }
}
