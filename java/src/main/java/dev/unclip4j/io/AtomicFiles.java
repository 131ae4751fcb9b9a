package dev.unclip4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;

/**
 * All-or-nothing file writes: the content goes to a temporary file in the target's folder, which
 * is then moved over the target, so a failure (a full disk, an encoder error, a killed process)
 * never leaves a partial or empty file where the caller asked for one.
 */
public final class AtomicFiles {
    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {}

    /** Writes the content of a file given its path. */
    @FunctionalInterface
    public interface Content {
        void writeTo(Path file) throws IOException;
    }

    /** Writes {@code bytes} to {@code target} atomically. */
    public static void write(Path target, byte[] bytes) {
        write(target, tmp -> Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
    }

    /**
     * Has {@code content} write a temporary file (not yet existing) beside {@code target}, then
     * moves it into place.
     */
    public static void write(Path target, Content content) {
        Path abs = target.toAbsolutePath();
        Path tmp = null;
        try {
            checkWritable(target);
            // A fresh name, not Files.createTempFile: that one makes the file owner-only (0600),
            // and the move would hand those permissions to the target instead of the umask's.
            tmp = abs.resolveSibling("." + abs.getFileName() + "." + Long.toHexString(RANDOM.nextLong()) + ".part");
            content.writeTo(tmp);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + reason(e), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the move succeeded or the write failed first; nothing more to clean
                }
            }
        }
    }

    /**
     * Fails, naming the reason, when {@code target} cannot be written: its folder is missing or
     * read-only, or it is a folder. Lets a long computation check its output before it starts.
     */
    public static void checkWritable(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new NoSuchFileException(String.valueOf(dir), null, "no such folder");
        if (Files.isDirectory(abs)) throw new IOException("it is a folder");
        if (!Files.isWritable(dir)) throw new AccessDeniedException(dir.toString(), null, "the folder is not writable");
        if (Files.exists(abs) && !Files.isWritable(abs)) throw new AccessDeniedException(abs.toString(), null, "read-only file");
    }

    /** {@link #checkWritable} with the failure as an unchecked exception naming the file. */
    public static void requireWritable(Path target) {
        try {
            checkWritable(target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + reason(e), e);
        }
    }

    private static String reason(IOException e) {
        if (e instanceof NoSuchFileException n) {
            return (n.getReason() != null ? n.getReason() : "no such file or folder") + " " + n.getFile();
        }
        if (e instanceof AccessDeniedException a) return a.getReason() != null ? a.getReason() : "permission denied";
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }
}
