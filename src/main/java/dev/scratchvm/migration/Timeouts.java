package dev.scratchvm.migration;

import java.time.Duration;

/**
 * Every wait in a migration is bounded, so a dead or stalled peer cannot hang either side.
 *
 * @param connect   TCP connect
 * @param handshake whole handshake, from accept (or connect) to mutual authentication: short, since
 *                  the server holds each unauthenticated connection in a small budget until then
 * @param idle      longest a single read or write may make no progress
 * @param ready     client waiting for READY while the server builds the VM (re-opens and checks files)
 * @param resolve   how long a client that sent COMMIT and lost the connection keeps asking the server
 *                  for the outcome; also how long a {@code --once} server stays to answer it
 */
public record Timeouts(Duration connect, Duration handshake, Duration idle, Duration ready, Duration resolve) {
    /** The handshake is three small messages and one HMAC each way: seconds are plenty even across a continent. */
    static final Duration HANDSHAKE = Duration.ofSeconds(3);
    public static final Timeouts DEFAULT = ofIdle(Duration.ofSeconds(30));

    /** Defaults scaled to one idle timeout: shorter for tests, longer for slow links. */
    public static Timeouts ofIdle(Duration idle) {
        Duration connect = min(Duration.ofSeconds(5), idle), handshake = min(HANDSHAKE, idle);
        Duration ready = idle.compareTo(Duration.ofSeconds(120)) > 0 ? idle : Duration.ofSeconds(120);
        return new Timeouts(connect, handshake, idle, ready, idle.multipliedBy(2));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
