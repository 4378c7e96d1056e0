package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;

import static dev.scratchvm.sys.Errno.*;

/** brk, mmap, munmap, mremap, mprotect, madvise over the {@link AddressSpace}. */
final class MemoryCalls {
    private static final long PAGE = GuestMemory.PAGE_SIZE;
    private static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_FIXED_NOREPLACE = 0x100000;
    private static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    private static final int MADV_DONTNEED = 4;
    private static final int PROT_RWX = 7;

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
        t.registerTraced(Nr.MPROTECT, "mprotect", c -> traced("MPROTECT " + hex(c.a0()) + " " + c.a1() + " " + c.a2(),
                checkRange(c.a0(), c.a1()) ? 0 : -ENOMEM));
        t.registerTraced(Nr.MADVISE, "madvise", this::madvise);
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

    private long mmap(Call c) {
        long addr = c.a0(), length = c.a1();
        int prot = (int) c.a2(), flags = (int) c.a3(), fd = (int) c.a4();
        long offset = c.a5();
        String label = "MMAP " + hex(addr) + " " + length + " " + prot + " " + flags + " " + fd + " " + offset;
        int type = flags & 3;
        if (length <= 0 || (type != MAP_PRIVATE && type != MAP_SHARED)) return traced(label, -EINVAL);
        boolean anonymous = (flags & MAP_ANONYMOUS) != 0;
        if (!anonymous && type == MAP_SHARED) return traced(label, -ENODEV); // no coherent shared file mappings
        if (!anonymous && (offset & (PAGE - 1)) != 0) return traced(label, -EINVAL);
        OpenFile file = anonymous ? null : files.file(fd);
        if (file != null && file.virtual != null) return traced(label, -ENODEV); // pipes, eventfds... cannot be mapped
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
        space.map(moved, newLength, m.prot());
        args.memory().copy(old, moved, oldLength);
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
