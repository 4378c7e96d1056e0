package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.EBADF;
import static dev.scratchvm.sys.Errno.EEXIST;
import static dev.scratchvm.sys.Errno.EINVAL;
import static dev.scratchvm.sys.Errno.ELOOP;
import static dev.scratchvm.sys.Errno.EMFILE;
import static dev.scratchvm.sys.Errno.ENOENT;
import static dev.scratchvm.sys.Errno.EPERM;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * poll, ppoll, select, pselect6 and the epoll calls, over every kind of file the guest
 * holds: regular files and directories are always ready, the VMM's own files say
 * themselves, host fds (stdio, devices) ask the host. Every wait goes through
 * {@link Waits#until}, so a pause cuts it short: a wait without limit is made again, a
 * timed one is finished through restart_syscall with the time that was left, as Linux
 * restarts poll (the guest never sees EINTR for a pause, which is not a signal).
 */
final class WaitCalls {
    private static final int POLLIN_SET = Waits.POLLRDNORM | Waits.POLLRDBAND | Waits.POLLIN | Waits.POLLHUP | Waits.POLLERR,
            POLLOUT_SET = Waits.POLLWRBAND | Waits.POLLWRNORM | Waits.POLLOUT | Waits.POLLERR,
            POLLEX_SET = Waits.POLLPRI;
    private static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    private static final int EPOLLEXCLUSIVE_OK = Waits.POLLIN | Waits.POLLOUT | Waits.POLLERR | Waits.POLLHUP
            | Epoll.EPOLLWAKEUP | Epoll.EPOLLET | Epoll.EPOLLEXCLUSIVE;
    /** EP_MAX_EVENTS: INT_MAX / sizeof(struct epoll_event). */
    private static final int EP_MAX_EVENTS = Integer.MAX_VALUE / Epoll.EVENT_SIZE;
    private static final long NANOS = 1_000_000_000L, SIGSET_SIZE = 8;
    private static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000;
    /** The timeout comes from the call's arguments (not from a restart block). */
    private static final long FROM_ARGS = Long.MIN_VALUE;

    private final GuestArgs args;
    private final FdTable fds;
    private final FileCalls files;
    private final TimeCalls time;
    private final Waits waits;
    private final MemorySegment stat = java.lang.foreign.Arena.ofAuto().allocate(144, 8);

    WaitCalls(GuestArgs args, FdTable fds, FileCalls files, TimeCalls time, Waits waits) {
        this.args = args;
        this.fds = fds;
        this.files = files;
        this.time = time;
        this.waits = waits;
    }

    void register(SyscallTable t) {
        t.register(Nr.POLL, "poll", c -> poll(c, FROM_ARGS));
        t.register(Nr.PPOLL, "ppoll", c -> ppoll(c, FROM_ARGS));
        t.register(Nr.SELECT, "select", c -> select(c, FROM_ARGS, false));
        t.register(Nr.PSELECT6, "pselect6", c -> select(c, FROM_ARGS, true));
        t.register(Nr.EPOLL_CREATE, "epoll_create", c -> (int) c.a0() <= 0 ? -EINVAL : epollCreate(0));
        t.register(Nr.EPOLL_CREATE1, "epoll_create1", c -> epollCreate((int) c.a0()));
        t.register(Nr.EPOLL_CTL, "epoll_ctl", this::epollCtl);
        t.register(Nr.EPOLL_WAIT, "epoll_wait", c -> epollWait(c, Nr.EPOLL_WAIT, FROM_ARGS));
        t.register(Nr.EPOLL_PWAIT, "epoll_pwait", c -> epollWait(c, Nr.EPOLL_PWAIT, FROM_ARGS));
        t.register(Nr.EPOLL_PWAIT2, "epoll_pwait2", c -> epollWait(c, Nr.EPOLL_PWAIT2, FROM_ARGS));
        time.resumable(Nr.POLL, this::poll);
        time.resumable(Nr.PPOLL, this::ppoll);
        time.resumable(Nr.SELECT, (c, left) -> select(c, left, false));
        time.resumable(Nr.PSELECT6, (c, left) -> select(c, left, true));
        time.resumable(Nr.EPOLL_WAIT, (c, left) -> epollWait(c, Nr.EPOLL_WAIT, left));
        time.resumable(Nr.EPOLL_PWAIT, (c, left) -> epollWait(c, Nr.EPOLL_PWAIT, left));
        time.resumable(Nr.EPOLL_PWAIT2, (c, left) -> epollWait(c, Nr.EPOLL_PWAIT2, left));
    }

    // ---- timeouts ----------------------------------------------------------------------

    /** A timeout in milliseconds as nanoseconds; negative waits without limit. */
    private static long millis(long ms) {
        int m = (int) ms;
        return m < 0 ? -1 : m * 1_000_000L;
    }

    /** A struct timespec (NULL: no limit) as nanoseconds; EINVAL if malformed. */
    private long timespec(long addr) {
        if (addr == 0) return -1;
        long seconds = args.readLong(addr), nanos = args.readLong(addr + 8);
        if (seconds < 0 || nanos < 0 || nanos >= NANOS) throw new SyscallError(EINVAL);
        return seconds >= Long.MAX_VALUE / NANOS - 1 ? Long.MAX_VALUE : seconds * NANOS + nanos;
    }

    /** A struct timeval (NULL: no limit) as nanoseconds; EINVAL if malformed. */
    private long timeval(long addr) {
        if (addr == 0) return -1;
        long seconds = args.readLong(addr), micros = args.readLong(addr + 8);
        if (seconds < 0 || micros < 0 || micros >= 1_000_000) throw new SyscallError(EINVAL);
        return seconds >= Long.MAX_VALUE / NANOS - 1 ? Long.MAX_VALUE : seconds * NANOS + micros * 1000;
    }

    /** A sigmask argument: ignored (no signal reaches the guest), but its size must be right when one is given. */
    private static void sigmask(long mask, long size) {
        if (mask != 0 && size != SIGSET_SIZE) throw new SyscallError(EINVAL);
    }

    /** After {@link Waits#WOKEN}: how the guest goes on with the same call. */
    private RuntimeException interrupted(int nr, long timeoutNanos) {
        return timeoutNanos < 0 ? new Interrupted(nr) : time.restartLater(nr, waits.remaining());
    }

    // ---- poll --------------------------------------------------------------------------

    private long poll(Call c, long resumed) {
        long timeout = resumed != FROM_ARGS ? resumed : millis(c.a2());
        return pollFds(c, timeout, Nr.POLL, 0);
    }

    private long ppoll(Call c, long resumed) {
        long timeout = resumed != FROM_ARGS ? resumed : timespec(c.a2());
        sigmask(c.a3(), c.a4());
        return pollFds(c, timeout, Nr.PPOLL, c.a2());
    }

    private long pollFds(Call c, long timeout, int nr, long timespecAddr) {
        long count = c.a1() & 0xffffffffL;
        if (count > FdTable.MAX_FDS) return -EINVAL; // RLIMIT_NOFILE
        MemorySegment pollFds = args.output(c.a0(), 8 * count);
        long start = System.nanoTime();
        long r = waits.until(() -> scanPoll(pollFds, (int) count), timeout);
        if (r == Waits.WOKEN) throw interrupted(nr, timeout);
        writeRemaining(timespecAddr, timeout, start, 1);
        return r;
    }

    private long scanPoll(MemorySegment pollFds, int count) {
        int ready = 0;
        for (int i = 0; i < count; i++) {
            int fd = pollFds.get(JAVA_INT_UNALIGNED, 8L * i);
            int events = pollFds.get(JAVA_SHORT_UNALIGNED, 8L * i + 4) & 0xffff;
            int revents = 0;
            if (fd >= 0) {
                OpenFile f = fds.file(fd);
                int wanted = events | Waits.POLLERR | Waits.POLLHUP;
                revents = f == null ? Waits.POLLNVAL : waits.poll(f, wanted, 0) & wanted;
            }
            pollFds.set(JAVA_SHORT_UNALIGNED, 8L * i + 6, (short) revents);
            if (revents != 0) ready++;
        }
        return ready;
    }

    /**
     * Linux writes the time that was left back into the timeout of ppoll, select and
     * pselect6 ({@code unit} 1 for a timespec's nanoseconds, 1000 for a timeval's microseconds).
     */
    private void writeRemaining(long addr, long timeout, long start, long unit) {
        if (addr == 0 || timeout < 0) return;
        long left = Math.max(0, timeout - (System.nanoTime() - start));
        args.writeLong(addr, left / NANOS);
        args.writeLong(addr + 8, left % NANOS / unit);
    }

    // ---- select ------------------------------------------------------------------------

    private long select(Call c, long resumed, boolean pselect) {
        int n = (int) c.a0();
        if (n < 0) return -EINVAL;
        n = Math.min(n, FdTable.MAX_FDS);
        long timeout = resumed != FROM_ARGS ? resumed : pselect ? timespec(c.a4()) : timeval(c.a4());
        if (pselect && c.a5() != 0) {
            MemorySegment sig = args.buffer(c.a5(), 16);
            sigmask(sig.get(JAVA_LONG_UNALIGNED, 0), sig.get(JAVA_LONG_UNALIGNED, 8));
        }
        int words = (n + 63) / 64;
        MemorySegment[] sets = new MemorySegment[3];
        long[][] asked = new long[3][words];
        for (int s = 0; s < 3; s++) {
            long addr = s == 0 ? c.a1() : s == 1 ? c.a2() : c.a3();
            if (addr == 0 || words == 0) continue;
            sets[s] = args.output(addr, 8L * words);
            for (int w = 0; w < words; w++) asked[s][w] = sets[s].get(JAVA_LONG_UNALIGNED, 8L * w);
        }
        // Every fd asked about must be open (max_select_fd), before any waiting.
        for (int fd = 0; fd < n; fd++) {
            if (bit(asked, fd) != 0 && fds.file(fd) == null) return -EBADF;
        }
        long[][] found = new long[3][words];
        int nfds = n;
        long start = System.nanoTime();
        long r = waits.until(() -> scanSelect(asked, found, nfds), timeout);
        if (r == Waits.WOKEN) throw interrupted(pselect ? Nr.PSELECT6 : Nr.SELECT, timeout);
        for (int s = 0; s < 3; s++) {
            if (sets[s] == null) continue;
            for (int w = 0; w < words; w++) sets[s].set(JAVA_LONG_UNALIGNED, 8L * w, r > 0 ? found[s][w] : 0);
        }
        writeRemaining(c.a4(), timeout, start, pselect ? 1 : 1000);
        return r;
    }

    /** Which of the three sets ask about {@code fd}: bit 0 read, 1 write, 2 except. */
    private static int bit(long[][] sets, int fd) {
        int b = 0;
        for (int s = 0; s < 3; s++) if ((sets[s][fd >> 6] >>> (fd & 63) & 1) != 0) b |= 1 << s;
        return b;
    }

    private long scanSelect(long[][] asked, long[][] found, int n) {
        int ready = 0;
        for (long[] set : found) java.util.Arrays.fill(set, 0);
        for (int fd = 0; fd < n; fd++) {
            int which = bit(asked, fd);
            if (which == 0) continue;
            int interest = ((which & 1) != 0 ? Waits.POLLIN : 0) | ((which & 2) != 0 ? Waits.POLLOUT : 0)
                    | ((which & 4) != 0 ? Waits.POLLPRI : 0);
            int mask = waits.poll(fds.file(fd), interest, 0);
            int[] sets = {POLLIN_SET, POLLOUT_SET, POLLEX_SET};
            for (int s = 0; s < 3; s++) {
                if ((which >> s & 1) != 0 && (mask & sets[s]) != 0) {
                    found[s][fd >> 6] |= 1L << (fd & 63);
                    ready++;
                }
            }
        }
        return ready;
    }

    // ---- epoll -------------------------------------------------------------------------

    private long epollCreate(int flags) {
        if ((flags & ~Libc.O_CLOEXEC) != 0) return -EINVAL;
        int fd = fds.install(new OpenFile(new Epoll(), FileKind.EPOLL, Libc.O_RDWR), (flags & Libc.O_CLOEXEC) != 0, 0);
        return fd < 0 ? -EMFILE : fd;
    }

    private long epollCtl(Call c) {
        int op = (int) c.a1(), fd = (int) c.a2();
        boolean hasEvent = op != EPOLL_CTL_DEL;
        int events = 0;
        long data = 0;
        if (hasEvent) {
            MemorySegment ev = args.buffer(c.a3(), Epoll.EVENT_SIZE);
            events = ev.get(JAVA_INT_UNALIGNED, 0);
            data = ev.get(JAVA_LONG_UNALIGNED, 4);
        }
        OpenFile epFile = files.file(c.fd());
        OpenFile target = files.file(fd);
        if (!pollable(target)) return -EPERM;
        if (epFile == target || !(epFile.virtual instanceof Epoll ep)) return -EINVAL;
        if (hasEvent && (events & Epoll.EPOLLEXCLUSIVE) != 0) {
            if (op == EPOLL_CTL_MOD) return -EINVAL;
            if (op == EPOLL_CTL_ADD && (target.virtual instanceof Epoll || (events & ~EPOLLEXCLUSIVE_OK) != 0)) return -EINVAL;
        }
        Epoll.Entry entry = ep.find(fd, target);
        switch (op) {
            case EPOLL_CTL_ADD -> {
                if (entry != null) return -EEXIST;
                if (target.virtual instanceof Epoll inner && ep.wouldLoop(inner)) return -ELOOP;
                ep.add(new Epoll.Entry(fd, target, events | Waits.POLLERR | Waits.POLLHUP, data), waits);
            }
            case EPOLL_CTL_DEL -> {
                if (entry == null) return -ENOENT;
                ep.remove(entry);
            }
            case EPOLL_CTL_MOD -> {
                if (entry == null) return -ENOENT;
                if ((entry.events & Epoll.EPOLLEXCLUSIVE) != 0) return -EINVAL;
                entry.events = events | Waits.POLLERR | Waits.POLLHUP;
                entry.data = data;
                ep.rearm(entry, waits);
            }
            default -> {
                return -EINVAL;
            }
        }
        return 0;
    }

    /**
     * Whether epoll can watch {@code f}: Linux refuses (EPERM) regular files and directories,
     * which have no poll operation, also when they stand behind the guest's stdin or stdout.
     */
    private boolean pollable(OpenFile f) {
        if (f.virtual != null) return true;
        if (f.kind == FileKind.REGULAR || f.kind == FileKind.DIRECTORY) return false;
        if (!f.isStdio() || Libc.fstat(f.hostFd, stat) < 0) return true;
        int type = stat.get(JAVA_INT, 24) & S_IFMT;
        return type != S_IFREG && type != S_IFDIR;
    }

    private long epollWait(Call c, int nr, long resumed) {
        int max = (int) c.a2();
        long timeout;
        if (resumed != FROM_ARGS) {
            timeout = resumed;
        } else if (nr == Nr.EPOLL_PWAIT2) {
            timeout = timespec(c.a3());
        } else {
            timeout = millis(c.a3());
        }
        if (nr != Nr.EPOLL_WAIT) sigmask(c.a4(), c.a5());
        if (max <= 0 || max > EP_MAX_EVENTS) return -EINVAL;
        MemorySegment out = args.output(c.a1(), (long) Epoll.EVENT_SIZE * max);
        OpenFile f = files.file(c.fd());
        if (!(f.virtual instanceof Epoll ep)) return -EINVAL;
        long r = waits.until(() -> ep.collect(waits, out, max), timeout);
        if (r == Waits.WOKEN) throw interrupted(nr, timeout);
        return r;
    }
}
