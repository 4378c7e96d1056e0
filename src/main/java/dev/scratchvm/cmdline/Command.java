package dev.scratchvm.cmdline;

/** A parsed command, ready to run: its fields were set from the command line. */
@FunctionalInterface
public interface Command {
    /** Runs the command and returns the process exit code. */
    int call() throws Exception;
}
