package dev.scratchvm.image;

import dev.scratchvm.state.MachineState;
import dev.scratchvm.sys.Libc;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@DisplayName("ImageWriter")
class ImageWriterTest {
    private static final long SIZE = 16 << 20;

    @TempDir
    Path dir;

    @Test
    void zero_pages_are_not_stored_so_the_file_is_header_state_stored_pages_and_page_map() throws Exception {
        Path image = dir.resolve("vm.img");
        MachineState state = TestStates.sample(SIZE);
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            for (long p = 10; p < 20; p++) guest.fillPage(p, 1);
            guest.fillPage(3000, 2);
            guest.segment.fill((byte) 0);                          // everything written back to zero...
            for (long p = 10; p < 20; p++) guest.fillPage(p, 1);   // ...except these ten pages
            ImageWriter.Result result = ImageWriter.write(image, state, guest.segment, PageFilter.ALL);

            long stateBytes = StateCodec.encode(state).length;
            long expected = ImageFormat.alignUp(4096 + stateBytes) + 10 * 4096 + 16;
            assertThat(Files.size(image)).isEqualTo(expected);
            assertThat(result.bytesWritten()).isEqualTo(expected);
            assertThat(result.pagesStored()).isEqualTo(10);
            assertThat(result.runs()).isEqualTo(1);
            assertThat(result.elapsedNanos()).isGreaterThanOrEqualTo(result.syncNanos()).isPositive();
        }
    }

    @Test
    void pages_the_filter_excludes_are_never_read_nor_stored() throws Exception {
        Path image = dir.resolve("vm.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(0, 1);
            guest.fillPage(1, 1);                                   // non-zero, but the filter says no
            ImageWriter.Result result = ImageWriter.write(image, TestStates.sample(SIZE), guest.segment,
                    page -> page == 0);
            assertThat(result.pagesStored()).isEqualTo(1);
            assertThat(residentPages(guest.segment)).isEqualTo(2);  // the untouched rest was not faulted in
        }
    }

    @Test
    void replacing_an_image_swaps_it_whole() throws Exception {
        Path image = dir.resolve("vm.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(7, 1);
            ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
            guest.fillPage(8, 2);
            ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
            try (ImageReader reader = ImageReader.open(image)) {
                assertThat(reader.pageMap().storedPages()).isEqualTo(2);
            }
            assertThat(filesIn(dir)).containsExactly("vm.img");
        }
    }

    @Test
    void a_failure_midway_leaves_the_previous_image_untouched_and_no_temporary_file() throws Exception {
        Path image = dir.resolve("vm.img");
        try (GuestMemory guest = new GuestMemory(SIZE)) {
            guest.fillPage(1, 1);
            ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, PageFilter.ALL);
            byte[] before = Files.readAllBytes(image);

            for (long p = 0; p < 2000; p++) guest.fillPage(p, 5);
            PageFilter failing = page -> {
                if (page == 1500) throw new IllegalStateException("dirty log unavailable");
                return true;
            };
            assertThatThrownBy(() -> ImageWriter.write(image, TestStates.sample(SIZE), guest.segment, failing))
                    .isInstanceOf(IllegalStateException.class).hasMessage("dirty log unavailable");

            assertThat(Files.readAllBytes(image)).isEqualTo(before);
            assertThat(filesIn(dir)).containsExactly("vm.img");
        }
    }

    @Test
    void an_unwritable_location_is_reported_with_the_file_name() {
        Path image = dir.resolve("no/such/dir/vm.img");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(SIZE, 4096);
            assertThatThrownBy(() -> ImageWriter.write(image, TestStates.sample(SIZE), memory, PageFilter.ALL))
                    .isInstanceOf(ImageException.class)
                    .hasMessage(image + ": cannot create a temporary file in " + image.getParent()
                            + ": no such file or directory")
                    .hasMessageNotContaining("\n");
        }
    }

    @Test
    void guest_memory_of_the_wrong_size_is_a_caller_error_and_creates_nothing() throws Exception {
        Path image = dir.resolve("vm.img");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(SIZE / 2, 4096);
            assertThatThrownBy(() -> ImageWriter.write(image, TestStates.sample(SIZE), memory, PageFilter.ALL))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(filesIn(dir)).isEmpty();
    }

    @Test
    void heap_allocated_guest_memory_works_too() throws Exception {
        Path image = dir.resolve("vm.img");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(SIZE, 4096);
            memory.set(ValueLayout.JAVA_LONG, 4096 * 77, 42);
            ImageWriter.write(image, TestStates.sample(SIZE), memory, PageFilter.ALL);
            try (ImageReader reader = ImageReader.open(image)) {
                assertThat(reader.pageMap().runs()).extracting(PageMap.Run::firstPage).containsExactly(77L);
            }
        }
    }

    private static long residentPages(MemorySegment m) {
        try (Arena a = Arena.ofConfined()) {
            long pages = m.byteSize() / 4096;
            MemorySegment vec = a.allocate(pages);
            Libc.check("mincore", Libc.mincore(m.address(), m.byteSize(), vec));
            long n = 0;
            for (long i = 0; i < pages; i++) n += vec.get(ValueLayout.JAVA_BYTE, i) & 1;
            return n;
        }
    }

    static java.util.List<String> filesIn(Path dir) throws java.io.IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
