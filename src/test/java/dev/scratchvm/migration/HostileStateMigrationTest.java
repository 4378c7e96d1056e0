package dev.scratchvm.migration;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.PageFilter;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A migration stream is input too: a peer with the key that sends a state ScratchVM could never
 * have saved (here brk_start 0, which would make the VMM overwrite its own page tables at the
 * first brk) is refused as soon as the state is decoded, naming the field, and nothing runs.
 */
@KvmTest
class HostileStateMigrationTest {
    @TempDir
    Path dir;

    @Test
    void a_hostile_state_is_refused_by_the_server_naming_the_field() throws Exception {
        Lab.install(dir);
        VmmProcess.Result saved = VmmProcess.run(dir, "run", "./app");
        assertThat(saved.exit()).as("%s", saved).isZero();
        Path key = Lab.key(dir);
        Path serverRoot = Files.createDirectory(dir.resolve("server"));

        try (ImageReader image = ImageReader.open(dir.resolve("vm.img")); Arena arena = Arena.ofConfined();
             Lab.Server server = Lab.server(serverRoot, key)) {
            MemorySegment memory = arena.allocate(image.state().memory().size(), 4096);
            image.restoreMemory(memory, ImageReader.Mode.COPY);
            MachineState hostile = SampleStates.withBrkStart(image.state(), 0);
            MigrationClient client = new MigrationClient(Endpoint.parse(server.address(), "--to", false),
                    MigrationKey.load(key), Timeouts.DEFAULT, line -> { });

            MigrationClient.Result r = client.migrate(hostile, memory, PageFilter.ALL, null);

            assertThat(r).isInstanceOf(MigrationClient.Result.Failed.class);
            assertThat(((MigrationClient.Result.Failed) r).reason())
                    .contains("the VM's state is refused: kernel.brk_start 0x0").doesNotContain("\n");
            assertThat(server.process().stderrLines()).noneMatch(l -> l.contains("RESTORE OPERATION"));
        }
        assertThat(Files.list(serverRoot)).isEmpty();
    }

}
