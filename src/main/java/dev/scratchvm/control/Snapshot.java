package dev.scratchvm.control;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Snapshots;

import java.nio.file.Path;

/** Snapshots taken from outside the guest, by the controller, of a stopped vCPU. */
public final class Snapshot {
    private Snapshot() {
    }

    /** A durable snapshot: where, what kind, how much was written and how long it took (ns). */
    public record Taken(Path image, Snapshots.Kind kind, long pagesStored, long bytesWritten, long totalNanos, long syncNanos) {
    }

    /** Writes a snapshot of a stopped machine; a failure leaves the machine, and its dirty pages, as they were. */
    static Taken take(Machine machine, Path image, Snapshots.Kind kind) throws ControlException {
        try {
            Snapshots.SaveStats stats = Snapshots.save(machine, image, kind);
            return new Taken(image, kind, stats.write().pagesStored(), stats.write().bytesWritten(), stats.totalNanos(),
                    stats.write().syncNanos());
        } catch (KernelRestoreException e) {
            throw new ControlException("cannot snapshot the VM: " + e.getMessage());
        } catch (ImageException e) {
            throw new ControlException(e.getMessage());
        }
    }
}
