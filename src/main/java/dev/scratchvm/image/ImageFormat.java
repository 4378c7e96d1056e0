package dev.scratchvm.image;

import dev.scratchvm.image.ImageSection.Type;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32C;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * The fixed part of the image format (docs/image-format.md): the header page and the one
 * canonical layout of the sections. A reader recomputes the layout from the section lengths
 * and demands that the header matches it exactly, which settles bounds, overlap, alignment
 * and "no byte unaccounted for" in one comparison.
 */
final class ImageFormat {
    static final byte[] MAGIC = "SCRVMIMG".getBytes(StandardCharsets.US_ASCII);
    static final int MAJOR = 1, MINOR = 2;
    /** Header flag (1.1): the image is a diff against the parent named in the header. */
    static final int FLAG_DIFF = 1;
    /** Parent block of a diff (1.1), in the formerly reserved header bytes: SHA-256, then a length-prefixed path hint. */
    static final int PARENT_HASH = 128, PARENT_HINT_LENGTH = 160, PARENT_HINT = 162;
    static final int MAX_HINT_BYTES = 4096 - 4 - PARENT_HINT;
    static final int PAGE = 4096;
    static final int HEADER_BYTES = 4096;
    static final int SECTION_TABLE = 32, SECTION_ENTRY = 32, SECTION_COUNT = 3;
    static final int HEADER_CRC = HEADER_BYTES - 4;
    /** Sections in file order. */
    static final List<Type> ORDER = List.of(Type.STATE, Type.MEMORY, Type.PAGEMAP);

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort U16 = JAVA_SHORT_UNALIGNED.withOrder(LE);

    private ImageFormat() {
    }

    /** Where everything goes, given the section lengths. */
    record Layout(long stateLength, long memoryOffset, long memoryLength, long pageMapOffset, long pageMapLength) {
        static Layout of(long stateLength, long storedPages, long runs) {
            long memoryOffset = alignUp(HEADER_BYTES + stateLength);
            long memoryLength = storedPages * PAGE;
            return new Layout(stateLength, memoryOffset, memoryLength, memoryOffset + memoryLength,
                    runs * PageMap.ENTRY_BYTES);
        }

        long fileLength() {
            return pageMapOffset + pageMapLength;
        }

        long paddingOffset() {
            return HEADER_BYTES + stateLength;
        }
    }

    static long alignUp(long n) {
        return (n + PAGE - 1) & -PAGE;
    }

    /**
     * The header page for {@code layout}, with the lowest minor version whose features the
     * image uses: at least 1.1 for a diff ({@code parent} set), and at least {@code stateMinor},
     * what its STATE holds, so that older readers restore what they can restore correctly and
     * refuse the rest.
     */
    static ByteBuffer header(Layout layout, int stateCrc, int pageMapCrc, ParentRef parent, int stateMinor) {
        int minor = Math.max(stateMinor, parent != null ? 1 : 0);
        ByteBuffer b = ByteBuffer.allocateDirect(HEADER_BYTES).order(LE);
        b.put(MAGIC).putShort((short) MAJOR).putShort((short) minor).putInt(HEADER_BYTES)
                .putInt(SECTION_COUNT).putInt(parent == null ? 0 : FLAG_DIFF).putLong(layout.fileLength());
        section(b, Type.STATE, HEADER_BYTES, layout.stateLength(), stateCrc);
        section(b, Type.MEMORY, layout.memoryOffset(), layout.memoryLength(), 0);
        section(b, Type.PAGEMAP, layout.pageMapOffset(), layout.pageMapLength(), pageMapCrc);
        if (parent != null) {
            byte[] hint = parent.pathHint().getBytes(StandardCharsets.UTF_8);
            b.put(PARENT_HASH, parent.sha256()).putShort(PARENT_HINT_LENGTH, (short) hint.length).put(PARENT_HINT, hint);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.clear().limit(HEADER_CRC));
        b.limit(HEADER_BYTES).putInt(HEADER_CRC, (int) crc.getValue());
        return b.clear();
    }

    private static void section(ByteBuffer b, Type type, long offset, long length, int crc) {
        b.putInt(type.code).putInt(0).putLong(offset).putLong(length).putInt(crc).putInt(0);
    }

    /** What a header says: the sections in file order, and the parent if the image is a diff. */
    record Header(List<ImageSection> sections, ParentRef parent) {
    }

    /**
     * Validates the header of a file of {@code fileSize} bytes (mapped as {@code file}) and
     * returns its sections in file order. Messages lack the file name; the caller adds it.
     */
    static Header readHeader(MemorySegment file, long fileSize) throws ImageException {
        if (fileSize == 0) throw new ImageException("empty file, not a ScratchVM image");
        if (fileSize < MAGIC.length || MemorySegment.mismatch(file, 0, MAGIC.length,
                MemorySegment.ofArray(MAGIC), 0, MAGIC.length) != -1) {
            throw new ImageException("not a ScratchVM image (bad magic)");
        }
        if (fileSize < 12) throw truncated(HEADER_BYTES, fileSize);
        int major = Short.toUnsignedInt(file.get(JAVA_SHORT_UNALIGNED.withOrder(LE), 8));
        int minor = Short.toUnsignedInt(file.get(JAVA_SHORT_UNALIGNED.withOrder(LE), 10));
        if (major != MAJOR) {
            throw new ImageException("image format version " + major + "." + minor + " is "
                    + (major > MAJOR ? "newer" : "older") + " than this ScratchVM supports (" + MAJOR + ".x)");
        }
        if (minor > MINOR) {
            throw new ImageException("image format version " + major + "." + minor
                    + " is newer than this ScratchVM supports (up to " + MAJOR + "." + MINOR + ")");
        }
        if (fileSize < HEADER_BYTES) throw truncated(HEADER_BYTES, fileSize);
        CRC32C crc = new CRC32C();
        crc.update(file.asSlice(0, HEADER_CRC).asByteBuffer());
        if ((int) crc.getValue() != i32(file, HEADER_CRC)) throw corrupt("header checksum mismatch");

        expect("header length", i32(file, 12), HEADER_BYTES);
        expect("section count", i32(file, 16), SECTION_COUNT);
        int flags = i32(file, 20);
        if (flags != 0 && (minor < 1 || flags != FLAG_DIFF)) {
            throw corrupt("header flags is " + flags + ", expected " + (minor < 1 ? "0" : "0 or " + FLAG_DIFF));
        }
        boolean diff = flags == FLAG_DIFF;
        ParentRef parent = diff ? parent(file) : null;
        int tableEnd = SECTION_TABLE + SECTION_COUNT * SECTION_ENTRY;
        int reservedFrom = diff ? PARENT_HINT + parent.pathHint().getBytes(StandardCharsets.UTF_8).length : tableEnd;
        if (!allZero(file, reservedFrom, HEADER_CRC)) {
            throw corrupt("reserved header bytes are not zero");
        }
        ImageSection[] s = new ImageSection[SECTION_COUNT];
        for (int i = 0; i < SECTION_COUNT; i++) {
            long e = SECTION_TABLE + (long) i * SECTION_ENTRY;
            Type want = ORDER.get(i);
            expect("section " + i + " type", i32(file, e), want.code);
            expect(want + " section reserved field", i32(file, e + 4), 0);
            expect(want + " section reserved field", i32(file, e + 28), 0);
            s[i] = new ImageSection(want, i64(file, e + 8), i64(file, e + 16), i32(file, e + 24));
        }
        ImageSection state = s[0], memory = s[1], pageMap = s[2];
        if (state.length() < 1 || state.length() > StateLimits.MAX_ENCODED_BYTES) {
            throw corrupt("STATE section length " + state.length() + " is outside 1.." + StateLimits.MAX_ENCODED_BYTES);
        }
        if (memory.length() < 0 || memory.length() % PAGE != 0 || memory.length() > StateLimits.MAX_MEMORY_BYTES) {
            throw corrupt("MEMORY section length " + memory.length() + " is not a multiple of 4096 up to 64 GiB");
        }
        // A diff's zero runs store no bytes, so its entries are bounded by guest memory instead.
        long maxEntries = memory.length() / PAGE + (diff ? StateLimits.MAX_MEMORY_BYTES / PAGE : 0);
        if (pageMap.length() < 0 || pageMap.length() % PageMap.ENTRY_BYTES != 0
                || pageMap.length() / PageMap.ENTRY_BYTES > maxEntries) {
            throw corrupt("PAGEMAP section length " + pageMap.length() + " does not fit the MEMORY section");
        }
        expect("MEMORY section checksum field", memory.crc32c(), 0);
        Layout l = Layout.of(state.length(), memory.length() / PAGE, pageMap.length() / PageMap.ENTRY_BYTES);
        expectOffset(state, HEADER_BYTES);
        expectOffset(memory, l.memoryOffset());
        expectOffset(pageMap, l.pageMapOffset());
        long declared = i64(file, 24);
        if (declared != l.fileLength()) {
            throw corrupt("header declares " + declared + " bytes but its sections need " + l.fileLength());
        }
        if (fileSize < declared) throw truncated(declared, fileSize);
        if (fileSize > declared) {
            throw new ImageException("file is longer than the image: expected " + declared + " bytes, found "
                    + fileSize + " — image is corrupt");
        }
        return new Header(List.of(s), parent);
    }

    private static ParentRef parent(MemorySegment file) throws ImageException {
        byte[] hash = file.asSlice(PARENT_HASH, 32).toArray(ValueLayout.JAVA_BYTE);
        int length = Short.toUnsignedInt(file.get(U16, PARENT_HINT_LENGTH));
        if (length < 1 || length > MAX_HINT_BYTES) throw corrupt("parent path hint length " + length + " is outside 1.." + MAX_HINT_BYTES);
        byte[] hint = file.asSlice(PARENT_HINT, length).toArray(ValueLayout.JAVA_BYTE);
        try {
            String s = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(hint)).toString();
            if (s.indexOf('\0') >= 0) throw corrupt("parent path hint contains NUL");
            return new ParentRef(hash, s);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw corrupt("parent path hint is not valid UTF-8");
        }
    }

    static boolean allZero(MemorySegment file, long from, long to) {
        for (long at = from; at < to; at += PAGE) {
            long n = Math.min(PAGE, to - at);
            if (MemorySegment.mismatch(file, at, at + n, ZeroPage.SEGMENT, 0, n) != -1) return false;
        }
        return true;
    }

    static ImageException truncated(long expected, long found) {
        return new ImageException("truncated: expected " + (expected == HEADER_BYTES ? "at least " : "")
                + expected + " bytes, found " + found);
    }

    static ImageException corrupt(String what) {
        return new ImageException(what + " — image is corrupt");
    }

    private static void expect(String what, long actual, long expected) throws ImageException {
        if (actual != expected) throw corrupt(what + " is " + actual + ", expected " + expected);
    }

    private static void expectOffset(ImageSection s, long expected) throws ImageException {
        if (s.offset() != expected) {
            throw corrupt(s.type() + " section at offset " + s.offset() + ", expected " + expected);
        }
    }

    private static int i32(MemorySegment m, long off) {
        return m.get(JAVA_INT_UNALIGNED.withOrder(LE), off);
    }

    private static long i64(MemorySegment m, long off) {
        return m.get(JAVA_LONG_UNALIGNED.withOrder(LE), off);
    }
}
