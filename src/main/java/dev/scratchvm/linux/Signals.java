package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.SignalAction;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * Signal dispositions of the guest process, and the signals the VMM raises for it. Guest
 * handlers are recorded (rt_sigaction answers truthfully) but never run: the VMM has no
 * signal frames. A signal whose disposition is the default terminates the program as
 * Linux would; an ignored one is dropped; one with a handler ends the run with a clear
 * error rather than being silently lost.
 */
public final class Signals {
    public static final int SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGFPE = 8, SIGKILL = 9,
            SIGSEGV = 11, SIGPIPE = 13, SIGSTOP = 19;
    static final long SIG_DFL = 0, SIG_IGN = 1;
    /** Signals whose default action is to ignore them (SIGCHLD, SIGCONT, SIGURG, SIGWINCH). */
    private static final long DEFAULT_IGNORED = (1L << 17) | (1L << 18) | (1L << 23) | (1L << 28);

    private final TreeMap<Integer, SignalAction> actions = new TreeMap<>();
    private int fatal;
    private boolean fatalNeedsHandler;

    Signals(List<SignalAction> restored) {
        for (SignalAction a : restored) actions.put(a.signal(), a);
    }

    SignalAction action(int signal) {
        return actions.getOrDefault(signal, new SignalAction(signal, SIG_DFL, 0, 0, 0));
    }

    /** Installs an action; the default one is not stored. */
    void setAction(SignalAction action) {
        if (action.handler() == SIG_DFL && action.flags() == 0 && action.mask() == 0) actions.remove(action.signal());
        else actions.put(action.signal(), action);
    }

    List<SignalAction> actions() {
        return new ArrayList<>(actions.values());
    }

    /** The process sends itself {@code signal}; returns what the sending call returns. */
    long raise(int signal) {
        if (signal == 0) return 0;
        long handler = action(signal).handler();
        boolean ignored = handler == SIG_IGN || (handler == SIG_DFL && (DEFAULT_IGNORED >> signal & 1) != 0);
        if (ignored && signal != SIGKILL && signal != SIGSTOP) return 0;
        fatal = signal;
        fatalNeedsHandler = handler != SIG_DFL && signal != SIGKILL && signal != SIGSTOP;
        return 0;
    }

    /**
     * The signal that ends the program after the current system call, or 0. The run loop
     * asks after every call; the answer is usually a field read.
     */
    public int pendingTermination() {
        return fatal;
    }

    /** True when the pending signal has a guest handler, which the VMM cannot run. */
    public boolean pendingNeedsHandler() {
        return fatalNeedsHandler;
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
            case 14 -> "SIGALRM";
            case 15 -> "SIGTERM";
            default -> "signal " + signal;
        };
    }
}
