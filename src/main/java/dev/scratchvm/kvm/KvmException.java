package dev.scratchvm.kvm;

import dev.scratchvm.sys.Errno;

/** A KVM ioctl failed or returned something unusable; the message names the ioctl. */
public final class KvmException extends RuntimeException {
    private final int errno;

    public KvmException(String ioctl, int errno) {
        super(ioctl + " failed: " + Errno.describe(errno));
        this.errno = errno;
    }

    public KvmException(String message) {
        super(message);
        this.errno = 0;
    }

    public int errno() {
        return errno;
    }
}
