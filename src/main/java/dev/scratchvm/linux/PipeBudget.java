package dev.scratchvm.linux;

/**
 * The pages all of the guest's pipes may hold, as Linux's pipe-user-pages-soft limits an
 * unprivileged user: 16384 pages (64 MiB). Past it a new pipe gets 2 pages and
 * F_SETPIPE_SZ may not grow one (EPERM). This bounds what a guest can make the VMM hold.
 */
final class PipeBudget {
    static final int SOFT_LIMIT = 16384, MIN_PAGES = 2;

    private long pages;

    /** The pages a new pipe gets: the default, or 2 once the guest's pipes hold too many. */
    int forNewPipe() {
        int n = pages + Pipe.PAGES > SOFT_LIMIT ? MIN_PAGES : Pipe.PAGES;
        pages += n;
        return n;
    }

    /** Accounts a resize from {@code from} to {@code to} pages; false (nothing accounted) when a growth would pass the limit. */
    boolean resize(int from, int to) {
        if (to > from && pages - from + to > SOFT_LIMIT) return false;
        pages += to - from;
        return true;
    }

    /** A restored pipe's pages, accounted whatever the limit (it was within it when saved, or nearly). */
    void restored(int n) {
        pages += n;
    }

    void release(int n) {
        pages -= n;
    }
}
