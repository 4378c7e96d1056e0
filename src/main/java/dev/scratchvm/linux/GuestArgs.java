package dev.scratchvm.linux;

import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.sys.Errno;

import java.lang.foreign.MemorySegment;

/**
 * Checked access to guest pointers, as Linux's copy_from_user/copy_to_user check them: anything
 * outside guest memory, or that the program itself could not read (unmapped, PROT_NONE) or
 * write (no PROT_WRITE), is EFAULT.
 */
final class GuestArgs {
    static final int PATH_MAX = 4096;

    private final GuestMemory memory;
    private final AddressSpace space;

    GuestArgs(GuestMemory memory, AddressSpace space) {
        this.memory = memory;
        this.space = space;
    }

    GuestMemory memory() {
        return memory;
    }

    /** A guest buffer the call only reads (read-only). */
    MemorySegment buffer(long addr, long length) {
        if (length == 0) return MemorySegment.NULL;
        MemorySegment s = memory.slice(addr, length);
        if (s == null || !space.allows(addr, length, false)) throw new SyscallError(Errno.EFAULT);
        return s;
    }

    /** A guest buffer the call writes into; its pages count as dirty. */
    MemorySegment output(long addr, long length) {
        if (length == 0) return MemorySegment.NULL;
        if (!space.allows(addr, length, true)) throw new SyscallError(Errno.EFAULT);
        MemorySegment s = memory.writable(addr, length);
        if (s == null) throw new SyscallError(Errno.EFAULT);
        return s;
    }

    String path(long addr) {
        String p = pathOrEmpty(addr);
        if (p.isEmpty()) throw new SyscallError(Errno.ENOENT);
        return p;
    }

    /** A path that may legitimately be empty (with AT_EMPTY_PATH). */
    String pathOrEmpty(long addr) {
        if (!memory.contains(addr, 1)) throw new SyscallError(Errno.EFAULT);
        int readable = (int) space.readablePrefix(addr, PATH_MAX);
        String p = readable == 0 ? null : memory.cString(addr, readable);
        if (p == null) {
            boolean fault = readable < PATH_MAX || memory.size() - addr < PATH_MAX || !memory.readable(addr, PATH_MAX);
            throw new SyscallError(fault ? Errno.EFAULT : Errno.ENAMETOOLONG);
        }
        return p;
    }

    long readLong(long addr) {
        buffer(addr, 8);
        return memory.readLong(addr);
    }

    void writeLong(long addr, long value) {
        output(addr, 8);
        memory.writeLong(addr, value);
    }
}
