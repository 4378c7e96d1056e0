package dev.scratchvm.migration;

/** What both halves of a migration connection hold: the transport, its framing, and the shared key. */
abstract sealed class Session implements AutoCloseable permits ClientSession, ServerSession {
    protected final Transport t;
    protected final FrameReader in;
    protected final FrameWriter out;
    protected final MigrationKey key;

    Session(Transport t, MigrationKey key) {
        this.t = t;
        this.in = new FrameReader(t);
        this.out = new FrameWriter(t);
        this.key = key;
    }

    Transport transport() {
        return t;
    }

    @Override
    public void close() {
        t.close();
    }
}
