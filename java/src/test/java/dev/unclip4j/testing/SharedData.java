package dev.unclip4j.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Finds files in the shared data folder beside the checkout (REFERENCE.md: ../shared/data/). */
public final class SharedData {
    private SharedData() {}

    /**
     * {@code shared/data/<relative>} in the first ancestor of the working directory that has it
     * (tests run in java/, the checkout is ../, shared/ is beside the checkout), or the folder
     * named by -Dunclip.shared.data / UNCLIP_SHARED_DATA.
     */
    public static Optional<Path> find(String relative) {
        String override = System.getProperty("unclip.shared.data", System.getenv("UNCLIP_SHARED_DATA"));
        if (override != null && Files.exists(Path.of(override).resolve(relative))) return Optional.of(Path.of(override).resolve(relative));
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolve("shared").resolve("data").resolve(relative);
            if (Files.exists(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** Where the repository root is (the folder holding the ./test script). */
    public static Path repoRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("test")) && Files.isDirectory(dir.resolve("java"))) return dir;
        }
        throw new IllegalStateException("not inside the unclip4j checkout: " + Path.of("").toAbsolutePath());
    }
}
