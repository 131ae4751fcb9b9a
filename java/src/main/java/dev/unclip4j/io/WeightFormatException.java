package dev.unclip4j.io;

import dev.unclip4j.bindings.Status;
import dev.unclip4j.bindings.UnclipException;

/**
 * A weight file, index or config that cannot be used as it is: truncated, corrupt, inconsistent
 * with itself or with the model it should hold. The message names the file and, where one is at
 * fault, the tensor or config key.
 */
public final class WeightFormatException extends UnclipException {
    private static final long serialVersionUID = 1L;

    public WeightFormatException(String message) {
        super("weights", Status.INVALID_ARGUMENT, message);
    }

    public WeightFormatException(String message, Throwable cause) {
        this(message);
        initCause(cause);
    }
}
