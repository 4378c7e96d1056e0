package dev.scratchvm.linux;

/** The saved kernel state cannot be rebuilt here (a file is missing or changed); one-line message. */
public final class KernelRestoreException extends Exception {
    public KernelRestoreException(String message) {
        super(message);
    }
}
