package dev.scratchvm.migration;

import dev.scratchvm.sys.Errno;

/** Codes of the ERROR message (docs/migration-protocol.md); the numbers are the protocol. */
public enum ErrorCode {
    PROTOCOL(1, MigrationException.EPROTO),
    VERSION(2, MigrationException.EPROTONOSUPPORT),
    AUTH(3, Errno.EACCES),
    BUSY(4, Errno.EBUSY),
    REJECTED(5, MigrationException.EREMOTEIO),
    ABORTED(6, MigrationException.ECONNABORTED),
    INTERNAL(7, Errno.EIO);

    private final int wire;
    private final int errno;

    ErrorCode(int wire, int errno) {
        this.wire = wire;
        this.errno = errno;
    }

    int wire() {
        return wire;
    }

    /** What SAVE returns in the guest when the peer refused with this code. */
    int errno() {
        return errno;
    }

    static ErrorCode of(int wire) {
        for (ErrorCode c : values()) if (c.wire == wire) return c;
        return PROTOCOL;
    }
}
