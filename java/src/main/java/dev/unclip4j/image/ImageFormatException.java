package dev.unclip4j.image;

import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;

/** An input that is not an image this engine can read, or a preprocessing config it cannot follow. */
public final class ImageFormatException extends UnclipException {
    private static final long serialVersionUID = 1L;

    public ImageFormatException(String message) {
        super("image", Status.INVALID_ARGUMENT, message);
    }
}
