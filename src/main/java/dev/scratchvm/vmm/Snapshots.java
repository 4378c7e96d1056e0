package dev.scratchvm.vmm;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.ImageWriter;
import dev.scratchvm.image.PageFilter;
import dev.scratchvm.image.PageMap;
import dev.scratchvm.image.StateRules;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.MachineState;

import java.nio.file.Path;
import java.util.BitSet;

/** Machine to image file and back: the two operations behind SAVE and {@code scratchvm restore}. */
public final class Snapshots {
    private Snapshots() {
    }

    /** What a save did; times in nanoseconds. */
    public record SaveStats(long captureNanos, ImageWriter.Result write, long totalNanos) {
    }

    /**
     * Captures a machine stopped at SAVE and writes it durably to {@code image}. Only pages
     * the guest may have touched are read (resident or image-backed), and zero pages are not
     * stored, so the cost follows what the guest used, not the configured memory size.
     */
    public static SaveStats save(Machine machine, Path image) throws KernelRestoreException, ImageException {
        long start = System.nanoTime();
        MachineState state = machine.capture();
        // An image no restore would accept is no image: fail the SAVE now, while the guest can still go on.
        String refused = StateRules.check(state);
        if (refused != null) throw new ImageException(image + ": not saved, a restore would refuse it: " + refused);
        long captured = System.nanoTime();
        ImageWriter.Result result = ImageWriter.write(image, state, machine.memory().segment(), touchedPages(machine));
        return new SaveStats(captured - start, result, System.nanoTime() - start);
    }

    /**
     * The pages an image or a migration must look at: those the guest (or the VMM for it)
     * may have written, as {@link dev.scratchvm.memory.GuestMemory#pagesInUse} finds them now.
     */
    public static PageFilter touchedPages(Machine machine) {
        BitSet inUse = machine.memory().pagesInUse();
        return page -> inUse.get((int) page);
    }

    /** Images storing at least this much memory are restored by mapping; smaller ones by copying. */
    static final long MAP_THRESHOLD_BYTES = 4L << 20;

    /**
     * How to bring memory back when the user did not say: mapping costs an mmap per run and
     * page faults later, copying costs a memcpy now. Measured here (docs/performance.md),
     * copying wins for small images and mapping wins by far for large ones.
     */
    public static ImageReader.Mode automaticMode(PageMap pages) {
        return pages.storedPages() * GuestMemory.PAGE_SIZE >= MAP_THRESHOLD_BYTES ? ImageReader.Mode.MAP : ImageReader.Mode.COPY;
    }

    /**
     * Validates the whole image, then builds a paused machine from it. Nothing about the
     * guest runs, and no guest file is touched, unless every check passed.
     *
     * @param mode how to restore memory, or null to choose by {@link #automaticMode}
     */
    public static Machine restore(Path image, MachineConfig config, ImageReader.Mode mode)
            throws ImageException, Machine.RestoreException {
        ImageWriter.removeAbandonedTemporaries(image);
        try (ImageReader reader = ImageReader.open(image)) {
            ImageReader.Mode chosen = mode != null ? mode : automaticMode(reader.pageMap());
            return Machine.restore(config, reader.state(), memory -> {
                reader.restoreMemory(memory.segment(), chosen);
                if (chosen == ImageReader.Mode.MAP) {
                    // Those pages now read from the file: saving and discarding must know.
                    for (PageMap.Run run : reader.pageMap().runs()) memory.markFileBacked(run.firstPage(), run.pageCount());
                }
            });
        }
    }
}
