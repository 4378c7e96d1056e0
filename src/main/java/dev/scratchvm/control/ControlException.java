package dev.scratchvm.control;

/** An operation the VM cannot carry out now, with a one-line reason for the operator. */
public final class ControlException extends Exception {
    public ControlException(String message) {
        super(message);
    }
}
