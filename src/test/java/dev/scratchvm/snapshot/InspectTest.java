package dev.scratchvm.snapshot;

import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.snapshot.Guest.FileState;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess.Result;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code scratchvm inspect FILE [--json]} shows what a saved VM holds: the values it prints
 * are the saved state's, and it changes nothing.
 */
@KvmTest
class InspectTest {
    @TempDir
    static Path dir;
    private static MachineState saved;
    private static FileState image;

    @BeforeAll
    static void saveTheLabProgram() throws Exception {
        String app = Guest.installLabApp(Libc.GLIBC, dir);
        Steps.runUntilSaved(dir, "vm.img", app);
        try (ImageReader r = ImageReader.open(dir.resolve("vm.img"))) {
            saved = r.state();
        }
        image = FileState.of(dir.resolve("vm.img"));
    }

    @Test
    void textShowsRegistersMemoryAndOpenFiles() {
        Result r = Steps.vmm(dir, "inspect", "vm.img");

        assertThat(r.exit()).as("%s", r).isZero();
        assertThat(r.stderr()).isEmpty();
        assertThat(r.stdout()).startsWith("ScratchVM image vm.img\n")
                .contains("checksums    OK")
                .contains("rip=" + hex(saved.vcpu().regs().rip()) + " rsp=" + hex(saved.vcpu().regs().rsp()))
                .contains("fs.base=" + hex(saved.vcpu().sregs().fs().base()))
                .contains("memory       16 MiB (4096 pages)");
        assertThat(r.stdout().lines())
                .anyMatch(l -> l.matches(" +fd 3 +/ay_caramba \\(regular\\) flags=O_RDWR\\|O_CREAT\\S* offset=16 size=16"))
                .anyMatch(l -> l.matches(" +fd 1 +stdout .*"));
        image.assertUnchanged(dir.resolve("vm.img"));
    }

    @Test
    void jsonHasTheSavedValues() {
        Result r = Steps.vmm(dir, "inspect", "--json", "vm.img");

        assertThat(r.exit()).as("%s", r).isZero();
        String json = r.stdout();
        assertThat(json.strip()).startsWith("{").endsWith("}");
        for (String key : new String[] {"file", "formatVersion", "checksumsOk", "sections", "memory", "vcpu", "kernel",
                "files", "fds", "rip", "fsBase", "brk", "cwd"}) {
            assertThat(json).as("key %s", key).contains("\"" + key + "\":");
        }
        assertThat(field(json, "rip")).isEqualTo(hex(saved.vcpu().regs().rip()));
        assertThat(field(json, "rsp")).isEqualTo(hex(saved.vcpu().regs().rsp()));
        assertThat(field(json, "fsBase")).isEqualTo(hex(saved.vcpu().sregs().fs().base())).isNotEqualTo("0x0");
        assertThat(field(json, "brk")).isEqualTo(hex(saved.kernel().brk()));
        assertThat(field(json, "checksumsOk")).isEqualTo("true");
        assertThat(field(json, "sizeBytes")).isEqualTo(String.valueOf(16L << 20));
        OpenFileState lab = saved.kernel().files().stream().filter(f -> f.path().equals("/ay_caramba")).findFirst().orElseThrow();
        assertThat(lab.offset()).isEqualTo(16);
        assertThat(json).containsPattern("\"path\": \"/ay_caramba\",\\s*\"flags\": \"[^\"]*\",\\s*\"mode\": \"0777\",\\s*\"offset\": 16,");
        image.assertUnchanged(dir.resolve("vm.img"));
    }

    @Test
    void aDamagedImageIsReportedInOneLine() throws Exception {
        byte[] bad = Files.readAllBytes(dir.resolve("vm.img"));
        bad[bad.length / 2] ^= 1;
        Files.write(dir.resolve("bad.img"), bad);

        Result r = Steps.vmm(dir, "inspect", "--json", "bad.img");

        assertThat(r.exit()).isNotZero();
        assertThat(r.stdout()).isEmpty();
        assertThat(r.stderrLines()).singleElement().asString().startsWith("scratchvm: bad.img: ")
                .doesNotContain("Exception");
    }

    /** The first {@code "name": value} in the JSON text, without quotes. */
    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": (\"([^\"]*)\"|[^,\\s}]+)").matcher(json);
        assertThat(m.find()).as("field %s in %s", name, json).isTrue();
        return m.group(2) != null ? m.group(2) : m.group(1);
    }

    private static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}
