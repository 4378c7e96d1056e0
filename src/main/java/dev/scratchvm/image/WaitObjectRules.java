package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.EpollEntry;
import dev.scratchvm.state.KernelState.EpollState;
import dev.scratchvm.state.KernelState.EventFdState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.KernelState.PipeBuffer;
import dev.scratchvm.state.KernelState.PipeState;
import dev.scratchvm.state.KernelState.SignalFdState;
import dev.scratchvm.state.KernelState.TimerFdState;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The rules for the objects the VMM holds for the guest itself (pipes, eventfds, timerfds,
 * epoll instances, signalfds): each open file of those kinds has exactly one record and each record
 * names an open file of its kind, and no value is one the VMM could not have reached (a pipe
 * holding more than its 16 pages, a counter at 2^64 - 1, an epoll entry naming a file that
 * is not open).
 */
final class WaitObjectRules {
    /** A pipe has 1 to 256 pages (1 MiB, Linux's pipe-max-size) of 4096 bytes. */
    static final int MAX_PIPE_PAGES = 256, PAGE = 4096;
    private static final int O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 04000;
    /** EPOLLIN...EPOLLRDHUP (0x2fff), EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET. */
    private static final int EPOLL_BITS = 0x2fff | (1 << 28) | (1 << 29) | (1 << 30) | (1 << 31);
    private static final Set<Integer> CLOCKS = Set.of(0, 1, 7);
    /** Linux's EP_MAX_NESTS: epoll_ctl refuses (ELOOP) a loop or deeper nesting of epoll instances. */
    private static final int MAX_NESTS = 4;

    private WaitObjectRules() {
    }

    static boolean isVmmObject(FileKind kind) {
        return kind == FileKind.PIPE || kind == FileKind.EVENTFD || kind == FileKind.TIMERFD || kind == FileKind.EPOLL
                || kind == FileKind.SIGNALFD;
    }

    /** The first broken rule, or null. */
    static String check(KernelState k) {
        Map<Integer, OpenFileState> files = new HashMap<>();
        for (OpenFileState f : k.files()) files.put(f.id(), f);
        Set<Integer> claimed = new HashSet<>();
        String p = pipes(k.pipes(), files, claimed);
        if (p == null) p = eventFds(k.eventFds(), files, claimed);
        if (p == null) p = timerFds(k.timerFds(), files, claimed);
        if (p == null) p = signalFds(k.signalFds(), files, claimed);
        if (p == null) p = epolls(k, files, claimed);
        if (p != null) return p;
        for (OpenFileState f : k.files()) {
            if (isVmmObject(f.kind()) && !claimed.contains(f.id())) {
                return "kernel.files[id " + f.id() + "]: a " + f.kind() + " with no record describing it";
            }
            if (isVmmObject(f.kind()) && f.offset() != 0) return "kernel.files[id " + f.id() + "].offset of a " + f.kind() + " must be 0";
            if (isVmmObject(f.kind()) && !f.locks().isEmpty()) return "kernel.files[id " + f.id() + "].locks on a " + f.kind();
        }
        return null;
    }

    /** The file {@code id} exists, is of {@code kind} and no other record has claimed it; else the problem. */
    private static String claim(String field, int id, FileKind kind, Map<Integer, OpenFileState> files, Set<Integer> claimed) {
        OpenFileState f = files.get(id);
        if (f == null) return field + " names open file " + id + ", which does not exist";
        if (f.kind() != kind) return field + " names open file " + id + " of kind " + f.kind() + ", expected " + kind;
        if (!claimed.add(id)) return field + " names open file " + id + ", which another record describes too";
        return null;
    }

    private static String pipes(List<PipeState> pipes, Map<Integer, OpenFileState> files, Set<Integer> claimed) {
        for (int i = 0; i < pipes.size(); i++) {
            PipeState pipe = pipes.get(i);
            String field = "kernel.pipes[" + i + "]";
            if (pipe.readFile() == -1 && pipe.writeFile() == -1) return field + " has neither end open";
            String p = pipe.readFile() == -1 ? null : end(field + ".read_file", pipe.readFile(), O_RDONLY, files, claimed);
            if (p == null && pipe.writeFile() != -1) p = end(field + ".write_file", pipe.writeFile(), O_WRONLY, files, claimed);
            if (p != null) return p;
            if (pipe.pages() < 1 || pipe.pages() > MAX_PIPE_PAGES || Integer.bitCount(pipe.pages()) != 1) {
                return field + ".pages " + pipe.pages() + " is not a power of 2 from 1 to " + MAX_PIPE_PAGES;
            }
            if (pipe.buffers().size() > pipe.pages()) {
                return field + " holds " + pipe.buffers().size() + " pages, over the pipe's capacity of " + pipe.pages();
            }
            for (int b = 0; b < pipe.buffers().size(); b++) {
                PipeBuffer buf = pipe.buffers().get(b);
                if (buf.data() == null) return field + ".buffers[" + b + "] has no data";
                if (buf.offset() < 0 || buf.data().length == 0 || buf.offset() + buf.data().length > PAGE) {
                    return field + ".buffers[" + b + "]: " + buf.data().length + " bytes at offset " + buf.offset()
                            + " do not fit a page of " + PAGE;
                }
            }
        }
        return null;
    }

    private static String end(String field, int id, int access, Map<Integer, OpenFileState> files, Set<Integer> claimed) {
        String p = claim(field, id, FileKind.PIPE, files, claimed);
        if (p != null) return p;
        int flags = files.get(id).flags();
        if ((flags & O_ACCMODE) != access || (flags & ~(O_ACCMODE | O_NONBLOCK)) != 0) {
            return field + ": open file " + id + " has flags " + KernelRules.hex(flags) + ", expected "
                    + (access == O_RDONLY ? "O_RDONLY" : "O_WRONLY") + " and at most O_NONBLOCK";
        }
        return null;
    }

    private static String eventFds(List<EventFdState> eventFds, Map<Integer, OpenFileState> files, Set<Integer> claimed) {
        for (int i = 0; i < eventFds.size(); i++) {
            EventFdState e = eventFds.get(i);
            String field = "kernel.event_fds[" + i + "]";
            String p = claim(field + ".file", e.file(), FileKind.EVENTFD, files, claimed);
            if (p == null) p = readWrite(field, files.get(e.file()));
            if (p != null) return p;
            if (e.count() == -1L) return field + ".count is 2^64 - 1, which no write can reach";
        }
        return null;
    }

    /** SIGKILL and SIGSTOP: a signalfd never reads them (signalfd4 drops them from the mask). */
    private static final long UNREADABLE = (1L << 8) | (1L << 18);

    private static String signalFds(List<SignalFdState> signalFds, Map<Integer, OpenFileState> files, Set<Integer> claimed) {
        for (int i = 0; i < signalFds.size(); i++) {
            SignalFdState f = signalFds.get(i);
            String field = "kernel.signal_fds[" + i + "]";
            String p = claim(field + ".file", f.file(), FileKind.SIGNALFD, files, claimed);
            if (p == null) p = readWrite(field, files.get(f.file()));
            if (p != null) return p;
            if ((f.mask() & UNREADABLE) != 0) return field + ".mask " + KernelRules.hex(f.mask()) + " has SIGKILL or SIGSTOP";
        }
        return null;
    }

    private static String timerFds(List<TimerFdState> timerFds, Map<Integer, OpenFileState> files, Set<Integer> claimed) {
        for (int i = 0; i < timerFds.size(); i++) {
            TimerFdState t = timerFds.get(i);
            String field = "kernel.timer_fds[" + i + "]";
            String p = claim(field + ".file", t.file(), FileKind.TIMERFD, files, claimed);
            if (p == null) p = readWrite(field, files.get(t.file()));
            if (p != null) return p;
            if (!CLOCKS.contains(t.clock())) return field + ".clock " + t.clock() + " is not CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME";
            if (t.remainingNanos() < 0 || t.intervalNanos() < 0 || t.expirations() < 0) {
                return field + ": remaining " + t.remainingNanos() + ", interval " + t.intervalNanos() + " and expirations "
                        + t.expirations() + " must not be negative";
            }
        }
        return null;
    }

    private static String readWrite(String field, OpenFileState f) {
        if ((f.flags() & ~O_NONBLOCK) != O_RDWR) {
            return field + ": open file " + f.id() + " has flags " + KernelRules.hex(f.flags()) + ", expected O_RDWR and at most O_NONBLOCK";
        }
        return null;
    }

    private static String epolls(KernelState k, Map<Integer, OpenFileState> files, Set<Integer> claimed) {
        Set<Integer> open = new HashSet<>();
        for (FdState d : k.fds()) open.add(d.fileId());
        for (int i = 0; i < k.epolls().size(); i++) {
            EpollState e = k.epolls().get(i);
            String field = "kernel.epolls[" + i + "]";
            String p = claim(field + ".file", e.file(), FileKind.EPOLL, files, claimed);
            if (p == null && files.get(e.file()).flags() != O_RDWR) {
                p = field + ": open file " + e.file() + " has flags " + KernelRules.hex(files.get(e.file()).flags()) + ", expected O_RDWR";
            }
            if (p != null) return p;
            Set<Long> keys = new HashSet<>();
            for (int j = 0; j < e.entries().size(); j++) {
                EpollEntry x = e.entries().get(j);
                String at = field + ".entries[" + j + "]";
                if (x.fd() < 0 || x.fd() >= KernelRules.MAX_GUEST_FD) return at + ".fd " + x.fd() + " is outside the guest's fd table";
                OpenFileState target = files.get(x.file());
                if (target == null || !open.contains(x.file())) return at + " names open file " + x.file() + ", which no fd refers to";
                if (x.file() == e.file()) return at + " names the epoll instance itself";
                if (target.kind() == FileKind.REGULAR || target.kind() == FileKind.DIRECTORY) {
                    return at + " names a " + target.kind() + ", which epoll cannot watch";
                }
                if ((x.events() & ~EPOLL_BITS) != 0) return at + ".events " + KernelRules.hex(x.events()) + " has unknown bits";
                if (!keys.add(((long) x.fd() << 32) | (x.file() & 0xffffffffL))) {
                    return at + ": fd " + x.fd() + " with open file " + x.file() + " is registered twice";
                }
            }
        }
        return nesting(k.epolls());
    }

    /** Epoll instances watching each other: no loop, at most {@link #MAX_NESTS} deep, as epoll_ctl allows. */
    private static String nesting(List<EpollState> epolls) {
        Map<Integer, List<Integer>> watches = new HashMap<>();
        for (EpollState e : epolls) {
            List<Integer> inner = new java.util.ArrayList<>();
            for (EpollEntry x : e.entries()) inner.add(x.file());
            watches.put(e.file(), inner);
        }
        for (int i = 0; i < epolls.size(); i++) {
            if (depth(epolls.get(i).file(), watches, 0) > MAX_NESTS) {
                return "kernel.epolls[" + i + "] watches epoll instances in a loop or more than " + MAX_NESTS + " deep";
            }
        }
        return null;
    }

    /** How deep the epoll instances below {@code file} go; stops counting past the limit (so loops end). */
    private static int depth(int file, Map<Integer, List<Integer>> watches, int at) {
        if (at > MAX_NESTS) return at;
        int deepest = at;
        for (int inner : watches.getOrDefault(file, List.of())) {
            if (watches.containsKey(inner)) deepest = Math.max(deepest, depth(inner, watches, at + 1));
        }
        return deepest;
    }
}
