package dev.scratchvm.linux;

/**
 * Thrown from a blocking host wait that a {@link dev.scratchvm.sys.Wakeup} cut short,
 * with the call the guest must execute again to finish it. Control flow, not an error:
 * it carries no stack trace.
 */
final class Interrupted extends RuntimeException {
    final long restartNr;

    Interrupted(long restartNr) {
        super(null, null, false, false);
        this.restartNr = restartNr;
    }
}
