package dev.scratchvm.migration;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two "hosts": network namespaces joined only by a veth pair, with their own IPv6 addresses
 * (fd53:7c4e::1 and ::2, a unique-local prefix that never leaves these namespaces). The server
 * runs in one, the client in the other, each with its own guest root; the lab program moves
 * across with its file.
 */
@DisplayName("Migration between two network namespaces")
@KvmTest
class TwoHostMigrationTest {
    private static final String SERVER_IP = "fd53:7c4e::1", CLIENT_IP = "fd53:7c4e::2";
    private static final long ID = ProcessHandle.current().pid() % 100_000;
    private static final String NS_SERVER = "svm-srv-" + ID, NS_CLIENT = "svm-cli-" + ID;
    private static final String VETH_SERVER = "svs" + ID, VETH_CLIENT = "svc" + ID;
    private static final List<String> created = new ArrayList<>();

    @BeforeAll
    static void joinTwoNamespacesWithAVethPair() {
        String why = ip("netns", "add", NS_SERVER);
        if (why != null) {
            Assumptions.abort("two-host migration NOT TESTED: cannot create network namespaces (" + why
                    + "); this test needs root and iproute2 (scripts/install-deps.sh)");
        }
        created.add(NS_SERVER);
        must("netns", "add", NS_CLIENT);
        created.add(NS_CLIENT);
        must("link", "add", VETH_SERVER, "type", "veth", "peer", "name", VETH_CLIENT);
        must("link", "set", VETH_SERVER, "netns", NS_SERVER);
        must("link", "set", VETH_CLIENT, "netns", NS_CLIENT);
        must("-n", NS_SERVER, "-6", "addr", "add", SERVER_IP + "/64", "dev", VETH_SERVER, "nodad");
        must("-n", NS_CLIENT, "-6", "addr", "add", CLIENT_IP + "/64", "dev", VETH_CLIENT, "nodad");
        for (String[] nsDev : new String[][]{{NS_SERVER, VETH_SERVER}, {NS_CLIENT, VETH_CLIENT}}) {
            must("-n", nsDev[0], "link", "set", "lo", "up");
            must("-n", nsDev[0], "link", "set", nsDev[1], "up");
        }
    }

    @AfterAll
    static void removeTheNamespaces() {
        for (String ns : created) ip("netns", "del", ns);   // takes the veth pair with it
    }

    @Test
    void theLabProgramMovesWithItsFileFromOneHostToTheOther(@TempDir Path serverRoot, @TempDir Path clientRoot) {
        Lab.install(clientRoot);
        Path key = Lab.key(clientRoot);
        try (VmmProcess server = VmmProcess.start(serverRoot, List.of("ip", "netns", "exec", NS_SERVER), "serve", "--once",
                "--listen", "[" + SERVER_IP + "]:0", "--key-file", key.toString(), "--timeout", Lab.TIMEOUT)) {
            String address = server.awaitLine("VMM_SERVER: listening on (\\[" + SERVER_IP + "]:\\d+)", Duration.ofSeconds(30)).group(1);
            try (VmmProcess client = VmmProcess.start(clientRoot, List.of("ip", "netns", "exec", NS_CLIENT), "run",
                    "--migrate-to", address, "--with-files", "--key-file", key.toString(), "--migrate-timeout", Lab.TIMEOUT, "./app")) {
                assertThat(client.awaitExit()).as("%s", client).isZero();
                assertThat(server.awaitExit()).as("%s", server).isZero();
                assertThat(client.stderrLines()).contains("VMM_CLIENT: VM_APP - SAVE OPERATION", "VMM_CLIENT: VM_APP - VM STATE SENT",
                        "VMM_CLIENT: EXITING");
                assertThat(server.stderrLines()).anyMatch(l -> l.matches("VMM_SERVER: receiving a VM from \\[" + CLIENT_IP + "]:\\d+ .*1 sent along\\)"))
                        .contains("VMM_SERVER: VM_APP - RESTORE OPERATION", "VMM_SERVER: VM_APP - EXIT 0");
                assertThat(Lab.read(serverRoot.resolve(Lab.FILE))).isEqualTo(Lab.BOTH);
                assertThat(Lab.read(clientRoot.resolve(Lab.FILE))).isEqualTo(Lab.FIRST);
            }
        }
    }

    private static void must(String... args) {
        String why = ip(args);
        if (why != null) throw new IllegalStateException("ip " + String.join(" ", args) + ": " + why);
    }

    /** Runs {@code ip ARGS}; null on success, else what went wrong. */
    private static String ip(String... args) {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "timed out";
            }
            return p.exitValue() == 0 ? null : out.isEmpty() ? "exit " + p.exitValue() : out;
        } catch (IOException e) {
            return "cannot run ip: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
