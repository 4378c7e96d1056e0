package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Libc;

import static dev.scratchvm.sys.Errno.EINVAL;
import static dev.scratchvm.sys.Errno.EMFILE;

/**
 * signalfd and signalfd4: a new signalfd for a signal mask, or a new mask for an existing
 * one (fd not -1). The program blocks the signals first, or they are delivered as usual.
 */
final class SignalFdCalls {
    /** The kernel's sigset_t: 8 bytes. */
    private static final long SIGSET_SIZE = 8;
    private static final int SFD_NONBLOCK = Libc.O_NONBLOCK, SFD_CLOEXEC = Libc.O_CLOEXEC;

    private final GuestArgs args;
    private final FdTable fds;
    private final FileCalls files;
    private final Signals signals;
    private final SignalDelivery delivery;
    private final Trace trace;

    SignalFdCalls(GuestArgs args, FdTable fds, FileCalls files, Signals signals, SignalDelivery delivery, Trace trace) {
        this.args = args;
        this.fds = fds;
        this.files = files;
        this.signals = signals;
        this.delivery = delivery;
        this.trace = trace;
    }

    void register(SyscallTable t) {
        t.registerTraced(Nr.SIGNALFD, "signalfd", c -> signalfd((int) c.a0(), c.a1(), c.a2(), 0));
        t.registerTraced(Nr.SIGNALFD4, "signalfd4", c -> signalfd((int) c.a0(), c.a1(), c.a2(), (int) c.a3()));
    }

    private long signalfd(int fd, long maskAddr, long size, int flags) {
        String label = "SIGNALFD4 " + fd + " " + Long.toHexString(maskAddr) + " " + flags;
        if ((flags & ~(SFD_NONBLOCK | SFD_CLOEXEC)) != 0 || size != SIGSET_SIZE) return traced(label, -EINVAL);
        long mask = args.readLong(maskAddr);
        if (fd != -1) {
            // An existing signalfd takes the new mask; its flags stay as they were.
            if (!(files.file(fd).virtual instanceof SignalFd s)) return traced(label, -EINVAL);
            s.setMask(mask);
            return traced(label, fd);
        }
        OpenFile f = new OpenFile(new SignalFd(signals, delivery, mask), FileKind.SIGNALFD, Libc.O_RDWR | (flags & SFD_NONBLOCK));
        int installed = fds.install(f, (flags & SFD_CLOEXEC) != 0, 0);
        return traced(label, installed < 0 ? -EMFILE : installed);
    }

    private long traced(String label, long result) {
        trace.file(label, result);
        return result;
    }
}
