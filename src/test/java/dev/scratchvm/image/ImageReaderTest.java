package dev.scratchvm.image;

import dev.scratchvm.image.ImageReader.Mode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.scratchvm.image.SampleImages.fixHeaderCrc;
import static dev.scratchvm.image.SampleImages.fixSectionCrc;
import static dev.scratchvm.image.SampleImages.le;
import static dev.scratchvm.image.SampleImages.sectionOffset;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@DisplayName("ImageReader refuses anything but a sound image, saying why")
class ImageReaderTest {
    @TempDir
    Path dir;
    Path image;
    byte[] good;

    @BeforeEach
    void writeSample() throws Exception {
        image = dir.resolve("vm.img");
        good = SampleImages.write(image);
    }

    @Test
    void a_missing_file() {
        assertRejected(dir.resolve("absent.img"), "absent.img: no such file");
    }

    @Test
    void an_empty_file() throws Exception {
        assertRejected(Files.write(dir.resolve("empty.img"), new byte[0]),
                "empty.img: empty file, not a ScratchVM image");
    }

    @Test
    void a_file_that_is_not_an_image() throws Exception {
        assertRejected(Files.writeString(dir.resolve("notes.txt"), "hello, world\n".repeat(500)),
                "notes.txt: not a ScratchVM image (bad magic)");
    }

    @Test
    void a_directory() {
        assertRejected(dir, dir.getFileName() + ": is a directory, not an image");
    }

    @Test
    void a_newer_major_version_naming_both_versions() throws Exception {
        le(good).putShort(8, (short) 2);
        assertRejected(write(fixHeaderCrc(good)),
                "vm.img: image format version 2.0 is newer than this ScratchVM supports (1.x)");
    }

    @Test
    void a_newer_minor_version() throws Exception {
        le(good).putShort(10, (short) 3);
        assertRejected(write(fixHeaderCrc(good)),
                "vm.img: image format version 1.3 is newer than this ScratchVM supports (up to 1.2)");
    }

    @Test
    void a_truncated_file_with_expected_and_found_lengths() throws Exception {
        assertRejected(write(Arrays.copyOf(good, 4096)),
                "vm.img: truncated: expected " + good.length + " bytes, found 4096");
        assertRejected(write(Arrays.copyOf(good, 100)), "vm.img: truncated: expected at least 4096 bytes, found 100");
    }

    @Test
    void trailing_bytes() throws Exception {
        assertRejected(write(Arrays.copyOf(good, good.length + 1)), "vm.img: file is longer than the image: expected "
                + good.length + " bytes, found " + (good.length + 1) + " — image is corrupt");
    }

    @Test
    void a_corrupt_header() throws Exception {
        good[40] ^= 1;
        assertRejected(write(good), "vm.img: header checksum mismatch — image is corrupt");
    }

    @Test
    void a_corrupt_memory_run_naming_its_guest_page() throws Exception {
        long memory = sectionOffset(good, 1);
        good[(int) memory + 4096 * 3 + 100] ^= 0x10;    // 4th stored page: the run starting at page 0x10
        assertRejected(write(good), "vm.img: checksum mismatch in memory run at guest page 0x10 — image is corrupt");
    }

    @Test
    void non_zero_padding() throws Exception {
        long memory = sectionOffset(good, 1);
        good[(int) memory - 1] = 1;
        assertRejected(write(good), "vm.img: padding after the STATE section is not zero — image is corrupt");
    }

    @Test
    void a_corrupt_state_section() throws Exception {
        good[4096 + 1] ^= 0x40;
        assertRejected(write(good), "vm.img: STATE section checksum mismatch — image is corrupt");
    }

    @Test
    void a_state_that_checksums_but_does_not_decode() throws Exception {
        good[4096] = (byte) 0xff;                          // a field key with an unknown wire type
        assertThatThrownBy(() -> ImageReader.open(write(fixSectionCrc(good, 0))))
                .isInstanceOf(ImageException.class)
                .hasMessageStartingWith(image + ": image is corrupt: state section: state: ");
    }

    @Test
    void a_section_table_that_checksums_but_places_a_section_elsewhere() throws Exception {
        le(good).putLong(32 + 32 + 8, sectionOffset(good, 1) + 4096);
        assertRejected(write(fixHeaderCrc(good)), "vm.img: MEMORY section at offset "
                + (sectionOffset(good, 1)) + ", expected " + (sectionOffset(good, 1) - 4096) + " — image is corrupt");
    }

    @Test
    void a_page_map_run_beyond_guest_memory() throws Exception {
        int map = (int) sectionOffset(good, 2);
        le(good).putLong(map + 16 * 3, 1024);              // the last run (page 0xff) moved past the end
        assertRejected(write(fixSectionCrc(good, 2)), "vm.img: page map entry 3 (guest page 0x400) extends beyond "
                + "guest memory of 1024 pages — image is corrupt");
    }

    @Test
    void a_restore_into_memory_of_the_wrong_size_is_a_caller_error() throws Exception {
        try (ImageReader reader = ImageReader.open(image); Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> reader.restoreMemory(arena.allocate(4096, 4096), Mode.COPY))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void the_reader_describes_the_sections_it_validated() throws Exception {
        try (ImageReader reader = ImageReader.open(image)) {
            assertThat(reader.formatVersion()).isEqualTo("1.0");
            assertThat(reader.fileSize()).isEqualTo(good.length);
            assertThat(reader.sections()).extracting(ImageSection::type)
                    .containsExactly(ImageSection.Type.STATE, ImageSection.Type.MEMORY, ImageSection.Type.PAGEMAP);
            assertThat(reader.sections().get(1).offset() % 4096).isZero();
        }
    }

    private Path write(byte[] bytes) throws Exception {
        return Files.write(image, bytes);
    }

    private static void assertRejected(Path file, String messageEnd) {
        assertThatThrownBy(() -> ImageReader.open(file))
                .isInstanceOf(ImageException.class)
                .hasMessageEndingWith(messageEnd)
                .hasMessageNotContaining("\n");
    }
}
