package dev.scratchvm.migration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The TLS layer over real loopback sockets, in this JVM and without KVM: a status query (the
 * whole key handshake and one request) goes through TLS; every wrong certificate, a missing
 * one, and plaintext against TLS either way are refused with one line on both sides before
 * the key handshake completes, and the server goes on serving. Certificates come from keytool.
 */
@DisplayName("Migration over TLS: connection setup")
class TlsTransportTest {
    private static final MigrationKey KEY = MigrationKey.of("tls-transport-test-key-012345".getBytes(StandardCharsets.UTF_8));
    private static final Timeouts TIMEOUTS = new Timeouts(Duration.ofSeconds(2), Duration.ofSeconds(3), Duration.ofSeconds(3),
            Duration.ofSeconds(5), Duration.ofSeconds(1));

    @TempDir
    static Path certs;
    static TlsCerts.Dirs dirs;

    @TempDir
    Path state;
    private final List<String> log = new CopyOnWriteArrayList<>();
    private Handoffs handoffs;
    private MigrationServer server;
    private Endpoint at;

    @BeforeAll
    static void makeCertificates() {
        dirs = TlsCerts.make(certs.resolve("work"));
    }

    private void listen(TlsSettings tls) throws IOException {
        listen(tls, "127.0.0.1");
    }

    private void listen(TlsSettings tls, String host) throws IOException {
        handoffs = Handoffs.open(state);
        server = MigrationServer.listen(new Endpoint(host, 0),
                new MigrationServer.Config(KEY, TIMEOUTS, null, handoffs, log::add, tls), List.of());
        at = new Endpoint(host, server.address().getPort());
    }

    @AfterEach
    void close() {
        if (server != null) server.close();
        if (handoffs != null) handoffs.close();
    }

    private MigrationClient client(TlsSettings tls) {
        return new MigrationClient(at, KEY, tls, TIMEOUTS, line -> { });
    }

    private String awaitLog(String prefix) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() - until < 0) {
            for (String l : log) if (l.startsWith(prefix)) return l;
            Thread.sleep(10);
        }
        throw new AssertionError("no log line starting with '" + prefix + "' in " + log);
    }

    @Test
    void aClientWithACertificateFromTheCaAndTheKeyIsAnsweredOverTls() throws Exception {
        listen(TlsSettings.server(dirs.server()));
        assertThat(client(TlsSettings.client(dirs.client())).query(Handshake.nonce())).isEqualTo(MigrationClient.Record.UNKNOWN);
        // One directory may hold both sides' files.
        assertThat(new MigrationClient(at, KEY, TlsSettings.client(dirs.both()), TIMEOUTS, l -> { }).query(Handshake.nonce()))
                .isEqualTo(MigrationClient.Record.UNKNOWN);
        assertThat(log).noneMatch(l -> l.startsWith("dropped"));
    }

    @Test
    void theStreamOnTheWireIsNotThePlaintextProtocol() throws Exception {
        // A server that records what a TLS client sends: its first bytes are a TLS handshake record, not the preamble.
        try (var listener = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            at = new Endpoint("127.0.0.1", listener.getLocalPort());
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    client(TlsSettings.client(dirs.client())).query(Handshake.nonce());
                } catch (MigrationException ignored) {
                    // the recorder never answers
                }
            });
            try (Socket s = listener.accept()) {
                byte[] first = s.getInputStream().readNBytes(5);
                assertThat(first[0]).isEqualTo((byte) 0x16);
                assertThat(first[1]).isEqualTo((byte) 0x03);
            }
            t.join();
        }
    }

    @Test
    void aClientWhoseOnlyCertificateIsFromAnotherCaHasNoneToOffer() throws Exception {
        listen(TlsSettings.server(dirs.server()));
        // The server names its CA in its certificate request; this client's key manager has nothing from it.
        assertThatThrownBy(() -> client(TlsSettings.client(dirs.rogueClient())).query(Handshake.nonce()))
                .isInstanceOf(MigrationException.class)
                .hasMessage("TLS with 127.0.0.1:" + at.port() + " failed: the server wants a certificate that chains to its CA,"
                        + " and this client has none (TLS alert certificate_required)");
        assertThat(awaitLog("dropped")).endsWith("failed: the client presented no certificate");
        assertThat(client(TlsSettings.client(dirs.client())).query(Handshake.nonce())).isEqualTo(MigrationClient.Record.UNKNOWN);
    }

    @Test
    void aClientCertificateFromAnotherCaIsRefusedOnBothSidesAndTheServerGoesOn() throws Exception {
        listen(TlsSettings.server(dirs.server()));
        assertThatThrownBy(() -> client(insistent(TlsSettings.client(dirs.rogueClient()))).query(Handshake.nonce()))
                .isInstanceOf(MigrationException.class)
                .hasMessage("TLS with 127.0.0.1:" + at.port() + " failed: the server refused this client's certificate (TLS alert certificate_unknown)");
        String dropped = awaitLog("dropped");
        assertThat(dropped).matches("dropped 127\\.0\\.0\\.1:\\d+: TLS with 127\\.0\\.0\\.1:\\d+ failed: the client's certificate does not chain to a CA in ca-cert\\.pem.*");
        assertThat(dropped.lines()).hasSize(1);
        assertThat(server.unauthenticated()).isZero();
        assertThat(client(TlsSettings.client(dirs.client())).query(Handshake.nonce())).isEqualTo(MigrationClient.Record.UNKNOWN);
    }

    @Test
    void aServerCertificateFromAnotherCaIsRefusedByTheClient() throws Exception {
        listen(TlsSettings.server(dirs.server()));
        assertThatThrownBy(() -> client(TlsSettings.client(dirs.distrustingClient())).query(Handshake.nonce()))
                .isInstanceOf(MigrationException.class)
                .hasMessageStartingWith("TLS with 127.0.0.1:" + at.port() + " failed: the server's certificate does not chain to a CA in ca-cert.pem");
        assertThat(awaitLog("dropped")).matches("dropped 127\\.0\\.0\\.1:\\d+: TLS with .* failed: the client refused this server's certificate \\(TLS alert .*\\)");
    }

    @Test
    void aServerWhoseCertificateDoesNotNameTheHostIsRefused() throws Exception {
        // The certificate names 127.0.0.1 and localhost; this server listens on another loopback address.
        listen(TlsSettings.server(dirs.server()), "127.0.0.2");
        var c = new MigrationClient(at, KEY, TlsSettings.client(dirs.client()), TIMEOUTS, l -> { });
        try {
            c.query(Handshake.nonce());
            throw new AssertionError("accepted a certificate that does not name 127.0.0.2");
        } catch (MigrationException e) {
            assertThat(e.getMessage()).startsWith("TLS with 127.0.0.2:" + at.port()
                    + " failed: the server's certificate does not name the host connected to");
        }
    }

    @Test
    void aClientWithoutACertificateIsRefused() throws Exception {
        listen(TlsSettings.server(dirs.server()));
        // A TLS client of this CA with no key material of its own.
        javax.net.ssl.SSLContext bare = javax.net.ssl.SSLContext.getInstance("TLSv1.3");
        bare.init(null, trustOnly(), null);
        TlsSettings noCert = new TlsSettings(dirs.client(), TlsSettings.Side.CLIENT, bare);
        assertThatThrownBy(() -> client(noCert).query(Handshake.nonce()))
                .isInstanceOf(MigrationException.class)
                .hasMessageEndingWith("failed: the server wants a certificate that chains to its CA, and this client has none (TLS alert certificate_required)");
        assertThat(awaitLog("dropped")).contains("the client presented no certificate");
    }

    /** The same certificate and trust, but offered whatever CA the server asks for (as a hostile client would). */
    private static TlsSettings insistent(TlsSettings tls) throws Exception {
        var kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        Path dir = tls.dir();
        ks.setKeyEntry("c", Pem.privateKey(Files.readAllBytes(dir.resolve("client-key.pem")), dir), new char[0],
                Pem.certificates(Files.readAllBytes(dir.resolve("client-cert.pem")), dir).toArray(java.security.cert.X509Certificate[]::new));
        kmf.init(ks, new char[0]);
        var real = (javax.net.ssl.X509ExtendedKeyManager) kmf.getKeyManagers()[0];
        var anyIssuer = new javax.net.ssl.X509ExtendedKeyManager() {
            @Override public String[] getClientAliases(String type, java.security.Principal[] issuers) { return real.getClientAliases(type, null); }
            @Override public String chooseClientAlias(String[] types, java.security.Principal[] issuers, Socket s) { return "c"; }
            @Override public String chooseEngineClientAlias(String[] types, java.security.Principal[] issuers, javax.net.ssl.SSLEngine e) { return "c"; }
            @Override public String[] getServerAliases(String type, java.security.Principal[] issuers) { return null; }
            @Override public String chooseServerAlias(String type, java.security.Principal[] issuers, Socket s) { return null; }
            @Override public java.security.cert.X509Certificate[] getCertificateChain(String alias) { return real.getCertificateChain(alias); }
            @Override public java.security.PrivateKey getPrivateKey(String alias) { return real.getPrivateKey(alias); }
        };
        var tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", Pem.certificates(Files.readAllBytes(dir.resolve("ca-cert.pem")), dir).get(0));
        tmf.init(trust);
        javax.net.ssl.SSLContext c = javax.net.ssl.SSLContext.getInstance("TLSv1.3");
        c.init(new javax.net.ssl.KeyManager[]{anyIssuer}, tmf.getTrustManagers(), null);
        return new TlsSettings(dir, TlsSettings.Side.CLIENT, c);
    }

    private static javax.net.ssl.TrustManager[] trustOnly() throws Exception {
        java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("ca", Pem.certificates(Files.readAllBytes(dirs.server().resolve("ca-cert.pem")), dirs.server()).get(0));
        var tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        return tmf.getTrustManagers();
    }

    @Test
    void aPlaintextClientAtATlsServerIsToldInOneLine() throws Exception {
        listen(TlsSettings.server(dirs.server()));
        assertThatThrownBy(() -> client(null).query(Handshake.nonce()))
                .isInstanceOf(MigrationException.class)
                .hasMessage("this server requires TLS; connect with --tls-dir");
        assertThat(awaitLog("dropped")).matches("dropped 127\\.0\\.0\\.1:\\d+: a client without TLS, but this server requires it \\(--tls-dir\\)");
        assertThat(client(TlsSettings.client(dirs.client())).query(Handshake.nonce())).isEqualTo(MigrationClient.Record.UNKNOWN);
    }

    @Test
    void aTlsClientAtAPlaintextServerIsToldInOneLine() throws Exception {
        listen(null);
        assertThatThrownBy(() -> client(TlsSettings.client(dirs.client())).query(Handshake.nonce()))
                .isInstanceOf(MigrationException.class)
                .hasMessage("127.0.0.1:" + at.port() + " does not use TLS (a migration server without --tls-dir); both sides need --tls-dir, or neither");
        assertThat(awaitLog("dropped")).matches("dropped 127\\.0\\.0\\.1:\\d+: a TLS client, but this server has no --tls-dir");
        assertThat(client(null).query(Handshake.nonce())).isEqualTo(MigrationClient.Record.UNKNOWN);
    }

    @Test
    void aTls12ClientIsRefused() throws Exception {
        listen(TlsSettings.server(dirs.server()));
        javax.net.ssl.SSLContext old = javax.net.ssl.SSLContext.getInstance("TLSv1.2");
        old.init(null, trustOnly(), null);
        try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) old.getSocketFactory().createSocket("127.0.0.1", at.port())) {
            s.setEnabledProtocols(new String[]{"TLSv1.2"});
            s.setSoTimeout(5000);
            assertThatThrownBy(s::startHandshake).isInstanceOf(javax.net.ssl.SSLHandshakeException.class).hasMessageContaining("protocol_version");
        }
        assertThat(awaitLog("dropped")).matches("dropped 127\\.0\\.0\\.1:\\d+: TLS with 127\\.0\\.0\\.1:\\d+ failed: the client does not offer TLS 1\\.3, the only version accepted \\(.*\\)");
    }

    @Test
    void garbageAtATlsServerIsDroppedAtTheDoor() throws Exception {
        listen(TlsSettings.server(dirs.server()));
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), at.port())) {
            s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            s.setSoTimeout(5000);
            try {
                assertThat(in.read()).isEqualTo(-1);
            } catch (java.net.SocketException reset) {
                // reset rather than closed: dropped all the same
            }
        }
        assertThat(awaitLog("dropped")).endsWith("not a migration client (neither TLS nor the migration magic bytes)");
    }

    @Test
    void aTlsRecordHeaderIsJudgedFromItsLength() {
        ByteBuffer b = ByteBuffer.allocate(64).put(new byte[]{0x16, 0x03, 0x01, 0x00, 0x30});
        assertThat(Reception.firstFlight(b, true)).isEqualTo(Reception.FirstFlight.INCOMPLETE);
        assertThat(Reception.tlsRecordEnd(b)).isEqualTo(5 + 0x30);
        b.put(new byte[0x30]);
        assertThat(Reception.firstFlight(b, true)).isEqualTo(Reception.FirstFlight.COMPLETE);
        assertThat(Reception.firstFlight(ByteBuffer.allocate(8).put(new byte[]{0x16, 0x03, 0x01, 0x40, 0x01}), true))
                .as("longer than a TLS record may be").isEqualTo(Reception.FirstFlight.NOT_MIGRATION);
        assertThat(Reception.firstFlight(b, false)).as("TLS at a plaintext server: handed on to be told").isEqualTo(Reception.FirstFlight.UNUSUAL);
    }
}
