package dev.scratchvm.linux;

/**
 * Thrown from a blocking host wait that a {@link dev.scratchvm.sys.Wakeup} cut short,
 * with the call the guest must execute again to finish it. Control flow, not an error:
 * it carries no stack trace.
 * <p>
 * A pause always has the guest make the call again. A signal handler run in between
 * decides as Linux's restart codes do ({@link Restart}).
 */
final class Interrupted extends RuntimeException {
    /** Linux's -ERESTART* codes: what a call cut short by a signal with a handler does. */
    enum Restart {
        /** -ERESTARTSYS: made again if the handler has SA_RESTART, -EINTR otherwise (reads, writes, waits). */
        UNLESS_HANDLER_SAYS,
        /** -ERESTARTNOHAND: -EINTR whenever a handler ran (pause, sigsuspend, absolute sleeps). */
        NEVER_AFTER_HANDLER,
        /** -ERESTART_RESTARTBLOCK: -EINTR after a handler, restart_syscall otherwise (relative sleeps). */
        BLOCK
    }

    final long restartNr;
    final Restart restart;

    Interrupted(long restartNr) {
        this(restartNr, Restart.UNLESS_HANDLER_SAYS);
    }

    Interrupted(long restartNr, Restart restart) {
        super(null, null, false, false);
        this.restartNr = restartNr;
        this.restart = restart;
    }
}
