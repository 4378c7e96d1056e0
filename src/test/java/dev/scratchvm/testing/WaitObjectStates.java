package dev.scratchvm.testing;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.EpollEntry;
import dev.scratchvm.state.KernelState.EpollState;
import dev.scratchvm.state.KernelState.EventFdState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.KernelState.PipeBuffer;
import dev.scratchvm.state.KernelState.PipeState;
import dev.scratchvm.state.KernelState.TimerFdState;
import dev.scratchvm.state.MachineState;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A good state plus the VMM's own files as a guest could have left them (a pipe holding
 * bytes, an eventfd, an armed timerfd, an epoll set watching them), and hostile variants of
 * those records, each naming the field its refusal must mention.
 */
public final class WaitObjectStates {
    private static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_NONBLOCK = 04000;
    private static final int EPOLLIN = 1, EPOLLET = 1 << 31;

    /** The records a variant is made of: extra open files (each on its own new fd) and the objects. */
    public record Objects(List<OpenFileState> files, List<PipeState> pipes, List<EventFdState> eventFds,
                          List<TimerFdState> timerFds, List<EpollState> epolls) {
    }

    private WaitObjectStates() {
    }

    private static int firstId(KernelState k) {
        return k.files().stream().mapToInt(OpenFileState::id).max().orElse(0) + 1;
    }

    /** Pipe ends at ids n, n+1, eventfd n+2, timerfd n+3, epoll n+4 (n: the first free id). */
    static Objects plausible(KernelState k) {
        int n = firstId(k);
        List<OpenFileState> files = List.of(
                file(n, FileKind.PIPE, O_RDONLY | O_NONBLOCK), file(n + 1, FileKind.PIPE, O_WRONLY),
                file(n + 2, FileKind.EVENTFD, O_RDWR), file(n + 3, FileKind.TIMERFD, O_RDWR | O_NONBLOCK),
                file(n + 4, FileKind.EPOLL, O_RDWR));
        int firstFd = firstFd(k);
        return new Objects(files,
                List.of(new PipeState(n, n + 1, List.of(new PipeBuffer(3, "abc".getBytes()), new PipeBuffer(0, new byte[4096])), 16)),
                List.of(new EventFdState(n + 2, 7, false)),
                List.of(new TimerFdState(n + 3, 1, 250_000_000L, 100_000_000L, 2)),
                List.of(new EpollState(n + 4, List.of(new EpollEntry(firstFd, n, EPOLLIN | EPOLLET, 11, true),
                        new EpollEntry(firstFd + 2, n + 2, EPOLLIN, 12, false)))));
    }

    private static int firstFd(KernelState k) {
        return k.fds().stream().mapToInt(FdState::fd).max().orElse(2) + 1;
    }

    static OpenFileState file(int id, FileKind kind, int flags) {
        return new OpenFileState(id, kind, "", flags, 0, 0, FileFingerprint.NONE);
    }

    /** {@code good} holding the plausible objects: a state ScratchVM could have saved. */
    public static MachineState withObjects(MachineState good) {
        return with(good, plausible(good.kernel()));
    }

    static MachineState with(MachineState good, Objects o) {
        KernelState x = good.kernel();
        List<OpenFileState> files = new ArrayList<>(x.files());
        List<FdState> fds = new ArrayList<>(x.fds());
        int fd = firstFd(x);
        for (OpenFileState f : o.files()) {
            files.add(f);
            fds.add(new FdState(fd++, f.id(), false));
        }
        return new MachineState(good.vcpu(), good.memory(), new KernelState(x.brkStart(), x.brk(), x.mmapBase(),
                x.mmapTop(), x.mappings(), x.cwd(), x.clearChildTid(), x.robustList(), files, fds, x.signalActions(),
                x.umask(), x.restart(), x.processName(), x.dumpable(), o.pipes(), o.eventFds(), o.timerFds(), o.epolls()));
    }

    /** Hostile variants: one record or field each. */
    static List<HostileStates.Case> hostile(MachineState good) {
        Objects base = plausible(good.kernel());
        int n = base.files().getFirst().id(), fd = firstFd(good.kernel());
        List<HostileStates.Case> cases = new ArrayList<>();
        record Variant(String field, String what, UnaryOperator<Objects> change) {
        }
        List<Variant> variants = List.of(
                new Variant("kernel.pipes[0].read_file", "a read end naming no open file",
                        o -> pipes(o, new PipeState(n + 40, n + 1, List.of(), 16))),
                new Variant("kernel.pipes[0].read_file", "a read end naming an eventfd",
                        o -> pipes(o, new PipeState(n + 2, n + 1, List.of(), 16))),
                new Variant("kernel.pipes[0].write_file", "a write end opened O_RDONLY",
                        o -> new Objects(replace(o.files(), file(n + 1, FileKind.PIPE, O_RDONLY)), o.pipes(), o.eventFds(),
                                o.timerFds(), o.epolls())),
                new Variant("kernel.pipes[0]", "a pipe with neither end", o -> pipes(o, new PipeState(-1, -1, List.of(), 16),
                        new PipeState(n, n + 1, List.of(), 16))),
                new Variant("kernel.pipes[0]", "17 pages, over the pipe's 16", o -> pipes(o, new PipeState(n, n + 1,
                        java.util.Collections.nCopies(17, new PipeBuffer(0, new byte[1])), 16))),
                new Variant("kernel.pipes[0].pages", "3 pages", o -> pipes(o, new PipeState(n, n + 1, List.of(), 3))),
                new Variant("kernel.pipes[0].pages", "512 pages", o -> pipes(o, new PipeState(n, n + 1, List.of(), 512))),
                new Variant("kernel.pipes[0]", "2 pages in a 1-page pipe", o -> pipes(o, new PipeState(n, n + 1,
                        List.of(new PipeBuffer(0, new byte[1]), new PipeBuffer(0, new byte[1])), 1))),
                new Variant("kernel.pipes[0].buffers[0]", "200 bytes at offset 4000", o -> pipes(o,
                        new PipeState(n, n + 1, List.of(new PipeBuffer(4000, new byte[200])), 16))),
                new Variant("kernel.pipes[0].buffers[0]", "4097 bytes", o -> pipes(o,
                        new PipeState(n, n + 1, List.of(new PipeBuffer(0, new byte[4097])), 16))),
                new Variant("kernel.pipes[0].buffers[0]", "an empty page", o -> pipes(o,
                        new PipeState(n, n + 1, List.of(new PipeBuffer(0, new byte[0])), 16))),
                new Variant("kernel.pipes[0].buffers[0]", "a negative offset", o -> pipes(o,
                        new PipeState(n, n + 1, List.of(new PipeBuffer(-1, new byte[5])), 16))),
                new Variant("kernel.pipes[1]", "an end claimed by two pipes", o -> pipes(o,
                        new PipeState(n, n + 1, List.of(), 16), new PipeState(n, -1, List.of(), 16))),
                new Variant("kernel.files[id " + n + "]", "a pipe end with no pipe", o -> pipes(o)),
                new Variant("kernel.files[id " + n + "].path", "a pipe end with a path", o -> new Objects(
                        replace(o.files(), new OpenFileState(n, FileKind.PIPE, "/etc/passwd", 0, 0, 0, FileFingerprint.NONE)),
                        o.pipes(), o.eventFds(), o.timerFds(), o.epolls())),
                new Variant("kernel.files[id " + (n + 2) + "].offset", "an eventfd with an offset", o -> new Objects(
                        replace(o.files(), new OpenFileState(n + 2, FileKind.EVENTFD, "", O_RDWR, 0, 5, FileFingerprint.NONE)),
                        o.pipes(), o.eventFds(), o.timerFds(), o.epolls())),
                new Variant("kernel.event_fds[0]", "an eventfd opened O_RDONLY", o -> new Objects(
                        replace(o.files(), file(n + 2, FileKind.EVENTFD, O_RDONLY)), o.pipes(), o.eventFds(), o.timerFds(), o.epolls())),
                new Variant("kernel.event_fds[0].count", "counter 2^64 - 1", o -> new Objects(o.files(), o.pipes(),
                        List.of(new EventFdState(n + 2, -1, false)), o.timerFds(), o.epolls())),
                new Variant("kernel.event_fds[0].file", "an eventfd record on the timerfd", o -> new Objects(o.files(), o.pipes(),
                        List.of(new EventFdState(n + 3, 1, false)), o.timerFds(), o.epolls())),
                new Variant("kernel.timer_fds[0].clock", "clock 5", o -> timer(o, new TimerFdState(n + 3, 5, 1, 0, 0))),
                new Variant("kernel.timer_fds[0]", "remaining -1", o -> timer(o, new TimerFdState(n + 3, 1, -1, 0, 0))),
                new Variant("kernel.timer_fds[0]", "expirations -1", o -> timer(o, new TimerFdState(n + 3, 1, 0, 0, -1))),
                new Variant("kernel.timer_fds[0]", "interval -1", o -> timer(o, new TimerFdState(n + 3, 0, 0, -1, 0))),
                new Variant("kernel.epolls[0].entries[0]", "an entry naming a missing file",
                        o -> entries(o, n + 4, new EpollEntry(fd, n + 50, EPOLLIN, 0, false))),
                new Variant("kernel.epolls[0].entries[0].fd", "an entry on fd 1024",
                        o -> entries(o, n + 4, new EpollEntry(1024, n, EPOLLIN, 0, false))),
                new Variant("kernel.epolls[0].entries[0]", "an entry naming the epoll itself",
                        o -> entries(o, n + 4, new EpollEntry(fd + 4, n + 4, EPOLLIN, 0, false))),
                new Variant("kernel.epolls[0].entries[1]", "the same fd and file twice",
                        o -> entries(o, n + 4, new EpollEntry(fd, n, EPOLLIN, 0, false), new EpollEntry(fd, n, EPOLLIN, 1, false))),
                new Variant("kernel.epolls[0].entries[0].events", "unknown event bits",
                        o -> entries(o, n + 4, new EpollEntry(fd, n, 0x4000, 0, false))),
                new Variant("kernel.epolls[0].file", "an epoll record on a pipe end", o -> new Objects(o.files(), o.pipes(),
                        o.eventFds(), o.timerFds(), List.of(new EpollState(n, List.of())))));
        // Two epoll instances watching each other: epoll_ctl answers ELOOP, so no guest gets there.
        OpenFileState second = file(n + 5, FileKind.EPOLL, O_RDWR);
        List<OpenFileState> twoEpolls = new ArrayList<>(base.files());
        twoEpolls.add(second);
        cases.add(new HostileStates.Case("kernel.epolls[0]", "two epoll instances watching each other", with(good,
                new Objects(twoEpolls, base.pipes(), base.eventFds(), base.timerFds(), List.of(
                        new EpollState(n + 4, List.of(new EpollEntry(fd + 5, n + 5, EPOLLIN, 0, false))),
                        new EpollState(n + 5, List.of(new EpollEntry(fd + 4, n + 4, EPOLLIN, 0, false))))))));
        for (Variant v : variants) cases.add(new HostileStates.Case(v.field(), v.what(), with(good, v.change().apply(base))));
        cases.add(new HostileStates.Case("kernel.epolls[0].entries[0]", "an entry naming a regular file",
                withRegularEntry(good, base)));
        return cases;
    }

    private static MachineState withRegularEntry(MachineState good, Objects base) {
        KernelState k = good.kernel();
        OpenFileState regular = k.files().stream().filter(f -> f.kind() == FileKind.REGULAR).findFirst().orElseThrow();
        int regularFd = k.fds().stream().filter(d -> d.fileId() == regular.id()).findFirst().orElseThrow().fd();
        int ep = base.files().getLast().id();
        return with(good, entries(base, ep, new EpollEntry(regularFd, regular.id(), EPOLLIN, 0, false)));
    }

    private static Objects pipes(Objects o, PipeState... pipes) {
        return new Objects(o.files(), List.of(pipes), o.eventFds(), o.timerFds(), o.epolls());
    }

    private static Objects timer(Objects o, TimerFdState t) {
        return new Objects(o.files(), o.pipes(), o.eventFds(), List.of(t), o.epolls());
    }

    private static Objects entries(Objects o, int epoll, EpollEntry... entries) {
        return new Objects(o.files(), o.pipes(), o.eventFds(), o.timerFds(), List.of(new EpollState(epoll, List.of(entries))));
    }

    private static List<OpenFileState> replace(List<OpenFileState> files, OpenFileState with) {
        List<OpenFileState> out = new ArrayList<>();
        for (OpenFileState f : files) out.add(f.id() == with.id() ? with : f);
        return out;
    }
}
