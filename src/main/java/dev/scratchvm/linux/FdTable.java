package dev.scratchvm.linux;

import java.util.ArrayList;
import java.util.List;

/**
 * The guest's file descriptor table. Numbers are the guest's own and follow POSIX:
 * a new descriptor gets the lowest free number. Several numbers may share one
 * {@link OpenFile} (dup, dup2, F_DUPFD).
 */
final class FdTable {
    static final int MAX_FDS = 1024;

    record Slot(OpenFile file, boolean closeOnExec) {
    }

    private final List<Slot> slots = new ArrayList<>();
    /** RLIMIT_NOFILE's soft limit: new descriptors are numbered below it. */
    private int limit = MAX_FDS;
    /** Whether the guest has taken POSIX record locks, which every close must then drop. */
    private boolean posixLocks;
    /** Whether the guest has taken locks of any kind (only then does a capture ask the host for them). */
    private boolean anyLocks;

    /** The guest took a POSIX record lock: from now on closing any descriptor drops the locks on its file. */
    void usesPosixLocks() {
        posixLocks = true;
        anyLocks = true;
    }

    /** The guest took an OFD lock or an flock. */
    void usesLocks() {
        anyLocks = true;
    }

    boolean locksUsed() {
        return anyLocks;
    }

    Slot get(int fd) {
        return fd >= 0 && fd < slots.size() ? slots.get(fd) : null;
    }

    OpenFile file(int fd) {
        Slot s = get(fd);
        return s == null ? null : s.file();
    }

    void setLimit(int limit) {
        this.limit = limit;
    }

    /** One past the highest number a new descriptor may get (RLIMIT_NOFILE). */
    int limit() {
        return limit;
    }

    /** Installs at the lowest free number >= {@code min}, below the limit; -1 when there is none. */
    int install(OpenFile file, boolean closeOnExec, int min) {
        for (int fd = min; fd < limit; fd++) {
            if (get(fd) == null) {
                installAt(fd, file, closeOnExec);
                return fd;
            }
        }
        return -1;
    }

    /** Installs at exactly {@code fd}, closing whatever was there (dup2 semantics). */
    void installAt(int fd, OpenFile file, boolean closeOnExec) {
        while (slots.size() <= fd) slots.add(null);
        file.retain();
        Slot old = slots.set(fd, new Slot(file, closeOnExec));
        if (old != null) old.file().release(posixLocks);
    }

    void setCloseOnExec(int fd, boolean closeOnExec) {
        slots.set(fd, new Slot(slots.get(fd).file(), closeOnExec));
    }

    /** Closes a guest fd; false when it was not open. */
    boolean close(int fd) {
        Slot s = get(fd);
        if (s == null) return false;
        slots.set(fd, null);
        s.file().release(posixLocks);
        return true;
    }

    /** Open descriptors in ascending order. */
    List<Integer> openFds() {
        List<Integer> fds = new ArrayList<>();
        for (int i = 0; i < slots.size(); i++) if (slots.get(i) != null) fds.add(i);
        return fds;
    }

    void closeAll() {
        for (int fd : openFds()) close(fd);
    }
}
