package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import static dev.scratchvm.sys.Errno.*;

/**
 * memfd_create: an anonymous in-memory file, a host memfd behind it. Read, write, lseek,
 * ftruncate and fstat go to the host memfd like any file's; its bytes are saved with the VM (up
 * to {@link #MAX_SAVED_BYTES}) and written into a new memfd at restore.
 */
final class MemfdCalls {
    static final int MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4;
    /** Linux's MFD_NAME_MAX_LEN: NAME_MAX minus "memfd:". */
    static final int MAX_NAME = 249;
    /** The image's limit for a file's saved bytes (File.content). */
    static final long MAX_SAVED_BYTES = 1 << 20;
    static final String PREFIX = "/memfd:";

    private final GuestArgs args;
    private final FdTable fds;

    MemfdCalls(GuestArgs args, FdTable fds) {
        this.args = args;
        this.fds = fds;
    }

    void register(SyscallTable t) {
        t.register(Nr.MEMFD_CREATE, "memfd_create", this::create);
    }

    private long create(Call c) {
        long flags = c.a1();
        // Huge pages are not offered; sealing is accepted at creation but F_ADD_SEALS is not served.
        if ((flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING)) != 0) return -EINVAL;
        byte[] name = name(c.a0());
        int hostFd = Libc.memfdCreate("scratchvm-memfd");
        if (hostFd < 0) return hostFd;
        OpenFile f = new OpenFile(hostFd, FileKind.MEMFD, PREFIX + new String(name, StandardCharsets.ISO_8859_1),
                Libc.O_RDWR | Libc.O_LARGEFILE, 0);
        int fd = fds.install(f, (flags & MFD_CLOEXEC) != 0, 0);
        if (fd < 0) {
            f.closeHostFd();
            return -EMFILE;
        }
        return fd;
    }

    /** The name up to its NUL: EFAULT outside guest memory, EINVAL beyond 249 bytes. */
    private byte[] name(long addr) {
        byte[] b = new byte[MAX_NAME + 1];
        for (int n = 0; n < b.length; n++) {
            b[n] = args.buffer(addr + n, 1).get(ValueLayout.JAVA_BYTE, 0);
            if (b[n] == 0) return java.util.Arrays.copyOf(b, n);
        }
        throw new SyscallError(EINVAL);
    }

    /** The memfd's size, from the host; -errno if fstat fails. */
    static long size(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(144, 8);
            int r = Libc.fstat(hostFd, st);
            return r < 0 ? r : st.get(ValueLayout.JAVA_LONG, 48);
        }
    }
}
