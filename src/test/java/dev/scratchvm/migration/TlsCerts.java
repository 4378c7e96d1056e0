package dev.scratchvm.migration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates made at test time with the running JDK's keytool: a CA, a server certificate
 * (EC, naming 127.0.0.1 and localhost) and a client certificate (RSA) signed by it, and a
 * second CA with a client certificate of its own for the wrong-certificate cases. Each TLS
 * directory is laid out as {@code --tls-dir} expects it, mode 0700 with 0600 keys.
 */
final class TlsCerts {
    private static final String PASS = "changeit";

    /** {@code both}: the server's and the client's files, trusting CA 1; {@code rogue}: a client of CA 2 that trusts CA 1. */
    record Dirs(Path both, Path server, Path client, Path rogueClient, Path distrustingClient, Path work) {
    }

    private TlsCerts() {
    }

    static Dirs make(Path work) {
        try {
            Files.createDirectories(work);
            keytool(work, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=ScratchVM test CA",
                    "-ext", "bc:c", "-validity", "2", "-keystore", "ca.p12");
            keytool(work, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=Another CA",
                    "-ext", "bc:c", "-validity", "2", "-keystore", "ca2.p12");
            keytool(work, "-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", "-file", "ca-cert.pem");
            keytool(work, "-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca2.p12", "-file", "ca2-cert.pem");
            issue(work, "ca.p12", "server", "EC", "CN=localhost", "san=ip:127.0.0.1,dns:localhost", "eku=serverAuth");
            issue(work, "ca.p12", "client", "RSA", "CN=test client", null, "eku=clientAuth");
            issue(work, "ca2.p12", "rogue", "EC", "CN=rogue client", null, "eku=clientAuth");

            Path both = dir(work.resolve("both"), "ca-cert.pem", "server", "client");
            Path server = dir(work.resolve("server"), "ca-cert.pem", "server", null);
            Path client = dir(work.resolve("client"), "ca-cert.pem", null, "client");
            Path rogue = dir(work.resolve("rogue"), "ca-cert.pem", null, "rogue");
            Path distrusting = dir(work.resolve("distrusting"), "ca2-cert.pem", null, "client");
            return new Dirs(both, server, client, rogue, distrusting, work);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A key pair in NAME.p12 and NAME-cert.pem (leaf then CA), NAME-key.pem (PKCS#8). */
    private static void issue(Path work, String ca, String name, String keyAlg, String dname, String san, String eku) throws IOException {
        List<String> gen = new ArrayList<>(List.of("-genkeypair", "-alias", name, "-keyalg", keyAlg, "-dname", dname,
                "-validity", "2", "-keystore", name + ".p12"));
        if (keyAlg.equals("RSA")) gen.addAll(List.of("-keysize", "2048"));
        keytool(work, gen.toArray(String[]::new));
        keytool(work, "-certreq", "-alias", name, "-keystore", name + ".p12", "-file", name + ".csr");
        List<String> sign = new ArrayList<>(List.of("-gencert", "-rfc", "-alias", "ca", "-keystore", ca, "-infile", name + ".csr",
                "-outfile", name + "-cert.pem", "-validity", "2", "-ext", eku));
        if (san != null) sign.addAll(List.of("-ext", san));
        keytool(work, sign.toArray(String[]::new));
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(work.resolve(name + ".p12"))) {
                ks.load(in, PASS.toCharArray());
            }
            PrivateKey key = (PrivateKey) ks.getKey(name, PASS.toCharArray());
            Files.writeString(work.resolve(name + "-key.pem"), pem("PRIVATE KEY", key.getEncoded()));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    /** A --tls-dir: the CA file as ca-cert.pem, and the named server and client pairs. */
    private static Path dir(Path dir, String caFile, String server, String client) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Path work = dir.getParent();
        Files.copy(work.resolve(caFile), dir.resolve("ca-cert.pem"));
        if (server != null) place(work, server, dir, "server");
        if (client != null) place(work, client, dir, "client");
        return dir;
    }

    private static void place(Path work, String name, Path dir, String side) throws IOException {
        Files.copy(work.resolve(name + "-cert.pem"), dir.resolve(side + "-cert.pem"));
        Files.copy(work.resolve(name + "-key.pem"), dir.resolve(side + "-key.pem"));
        Files.setPosixFilePermissions(dir.resolve(side + "-key.pem"), PosixFilePermissions.fromString("rw-------"));
    }

    /**
     * Runs keytool; a keytool JVM that crashed (under the test VM's emulation JVMs have died of
     * SIGILL and SIGSEGV in JIT-compiled code, keytool's among them) is run again, up to three
     * times: its steps only create files, which the next attempt overwrites.
     */
    private static void keytool(Path work, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storepass", PASS, "-keypass", PASS, "-storetype", "PKCS12", "-noprompt"));
        for (int attempt = 1; ; attempt++) {
            Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).start();
            try {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(60, TimeUnit.SECONDS)) throw new IllegalStateException("keytool " + args[0] + " timed out: " + out);
                if (p.exitValue() == 0) return;
                boolean jvmCrashed = out.contains("A fatal error has been detected by the Java Runtime Environment");
                if (!jvmCrashed || attempt == 3) throw new IllegalStateException("keytool " + args[0] + " failed: " + out);
                if (args[0].equals("-genkeypair")) Files.deleteIfExists(work.resolve(args[Arrays.asList(args).indexOf("-keystore") + 1]));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
