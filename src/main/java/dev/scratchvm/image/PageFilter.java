package dev.scratchvm.image;

import java.util.BitSet;

/**
 * Which guest pages may hold non-zero bytes. The image writer never reads a page the filter
 * excludes: reading untouched anonymous memory would fault it in, so a filter built from
 * what the VMM knows was touched (dirty log, loaded segments, brk/mmap areas) keeps saving
 * a large, mostly idle VM proportional to what it used. Pages that pass are still checked
 * and skipped if all zero. For a diff the filter is the set of pages changed since the parent.
 */
@FunctionalInterface
public interface PageFilter {
    /** Every page may be non-zero: correct for any memory, but reads all of it. */
    PageFilter ALL = page -> true;

    /**
     * @param pageIndex guest page number (guest physical address / 4096)
     * @return false only if the page is certainly all zero
     */
    boolean mayBeNonZero(long pageIndex);

    /** The first page in [from, end) that passes, or {@code end}; sets override it to skip fast. */
    default long next(long from, long end) {
        while (from < end && !mayBeNonZero(from)) from++;
        return from;
    }

    /** The pages set in {@code pages} (not copied: it must not change while in use). */
    static PageFilter of(BitSet pages) {
        return new PageFilter() {
            @Override
            public boolean mayBeNonZero(long page) {
                return pages.get((int) page);
            }

            @Override
            public long next(long from, long end) {
                int n = pages.nextSetBit((int) Math.min(from, Integer.MAX_VALUE));
                return n < 0 ? end : Math.min(n, end);
            }
        };
    }
}
