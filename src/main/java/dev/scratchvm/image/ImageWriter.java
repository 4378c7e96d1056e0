package dev.scratchvm.image;

import dev.scratchvm.image.ImageFormat.Layout;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Libc;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Writes a VM image (docs/image-format.md) atomically: everything goes to a temporary file
 * in the target's directory, which is fsynced and then renamed over the target, and the
 * directory is fsynced. A reader therefore sees the old image or the complete new one,
 * never a mix, even across a crash; on failure the temporary file is removed.
 *
 * <p>Guest memory is scanned once: pages the {@link PageFilter} excludes are never touched,
 * all-zero pages are skipped, and the rest are checksummed while hot in cache and written
 * straight from the guest mapping with gathering writes (no copy through the Java heap).
 *
 * <p>The temporary file is {@code NAME.tmp-PID-RANDOM}, locked while written; a save first
 * removes the temporaries a killed save left ({@link StaleTemporaries}).
 */
public final class ImageWriter {
    private static final int MAX_IOVECS = 1024;
    private static final long MAX_BATCH_BYTES = 16L << 20;

    private ImageWriter() {
    }

    /**
     * What a write produced.
     *
     * @param bytesWritten size of the image file
     * @param pagesStored  guest pages stored (the rest were zero or excluded by the filter)
     * @param runs         page runs in the page map (zero runs included)
     * @param elapsedNanos total time, including {@code syncNanos}
     * @param syncNanos    time spent in fsync of the file and its directory
     * @param zeroPages    pages a diff declares zero now (always 0 for a full image)
     */
    public record Result(long bytesWritten, long pagesStored, int runs, long elapsedNanos, long syncNanos,
                         long zeroPages) {
    }

    /**
     * Saves {@code state} and {@code guestMemory} to {@code image}, replacing any existing file.
     *
     * @param guestMemory guest physical memory, exactly {@code state.memory().size()} bytes; must not
     *                    change during the call (the VM is paused)
     * @throws ImageException           if the image cannot be written (the old one, if any, is untouched)
     * @throws IllegalArgumentException if the state cannot be encoded or the memory has the wrong size
     */
    public static Result write(Path image, MachineState state, MemorySegment guestMemory, PageFilter filter)
            throws ImageException {
        return write(image, new Snapshot(state, guestMemory, filter), null);
    }

    /**
     * Saves a full image (version 1.0 layout: pages outside the snapshot's filter and zero
     * pages are not stored), or, with a {@code parent}, a 1.1 diff: exactly the filter's
     * pages, as data runs or zero runs, naming the parent in the header.
     */
    public static Result write(Path image, Snapshot snapshot, ParentRef parent) throws ImageException {
        long start = System.nanoTime();
        byte[] stateBytes = StateCodec.encode(snapshot.state());
        String name = image.toString();
        Path target = image.toAbsolutePath();
        Path dir = target.getParent();
        StaleTemporaries.remove(target);
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, StaleTemporaries.ownPrefix(target), "");
        } catch (IOException e) {
            throw failure(name, "cannot create a temporary file in " + dir, e);
        }
        boolean renamed = false;
        long syncNanos;
        Layout layout;
        PageMap pageMap;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                StaleTemporaries.markInUse(ch);
                long memoryOffset = ImageFormat.alignUp(ImageFormat.HEADER_BYTES + stateBytes.length);
                writeFully(ch, ByteBuffer.wrap(stateBytes), ImageFormat.HEADER_BYTES);
                long pad = memoryOffset - ImageFormat.HEADER_BYTES - stateBytes.length;
                writeFully(ch, ZeroPage.SEGMENT.asSlice(0, pad).asByteBuffer(), memoryOffset - pad);
                pageMap = writeMemory(ch, memoryOffset, snapshot, parent != null);
                layout = Layout.of(stateBytes.length, pageMap.storedPages(), pageMap.runCount());
                ByteBuffer map = pageMap.encode();
                writeFully(ch, map.duplicate(), layout.pageMapOffset());
                CRC32C stateCrc = new CRC32C(), mapCrc = new CRC32C();
                stateCrc.update(stateBytes);
                mapCrc.update(map);
                writeFully(ch, ImageFormat.header(layout, (int) stateCrc.getValue(), (int) mapCrc.getValue(), parent,
                        StateCodec.formatMinor(snapshot.state(), stateBytes)), 0);
                long syncStart = System.nanoTime();
                ch.force(true);
                syncNanos = System.nanoTime() - syncStart;
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            renamed = true;
        } catch (IOException e) {
            throw failure(name, "cannot write image", e);
        } finally {
            if (!renamed) deleteQuietly(tmp);
        }
        long syncStart = System.nanoTime();
        syncDirectory(name, dir);
        syncNanos += System.nanoTime() - syncStart;
        return new Result(layout.fileLength(), pageMap.storedPages(), pageMap.runCount(),
                System.nanoTime() - start, syncNanos, pageMap.zeroPages());
    }

    /** Scans, checksums and writes the MEMORY section; returns the page map describing it. */
    private static PageMap writeMemory(FileChannel ch, long offset, Snapshot snapshot, boolean diff)
            throws IOException {
        MemoryWriter out = new MemoryWriter(ch);
        ch.position(offset);
        for (PageRuns r = snapshot.runs(diff); r.next(); ) {
            if (r.zero()) out.runs.add(r.first(), r.count(), 0, true);
            else out.add(r.first(), r.count(), r.bytes());
        }
        out.flush();
        return out.runs.build();
    }

    /**
     * The batch of finished runs waiting for one gathering write. A large batch is checksummed
     * on another thread while the kernel copies it into the page cache: the two passes over the
     * same memory overlap instead of adding up.
     */
    private static final class MemoryWriter {
        /** Below this a batch is checksummed inline: handing it to another thread would cost more. */
        static final long PARALLEL_CRC_BYTES = 4L << 20;
        final FileChannel ch;
        final PageMap.Builder runs = new PageMap.Builder(64);
        final ByteBuffer[] batch = new ByteBuffer[MAX_IOVECS];
        final int[] batchRun = new int[MAX_IOVECS];
        int batched;
        long batchBytes;

        MemoryWriter(FileChannel ch) {
            this.ch = ch;
        }

        void add(long first, int pages, MemorySegment bytes) throws IOException {
            batchRun[batched] = runs.add(first, pages, 0, false);
            batch[batched++] = bytes.asByteBuffer();
            batchBytes += bytes.byteSize();
            if (batched == MAX_IOVECS || batchBytes >= MAX_BATCH_BYTES) flush();
        }

        void flush() throws IOException {
            int n = batched;
            ByteBuffer[] views = new ByteBuffer[n];
            for (int i = 0; i < n; i++) views[i] = batch[i].duplicate();
            int[] which = java.util.Arrays.copyOf(batchRun, n);
            if (batchBytes < PARALLEL_CRC_BYTES) {
                checksum(views, which);
                writeFully(ch, batch, n);
            } else {
                var sums = java.util.concurrent.CompletableFuture.runAsync(() -> checksum(views, which));
                try {
                    writeFully(ch, batch, n);
                } finally {
                    sums.join();
                }
            }
            batched = 0;
            batchBytes = 0;
        }

        private void checksum(ByteBuffer[] views, int[] which) {
            CRC32C crc = new CRC32C();
            for (int i = 0; i < views.length; i++) {
                crc.reset();
                crc.update(views[i]);
                runs.setCrc(which[i], (int) crc.getValue());
            }
        }
    }

    /** Removes the temporaries a killed save of {@code image} left behind; a restore calls it too. */
    public static void removeAbandonedTemporaries(Path image) {
        StaleTemporaries.remove(image);
    }

    private static void writeFully(FileChannel ch, ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) position += ch.write(b, position);
    }

    private static void writeFully(FileChannel ch, ByteBuffer[] batch, int n) throws IOException {
        int first = 0;
        while (first < n) {
            ch.write(batch, first, n - first);
            while (first < n && !batch[first].hasRemaining()) batch[first++] = null;
        }
    }

    /** Makes the rename durable; the image is already in place, so a failure here is reported, not undone. */
    private static void syncDirectory(String name, Path dir) throws ImageException {
        int fd = Libc.open(dir.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        int rc = fd < 0 ? fd : Libc.fsync(fd);
        if (fd >= 0) Libc.close(fd);
        if (rc < 0) {
            throw new ImageException(name + ": image written, but syncing directory " + dir + " failed: "
                    + Libc.strerror(-rc));
        }
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // Best effort: the original failure is what the caller needs to see.
        }
    }

    private static ImageException failure(String name, String what, IOException e) {
        // FileSystemException's message is just the path; its reason (or type) says what went wrong.
        String reason = e instanceof NoSuchFileException ? "no such file or directory"
                : e instanceof AccessDeniedException ? "permission denied"
                : e instanceof FileSystemException f && f.getReason() != null ? f.getReason()
                : e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return new ImageException(name + ": " + what + ": " + reason, e);
    }
}
