package dev.scratchvm.migration;

import java.nio.ByteBuffer;

/** A byte stream to the peer whose every read and write is bounded in time. */
interface Transport extends AutoCloseable {
    /** Fills {@code dst} completely or throws (peer closed, timed out, connection lost). */
    void readFully(ByteBuffer dst) throws MigrationException;

    /** Writes every remaining byte of {@code srcs}, in order. */
    void writeFully(ByteBuffer... srcs) throws MigrationException;

    /** Absolute {@link System#nanoTime()} by which every operation must finish; 0 for none. */
    void deadline(long nanoTime);

    /** Longest one read or write may go without progress. */
    void idleTimeout(long nanos);

    long idleTimeout();

    long bytesRead();

    long bytesWritten();

    /** The peer's address, for log lines. */
    String peer();

    /** Closes the connection; a read or write blocked in another thread fails promptly. */
    @Override
    void close();
}
