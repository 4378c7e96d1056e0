package dev.scratchvm.control;

import dev.scratchvm.kvm.DirtyLog;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.memory.DirtyPages;
import dev.scratchvm.migration.LiveSource;
import dev.scratchvm.migration.MigrationClient;
import dev.scratchvm.migration.MigrationException;
import dev.scratchvm.vmm.Machine;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * A controlled VM as the source of a live migration. Everything that reads the dirty record
 * or the state runs on the vCPU thread ({@link Controller#onVcpu}): a round's harvest costs
 * the guest one kick. Auto-converge kicks the vCPU every 10 ms so that the controller can
 * make it sit out its share.
 */
final class LiveVm implements LiveSource, AutoCloseable {
    private static final long THROTTLE_PERIOD_NANOS = 10_000_000;

    private final Controller controller;
    private final Machine machine;
    private volatile Thread ticker;
    private boolean stopped, wasRunning, tracking;

    LiveVm(Controller controller, Machine machine) {
        this.controller = controller;
        this.machine = machine;
    }

    @Override
    public MemorySegment memory() {
        return machine.memory().segment();
    }

    @Override
    public BitSet startTracking() throws MigrationException {
        if (machine.dirtyLog() == null) throw MigrationException.local("this VM runs without dirty logging, which live migration needs");
        return vcpu(() -> {
            pages().startTracking(log());
            tracking = true;
            // The stop's capture then finds the open files' fingerprints ready, unless they changed.
            Thread.ofVirtual().name("migration-fingerprints").start(machine.kernel().fingerprintAhead());
            return machine.memory().pagesInUse();
        });
    }

    @Override
    public long bytesInUse() {
        return machine.memory().pagesInUse().cardinality() * (long) dev.scratchvm.memory.GuestMemory.PAGE_SIZE;
    }

    @Override
    public BitSet dirty() throws MigrationException {
        return vcpu(() -> pages().takeTracked(log()));
    }

    @Override
    public void throttle(int percent) {
        controller.throttle(percent);
        if (percent > 0 && ticker == null) {
            ticker = Thread.ofVirtual().name("migration-throttle").start(() -> {
                while (ticker == Thread.currentThread()) {
                    machine.kick();
                    java.util.concurrent.locks.LockSupport.parkNanos(THROTTLE_PERIOD_NANOS);
                }
            });
        } else if (percent == 0) {
            ticker = null;
        }
    }

    @Override
    public Stopped stop() throws MigrationException {
        return vcpu(() -> {
            wasRunning = controller.stopForMigration();
            stopped = true;
            try {
                return new Stopped(pages().takeTracked(log()), machine.capture());
            } catch (KernelRestoreException e) {
                throw new ControlException("cannot capture the VM's state: " + e.getMessage());
            }
        });
    }

    /** Acts on the migration's result: the VM ends here, goes on, or (in doubt) stays paused. */
    void settle(MigrationClient.Result r) {
        if (!stopped) return;
        try {
            controller.onVcpu(() -> {
                switch (r) {
                    case MigrationClient.Result.Committed c -> controller.afterMigration(true, false);
                    case MigrationClient.Result.Failed f -> controller.afterMigration(false, wasRunning);
                    case MigrationClient.Result.InDoubt d -> controller.afterMigration(false, false);
                }
                return null;
            });
        } catch (ControlException ignored) {
            // The VM ended meanwhile: nothing left to settle.
        }
    }

    @Override
    public void close() {
        ticker = null;
        controller.throttle(0);
        if (!tracking) return;
        try {
            controller.onVcpu(() -> {
                pages().stopTracking();
                return null;
            });
        } catch (ControlException ignored) {
            // The VM has ended: its record goes with it.
        }
    }

    private DirtyPages pages() {
        return machine.memory().dirtyPages();
    }

    private DirtyPages.Source log() {
        DirtyLog log = machine.dirtyLog();
        return log == null ? null : log::fetch;
    }

    private <T> T vcpu(Controller.Body<T> body) throws MigrationException {
        try {
            return controller.onVcpu(body);
        } catch (ControlException e) {
            throw MigrationException.local(e.getMessage());
        }
    }
}
