package dev.scratchvm.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away CA and EC P-256 certificates for the migration benchmark's TLS runs, made with
 * the running JDK's keytool: one {@code --tls-dir} holding both sides' files, as serve and run
 * read them. Made once per work directory; the benchmark never touches the user's own.
 */
final class BenchCertificates {
    private static final String PASS = "bench-only";

    private BenchCertificates() {
    }

    /** The TLS directory under {@code work}, created on first use. */
    static Path in(Path work) throws IOException, InterruptedException {
        Path dir = work.resolve("tls");
        if (Files.exists(dir.resolve("client-key.pem"))) return dir;
        Path tmp = Files.createDirectories(work.resolve("tls-make"));
        keytool(tmp, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=scratchvm bench CA",
                "-ext", "bc:c", "-validity", "30", "-keystore", "ca.p12");
        keytool(tmp, "-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-file", "ca-cert.pem");
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        for (String side : List.of("server", "client")) {
            keytool(tmp, "-genkeypair", "-alias", side, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + side,
                    "-validity", "30", "-keystore", side + ".p12");
            keytool(tmp, "-certreq", "-alias", side, "-keystore", side + ".p12", "-file", side + ".csr");
            List<String> sign = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-infile", side + ".csr",
                    "-outfile", side + "-cert.pem", "-validity", "30"));
            if (side.equals("server")) sign.addAll(List.of("-ext", "san=ip:127.0.0.1,dns:localhost"));
            keytool(tmp, sign.toArray(String[]::new));
            Files.copy(tmp.resolve(side + "-cert.pem"), dir.resolve(side + "-cert.pem"));
            Path key = dir.resolve(side + "-key.pem");
            Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(key, pkcs8(tmp.resolve(side + ".p12"), side));
        }
        Files.copy(tmp.resolve("ca-cert.pem"), dir.resolve("ca-cert.pem"));
        try (var files = Files.list(tmp)) {
            for (Path f : files.toList()) Files.delete(f);
        }
        Files.delete(tmp);
        return dir;
    }

    private static String pkcs8(Path store, String alias) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(store)) {
                ks.load(in, PASS.toCharArray());
            }
            PrivateKey key = (PrivateKey) ks.getKey(alias, PASS.toCharArray());
            return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(key.getEncoded())
                    + "\n-----END PRIVATE KEY-----\n";
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the key keytool made: " + e.getMessage(), e);
        }
    }

    private static void keytool(Path dir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storepass", PASS, "-keypass", PASS, "-storetype", "PKCS12", "-noprompt"));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("keytool " + args[0] + " failed: " + out.strip());
    }
}
