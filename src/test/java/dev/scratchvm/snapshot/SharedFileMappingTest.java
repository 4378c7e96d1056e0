package dev.scratchvm.snapshot;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.PageMap;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms.NativeRun;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.testing.VmmProcess.Result;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A regular file mapped MAP_SHARED is the host file mapped into guest memory: the guest's
 * stores are the file's bytes for read(2), for other processes and for a save, and a restore
 * maps the file again at the same place. The mapped pages are the file's, so the memory
 * image leaves them out.
 */
@KvmTest
class SharedFileMappingTest {
    private static final long PAGE = 4096;

    @ParameterizedTest(name = "{0}")
    @EnumSource(Libc.class)
    void behavesAsNativelyAcrossASaveAndRestoreWhileMapped(Libc libc, @TempDir Path dir) throws Exception {
        Path nativeDir = Files.createDirectory(dir.resolve("native"));
        NativeRun natively = Guest.runNatively("mapshared", libc, nativeDir);
        assertThat(natively.stdout()).endsWith("mapshared: all ok (0 failures)\n");
        Path vmDir = Files.createDirectory(dir.resolve("vm"));
        String prog = Guest.install("mapshared", libc, vmDir);

        Result run = Steps.runUntilSaved(vmDir, "vm.img", "--trace=none", prog);
        assertSharedMappingSaved(vmDir.resolve("vm.img"));
        Result restore = Steps.restore(vmDir, "--trace=none");

        assertThat(restore.exit()).as("%s", restore).isZero();
        assertThat(run.stdout() + restore.stdout()).isEqualTo(natively.stdout());
        assertThat(Files.readAllBytes(vmDir.resolve("shared.dat")))
                .as("the file as an uninterrupted native run leaves it")
                .isEqualTo(Files.readAllBytes(nativeDir.resolve("shared.dat")));
    }

    /** The state names the file and where it is mapped; the image holds none of its pages. */
    private static void assertSharedMappingSaved(Path image) throws Exception {
        KernelState k;
        List<PageMap.Run> runs;
        try (ImageReader r = ImageReader.open(image)) {
            k = r.state().kernel();
            runs = r.pageMap().runs();
        }
        Mapping m = k.mappings().stream().filter(Mapping::shared).reduce((a, b) -> {
            throw new AssertionError("more than one shared mapping: " + a + ", " + b);
        }).orElseThrow(() -> new AssertionError("no shared mapping in " + k.mappings()));
        assertThat(m.length()).isEqualTo(4 * PAGE);
        assertThat(m.fileOffset()).isZero();
        OpenFileState file = k.files().stream().filter(f -> f.id() == m.fileId()).findFirst().orElseThrow();
        assertThat(file.path()).isEqualTo("/shared.dat");
        assertThat(file.fingerprint().size()).isEqualTo(4 * PAGE);
        assertThat(k.fds()).as("the descriptor was closed: only the mapping holds the file")
                .noneMatch(d -> d.fileId() == m.fileId());
        long first = m.start() / PAGE, end = first + m.length() / PAGE;
        assertThat(runs).as("page runs of the memory image").noneMatch(
                run -> run.firstPage() < end && run.firstPage() + run.pageCount() > first);
    }

    @Test
    void aMappedFileChangedAfterTheSaveRefusesTheRestore(@TempDir Path dir) throws Exception {
        String prog = Guest.install("mapshared", Libc.MUSL, dir);
        Steps.runUntilSaved(dir, "vm.img", "--trace=none", prog);
        // Only the mapping holds the file by then (its descriptor is closed): it is checked all the same.
        byte[] bytes = Files.readAllBytes(dir.resolve("shared.dat"));
        bytes[3 * (int) PAGE] = 'B';
        Files.write(dir.resolve("shared.dat"), bytes);

        Result r = Steps.restoreRefused(dir, "--trace=none");
        assertThat(r.stderr()).contains("shared.dat").contains("changed since the VM was saved");
    }

    @Tag(KvmTest.HARDWARE_PATH) // KVM must see the host's MAP_FIXED replacement inside its memory slot (MMU notifier)
    @Test
    void anotherProcessSeesTheGuestsStoresAndTheGuestSeesItsWrites(@TempDir Path dir) throws Exception {
        Path binary = GuestPrograms.build("mapshared", Libc.MUSL);
        Files.copy(binary, dir.resolve("mapshared"));
        Path file = dir.resolve("pingpong.dat");
        Files.write(file, new byte[(int) (2 * PAGE)]);

        try (Machine m = InProcessVm.bootAndRunToSave(dir.resolve("mapshared"), dir, 16L << 20,
                List.of("pingpong", "/pingpong.dat"))) {
            // Stopped at SAVE(): the guest's store is in the file for a process that only opens it.
            assertThat(nativeRun(binary, dir, "peek", "pingpong.dat", "0", "16").stdout()).isEqualTo("guest wrote this\n");
            assertThat(nativeRun(binary, dir, "poke", "pingpong.dat", Long.toString(PAGE), "host wrote this").exitCode())
                    .isZero();
            Outcome o = m.run();
            assertThat(o).as("the guest saw the other process's write through its mapping")
                    .isEqualTo(new Outcome.Exited(0));
        }
        byte[] bytes = Files.readAllBytes(file);
        assertThat(new String(Arrays.copyOfRange(bytes, 100, 114), StandardCharsets.US_ASCII)).isEqualTo("guest saw host");
    }

    @Test
    void aStorePastTheEndOfTheFileKillsTheProgramWithSigbusAsOnLinux(@TempDir Path dir) {
        String prog = Guest.install("mapshared", Libc.MUSL, dir);
        NativeRun natively = nativeRun(GuestPrograms.build("mapshared", Libc.MUSL), dir, "pastend");
        Result r = Steps.vmm(dir, "run", "--trace=none", prog, "pastend");

        assertThat(natively.exitCode()).as("native: 128 + SIGBUS").isEqualTo(135);
        assertThat(r.exit()).as("%s", r).isEqualTo(natively.exitCode());
        assertThat(r.stdout()).isEqualTo(natively.stdout()).isEqualTo("storing past the end\n");
        assertThat(r.stderrLines()).as("%s", r).singleElement().asString().contains("SIGBUS");
    }

    private static NativeRun nativeRun(Path binary, Path dir, String... args) {
        return GuestPrograms.runNatively(binary, dir, List.of(args), Map.of(), Duration.ofSeconds(30));
    }
}
