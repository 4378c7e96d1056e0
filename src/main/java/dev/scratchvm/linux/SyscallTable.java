package dev.scratchvm.linux;

/** System call handlers indexed by x86-64 Linux syscall number. */
final class SyscallTable {
    /** A handler returns the raw result: a value, or -errno. */
    @FunctionalInterface
    interface Handler {
        long handle(Call call);
    }

    /** A handler that decides more than a result: exit, save. */
    @FunctionalInterface
    interface ControlHandler {
        Control handle(Call call);
    }

    /**
     * {@code selfTraced}: the handler prints its own trace line (file calls, in the lab's format).
     * Exactly one of {@code handler} and {@code control} is set.
     */
    record Entry(String name, Handler handler, ControlHandler control, boolean selfTraced) {
    }

    private final Entry[] entries = new Entry[512];

    void register(int nr, String name, Handler handler) {
        add(nr, new Entry(name, handler, null, false));
    }

    void registerTraced(int nr, String name, Handler handler) {
        add(nr, new Entry(name, handler, null, true));
    }

    void registerControl(int nr, String name, ControlHandler control) {
        add(nr, new Entry(name, null, control, true));
    }

    private void add(int nr, Entry entry) {
        if (entries[nr] != null) throw new IllegalStateException("syscall " + nr + " registered twice");
        entries[nr] = entry;
    }

    Entry lookup(long nr) {
        return nr >= 0 && nr < entries.length ? entries[(int) nr] : null;
    }
}
