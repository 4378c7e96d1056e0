package dev.scratchvm.cmdline;

/** A command line that does not fit its command's declaration: one line for the user, exit code 2. */
public final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    /** The command whose help explains the mistake, e.g. {@code scratchvm run}. */
    private final String command;

    UsageException(String command, String message) {
        super(message, null, false, false);
        this.command = command;
    }

    public String command() {
        return command;
    }
}
