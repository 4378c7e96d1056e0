package dev.scratchvm.migration;

import dev.scratchvm.migration.Lab.Server;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real migration between two VMM processes while peers without the key attack the server:
 * 200 idle connections re-opened as soon as they are dropped, a slow-loris, 2^31-byte length
 * prefixes, garbage and replays of a recorded session. The migration still commits, and the
 * server takes it up (its ACCEPT) within a second of the client connecting.
 */
@DisplayName("Migration while unauthenticated peers flood the server")
@KvmTest
@Tag(KvmTest.TIMING)
class MigrationUnderAttackTest {
    private static final Pattern PHASES = Pattern.compile("handshake ([\\d.]+) ms, state ([\\d.]+) ms");

    @Test
    void theLabProgramMigratesAndIsTakenUpWithinASecondUnderAttack(@TempDir Path dir) throws Exception {
        Lab.install(dir);
        Path key = Lab.key(dir);
        try (Server server = Lab.server(dir, key)) {
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
            byte[] recorded = Attackers.recordSession(new Endpoint("127.0.0.1", server.port()), MigrationKey.load(key),
                    Timeouts.ofIdle(Duration.ofSeconds(2)));
            try (Attackers attack = new Attackers(address).start(200, recorded)) {
                long until = System.nanoTime() + Duration.ofMillis(500).toNanos();
                while (System.nanoTime() < until || attack.idleDropped.get() < 1000) Thread.sleep(20);
                try (VmmProcess client = Lab.client(dir, server.address(), key, "-v")) {
                    assertThat(client.awaitExit()).as("%s", client).isZero();
                    assertThat(client.stderrLines()).as("%s", client).contains("VMM_CLIENT: VM_APP - VM STATE SENT");
                    Matcher m = client.stderrLines().stream().map(PHASES::matcher).filter(Matcher::find).findFirst().orElseThrow();
                    double handshake = Double.parseDouble(m.group(1)), state = Double.parseDouble(m.group(2));
                    System.out.printf("migration under attack: connect and handshake %.1f ms, STATE to the server's ACCEPT %.1f ms; "
                                    + "%d idle connections made meanwhile, %d replays refused, %d answered%n",
                            handshake, state, attack.idleConnections.get(), attack.replaysRefused.get(), attack.replaysAnswered.get());
                    assertThat(handshake + state).as("connect to the server taking the VM up, ms").isLessThan(1000);
                }
                assertThat(attack.idleConnections.get()).as("the flood really ran").isGreaterThan(1000);
                assertThat(attack.replaysAnswered.get()).isZero();
            }
            assertThat(server.process().awaitExit()).as("%s", server.process()).isZero();
            assertThat(server.process().stderrLines()).contains("VMM_SERVER: VM_APP - RESTORE OPERATION");
            assertThat(server.process().stderrLines()).as("the log is not flooded").hasSizeLessThan(400);
        }
        assertThat(Lab.read(dir.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
    }
}
