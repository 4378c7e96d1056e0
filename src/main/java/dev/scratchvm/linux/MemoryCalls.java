package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.*;

/**
 * brk, mmap, munmap, mremap, mprotect, madvise, msync over the {@link AddressSpace}. A regular
 * file mapped MAP_SHARED is the host file mapped into guest memory, so the guest's stores are
 * the file's page cache; a private file mapping is a copy of the file's bytes.
 */
final class MemoryCalls {
    private static final long PAGE = GuestMemory.PAGE_SIZE;
    private static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_FIXED_NOREPLACE = 0x100000;
    private static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    private static final int MADV_DONTNEED = 4;
    private static final int PROT_RWX = 7, PROT_WRITE = 2;
    private static final int MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;

    private final GuestArgs args;
    private final AddressSpace space;
    private final FileCalls files;
    private final Trace trace;

    MemoryCalls(GuestArgs args, AddressSpace space, FileCalls files, Trace trace) {
        this.args = args;
        this.space = space;
        this.files = files;
        this.trace = trace;
    }

    void register(SyscallTable t) {
        t.registerTraced(Nr.BRK, "brk", c -> traced("BRK " + hex(c.a0()), space.setBrk(c.a0())));
        t.registerTraced(Nr.MMAP, "mmap", this::mmap);
        t.registerTraced(Nr.MUNMAP, "munmap", this::munmap);
        t.registerTraced(Nr.MREMAP, "mremap", this::mremap);
        t.registerTraced(Nr.MPROTECT, "mprotect", this::mprotect);
        t.registerTraced(Nr.MADVISE, "madvise", this::madvise);
        t.registerTraced(Nr.MSYNC, "msync", this::msync);
    }

    private long traced(String text, long result) {
        trace.other(text, result);
        return result;
    }

    private static String hex(long v) {
        return Long.toHexString(v);
    }

    private boolean checkRange(long addr, long length) {
        return (addr & (PAGE - 1)) == 0 && length >= 0 && args.memory().contains(addr, AddressSpace.pageUp(length));
    }

    private static final int PROT_SEM = 8, PROT_GROWSDOWN = 0x01000000, PROT_GROWSUP = 0x02000000;

    private long mprotect(Call c) {
        long addr = c.a0(), length = c.a1();
        long prot = c.a2();
        String label = "MPROTECT " + hex(addr) + " " + length + " " + prot;
        if ((addr & (PAGE - 1)) != 0 || (prot & ~(PROT_RWX | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP)) != 0
                || (prot & (PROT_GROWSDOWN | PROT_GROWSUP)) == (PROT_GROWSDOWN | PROT_GROWSUP)) {
            return traced(label, -EINVAL);
        }
        if (length == 0) return traced(label, 0);
        if (length < 0 || !args.memory().contains(addr, AddressSpace.pageUp(length))) return traced(label, -ENOMEM);
        return traced(label, space.protect(addr, AddressSpace.pageUp(length), (int) prot & PROT_RWX));
    }

    private long mmap(Call c) {
        long addr = c.a0(), length = c.a1();
        int prot = (int) c.a2(), flags = (int) c.a3(), fd = (int) c.a4();
        long offset = c.a5();
        String label = "MMAP " + hex(addr) + " " + length + " " + prot + " " + flags + " " + fd + " " + offset;
        int type = flags & 3;
        if (length <= 0 || (type != MAP_PRIVATE && type != MAP_SHARED)) return traced(label, -EINVAL);
        boolean anonymous = (flags & MAP_ANONYMOUS) != 0;
        if (!anonymous && (offset & (PAGE - 1)) != 0) return traced(label, -EINVAL);
        OpenFile file = anonymous ? null : files.file(fd);
        if (file != null && file.virtual != null) return traced(label, -ENODEV); // pipes, eventfds... cannot be mapped
        boolean sharedFile = file != null && type == MAP_SHARED;
        if (sharedFile) {
            long refused = refuseShared(file, prot);
            if (refused != 0) return traced(label, refused);
        }
        long size = AddressSpace.pageUp(length);
        long start;
        if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0) {
            if ((addr & (PAGE - 1)) != 0 || !args.memory().contains(addr, size)) return traced(label, -EINVAL);
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && !space.isFree(addr, size)) return traced(label, -EEXIST);
            start = addr;
        } else {
            start = addr != 0 && (addr & (PAGE - 1)) == 0 && space.isFree(addr, size) ? addr : space.findFree(size);
            if (start < 0) return traced(label, -ENOMEM);
        }
        if (sharedFile) {
            if (offset > Long.MAX_VALUE - size) return traced(label, -EOVERFLOW);
            int r = space.mapShared(start, size, prot & PROT_RWX, file, offset);
            return traced(label, r < 0 ? r : start);
        }
        space.map(start, size, prot & PROT_RWX); // the rest (PROT_SEM, ...) means nothing here, and is not saved
        if (file != null) {
            // A private file mapping is a copy of the file's bytes; the rest of the last page stays zero.
            MemorySegment dst = args.memory().writable(start, length);
            long r = Libc.pread(file.hostFd, dst, length, offset);
            if (r < 0) {
                space.unmap(start, size);
                return traced(label, r);
            }
        }
        return traced(label, start);
    }

    /** Why Linux would refuse to map {@code file} shared with {@code prot} (a negative errno), or 0. */
    private static long refuseShared(OpenFile file, int prot) {
        // Only regular files have a page cache to share here (/proc files are generated copies).
        if (file.kind != FileKind.REGULAR || (file.flags & Libc.O_PATH) != 0) {
            return (file.flags & Libc.O_PATH) != 0 ? -EBADF : -ENODEV;
        }
        int access = file.flags & Libc.O_ACCMODE;
        if (access == Libc.O_WRONLY) return -EACCES;
        if ((prot & PROT_WRITE) != 0 && (access != Libc.O_RDWR || (file.flags & Libc.O_APPEND) != 0)) return -EACCES;
        return 0;
    }

    private long msync(Call c) {
        long addr = c.a0(), length = AddressSpace.pageUp(c.a1());
        int flags = (int) c.a2();
        String label = "MSYNC " + hex(addr) + " " + c.a1() + " " + flags;
        if ((addr & (PAGE - 1)) != 0 || (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) != 0
                || (flags & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC)) {
            return traced(label, -EINVAL);
        }
        if (length == 0) return traced(label, 0);
        if (!args.memory().contains(addr, length)) return traced(label, -ENOMEM);
        // Anonymous guest pages have nothing to write back: the host's msync is a no-op for them.
        return traced(label, args.memory().anyShared(addr, length) ? args.memory().msync(addr, length, flags) : 0);
    }

    private long munmap(Call c) {
        long addr = c.a0(), length = c.a1();
        String label = "MUNMAP " + hex(addr) + " " + length;
        if (length <= 0 || !checkRange(addr, length)) return traced(label, -EINVAL);
        space.unmap(addr, AddressSpace.pageUp(length));
        return traced(label, 0);
    }

    private long mremap(Call c) {
        long old = c.a0(), oldLength = AddressSpace.pageUp(c.a1()), newLength = AddressSpace.pageUp(c.a2());
        int flags = (int) c.a3();
        String label = "MREMAP " + hex(old) + " " + c.a1() + " " + c.a2() + " " + flags;
        if ((flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) != 0 || (flags & MREMAP_FIXED) != 0 || newLength <= 0
                || (old & (PAGE - 1)) != 0) {
            return traced(label, -EINVAL);
        }
        Mapping m = space.mappingAt(old);
        if (m == null || m.length() != oldLength) return traced(label, -EFAULT);
        if (newLength <= oldLength) {
            if (newLength < oldLength) space.unmap(old + newLength, oldLength - newLength);
            return traced(label, old);
        }
        if (space.growInPlace(m, newLength)) return traced(label, old);
        if ((flags & MREMAP_MAYMOVE) == 0) return traced(label, -ENOMEM);
        long moved = space.findFree(newLength);
        if (moved < 0) return traced(label, -ENOMEM);
        OpenFile file = space.sharedFile(old);
        if (file != null) {
            // The file is mapped again at the new place: nothing to copy, the pages are the file's.
            int r = space.mapShared(moved, newLength, m.prot(), file, m.fileOffset());
            if (r < 0) return traced(label, r);
        } else {
            space.map(moved, newLength, m.prot());
            args.memory().copy(old, moved, oldLength);
        }
        space.unmap(old, oldLength);
        return traced(label, moved);
    }

    private long madvise(Call c) {
        long addr = c.a0(), length = AddressSpace.pageUp(c.a1());
        String label = "MADVISE " + hex(addr) + " " + c.a1() + " " + c.a2();
        if (!checkRange(addr, length)) return traced(label, -EINVAL);
        if (c.a2() == MADV_DONTNEED && length > 0) args.memory().discard(addr, length);
        return traced(label, 0);
    }
}
