package dev.unclip4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import picocli.CommandLine.Model.CommandSpec;

/** What the CLIP commands (embed, classify) share: the --model check and the all-or-nothing file write. */
final class ClipCommands {
    private ClipCommands() {}

    /** --model is required: there is no default CLIP model yet. */
    static Path requireModel(Path model, CommandSpec spec) {
        if (model == null) {
            throw new IllegalArgumentException("--model DIR is required: there is no default CLIP model yet "
                    + "(give a Hugging Face CLIP folder, an OpenAI/open_clip .safetensors checkpoint, or a diffusers "
                    + "UnCLIP folder such as Karlo's)");
        }
        return model;
    }

    /** Writes {@code bytes} to {@code target} through a temporary file in the same folder, then a move: never half-written. */
    static void writeAtomically(Path target, byte[] bytes) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir, "." + abs.getFileName(), ".tmp");
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the move succeeded or the write failed first; nothing more to do
                }
            }
        }
    }
}
