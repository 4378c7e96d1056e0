package dev.scratchvm.migration;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The server's budget for connections that have not authenticated yet: at most {@code total}
 * at once, and at most {@code perAddress} from one remote address (IPv6: one /64). A new
 * connection is never refused for lack of room: it evicts an older unauthenticated one — from
 * its own address when that address is at its limit, else from the address holding the most —
 * choosing the one that has shown least: first a connection that has sent nothing, then one
 * that has sent part of its first flight (preamble and HELLO), then one whose HELLO arrived;
 * the oldest first within each. A peer that only opens connections and waits (or trickles) can
 * thus never push out a client that sends its HELLO as soon as it connects, and a flood from
 * one address cannot push out anybody else's handshake. Connections leave the budget when they
 * authenticate or fail. Thread-safe.
 */
final class Admission {
    /** How far a connection got before authenticating. */
    enum Stage { SILENT, PARTIAL, HELLO }

    /** One unauthenticated connection's place in the budget. */
    static final class Ticket {
        private final Object group;
        private final String address;
        private final long since;
        private Stage stage = Stage.SILENT;
        private Runnable evictor;
        private boolean gone, evicted;

        private Ticket(Object group, String address, long since, Runnable evictor) {
            this.group = group;
            this.address = address;
            this.since = since;
            this.evictor = evictor;
        }

        /** {@link System#nanoTime()} at accept: the handshake deadline counts from here. */
        long since() {
            return since;
        }

        /**
         * Sets what closes the connection when it is evicted. Returns false, and leaves the
         * closing to the caller, when it was evicted already.
         */
        synchronized boolean onEvict(Runnable r) {
            if (evicted) return false;
            evictor = r;
            return true;
        }

        synchronized boolean evicted() {
            return evicted;
        }

        /** Closes the connection (outside the budget's lock). */
        void evict() {
            Runnable r;
            synchronized (this) {
                evicted = true;
                r = evictor;
            }
            r.run();
        }

        @Override
        public String toString() {
            return address;
        }
    }

    private final int total, perAddress;
    private final List<Ticket> tickets = new ArrayList<>();
    private final Map<Object, Integer> counts = new HashMap<>();

    Admission(int total, int perAddress) {
        if (perAddress < 1 || total < perAddress) throw new IllegalArgumentException("limits " + total + "/" + perAddress);
        this.total = total;
        this.perAddress = perAddress;
    }

    /**
     * Admits a connection from {@code from}, accepted at {@code now}; {@code evictor} closes it if
     * it must make room later. The ticket it had to evict to stay within the limits, if any, is
     * added to {@code evicted}, already out of the budget: the caller calls its {@link Ticket#evict()}.
     */
    synchronized Ticket admit(InetAddress from, long now, Runnable evictor, List<Ticket> evicted) {
        Object group = group(from);
        Ticket t = new Ticket(group, from.getHostAddress(), now, evictor);
        int mine = counts.merge(group, 1, Integer::sum);
        tickets.add(t);
        Object crowded = null;
        if (mine > perAddress) {
            crowded = group;
        } else if (tickets.size() > total) {
            int most = 0;
            for (Map.Entry<Object, Integer> e : counts.entrySet()) {
                if (e.getValue() > most) {
                    most = e.getValue();
                    crowded = e.getKey();
                }
            }
        }
        if (crowded != null) {
            Ticket victim = null;
            for (Ticket c : tickets) {
                if (c == t || !c.group.equals(crowded)) continue;
                if (victim == null || c.stage.compareTo(victim.stage) < 0
                        || c.stage == victim.stage && c.since - victim.since < 0) {
                    victim = c;
                }
            }
            // Only t itself in the crowded group cannot happen: the limits are at least 1 and total >= perAddress.
            if (victim != null) {
                remove(victim);
                evicted.add(victim);
            }
        }
        return t;
    }

    /** The connection sent something, or its whole first flight: it ranks above those that did not. */
    synchronized void reached(Ticket t, Stage stage) {
        if (stage.compareTo(t.stage) > 0) t.stage = stage;
    }

    /** The connection authenticated or failed: it leaves the budget. False if it was evicted already. */
    synchronized boolean release(Ticket t) {
        if (t.gone) return false;
        remove(t);
        return true;
    }

    /** Takes every ticket out of the budget (the server is closing); the caller evicts them. */
    synchronized List<Ticket> drain() {
        List<Ticket> all = new ArrayList<>(tickets);
        for (Ticket t : all) remove(t);
        return all;
    }

    synchronized int size() {
        return tickets.size();
    }

    private void remove(Ticket t) {
        t.gone = true;
        tickets.remove(t);
        counts.computeIfPresent(t.group, (k, n) -> n == 1 ? null : n - 1);
    }

    /** One address; for IPv6 its /64, since one host usually holds a whole /64. */
    static Object group(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address) b = Arrays.copyOf(b, 8);
        return new Key(b);
    }

    private record Key(byte[] bytes) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }
    }
}
