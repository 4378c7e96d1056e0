package dev.scratchvm.image;

import dev.scratchvm.image.ImageFormat.Layout;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An image file, completely validated by {@link #open} before anything is returned: magic,
 * version, header checksum, section layout, exact file length, zero padding, the STATE and
 * PAGEMAP checksums, the decoded state and what it means ({@link StateRules}), the page map
 * against the memory size, and the checksum of every memory run. A reader that opened successfully cannot hand out corrupt data.
 *
 * <p>Validation reads the file through a shared read-only mapping, so the page-cache pages
 * it pulls in are the very pages a {@link Mode#MAP} restore then maps into the guest.
 */
public final class ImageReader implements AutoCloseable {
    /** How {@link #restoreMemory} puts the stored pages into guest memory. */
    public enum Mode {
        /** Copy each run into the guest mapping now. */
        COPY,
        /**
         * Map the file's pages copy-on-write over the guest addresses: O(runs), pages are
         * read lazily from the page cache. The image file must not be modified in place while
         * the guest runs (ScratchVM never does: it replaces images by rename).
         */
        MAP
    }

    /**
     * What a restore did.
     *
     * @param bytesCopied bytes copied into guest memory
     * @param bytesMapped bytes mapped from the file (MAP mode)
     * @param mappings    number of mmap calls (MAP mode)
     */
    public record RestoreStats(Mode mode, long bytesCopied, long bytesMapped, int mappings, long elapsedNanos) {
    }

    /** Stretches shorter than this are copied even in MAP mode: cheaper than a mapping each. */
    static final int MIN_MAP_PAGES = 16;
    /** Keeps well below vm.max_map_count (65530), since each mapping may split the guest's VMA. */
    static final int MAX_MAPPINGS = 16384;
    private static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000;
    private static final int MADV_WILLNEED = 3;

    private final String name;
    private final int fd;
    private final Arena arena;
    private final MemorySegment file;
    private final List<ImageSection> sections;
    private final ParentRef parent;
    private final MachineState state;
    private final PageMap pageMap;
    private final String version;
    private final long fileSize;
    private volatile boolean closed;

    private ImageReader(String name, int fd, Arena arena, MemorySegment file, ImageFormat.Header header,
                        MachineState state, PageMap pageMap) {
        this.name = name;
        this.fd = fd;
        this.arena = arena;
        this.file = file;
        this.sections = header.sections();
        this.parent = header.parent();
        this.state = state;
        this.pageMap = pageMap;
        this.version = ImageFormat.MAJOR + "." + Short.toUnsignedInt(file.get(ImageFormat.U16, 10));
        this.fileSize = file.byteSize();
    }

    /**
     * Opens and fully validates {@code image}.
     *
     * @throws ImageException naming the file and what is wrong; nothing else for any file content
     */
    public static ImageReader open(Path image) throws ImageException {
        String name = image.toString();
        int fd = Libc.open(image.toAbsolutePath().toString(),
                Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NONBLOCK | Libc.O_NOCTTY, 0);
        if (fd < 0) throw new ImageException(name + ": " + openError(-fd));
        Arena arena = null;
        try {
            long size = regularFileSize(name, fd);
            if (size == 0) throw new ImageException(name + ": empty file, not a ScratchVM image");
            long addr = Libc.mmap(0, size, Libc.PROT_READ, Libc.MAP_SHARED, fd, 0);
            if (addr < 0) throw new ImageException(name + ": cannot map the file: " + Libc.strerror((int) -addr));
            arena = Arena.ofShared();
            MemorySegment file = MemorySegment.ofAddress(addr).reinterpret(size, arena, s -> Libc.munmap(addr, size));
            return validate(name, fd, arena, file);
        } catch (ImageException | RuntimeException | Error e) {
            if (arena != null) arena.close();
            Libc.close(fd);
            throw e;
        }
    }

    private static ImageReader validate(String name, int fd, Arena arena, MemorySegment file) throws ImageException {
        ImageFormat.Header header;
        try {
            header = ImageFormat.readHeader(file, file.byteSize());
        } catch (ImageException e) {
            throw new ImageException(name + ": " + e.getMessage());
        }
        List<ImageSection> sections = header.sections();
        // The header is sound: start reading the rest ahead of the checksum pass. (Not
        // MADV_SEQUENTIAL: it would let the kernel drop the pages a MAP restore wants to share.)
        Libc.madvise(file.address(), file.byteSize(), MADV_WILLNEED);
        ImageSection stateSection = sections.get(0), memory = sections.get(1), map = sections.get(2);
        Layout layout = Layout.of(stateSection.length(), memory.length() / ImageFormat.PAGE,
                map.length() / PageMap.ENTRY_BYTES);
        checkCrc(name, file, stateSection);
        if (!ImageFormat.allZero(file, layout.paddingOffset(), layout.memoryOffset())) {
            throw new ImageException(name + ": padding after the STATE section is not zero — image is corrupt");
        }
        checkCrc(name, file, map);
        MachineState state;
        try {
            state = StateCodec.decode(file.asSlice(stateSection.offset(), stateSection.length()).toArray(JAVA_BYTE));
        } catch (ImageException e) {
            throw new ImageException(name + ": image is corrupt: state section: " + e.detail());
        }
        String refused = StateRules.check(state);
        if (refused != null) throw new ImageException(name + ": image refused: " + refused);
        PageMap pageMap;
        try {
            pageMap = PageMap.decode(file.asSlice(map.offset(), map.length()), state.memory().pageCount(),
                    header.parent() != null);
        } catch (ImageException e) {
            throw new ImageException(name + ": " + e.getMessage() + " — image is corrupt");
        }
        if (pageMap.storedPages() * ImageFormat.PAGE != memory.length()) {
            throw new ImageException(name + ": page map describes " + pageMap.storedPages()
                    + " pages but the MEMORY section holds " + memory.length() / ImageFormat.PAGE + " — image is corrupt");
        }
        CRC32C crc = new CRC32C();
        for (int i = 0; i < pageMap.runCount(); i++) {
            PageMap.Run run = pageMap.run(i);
            if (run.zero()) continue;
            crc.reset();
            crc.update(file.asSlice(memory.offset() + pageMap.sectionOffset(i),
                    (long) run.pageCount() * ImageFormat.PAGE).asByteBuffer());
            if ((int) crc.getValue() != run.crc32c()) {
                throw new ImageException(name + ": checksum mismatch in memory run at guest page 0x"
                        + Long.toHexString(run.firstPage()) + " — image is corrupt");
            }
        }
        return new ImageReader(name, fd, arena, file, header, state, pageMap);
    }

    private static void checkCrc(String name, MemorySegment file, ImageSection s) throws ImageException {
        CRC32C crc = new CRC32C();
        crc.update(file.asSlice(s.offset(), s.length()).asByteBuffer());
        if ((int) crc.getValue() != s.crc32c()) {
            throw new ImageException(name + ": " + s.type() + " section checksum mismatch — image is corrupt");
        }
    }

    /** fstat: only regular files are images (and opening a FIFO must not block, hence O_NONBLOCK). */
    private static long regularFileSize(String name, int fd) throws ImageException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(144, 8);
            int rc = Libc.fstat(fd, st);
            if (rc < 0) throw new ImageException(name + ": cannot stat: " + Libc.strerror(-rc));
            int mode = st.get(JAVA_INT, 24);
            if ((mode & S_IFMT) == S_IFDIR) throw new ImageException(name + ": is a directory, not an image");
            if ((mode & S_IFMT) != S_IFREG) throw new ImageException(name + ": not a regular file, not an image");
            return st.get(JAVA_LONG, 48);
        }
    }

    private static String openError(int errno) {
        return switch (errno) {
            case Errno.ENOENT -> "no such file";
            case Errno.EACCES, Errno.EPERM -> "permission denied";
            case Errno.ENOTDIR -> "a parent of the path is not a directory";
            default -> "cannot open: " + Libc.strerror(errno);
        };
    }

    // ---- what a validated image offers -----------------------------------------------------

    /** The path as given to {@link #open}. */
    public String name() {
        return name;
    }

    /** Format version of the file, e.g. "1.0". */
    public String formatVersion() {
        return version;
    }

    public long fileSize() {
        return fileSize;
    }

    /** The section table, in file order (STATE, MEMORY, PAGEMAP). */
    public List<ImageSection> sections() {
        return sections;
    }

    public MachineState state() {
        return state;
    }

    /** Which guest pages the image stores; all others are zero (full image) or the parent's (diff). */
    public PageMap pageMap() {
        return pageMap;
    }

    /** The parent a diff image names, or null for a full image. */
    public ParentRef parent() {
        return parent;
    }

    public boolean isDiff() {
        return parent != null;
    }

    /** SHA-256 of the whole file: what a diff of this image names it by. */
    public byte[] contentHash() {
        if (closed) throw new IllegalStateException(name + ": image reader is closed");
        return ImageHash.of(file);
    }

    /**
     * Puts the stored pages into {@code guestMemory}, a page-aligned anonymous mapping of
     * {@code state().memory().size()} bytes that is zero everywhere (full image) or holds the
     * parent's memory (diff: its zero runs are cleared). Pages not in the page map are left alone. In MAP mode, stretches shorter than {@value #MIN_MAP_PAGES} pages (and
     * any beyond {@value #MAX_MAPPINGS} mappings) are copied instead, which bounds the number
     * of kernel VMAs a fragmented image creates.
     *
     * @throws ImageException if mapping fails (guest memory is then partly restored: discard it)
     */
    public RestoreStats restoreMemory(MemorySegment guestMemory, Mode mode) throws ImageException {
        if (closed) throw new IllegalStateException(name + ": image reader is closed");
        long size = state.memory().size();
        if (guestMemory.byteSize() != size) {
            throw new IllegalArgumentException("guest memory is " + guestMemory.byteSize() + " bytes, image has " + size);
        }
        if (mode == Mode.MAP && (guestMemory.address() % ImageFormat.PAGE != 0 || !guestMemory.isNative())) {
            throw new IllegalArgumentException("MAP restore needs page-aligned native guest memory");
        }
        long start = System.nanoTime();
        long memoryOffset = sections.get(1).offset();
        long copied = 0, mapped = 0;
        int mappings = 0;
        int n = pageMap.runCount();
        for (int i = 0; i < n; ) {
            PageMap.Run run = pageMap.run(i);
            if (run.zero()) {
                // A diff's "zero now": the parent's bytes there are gone.
                guestMemory.asSlice(run.firstPage() * ImageFormat.PAGE, (long) run.pageCount() * ImageFormat.PAGE).fill((byte) 0);
                i++;
                continue;
            }
            // Consecutive data runs are adjacent both in the guest and in the file: one stretch.
            int j = i + 1;
            long first = run.firstPage(), pages = run.pageCount();
            while (j < n && !pageMap.run(j).zero() && pageMap.run(j).firstPage() == first + pages) {
                pages += pageMap.run(j++).pageCount();
            }
            long fileOffset = memoryOffset + pageMap.sectionOffset(i);
            long bytes = pages * ImageFormat.PAGE, guestOffset = first * ImageFormat.PAGE;
            if (mode == Mode.MAP && pages >= MIN_MAP_PAGES && mappings < MAX_MAPPINGS) {
                long want = guestMemory.address() + guestOffset;
                long got = Libc.mmap(want, bytes, Libc.PROT_READ | Libc.PROT_WRITE,
                        Libc.MAP_PRIVATE | Libc.MAP_FIXED, fd, fileOffset);
                if (got != want) {
                    throw new ImageException(name + ": cannot map image pages at guest page 0x"
                            + Long.toHexString(first) + ": " + (got < 0 ? Libc.strerror((int) -got) : "wrong address"));
                }
                mapped += bytes;
                mappings++;
            } else {
                MemorySegment.copy(file, fileOffset, guestMemory, guestOffset, bytes);
                copied += bytes;
            }
            i = j;
        }
        return new RestoreStats(mode, copied, mapped, mappings, System.nanoTime() - start);
    }

    /** Unmaps the file and closes it; mappings made by a MAP restore stay valid. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        arena.close();
        Libc.close(fd);
    }
}
