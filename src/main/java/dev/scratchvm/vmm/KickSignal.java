package dev.scratchvm.vmm;

import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The signal that pulls a vCPU thread out of KVM_RUN. It is blocked in that thread
 * everywhere except inside KVM_RUN (KVM_SET_SIGNAL_MASK), so it can only end a guest run
 * with EINTR, never run a handler; it stays pending until {@link #drain} takes it.
 * Process-wide it is ignored, so a stray one can never kill the JVM (a blocked signal is
 * still queued even when ignored). A real-time signal nothing else in the JVM uses.
 */
final class KickSignal {
    static final int SIGNAL = 40; // SIGRTMIN + 6 under glibc
    private static final long BIT = 1L << (SIGNAL - 1);

    static {
        Libc.check("rt_sigaction", Libc.ignoreSignal(SIGNAL));
    }

    private KickSignal() {
    }

    /** Blocks the signal in the calling thread and lets it through only inside this vCPU's KVM_RUN. */
    static void prepare(Vcpu vcpu) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(JAVA_LONG), old = arena.allocate(JAVA_LONG);
            set.set(JAVA_LONG, 0, BIT);
            Libc.check("rt_sigprocmask", Libc.sigprocmask(Libc.SIG_BLOCK, set, old));
            vcpu.setSignalMask(old.get(JAVA_LONG, 0) & ~BIT);
        }
    }

    static void send(int tid) {
        Libc.tgkill(tid, SIGNAL);
    }

    /** Takes any pending kick off the calling thread, so the next KVM_RUN is not cut short by an old one. */
    static void drain() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(JAVA_LONG), zero = arena.allocate(16, 8);
            set.set(JAVA_LONG, 0, BIT);
            while (Libc.sigtimedwaitNow(set, zero) == SIGNAL) {
                // one more taken
            }
        }
    }
}
