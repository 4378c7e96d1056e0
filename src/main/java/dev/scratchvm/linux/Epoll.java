package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.EpollEntry;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.scratchvm.sys.Errno.EINVAL;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

/**
 * An epoll instance: its interest list, in the order the entries were added. Readiness is
 * found by asking each entry's file, as ep_item_poll does; an edge-triggered entry reports
 * only after a new event arrived on its file ({@link VirtualFile#arrivals}) since it last
 * reported, or when it was just added or modified while ready. Entries whose open file has
 * been closed everywhere go away, as eventpoll_release does on the last close.
 */
final class Epoll implements VirtualFile {
    static final int EPOLLEXCLUSIVE = 1 << 28, EPOLLWAKEUP = 1 << 29, EPOLLONESHOT = 1 << 30, EPOLLET = 1 << 31;
    /** The bits that are flags, not events: what a one-shot entry keeps once it fired. */
    static final int PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
    /** Linux's EP_MAX_NESTS: how deep epoll instances may watch each other. */
    static final int MAX_NESTS = 4;
    /** struct epoll_event is packed on x86-64: u32 events, u64 data. */
    static final int EVENT_SIZE = 12;

    static final class Entry {
        final int fd;
        final OpenFile file;
        int events;
        long data;
        /** Edge-triggered: an event not reported yet, and the arrival count it last saw. */
        boolean pending;
        long seen;

        Entry(int fd, OpenFile file, int events, long data) {
            this.fd = fd;
            this.file = file;
            this.events = events;
            this.data = data;
        }
    }

    private final List<Entry> entries = new ArrayList<>();
    /** Where the next scan starts, so level-triggered entries take turns when maxevents is small. */
    private int next;

    Entry find(int fd, OpenFile file) {
        for (Entry e : live()) if (e.fd == fd && e.file == file) return e;
        return null;
    }

    /** The entries whose files are still open somewhere. */
    List<Entry> live() {
        entries.removeIf(e -> !e.file.isOpen());
        return entries;
    }

    void add(Entry e, Waits waits) {
        entries.add(e);
        rearm(e, waits);
    }

    void remove(Entry e) {
        entries.remove(e);
    }

    /** EPOLL_CTL_ADD and _MOD poll the file at once: ready now counts as an edge. */
    void rearm(Entry e, Waits waits) {
        e.seen = arrivals(e);
        e.pending = mask(e, waits, 0) != 0;
    }

    private static long arrivals(Entry e) {
        return e.file.virtual == null ? 0 : e.file.virtual.arrivals(e.events);
    }

    /** What the entry's file has ready of what it watches. */
    private static int mask(Entry e, Waits waits, int depth) {
        int interest = e.events & ~PRIVATE_BITS;
        return interest == 0 ? 0 : waits.poll(e.file, interest, depth + 1) & interest;
    }

    /** Whether {@code e} would be reported now; {@code consume} takes its edge, as a report or a failed look does. */
    private static int ready(Entry e, Waits waits, int depth, boolean consume) {
        int m = mask(e, waits, depth);
        // Host fds have no arrival count: edge-triggered entries on them report as level-triggered ones.
        if ((e.events & EPOLLET) == 0 || e.file.virtual == null) return m;
        long now = arrivals(e);
        boolean edge = e.pending || now != e.seen;
        if (consume) {
            e.pending = false;
            e.seen = now;
        }
        return edge ? m : 0;
    }

    /** epoll_wait's scan: up to {@code max} events into {@code out}; their count. */
    int collect(Waits waits, MemorySegment out, int max) {
        List<Entry> list = live();
        int size = list.size(), n = 0, last = -1;
        for (int i = 0; i < size && n < max; i++) {
            int at = (next + i) % size;
            Entry e = list.get(at);
            int m = ready(e, waits, 0, true);
            if (m == 0) continue;
            out.set(JAVA_INT_UNALIGNED, (long) EVENT_SIZE * n, m);
            out.set(JAVA_LONG_UNALIGNED, (long) EVENT_SIZE * n + 4, e.data);
            n++;
            last = at;
            if ((e.events & EPOLLONESHOT) != 0) e.events &= PRIVATE_BITS;
        }
        if (last >= 0) next = (last + 1) % size;
        return n;
    }

    /** Whether watching {@code target} would make a loop or nest deeper than Linux allows. */
    boolean wouldLoop(Epoll target) {
        return target == this || target.reaches(this, 1);
    }

    private boolean reaches(Epoll other, int depth) {
        if (depth > MAX_NESTS) return true;
        for (Entry e : live()) {
            if (e.file.virtual instanceof Epoll inner && (inner == other || inner.reaches(other, depth + 1))) return true;
        }
        return false;
    }

    @Override
    public int poll(Waits waits, int depth) {
        if (depth > MAX_NESTS) return 0;
        for (Entry e : live()) if (ready(e, waits, depth, false) != 0) return Waits.POLLIN | Waits.POLLRDNORM;
        return 0;
    }

    @Override
    public long arrivals(int interest) {
        return 0;
    }

    @Override
    public long read(MemorySegment dst, long length) {
        return -EINVAL;
    }

    @Override
    public long write(MemorySegment src, long length) {
        return -EINVAL;
    }

    /** The interest list as saved: entries whose file is among {@code ids}. */
    List<EpollEntry> describe(Map<OpenFile, Integer> ids) {
        List<EpollEntry> out = new ArrayList<>();
        for (Entry e : live()) {
            Integer id = ids.get(e.file);
            if (id == null) continue;
            boolean pending = (e.events & EPOLLET) != 0 && (e.pending || arrivals(e) != e.seen);
            out.add(new EpollEntry(e.fd, id, e.events, e.data, pending));
        }
        return out;
    }

    /** Adds a saved entry back, its edge as it was. */
    void restore(EpollEntry saved, OpenFile file) {
        Entry e = new Entry(saved.fd(), file, saved.events(), saved.data());
        e.seen = arrivals(e);
        e.pending = saved.edgePending();
        entries.add(e);
    }
}
