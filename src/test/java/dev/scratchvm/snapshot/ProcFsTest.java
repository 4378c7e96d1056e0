package dev.scratchvm.snapshot;

import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.image.ImageReader;
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
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The VM's /proc describes the VM, not the host: its memory size, the program's path and
 * arguments as the guest sees them, its mappings, its open files; nothing in it can be
 * written. An open /proc file keeps the bytes generated at open across a save and restore.
 */
@KvmTest
class ProcFsTest {
    private static final long MEMORY = 16L << 20;
    private static final Pattern MAPS_LINE = Pattern.compile(
            "[0-9a-f]{8,}-[0-9a-f]{8,} [r-][w-][x-]p [0-9a-f]{8} 00:00 0( +(\\[heap]|\\[stack]|/procfs))?");

    @Test
    void procDescribesTheVmAndHoldsOpenContentAcrossARestore(@TempDir Path dir) throws Exception {
        Path binary = dir.resolve("procfs");
        Files.copy(GuestPrograms.build("procfs", GuestPrograms.Libc.GLIBC), binary, StandardCopyOption.COPY_ATTRIBUTES);
        ElfImage elf = ElfImage.parse(Files.readAllBytes(binary), binary.toString());
        Path image = dir.resolve("vm.img");
        String heldAtSave;
        try (Machine m = Machine.boot(InProcessVm.config(dir, MEMORY), elf, List.of("/procfs", "alpha", "be ta"), List.of(),
                binary.toString(), new byte[16])) {
            assertThat(m.run()).isInstanceOf(Outcome.SaveRequested.class);
            MachineState state = InProcessVm.save(m, image);
            OpenFileState maps = state.kernel().files().stream().filter(f -> f.kind() == FileKind.PROC).findFirst().orElseThrow();
            assertThat(maps.path()).isEqualTo("/proc/self/maps");
            assertThat(maps.offset()).as("the guest had read 64 bytes").isEqualTo(64);
            heldAtSave = new String(maps.content(), StandardCharsets.UTF_8);
        }
        String report = Files.readString(dir.resolve("report.txt"));
        int pid = (int) ProcessHandle.current().pid();

        assertThat(report).contains("readlink /proc/self/exe: /procfs\n", "readlink /proc/self: " + pid + "\n",
                "readlink /proc/mounts: self/mounts\n", "readlink /proc/self/status: errno 22\n");
        assertThat(report).contains("== cmdline (20 bytes)\n/procfs|alpha|be ta|\n", "== pid-cmdline (20 bytes)\n");
        assertThat(report).contains("== mounts (23 bytes)\nrootfs / rootfs rw 0 0\n");
        assertThat(report).contains("Name:\tprocfs\n", "State:\tR (running)\n", "Pid:\t" + pid + "\n", "Threads:\t1\n",
                "SigBlk:\t0000000000000000\n", "Umask:\t0022\n");
        assertThat(report).as("the VM's memory, not the host's").containsPattern("MemTotal: +16384 kB\n");
        assertThat(kb(report, "VmSize")).as("VmSize: every mapping of a 16 MiB VM").isPositive().isLessThanOrEqualTo(16384);
        assertThat(kb(report, "VmRSS")).isPositive().isLessThanOrEqualTo(16384);
        assertThat(report).contains("processor\t: 0\n", "cpu cores\t: 1\n").containsPattern("vendor_id\t: (GenuineIntel|AuthenticAMD)")
                .containsPattern("flags\t\t: fpu .*sse2.* lm");
        String maps = section(report, "maps");
        for (String line : maps.split("\n")) assertThat(line).matches(MAPS_LINE);
        assertThat(maps).contains("[stack]", "[heap]").containsPattern("r-xp [0-9a-f]{8} 00:00 0 +/procfs");
        assertThat(report).contains("fd 0 type 10 readlink /proc/self/fd/0:", "fd 3 type 10 readlink /proc/self/fd/3: /report.txt\n",
                "fd 4 type 10 readlink /proc/self/fd/4: /data.txt\n", "fd 5 type 10 readlink /proc/self/fd/5: /proc/" + pid + "/fd\n");
        assertThat(report).contains("stat /proc/self/status: mode 100444 size 0\n", "stat /proc/self/fd: mode 40500 size 0\n",
                "lstat /proc/self: mode 120777 size 0\n", "lstat /proc/self/exe: mode 120777 size 0\n",
                "stat /proc: mode 40555 size 0\n", "stat /proc/sys: errno 2\n", "stat /proc/1: errno 2\n",
                "lstat /proc/self/: mode 40555 size 0\n", "stat /proc/../data.txt: mode 100644 size 0\n");
        assertThat(report).contains("write open: -1 errno 13\n", "create: -1 errno 13\n", "unlink: -1 errno 13\n",
                "mkdir: -1 errno 13\n", "access R: 0\n", "access W: -1 errno 13\n");

        try (Machine restored = InProcessVm.restore(image, dir, ImageReader.Mode.COPY)) {
            assertThat(restored.run()).isEqualTo(new Outcome.Exited(0));
        }
        String held = Files.readString(dir.resolve("held.txt")), fresh = Files.readString(dir.resolve("fresh.txt"));
        String added = fresh.substring(fresh.lastIndexOf("new mapping at ") + 15).trim();
        assertThat(held).as("the bytes generated at open, continued after the restore").isEqualTo(heldAtSave);
        assertThat(Files.readAllLines(dir.resolve("listing.txt"))).as("/proc/self/fd listed across the restore, each entry once")
                .containsExactly(".", "..", "0", "1", "2", "3", "4", "5", "6");
        assertThat(held).doesNotContain(added + "-");
        assertThat(fresh).as("a new open sees the mapping made after the restore").containsPattern(
                "(?m)^0*" + added + "-[0-9a-f]+ r--p 00000000 00:00 0$");
    }

    private static long kb(String report, String key) {
        Matcher m = Pattern.compile(key + ":\\s+(\\d+) kB").matcher(report);
        assertThat(m.find()).as(key).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static String section(String report, String name) {
        int start = report.indexOf("== " + name + " (");
        start = report.indexOf('\n', start) + 1;
        int end = report.indexOf("\n== ", start);
        return report.substring(start, end < 0 ? report.length() : end);
    }
}
