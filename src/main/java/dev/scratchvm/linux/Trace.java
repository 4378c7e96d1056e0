package dev.scratchvm.linux;

import java.io.PrintStream;

/**
 * One line per system call on the VMM's stderr, in the lab's format:
 * {@code OPEN ./ay_caramba 32834 511 - return 3}. File calls are shown by default;
 * start-up housekeeping (brk, mmap, arch_prctl ...) only at level ALL.
 */
public final class Trace {
    public enum Level { NONE, FILES, ALL }

    private final Level level;
    private final PrintStream out;
    private final String prefix;

    public Trace(Level level, PrintStream out, String prefix) {
        this.level = level;
        this.out = out;
        this.prefix = prefix;
    }

    public static Trace none() {
        return new Trace(Level.NONE, System.err, "");
    }

    public boolean files() {
        return level != Level.NONE;
    }

    public boolean all() {
        return level == Level.ALL;
    }

    /** A file call: shown unless tracing is off. */
    public void file(String call, long result) {
        if (files()) out.println(prefix + call + " - return " + result);
    }

    /** Any other call: shown with --trace=all. */
    public void other(String call, long result) {
        if (all()) out.println(prefix + call + " - return " + result);
    }

    /** An event line such as {@code EXIT 0} or {@code SAVE OPERATION}, shown unless tracing is off. */
    public void event(String text) {
        if (files()) out.println(prefix + text);
    }

    public String prefix() {
        return prefix;
    }

    public Level level() {
        return level;
    }
}
