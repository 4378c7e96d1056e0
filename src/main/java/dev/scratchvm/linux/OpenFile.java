package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An open file description: the host fd behind one or more guest fds (dup shares it,
 * and with it the offset), plus what is needed to open it again elsewhere; or a file the
 * VMM implements itself ({@link #virtual}), with no host fd.
 */
final class OpenFile {
    /** The host fd, or -1 for a {@link VirtualFile}. */
    final int hostFd;
    /** The VMM's own file (pipe end, eventfd, timerfd, epoll), or null for a host file. */
    final VirtualFile virtual;
    final FileKind kind;
    /** Path inside the guest root, as resolved by the kernel at open time. */
    final String path;
    int flags;
    final int mode;
    private int references;
    /** Whether reads and writes may wait on another party (pipe, socket, terminal); learned on first use. */
    private Boolean mayBlock;
    private boolean closed;

    OpenFile(int hostFd, FileKind kind, String path, int flags, int mode) {
        this(hostFd, kind, path, flags, mode, null);
    }

    /** A file the VMM implements: no host fd, no path. */
    OpenFile(VirtualFile virtual, FileKind kind, int flags) {
        this(-1, kind, "", flags, 0, virtual);
    }

    private OpenFile(int hostFd, FileKind kind, String path, int flags, int mode, VirtualFile virtual) {
        this.hostFd = hostFd;
        this.virtual = virtual;
        this.kind = kind;
        this.path = path;
        this.flags = flags;
        this.mode = mode;
    }

    /** The guest's fd 0, 1 or 2, backed by the host fd {@code stdio} assigns to it. */
    static OpenFile stdio(int fd, Stdio stdio) {
        return switch (fd) {
            case 0 -> new OpenFile(stdio.in(), FileKind.STDIN, "", Libc.O_RDONLY, 0);
            case 1 -> new OpenFile(stdio.out(), FileKind.STDOUT, "", Libc.O_WRONLY, 0);
            default -> new OpenFile(stdio.err(), FileKind.STDERR, "", Libc.O_WRONLY, 0);
        };
    }

    boolean isStdio() {
        return kind == FileKind.STDIN || kind == FileKind.STDOUT || kind == FileKind.STDERR;
    }

    /** Pipes, sockets and character devices other than the VMM's own device files can keep a call waiting. */
    boolean mayBlock() {
        if (mayBlock == null) mayBlock = virtual == null && kind != FileKind.DEVICE && Libc.waitsOnPeer(hostFd);
        return mayBlock;
    }

    void retain() {
        references++;
    }

    /**
     * Drops one reference; closes the host fd with the last one (never the VMM's own stdio).
     * Linux drops a process's POSIX locks on a file whenever it closes any descriptor of it:
     * with {@code dropPosixLocks}, a close that leaves the host fd open (other guest fds
     * still share it) unlocks them explicitly.
     */
    void release(boolean dropPosixLocks) {
        if (--references == 0) {
            if (virtual != null) virtual.release();
            closeHostFd();
        } else if (dropPosixLocks && virtual == null && !isStdio() && (flags & Libc.O_PATH) == 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment unlock = arena.allocate(32, 8); // struct flock: F_UNLCK, SEEK_SET, 0, 0 (whole file)
                unlock.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.F_UNLCK);
                Libc.fcntl(hostFd, Libc.F_SETLK, unlock);
            }
        }
    }

    /** Whether a descriptor still refers to it. */
    boolean isOpen() {
        return references > 0;
    }

    boolean nonBlocking() {
        return (flags & Libc.O_NONBLOCK) != 0;
    }

    /** Closes the host fd once, whatever still refers to it (never the VMM's own stdio). */
    void closeHostFd() {
        if (closed || isStdio() || hostFd < 0) return;
        closed = true;
        Libc.close(hostFd);
    }
}
