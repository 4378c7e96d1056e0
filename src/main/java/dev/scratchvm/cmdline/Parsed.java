package dev.scratchvm.cmdline;

/** What a command line asks for. {@code path} is the command as typed, e.g. {@code scratchvm run}. */
public sealed interface Parsed {
    record Run(Command command) implements Parsed {
    }

    record Help(Spec<?> spec, String path) implements Parsed {
    }

    record Version() implements Parsed {
    }
}
