package dev.scratchvm.vmm;

import dev.scratchvm.image.ImageChain;
import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.ImageWriter;
import dev.scratchvm.image.PageFilter;
import dev.scratchvm.image.PageMap;
import dev.scratchvm.image.ParentRef;
import dev.scratchvm.image.Snapshot;
import dev.scratchvm.image.StateRules;
import dev.scratchvm.kvm.DirtyLog;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.memory.DirtyPages;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.MachineState;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Machine to image file and back: SAVE, external full and diff snapshots, and
 * {@code scratchvm restore} of an image or a chain of diffs.
 *
 * <p>Dirty pages: KVM's log of the guest's writes is fetched into the guest memory's
 * {@link DirtyPages} (which also holds the VMM's own writes) when a snapshot starts, and
 * pages leave that set only once an image holding them is durable. A failed write therefore
 * loses nothing: the next diff still holds every page changed since the last durable snapshot.
 */
public final class Snapshots {
    private Snapshots() {
    }

    /** A full image stands alone; a diff stores the pages changed since its parent. */
    public enum Kind {
        FULL, DIFF
    }

    /** What a save did; times in nanoseconds. */
    public record SaveStats(long captureNanos, ImageWriter.Result write, long totalNanos) {
    }

    /** A full snapshot of a machine stopped at SAVE (what the guest's SAVE request does). */
    public static SaveStats save(Machine machine, Path image) throws KernelRestoreException, ImageException {
        return save(machine, image, Kind.FULL);
    }

    /**
     * Captures a stopped machine (at SAVE, or paused from outside) and writes it durably to
     * {@code image}. FULL reads only pages the guest may have touched (resident or
     * image-backed) and stores the non-zero ones. DIFF stores exactly the pages dirtied
     * since the parent (the last durable snapshot of this machine, or the image it was
     * restored from), zero ones as "zero now", and names the parent by SHA-256.
     *
     * @throws ImageException one line: no parent, chain too long, or the write failed (the dirty
     *                        pages are kept for the next snapshot)
     */
    public static SaveStats save(Machine machine, Path image, Kind kind) throws KernelRestoreException, ImageException {
        long start = System.nanoTime();
        SnapshotParent parent = machine.snapshotParent();
        ParentRef ref = kind == Kind.DIFF ? diffParent(machine, image, parent) : null;
        MachineState state = machine.capture();
        // An image no restore would accept is no image: fail the SAVE now, while the guest can still go on.
        String refused = StateRules.check(state);
        if (refused != null) throw new ImageException(image + ": not saved, a restore would refuse it: " + refused);
        BitSet dirty = collectDirty(machine);
        long captured = System.nanoTime();
        PageFilter pages = kind == Kind.DIFF ? PageFilter.of(dirty) : touchedPages(machine);
        ImageWriter.Result result;
        try {
            result = ImageWriter.write(image, new Snapshot(state, machine.memory().segment(), pages), ref);
        } catch (IllegalArgumentException unencodable) {
            // e.g. more unread pipe bytes than a STATE holds: encoding fails before any file is created
            throw new ImageException(image + ": not saved: " + unencodable.getMessage());
        }
        // Durable: only now may these pages stop being pending.
        machine.memory().dirtyPages().clear(dirty);
        List<Path> chain = new ArrayList<>();
        if (kind == Kind.DIFF) chain.addAll(parent.chain());
        chain.add(image.toAbsolutePath().normalize());
        machine.snapshotParent(parentOrNull(chain));
        return new SaveStats(captured - start, result, System.nanoTime() - start);
    }

    private static ParentRef diffParent(Machine machine, Path image, SnapshotParent parent) throws ImageException {
        if (machine.dirtyLog() == null) throw new ImageException(image + ": no diff snapshot: dirty logging is off for this VM");
        if (parent == null) {
            throw new ImageException(image + ": no diff snapshot: this VM has no parent image yet"
                    + " (take a full snapshot first, or restore from an image)");
        }
        if (parent.length() >= ImageChain.MAX_LENGTH) {
            throw new ImageException(image + ": no diff snapshot: the chain already has " + parent.length()
                    + " images (at most " + ImageChain.MAX_LENGTH + "); take a full snapshot");
        }
        Path target = image.toAbsolutePath().normalize();
        if (parent.chain().contains(target)) {
            throw new ImageException(image + ": no diff snapshot: it would replace an image of its own parent chain");
        }
        String hint = ImageChain.hint(target, parent.path());
        try {
            return new ParentRef(parent.sha256(), hint);
        } catch (IllegalArgumentException e) {
            throw new ImageException(image + ": no diff snapshot: the path to its parent is too long to record (" + e.getMessage() + ")");
        }
    }

    /** The written image as the next diff's parent; null (no diffs until a full snapshot) if it cannot be stat'ed. */
    private static SnapshotParent parentOrNull(List<Path> chain) {
        try {
            return SnapshotParent.of(chain);
        } catch (IOException e) {
            return null;
        }
    }

    /** KVM's log merged into the pending set; a copy of the result. Only while the vCPU is stopped. */
    private static BitSet collectDirty(Machine machine) {
        DirtyLog log = machine.dirtyLog();
        return machine.memory().dirtyPages().collect(log == null ? null : log::fetch);
    }

    /**
     * Pages changed since the last durable snapshot (what a diff taken now would hold), for
     * status reports. Fetches KVM's log, so only while the vCPU is stopped.
     */
    public static long dirtyPages(Machine machine) {
        return collectDirty(machine).cardinality();
    }

    /**
     * The pages an image or a migration must look at: those the guest (or the VMM for it)
     * may have written, as {@link dev.scratchvm.memory.GuestMemory#pagesInUse} finds them now.
     */
    public static PageFilter touchedPages(Machine machine) {
        return PageFilter.of(machine.memory().pagesInUse());
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
     * Validates the whole image, and for a diff every image of its chain (each parent found by
     * its path hint and verified by SHA-256), then builds a paused machine, memory rebuilt base
     * first. Nothing about the guest runs, and no guest file is touched, unless every check passed.
     *
     * @param mode how to restore the base image's memory, or null to choose by {@link #automaticMode}
     */
    public static Machine restore(Path image, MachineConfig config, ImageReader.Mode mode)
            throws ImageException, Machine.RestoreException {
        ImageWriter.removeAbandonedTemporaries(image);
        try (ImageChain chain = ImageChain.open(image)) {
            ImageReader base = chain.images().getFirst();
            ImageReader.Mode chosen = mode != null ? mode : automaticMode(base.pageMap());
            Machine m = Machine.restore(config, chain.top().state(), memory -> {
                chain.restoreMemory(memory.segment(), chosen);
                if (chosen == ImageReader.Mode.MAP) {
                    // Those pages now read from the file: saving and discarding must know.
                    for (PageMap.Run run : base.pageMap().runs()) memory.markFileBacked(run.firstPage(), run.pageCount());
                }
            });
            List<Path> paths = new ArrayList<>();
            for (ImageReader r : chain.images()) paths.add(Path.of(r.name()).toAbsolutePath().normalize());
            m.snapshotParent(parentOrNull(paths));
            return m;
        }
    }
}
