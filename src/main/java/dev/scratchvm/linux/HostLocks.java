package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileLock;
import dev.scratchvm.state.KernelState.LockOwner;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.sys.Libc;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The locks held through a host fd, read from the host kernel itself (its "lock:" lines in
 * /proc/self/fdinfo), and taken again on restore. Asking the host rather than keeping a
 * copy means splits, merges, upgrades and releases by close are exactly the kernel's.
 */
final class HostLocks {
    private HostLocks() {
    }

    /**
     * The locks the host reports for {@code hostFd}: flock and OFD locks of its open file
     * description, and this process's POSIX locks that were taken through it.
     */
    static List<FileLock> held(int hostFd) throws KernelRestoreException {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/self/fdinfo/" + hostFd));
        } catch (IOException e) {
            throw new KernelRestoreException("cannot read the locks of host fd " + hostFd + ": " + e.getMessage());
        }
        List<FileLock> locks = new ArrayList<>();
        for (String line : lines) {
            if (!line.startsWith("lock:")) continue;
            // "lock:\t1: POSIX  ADVISORY  WRITE 4242 fe:00:1234 5 14" (fs/locks.c, lock_get_status)
            String[] t = line.substring(5).trim().split("\\s+");
            if (t.length < 8 || t[1].equals("->")) continue; // a waiter, not a lock held
            LockOwner owner = switch (t[1]) {
                case "POSIX" -> LockOwner.POSIX;
                case "OFDLCK" -> LockOwner.OFD;
                case "FLOCK" -> LockOwner.FLOCK;
                default -> null; // leases and the like are not the guest's
            };
            if (owner == null || !(t[3].equals("READ") || t[3].equals("WRITE"))) continue;
            long start = Long.parseLong(t[6]);
            long length = t[7].equals("EOF") ? 0 : Long.parseLong(t[7]) - start + 1;
            locks.add(new FileLock(owner, t[3].equals("WRITE"), start, length));
        }
        return locks;
    }

    /** Takes {@code lock} through {@code hostFd} without waiting; a conflict refuses the restore. */
    static void take(int hostFd, FileLock lock, String path) throws KernelRestoreException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fl = arena.allocate(32, 8);
            int r;
            if (lock.owner() == LockOwner.FLOCK) {
                r = Libc.flock(hostFd, (lock.write() ? Libc.LOCK_EX : Libc.LOCK_SH) | Libc.LOCK_NB);
            } else {
                flock(fl, lock.write() ? Libc.F_WRLCK : Libc.F_RDLCK, lock.start(), lock.length());
                r = Libc.fcntl(hostFd, lock.owner() == LockOwner.POSIX ? Libc.F_SETLK : Libc.F_OFD_SETLK, fl);
            }
            if (r == 0) return;
            String what = "cannot take the " + describe(lock) + " on " + path + " again: ";
            if (r != -Errno.EAGAIN && r != -Errno.EACCES) throw new KernelRestoreException(what + Libc.strerror(-r));
            throw new KernelRestoreException(what + holder(hostFd, lock, fl) + " holds a conflicting lock");
        }
    }

    /** Who holds what conflicts with {@code lock}, as far as the host says. */
    private static String holder(int hostFd, FileLock lock, MemorySegment fl) {
        if (lock.owner() == LockOwner.FLOCK) return "another open file description";
        flock(fl, lock.write() ? Libc.F_WRLCK : Libc.F_RDLCK, lock.start(), lock.length());
        int query = lock.owner() == LockOwner.POSIX ? Libc.F_GETLK : Libc.F_OFD_GETLK;
        if (Libc.fcntl(hostFd, query, fl) < 0 || fl.get(JAVA_SHORT, 0) == Libc.F_UNLCK) return "another process";
        int pid = fl.get(JAVA_INT, 24);
        return pid > 0 ? "process " + pid : "an open file description elsewhere (OFD lock)";
    }

    private static void flock(MemorySegment fl, int type, long start, long length) {
        fl.fill((byte) 0);
        fl.set(JAVA_SHORT, 0, (short) type);
        fl.set(JAVA_SHORT, 2, (short) Libc.SEEK_SET);
        fl.set(JAVA_LONG, 8, start);
        fl.set(JAVA_LONG, 16, length);
    }

    static String describe(FileLock lock) {
        String kind = switch (lock.owner()) {
            case POSIX -> "POSIX ";
            case OFD -> "OFD ";
            case FLOCK -> "flock ";
        };
        String range = lock.owner() == LockOwner.FLOCK ? "" : lock.length() == 0 ? " (bytes " + lock.start() + " to EOF)"
                : " (bytes " + lock.start() + " to " + (lock.start() + lock.length() - 1) + ")";
        return kind + (lock.write() ? "write" : "read") + " lock" + range;
    }
}
