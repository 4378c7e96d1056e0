package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.MachineState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@DisplayName("ImageInspector")
class ImageInspectorTest {
    private static final String EVIL_PATH = "/data/\"quoted\"\\back\nline\t\u0001\u2028日本 😀";

    @TempDir
    Path dir;

    @Test
    void the_text_summary_shows_version_memory_registers_and_open_files() throws Exception {
        Path image = dir.resolve("vm.img");
        SampleImages.write(image);
        String text = ImageInspector.inspect(image, false);
        assertThat(text).contains(
                "ScratchVM image " + image,
                "version 1.0",
                "checksums    OK (header, state, page map, 4 memory runs)",
                "memory       4 MiB (1024 pages), 7 pages stored (28 KiB) in 4 runs",
                "rip=0x201bc5 rsp=0x3fe000 rflags=0x202",
                "cr3=0x1000",
                "efer=0x501",
                "fs.base=0x2c9880",
                "40 CPUID entries",
                "xsave 4096 bytes",
                "brk          0x2e8000 (start 0x2c6000)",
                "fd 0    stdin flags=O_RDONLY offset=0",
                "fd 3    \"/data/input \\\"1\\\".txt\" (regular) flags=O_RDONLY|O_CLOEXEC offset=120 size=4096 cloexec",
                "fd 4    \"/data/input");
    }

    @Test
    void the_json_rendering_parses_and_carries_the_same_facts() throws Exception {
        Path image = dir.resolve("vm.img");
        SampleImages.write(image);
        Map<?, ?> json = (Map<?, ?>) MiniJson.parse(ImageInspector.inspect(image, true));
        assertThat(json.get("formatVersion")).isEqualTo("1.0");
        assertThat(json.get("checksumsOk")).isEqualTo(true);
        Map<?, ?> memory = (Map<?, ?>) json.get("memory");
        assertThat(memory.get("sizeBytes")).isEqualTo(4L << 20);
        assertThat(memory.get("storedPages")).isEqualTo(7L);
        Map<?, ?> vcpu = (Map<?, ?>) json.get("vcpu");
        assertThat(vcpu.get("rip")).isEqualTo("0x201bc5");
        assertThat(vcpu.get("cpuidEntries")).isEqualTo(40L);
        List<?> files = (List<?>) ((Map<?, ?>) json.get("kernel")).get("files");
        assertThat(files).hasSize(4);
        assertThat(((Map<?, ?>) files.get(3)).get("path")).isEqualTo("/data/input \"1\".txt");
        assertThat(((Map<?, ?>) files.get(3)).get("flags")).isEqualTo("O_RDONLY|O_CLOEXEC");
        assertThat((List<?>) json.get("sections")).hasSize(3);
    }

    @Test
    void json_escapes_quotes_backslashes_and_control_characters_in_paths() throws Exception {
        Path image = dir.resolve("vm.img");
        MachineState base = TestStates.sample(SampleImages.SIZE);
        KernelState k = base.kernel();
        MachineState evil = new MachineState(base.vcpu(), base.memory(), new KernelState(k.brkStart(), k.brk(),
                k.mmapBase(), k.mmapTop(), k.mappings(), EVIL_PATH, k.clearChildTid(), k.robustList(),
                List.of(new OpenFileState(7, FileKind.REGULAR, EVIL_PATH, 0, 0, 0, FileFingerprint.NONE)),
                List.of(new FdState(5, 7, false))));
        try (GuestMemory guest = new GuestMemory(SampleImages.SIZE)) {
            ImageWriter.write(image, evil, guest.segment, PageFilter.ALL);
        }
        String jsonText = ImageInspector.inspect(image, true);
        assertThat(jsonText).doesNotContain("\u2028").doesNotContain("\u0001");
        Map<?, ?> json = (Map<?, ?>) MiniJson.parse(jsonText);
        Map<?, ?> kernel = (Map<?, ?>) json.get("kernel");
        assertThat(kernel.get("cwd")).isEqualTo(EVIL_PATH);
        assertThat(((Map<?, ?>) ((List<?>) kernel.get("files")).get(0)).get("path")).isEqualTo(EVIL_PATH);

        String text = ImageInspector.inspect(image, false);
        assertThat(text.lines()).noneMatch(l -> l.contains("line\t"));   // the path's newline and tab stay escaped
        assertThat(text).contains("fd 5    \"/data/\\\"quoted\\\"\\\\back\\nline\\t\\u0001\\u2028日本 😀\" (regular)");
    }

    @Test
    void an_invalid_image_is_not_described_but_reported() {
        assertThatThrownBy(() -> ImageInspector.inspect(dir.resolve("nothing.img"), true))
                .isInstanceOf(ImageException.class).hasMessageEndingWith("nothing.img: no such file");
    }
}
