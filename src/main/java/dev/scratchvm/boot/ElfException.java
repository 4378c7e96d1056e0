package dev.scratchvm.boot;

/** The program file cannot be run: the message says why, in one line. */
public final class ElfException extends Exception {
    public ElfException(String message) {
        super(message);
    }
}
