package dev.scratchvm.control;

import dev.scratchvm.linux.Signals;
import dev.scratchvm.migration.LiveOptions;
import dev.scratchvm.migration.MigrationClient;
import dev.scratchvm.migration.MigrationException;
import dev.scratchvm.migration.RoundReport;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;
import dev.scratchvm.vmm.Snapshots;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The lifecycle of one VM: its vCPU thread, and the operations an operator, a command or
 * a test drives it with. Every operation is a request that the vCPU thread carries out
 * between two guest runs, so the machine (registers, memory, fds) has one owner; a
 * request kicks the vCPU out of the guest, or out of a system call it waits in.
 *
 * <pre>
 *  CREATED --start--> RUNNING <--pause/resume--> PAUSED
 *                        |  exit, SAVE, snapshot, stop  |
 *                        +-------------> EXITED <-------+
 * </pre>
 */
public final class Controller implements AutoCloseable {
    public enum State { CREATED, RUNNING, PAUSED, EXITED }

    /** Where a VM goes when the guest asks for SAVE: an image file, or a migration peer. */
    public interface SaveHandler {
        /**
         * Saves the stopped machine. Returns true when the VM now lives on elsewhere and this
         * VMM must stop; false when saving failed and the guest must continue here.
         */
        boolean save(Machine machine);
    }

    /** What happened to the VM; listeners run on the vCPU thread and must be quick. */
    public sealed interface Event {
        /** The guest ran its first instruction in this VMM (ns since the epoch). */
        record Started(long epochNanos) implements Event {
        }

        /** The vCPU stopped {@code latencyNanos} after the pause was asked for. */
        record Paused(long latencyNanos) implements Event {
        }

        record Resumed() implements Event {
        }

        /** A snapshot is durable; the guest was stopped for {@code pausedNanos} if it went on running. */
        record SnapshotTaken(Snapshot.Taken snapshot, long pausedNanos) implements Event {
        }

        record Ended(Ending ending) implements Event {
        }

        /** A live migration finished a round of memory while the guest ran. */
        record MigrationRound(RoundReport report) implements Event {
        }

        /** A live migration ended: committed (the VM ends here), or failed (it goes on here). */
        record MigrationEnded(MigrationClient.Result result) implements Event {
        }
    }

    public interface Listener {
        void on(Event event);
    }

    /**
     * How the VM ended, as the VMM reports it: the exit status (the program's, 128 + a
     * signal, or {@link #VM_FAILED}), and a one-line message for the user, if any.
     */
    public record Ending(int exitStatus, String message) {
    }

    /** Exit status when the VMM itself gave up on the VM (EX_SOFTWARE). */
    public static final int VM_FAILED = 70;

    /** A snapshot that was written, how long a guest that went on was stopped for it, and the state after. */
    public record Snapshotted(Snapshot.Taken taken, long pausedNanos, State after) {
    }

    /** What {@code status} reports. */
    public record Status(State state, long memoryBytes, long dirtyPages, long uptimeNanos, long syscalls) {
    }

    private final Machine machine;
    private final SaveHandler onSave;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final LinkedBlockingQueue<Request> requests = new LinkedBlockingQueue<>();
    private final CompletableFuture<Ending> ending = new CompletableFuture<>();
    private final Thread vcpuThread;
    private final long createdNanos = System.nanoTime();
    /** Written only by the vCPU thread. */
    private volatile State state = State.CREATED;
    /** Set while a live migration owns the VM: other operations that would change it are refused. */
    private final java.util.concurrent.atomic.AtomicBoolean migrating = new java.util.concurrent.atomic.AtomicBoolean();
    /** Per cent of each 10 ms the vCPU thread sits out (auto-converge); 0 runs the guest at full speed. */
    private volatile int throttlePercent;
    /** Dirty pages when last counted (on the vCPU thread). */
    private volatile long lastDirtyPages;

    private Controller(Machine machine, SaveHandler onSave) {
        this.machine = machine;
        this.onSave = onSave;
        this.vcpuThread = Thread.ofPlatform().name("vcpu0").daemon().unstarted(this::loop);
    }

    /** A controller for {@code machine}; the guest does not run until {@link #start}. */
    public static Controller of(Machine machine, SaveHandler onSave) {
        return new Controller(machine, onSave);
    }

    public Controller listen(Listener listener) {
        listeners.add(listener);
        return this;
    }

    /** Starts the vCPU thread: the guest runs. */
    public Controller start() {
        if (state != State.CREATED) throw new IllegalStateException("already started");
        state = State.RUNNING;
        vcpuThread.start();
        return this;
    }

    /**
     * Starts the vCPU thread with the guest paused: it serves the controller's operations
     * (a migration, a snapshot, {@link #resume}) but runs no guest code until resumed.
     */
    public Controller startPaused() {
        if (state != State.CREATED) throw new IllegalStateException("already started");
        state = State.PAUSED;
        vcpuThread.start();
        return this;
    }

    public State state() {
        return state;
    }

    /** Waits for the VM to end. */
    public Ending awaitEnd() throws InterruptedException {
        try {
            return ending.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    // ---- operations --------------------------------------------------------------------------

    /** Stops the guest; returns how long after the request the vCPU stopped (ns). */
    public long pause() throws ControlException {
        refuseWhileMigrating();
        long asked = System.nanoTime();
        return call(() -> {
            expect(State.RUNNING, "pause");
            machine.settle();
            state = State.PAUSED;
            long latency = System.nanoTime() - asked;
            emit(new Event.Paused(latency));
            return latency;
        });
    }

    public void resume() throws ControlException {
        refuseWhileMigrating();
        call(() -> {
            expect(State.PAUSED, "resume");
            state = State.RUNNING;
            emit(new Event.Resumed());
            return null;
        });
    }

    /**
     * Writes a snapshot of the VM. A running guest stops for it; afterwards it goes on if
     * {@code leaveRunning}, or else the VM ends here, living on in the image (as after
     * SAVE). A paused guest stays paused unless {@code leaveRunning}. If the write fails,
     * nothing changes: the guest goes on as before and the next diff still holds every page
     * changed since the last snapshot that was written.
     */
    public Snapshotted snapshot(Path image, Snapshots.Kind kind, boolean leaveRunning) throws ControlException {
        refuseWhileMigrating();
        long asked = System.nanoTime();
        return call(() -> {
            if (state != State.RUNNING && state != State.PAUSED) throw new ControlException("the VM has ended");
            boolean wasRunning = state == State.RUNNING;
            if (wasRunning) machine.settle();
            Snapshot.Taken taken = Snapshot.take(machine, image, kind);
            long paused = wasRunning ? System.nanoTime() - asked : 0;
            emit(new Event.SnapshotTaken(taken, paused));
            if (wasRunning && !leaveRunning) {
                end(new Ending(0, null));
                return new Snapshotted(taken, paused, State.EXITED);
            }
            state = leaveRunning ? State.RUNNING : State.PAUSED;
            if (!wasRunning && leaveRunning) emit(new Event.Resumed());
            return new Snapshotted(taken, paused, state);
        });
    }

    /** Ends the VM at once, as if the program were killed (exit status 128 + SIGKILL). */
    public void stop() throws ControlException {
        refuseWhileMigrating();
        call(() -> {
            if (state == State.EXITED) throw new ControlException("the VM has ended");
            end(new Ending(128 + Signals.SIGKILL, "scratchvm: the VM was stopped by its operator"));
            return null;
        });
    }

    /**
     * What the VM is doing. Counting dirty pages reads the machine's dirty log, which only
     * the vCPU thread may do: a running guest is stopped for it (a kick, tens of µs); once
     * the VM has ended, the count from the last look is reported.
     */
    public Status status() {
        long dirty = lastDirtyPages;
        if (state == State.RUNNING || state == State.PAUSED) {
            try {
                dirty = call(() -> lastDirtyPages = Snapshots.dirtyPages(machine));
            } catch (ControlException e) {
                // it ended meanwhile: the last count stands
            }
        }
        return new Status(state, machine.memory().size(), dirty, System.nanoTime() - createdNanos, machine.syscallCount());
    }

    private void refuseWhileMigrating() throws ControlException {
        if (migrating.get()) throw new ControlException("a migration of this VM is in progress");
    }

    /**
     * Migrates the running (or paused) VM live to the server {@code client} talks to: memory
     * moves in rounds while the guest runs; the guest stops only for the last pages and its
     * state. Committed: the VM ends here (status 0). Failed: the guest goes on here as it was,
     * nothing lost. In doubt: the guest stays paused here, and runs nowhere by itself.
     */
    public MigrationClient.Result migrate(MigrationClient client, LiveOptions options, Path fileRoot) throws ControlException {
        if (state != State.RUNNING && state != State.PAUSED) throw new ControlException("cannot migrate: the VM is " + state.name().toLowerCase());
        if (!migrating.compareAndSet(false, true)) throw new ControlException("a migration of this VM is in progress");
        LiveVm vm = new LiveVm(this, machine);
        try {
            MigrationClient.Link link;
            // The XCRs are the vCPU's (read on its thread); the CPUID table is fixed at boot.
            var xcrs = call(machine::xcrs);
            try {
                link = client.prepare(machine.memory().size(), machine.cpuid(), xcrs);
            } catch (MigrationException e) {
                MigrationClient.Result r = MigrationClient.Result.Failed.of(e);
                emit(new Event.MigrationEnded(r));
                return r;
            }
            MigrationClient.Result r;
            try (link) {
                r = link.live(vm, options, report -> emit(new Event.MigrationRound(report)), fileRoot, id -> { });
            }
            vm.settle(r);
            emit(new Event.MigrationEnded(r));
            return r;
        } finally {
            vm.close();
            migrating.set(false);
        }
    }

    /** Slows the guest (auto-converge): the vCPU thread sits out {@code percent} % of every 10 ms. */
    void throttle(int percent) {
        throttlePercent = Math.max(0, Math.min(99, percent));
        if (percent > 0) machine.kick();
    }

    /** Runs {@code body} on the vCPU thread between two guest runs (the guest goes on afterwards). */
    <T> T onVcpu(Body<T> body) throws ControlException {
        return call(body);
    }

    /** The vCPU thread's side of a stop for migration: the guest stays stopped until {@link #afterMigration}. */
    boolean stopForMigration() {
        boolean wasRunning = state == State.RUNNING;
        if (wasRunning) machine.settle();
        state = State.PAUSED;
        return wasRunning;
    }

    /** On the vCPU thread, after a migration that stopped the guest: ends the VM (committed) or lets it go on. */
    void afterMigration(boolean committed, boolean resume) {
        if (committed) {
            end(new Ending(0, null));
        } else if (resume) {
            state = State.RUNNING;
        }
    }

    private void expect(State wanted, String operation) throws ControlException {
        if (state != wanted) {
            throw new ControlException("cannot " + operation + ": the VM is " + state.name().toLowerCase());
        }
    }

    // ---- the vCPU thread ---------------------------------------------------------------------

    @FunctionalInterface
    interface Body<T> {
        T run() throws ControlException;
    }

    private record Request(Body<?> body, CompletableFuture<Object> done) {
        void run() {
            try {
                done.complete(body.run());
            } catch (ControlException e) {
                done.completeExceptionally(e);
            } catch (RuntimeException e) {
                done.completeExceptionally(new ControlException("internal error: " + e));
            }
        }
    }

    /** Has the vCPU thread run {@code body} between two guest runs, and waits for it. */
    @SuppressWarnings("unchecked")
    private <T> T call(Body<T> body) throws ControlException {
        if (state == State.CREATED) throw new ControlException("the VM has not started");
        if (ending.isDone()) throw new ControlException("the VM has ended");
        Request r = new Request(body, new CompletableFuture<>());
        requests.add(r);
        if (state == State.RUNNING) machine.kick();
        try {
            // The vCPU thread runs every request it takes, and refuses those left when it ends;
            // one added just after that is refused here.
            while (true) {
                try {
                    return (T) r.done.get(50, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (!vcpuThread.isAlive() && requests.remove(r)) throw new ControlException("the VM has ended");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ControlException("interrupted while waiting for the VM");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ControlException c) throw c;
            throw new ControlException(String.valueOf(e.getCause()));
        }
    }

    private void loop() {
        try {
            boolean started = false;
            while (!ending.isDone()) {
                Request r = state == State.PAUSED ? requests.take() : requests.poll();
                if (r != null) {
                    r.run();
                    continue;
                }
                int throttle = throttlePercent;
                if (throttle > 0) {
                    // Sit out part of each slice; a request arriving meanwhile is served at once.
                    r = requests.poll(throttle * 100_000L, TimeUnit.NANOSECONDS);
                    if (r != null) {
                        r.run();
                        continue;
                    }
                }
                if (!started) {
                    // Announced as it starts, not at its first exit, which may be the end.
                    started = true;
                    emit(new Event.Started(machine.start()));
                }
                Outcome outcome = machine.run();
                Ending end = after(outcome);
                if (end != null) end(end);
            }
        } catch (InterruptedException e) {
            end(new Ending(VM_FAILED, "scratchvm: the vCPU thread was interrupted"));
        } catch (RuntimeException | Error e) {
            end(new Ending(VM_FAILED, "scratchvm: internal error: " + e));
        } finally {
            // Nothing more will run: refuse what is still queued.
            for (Request r; (r = requests.poll()) != null; ) r.done.completeExceptionally(new ControlException("the VM has ended"));
        }
    }

    /** What an outcome of a guest run means; null to keep running. */
    private Ending after(Outcome outcome) {
        return switch (outcome) {
            case Outcome.Interrupted i -> null;
            case Outcome.Exited e -> new Ending(e.status(), null);
            case Outcome.Killed k -> new Ending(k.exitCode(),
                    k.signal() == Signals.SIGPIPE ? null : "scratchvm: " + k.reason()); // quiet like a shell
            case Outcome.Failed f -> new Ending(VM_FAILED, "scratchvm: " + f.reason());
            case Outcome.SaveRequested s -> onSave.save(machine) ? new Ending(0, null) : null;
        };
    }

    private void end(Ending e) {
        state = State.EXITED;
        if (ending.complete(e)) emit(new Event.Ended(e));
    }

    private void emit(Event e) {
        for (Listener l : listeners) l.on(e);
    }

    /** Ends the VM if it still runs and waits for the vCPU thread; the machine stays the caller's to close. */
    @Override
    public void close() throws InterruptedException {
        if (state == State.RUNNING || state == State.PAUSED) {
            try {
                stop();
            } catch (ControlException ignored) {
                // it ended meanwhile
            }
        }
        if (vcpuThread.isAlive()) vcpuThread.join();
    }
}
