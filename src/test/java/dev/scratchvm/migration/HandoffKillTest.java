package dev.scratchvm.migration;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.TestFiles;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code migrate FILE} to a {@code serve} with kill -9 of one side at random moments: at a
 * random time after the client starts, a few milliseconds after the server starts receiving
 * (which lands on the memory stream, the image write, READY, COMMIT and the journal writes),
 * or as the server logs the commit (COMMITTED sent, the guest about to start). Then the killed server is started again on its state directory, an
 * image left marked is settled by migrating it again, and the VM must exist exactly once:
 * started once by a server (its journal says so), or still a usable image — never both,
 * never neither.
 *
 * <p>{@code -Dscratchvm.test.killTrials=N} sets the trials per side (default 6: each costs
 * three or four VMM start-ups, ~4 s).
 */
@KvmTest
@DisplayName("Migration with either side killed at any moment")
class HandoffKillTest {
    private static final int TRIALS = Integer.getInteger("scratchvm.test.killTrials", 6);
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    static Path work;
    private static Path template;
    private static Path key;

    /** The lab program saved at SAVE(): the image every trial migrates, with its file. */
    @BeforeAll
    static void saveTheLabProgram() throws Exception {
        template = Files.createDirectories(work.resolve("template"));
        Lab.install(template);
        key = Lab.key(work);
        VmmProcess.Result saved = VmmProcess.run(template, "run", "--image", "vm.img", "./app");
        assertThat(saved.exit()).as(saved.describe()).isZero();
        assertThat(template.resolve("vm.img")).exists();
    }

    private record Trial(Path root, Path state, int port) {
        Path image() {
            return root.resolve("vm.img");
        }

        String to() {
            return "127.0.0.1:" + port;
        }
    }

    private static Trial fresh(String name) throws IOException {
        Path dir = Files.createDirectories(work.resolve(name));
        Path root = Files.createDirectories(dir.resolve("root"));
        for (String f : List.of("vm.img", Lab.FILE)) Files.copy(template.resolve(f), root.resolve(f));
        try (ServerSocket s = new ServerSocket(0)) {
            return new Trial(root, dir.resolve("state"), s.getLocalPort());
        }
    }

    private static VmmProcess serve(Trial t) {
        return VmmProcess.start(t.root(), "serve", "--once", "--listen", t.to(), "--key-file", key.toString(),
                "--timeout", Lab.TIMEOUT, "--state-dir", t.state().toString(), "--trace=none");
    }

    private static VmmProcess migrate(Trial t) {
        return VmmProcess.start(t.root(), "migrate", "vm.img", "--to", t.to(), "--key-file", key.toString(),
                "--timeout", Lab.TIMEOUT);
    }

    private static void awaitListening(VmmProcess server) {
        server.awaitLine("VMM_SERVER: (listening on .*|resuming a VM .*)", WAIT);
    }

    /**
     * Kills {@code victim} at this trial's moment: a random time after the client starts, a few
     * milliseconds after the server starts receiving, or right as the server logs the commit.
     */
    private static String killAtRandom(VmmProcess victim, VmmProcess server, Random random) throws InterruptedException {
        int mode = random.nextInt(3);
        if (mode == 0) {
            int ms = random.nextInt(1500);
            Thread.sleep(ms);
            victim.kill();
            return ms + " ms after the client started";
        }
        String line = mode == 1 ? "VMM_SERVER: receiving a VM .*" : "VMM_SERVER: VM from .* committed .*";
        try {
            server.awaitLine(line, Duration.ofSeconds(20));
        } catch (AssertionError e) {
            victim.kill();
            return "before the server logged " + (mode == 1 ? "receiving" : "the commit");
        }
        int ms = mode == 1 ? random.nextInt(40) : 0;
        Thread.sleep(ms);
        victim.kill();
        return mode == 1 ? ms + " ms after the server started receiving" : "as the server logged the commit";
    }

    /** Settles a marked image by migrating it again, then lets the server finish or stops it. */
    private static String settle(Trial t, VmmProcess server) throws IOException {
        String how = "";
        if (Files.exists(InFlight.markOf(t.image()))) {
            VmmProcess.Result r = VmmProcess.run(t.root(), "migrate", "vm.img", "--to", t.to(), "--key-file", key.toString(),
                    "--timeout", Lab.TIMEOUT);
            how = "settled: exit " + r.exit();
            assertThat(r.exit()).as("with the server up, an interrupted migration is settled, not left in doubt: " + r.describe()
                    + "\nserver: " + server).isIn(0, 1);
        }
        // A server with a VM runs it and ends (--once); one without waits for a client: stop it.
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (server.isAlive() && System.nanoTime() < until
                && server.count(l -> l.contains("RESTORE OPERATION") || l.contains("resuming") || l.contains("receiving")) > 0
                && server.count(l -> l.contains("VM exited")) == 0) {
            sleep(50);
        }
        if (server.isAlive() && server.count(l -> l.contains("VM exited")) > 0) server.awaitExit(WAIT);
        server.close();
        return how;
    }

    /** The VM exists exactly once: started by a server (its journal), or a usable image. Returns where it went. */
    private static String assertExactlyOnce(Trial t, String moment, List<VmmProcess> processes) throws IOException {
        long started = 0;
        Path journal = t.state().resolve("journal");
        if (Files.exists(journal)) {
            started = Files.readAllLines(journal).stream().filter(l -> l.startsWith("started ")).count();
        }
        boolean usable = Files.exists(t.image()) && !Files.exists(InFlight.markOf(t.image()));
        String file = Lab.read(t.root().resolve(Lab.FILE));
        StringBuilder context = new StringBuilder("killed " + moment + "; started on a server " + started
                + " time(s), image usable: " + usable + ", file: " + file.replace("\n", "\\n"));
        for (VmmProcess p : processes) context.append("\n").append(p);
        assertThat(started + (usable ? 1 : 0)).as(context.toString()).isEqualTo(1);
        if (usable) {
            assertThat(file).as("the guest never ran: " + context).isEqualTo(Lab.FIRST);
        }
        try (Stream<Path> left = Files.list(t.state())) {
            assertThat(left.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".img")))
                    .as("no VM left behind in the server's state directory: " + context).isEmpty();
        }
        if (usable) return "stayed with the client";
        boolean resumed = processes.stream().anyMatch(p -> p.count(l -> l.contains("resuming a VM")) > 0);
        return resumed ? "resumed by the restarted server" : "ran on the server";
    }

    @Test
    void killingTheServerAtAnyMomentNeitherLosesTheVmNorRunsItTwice() throws Exception {
        Random random = new Random(Long.getLong("scratchvm.test.seed", System.nanoTime()));
        TreeMap<String, Integer> moments = new TreeMap<>();
        for (int i = 0; i < TRIALS; i++) {
            Trial t = fresh("server-" + i);
            List<VmmProcess> all = new ArrayList<>();
            VmmProcess first = serve(t);
            all.add(first);
            awaitListening(first);
            VmmProcess client = migrate(t);
            all.add(client);
            String moment = killAtRandom(first, first, random);
            VmmProcess second = serve(t);
            all.add(second);
            awaitListening(second);
            client.awaitExit(WAIT);
            tally(moments, moment, settle(t, second), t, all);
        }
        moments.forEach((k, n) -> System.out.println("server killed " + k + ": " + n));
    }

    @Test
    void killingTheClientAtAnyMomentNeitherLosesTheVmNorRunsItTwice() throws Exception {
        Random random = new Random(Long.getLong("scratchvm.test.seed", System.nanoTime()));
        TreeMap<String, Integer> moments = new TreeMap<>();
        for (int i = 0; i < TRIALS; i++) {
            Trial t = fresh("client-" + i);
            List<VmmProcess> all = new ArrayList<>();
            VmmProcess server = serve(t);
            all.add(server);
            awaitListening(server);
            VmmProcess client = migrate(t);
            all.add(client);
            String moment = killAtRandom(client, server, random);
            tally(moments, moment, settle(t, server), t, all);
        }
        moments.forEach((k, n) -> System.out.println("client killed " + k + ": " + n));
    }

    /** Checks the trial, counts its outcome by moment, and clears it away. */
    private static void tally(TreeMap<String, Integer> moments, String moment, String settled, Trial t, List<VmmProcess> all)
            throws IOException {
        String where = assertExactlyOnce(t, moment, all);
        moments.merge(moment.replaceAll("\\d+ ms", "N ms") + " -> " + where + (settled.isEmpty() ? "" : " (" + settled + ")"),
                1, Integer::sum);
        TestFiles.deleteTree(t.root().getParent());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
