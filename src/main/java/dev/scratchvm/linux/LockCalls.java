package dev.scratchvm.linux;

import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.Wakeup;

import java.lang.foreign.MemorySegment;
import java.util.function.IntSupplier;

import static dev.scratchvm.sys.Errno.*;

/**
 * Record locks (fcntl F_GETLK/F_SETLK/F_SETLKW and the open-file-description variants) and
 * flock(2), taken as real host locks on the host fd behind the guest fd, so other processes
 * and other VMs see them. The guest's struct flock has the host's layout (x86-64), and its
 * SEEK_CUR means the host fd's offset, which is the guest's: it is handed over as it is.
 *
 * <p>POSIX locks belong to the host process, as they belong to one process on Linux: all the
 * guest's descriptors share them. Waiting calls never wait inside the host kernel: they try
 * without waiting, then sleep a little while watching the wakeup, so a pause can cut in and
 * the guest makes the call again afterwards.
 */
final class LockCalls {
    private static final long STRUCT_FLOCK = 32;
    private static final long FIRST_NAP_NANOS = 1_000_000, LONGEST_NAP_NANOS = 20_000_000;

    private final GuestArgs args;
    private final FdTable fds;
    private final Wakeup wakeup;
    private final Trace trace;

    LockCalls(GuestArgs args, FdTable fds, Wakeup wakeup, Trace trace) {
        this.args = args;
        this.fds = fds;
        this.wakeup = wakeup;
        this.trace = trace;
    }

    void register(SyscallTable t, FileCalls files) {
        t.registerTraced(Nr.FLOCK, "flock", c -> flock(files.file(c.fd()), c));
    }

    static boolean isLockCommand(int cmd) {
        return switch (cmd) {
            case Libc.F_GETLK, Libc.F_SETLK, Libc.F_SETLKW, Libc.F_OFD_GETLK, Libc.F_OFD_SETLK, Libc.F_OFD_SETLKW -> true;
            default -> false;
        };
    }

    /** One of the lock commands of fcntl(2) on {@code f}. */
    long fcntl(OpenFile f, int cmd, long flockAddr) {
        boolean query = cmd == Libc.F_GETLK || cmd == Libc.F_OFD_GETLK;
        MemorySegment lock = query ? args.output(flockAddr, STRUCT_FLOCK) : args.buffer(flockAddr, STRUCT_FLOCK);
        if (query) return Libc.fcntl(f.hostFd, cmd, lock);
        // From now on a close of any descriptor of the file drops the process's locks on it, as on Linux.
        if (cmd == Libc.F_SETLK || cmd == Libc.F_SETLKW) fds.usesPosixLocks();
        else fds.usesLocks();
        return switch (cmd) {
            case Libc.F_SETLKW -> waiting(Nr.FCNTL, () -> Libc.fcntl(f.hostFd, Libc.F_SETLK, lock));
            case Libc.F_OFD_SETLKW -> waiting(Nr.FCNTL, () -> Libc.fcntl(f.hostFd, Libc.F_OFD_SETLK, lock));
            default -> Libc.fcntl(f.hostFd, cmd, lock);
        };
    }

    private long flock(OpenFile f, Call c) {
        int op = (int) c.a1();
        String label = "FLOCK " + c.fd() + " " + op;
        int kind = op & ~Libc.LOCK_NB;
        if (kind != Libc.LOCK_SH && kind != Libc.LOCK_EX && kind != Libc.LOCK_UN) return traced(label, -EINVAL);
        fds.usesLocks();
        if (kind == Libc.LOCK_UN || (op & Libc.LOCK_NB) != 0) return traced(label, Libc.flock(f.hostFd, op));
        return traced(label, waiting(Nr.FLOCK, () -> Libc.flock(f.hostFd, op | Libc.LOCK_NB)));
    }

    /**
     * Tries {@code attempt} (a lock request that does not wait) until it stops reporting a
     * conflict, napping in between; a wake ends the wait and the guest makes the call again.
     */
    private long waiting(long nr, IntSupplier attempt) {
        long nap = FIRST_NAP_NANOS;
        while (true) {
            int r = attempt.getAsInt();
            if (r != -EAGAIN && r != -EACCES) return r;
            if (wakeup.await(-1, 0, nap) == Wakeup.Result.WOKEN) throw new Interrupted(nr);
            nap = Math.min(nap * 2, LONGEST_NAP_NANOS);
        }
    }

    private long traced(String text, long result) {
        trace.file(text, result);
        return result;
    }
}
