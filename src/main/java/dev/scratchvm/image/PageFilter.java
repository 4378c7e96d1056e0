package dev.scratchvm.image;

/**
 * Which guest pages may hold non-zero bytes. The image writer never reads a page the filter
 * excludes: reading untouched anonymous memory would fault it in, so a filter built from
 * what the VMM knows was touched (dirty log, loaded segments, brk/mmap areas) keeps saving
 * a large, mostly idle VM proportional to what it used. Pages that pass are still checked
 * and skipped if all zero.
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
}
