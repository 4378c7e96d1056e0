package dev.scratchvm.migration;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.nio.ByteBuffer;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.util.Locale;

/**
 * TLS 1.3 over a {@link SocketTransport}, with an {@link SSLEngine} (the JDK's TLS on
 * non-blocking sockets), so every wait keeps the socket transport's idle timeout and deadline.
 * The TLS handshake runs at the first read or write: inside the migration handshake's
 * deadline, before any migration message. Writes are encrypted record after record into one
 * large buffer and sent with one write per batch; reads take whatever records have arrived and
 * decrypt straight into the caller's buffer (guest memory, on the server), keeping only the
 * tail of a record that does not fit. The network buffers are direct: the engine encrypts and
 * decrypts in them in place, and the socket then needs no copy (measured faster than heap
 * buffers here).
 */
final class TlsTransport implements Transport {
    /** Encrypted bytes gathered before one socket write, and read at most at once. */
    static final int BATCH = 512 << 10;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SocketTransport raw;
    private final SSLEngine engine;
    private final String peerRole;
    /** Encrypted bytes received and not yet decrypted; always in read mode (flipped). */
    private final ByteBuffer netIn;
    /** Encrypted bytes waiting to be sent; in write mode. */
    private final ByteBuffer netOut;
    /** Decrypted bytes the caller has not taken yet; in read mode. */
    private final ByteBuffer appIn;
    private boolean handshaken, anyRecord;
    private MigrationException failed;

    private TlsTransport(SocketTransport raw, SSLEngine engine, String peerRole) {
        this.raw = raw;
        this.engine = engine;
        this.peerRole = peerRole;
        int packet = engine.getSession().getPacketBufferSize();
        this.netIn = ByteBuffer.allocateDirect(Math.max(BATCH, packet)).flip();
        this.netOut = ByteBuffer.allocateDirect(Math.max(BATCH, 2 * packet));
        this.appIn = ByteBuffer.allocateDirect(engine.getSession().getApplicationBufferSize()).flip();
    }

    /** Connects to {@code to}: with TLS when {@code tls} is not null (the TLS handshake runs at the first read or write). */
    static Transport connect(Endpoint to, TlsSettings tls, Timeouts timeouts) throws MigrationException {
        SocketTransport raw = SocketTransport.connect(to, timeouts);
        return tls == null ? raw : client(raw, tls, to);
    }

    /** The client's end: the server's certificate must chain to the CA and name {@code to}'s host. */
    static TlsTransport client(SocketTransport raw, TlsSettings tls, Endpoint to) {
        return new TlsTransport(raw, tls.clientEngine(to), "server");
    }

    /** The server's end: the client must present a certificate that chains to the CA. */
    static TlsTransport server(SocketTransport raw, TlsSettings tls) {
        return new TlsTransport(raw, tls.serverEngine(), "client");
    }

    /** The connection's first bytes open a TLS handshake (a handshake record, TLS 1.0 to 1.3 framing). */
    static boolean looksLikeTls(ByteBuffer first) {
        return first.limit() >= 1 && first.get(0) == 0x16 && (first.limit() < 2 || first.get(1) == 0x03);
    }

    /**
     * A client of the other kind (TLS at a plaintext server, or plaintext at a TLS server) is
     * told so in the one form both understand: the plaintext preamble and an ERROR frame (a TLS
     * client recognises the preamble). What the client sent meanwhile is read and discarded, so
     * that closing does not reset the connection under the answer. Returns the server's log line.
     */
    static MigrationException refuseMismatch(SocketTransport raw, boolean tlsClient, Timeouts timeouts) {
        String told = tlsClient ? "this server does not use TLS; connect without --tls-dir"
                : "this server requires TLS; connect with --tls-dir";
        raw.deadline(System.nanoTime() + timeouts.handshake().toNanos());
        try {
            FrameWriter out = new FrameWriter(raw);
            out.sendRaw(Messages.Preamble.CURRENT.encode());
            out.send(MessageType.ERROR, new Messages.ErrorReply(ErrorCode.PROTOCOL, told).encode());
            ByteBuffer sink = ByteBuffer.allocate(16 << 10);
            for (int drained = 0; drained < 64 << 10; drained += raw.readSome(sink.clear())) { /* until the client closes */ }
        } catch (MigrationException ignored) {
            // The client closed after reading the answer (or went away): either way the connection is done.
        }
        return MigrationException.protocol(tlsClient ? "a TLS client, but this server has no --tls-dir"
                : "a client without TLS, but this server requires it (--tls-dir)");
    }

    @Override
    public void readFully(ByteBuffer dst) throws MigrationException {
        handshake();
        while (dst.hasRemaining()) {
            if (appIn.hasRemaining()) {
                int n = Math.min(appIn.remaining(), dst.remaining());
                dst.put(appIn.slice(appIn.position(), n));
                appIn.position(appIn.position() + n);
                continue;
            }
            appIn.clear();
            // Decrypts into the caller's buffer first; only what does not fit lands in appIn.
            SSLEngineResult r = unwrap(new ByteBuffer[]{dst, appIn});
            appIn.flip();
            afterRecord(r);
        }
    }

    @Override
    public void writeFully(ByteBuffer... srcs) throws MigrationException {
        handshake();
        while (remaining(srcs) > 0) {
            SSLEngineResult r = wrap(srcs);
            if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW || netOut.remaining() < engine.getSession().getPacketBufferSize()) {
                flush();
            }
            afterRecord(r);
        }
        flush();
    }

    /** Runs the TLS handshake once, before the first byte of the migration protocol. */
    private void handshake() throws MigrationException {
        if (failed != null) throw failed;
        if (handshaken) return;
        try {
            engine.beginHandshake();
        } catch (SSLException e) {
            throw fail(e);
        }
        while (true) {
            HandshakeStatus hs = engine.getHandshakeStatus();
            switch (hs) {
                case NEED_TASK -> runTasks();
                case NEED_WRAP -> {
                    wrap(EMPTY);
                    flush();
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    appIn.compact();   // keeps anything decrypted already for the first read
                    try {
                        unwrap(new ByteBuffer[]{appIn});
                    } finally {
                        appIn.flip();
                    }
                }
                case FINISHED, NOT_HANDSHAKING -> {
                    handshaken = true;
                    return;
                }
            }
        }
    }

    /** Post-handshake messages (session tickets, key updates) may need an answer or a task. */
    private void afterRecord(SSLEngineResult r) throws MigrationException {
        HandshakeStatus hs = r.getHandshakeStatus();
        while (hs == HandshakeStatus.NEED_TASK || hs == HandshakeStatus.NEED_WRAP) {
            if (hs == HandshakeStatus.NEED_TASK) {
                runTasks();
            } else {
                wrap(EMPTY);
                flush();
            }
            hs = engine.getHandshakeStatus();
        }
    }

    private void runTasks() {
        for (Runnable task; (task = engine.getDelegatedTask()) != null; ) task.run();
    }

    /** Decrypts one record into {@code dsts}, reading from the socket until a whole one is there. */
    private SSLEngineResult unwrap(ByteBuffer[] dsts) throws MigrationException {
        while (true) {
            if (!anyRecord && netIn.hasRemaining()) notTls();
            SSLEngineResult r;
            try {
                r = engine.unwrap(netIn, dsts);
            } catch (SSLException e) {
                throw fail(e);
            }
            switch (r.getStatus()) {
                case OK -> {
                    anyRecord = true;
                    return r;
                }
                case BUFFER_UNDERFLOW -> {
                    netIn.compact();
                    try {
                        raw.readSome(netIn);
                    } finally {
                        netIn.flip();
                    }
                }
                case CLOSED -> throw failed = MigrationException.network("the " + peerRole + " " + raw.peer()
                        + " closed the TLS connection", MigrationException.ECONNRESET);
                case BUFFER_OVERFLOW -> throw new IllegalStateException("TLS record larger than the session's application buffer");
            }
        }
    }

    /** Encrypts one record of {@code srcs} into the output batch. */
    private SSLEngineResult wrap(ByteBuffer... srcs) throws MigrationException {
        SSLEngineResult r;
        try {
            r = engine.wrap(srcs, netOut);
        } catch (SSLException e) {
            throw fail(e);
        }
        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
            throw failed = MigrationException.network("the TLS connection to " + raw.peer() + " is closed", MigrationException.ECONNRESET);
        }
        return r;
    }

    private void flush() throws MigrationException {
        netOut.flip();
        try {
            if (netOut.hasRemaining()) raw.writeFully(netOut);
        } finally {
            netOut.clear();
        }
    }

    /**
     * The peer's first bytes are not a TLS record. A migration server without TLS answers a
     * ClientHello with its plaintext preamble (and an ERROR): say so rather than "bad record".
     */
    private void notTls() throws MigrationException {
        byte first = netIn.get(netIn.position());
        if (first == 0x16 || first == 0x15) return;   // handshake or alert record
        byte[] magic = Messages.Preamble.MAGIC;
        int n = Math.min(magic.length, netIn.remaining());
        boolean preamble = true;
        for (int i = 0; i < n; i++) preamble &= netIn.get(netIn.position() + i) == magic[i];
        throw failed = MigrationException.protocol(preamble
                ? raw.peer() + " does not use TLS (a migration " + peerRole + " without --tls-dir); both sides need --tls-dir, or neither"
                : raw.peer() + " did not answer with TLS (not a ScratchVM migration " + peerRole + " with --tls-dir)");
    }

    /** A failed TLS handshake or record: one line, and the alert that tells the peer why (best effort). */
    private MigrationException fail(SSLException e) {
        try {
            engine.closeOutbound();
            netOut.clear();
            while (engine.wrap(EMPTY, netOut).bytesProduced() > 0) { /* the alert */ }
            netOut.flip();
            long idle = raw.idleTimeout();
            raw.idleTimeout(Math.min(idle, 1_000_000_000L));
            try {
                if (netOut.hasRemaining()) raw.writeFully(netOut);
            } finally {
                raw.idleTimeout(idle);
            }
        } catch (SSLException | MigrationException | RuntimeException ignored) {
            // The peer may be gone; the failure itself is what matters.
        } finally {
            netOut.clear();
        }
        failed = new MigrationException("TLS with " + raw.peer() + " failed: " + describe(e), ErrorCode.AUTH.errno(), ErrorCode.AUTH);
        return failed;
    }

    /** The one line for a TLS failure: what the user can do about it, not the JDK's stack of causes. */
    private String describe(SSLException e) {
        String m = String.valueOf(e.getMessage());
        String ours = peerRole.equals("server") ? "client" : "server";
        int at = m.indexOf("Received fatal alert: ");
        if (at >= 0) {
            String alert = m.substring(at + "Received fatal alert: ".length()).trim();
            return switch (alert) {
                case "certificate_required" -> "the " + peerRole + " wants a certificate that chains to its CA, and this " + ours
                        + " has none (TLS alert " + alert + ")";
                case "bad_certificate", "certificate_unknown", "unknown_ca", "unsupported_certificate",
                     "certificate_expired", "certificate_revoked", "access_denied" ->
                        "the " + peerRole + " refused this " + ours + "'s certificate (TLS alert " + alert + ")";
                case "protocol_version" -> "the " + peerRole + " does not speak TLS 1.3 (TLS alert " + alert + ")";
                default -> "the " + peerRole + " ended the TLS handshake (TLS alert " + alert + ")";
            };
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof CertPathBuilderException || c instanceof CertPathValidatorException) {
                return "the " + peerRole + "'s certificate does not chain to a CA in " + TlsSettings.CA
                        + " (" + firstLine(c).replaceFirst("^.*: ", "") + ")";
            }
            String cm = String.valueOf(c.getMessage());
            if (c instanceof CertificateException && cm.toLowerCase(Locale.ROOT).contains("subject alternative name")
                    || cm.startsWith("No name matching")) {
                return "the " + peerRole + "'s certificate does not name the host connected to (" + cm + ")";
            }
        }
        if (m.contains("Empty client certificate chain") || m.contains("Empty server certificate chain")) {
            return "the " + peerRole + " presented no certificate";
        }
        if (e instanceof SSLHandshakeException && (m.contains("No appropriate protocol") || m.startsWith("(protocol_version)"))) {
            return "the " + peerRole + " does not offer TLS 1.3, the only version accepted (" + m.replaceFirst("^\\(protocol_version\\) ", "") + ")";
        }
        return firstLine(e);
    }

    private static String firstLine(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }

    private static long remaining(ByteBuffer[] srcs) {
        long n = 0;
        for (ByteBuffer b : srcs) n += b.remaining();
        return n;
    }

    @Override
    public void deadline(long nanoTime) {
        raw.deadline(nanoTime);
    }

    @Override
    public void idleTimeout(long nanos) {
        raw.idleTimeout(nanos);
    }

    @Override
    public long idleTimeout() {
        return raw.idleTimeout();
    }

    /** Bytes on the wire, TLS records included. */
    @Override
    public long bytesRead() {
        return raw.bytesRead();
    }

    @Override
    public long bytesWritten() {
        return raw.bytesWritten();
    }

    @Override
    public String peer() {
        return raw.peer();
    }

    /** Closes without close_notify: the migration protocol ends its conversations itself (BYE, COMMITTED). */
    @Override
    public void close() {
        raw.close();
    }

    void abort() {
        raw.abort();
    }
}
