package dev.scratchvm.snapshot;

import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Resource limits, the VM's host name and memfds behave as on Linux and are part of the VM:
 * each guest program asks for SAVE half-way and finishes in a fresh VM restored from the image;
 * its report must match a native run of the same binary where the semantics allow.
 */
@KvmTest
class ProcessLimitsAndNamesTest {
    private static final long MEMORY = 16L << 20;

    @TempDir
    Path dir;

    @Test
    void resourceLimitsFollowLinuxAndSurviveARestore() throws Exception {
        Run run = runSavedAndRestored("rlimits");
        String nativeReport = runNatively("rlimits");

        assertThat(withoutVmLines(run.report())).as("as natively, limits lowered, raised within the hard one, enforced")
                .isEqualTo(withoutVmLines(nativeReport));
        assertThat(run.report()).contains("open until full: 15, then errno 24\n", "prlimit64 old: 32 32\n",
                "-- after save\nnofile: 20 32\ncore: 0 0\nstack: 1048576 1048576\nopen until full: 19, then errno 24\n");
        assertThat(run.report()).as("the VMM's maxima are the initial hard limits").contains(
                "vm: initial nofile: 1024 1024\n", "vm: initial as: " + MEMORY + " " + MEMORY + "\n",
                "vm: initial data: " + MEMORY + " " + MEMORY + "\n");
        assertThat(run.report()).as("a hard limit is never raised, before the save or after it").contains(
                "vm: raise hard 7 to 64: -1 errno 1\n", "vm: raise hard 3 to 2097152: -1 errno 1\n", "vm: raise hard 4 to 1: -1 errno 1\n");
        assertThat(run.saved().resourceLimits()).as("only the changed limits are saved").containsExactlyInAnyOrder(
                new KernelState.ResourceLimit(3, 1 << 20, 1 << 20), new KernelState.ResourceLimit(4, 0, 0),
                new KernelState.ResourceLimit(7, 20, 32));
    }

    @Test
    void theVmHasAHostNameOfItsOwnKeptAcrossARestore() throws Exception {
        Run run = runSavedAndRestored("uts");
        String release = System.getProperty("os.version");

        assertThat(run.report()).as("not the host's name, and the rest of uname is the host's kernel").startsWith(
                "sysname Linux\nrelease " + release + "\nmachine x86_64\nnodename scratchvm\ndomainname (none)\ngethostname scratchvm\n");
        assertThat(run.report()).contains("sethostname: 0\n", "setdomainname: 0\n", "sethostname of 65 bytes: -1 errno 22\n",
                "sethostname of 64 bytes: 0\n", "sethostname from a bad pointer: -1 errno 14\n", "uname to a bad pointer: -1 errno 14\n");
        assertThat(run.report()).contains("nodename guest-one\ndomainname example.org\ngethostname guest-one\n-- after save\n"
                + "sysname Linux\nrelease " + release + "\nmachine x86_64\nnodename guest-one\ndomainname example.org\n");
        assertThat(run.report()).endsWith("sethostname: 0\nsysname Linux\nrelease " + release
                + "\nmachine x86_64\nnodename guest-two\ndomainname example.org\ngethostname guest-two\n");
        assertThat(run.saved().hostname()).isEqualTo("guest-one");
        assertThat(run.saved().domainname()).isEqualTo("example.org");
    }

    @Test
    void aMemfdIsAFileInMemoryWhoseBytesAreSavedWithTheVm() throws Exception {
        Run run = runSavedAndRestored("memfd");
        String nativeReport = runNatively("memfd");

        assertThat(run.report()).isEqualTo(nativeReport);
        assertThat(run.report()).contains("F_GETFD with MFD_CLOEXEC: 1\nF_GETFD without: 0\n", "new: mode 100777 size 0\n",
                "read: \"memfd\"\n", "grown: mode 100777 size 8192\n", "readlink fd: /memfd:buf (deleted)\n",
                "unknown flag: -1 errno 22\n", "name of 250 bytes: -1 errno 22\n", "name of 249 bytes: ok\n",
                "bad name pointer: -1 errno 14\n");
        assertThat(run.report()).contains("-- after save\noffset: 100\nhead: 17 \"hello memfd world\"\ntail: 4 \"tail\"\n"
                + "kept: mode 100777 size 8192\nother: mode 100777 size 0\nF_GETFD with MFD_CLOEXEC: 1\nF_GETFD without: 0\n"
                + "readlink fd: /memfd:buf (deleted)\n", "shrunk: mode 100777 size 10\ncut: 10 \"hello memf\"\n");
        List<OpenFileState> memfds = run.saved().files().stream().filter(f -> f.kind() == FileKind.MEMFD).toList();
        assertThat(memfds).extracting(OpenFileState::path).containsExactlyInAnyOrder("/memfd:buf", "/memfd:keep");
        OpenFileState buf = memfds.stream().filter(f -> f.path().equals("/memfd:buf")).findFirst().orElseThrow();
        assertThat(buf.offset()).isEqualTo(100);
        assertThat(buf.content()).hasSize(8192);
        assertThat(new String(Arrays.copyOf(buf.content(), 17), StandardCharsets.US_ASCII)).isEqualTo("hello memfd world");
    }

    record Run(String report, KernelState saved) {
    }

    /** Boots the program in dir/vm, saves it at its SAVE, and finishes it in a VM restored from the image. */
    private Run runSavedAndRestored(String program) throws Exception {
        Path root = dir.resolve("vm");
        Files.createDirectories(root);
        Path binary = root.resolve(program);
        Files.copy(GuestPrograms.build(program, GuestPrograms.Libc.GLIBC), binary, StandardCopyOption.COPY_ATTRIBUTES);
        ElfImage elf = ElfImage.parse(Files.readAllBytes(binary), binary.toString());
        Path image = dir.resolve(program + ".img");
        MachineState state;
        try (Machine m = Machine.boot(InProcessVm.config(root, MEMORY), elf, List.of("/" + program), List.of(),
                binary.toString(), new byte[16])) {
            assertThat(m.run()).isInstanceOf(Outcome.SaveRequested.class);
            state = InProcessVm.save(m, image);
        }
        try (Machine restored = InProcessVm.restore(image, root, ImageReader.Mode.COPY)) {
            assertThat(restored.run()).isEqualTo(new Outcome.Exited(0));
        }
        return new Run(Files.readString(root.resolve("report.txt")), state.kernel());
    }

    /** The same binary on the host, in a directory of its own (SAVE returns ENOSYS there and it goes on). */
    private String runNatively(String program) throws Exception {
        Path cwd = dir.resolve("native");
        Files.createDirectories(cwd);
        GuestPrograms.NativeRun r = GuestPrograms.runNatively(GuestPrograms.build(program, GuestPrograms.Libc.GLIBC), cwd,
                List.of(), Map.of(), Duration.ofSeconds(30));
        assertThat(r.exitCode()).as("native exit; stderr: %s", r.stderr()).isZero();
        return Files.readString(cwd.resolve("report.txt"));
    }

    private static String withoutVmLines(String report) {
        return report.lines().filter(l -> !l.startsWith("vm: ")).collect(Collectors.joining("\n", "", "\n"));
    }
}
