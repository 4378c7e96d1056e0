package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.AltStack;
import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.Wakeup;

import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * The signal system calls: dispositions, the blocked mask, pending signals, the alternate
 * stack, waiting for a signal, sending one to itself (the only process there is: its pid
 * and tid are the ones getpid and gettid report) and returning from a handler.
 */
final class SignalCalls {
    private static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1, SIG_SETMASK = 2, MINSIGSTKSZ = 2048;

    private final GuestArgs args;
    private final CpuAccess cpu;
    private final Signals signals;
    private final SignalDelivery delivery;
    private final Wakeup wakeup;

    SignalCalls(GuestArgs args, CpuAccess cpu, Signals signals, SignalDelivery delivery, Wakeup wakeup) {
        this.args = args;
        this.cpu = cpu;
        this.signals = signals;
        this.delivery = delivery;
        this.wakeup = wakeup;
    }

    void register(SyscallTable t) {
        t.register(Nr.RT_SIGACTION, "rt_sigaction", this::sigaction);
        t.register(Nr.RT_SIGPROCMASK, "rt_sigprocmask", this::sigprocmask);
        t.register(Nr.RT_SIGPENDING, "rt_sigpending", c -> {
            if (c.a1() > 8) return -EINVAL;
            long set = signals.pendingMask() & signals.blocked();
            MemorySegment out = args.output(c.a0(), c.a1());
            for (int i = 0; i < c.a1(); i++) out.set(JAVA_BYTE, i, (byte) (set >>> (8 * i)));
            return 0;
        });
        t.register(Nr.SIGALTSTACK, "sigaltstack", c -> sigaltstack(c.a0(), c.a1()));
        t.register(Nr.RT_SIGSUSPEND, "rt_sigsuspend", c -> {
            if (c.a1() != 8) return -EINVAL;
            return suspend(args.readLong(c.a0()), Nr.RT_SIGSUSPEND);
        });
        t.register(Nr.PAUSE, "pause", c -> suspend(signals.blocked(), Nr.PAUSE));
        t.register(Nr.RT_SIGTIMEDWAIT, "rt_sigtimedwait", this::sigtimedwait);
        t.register(Nr.KILL, "kill", c -> kill(c.a0(), c.a1()));
        t.register(Nr.TKILL, "tkill", c -> {
            if ((int) c.a0() <= 0) return -EINVAL;
            return (int) c.a0() != Libc.getpid() ? -ESRCH : send((int) c.a1(), Signals.SI_TKILL);
        });
        t.register(Nr.TGKILL, "tgkill", c -> {
            if ((int) c.a0() <= 0 || (int) c.a1() <= 0) return -EINVAL;
            int self = Libc.getpid();
            return (int) c.a0() != self || (int) c.a1() != self ? -ESRCH : send((int) c.a2(), Signals.SI_TKILL);
        });
        t.register(Nr.RT_SIGQUEUEINFO, "rt_sigqueueinfo", this::sigqueueinfo);
        t.registerControl(Nr.RT_SIGRETURN, "rt_sigreturn", c -> delivery.sigreturn());
    }

    /** rt_sigaction with the kernel's struct sigaction: handler, flags, restorer, mask (8 bytes each). */
    private long sigaction(Call c) {
        long signal = c.a0();
        if (signal < 1 || signal > 64 || c.a3() != 8) return -EINVAL;
        if (c.a1() != 0 && (signal == Signals.SIGKILL || signal == Signals.SIGSTOP)) return -EINVAL;
        SignalAction old = signals.action((int) signal);
        SignalAction act = null;
        if (c.a1() != 0) {
            act = new SignalAction((int) signal, args.readLong(c.a1()), args.readLong(c.a1() + 8),
                    args.readLong(c.a1() + 16), args.readLong(c.a1() + 24) & ~Signals.UNBLOCKABLE);
        }
        if (c.a2() != 0) {
            args.output(c.a2(), 32);
            args.writeLong(c.a2(), old.handler());
            args.writeLong(c.a2() + 8, old.flags());
            args.writeLong(c.a2() + 16, old.restorer());
            args.writeLong(c.a2() + 24, old.mask());
        }
        if (act != null) signals.setAction(act);
        return 0;
    }

    private long sigprocmask(Call c) {
        if (c.a3() != 8) return -EINVAL;
        long old = signals.blocked();
        if (c.a1() != 0) {
            long set = args.readLong(c.a1());
            switch ((int) c.a0()) {
                case SIG_BLOCK -> signals.setBlocked(old | set);
                case SIG_UNBLOCK -> signals.setBlocked(old & ~set);
                case SIG_SETMASK -> signals.setBlocked(set);
                default -> {
                    return -EINVAL;
                }
            }
        }
        if (c.a2() != 0) args.writeLong(c.a2(), old);
        return 0;
    }

    /** stack_t: ss_sp, ss_flags (int, padded), ss_size. */
    private long sigaltstack(long ss, long oldSs) {
        long sp = cpu.registers().rsp();
        AltStack current = signals.altStack();
        boolean onIt = SignalFrames.onStack(current, sp);
        if (oldSs != 0) args.output(oldSs, 24);
        if (ss != 0) {
            MemorySegment in = args.buffer(ss, 24);
            long base = in.get(JAVA_LONG_UNALIGNED, 0), size = in.get(JAVA_LONG_UNALIGNED, 16);
            int flags = in.get(JAVA_INT_UNALIGNED, 8);
            if (onIt) return -EPERM;
            int mode = flags & ~Signals.SS_AUTODISARM;
            if (mode != 0 && mode != Signals.SS_DISABLE && mode != Signals.SS_ONSTACK) return -EINVAL;
            if (mode == Signals.SS_DISABLE) {
                signals.setAltStack(null);
            } else {
                if (size < MINSIGSTKSZ) return -ENOMEM;
                signals.setAltStack(new AltStack(base, size, flags & Signals.SS_AUTODISARM));
            }
        }
        if (oldSs != 0) {
            MemorySegment out = args.output(oldSs, 24);
            out.fill((byte) 0);
            if (current == null) {
                out.set(JAVA_INT_UNALIGNED, 8, Signals.SS_DISABLE);
            } else {
                out.set(JAVA_LONG_UNALIGNED, 0, current.sp());
                out.set(JAVA_INT_UNALIGNED, 8, (onIt ? Signals.SS_ONSTACK : 0) | current.flags());
                out.set(JAVA_LONG_UNALIGNED, 16, current.size());
            }
        }
        return 0;
    }

    /**
     * rt_sigsuspend and pause: waits with {@code mask} blocked until a signal arrives that
     * runs a handler or ends the process; returns -EINTR with the old mask kept for the
     * handler's frame. A pause (not a signal) has the guest make the call again.
     */
    private long suspend(long mask, int nr) {
        long old = signals.blocked();
        signals.setBlocked(mask);
        while (true) {
            if (delivery.interrupting()) {
                delivery.restoreMaskAfterHandler(old);
                return -EINTR;
            }
            if (wakeup.await(-1, 0, -1) == Wakeup.Result.WOKEN && !delivery.interrupting()) {
                signals.setBlocked(old);
                throw new Interrupted(nr, Interrupted.Restart.NEVER_AFTER_HANDLER);
            }
        }
    }

    /**
     * rt_sigtimedwait (sigwaitinfo, sigtimedwait, sigwait): takes a pending signal of the set
     * off the queue instead of running its handler; -EAGAIN when the timeout passes first,
     * -EINTR when another signal runs a handler. A pause has the guest make the call again
     * (with its whole timeout: the time already waited is not deducted).
     */
    private long sigtimedwait(Call c) {
        if (c.a3() != 8) return -EINVAL;
        long set = args.readLong(c.a0()) & ~Signals.UNBLOCKABLE;
        long timeout = -1;
        if (c.a2() != 0) {
            long s = args.readLong(c.a2()), ns = args.readLong(c.a2() + 8);
            if (s < 0 || ns < 0 || ns >= 1_000_000_000L) return -EINVAL;
            timeout = s >= Long.MAX_VALUE / 1_000_000_000L - 1 ? Long.MAX_VALUE / 2 : s * 1_000_000_000L + ns;
        }
        long start = System.nanoTime();
        while (true) {
            delivery.collectTimers();
            long ready = signals.pendingMask() & set;
            if (ready != 0) {
                PendingSignal p = signals.dequeue(ready);
                int overrun = delivery.overrun(p);
                if (c.a1() != 0) {
                    MemorySegment info = args.output(c.a1(), 128);
                    info.fill((byte) 0);
                    SignalFrames.writeInfo(info, 0, p, overrun, SignalFrames.Fault.NONE);
                }
                return p.signal();
            }
            if (delivery.interrupting()) return -EINTR;
            long left = timeout < 0 ? -1 : timeout - (System.nanoTime() - start);
            if (timeout >= 0 && left <= 0) return -EAGAIN;
            if (wakeup.await(-1, 0, left) == Wakeup.Result.WOKEN) {
                delivery.collectTimers();
                if ((signals.pendingMask() & set) != 0 || delivery.interrupting()) continue;
                throw new Interrupted(Nr.RT_SIGTIMEDWAIT, Interrupted.Restart.NEVER_AFTER_HANDLER);
            }
        }
    }

    /** kill(2): the process itself, its process group, or everyone (which here is only itself). */
    private long kill(long pid, long signal) {
        int self = Libc.getpid();
        if (signal < 0 || signal > 64) return -EINVAL;
        if ((int) pid != self && pid != 0 && (int) pid != -self) return -ESRCH;
        return send((int) signal, Signals.SI_USER);
    }

    private long send(int signal, int code) {
        if (signal < 0 || signal > 64) return -EINVAL;
        if (signal == 0) return 0;
        signals.generate(new PendingSignal(signal, code, Libc.getpid(), Libc.ids()[0], 0, 0));
        return 0;
    }

    /** rt_sigqueueinfo to itself: the siginfo's code, pid, uid and value are the caller's to choose. */
    private long sigqueueinfo(Call c) {
        int signal = (int) c.a1();
        if (signal < 0 || signal > 64) return -EINVAL;
        MemorySegment info = args.buffer(c.a2(), 128);
        if ((int) c.a0() != Libc.getpid()) return -ESRCH;
        if (signal == 0) return 0;
        signals.generate(new PendingSignal(signal, info.get(JAVA_INT_UNALIGNED, 8), info.get(JAVA_INT_UNALIGNED, 16),
                info.get(JAVA_INT_UNALIGNED, 20), 0, info.get(JAVA_LONG_UNALIGNED, 24)));
        return 0;
    }
}
