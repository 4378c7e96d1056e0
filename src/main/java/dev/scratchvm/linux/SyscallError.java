package dev.scratchvm.linux;

/**
 * Ends a system call with -errno. Thrown by the argument helpers so handlers read as
 * straight-line code; carries no stack trace, so it costs about as much as a return.
 */
final class SyscallError extends RuntimeException {
    final int errno;

    SyscallError(int errno) {
        super(null, null, false, false);
        this.errno = errno;
    }
}
