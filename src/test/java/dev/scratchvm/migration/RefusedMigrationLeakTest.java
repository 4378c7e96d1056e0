package dev.scratchvm.migration;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.PageFilter;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.vmm.MachineConfig;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server refuses migrations all day long without running out of anything: 100 refusals of
 * each kind that gets as far as KVM — a state the rules refuse, a file the server cannot
 * re-open (the VM was being built), and a client that gives up after READY (the VM was built
 * and written to the state directory) — leave its descriptors, its mappings and its state
 * directory as they were. Server and client run in this JVM over real loopback sockets.
 */
@KvmTest
@DisplayName("Refused migrations leave nothing behind on the server")
class RefusedMigrationLeakTest {
    private static final int EACH = 100;

    @TempDir
    Path dir;

    @Test
    void hundredsOfRefusedMigrationsLeakNoDescriptorMappingOrFile() throws Exception {
        Lab.install(dir);
        VmmProcess.Result saved = VmmProcess.run(dir, "run", "./app");
        assertThat(saved.exit()).as("%s", saved).isZero();
        Path root = Files.createDirectory(dir.resolve("server-root"));
        Files.copy(dir.resolve(Lab.FILE), root.resolve(Lab.FILE));   // shared storage, as on one host
        Path state = dir.resolve("server-state");
        MigrationKey key = MigrationKey.of("refused-migrations-key-0123456".getBytes());
        Timeouts timeouts = Timeouts.ofIdle(Duration.ofSeconds(5));
        MachineConfig machine = new MachineConfig(16L << 20, root, new Trace(Trace.Level.NONE, System.err, ""), false);
        List<String> log = new ArrayList<>();

        try (ImageReader image = ImageReader.open(dir.resolve("vm.img")); Arena arena = Arena.ofConfined();
             Handoffs handoffs = Handoffs.open(state);
             MigrationServer server = MigrationServer.listen(new Endpoint("127.0.0.1", 0),
                     new MigrationServer.Config(key, timeouts, machine, handoffs, line -> { synchronized (log) { log.add(line); } }))) {
            MemorySegment memory = arena.allocate(image.state().memory().size(), 4096);
            image.restoreMemory(memory, ImageReader.Mode.COPY);
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    server.next();   // nothing here commits: it returns only when interrupted by close
                } catch (InterruptedException ignored) {
                    // Closing.
                }
            });
            MigrationClient client = new MigrationClient(new Endpoint("127.0.0.1", server.address().getPort()), key, timeouts, line -> { });
            Map<String, Function<MachineState, MigrationClient.Result>> kinds = new LinkedHashMap<>();
            kinds.put("state refused by the rules", s -> client.migrate(SampleStates.withBrkStart(s, 0), memory, PageFilter.ALL, null));
            kinds.put("a file the server cannot re-open", s -> client.migrate(withMissingFile(s), memory, PageFilter.ALL, null));
            kinds.put("client gives up after READY", s -> client.migrate(s, memory, PageFilter.ALL, null,
                    id -> { throw new IOException("changed its mind"); }));

            for (var kind : kinds.entrySet()) kind.getValue().apply(image.state());   // warm up: one-time JVM resources
            long fds = count("/proc/self/fd"), maps = lines("/proc/self/maps");
            for (var kind : kinds.entrySet()) {
                for (int i = 0; i < EACH; i++) {
                    MigrationClient.Result r = kind.getValue().apply(image.state());
                    assertThat(r).as(kind.getKey()).isInstanceOf(MigrationClient.Result.Failed.class);
                }
            }
            awaitQuiet(log);
            long fdsAfter = count("/proc/self/fd"), mapsAfter = lines("/proc/self/maps");
            System.out.printf("%d refused migrations: fds %d -> %d, mappings %d -> %d%n", kinds.size() * EACH, fds, fdsAfter, maps, mapsAfter);
            // A leak per refusal would show as hundreds; the JVM's own heap and code cache move a little.
            assertThat(fdsAfter).as("descriptors").isLessThanOrEqualTo(fds + 2);
            assertThat(mapsAfter).as("mappings").isLessThan(maps + 40);
            try (Stream<Path> left = Files.list(state)) {
                assertThat(left.map(p -> p.getFileName().toString())).as("the state directory").containsOnly("lock", "journal");
            }
            try (Stream<Path> left = Files.list(root)) {
                assertThat(left.map(p -> p.getFileName().toString())).as("the server's root").containsOnly(Lab.FILE);
            }
            assertThat(Lab.read(root.resolve(Lab.FILE))).isEqualTo(Lab.FIRST);
            synchronized (log) {
                assertThat(log).as("each kind got as far as it should")
                        .anyMatch(l -> l.contains("the VM's state is refused"))
                        .anyMatch(l -> l.contains("cannot reopen /not-on-the-server"))
                        .anyMatch(l -> l.contains("the client gave up"));
            }
        }
    }

    /** The server logs each refusal after it has cleaned up; wait until the last one is in. */
    private static void awaitQuiet(List<String> log) throws InterruptedException {
        int before = -1;
        while (true) {
            Thread.sleep(200);
            int now;
            synchronized (log) {
                now = log.size();
            }
            if (now == before) return;
            before = now;
        }
    }

    private static long count(String dir) throws IOException {
        try (Stream<Path> s = Files.list(Path.of(dir))) {
            return s.count();
        }
    }

    private static long lines(String file) throws IOException {
        return Files.readAllLines(Path.of(file)).size();
    }


    /** The lab program's open file renamed to one the server's root does not have. */
    private static MachineState withMissingFile(MachineState s) {
        KernelState k = s.kernel();
        List<OpenFileState> files = k.files().stream().map(f -> f.kind() == KernelState.FileKind.REGULAR
                ? new OpenFileState(f.id(), f.kind(), "/not-on-the-server", f.flags(), f.mode(), f.offset(),
                new FileFingerprint(f.fingerprint().size(), f.fingerprint().mtimeNanos(), f.fingerprint().crc32c()))
                : f).toList();
        return new MachineState(s.vcpu(), s.memory(), new KernelState(k.brkStart(), k.brk(), k.mmapBase(), k.mmapTop(),
                k.mappings(), k.cwd(), k.clearChildTid(), k.robustList(), files, k.fds(), k.signalActions()));
    }
}
