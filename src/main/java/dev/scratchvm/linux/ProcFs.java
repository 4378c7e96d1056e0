package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Errno;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The guest's /proc, synthesized by the VMM (the host's /proc is never shown): the path calls
 * ask it first, before the guest root. It describes the VM: its own process (/proc/self and
 * /proc/PID, PID being what getpid returns), its memory and its CPU. Anything else under
 * /proc does not exist. Nothing in it can be written.
 *
 * <p>A file's content is generated when it is opened and kept in an in-memory host file behind
 * the guest's fd, so reads, seeks and fstat work as on any file; the saved state carries those
 * bytes and the offset, so a restore mid-read continues the same bytes. A directory is kept the
 * same way, as its listing (one "type name" line per entry; the offset is the position in it).
 */
final class ProcFs {
    static final String ROOT = "/proc";
    private static final int DT_DIR = 4, DT_REG = 8, DT_LNK = 10;
    private static final long PROC_DEV = 0x16;
    private static final int S_IFDIR = 0040000, S_IFREG = 0100000, S_IFLNK = 0120000;

    /** What a /proc path names. */
    sealed interface Node {
    }

    /** A directory; its entries exclude "." and "..". */
    record Dir(String path, Supplier<List<Entry>> entries) implements Node {
    }

    /** A read-only file generated on open. */
    record File(String path, Supplier<byte[]> content) implements Node {
    }

    /** A symbolic link; {@code opens} is what opening through it reaches. */
    record Link(String path, String target, Opens opens) implements Node {
    }

    record Entry(String name, int type) {
    }

    /** Opening a link reaches either a guest path (resolved as usual) or an open file of the guest's. */
    sealed interface Opens {
    }

    record GuestPath(String path) implements Opens {
    }

    record SameFile(OpenFile file) implements Opens {
    }

    private static final MemorySegment EMPTY_PATH = Arena.global().allocateFrom("");
    private final ProcFiles files;
    private final FdTable fds;
    private final GuestRoot root;

    ProcFs(ProcFiles files, FdTable fds, GuestRoot root) {
        this.files = files;
        this.fds = fds;
        this.root = root;
    }

    /** True when an absolute guest path lies in /proc (lexically, after "." and ".."). */
    static boolean contains(String absolutePath) {
        String n = normalize(absolutePath);
        return n.equals(ROOT) || n.startsWith(ROOT + "/");
    }

    /**
     * A path that goes into /proc and out again ("/proc/../etc"): its lexical form, so the root
     * resolves what it leads to rather than a /proc directory the root does not have; otherwise
     * the path unchanged.
     */
    static String outOfProc(String absolutePath) {
        String trimmed = absolutePath.replaceFirst("^/+(\\./+)*", "/");
        boolean entersProc = trimmed.equals(ROOT) || trimmed.startsWith(ROOT + "/");
        return entersProc && !contains(absolutePath) ? normalize(absolutePath) : absolutePath;
    }

    /** True when a canonical /proc path (as {@link #lookup} returns it) is a directory. */
    static boolean isDirectory(String canonicalPath) {
        return canonicalPath.equals(ROOT) || canonicalPath.equals("/proc/self") || canonicalPath.equals("/proc/self/fd");
    }

    /**
     * Looks up an absolute guest path: null when it is not in /proc, an Integer -errno, or
     * the Node. Links in the middle of the path are followed; the last one only when asked.
     */
    Object lookup(String absolutePath, boolean followLast) {
        if (!contains(absolutePath)) return null;
        // A trailing slash names the directory a link leads to, never the link.
        if (absolutePath.endsWith("/")) followLast = true;
        String[] parts = normalize(absolutePath).substring(1).split("/");
        String pid = Integer.toString(Libc.getpid());
        int depth = parts.length;
        if (depth == 1) return rootDir();
        String top = parts[1];
        boolean last = depth == 2;
        if (top.equals("self") && last && !followLast) return new Link("/proc/self", pid, new GuestPath("/proc/self"));
        if (top.equals("self") || top.equals(pid)) return inSelf(parts, followLast);
        if (!last) return top.equals("meminfo") || top.equals("cpuinfo") || top.equals("mounts") ? -Errno.ENOTDIR : -Errno.ENOENT;
        return switch (top) {
            case "meminfo" -> new File("/proc/meminfo", files::meminfo);
            case "cpuinfo" -> new File("/proc/cpuinfo", files::cpuinfo);
            case "mounts" -> followLast ? new File("/proc/self/mounts", files::mounts)
                    : new Link("/proc/mounts", "self/mounts", new GuestPath("/proc/self/mounts"));
            default -> -Errno.ENOENT;
        };
    }

    private Node rootDir() {
        return new Dir(ROOT, () -> List.of(new Entry(Integer.toString(Libc.getpid()), DT_DIR), new Entry("self", DT_LNK),
                new Entry("cpuinfo", DT_REG), new Entry("meminfo", DT_REG), new Entry("mounts", DT_LNK)));
    }

    private Object inSelf(String[] parts, boolean followLast) {
        if (parts.length == 2) {
            return new Dir("/proc/self", () -> List.of(new Entry("cmdline", DT_REG), new Entry("exe", DT_LNK),
                    new Entry("fd", DT_DIR), new Entry("maps", DT_REG), new Entry("mounts", DT_REG), new Entry("status", DT_REG)));
        }
        String name = parts[2];
        boolean last = parts.length == 3;
        if (name.equals("fd")) return last ? fdDir() : fdLink(parts, followLast);
        if (!last) return List.of("cmdline", "exe", "maps", "mounts", "status").contains(name) ? -Errno.ENOTDIR : -Errno.ENOENT;
        return switch (name) {
            case "cmdline" -> new File("/proc/self/cmdline", files::cmdline);
            case "maps" -> new File("/proc/self/maps", files::maps);
            case "mounts" -> new File("/proc/self/mounts", files::mounts);
            case "status" -> new File("/proc/self/status", files::status);
            case "exe" -> {
                String exe = files.exe();
                yield exe == null ? -Errno.ENOENT : new Link("/proc/self/exe", exe, new GuestPath(exe));
            }
            default -> -Errno.ENOENT;
        };
    }

    private Node fdDir() {
        return new Dir("/proc/self/fd", () -> {
            List<Entry> entries = new ArrayList<>();
            for (int fd : fds.openFds()) entries.add(new Entry(Integer.toString(fd), DT_LNK));
            return entries;
        });
    }

    private Object fdLink(String[] parts, boolean followLast) {
        if (parts.length > 4) return -Errno.ENOTDIR;
        int fd;
        try {
            fd = parts[3].matches("0|[1-9][0-9]{0,6}") ? Integer.parseInt(parts[3]) : -1;
        } catch (NumberFormatException e) {
            fd = -1;
        }
        OpenFile f = fd < 0 ? null : fds.file(fd);
        if (f == null) return -Errno.ENOENT;
        String target = target(f);
        boolean byPath = target.startsWith("/") && f.kind != FileKind.STDIN && f.kind != FileKind.STDOUT
                && f.kind != FileKind.STDERR && !target.endsWith(" (deleted)");
        return new Link("/proc/self/fd/" + fd, target, byPath ? new GuestPath(target) : new SameFile(f));
    }

    /** What /proc/self/fd/N names: the file's guest path, or the kind of host object behind a standard stream. */
    private String target(OpenFile f) {
        if (f.virtual != null) {
            return switch (f.virtual) {
                case Pipe.End end -> "pipe:[" + end.pipe().inode() + "]";
                case EventFd e -> "anon_inode:[eventfd]";
                case TimerFd t -> "anon_inode:[timerfd]";
                case Epoll e -> "anon_inode:[eventpoll]";
                case SignalFd s -> "anon_inode:[signalfd]";
            };
        }
        if (f.kind == FileKind.PROC) return f.path.replaceFirst("^/proc/self", "/proc/" + Libc.getpid());
        if (f.kind == FileKind.DEVICE) return f.path;
        String path = root.guestPathOf(f.hostFd);
        if (path != null) return path;
        if (!f.isStdio()) return f.path + " (deleted)";
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(144, 8);
            if (Libc.fstat(f.hostFd, st) < 0) return "anon_inode:[unknown]";
            long ino = st.get(JAVA_LONG, 8);
            return switch (st.get(JAVA_INT, 24) & 0170000) {
                case 0010000 -> "pipe:[" + ino + "]";
                case 0140000 -> "socket:[" + ino + "]";
                case 0020000 -> "/dev/tty";
                default -> "anon_inode:[" + ino + "]";
            };
        }
    }

    /** Lexical normalization of an absolute path: "//", "." and ".." removed. */
    static String normalize(String absolutePath) {
        List<String> out = new ArrayList<>();
        for (String p : absolutePath.split("/")) {
            if (p.isEmpty() || p.equals(".")) continue;
            if (p.equals("..")) {
                if (!out.isEmpty()) out.removeLast();
            } else {
                out.add(p);
            }
        }
        return "/" + String.join("/", out);
    }

    /**
     * Follows links (a bounded number of times, as Linux does): a non-link Node, an Integer
     * -errno, or where opening ends up outside /proc (a GuestPath or SameFile).
     */
    Object follow(Object found) {
        for (int hops = 0; hops < 8; hops++) {
            if (!(found instanceof Link l)) return found;
            if (l.opens() instanceof GuestPath g && contains(g.path())) {
                found = lookup(g.path(), true);
                continue;
            }
            return l.opens();
        }
        return -Errno.ELOOP;
    }

    /** access(2): nothing here may be written (opening for write fails too); read and search as the mode says. */
    static int access(int mode, int want) {
        if ((want & 2) != 0) return -Errno.EACCES;
        return ((mode >> 6) & want) == want ? 0 : -Errno.EACCES;
    }

    // ---- what open and stat see ---------------------------------------------------------

    /** The st_mode of an open /proc file. */
    static int mode(OpenFile f) {
        return (isDirectory(f.path) ? S_IFDIR : S_IFREG) | f.mode;
    }

    /** stat(2) or statx(2) of a /proc path: the generated node, or what a followed link leads to. */
    long stat(Object found, boolean follow, MemorySegment out, boolean statx, int mask) {
        Object p = follow ? follow(found) : found;
        MemorySegment emptyPath = EMPTY_PATH;
        return switch (p) {
            case Integer errno -> errno;
            case Node n -> {
                if (statx) statx(path(n), mode(n), out);
                else stat(path(n), mode(n), out);
                yield 0;
            }
            case SameFile s when s.file().kind == FileKind.PROC -> {
                if (statx) statx(s.file().path, mode(s.file()), out);
                else stat(s.file().path, mode(s.file()), out);
                yield 0;
            }
            case SameFile s -> statx ? Libc.statx(s.file().hostFd, emptyPath, Libc.AT_EMPTY_PATH, mask, out)
                    : Libc.fstat(s.file().hostFd, out);
            case GuestPath g -> {
                int fd = root.openPath(g.path(), true);
                if (fd < 0) yield fd;
                try {
                    yield statx ? Libc.statx(fd, emptyPath, Libc.AT_EMPTY_PATH, mask, out)
                            : Libc.fstatat(fd, emptyPath, out, Libc.AT_EMPTY_PATH);
                } finally {
                    Libc.close(fd);
                }
            }
            default -> -Errno.ENOENT;
        };
    }

    /** readlink(2) of a /proc path: a link's target, truncated to the buffer as Linux does. */
    static long readlink(Object found, MemorySegment out, long size) {
        if (found instanceof Integer errno) return errno;
        if (!(found instanceof ProcFs.Link l)) return -Errno.EINVAL;
        byte[] target = l.target().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int n = (int) Math.min(size, target.length);
        MemorySegment.copy(target, 0, out, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, n);
        return n;
    }


    /** Permission bits as Linux gives them: files 0444, directories 0555 (fd/ 0500), links 0777. */
    static int mode(Node n) {
        return switch (n) {
            case Dir d -> S_IFDIR | (d.path().equals("/proc/self/fd") ? 0500 : 0555);
            case File f -> S_IFREG | 0444;
            case Link l -> S_IFLNK | 0777;
        };
    }

    static String path(Node n) {
        return switch (n) {
            case Dir d -> d.path();
            case File f -> f.path();
            case Link l -> l.path();
        };
    }

    /** The bytes an open file keeps: the content, or a directory's listing. */
    static byte[] snapshot(Node n) {
        return switch (n) {
            case File f -> f.content().get();
            case Dir d -> {
                StringBuilder b = new StringBuilder(DT_DIR + " .\n" + DT_DIR + " ..\n");
                for (Entry e : d.entries().get()) b.append(e.type()).append(' ').append(e.name()).append('\n');
                yield b.toString().getBytes(StandardCharsets.UTF_8);
            }
            case Link l -> new byte[0];
        };
    }

    /** Fills a 144-byte struct stat for a /proc object of the given mode. */
    static void stat(String canonicalPath, int mode, MemorySegment out) {
        int[] ids = Libc.ids();
        out.fill((byte) 0);
        long now = System.currentTimeMillis();
        out.set(JAVA_LONG, 0, PROC_DEV);
        out.set(JAVA_LONG, 8, inode(canonicalPath));
        out.set(JAVA_LONG, 16, (mode & 0170000) == S_IFDIR ? 2 : 1);
        out.set(JAVA_INT, 24, mode);
        out.set(JAVA_INT, 28, ids[1]);
        out.set(JAVA_INT, 32, ids[3]);
        out.set(JAVA_LONG, 56, 1024);
        for (int t = 72; t <= 104; t += 16) {
            out.set(JAVA_LONG, t, now / 1000);
            out.set(JAVA_LONG, t + 8, now % 1000 * 1_000_000);
        }
    }

    /** Fills a 256-byte struct statx the same way. */
    static void statx(String canonicalPath, int mode, MemorySegment out) {
        int[] ids = Libc.ids();
        out.fill((byte) 0);
        long now = System.currentTimeMillis();
        out.set(JAVA_INT, 0, 0x7ff); // STATX_BASIC_STATS
        out.set(JAVA_INT, 4, 1024);
        out.set(JAVA_INT, 16, (mode & 0170000) == S_IFDIR ? 2 : 1);
        out.set(JAVA_INT, 20, ids[1]);
        out.set(JAVA_INT, 24, ids[3]);
        out.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 28, (short) mode);
        out.set(JAVA_LONG, 32, inode(canonicalPath));
        for (int t = 64; t <= 112; t += 16) {
            out.set(JAVA_LONG, t, now / 1000);
            out.set(JAVA_INT, t + 8, (int) (now % 1000 * 1_000_000));
        }
        out.set(JAVA_INT, 140, (int) PROC_DEV);
    }

    static long inode(String canonicalPath) {
        return (canonicalPath.hashCode() & 0x7fffffffL) | 0x1000;
    }

    /**
     * getdents64 over a directory's listing: entries from the open file's offset on, as many as
     * fit; the offset moves past them. Reading from the start lists the directory afresh (so
     * /proc/self/fd shows the descriptor being read, as on Linux); a listing read part-way
     * goes on with what it held, across a restore too.
     */
    long getdents(OpenFile dir, MemorySegment out, long size) {
        long offset = Libc.lseek(dir.hostFd, 0, Libc.SEEK_CUR);
        if (offset < 0) return offset;
        if (offset == 0 && lookup(dir.path, true) instanceof Dir d) {
            byte[] fresh = snapshot(d);
            if (Libc.ftruncate(dir.hostFd, 0) < 0 || writeFully(dir.hostFd, fresh) < 0) return -Errno.EIO;
            Libc.lseek(dir.hostFd, 0, Libc.SEEK_SET);
        }
        byte[] listing = readAll(dir.hostFd);
        int pos = (int) Math.min(offset, listing.length);
        long used = 0;
        while (pos < listing.length) {
            int nl = pos;
            while (nl < listing.length && listing[nl] != '\n') nl++;
            String line = new String(listing, pos, nl - pos, StandardCharsets.UTF_8);
            int space = line.indexOf(' ');
            byte[] name = line.substring(space + 1).getBytes(StandardCharsets.UTF_8);
            int reclen = (19 + name.length + 1 + 7) & ~7;
            if (used + reclen > size) {
                if (used == 0) return -Errno.EINVAL;
                break;
            }
            String child = name.length == 1 && name[0] == '.' ? dir.path : dir.path + "/" + line.substring(space + 1);
            MemorySegment rec = out.asSlice(used, reclen);
            rec.fill((byte) 0);
            rec.set(JAVA_LONG.withByteAlignment(1), 0, inode(child));
            rec.set(JAVA_LONG.withByteAlignment(1), 8, nl + 1);
            rec.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 16, (short) reclen);
            rec.set(JAVA_BYTE, 18, (byte) Integer.parseInt(line.substring(0, space)));
            MemorySegment.copy(name, 0, rec, JAVA_BYTE, 19, name.length);
            used += reclen;
            pos = nl + 1;
        }
        Libc.lseek(dir.hostFd, pos, Libc.SEEK_SET);
        return used;
    }

    /** The whole content of an in-memory file, whatever its offset. */
    static byte[] readAll(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(144, 8);
            if (Libc.fstat(hostFd, st) < 0) return new byte[0];
            long size = st.get(JAVA_LONG, 48);
            MemorySegment buf = arena.allocate(Math.max(1, size));
            long done = 0;
            while (done < size) {
                long n = Libc.pread(hostFd, buf.asSlice(done), size - done, done);
                if (n <= 0) break;
                done += n;
            }
            return buf.asSlice(0, done).toArray(JAVA_BYTE);
        }
    }

    /** Writes all of {@code bytes} at the start of the file; -errno on failure. */
    static long writeFully(int fd, byte[] bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Math.max(1, bytes.length));
            MemorySegment.copy(bytes, 0, buf, JAVA_BYTE, 0, bytes.length);
            long done = 0;
            while (done < bytes.length) {
                long n = Libc.pwrite(fd, buf.asSlice(done), bytes.length - done, done);
                if (n <= 0) return n < 0 ? n : -Errno.EIO;
                done += n;
            }
            return done;
        }
    }

    /** An in-memory host file holding {@code bytes}, positioned at {@code offset}; -errno on failure. */
    static int memoryFile(byte[] bytes, long offset) {
        int fd = Libc.memfdCreate("scratchvm-proc");
        if (fd < 0) return fd;
        long w = writeFully(fd, bytes);
        if (w < 0) {
            Libc.close(fd);
            return (int) w;
        }
        long r = Libc.lseek(fd, offset, Libc.SEEK_SET);
        if (r < 0) {
            Libc.close(fd);
            return (int) r;
        }
        return fd;
    }
}
