package dev.scratchvm.cli;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Snapshots;

import java.nio.file.Path;

/** Saves the VM to an image file, durably, then lets the VMM exit. */
final class ImageTarget implements SaveTarget {
    private final Path image;
    private final Trace trace;
    private final boolean verbose;

    ImageTarget(Path image, Trace trace, boolean verbose) {
        this.image = image;
        this.trace = trace;
        this.verbose = verbose;
    }

    @Override
    public boolean save(Machine machine) {
        try {
            Snapshots.SaveStats stats = Snapshots.save(machine, image);
            System.err.println(trace.prefix() + "SAVE OPERATION");
            if (verbose) {
                // A VMM diagnostic: never under the guest's VM_APP prefix.
                System.err.printf("%ssaved %s: %d pages, %d bytes in %.2f ms (capture %.2f ms, fsync %.2f ms)%n",
                        trace.prefix().replace("VM_APP - ", ""), image, stats.write().pagesStored(), stats.write().bytesWritten(),
                        stats.totalNanos() / 1e6, stats.captureNanos() / 1e6, stats.write().syncNanos() / 1e6);
            }
            return true;
        } catch (KernelRestoreException e) {
            return fail(machine, "cannot save the VM: " + e.getMessage(), Errno.EBADF);
        } catch (ImageException e) {
            return fail(machine, e.getMessage(), Errno.EIO);
        }
    }

    private boolean fail(Machine machine, String message, int errno) {
        System.err.println(trace.prefix() + "scratchvm: " + message + " (the VM keeps running; SAVE returns -" + errno + ")");
        machine.failSave(errno);
        return false;
    }
}
