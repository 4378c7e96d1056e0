package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Fingerprints of files already read, so that a capture does not read a large unchanged file
 * again (a live migration's stop, where every millisecond is downtime). An entry is used only
 * for the same file (device, inode) with the same size, mtime and ctime as when it was read,
 * and only if that ctime was at least {@link #SETTLED_NANOS} older than the read: any write
 * since then moved ctime past it, even on file systems whose timestamps are coarse (jiffies,
 * or FAT's 2 s). What this cannot see is a store through a shared mapping into a page that was
 * already dirty, which changes no timestamp: the caller does not use the cache while its
 * guest maps any file shared, and another host process doing that to a file the guest has
 * open gets, at worst, a restore that refuses the file as changed.
 */
public final class FingerprintCache {
    /** How much older than the read a file's last change must be for its fingerprint to be kept. */
    static final long SETTLED_NANOS = 2_000_000_000L;
    private static final int MAX_ENTRIES = 4096;

    private record Key(long dev, long ino) {
    }

    private record Stat(long dev, long ino, long size, long mtimeNanos, long ctimeNanos) {
        boolean sameAs(Stat o) {
            return dev == o.dev && ino == o.ino && size == o.size && mtimeNanos == o.mtimeNanos && ctimeNanos == o.ctimeNanos;
        }
    }

    private record Entry(Stat stat, FileFingerprint fingerprint) {
    }

    private final Map<Key, Entry> entries = new HashMap<>();

    /** As {@link FileFingerprints#of}, from the cache when the file has certainly not changed since it was read. */
    public FileFingerprint of(int hostFd) {
        Stat before = stat(hostFd);
        Key key = new Key(before.dev, before.ino);
        synchronized (this) {
            Entry e = entries.get(key);
            if (e != null && e.stat.sameAs(before)) return e.fingerprint;
        }
        long readAt = epochNanos();
        FileFingerprint fp = FileFingerprints.of(hostFd);
        Stat after = stat(hostFd);
        if (after.sameAs(before) && fp.size() == before.size && before.ctimeNanos < readAt - SETTLED_NANOS) {
            synchronized (this) {
                if (entries.size() >= MAX_ENTRIES) entries.clear();
                entries.put(key, new Entry(before, fp));
            }
        }
        return fp;
    }

    /** Whether the cache holds a fingerprint for the file behind {@code hostFd} as it is now (for tests). */
    boolean holds(int hostFd) {
        Stat now = stat(hostFd);
        synchronized (this) {
            Entry e = entries.get(new Key(now.dev, now.ino));
            return e != null && e.stat.sameAs(now);
        }
    }

    private static Stat stat(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(144, 8);
            Libc.check("fstat", Libc.fstat(hostFd, st));
            return new Stat(st.get(JAVA_LONG, 0), st.get(JAVA_LONG, 8), st.get(JAVA_LONG, 48),
                    st.get(JAVA_LONG, 88) * 1_000_000_000L + st.get(JAVA_LONG, 96),
                    st.get(JAVA_LONG, 104) * 1_000_000_000L + st.get(JAVA_LONG, 112));
        }
    }

    private static long epochNanos() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
