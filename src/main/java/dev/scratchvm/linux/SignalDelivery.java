package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.AltStack;
import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.x86.Registers;

/**
 * Delivers pending signals whenever the guest is about to run again: after a system call,
 * or when the vCPU was pulled out of the guest because a timer expired. For each signal
 * that is not blocked: ignore it, end the process (the default of most), or push a
 * handler's frame ({@link SignalFrames}) and block what the handler asks for. A system
 * call that a signal cut short returns -EINTR or is made again after the handler, as its
 * restart code says.
 */
final class SignalDelivery {
    private final Signals signals;
    private final Timers timers;
    private final SignalFrames frames;
    private final CpuAccess cpu;
    private final TimeCalls time;
    private final Trace trace;
    /** How the current system call was cut short, until the delivery after it settles that; null if it was not. */
    private Interrupted.Restart interrupted;
    /** The mask rt_sigsuspend replaced, which the handler's frame must restore; null if none. */
    private Long maskAfterHandler;

    SignalDelivery(Signals signals, Timers timers, SignalFrames frames, CpuAccess cpu, TimeCalls time, Trace trace) {
        this.signals = signals;
        this.timers = timers;
        this.frames = frames;
        this.cpu = cpu;
        this.time = time;
        this.trace = trace;
    }

    /** A new system call starts: whatever the last one left is settled. */
    void callStarts() {
        interrupted = null;
        maskAfterHandler = null;
    }

    /** The current call was cut short by a wake; the delivery that follows decides its fate. */
    void callInterrupted(Interrupted.Restart how) {
        interrupted = how;
    }

    /** rt_sigsuspend returns -EINTR: the handler's frame records {@code mask}, and if no handler runs it is restored at once. */
    void restoreMaskAfterHandler(long mask) {
        maskAfterHandler = mask;
    }

    /** Whether a timer expired since the signals were last looked at. */
    boolean due() {
        return timers.due();
    }

    /** Turns expired timers into signals now. */
    void collectTimers() {
        if (timers.due()) timers.collect(signals);
    }

    /** The overrun to report with {@code p}, taken from its timer (0 for other signals). */
    int overrun(PendingSignal p) {
        return p.code() == Signals.SI_TIMER ? timers.takeOverrun(p.timerId()) : 0;
    }

    /**
     * Whether a signal is ready that would run a handler or end the process (what ends a
     * wait for signals); ready ones that are ignored are dropped on the way, as Linux does.
     */
    boolean interrupting() {
        if (timers.due()) timers.collect(signals);
        long ready;
        while ((ready = signals.deliverable()) != 0) {
            int s = Long.numberOfTrailingZeros(ready) + 1;
            if (!signals.ignored(s)) return true;
            signals.dequeue(Signals.bit(s));
        }
        return false;
    }

    /**
     * Delivers what is ready, with the vCPU's registers as the program will resume.
     *
     * @return the signal that ends the process (its default action), or 0 to run on
     */
    int deliver() {
        return deliver(SignalFrames.Fault.NONE);
    }

    int deliver(SignalFrames.Fault fault) {
        if (timers.due()) timers.collect(signals);
        long ready;
        try {
            while ((ready = signals.deliverable()) != 0) {
                PendingSignal p = signals.dequeue(ready);
                int s = p.signal();
                SignalAction a = signals.action(s);
                if (a.handler() == Signals.SIG_IGN) continue;
                if (a.handler() == Signals.SIG_DFL) {
                    if (signals.defaultTerminates(s)) return s;
                    continue;
                }
                int overrun = p.code() == Signals.SI_TIMER ? timers.takeOverrun(p.timerId()) : 0;
                Registers regs = cpu.registers();
                if (interrupted != null) regs = settleInterruptedCall(regs, a);
                long oldMask = maskAfterHandler != null ? maskAfterHandler : signals.blocked();
                AltStack alt = signals.altStack();
                try {
                    frames.enter(regs, p, overrun, a, oldMask, alt, fault);
                } catch (SyscallError e) {
                    // No room for the frame: Linux forces SIGSEGV, with its default action if that was the one failing.
                    if (trace.all()) trace.event("SIGNAL " + Signals.name(s) + ": no room for the frame, SIGSEGV");
                    if (s == Signals.SIGSEGV) return s;
                    forceSegv();
                    continue;
                }
                fault = SignalFrames.Fault.NONE;
                maskAfterHandler = null;
                if (alt != null && (alt.flags() & Signals.SS_AUTODISARM) != 0) signals.setAltStack(null);
                long block = a.mask() | ((a.flags() & Signals.SA_NODEFER) != 0 ? 0 : Signals.bit(s));
                signals.setBlocked(signals.blocked() | block);
                if ((a.flags() & Signals.SA_RESETHAND) != 0) {
                    signals.setAction(new SignalAction(s, Signals.SIG_DFL, 0, 0, 0));
                }
                if (trace.all()) trace.event("SIGNAL " + Signals.name(s) + " to handler 0x" + Long.toHexString(a.handler()));
            }
        } finally {
            if (maskAfterHandler != null) signals.setBlocked(maskAfterHandler);
            maskAfterHandler = null;
            interrupted = null;
        }
        return 0;
    }

    /**
     * A fault of the program's own instruction (the vCPU's registers already back at it):
     * its signal is delivered at once, as Linux's force_sig_fault does, so a handler that
     * is blocked or ignored cannot stop it: the default action then ends the process.
     *
     * @return the signal that ends the process, or 0 when a handler runs
     */
    int deliverFault(int signal, int code, SignalFrames.Fault fault) {
        long bit = Signals.bit(signal);
        SignalAction a = signals.action(signal);
        if (a.handler() == Signals.SIG_IGN || (signals.blocked() & bit) != 0) {
            signals.setAction(new SignalAction(signal, Signals.SIG_DFL, 0, 0, 0));
            signals.setBlocked(signals.blocked() & ~bit);
            return signal;
        }
        if (a.handler() == Signals.SIG_DFL) return signal;
        callStarts();
        signals.generate(new PendingSignal(signal, code, 0, 0, 0, 0));
        return deliver(fault);
    }

    /** SIGSEGV that cannot be blocked or ignored: what Linux sends for a broken frame. */
    void forceSegv() {
        if (signals.action(Signals.SIGSEGV).handler() == Signals.SIG_IGN) {
            signals.setAction(new SignalAction(Signals.SIGSEGV, Signals.SIG_DFL, 0, 0, 0));
        }
        signals.setBlocked(signals.blocked() & ~Signals.bit(Signals.SIGSEGV));
        signals.generate(new PendingSignal(Signals.SIGSEGV, Signals.SI_KERNEL, 0, 0, 0, 0));
    }

    /**
     * The interrupted call before its handler runs: left to be made again (rip on the
     * syscall instruction, rax = its number) when its restart code and SA_RESTART allow,
     * turned into -EINTR otherwise.
     */
    private Registers settleInterruptedCall(Registers r, SignalAction a) {
        boolean again = interrupted == Interrupted.Restart.UNLESS_HANDLER_SAYS && (a.flags() & Signals.SA_RESTART) != 0;
        if (interrupted == Interrupted.Restart.BLOCK) time.abandonRestart();
        interrupted = null;
        if (again) return r;
        Registers eintr = new Registers(-Errno.EINTR, r.rbx(), r.rcx(), r.rdx(), r.rsi(), r.rdi(), r.rsp(), r.rbp(),
                r.r8(), r.r9(), r.r10(), r.r11(), r.r12(), r.r13(), r.r14(), r.r15(), r.rip() + 2, r.rflags());
        cpu.setRegisters(eintr);
        return eintr;
    }

    /** rt_sigreturn: back to where the handler's frame says, with its mask and FPU state. */
    Control sigreturn() {
        Registers now = cpu.registers();
        long frame = now.rsp() - 8;
        // SYSCALL left the program's own rflags in r11.
        SignalFrames.Saved saved = frames.restore(frame + 8, now.r11());
        if (saved == null) {
            if (trace.all()) trace.event("RT_SIGRETURN with a bad frame at 0x" + Long.toHexString(frame) + ": SIGSEGV");
            forceSegv();
            return new Control.Return(0);
        }
        cpu.setRegisters(saved.regs());
        signals.setBlocked(saved.mask());
        restoreAltStack(saved, saved.regs().rsp());
        if (trace.all()) trace.event("RT_SIGRETURN to 0x" + Long.toHexString(saved.regs().rip()));
        return new Control.Resume();
    }

    /** As Linux's restore_altstack: the frame's uc_stack is applied like a sigaltstack call, errors ignored. */
    private void restoreAltStack(SignalFrames.Saved s, long sp) {
        if (SignalFrames.onStack(signals.altStack(), sp)) return;
        int mode = s.stackFlags() & ~Signals.SS_AUTODISARM;
        if (mode == Signals.SS_DISABLE) {
            signals.setAltStack(null);
        } else if ((mode == 0 || mode == Signals.SS_ONSTACK) && s.stackSize() >= 2048) {
            signals.setAltStack(new AltStack(s.stackSp(), s.stackSize(), s.stackFlags() & Signals.SS_AUTODISARM));
        }
    }
}
