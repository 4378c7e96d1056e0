package dev.scratchvm.image;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.AbstractList;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * Which guest pages an image stores: an ascending list of non-overlapping runs of
 * consecutive pages. In a full image every page not in a run is zero; in a diff (1.1) it is
 * the parent's, and a diff may also hold <em>zero runs</em>: pages that are zero now, stored
 * as nothing but their page-map entry (bit 31 of the page count). The data runs' bytes are
 * packed in the MEMORY section in order, so a run's file offset is the sum of the data runs
 * before it. Kept as parallel arrays: a 64 GiB guest can have millions of runs.
 */
public final class PageMap {
    /** A run never exceeds 2 MiB, which bounds the bytes one checksum covers. */
    public static final int MAX_RUN_PAGES = 512;
    static final int ENTRY_BYTES = 16;
    /** Page-count flag of a zero run (1.1 diffs only). */
    static final int ZERO_RUN = 1 << 31;
    private static final ValueLayout.OfLong U64 = JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Pages {@code [firstPage, firstPage + pageCount)}, whose bytes have CRC32C {@code crc32c};
     * or, if {@code zero}, pages that are zero now and have no bytes in MEMORY (crc32c 0).
     */
    public record Run(long firstPage, int pageCount, int crc32c, boolean zero) {
        public Run(long firstPage, int pageCount, int crc32c) {
            this(firstPage, pageCount, crc32c, false);
        }
    }

    private final long[] first;
    private final int[] count;
    private final int[] crc;
    private final long[] storedBefore;   // pages covered by runs [0, i), zero runs included
    private final long[] dataPagesBefore; // pages stored in MEMORY by runs [0, i)
    private final int size;

    private PageMap(long[] first, int[] count, int[] crc, int size) {
        this.first = first;
        this.count = count;
        this.crc = crc;
        this.size = size;
        storedBefore = new long[size + 1];
        dataPagesBefore = new long[size + 1];
        for (int i = 0; i < size; i++) {
            storedBefore[i + 1] = storedBefore[i] + (count[i] & ~ZERO_RUN);
            dataPagesBefore[i + 1] = dataPagesBefore[i] + (count[i] < 0 ? 0 : count[i]);
        }
        long z = 0;
        for (int i = 0; i < size; i++) if (count[i] < 0) z += count[i] & ~ZERO_RUN;
        zeroPages = z;
    }

    private final long zeroPages;

    /** Pages that zero runs declare zero (diffs only). */
    public long zeroPages() {
        return zeroPages;
    }

    public List<Run> runs() {
        return new AbstractList<>() {
            @Override
            public Run get(int i) {
                return run(i);
            }

            @Override
            public int size() {
                return size;
            }
        };
    }

    public int runCount() {
        return size;
    }

    public Run run(int i) {
        if (i < 0 || i >= size) throw new IndexOutOfBoundsException(i);
        return new Run(first[i], count[i] & ~ZERO_RUN, crc[i], count[i] < 0);
    }

    /** Number of pages whose bytes the image stores (data runs). */
    public long storedPages() {
        return storedBefore[size] - zeroPages;
    }

    /** Whether guest page {@code page} came from the image (otherwise it is zero). */
    public boolean contains(long page) {
        int lo = 0, hi = size - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (page < first[mid]) hi = mid - 1;
            else if (page >= first[mid] + (count[mid] & ~ZERO_RUN)) lo = mid + 1;
            else return count[mid] > 0;
        }
        return false;
    }

    /** Byte offset of run {@code i} within the MEMORY section. */
    long sectionOffset(int i) {
        return dataPagesBefore[i] * 4096L;
    }

    /** The PAGEMAP section: per run, u64 first page, u32 page count, u32 CRC32C, little-endian. */
    ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocateDirect(Math.max(1, size * ENTRY_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < size; i++) b.putLong(first[i]).putInt(count[i]).putInt(crc[i]);
        return b.flip();
    }

    /**
     * Parses and validates a PAGEMAP section against the guest's page count.
     *
     * @return the page map, or throws with what is wrong (without the file name)
     */
    static PageMap decode(MemorySegment section, long guestPages, boolean diff) throws ImageException {
        int n = (int) (section.byteSize() / ENTRY_BYTES);
        Builder b = new Builder(n);
        long end = 0;
        for (int i = 0; i < n; i++) {
            long off = (long) i * ENTRY_BYTES;
            long firstPage = section.get(U64, off);
            int raw = section.get(U32, off + 8);
            int c = section.get(U32, off + 12);
            String at = "page map entry " + i + " (guest page 0x" + Long.toHexString(firstPage) + ")";
            boolean zero = raw < 0;
            if (zero && !diff) throw new ImageException(at + " is a zero run, which only a diff image may hold");
            if (zero && c != 0) throw new ImageException(at + " is a zero run with a non-zero checksum field");
            int pages = raw & ~ZERO_RUN;
            if (pages < 1 || pages > MAX_RUN_PAGES) {
                throw new ImageException(at + " has " + Integer.toUnsignedString(pages) + " pages, expected 1 to " + MAX_RUN_PAGES);
            }
            if (firstPage < 0 || firstPage >= guestPages || pages > guestPages - firstPage) {
                throw new ImageException(at + " extends beyond guest memory of " + guestPages + " pages");
            }
            if (firstPage < end) throw new ImageException(at + " overlaps or precedes the previous run");
            end = firstPage + pages;
            b.add(firstPage, pages, c, zero);
        }
        return b.build();
    }

    /** Collects runs in ascending page order. */
    static final class Builder {
        private long[] first;
        private int[] count;
        private int[] crc;
        private int size;

        Builder(int capacity) {
            int c = Math.max(16, capacity);
            first = new long[c];
            count = new int[c];
            crc = new int[c];
        }

        /** Appends a run; returns its index. */
        int add(long firstPage, int pages, int crc32c, boolean zero) {
            if (size == first.length) {
                int c = size * 2;
                first = Arrays.copyOf(first, c);
                count = Arrays.copyOf(count, c);
                crc = Arrays.copyOf(crc, c);
            }
            first[size] = firstPage;
            count[size] = zero ? pages | ZERO_RUN : pages;
            crc[size] = zero ? 0 : crc32c;
            return size++;
        }

        /** Sets the checksum of run {@code i}, computed after it was added (possibly on another thread). */
        void setCrc(int i, int crc32c) {
            crc[i] = crc32c;
        }

        PageMap build() {
            return new PageMap(first, count, crc, size);
        }
    }
}
