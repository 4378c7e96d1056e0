package dev.scratchvm.linux;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The guest's CPU time, for ITIMER_PROF and ITIMER_VIRTUAL. The guest has one thread, the
 * vCPU thread, and no kernel of its own: the VMM's handling of its system calls is its
 * "system" time. So its process CPU time (ITIMER_PROF) is the vCPU thread's CPU time as the
 * host counts it (guest mode and the VMM's own work on that thread, never the JVM's other
 * threads), and its user time (ITIMER_VIRTUAL) is the part of that spent inside KVM_RUN,
 * measured around each guest run once a program arms ITIMER_VIRTUAL (before that, nothing
 * reads it, and the run loop pays nothing).
 * <p>
 * Both are logical clocks in nanoseconds that only move forward, also when the vCPU moves
 * to another host thread. Any thread may read them (the timer watcher does).
 */
final class GuestCpuClock {
    /** Linux's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): a thread's total run time. */
    private static int threadClock(int tid) {
        return (~tid << 3) | 4 | 2;
    }

    private final MemorySegment now = Arena.ofAuto().allocate(16, 8);
    private int clockId;
    private boolean bound;
    /** The logical time when the current thread was bound, and its thread clock then. */
    private long base, boundAt;
    /** The last value read, kept for a rebind when the old thread can no longer be asked. */
    private long last;
    private volatile boolean countingGuest;
    /** prof() when the guest entered KVM_RUN, or -1 while it is out. */
    private long entered = -1;
    private long inGuest;

    /** The vCPU runs on the calling thread from now on. */
    synchronized void bindToCurrentThread() {
        int id = threadClock(Libc.gettid());
        if (bound && id == clockId) return;
        base = bound ? prof() : last;
        clockId = id;
        boundAt = read(id);
        bound = true;
    }

    private long read(int id) {
        if (Libc.clockGettime(id, now) < 0) return -1;
        return now.get(JAVA_LONG, 0) * 1_000_000_000L + now.get(JAVA_LONG, 8);
    }

    /** The guest's process CPU time: the vCPU thread's, in nanoseconds. */
    synchronized long prof() {
        if (!bound) return last;
        long t = read(clockId);
        if (t >= 0) last = Math.max(last, base + t - boundAt);
        return last;
    }

    /** The guest's user time: what it spent running in the VM since the first {@link #countGuestTime}. */
    synchronized long virt() {
        return inGuest + (entered >= 0 ? Math.max(0, prof() - entered) : 0);
    }

    /** From now on, measure each guest run (ITIMER_VIRTUAL is armed). */
    void countGuestTime() {
        countingGuest = true;
    }

    /** The vCPU thread enters KVM_RUN; cheap unless guest time is counted. */
    void enter() {
        if (!countingGuest) return;
        synchronized (this) {
            entered = prof();
        }
    }

    /** The vCPU thread is back from KVM_RUN. */
    void leave() {
        if (!countingGuest) return;
        synchronized (this) {
            if (entered >= 0) inGuest += Math.max(0, prof() - entered);
            entered = -1;
        }
    }
}
