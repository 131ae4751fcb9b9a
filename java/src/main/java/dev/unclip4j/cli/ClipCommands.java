package dev.unclip4j.cli;

import dev.unclip4j.api.Unclip;
import java.nio.file.Path;

/** What the CLIP commands (embed, classify) share. */
final class ClipCommands {
    private ClipCommands() {}

    /** The model given, or the built-in one. */
    static Path modelOrBuiltIn(Path model) {
        return model != null ? model : Unclip.builtInModel();
    }
}
