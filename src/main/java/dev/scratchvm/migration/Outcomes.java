package dev.scratchvm.migration;

import dev.scratchvm.migration.Messages.Verdict;

import java.io.IOException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The server's record of recent migrations, by id, so that a client that lost the connection
 * after sending COMMIT can ask how it ended. Each migration is decided exactly once, here:
 * PENDING becomes COMMITTED when the server reads COMMIT, or ABORTED on any failure — or
 * when a client asks about it while it is still pending, which is what makes the answer final.
 */
final class Outcomes {
    private static final int KEEP = 256;

    enum State { PENDING, COMMITTED, ABORTED }

    private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Outcomes.Entry> eldest) {
            return size() > KEEP;
        }
    };

    /** One migration. */
    static final class Entry {
        private final String id;
        private final AtomicReference<State> state = new AtomicReference<>(State.PENDING);
        private final CountDownLatch confirmed = new CountDownLatch(1);
        private final Transport transport;

        private Entry(String id, Transport transport) {
            this.id = id;
            this.transport = transport;
        }

        /** Short id for log lines. */
        String shortId() {
            return id.substring(0, 8);
        }

        State state() {
            return state.get();
        }

        String id() {
            return id;
        }

        /**
         * The server read COMMIT: true if the VM is now the server's, false if it was already
         * aborted. {@code record} makes the decision durable first, atomically with respect to
         * a status query; if it fails, the migration is aborted and the failure thrown.
         */
        synchronized boolean commit(Durably record) throws IOException {
            if (state.get() != State.PENDING) return false;
            try {
                record.run();
            } catch (IOException | RuntimeException e) {
                state.set(State.ABORTED);
                throw e;
            }
            return state.compareAndSet(State.PENDING, State.COMMITTED);
        }

        synchronized void abort() {
            state.compareAndSet(State.PENDING, State.ABORTED);
        }

        /**
         * Final answer for a QUERY. A migration still pending is aborted now, and its connection
         * closed, so that a COMMIT arriving later on it can never take effect.
         */
        synchronized Verdict resolve() {
            if (state.compareAndSet(State.PENDING, State.ABORTED)) transport.close();
            if (state.get() == State.COMMITTED) {
                confirmed.countDown();
                return Verdict.COMMITTED;
            }
            return Verdict.ABORTED;
        }

        /** The client has learned that the migration committed (BYE, or a QUERY answered). */
        void confirm() {
            confirmed.countDown();
        }

        boolean awaitConfirmed(Duration limit) throws InterruptedException {
            return confirmed.await(limit.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /** Writes a decision where a restarted server will find it. */
    @FunctionalInterface
    interface Durably {
        void run() throws IOException;
    }

    /** Registers a new migration; an id seen before is refused (ids are random 32-byte nonces). */
    synchronized Entry begin(byte[] id, Transport transport) throws MigrationException {
        String key = HexFormat.of().formatHex(id);
        if (entries.containsKey(key)) throw MigrationException.protocol("migration id reused");
        Entry e = new Entry(key, transport);
        entries.put(key, e);
        return e;
    }

    synchronized Entry find(byte[] id) {
        return entries.get(HexFormat.of().formatHex(id));
    }
}
