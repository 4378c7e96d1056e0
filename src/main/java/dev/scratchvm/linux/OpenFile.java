package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.sys.Libc;

/**
 * An open file description: the host fd behind one or more guest fds (dup shares it,
 * and with it the offset), plus what is needed to open it again elsewhere.
 */
final class OpenFile {
    final int hostFd;
    final FileKind kind;
    /** Path inside the guest root, as resolved by the kernel at open time. */
    final String path;
    int flags;
    final int mode;
    private int references;

    OpenFile(int hostFd, FileKind kind, String path, int flags, int mode) {
        this.hostFd = hostFd;
        this.kind = kind;
        this.path = path;
        this.flags = flags;
        this.mode = mode;
    }

    static OpenFile stdio(int fd) {
        FileKind kind = switch (fd) {
            case 0 -> FileKind.STDIN;
            case 1 -> FileKind.STDOUT;
            default -> FileKind.STDERR;
        };
        return new OpenFile(fd, kind, "", fd == 0 ? Libc.O_RDONLY : Libc.O_WRONLY, 0);
    }

    boolean isStdio() {
        return kind == FileKind.STDIN || kind == FileKind.STDOUT || kind == FileKind.STDERR;
    }

    void retain() {
        references++;
    }

    /** Drops one reference; closes the host fd with the last one (never the VMM's own stdio). */
    void release() {
        if (--references == 0 && !isStdio()) Libc.close(hostFd);
    }
}
