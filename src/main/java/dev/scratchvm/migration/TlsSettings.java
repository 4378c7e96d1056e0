package dev.scratchvm.migration;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;

/**
 * Mutual TLS 1.3 for the migration stream, from a directory of PEM files named as Cloud
 * Hypervisor's and QEMU's {@code tls_dir}:
 * <ul>
 *   <li>{@code ca-cert.pem}: the CA certificate(s) the peer's certificate must chain to;</li>
 *   <li>{@code server-cert.pem}, {@code server-key.pem} on the server;</li>
 *   <li>{@code client-cert.pem}, {@code client-key.pem} on the client</li>
 * </ul>
 * (a certificate file may hold the chain, this side's certificate first; a key is unencrypted
 * PKCS#8, RSA or EC). One directory may hold both sides' files. The client also checks that
 * the server's certificate names the host it connects to (subjectAltName DNS or IP). TLS only
 * wraps the stream: the key handshake still runs inside it, so a peer needs both a certificate
 * and the key.
 *
 * @param dir     where the files came from, for messages
 * @param side    which side's certificate this context presents
 * @param context TLS 1.3 with this side's key and the CA as the only trust anchor(s)
 */
public record TlsSettings(Path dir, Side side, SSLContext context) {
    public static final String CA = "ca-cert.pem";
    static final String PROTOCOL = "TLSv1.3";
    /**
     * The TLS 1.3 suites, AES-128-GCM first: it moved a 256 MiB stream 1.5 to 2 times faster than
     * the JDK's default first choice, AES-256-GCM, on the same machine (both use AES-NI).
     */
    private static final String[] SUITES = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"};
    /** Far beyond any certificate chain; keeps a wrong path (a disk image) from being read whole. */
    private static final long MAX_FILE_BYTES = 1 << 20;
    /**
     * Data the rehearsal sends through, so that AES-GCM's compiled code (the JIT's intrinsics)
     * is ready before a migration's memory: measured on a loaded 2-CPU machine, 256 MiB of guest
     * memory took 3.7-4.1 s with no data rehearsed, 1.7-2.7 s after 32 MiB, 1.2 s after 128 MiB.
     */
    private static final int REHEARSAL_MIB = 64;
    private static final Set<PosixFilePermission> GROUP_OR_OTHER = Set.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    /** Which end of the connection, and the names of its files. */
    public enum Side {
        SERVER("server-cert.pem", "server-key.pem"), CLIENT("client-cert.pem", "client-key.pem");

        public final String certFile, keyFile;

        Side(String certFile, String keyFile) {
            this.certFile = certFile;
            this.keyFile = keyFile;
        }
    }

    /** The server's settings from {@code dir}: {@code ca-cert.pem}, {@code server-cert.pem}, {@code server-key.pem}. */
    public static TlsSettings server(Path dir) throws MigrationException {
        return load(dir, Side.SERVER);
    }

    /** The client's settings from {@code dir}: {@code ca-cert.pem}, {@code client-cert.pem}, {@code client-key.pem}. */
    public static TlsSettings client(Path dir) throws MigrationException {
        return load(dir, Side.CLIENT);
    }

    /**
     * Reads and checks every file now, so that a mistake is one line at start-up, never a failed
     * handshake later: the directory and the key readable by their owner only, each file PEM,
     * certificates in their validity period, and the key the one of the certificate.
     */
    static TlsSettings load(Path dir, Side side) throws MigrationException {
        privateTo(dir, true);
        List<X509Certificate> cas = Pem.certificates(read(dir, CA, "the CA certificate the peer must chain to"), dir.resolve(CA));
        Path certPath = dir.resolve(side.certFile), keyPath = dir.resolve(side.keyFile);
        List<X509Certificate> chain = Pem.certificates(read(dir, side.certFile, "this " + name(side) + "'s certificate"), certPath);
        privateTo(keyPath, false);
        PrivateKey key = Pem.privateKey(read(dir, side.keyFile, "this " + name(side) + "'s private key"), keyPath);
        try {
            chain.get(0).checkValidity();
        } catch (CertificateExpiredException e) {
            throw MigrationException.local(certPath + " is not usable: the certificate expired on " + chain.get(0).getNotAfter());
        } catch (CertificateNotYetValidException e) {
            throw MigrationException.local(certPath + " is not usable: the certificate is not valid before " + chain.get(0).getNotBefore());
        }
        if (!matches(key, chain.get(0))) {
            throw MigrationException.local(keyPath + " is not the private key of the certificate in " + certPath);
        }
        try {
            char[] none = new char[0];
            KeyStore own = KeyStore.getInstance("PKCS12");
            own.load(null, null);
            own.setKeyEntry(side.name().toLowerCase(), key, none, chain.toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(own, none);
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            for (int i = 0; i < cas.size(); i++) trusted.setCertificateEntry("ca-" + i, cas.get(i));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trusted);
            SSLContext context = SSLContext.getInstance(PROTOCOL);
            context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
            return new TlsSettings(dir, side, context);
        } catch (GeneralSecurityException | IOException e) {
            throw MigrationException.local("cannot set up TLS from " + dir + ": " + e.getMessage());
        }
    }

    /** A server engine: TLS 1.3 only, and the client must present a certificate. */
    SSLEngine serverEngine() {
        SSLEngine e = context.createSSLEngine();
        e.setUseClientMode(false);
        e.setEnabledProtocols(new String[]{PROTOCOL});
        e.setNeedClientAuth(true);
        e.setEnabledCipherSuites(SUITES);
        return e;
    }

    /** A client engine for {@code to}: TLS 1.3 only, and the server's certificate must name {@code to}'s host. */
    SSLEngine clientEngine(Endpoint to) {
        SSLEngine e = context.createSSLEngine(to.host(), to.port());
        e.setUseClientMode(true);
        SSLParameters p = e.getSSLParameters();
        p.setProtocols(new String[]{PROTOCOL});
        p.setCipherSuites(SUITES);
        p.setEndpointIdentificationAlgorithm("HTTPS");   // RFC 2818 name checks: subjectAltName DNS or IP
        e.setSSLParameters(p);
        return e;
    }

    /**
     * Pays the first TLS handshake's one-time costs (class loading, the key exchange and
     * signature code, certificate path checks) on a background thread: this context shakes hands
     * with itself over a loopback connection, both ends as a real one, so that the real handshake,
     * part of a guest's downtime, runs warm code (measured on a loaded 2-CPU machine: 250-500 ms
     * cold, 20-80 ms warm). Whether the rehearsal itself succeeds does not matter: this side's
     * certificate need not be valid in the other role.
     */
    public Thread warmUp() {
        return Thread.ofVirtual().name("migration-tls-warm-up").start(() -> {
            Timeouts timeouts = Timeouts.ofIdle(java.time.Duration.ofSeconds(5));
            ByteBuffer one = ByteBuffer.allocate(1);
            try (ServerSocketChannel listener = ServerSocketChannel.open()) {
                listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                Endpoint self = new Endpoint("127.0.0.1", ((InetSocketAddress) listener.getLocalAddress()).getPort());
                Thread server = Thread.ofVirtual().name("migration-tls-rehearsal").start(() -> {
                    try (TlsTransport t = TlsTransport.server(SocketTransport.accepted(listener.accept(), timeouts), this)) {
                        ByteBuffer in = ByteBuffer.allocateDirect(1 << 20);
                        for (int i = 0; i < REHEARSAL_MIB; i++) t.readFully(in.clear());
                        t.writeFully(ByteBuffer.allocate(1));
                    } catch (IOException | MigrationException | RuntimeException ignored) {
                        // only a rehearsal
                    }
                });
                try (Transport t = TlsTransport.client(SocketTransport.connect(self, timeouts), this, self)) {
                    ByteBuffer out = ByteBuffer.allocateDirect(1 << 20);
                    for (int i = 0; i < REHEARSAL_MIB; i++) t.writeFully(out.clear());
                    t.readFully(one);
                } catch (MigrationException | RuntimeException ignored) {
                    // only a rehearsal
                }
                server.join(timeouts.handshake());
            } catch (IOException | RuntimeException | InterruptedException ignored) {
                // Only an optimisation; the real handshake reports any real problem.
            }
        });
    }

    private static String name(Side side) {
        return side == Side.SERVER ? "server" : "client";
    }

    /** A TLS directory and key file must not be open to other users, as the migration key file. */
    private static void privateTo(Path path, boolean directory) throws MigrationException {
        String what = directory ? "TLS directory " : "key file ";
        PosixFileAttributes a;
        try {
            a = Files.readAttributes(path, PosixFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw MigrationException.local(directory ? "TLS directory " + path + " does not exist"
                    : "TLS directory " + path.getParent() + " has no " + path.getFileName());
        } catch (IOException e) {
            throw MigrationException.local("cannot read " + what + path + ": " + e.getMessage());
        }
        if (directory && !a.isDirectory()) throw MigrationException.local("TLS directory " + path + " is not a directory");
        if (!directory && !a.isRegularFile()) throw MigrationException.local(what + path + " is not a regular file");
        Set<PosixFilePermission> loose = a.permissions();
        loose.retainAll(GROUP_OR_OTHER);
        if (!loose.isEmpty()) {
            throw MigrationException.local(what + path + " is accessible by other users (mode "
                    + PosixFilePermissions.toString(a.permissions()) + "); run: chmod " + (directory ? "700 " : "600 ") + path);
        }
    }

    private static byte[] read(Path dir, String name, String what) throws MigrationException {
        Path p = dir.resolve(name);
        try {
            if (!Files.isRegularFile(p) && Files.exists(p)) throw MigrationException.local(p + " is not a regular file");
            if (Files.size(p) > MAX_FILE_BYTES) throw MigrationException.local(p + " is larger than " + MAX_FILE_BYTES + " bytes");
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw MigrationException.local("TLS directory " + dir + " has no " + name + " (" + what + ", PEM)");
        } catch (AccessDeniedException e) {
            throw MigrationException.local("cannot read " + p + ": permission denied");
        } catch (IOException e) {
            throw MigrationException.local("cannot read " + p + ": " + e.getMessage());
        }
    }

    /** Whether {@code key} signs what {@code cert}'s public key verifies. */
    private static boolean matches(PrivateKey key, X509Certificate cert) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> null;
        };
        if (algorithm == null || !key.getAlgorithm().equals(cert.getPublicKey().getAlgorithm())) return false;
        try {
            byte[] probe = new byte[32];
            new SecureRandom().nextBytes(probe);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(probe);
            byte[] signature = s.sign();
            s.initVerify(cert.getPublicKey());
            s.update(probe);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
