package dev.scratchvm.image;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Walks guest memory as runs of at most {@value PageMap#MAX_RUN_PAGES} consecutive pages,
 * ascending: the one place that decides which pages an image or a migration stream carries.
 * Pages the {@link PageFilter} excludes are skipped without being read (reading untouched
 * anonymous memory would fault it in). Of the others, non-zero pages form data runs; all-zero
 * pages are skipped, or, when {@code zeroRuns} is set (a diff, where "zero now" must be said),
 * form zero runs.
 *
 * <pre>{@code
 * for (PageRuns r = new PageRuns(memory, filter, false); r.next(); ) send(r.first(), r.count());
 * }</pre>
 */
public final class PageRuns {
    private final MemorySegment guest;
    private final PageFilter filter;
    private final boolean zeroRuns;
    private final long pages;
    private long at;
    private long first;
    private int count;
    private boolean zero;

    public PageRuns(MemorySegment guest, PageFilter filter, boolean zeroRuns) {
        this.guest = guest;
        this.filter = filter;
        this.zeroRuns = zeroRuns;
        this.pages = guest.byteSize() / ZeroPage.SIZE;
    }

    /** Moves to the next run; false when there is none. */
    public boolean next() {
        while (true) {
            at = filter.next(at, pages);
            if (at >= pages) return false;
            boolean z = isZero(guest, at * ZeroPage.SIZE);
            if (z && !zeroRuns) {
                at++;
                continue;
            }
            first = at++;
            while (at < pages && at - first < PageMap.MAX_RUN_PAGES && filter.mayBeNonZero(at)
                    && isZero(guest, at * ZeroPage.SIZE) == z) {
                at++;
            }
            count = (int) (at - first);
            zero = z;
            return true;
        }
    }

    public long first() {
        return first;
    }

    public int count() {
        return count;
    }

    /** True for a zero run (only when asked for): the pages are all zero and carry no bytes. */
    public boolean zero() {
        return zero;
    }

    /** The bytes of the current run. */
    public MemorySegment bytes() {
        return guest.asSlice(first * ZeroPage.SIZE, (long) count * ZeroPage.SIZE);
    }

    /** The first word decides most data pages at once; the full vectorized compare runs only when it is zero. */
    public static boolean isZero(MemorySegment m, long offset) {
        return m.get(ValueLayout.JAVA_LONG_UNALIGNED, offset) == 0 && ZeroPage.isZero(m, offset);
    }
}
