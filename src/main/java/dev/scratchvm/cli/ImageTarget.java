package dev.scratchvm.cli;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageWriter;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.vmm.Machine;

import java.nio.file.Path;
import java.util.BitSet;

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
        long start = System.nanoTime();
        MachineState state;
        try {
            state = machine.capture();
        } catch (KernelRestoreException e) {
            return fail(machine, "cannot save the VM: " + e.getMessage(), Errno.EBADF);
        }
        BitSet inUse = machine.memory().pagesInUse();
        try {
            ImageWriter.Result r = ImageWriter.write(image, state, machine.memory().segment(), page -> inUse.get((int) page));
            System.err.println(trace.prefix() + "SAVE OPERATION");
            if (verbose) {
                System.err.printf("%ssaved %s: %d pages, %d bytes in %.2f ms (fsync %.2f ms)%n", trace.prefix(), image,
                        r.pagesStored(), r.bytesWritten(), (System.nanoTime() - start) / 1e6, r.syncNanos() / 1e6);
            }
            return true;
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
