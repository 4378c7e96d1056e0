package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.TimerState;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * The process's timers (alarm/setitimer's ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF, and
 * timer_create's) and the one host
 * thread that watches their deadlines. That thread only says "one is due" (the notifier
 * kicks the vCPU out of the guest or out of a wait); the vCPU thread then {@link #collect}s
 * the expiries into signals between two guest runs, so timers and signals are only ever
 * changed on the vCPU thread's terms, under this object's lock.
 * <p>
 * Deadlines are on the host's monotonic clock; an absolute CLOCK_REALTIME setting is turned
 * into a relative one when it is made (a later change of the host's wall clock does not move it).
 * ITIMER_VIRTUAL's and ITIMER_PROF's are on the guest's CPU clocks ({@link GuestCpuClock}),
 * which advance no faster than the monotonic one: the watcher sleeps for the CPU time left
 * and looks again.
 */
final class Timers implements AutoCloseable {
    static final int MAX_TIMERS = 1024;

    /** One timer; {@code deadline} is System.nanoTime() based, meaningful only while armed. */
    private static final class Timer {
        final int id, clock, signal;
        final long value;
        boolean armed;
        long deadline, interval;
        int overrun, lastOverrun;

        Timer(int id, int clock, int signal, long value) {
            this.id = id;
            this.clock = clock;
            this.signal = signal;
            this.value = value;
        }
    }

    /** The watcher looks at a CPU timer at least this long apart while the guest does not compute. */
    private static final long CPU_POLL_NANOS = 1_000_000;
    private final TreeMap<Integer, Timer> timers = new TreeMap<>();
    private final Runnable notifier;
    private final GuestCpuClock cpu;
    /**
     * Restored timers wait for the guest to run: until {@link #start}, an armed timer's
     * {@code deadline} holds its remaining time, so the time a restore takes is not lost to it.
     */
    private boolean frozen;
    private volatile boolean due;
    private Thread watcher;
    private boolean closed;

    /** @param notifier called on the watcher thread when a deadline passes; must not block */
    Timers(Runnable notifier, GuestCpuClock cpu, List<TimerState> restored) {
        this.notifier = notifier;
        this.cpu = cpu;
        for (TimerState s : restored) {
            Timer t = new Timer(s.id(), s.clock(), s.signal(), s.value());
            t.interval = Math.min(s.intervalNanos(), Long.MAX_VALUE / 4);
            t.overrun = s.overrun();
            if (s.remainingNanos() > 0) { // bounded so that deadlines stay far from overflow
                t.armed = true;
                t.deadline = Math.min(s.remainingNanos(), Long.MAX_VALUE / 4);
            }
            timers.put(t.id, t);
            if (t.id == TimerState.ITIMER_VIRTUAL) cpu.countGuestTime();
        }
        frozen = true;
    }

    /** Whether the timer counts the guest's CPU time rather than the time that passes. */
    private static boolean onCpu(Timer t) {
        return t.id == TimerState.ITIMER_VIRTUAL || t.id == TimerState.ITIMER_PROF;
    }

    /** Now on the timer's clock. */
    private long now(Timer t) {
        return t.id == TimerState.ITIMER_VIRTUAL ? cpu.virt() : t.id == TimerState.ITIMER_PROF ? cpu.prof() : System.nanoTime();
    }

    /** A setitimer timer: its id, and the signal it sends. */
    private static boolean isItimer(int id) {
        return id == TimerState.ITIMER_REAL || id == TimerState.ITIMER_VIRTUAL || id == TimerState.ITIMER_PROF;
    }

    private static Timer newItimer(int id) {
        return switch (id) {
            case TimerState.ITIMER_VIRTUAL -> new Timer(id, TimerState.CPU_CLOCK, Signals.SIGVTALRM, 0);
            case TimerState.ITIMER_PROF -> new Timer(id, TimerState.CPU_CLOCK, Signals.SIGPROF, 0);
            default -> new Timer(id, 1, Signals.SIGALRM, 0);
        };
    }

    /** The guest runs: restored timers start counting down from the time they had left. Cheap after the first call. */
    synchronized void start() {
        if (!frozen) return;
        frozen = false;
        boolean any = false;
        for (Timer t : timers.values()) {
            if (!t.armed) continue;
            t.deadline += now(t);
            any = true;
        }
        if (any) startWatcher();
    }

    /** Whether a deadline has passed since the last {@link #collect}: a volatile read, cheap enough for every run. */
    boolean due() {
        return due;
    }

    /** Turns every expiry up to now into a signal (or an overrun of one still pending). */
    synchronized void collect(Signals signals) {
        due = false;
        if (frozen) return;
        for (Timer t : timers.values()) {
            if (!t.armed) continue;
            long now = now(t);
            if (t.deadline - now > 0) continue;
            int expiries = 1;
            if (t.interval > 0) {
                long late = now - t.deadline;
                expiries = (int) Math.min(Integer.MAX_VALUE, late / t.interval + 1);
                t.deadline += t.interval * (long) expiries;
            } else {
                t.armed = false;
            }
            if (t.signal == 0) continue;
            if (isItimer(t.id)) {
                signals.generate(new PendingSignal(t.signal, Signals.SI_KERNEL, 0, 0, 0, 0));
            } else if (signals.timerSignalPending(t.id)) {
                t.overrun = saturatedAdd(t.overrun, expiries);
            } else {
                t.overrun = saturatedAdd(t.overrun, expiries - 1);
                signals.generate(new PendingSignal(t.signal, Signals.SI_TIMER, 0, 0, t.id, t.value));
            }
        }
        notifyAll();
    }

    private static int saturatedAdd(int a, int b) {
        return (int) Math.min(Integer.MAX_VALUE, (long) a + b);
    }

    /** The overrun to report with a timer's signal now being delivered; timer_getoverrun returns it later. */
    synchronized int takeOverrun(int id) {
        Timer t = timers.get(id);
        if (t == null) return 0;
        t.lastOverrun = t.overrun;
        t.overrun = 0;
        return t.lastOverrun;
    }

    /** Creates a disarmed timer with the lowest free id; returns it, or -1 when there are too many. */
    synchronized int create(int clock, int signal, Long value) {
        if (timers.size() >= MAX_TIMERS) return -1;
        int id = 0;
        while (timers.containsKey(id)) id++;
        timers.put(id, new Timer(id, clock, signal, value != null ? value : id));
        return id;
    }

    synchronized boolean exists(int id) {
        return timers.containsKey(id);
    }

    synchronized int clock(int id) {
        return timers.get(id).clock;
    }

    synchronized int lastOverrun(int id) {
        return timers.get(id).lastOverrun;
    }

    synchronized void delete(int id) {
        timers.remove(id);
        notifyAll();
    }

    /** {remaining, interval} in nanoseconds; remaining 0 when disarmed. The timer must exist. */
    synchronized long[] get(int id) {
        Timer t = timers.get(id);
        if (t == null || !t.armed) return new long[]{0, t == null ? 0 : t.interval};
        return new long[]{Math.max(1, frozen ? t.deadline : t.deadline - now(t)), t.interval};
    }

    /** Arms (remaining > 0) or disarms a timer, creating ITIMER_REAL's on first use; returns the previous setting. */
    synchronized long[] set(int id, long remaining, long interval) {
        if (isItimer(id) && !timers.containsKey(id)) timers.put(id, newItimer(id));
        if (id == TimerState.ITIMER_VIRTUAL && remaining > 0) cpu.countGuestTime();
        start();
        long[] old = get(id);
        Timer t = timers.get(id);
        t.interval = remaining > 0 ? interval : 0;
        t.armed = remaining > 0;
        t.overrun = 0;
        if (t.armed) {
            t.deadline = now(t) + remaining;
            startWatcher();
        }
        notifyAll();
        return old;
    }

    /** Timers as saved state, with their remaining time relative to now. */
    synchronized List<TimerState> capture() {
        List<TimerState> out = new ArrayList<>();
        for (Timer t : timers.values()) {
            if (isItimer(t.id) && !t.armed) continue; // a disarmed itimer is no timer at all
            long remaining = !t.armed ? 0 : Math.max(1, frozen ? t.deadline : t.deadline - now(t));
            out.add(new TimerState(t.id, t.clock, t.signal, t.value, remaining, t.interval, t.overrun));
        }
        return out;
    }

    private void startWatcher() {
        if (watcher != null || closed) return;
        watcher = Thread.ofPlatform().daemon().name("scratchvm-timers").start(this::watch);
    }

    /** The watcher: sleeps until the earliest deadline, raises {@link #due}, waits for the vCPU to collect. */
    private synchronized void watch() {
        while (!closed) {
            long next = Long.MAX_VALUE;
            for (Timer t : timers.values()) {
                if (!t.armed) continue;
                long left = t.deadline - now(t);
                next = Math.min(next, onCpu(t) && left > 0 ? Math.max(left, CPU_POLL_NANOS) : left);
            }
            try {
                if (next == Long.MAX_VALUE || (next <= 0 && due)) {
                    wait();
                } else if (next <= 0) {
                    due = true;
                    notifier.run();
                } else {
                    wait(next / 1_000_000, (int) (next % 1_000_000)); // next > 0: never wait(0, 0)
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        notifyAll();
    }
}
