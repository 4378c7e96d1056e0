package dev.scratchvm.migration;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.migration.Messages.Hello;
import dev.scratchvm.migration.Messages.Purpose;
import dev.scratchvm.migration.Messages.Verdict;
import dev.scratchvm.state.MachineState;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A migration server in the test JVM, reached through in-memory pipes (as a
 * {@link MigrationClient.Connector}), that follows the protocol as MigrationServer does — minus
 * KVM: memory lands in a plain segment — and can be told to fail at the commit step.
 */
class ScriptedServer implements MigrationClient.Connector {
    /** What the server does after READY. */
    enum AtCommit {
        /** Reads COMMIT, answers COMMITTED. */
        COMMIT,
        /** Reads COMMIT, then the connection dies before COMMITTED goes out. */
        COMMIT_THEN_VANISH,
        /** The connection dies before COMMIT is read. */
        VANISH_BEFORE_COMMIT,
        /** Reads COMMIT and answers ERROR: it had already given up. */
        REFUSE_COMMIT
    }

    static final MigrationKey KEY = MigrationKey.of("scripted-server-shared-key".getBytes());

    private final AtCommit atCommit;
    private final Verdict queryAnswer;
    private final int reachableConnections;
    final List<Purpose> connections = new CopyOnWriteArrayList<>();
    volatile MachineState state;
    volatile MemorySegment guest;
    volatile boolean committed;

    /**
     * @param queryAnswer          what a QUERY is told (null: answer from what really happened)
     * @param reachableConnections connections accepted before the server "goes down"
     */
    ScriptedServer(AtCommit atCommit, Verdict queryAnswer, int reachableConnections) {
        this.atCommit = atCommit;
        this.queryAnswer = queryAnswer;
        this.reachableConnections = reachableConnections;
    }

    ScriptedServer(AtCommit atCommit) {
        this(atCommit, null, Integer.MAX_VALUE);
    }

    @Override
    public Transport connect() throws MigrationException {
        if (connections.size() >= reachableConnections) {
            connections.add(null);
            throw MigrationException.network("connection refused", dev.scratchvm.sys.Errno.ECONNREFUSED);
        }
        MemoryTransport[] pair = MemoryTransport.pair();
        Thread.ofVirtual().start(() -> serve(pair[1]));
        return pair[0];
    }

    private void serve(MemoryTransport t) {
        try (ServerSession s = new ServerSession(t, KEY)) {
            Handshake.Greeting greeting = s.handshake(Duration.ofSeconds(5));
            Hello hello = greeting.hello();
            version = greeting.version().major();
            connections.add(hello.purpose());
            if (hello.purpose() == Purpose.QUERY) {
                s.receiveQuery();
                s.answer(queryAnswer != null ? queryAnswer : committed ? Verdict.COMMITTED : Verdict.ABORTED);
                return;
            }
            receive(s);
            s.ready();
            if (atCommit == AtCommit.VANISH_BEFORE_COMMIT) return;
            s.awaitCommit();
            if (atCommit == AtCommit.REFUSE_COMMIT) {
                s.reject(ErrorCode.ABORTED, "the server gave up waiting for COMMIT");
                return;
            }
            committed = true;
            if (atCommit == AtCommit.COMMIT_THEN_VANISH) return;
            s.committed();
            s.awaitBye();
        } catch (MigrationException e) {
            // The client sees the connection end; that is the point of most scripts.
        }
    }

    /** The protocol the client greeted with. */
    private volatile int version = 1;

    /** The client's first message after the handshake: PREPARE (protocol 2) or STATE (1). */
    void receiveFirst(ServerSession s) throws MigrationException {
        if (version >= 2) s.receivePrepare();
        else s.receiveOffer();
    }

    /** The steps before READY, exactly as the real server takes them. */
    void receive(ServerSession s) throws MigrationException {
        if (version >= 2) {
            Messages.Prepare p = s.receivePrepare();
            MemorySegment memory = Arena.ofAuto().allocate(p.memoryBytes(), 4096);
            s.prepared();
            Rounds.Receiver rounds = new Rounds.Receiver(memory, null, null);
            Messages.StateOffer offer = s.receiveRounds(rounds);
            try {
                state = StateCodec.decode(offer.state());
            } catch (ImageException e) {
                throw MigrationException.protocol(e.getMessage());
            }
            s.accept(List.of());
            s.receiveEnd(rounds);
            guest = memory;
            return;
        }
        Messages.StateOffer offer = s.receiveOffer();
        try {
            state = StateCodec.decode(offer.state());
        } catch (ImageException e) {
            throw MigrationException.protocol(e.getMessage());
        }
        s.accept(List.of());
        MemorySegment memory = Arena.ofAuto().allocate(state.memory().size(), 4096);
        s.receiveMemory(memory);
        guest = memory;
    }
}
