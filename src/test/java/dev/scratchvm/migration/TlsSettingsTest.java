package dev.scratchvm.migration;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a {@code --tls-dir} must hold, and the one line for each way it can be wrong. */
@DisplayName("TLS directory checks")
class TlsSettingsTest {
    @TempDir
    static Path certs;
    static TlsCerts.Dirs dirs;

    @TempDir
    Path tmp;

    @BeforeAll
    static void makeCertificates() {
        dirs = TlsCerts.make(certs.resolve("work"));
    }

    /** A copy of {@code from} (0700, keys 0600) to break in one way. */
    private Path copy(Path from) throws IOException {
        Path d = Files.createDirectory(tmp.resolve("tls"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) Files.copy(f, d.resolve(f.getFileName()), java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
        return d;
    }

    private static void refused(Path dir, TlsSettings.Side side, String message) {
        assertThatThrownBy(() -> TlsSettings.load(dir, side)).isInstanceOf(MigrationException.class).hasMessage(message)
                .satisfies(e -> assertThat(e.getMessage().lines()).hasSize(1));
    }

    @Test
    void aCompleteDirectoryLoadsForItsSideEcAndRsaKeysAlike() throws Exception {
        assertThat(TlsSettings.server(dirs.server()).side()).isEqualTo(TlsSettings.Side.SERVER);   // EC
        assertThat(TlsSettings.client(dirs.client()).side()).isEqualTo(TlsSettings.Side.CLIENT);   // RSA
        assertThat(TlsSettings.server(dirs.both()).context().getProtocol()).isEqualTo("TLSv1.3");
        assertThat(TlsSettings.client(dirs.both()).dir()).isEqualTo(dirs.both());
    }

    @Test
    void aMissingDirectoryOrFileIsNamed() throws Exception {
        refused(tmp.resolve("nope"), TlsSettings.Side.SERVER, "TLS directory " + tmp.resolve("nope") + " does not exist");
        refused(dirs.client(), TlsSettings.Side.SERVER, "TLS directory " + dirs.client()
                + " has no server-cert.pem (this server's certificate, PEM)");
        Path d = copy(dirs.server());
        Files.delete(d.resolve("ca-cert.pem"));
        refused(d, TlsSettings.Side.SERVER, "TLS directory " + d + " has no ca-cert.pem (the CA certificate the peer must chain to, PEM)");
        Path f = Files.writeString(tmp.resolve("file"), "x");
        refused(f, TlsSettings.Side.CLIENT, "TLS directory " + f + " is not a directory");
    }

    @Test
    void aDirectoryOrKeyOpenToOtherUsersIsRefusedWithTheChmodThatFixesIt() throws Exception {
        Path d = copy(dirs.server());
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-x---"));
        refused(d, TlsSettings.Side.SERVER, "TLS directory " + d + " is accessible by other users (mode rwxr-x---); run: chmod 700 " + d);
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
        Path key = d.resolve("server-key.pem");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        refused(d, TlsSettings.Side.SERVER, "key file " + key + " is accessible by other users (mode rw-r--r--); run: chmod 600 " + key);
    }

    @Test
    void anUnreadableFileIsNamed() throws Exception {
        Path d = copy(dirs.server());
        Path cert = d.resolve("server-cert.pem");
        Files.setPosixFilePermissions(cert, PosixFilePermissions.fromString("-w-------"));
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.isReadable(cert), "running as root: every file is readable");
        refused(d, TlsSettings.Side.SERVER, "cannot read " + cert + ": permission denied");
    }

    @Test
    void malformedPemIsNamedByFileAndProblem() throws Exception {
        Path d = copy(dirs.server());
        Path ca = d.resolve("ca-cert.pem"), cert = d.resolve("server-cert.pem"), key = d.resolve("server-key.pem");
        Files.writeString(ca, "not a certificate\n");
        refused(d, TlsSettings.Side.SERVER, ca + " is not usable: it holds no '-----BEGIN CERTIFICATE-----' block");
        Files.writeString(ca, "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        refused(d, TlsSettings.Side.SERVER, ca + " is not usable: CERTIFICATE is not valid base64");
        Files.writeString(ca, "-----BEGIN CERTIFICATE-----\nAAAA\n");
        refused(d, TlsSettings.Side.SERVER, ca + " is not usable: '-----BEGIN CERTIFICATE-----' has no '-----END CERTIFICATE-----'");
        Files.writeString(ca, TlsCerts.pem("CERTIFICATE", new byte[]{0x30, 0x03, 0x02, 0x01, 0x00}));
        assertThatThrownBy(() -> TlsSettings.server(d)).hasMessageStartingWith(ca + " is not usable: certificate 1 cannot be parsed (");
        Files.copy(dirs.server().resolve("ca-cert.pem"), ca, java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        Files.writeString(cert, Files.readString(dirs.server().resolve("server-key.pem")));
        refused(d, TlsSettings.Side.SERVER, cert + " is not usable: it holds no '-----BEGIN CERTIFICATE-----' block");
        Files.copy(dirs.server().resolve("server-cert.pem"), cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        Files.writeString(key, TlsCerts.pem("EC PRIVATE KEY", new byte[]{1, 2, 3}));
        refused(d, TlsSettings.Side.SERVER, key + " is not usable: the key is in the legacy EC PRIVATE KEY format; convert it to PKCS#8 with: "
                + "openssl pkcs8 -topk8 -nocrypt -in " + key + " -out NEW");
        Files.writeString(key, TlsCerts.pem("ENCRYPTED PRIVATE KEY", new byte[]{1, 2, 3}));
        refused(d, TlsSettings.Side.SERVER, key + " is not usable: the key is encrypted; it must be unencrypted PKCS#8 (openssl pkcs8 -topk8 -nocrypt -in " + key + ")");
        Files.writeString(key, TlsCerts.pem("PRIVATE KEY", new byte[]{0x30, 0x03, 0x02, 0x01, 0x00}));
        refused(d, TlsSettings.Side.SERVER, key + " is not usable: the PKCS#8 key is malformed, or neither RSA nor EC");
        Files.writeString(key, Files.readString(dirs.server().resolve("ca-cert.pem")));
        refused(d, TlsSettings.Side.SERVER, key + " is not usable: it holds no '-----BEGIN PRIVATE KEY-----' block");
    }

    @Test
    void aKeyThatIsNotTheCertificatesIsRefused() throws Exception {
        Path d = copy(dirs.both());
        // The client's RSA key beside the server's EC certificate; then another EC key.
        Files.copy(d.resolve("client-key.pem"), d.resolve("server-key.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        refused(d, TlsSettings.Side.SERVER, d.resolve("server-key.pem") + " is not the private key of the certificate in " + d.resolve("server-cert.pem"));
        Files.copy(dirs.rogueClient().resolve("client-key.pem"), d.resolve("server-key.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        refused(d, TlsSettings.Side.SERVER, d.resolve("server-key.pem") + " is not the private key of the certificate in " + d.resolve("server-cert.pem"));
    }
}
