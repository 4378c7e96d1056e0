package dev.scratchvm.image;

import dev.scratchvm.image.ImageReader.Mode;
import dev.scratchvm.state.MachineState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

@DisplayName("Saving and restoring an image")
class ImageRoundTripTest {
    private static final long SIZE = 8 << 20;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Mode.class)
    void restores_state_and_memory_bit_for_bit(Mode mode) throws Exception {
        Path image = dir.resolve("vm.img");
        MachineState state = TestStates.sample(SIZE);
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(0, 1);
            for (long p = 100; p < 100 + 700; p++) guest.fillPage(p, (int) p);   // spans two capped runs
            guest.fillPage(2047, 9);                                            // last page
            guest.segment.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 1500 * 4096L + 17, (byte) 1); // one byte
            ImageWriter.write(image, state, guest.segment, PageFilter.ALL);

            try (ImageReader reader = ImageReader.open(image); GuestMemory restored = new GuestMemory(SIZE)) {
                assertThat(reader.state()).usingRecursiveComparison().isEqualTo(state);
                reader.restoreMemory(restored.segment, mode);
                assertThat(restored.segment.mismatch(guest.segment)).isEqualTo(-1);
            }
        }
    }

    @Test
    void map_mode_is_copy_on_write_and_leaves_the_image_unchanged() throws Exception {
        Path image = dir.resolve("vm.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            for (long p = 0; p < 64; p++) guest.fillPage(p, 3);
            ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
            byte[] before = Files.readAllBytes(image);
            try (ImageReader reader = ImageReader.open(image); GuestMemory restored = new GuestMemory(SIZE)) {
                ImageReader.RestoreStats stats = reader.restoreMemory(restored.segment, Mode.MAP);
                assertThat(stats.mappings()).isEqualTo(1);
                assertThat(stats.bytesMapped()).isEqualTo(64 * 4096);
                restored.segment.fill((byte) 0x5a);
            }
            assertThat(Files.readAllBytes(image)).isEqualTo(before);
            try (ImageReader again = ImageReader.open(image)) {
                assertThat(again.pageMap().storedPages()).isEqualTo(64);
            }
        }
    }

    @Test
    void map_mode_copies_short_stretches_instead_of_mapping_each() throws Exception {
        Path image = dir.resolve("vm.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            for (long p = 0; p < 2048; p += 2) guest.fillPage(p, (int) p);      // 1024 isolated pages
            ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
            try (ImageReader reader = ImageReader.open(image); GuestMemory restored = new GuestMemory(SIZE)) {
                ImageReader.RestoreStats stats = reader.restoreMemory(restored.segment, Mode.MAP);
                assertThat(stats.mappings()).isZero();
                assertThat(stats.bytesCopied()).isEqualTo(1024 * 4096);
                assertThat(restored.segment.mismatch(guest.segment)).isEqualTo(-1);
            }
        }
    }

    @Test
    void the_page_map_tells_which_pages_came_from_the_image() throws Exception {
        Path image = dir.resolve("vm.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(3, 1);
            guest.fillPage(4, 1);
            for (long p = 1000; p < 1000 + 1030; p++) guest.fillPage(p, 2);
            ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
            try (ImageReader reader = ImageReader.open(image)) {
                PageMap map = reader.pageMap();
                assertThat(map.runs()).containsExactly(
                        new PageMap.Run(3, 2, map.run(0).crc32c()),
                        new PageMap.Run(1000, 512, map.run(1).crc32c()),
                        new PageMap.Run(1512, 512, map.run(2).crc32c()),
                        new PageMap.Run(2024, 6, map.run(3).crc32c()));
                assertThat(map.storedPages()).isEqualTo(2 + 1030);
                assertThat(map.contains(2)).isFalse();
                assertThat(map.contains(4)).isTrue();
                assertThat(map.contains(2029)).isTrue();
                assertThat(map.contains(2030)).isFalse();
            }
        }
    }

    @Test
    void memory_that_was_never_written_restores_as_zero_from_an_image_without_memory() throws Exception {
        Path image = dir.resolve("vm.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            ImageWriter.Result result = ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
            assertThat(result.pagesStored()).isZero();
            try (ImageReader reader = ImageReader.open(image); GuestMemory restored = new GuestMemory(SIZE)) {
                reader.restoreMemory(restored.segment, Mode.MAP);
                assertThat(restored.segment.mismatch(MemorySegment.ofArray(new byte[(int) SIZE]))).isEqualTo(-1);
            }
        }
    }
}
