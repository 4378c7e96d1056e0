package dev.scratchvm.migration;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.migration.Lab.Server;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Migration of the lab program between two VMM processes over loopback TCP: the happy path with
 * the lab's exact output, and every way the server can say no — after which the VM must still
 * run exactly once, on the client.
 */
@DisplayName("Migration over loopback between two VMM processes")
@KvmTest
class LoopbackMigrationTest {
    private static final Duration SOON = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    @Tag(KvmTest.HARDWARE_PATH)
    @Test
    void theLabProgramMovesToTheServerAtSaveAndFinishesThere() {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key); VmmProcess client = Lab.client(dir, server.address(), key)) {
            assertThat(client.awaitExit()).as("%s", client).isZero();
            assertThat(server.process().awaitExit()).as("%s", server.process()).isZero();

            if (Lab.libc() == Libc.MUSL) {
                assertThat(client.stderrLines()).first().isEqualTo("VMM_CLIENT: VM_APP - OPEN ./ay_caramba 32834 511 - return 3");
            }
            assertThat(client.stderrLines()).as("%s", client).hasSize(5);
            assertThat(client.stderrLines().get(1)).matches("VMM_CLIENT: VM_APP - WRITE 3 \\p{XDigit}+ 16 - return 16");
            assertThat(client.stderrLines().subList(2, 5)).containsExactly("VMM_CLIENT: VM_APP - SAVE OPERATION",
                    "VMM_CLIENT: VM_APP - VM STATE SENT", "VMM_CLIENT: EXITING");

            assertThat(server.process().stderrLines()).as("%s", server.process()).allMatch(l -> l.startsWith("VMM_SERVER: "));
            List<String> guest = server.process().stderrLines().stream().filter(l -> l.startsWith("VMM_SERVER: VM_APP - ")).toList();
            assertThat(guest).as("%s", server.process()).hasSize(4);
            assertThat(guest.get(0)).isEqualTo("VMM_SERVER: VM_APP - RESTORE OPERATION");
            assertThat(guest.get(1)).matches(Lab.SECOND_WRITE);
            assertThat(guest.subList(2, 4)).containsExactly("VMM_SERVER: VM_APP - CLOSE 3 - return 0", "VMM_SERVER: VM_APP - EXIT 0");
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    @Test
    void aClientWithAnotherKeyIsRefusedBeforeSendingStateAndItsVmContinuesLocally() {
        Lab.install(dir);
        Path key = Lab.key(dir), wrong = Lab.key(dir, "not-the-same-key-at-all");
        try (Server server = Lab.server(dir, key)) {
            try (VmmProcess client = Lab.client(dir, server.address(), wrong)) {
                assertThat(client.awaitExit()).as("%s", client).isZero();
                assertThat(client.stderrLines()).anyMatch(l -> l.startsWith("VMM_CLIENT: migration to " + server.address()
                        + " failed: the server refused: our key is not the server's (both sides need the same key file)") && l.endsWith("the VM continues here (SAVE returns -13)"));
                assertThat(client.count(l -> l.matches(Lab.SECOND_WRITE))).isEqualTo(1);
            }
            server.process().awaitLine("VMM_SERVER: dropped 127\\.0\\.0\\.1:\\d+: authentication failed.*", SOON);
            assertThat(server.process().stderrLines()).noneMatch(l -> l.contains("receiving a VM"));
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);

            // The server is still serving: the right key gets through.
            try (VmmProcess client = Lab.client(dir, server.address(), key)) {
                assertThat(client.awaitExit()).isZero();
                assertThat(server.process().awaitExit()).isZero();
            }
        }
    }

    @Test
    void garbageOversizedAndSilentConnectionsAreDroppedWithALogLineAndTheServerKeepsServing() throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key)) {
            try (Socket s = connect(server)) {
                s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
                server.process().awaitLine("VMM_SERVER: dropped 127\\.0\\.0\\.1:\\d+: not a migration client \\(wrong magic bytes\\)", SOON);
            }
            try (Socket s = connect(server)) {
                OutputStream out = s.getOutputStream();
                out.write(new Messages.Preamble(1, 0).encode().array());
                out.write(ByteBuffer.allocate(8).put((byte) 1).put((byte) 0).putShort((short) 0).putInt(0x7fffffff).array());
                server.process().awaitLine("VMM_SERVER: dropped 127\\.0\\.0\\.1:\\d+: HELLO message of 2147483647 bytes exceeds its limit of 33", SOON);
            }
            try (Socket s = connect(server)) {
                long start = System.nanoTime();
                server.process().awaitLine("VMM_SERVER: dropped 127\\.0\\.0\\.1:\\d+: the handshake with .* did not finish in time", SOON);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            }
            try (VmmProcess client = Lab.client(dir, server.address(), key)) {
                assertThat(client.awaitExit()).isZero();
                assertThat(client.stderrLines()).contains("VMM_CLIENT: VM_APP - VM STATE SENT");
                assertThat(server.process().awaitExit()).isZero();
            }
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    @Test
    void aServerThatCannotOpenTheGuestsFileDiscardsTheVmAndTheClientFinishesIt(@TempDir Path serverRoot) {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(serverRoot, key); VmmProcess client = Lab.client(dir, server.address(), key)) {
            assertThat(client.awaitExit()).as("%s", client).isZero();
            assertThat(client.stderrLines()).anyMatch(l -> l.matches("VMM_CLIENT: migration to .* failed: the server refused: "
                    + "cannot restore the VM here: cannot reopen /ay_caramba: .*; the VM continues here \\(SAVE returns -121\\)"));
            assertThat(client.count(l -> l.matches(Lab.SECOND_WRITE))).isEqualTo(1);
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);

            server.process().awaitLine("VMM_SERVER: VM from .* not taken: cannot restore the VM here: .*", SOON);
            assertThat(server.process().isAlive()).isTrue();
            assertThat(server.process().stderrLines()).noneMatch(l -> l.contains("RESTORE OPERATION"));
            assertThat(serverRoot.resolve(Lab.FILE)).doesNotExist();
        }
    }

    @Tag(KvmTest.HARDWARE_PATH)
    @Test
    void withFilesTheGuestsOpenFilesTravelWithTheVm(@TempDir Path serverRoot) {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(serverRoot, key);
             VmmProcess client = Lab.client(dir, server.address(), key, "--with-files")) {
            assertThat(client.awaitExit()).as("%s", client).isZero();
            assertThat(server.process().awaitExit()).as("%s", server.process()).isZero();
            assertThat(server.process().stderrLines()).anyMatch(l -> l.contains("1 sent along"));
            assertThat(Lab.read(serverRoot.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.FIRST);
        }
    }

    @Test
    void withFilesADifferentFileOnTheServerIsNeverReplaced(@TempDir Path serverRoot) throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        Files.writeString(serverRoot.resolve(Lab.FILE), "precious\n");
        try (Server server = Lab.server(serverRoot, key);
             VmmProcess client = Lab.client(dir, server.address(), key, "--with-files")) {
            assertThat(client.awaitExit()).as("%s", client).isZero();
            assertThat(client.stderrLines()).anyMatch(l -> l.contains("failed: the server refused: file /ay_caramba already exists"
                    + " on the server with different content"));
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
            assertThat(Lab.read(serverRoot.resolve(Lab.FILE))).isEqualTo("precious\n");
            assertThat(server.process().isAlive()).isTrue();
        }
    }

    @Tag(KvmTest.HARDWARE_PATH)
    @Test
    void migrateSendsASavedImageToTheServerAndRemovesIt() {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (VmmProcess save = VmmProcess.start(dir, "run", "--image", "vm.img", "./app")) {
            assertThat(save.awaitExit()).as("%s", save).isZero();
        }
        try (Server server = Lab.server(dir, key);
             VmmProcess migrate = VmmProcess.start(dir, "migrate", "vm.img", "--to", server.address(), "--key-file", key.toString())) {
            assertThat(migrate.awaitExit()).as("%s", migrate).isZero();
            assertThat(migrate.stderrLines()).contains("VMM_CLIENT: VM STATE SENT: the VM from vm.img now runs on " + server.address(),
                    "VMM_CLIENT: removed vm.img: the VM exists only on the server now");
            assertThat(server.process().awaitExit()).as("%s", server.process()).isZero();
            assertThat(dir.resolve("vm.img")).doesNotExist();
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    @Test
    void migrateRefusesACorruptImageBeforeConnecting() throws Exception {
        Path image = dir.resolve("vm.img");
        Files.write(image, new byte[]{1, 2, 3});
        try (VmmProcess migrate = VmmProcess.start(dir, "migrate", "vm.img", "--to", "127.0.0.1:9", "--key-file",
                Lab.key(dir).toString())) {
            assertThat(migrate.awaitExit()).isNotZero();
            assertThat(migrate.stderrLines()).singleElement().asString().startsWith("scratchvm: vm.img: ");
            assertThat(image).exists();
        }
    }

    @Tag(KvmTest.HARDWARE_PATH)
    @Test
    void withNoServerListeningTheVmContinuesOnTheClientAtOnce() throws Exception {
        Lab.install(dir);
        int closedPort;
        try (var s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        try (VmmProcess client = Lab.client(dir, "127.0.0.1:" + closedPort, Lab.key(dir))) {
            assertThat(client.awaitExit()).isZero();
            assertThat(client.stderrLines()).contains("VMM_CLIENT: migration to 127.0.0.1:" + closedPort + " failed: connection refused by 127.0.0.1:"
                    + closedPort + " (is the server running?); the VM continues here (SAVE returns -111)");
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    private static Socket connect(Server server) throws Exception {
        return new Socket(InetAddress.getLoopbackAddress(), server.port());
    }
}
