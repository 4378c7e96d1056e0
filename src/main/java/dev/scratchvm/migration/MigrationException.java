package dev.scratchvm.migration;

/**
 * A migration step failed. The message is one line a user can act on. {@link #errno()} is what
 * the guest's SAVE returns when the VM stays on the source; {@link #code()} is what the peer is
 * told (or was told, when {@link #fromPeer()} is true).
 */
public final class MigrationException extends Exception {
    // Linux errno values not in dev.scratchvm.sys.Errno.
    static final int EPROTO = 71, EPROTONOSUPPORT = 93, ECONNABORTED = 103, ECONNRESET = 104,
            EHOSTUNREACH = 113, EREMOTEIO = 121;

    private final int errno;
    private final ErrorCode code;
    private final boolean fromPeer;

    MigrationException(String message, int errno, ErrorCode code) {
        this(message, errno, code, false);
    }

    private MigrationException(String message, int errno, ErrorCode code, boolean fromPeer) {
        super(message.lines().findFirst().orElse(message));
        this.errno = errno;
        this.code = code;
        this.fromPeer = fromPeer;
    }

    static MigrationException protocol(String message) {
        return new MigrationException(message, EPROTO, ErrorCode.PROTOCOL);
    }

    static MigrationException rejected(String message) {
        return new MigrationException(message, EREMOTEIO, ErrorCode.REJECTED);
    }

    static MigrationException network(String message, int errno) {
        return new MigrationException(message, errno, ErrorCode.PROTOCOL);
    }

    public static MigrationException local(String message) {
        return new MigrationException(message, dev.scratchvm.sys.Errno.EIO, ErrorCode.INTERNAL);
    }

    /** What an ERROR message from the peer said (an ERROR without text still says something). */
    static MigrationException fromPeer(ErrorCode code, String message) {
        String said = message.isBlank() ? "no reason given (" + code.name().toLowerCase() + " error)" : message;
        return new MigrationException(said, code.errno(), code, true);
    }

    public int errno() {
        return errno;
    }

    public ErrorCode code() {
        return code;
    }

    /** True when the peer reported this failure in an ERROR message. */
    public boolean fromPeer() {
        return fromPeer;
    }
}
