package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.AltStack;
import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.state.KernelState.SignalState;
import dev.scratchvm.state.KernelState.TimerState;
import dev.scratchvm.sys.Libc;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The process's signals as Linux keeps them: dispositions, the blocked mask, the queue of
 * pending signals and the alternate stack. Generating a signal only queues it; the kernel
 * delivers what is pending and not blocked whenever the guest is about to run again
 * ({@link SignalDelivery}).
 */
public final class Signals {
    public static final int SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8, SIGKILL = 9,
            SIGSEGV = 11, SIGPIPE = 13, SIGALRM = 14, SIGSTOP = 19, SIGVTALRM = 26, SIGPROF = 27;
    static final long SIG_DFL = 0, SIG_IGN = 1;
    static final long SA_SIGINFO = 4, SA_ONSTACK = 0x08000000, SA_RESTART = 0x10000000, SA_NODEFER = 0x40000000,
            SA_RESETHAND = 0x80000000L, SA_RESTORER = 0x04000000;
    static final int SI_USER = 0, SI_KERNEL = 0x80, SI_QUEUE = -1, SI_TIMER = -2, SI_TKILL = -6;
    static final int SS_ONSTACK = 1, SS_DISABLE = 2, SS_AUTODISARM = 1 << 31;
    /** Signals whose default action is to ignore them (SIGCHLD, SIGCONT, SIGURG, SIGWINCH). */
    private static final long DEFAULT_IGNORED = bit(17) | bit(18) | bit(23) | bit(28);
    /** Job-control stops (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU): a lone VM has nobody to continue it, they are dropped. */
    private static final long STOPS = bit(19) | bit(20) | bit(21) | bit(22);
    /** Never blocked, never caught. */
    static final long UNBLOCKABLE = bit(SIGKILL) | bit(SIGSTOP);
    /** Delivered before the others, as Linux does: the faults a program's own instruction caused. */
    private static final long SYNCHRONOUS = bit(SIGSEGV) | bit(SIGBUS) | bit(SIGILL) | bit(SIGTRAP) | bit(SIGFPE) | bit(31);
    /** How many signals may wait at once (Linux's RLIMIT_SIGPENDING is larger; real-time signals beyond it are lost). */
    static final int MAX_PENDING = 1024;

    private final TreeMap<Integer, SignalAction> actions = new TreeMap<>();
    private final List<PendingSignal> pending = new ArrayList<>();
    private long pendingMask;
    /** How many signals were queued so far: the edges a signalfd reports to edge-triggered epoll. */
    private long queued;
    private long blocked;
    private AltStack altStack;

    Signals(List<SignalAction> restored, SignalState state) {
        for (SignalAction a : restored) actions.put(a.signal(), a);
        blocked = state.blocked() & ~UNBLOCKABLE;
        for (PendingSignal p : state.pending()) {
            pending.add(p);
            pendingMask |= bit(p.signal());
        }
        altStack = state.altStack();
    }

    static long bit(int signal) {
        return 1L << (signal - 1);
    }

    SignalAction action(int signal) {
        return actions.getOrDefault(signal, new SignalAction(signal, SIG_DFL, 0, 0, 0));
    }

    /** Installs an action; the default one is not stored. Pending signals it now ignores are discarded, as Linux does. */
    void setAction(SignalAction action) {
        if (action.handler() == SIG_DFL && action.flags() == 0 && action.mask() == 0) actions.remove(action.signal());
        else actions.put(action.signal(), action);
        if (ignored(action.signal())) discard(action.signal());
    }

    List<SignalAction> actions() {
        return new ArrayList<>(actions.values());
    }

    long blocked() {
        return blocked;
    }

    void setBlocked(long mask) {
        blocked = mask & ~UNBLOCKABLE;
    }

    AltStack altStack() {
        return altStack;
    }

    void setAltStack(AltStack stack) {
        altStack = stack;
    }

    /** Pending signals, blocked or not. */
    long pendingMask() {
        return pendingMask;
    }

    /** Pending signals that are not blocked: what must be delivered before the guest runs on. */
    long deliverable() {
        return pendingMask & ~blocked;
    }

    /** Whether the action for {@code signal} is to drop it (SIG_IGN, or a default of ignore or stop). */
    boolean ignored(int signal) {
        long handler = action(signal).handler();
        if (signal == SIGKILL) return false;
        return handler == SIG_IGN || (handler == SIG_DFL && ((DEFAULT_IGNORED | STOPS) & bit(signal)) != 0);
    }

    /**
     * Generates a signal: dropped at once if ignored and not blocked, merged with one
     * already pending if it is a standard signal (below 32), queued otherwise.
     */
    void generate(PendingSignal info) {
        int s = info.signal();
        long b = bit(s);
        if ((blocked & b) == 0 && ignored(s)) return;
        if (s < 32 && (pendingMask & b) != 0) return;
        if (pending.size() >= MAX_PENDING) return;
        pending.add(info);
        pendingMask |= b;
        queued++;
    }

    long queued() {
        return queued;
    }

    /** The process sends itself {@code signal} with kill(2) (or the kernel on its behalf, as with SIGPIPE). */
    void raise(int signal) {
        generate(new PendingSignal(signal, SI_USER, Libc.getpid(), Libc.ids()[0], 0, 0));
    }

    /** Whether a signal from timer {@code timerId} is still waiting (its next expiry is then an overrun). */
    boolean timerSignalPending(int timerId) {
        for (PendingSignal p : pending) if (p.code() == SI_TIMER && p.timerId() == timerId) return true;
        return false;
    }

    /** Forgets the pending signals from a deleted timer. */
    void dropTimerSignals(int timerId) {
        pending.removeIf(p -> p.code() == SI_TIMER && p.timerId() == timerId);
        recomputeMask();
    }

    /** Takes the next signal among {@code mask} off the queue: a synchronous one first, then the lowest number. */
    PendingSignal dequeue(long mask) {
        long from = (mask & SYNCHRONOUS) != 0 ? mask & SYNCHRONOUS : mask;
        int signal = Long.numberOfTrailingZeros(from) + 1;
        for (int i = 0; i < pending.size(); i++) {
            if (pending.get(i).signal() == signal) {
                PendingSignal p = pending.remove(i);
                recomputeMask();
                return p;
            }
        }
        throw new IllegalStateException("signal " + signal + " marked pending but not queued");
    }

    private void discard(int signal) {
        pending.removeIf(p -> p.signal() == signal);
        recomputeMask();
    }

    private void recomputeMask() {
        long m = 0;
        for (PendingSignal p : pending) m |= bit(p.signal());
        pendingMask = m;
    }

    /** Whether the default action of {@code signal} is to end the process. */
    boolean defaultTerminates(int signal) {
        return ((DEFAULT_IGNORED | STOPS) & bit(signal)) == 0;
    }

    SignalState capture(List<TimerState> timers) {
        return new SignalState(blocked, pending, altStack, timers);
    }

    public static String name(int signal) {
        return switch (signal) {
            case 1 -> "SIGHUP";
            case 2 -> "SIGINT";
            case 3 -> "SIGQUIT";
            case SIGILL -> "SIGILL";
            case SIGTRAP -> "SIGTRAP";
            case SIGABRT -> "SIGABRT";
            case SIGBUS -> "SIGBUS";
            case SIGFPE -> "SIGFPE";
            case SIGKILL -> "SIGKILL";
            case 10 -> "SIGUSR1";
            case SIGSEGV -> "SIGSEGV";
            case 12 -> "SIGUSR2";
            case SIGPIPE -> "SIGPIPE";
            case SIGALRM -> "SIGALRM";
            case SIGVTALRM -> "SIGVTALRM";
            case SIGPROF -> "SIGPROF";
            case 15 -> "SIGTERM";
            default -> "signal " + signal;
        };
    }
}
