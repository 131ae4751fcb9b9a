package dev.unclip4j.bindings;

/**
 * A failed unclip4j operation: which op, which {@link Status}, and the message the native
 * library (or the Java check in front of it) gave.
 */
public class UnclipException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String op;
    private final Status status;

    public UnclipException(String op, Status status, String message) {
        super(op + ": " + message + " [" + status + "]");
        this.op = op;
        this.status = status;
    }

    /** The native symbol (e.g. {@code uc_add}) or Java operation that failed. */
    public String op() {
        return op;
    }

    public Status status() {
        return status;
    }

    /** A Java-side argument check, reported like the native ones. */
    public static UnclipException invalidArgument(String op, String message) {
        return new UnclipException(op, Status.INVALID_ARGUMENT, message);
    }
}
