package dev.scratchvm.migration;

import dev.scratchvm.migration.Lab.Server;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The lab program migrated between two VMM processes over loopback with {@code --tls-dir} on
 * both sides: it arrives and finishes as without TLS; a client whose certificate the server
 * does not accept, or that speaks plaintext to it, is refused before any state moves — its VM
 * continues locally, the server creates nothing and goes on serving.
 */
@DisplayName("Migration over TLS between two VMM processes")
@KvmTest
class TlsMigrationTest {
    private static final Duration SOON = Duration.ofSeconds(20);

    @TempDir
    static Path certs;
    static TlsCerts.Dirs tls;

    @TempDir
    Path dir;

    @BeforeAll
    static void makeCertificates() {
        tls = TlsCerts.make(certs.resolve("work"));
    }

    @Test
    void theLabProgramMovesOverTlsAndFinishesOnTheServer() {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key, "--tls-dir", tls.server().toString());
             VmmProcess client = Lab.client(dir, server.address(), key, "--tls-dir", tls.client().toString())) {
            assertThat(client.awaitExit()).as("%s", client).isZero();
            assertThat(server.process().awaitExit()).as("%s", server.process()).isZero();
            assertThat(client.stderrLines().subList(2, 5)).as("%s", client).containsExactly("VMM_CLIENT: VM_APP - SAVE OPERATION",
                    "VMM_CLIENT: VM_APP - VM STATE SENT", "VMM_CLIENT: EXITING");
            assertThat(server.process().stderrLines()).as("%s", server.process())
                    .contains("VMM_SERVER: TLS 1.3 required: clients need a certificate that chains to " + tls.server().resolve("ca-cert.pem"),
                            "VMM_SERVER: VM_APP - RESTORE OPERATION", "VMM_SERVER: VM_APP - EXIT 0")
                    .anyMatch(l -> l.matches(Lab.SECOND_WRITE));
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    @Test
    void aClientTheServerDoesNotAcceptIsRefusedBeforeAnyStateMovesAndTheServerGoesOn() throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        Path root = Files.createDirectory(dir.resolve("server-root")), state = dir.resolve("server-state");
        try (Server server = Lab.server(root, key, "--tls-dir", tls.server().toString(), "--state-dir", state.toString())) {
            record Refusal(Path tlsDir, String client, String server) {
            }
            String at = server.address();
            for (Refusal r : List.of(
                    new Refusal(tls.rogueClient(), "TLS with " + at + " failed: the server wants a certificate that chains to its CA,"
                            + " and this client has none (TLS alert certificate_required)", "the client presented no certificate"),
                    new Refusal(tls.distrustingClient(), "TLS with " + at + " failed: the server's certificate does not chain to a CA in ca-cert.pem",
                            "the client refused this server's certificate"),
                    new Refusal(null, "the server refused: this server requires TLS; connect with --tls-dir",
                            "a client without TLS, but this server requires it (--tls-dir)"))) {
                Files.deleteIfExists(dir.resolve(Lab.FILE));
                long dropsBefore = server.process().count(l -> l.contains(": dropped 127.0.0.1:"));
                String[] extra = r.tlsDir() == null ? new String[]{"--with-files"} : new String[]{"--with-files", "--tls-dir", r.tlsDir().toString()};
                try (VmmProcess client = Lab.client(dir, at, key, extra)) {
                    assertThat(client.awaitExit()).as("%s", client).isZero();
                    List<String> failed = client.stderrLines().stream().filter(l -> l.contains("migration to ")).toList();
                    assertThat(failed).as("%s", client).singleElement().asString()
                            .startsWith("VMM_CLIENT: migration to " + at + " failed: " + r.client())
                            .endsWith("; the VM continues here (SAVE returns -" + (r.tlsDir() == null ? 71 : 13) + ")");
                    assertThat(client.count(l -> l.matches(Lab.SECOND_WRITE))).as("the VM ran on locally, once").isEqualTo(1);
                }
                assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
                long deadline = System.nanoTime() + SOON.toNanos();
                while (server.process().count(l -> l.contains(": dropped 127.0.0.1:")) == dropsBefore && System.nanoTime() < deadline) Thread.sleep(20);
                assertThat(server.process().stderrLines()).as("%s", server.process())
                        .anyMatch(l -> l.startsWith("VMM_SERVER: dropped 127.0.0.1:") && l.contains(r.server()))
                        .noneMatch(l -> l.contains("receiving a VM"));
                // Nothing of the VM reached the server: no file below its root, no image in its state directory.
                try (var files = Files.list(root)) {
                    assertThat(files.toList()).isEmpty();
                }
                try (var files = Files.list(state)) {
                    assertThat(files.map(f -> f.getFileName().toString()).toList()).allMatch(n -> n.equals("journal") || n.equals("lock"));
                }
            }
            // Still serving: the right certificate gets the VM there, files and all.
            Files.deleteIfExists(dir.resolve(Lab.FILE));
            try (VmmProcess client = Lab.client(dir, at, key, "--with-files", "--tls-dir", tls.client().toString())) {
                assertThat(client.awaitExit()).as("%s", client).isZero();
                assertThat(client.stderrLines()).contains("VMM_CLIENT: VM_APP - VM STATE SENT");
            }
            assertThat(server.process().awaitExit()).as("%s", server.process()).isZero();
            assertThat(Lab.read(root.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    @Test
    void aLiveMigrationGoesThroughTlsAndTheProgramFinishesAsNatively() throws Exception {
        String expected = LiveVms.nativeOutput(dir, "steer", null, "compute", "600000000");
        try (LiveVms vms = new LiveVms(dir, 64L << 20, TlsSettings.server(tls.server()), TlsSettings.client(tls.client()));
             dev.scratchvm.vmm.Machine m = vms.boot("steer", 64L << 20, "compute", "600000000");
             dev.scratchvm.control.Controller c = dev.scratchvm.control.Controller.of(m, x -> false).start()) {
            Thread.sleep(100);
            assertThat(c.migrate(vms.client(), LiveOptions.DEFAULT, null)).isInstanceOf(MigrationClient.Result.Committed.class);
            assertThat(c.awaitEnd().exitStatus()).isZero();
            assertThat(vms.arrivedEnding.get(60, java.util.concurrent.TimeUnit.SECONDS).exitStatus()).isZero();
            assertThat(vms.source.output() + vms.destination.output()).isEqualTo(expected);
        }
    }

    @Test
    void aTlsClientAtAPlaintextServerIsToldInOneLineAndItsVmContinues() {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key);
             VmmProcess client = Lab.client(dir, server.address(), key, "--tls-dir", tls.client().toString())) {
            assertThat(client.awaitExit()).as("%s", client).isZero();
            assertThat(client.stderrLines()).as("%s", client).contains("VMM_CLIENT: migration to " + server.address() + " failed: "
                    + server.address() + " does not use TLS (a migration server without --tls-dir); both sides need --tls-dir, or neither;"
                    + " the VM continues here (SAVE returns -71)");
            server.process().awaitLine("VMM_SERVER: dropped 127\\.0\\.0\\.1:\\d+: a TLS client, but this server has no --tls-dir", SOON);
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    @Test
    void aBadTlsDirectoryIsOneLineFromEveryCommandBeforeAnythingRuns() throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        Path loose = Files.createDirectory(dir.resolve("loose"));
        Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path missing = dir.resolve("missing");
        Path mismatched = Files.createDirectory(dir.resolve("mismatched"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        for (String f : List.of("ca-cert.pem", "client-cert.pem")) Files.copy(tls.client().resolve(f), mismatched.resolve(f));
        Files.copy(tls.rogueClient().resolve("client-key.pem"), mismatched.resolve("client-key.pem"));
        Files.write(dir.resolve("vm.img"), new byte[]{1, 2, 3});

        record Case(String expected, String... args) {
        }
        for (Case c : List.of(
                new Case("VMM_SERVER: error: --tls-dir: TLS directory " + missing + " does not exist",
                        "serve", "--listen", "127.0.0.1:0", "--key-file", key.toString(), "--tls-dir", missing.toString()),
                new Case("scratchvm: --tls-dir: TLS directory " + loose + " is accessible by other users (mode rwxr-xr-x); run: chmod 700 " + loose,
                        "run", "--migrate-to", "127.0.0.1:9", "--key-file", key.toString(), "--tls-dir", loose.toString(), "./app"),
                new Case("scratchvm: --tls-dir: " + mismatched.resolve("client-key.pem") + " is not the private key of the certificate in "
                        + mismatched.resolve("client-cert.pem"),
                        "migrate", "vm.img", "--to", "127.0.0.1:9", "--key-file", key.toString(), "--tls-dir", mismatched.toString()))) {
            VmmProcess.Result r = VmmProcess.run(dir, c.args());
            assertThat(r.exit()).as(r.describe()).isNotZero();
            assertThat(r.stderrLines()).as(r.describe()).containsExactly(c.expected());
        }
        assertThat(dir.resolve(Lab.FILE)).as("the guest never ran").doesNotExist();
        assertThat(dir.resolve("vm.img")).exists();
    }
}
