package dev.scratchvm.migration;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.migration.CuttingProxy.At;
import dev.scratchvm.migration.CuttingProxy.Direction;
import dev.scratchvm.migration.Lab.Server;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.scratchvm.migration.CuttingProxy.Direction.CLIENT_TO_SERVER;
import static dev.scratchvm.migration.CuttingProxy.Direction.SERVER_TO_CLIENT;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The connection fails at a chosen byte — in the handshake, the state, the memory, around READY
 * and COMMIT, in either direction — or the server is killed. Whatever happens, the lab program's
 * second half runs exactly once (on the server or, resumed, on the client), its file ends up
 * exactly "Hello World !!!\nBye Bye !!!\n", and the client never runs a VM the server may have.
 */
@DisplayName("Migration under connection failures and crashes")
@KvmTest
class FaultInjectionTest {
    private static final String SENT = "VMM_CLIENT: VM_APP - VM STATE SENT";
    private static final String CONTINUES = "the VM continues here";

    /** Where the program must finish: decided by the protocol, except when COMMIT itself may or may not arrive. */
    enum Finish { CLIENT, SERVER, EITHER }

    /**
     * @param mustAsk COMMIT went out and no complete COMMITTED can come back, so only a QUERY can
     *                tell the client how the migration ended
     */
    record Cut(String name, Direction direction, At at, Finish expected, boolean mustAsk) {
        @Override
        public String toString() {
            return name + " (" + (direction == CLIENT_TO_SERVER ? "client→server" : "server→client") + ", at " + at + ")";
        }
    }

    static List<Cut> cuts() {
        // Cut before authentication, the client connects again (nothing has happened yet) and migrates.
        return List.of(
                new Cut("before anything", CLIENT_TO_SERVER, At.stream(0), Finish.SERVER, false),
                new Cut("inside the preamble", CLIENT_TO_SERVER, At.stream(6), Finish.SERVER, false),
                new Cut("inside HELLO's header", CLIENT_TO_SERVER, At.start(MessageType.HELLO, 4), Finish.SERVER, false),
                // Whether the client learns of this cut inside its handshake (and connects again) or at STATE is a race.
                new Cut("right after the client's AUTH", CLIENT_TO_SERVER, At.end(MessageType.AUTH, 0), Finish.EITHER, false),
                new Cut("in the middle of STATE", CLIENT_TO_SERVER, At.middle(MessageType.STATE), Finish.CLIENT, false),
                new Cut("inside the first memory run", CLIENT_TO_SERVER, At.start(MessageType.MEMORY, 1020), Finish.CLIENT, false),
                new Cut("right before END", CLIENT_TO_SERVER, At.start(MessageType.END, 0), Finish.CLIENT, false),
                new Cut("inside END's checksum", CLIENT_TO_SERVER, At.end(MessageType.END, -1), Finish.CLIENT, false),
                new Cut("right before COMMIT", CLIENT_TO_SERVER, At.start(MessageType.COMMIT, 0), Finish.CLIENT, true),
                new Cut("in the middle of COMMIT", CLIENT_TO_SERVER, At.start(MessageType.COMMIT, 6), Finish.CLIENT, true),
                // The proxy closes both sockets just after forwarding COMMIT: whether the server reads
                // it before the connection dies is up to the kernels. The client cannot tell either.
                new Cut("right after COMMIT", CLIENT_TO_SERVER, At.end(MessageType.COMMIT, 0), Finish.EITHER, true),
                new Cut("before anything", SERVER_TO_CLIENT, At.stream(0), Finish.SERVER, false),
                new Cut("inside CHALLENGE", SERVER_TO_CLIENT, At.start(MessageType.CHALLENGE, 10), Finish.SERVER, false),
                // run --migrate-to opens its connection while the guest runs: this cut breaks it before
                // SAVE, which then connects again; whether the server has let go of the broken
                // connection by then (else it answers "busy" and the guest goes on here) is a race.
                new Cut("right after the server's AUTH", SERVER_TO_CLIENT, At.end(MessageType.AUTH, 0), Finish.EITHER, false),
                new Cut("right before READY", SERVER_TO_CLIENT, At.start(MessageType.READY, 0), Finish.CLIENT, false),
                new Cut("right after READY", SERVER_TO_CLIENT, At.end(MessageType.READY, 0), Finish.CLIENT, true),
                new Cut("inside COMMITTED", SERVER_TO_CLIENT, At.start(MessageType.COMMITTED, 4), Finish.SERVER, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cuts")
    void cuttingTheConnectionAnywhereLeavesTheProgramRunningExactlyOnce(Cut cut, @TempDir Path dir) throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key);
             CuttingProxy proxy = CuttingProxy.cutting(server.port(), cut.direction(), cut.at());
             VmmProcess client = Lab.client(dir, proxy.address(), key)) {
            assertThat(client.awaitExit()).as("%s", client).isZero();
            boolean migrated = client.stderrLines().contains(SENT);
            boolean continued = client.count(l -> l.startsWith("VMM_CLIENT: migration to ") && l.contains(CONTINUES)) == 1;
            assertThat(migrated ^ continued).as("exactly one outcome for the client\n%s", client).isTrue();
            if (cut.expected() != Finish.EITHER) {
                assertThat(migrated).as("finishes on the %s\n%s\n%s", cut.expected(), client, server.process())
                        .isEqualTo(cut.expected() == Finish.SERVER);
            }
            if (cut.mustAsk()) {
                assertThat(client.stderrLines()).as("%s", client).anyMatch(l -> l.startsWith("VMM_CLIENT: connection lost after COMMIT"));
            }
            if (migrated) {
                assertThat(server.process().awaitExit()).as("%s", server.process()).isZero();
                assertThat(server.process().stderrLines()).contains("VMM_SERVER: VM_APP - RESTORE OPERATION");
            } else {
                assertThat(server.process().isAlive()).as("a --once server that got no VM keeps waiting").isTrue();
                assertThat(server.process().stderrLines()).noneMatch(l -> l.contains("RESTORE OPERATION"));
            }
            long secondHalves = client.count(l -> l.matches(Lab.SECOND_WRITE)) + server.process().count(l -> l.matches(Lab.SECOND_WRITE));
            assertThat(secondHalves).as("the second write ran exactly once\n%s\n%s", client, server.process()).isEqualTo(1);
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    @Test
    void killingTheServerInTheMiddleOfTheMemoryLeavesTheVmOnTheClient(@TempDir Path dir) throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key);
             CuttingProxy proxy = CuttingProxy.holding(server.port(), CLIENT_TO_SERVER, At.start(MessageType.MEMORY, 2000));
             VmmProcess client = Lab.client(dir, proxy.address(), key)) {
            assertThat(proxy.awaitHolding(30)).isTrue();
            server.process().kill();
            proxy.release();
            assertThat(client.awaitExit()).as("%s", client).isZero();
            assertThat(client.stderrLines()).anyMatch(l -> l.contains(CONTINUES)).doesNotContain(SENT);
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    /**
     * COMMIT is delayed in the network, not lost. The client times out and asks; its question
     * finds the migration still pending and aborts it there and then, so the COMMIT that arrives
     * later changes nothing: the program finishes on the client only.
     */
    @Test
    void aQuestionAboutAMigrationStillWaitingForCommitAbortsItForGood(@TempDir Path dir) throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key);
             CuttingProxy proxy = CuttingProxy.holding(server.port(), CLIENT_TO_SERVER, At.start(MessageType.COMMIT, 0));
             VmmProcess client = Lab.client(dir, proxy.address(), key)) {
            assertThat(proxy.awaitHolding(30)).isTrue();
            client.awaitLine("VMM_CLIENT: migration to .* failed: connection lost before the server read COMMIT .*"
                    + "the server confirms it discarded the VM; the VM continues here .*", Duration.ofSeconds(30));
            proxy.release();   // the delayed COMMIT (if any) goes nowhere
            assertThat(client.awaitExit()).as("%s", client).isZero();
            server.process().awaitLine("VMM_SERVER: .* asked how migration \\p{XDigit}{8} ended: aborted", Duration.ofSeconds(10));
            server.process().awaitLine("VMM_SERVER: VM from .* not taken: .*", Duration.ofSeconds(10));
            assertThat(server.process().isAlive()).isTrue();
            assertThat(server.process().stderrLines()).noneMatch(l -> l.contains("RESTORE OPERATION"));
            assertThat(client.count(l -> l.matches(Lab.SECOND_WRITE))).isEqualTo(1);
            assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
        }
    }

    /**
     * The one window no protocol can close: the server dies after the client sent COMMIT and
     * before the client learned the outcome. The client must not guess: it stops, keeps the VM
     * in its image file, says so, and exits 75.
     */
    @Test
    void killingTheServerAfterCommitLeavesTheClientInDoubtAndNotRunning(@TempDir Path dir) throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key);
             CuttingProxy proxy = CuttingProxy.holding(server.port(), SERVER_TO_CLIENT, At.start(MessageType.COMMITTED, 0));
             VmmProcess client = Lab.client(dir, proxy.address(), key)) {
            assertThat(proxy.awaitHolding(30)).isTrue();
            server.process().awaitLine("VMM_SERVER: VM from .* committed .*", Duration.ofSeconds(30));
            server.process().kill();
            proxy.release();
            assertThat(client.awaitExit()).as("%s", client).isEqualTo(75);
            assertThat(client.stderrLines()).anyMatch(l -> l.contains("is in doubt") && l.contains("The VM was saved to vm.img"));
            assertThat(client.count(l -> l.matches(Lab.SECOND_WRITE))).as("the client never ran the second half").isZero();
            assertThat(client.stderrLines()).doesNotContain(SENT);
            assertThat(Files.size(dir.resolve("vm.img"))).isPositive();
        }
    }
}
