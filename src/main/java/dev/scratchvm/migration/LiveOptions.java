package dev.scratchvm.migration;

import java.time.Duration;

/**
 * How a live migration decides to stop the guest: once the pages still dirty could cross in
 * {@code downtime}, the guest stops and the last of them go with its state. A guest that
 * dirties memory faster than that for {@code timeout} is either left running here
 * ({@link OnTimeout#ABORT}) or stopped and copied whatever the downtime
 * ({@link OnTimeout#STOP_AND_COPY}). With {@code autoConverge}, a guest that keeps it from
 * converging is slowed down step by step (as QEMU's auto-converge does).
 */
public record LiveOptions(Duration downtime, Duration timeout, OnTimeout onTimeout, boolean autoConverge) {
    public enum OnTimeout { ABORT, STOP_AND_COPY }

    /** 10 ms of downtime, 60 s to converge, abort after that, no throttling. */
    public static final LiveOptions DEFAULT = new LiveOptions(Duration.ofMillis(10), Duration.ofSeconds(60), OnTimeout.ABORT, false);

    /**
     * Dirty bytes left for the stop that are not worth another round. Another round costs the
     * guest nothing, while each page sent with the guest stopped adds to its downtime: so rounds
     * go on while each shrinks what is left at least {@link #SHRINK}-fold and it is above this.
     */
    static final long SMALL_REST_BYTES = 256 << 10;
    static final int SHRINK = 4;

    public LiveOptions {
        if (downtime.isNegative() || downtime.isZero()) throw new IllegalArgumentException("the downtime budget must be positive");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("the timeout must be positive");
    }

    /**
     * Whether to stop the guest after a round that sent {@code roundBytes} and left
     * {@code dirtyBytes}, stopping now being estimated to take {@code estimateNanos}: when that
     * fits the budget and another round would not shrink the rest much further.
     */
    boolean stopsNow(long estimateNanos, long dirtyBytes, long roundBytes) {
        boolean shrinking = dirtyBytes > SMALL_REST_BYTES && dirtyBytes * SHRINK <= roundBytes;
        return estimateNanos <= downtime.toNanos() && !shrinking;
    }
}
