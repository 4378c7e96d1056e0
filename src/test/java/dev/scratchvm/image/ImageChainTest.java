package dev.scratchvm.image;

import dev.scratchvm.state.MachineState;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.zip.CRC32C;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Diff images (format 1.1) and chains of them: the format round-trips "changed" and "zero now"
 * pages, and every hostile chain (wrong parent hash, missing parent, cycle, too long, a full
 * image posing as a diff's parent of another size) is refused with one line naming the image.
 */
@DisplayName("Diff images and image chains")
class ImageChainTest {
    private static final long SIZE = 16 << 20;
    private static final MachineState STATE = TestStates.sample(SIZE);

    @TempDir
    Path dir;

    private static PageFilter pages(long... p) {
        BitSet b = new BitSet();
        for (long x : p) b.set((int) x);
        return PageFilter.of(b);
    }

    private Path full(String name, GuestMemory m) throws ImageException {
        Path p = dir.resolve(name);
        ImageWriter.write(p, new Snapshot(STATE, m.segment, PageFilter.ALL), null);
        return p;
    }

    private Path diff(String name, GuestMemory m, Path parent, PageFilter changed) throws Exception {
        Path p = dir.resolve(name);
        ImageWriter.write(p, new Snapshot(STATE, m.segment, changed),
                new ParentRef(ImageHash.of(parent), ImageChain.hint(p, parent)));
        return p;
    }

    @Test
    void a_diff_stores_changed_pages_and_says_which_became_zero() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE); GuestMemory rebuilt = new GuestMemory(SIZE)) {
            m.fillPage(600, 1);
            m.fillPage(601, 2);
            m.fillPage(700, 3);
            Path base = full("base.img", m);
            m.fillPage(601, 9);                                   // changed
            m.segment.asSlice(700 * 4096L, 4096).fill((byte) 0);  // became zero
            m.fillPage(800, 4);                                   // new
            Path d = diff("d.img", m, base, pages(601, 700, 800, 900)); // 900: written, but zero again
            try (ImageReader r = ImageReader.open(d)) {
                assertThat(r.formatVersion()).isEqualTo("1.1");
                assertThat(r.parent().pathHint()).isEqualTo("base.img");
                assertThat(r.pageMap().storedPages()).isEqualTo(2);
                assertThat(r.pageMap().zeroPages()).isEqualTo(2);
                assertThat(r.pageMap().runs()).extracting(PageMap.Run::zero).containsExactly(false, true, false, true);
            }
            rebuilt.segment.asSlice(700 * 4096L, 4096).fill((byte) 7);  // what the parent left must go
            try (ImageChain c = ImageChain.open(d)) {
                assertThat(c.images()).hasSize(2);
                c.restoreMemory(rebuilt.segment, ImageReader.Mode.COPY);
            }
            assertThat(rebuilt.segment.mismatch(m.segment)).isEqualTo(-1);
        }
    }

    @Test
    void a_full_image_is_still_version_1_0() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE)) {
            m.fillPage(600, 1);
            try (ImageReader r = ImageReader.open(full("base.img", m))) {
                assertThat(r.formatVersion()).isEqualTo("1.0");
                assertThat(r.isDiff()).isFalse();
            }
        }
    }

    @Test
    void a_parent_that_changed_is_refused_naming_it() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE)) {
            m.fillPage(600, 1);
            Path base = full("base.img", m);
            m.fillPage(601, 1);
            Path d = diff("d.img", m, base, pages(601));
            m.fillPage(602, 1);
            full("base.img", m);                                  // replaced by another valid image
            assertRefused(d, "d.img: parent " + base + " has changed or is not its parent");
        }
    }

    @Test
    void a_missing_parent_is_refused_naming_it() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE)) {
            Path base = full("base.img", m);
            Path d = diff("d.img", m, base, pages(601));
            Files.delete(base);
            assertRefused(d, "d.img: parent image " + base + " not found");
        }
    }

    @Test
    void cycles_are_refused() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE)) {
            Path self = dir.resolve("self.img");
            ImageWriter.write(self, new Snapshot(STATE, m.segment, pages(601)), new ParentRef(new byte[32], "self.img"));
            assertRefused(self, "is a cycle");
            Path a = dir.resolve("a.img"), b = dir.resolve("b.img");
            ImageWriter.write(a, new Snapshot(STATE, m.segment, pages(601)), new ParentRef(new byte[32], "b.img"));
            ImageWriter.write(b, new Snapshot(STATE, m.segment, pages(602)), new ParentRef(new byte[32], "./sub/../a.img"));
            assertRefused(a, "is a cycle");
        }
    }

    @Test
    void a_chain_longer_than_the_limit_is_refused() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE)) {
            Path at = full("base.img", m);
            List<Path> all = new ArrayList<>(List.of(at));
            for (int i = 1; i < ImageChain.MAX_LENGTH; i++) {
                m.fillPage(600 + i, i);
                at = diff("d" + i + ".img", m, at, pages(600 + i));
                all.add(at);
            }
            try (ImageChain c = ImageChain.open(at)) {
                assertThat(c.images()).hasSize(ImageChain.MAX_LENGTH);
            }
            Path over = diff("over.img", m, at, pages(600));
            assertRefused(over, "over.img: parent chain is longer than 64 images");
            all.add(over);
            assertThatThrownBy(() -> ImageChain.open(all)).hasMessageContaining("is longer than 64");
        }
    }

    @Test
    void an_explicit_chain_must_start_full_and_link_by_hash() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE)) {
            Path base = full("base.img", m);
            Path other = full("other.img", m);
            m.fillPage(601, 1);
            Path d = diff("d.img", m, base, pages(601));
            assertThatThrownBy(() -> ImageChain.open(List.of(d))).hasMessageContaining("is a diff");
            assertThatThrownBy(() -> ImageChain.open(List.of(base, other))).hasMessageContaining("is a full image");
            m.fillPage(700, 5);
            Path stranger = full("stranger.img", m);
            assertThatThrownBy(() -> ImageChain.open(List.of(stranger, d))).hasMessageContaining("has changed or is not its parent");
        }
    }

    @Test
    void zero_runs_and_a_parent_block_are_refused_in_a_full_image() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE)) {
            m.fillPage(600, 1);
            Path d = diff("d.img", m, full("base.img", m), pages(600, 601));
            byte[] bytes = Files.readAllBytes(d);
            // Clear the DIFF flag: the file now claims to be a full image with a zero run and a parent block.
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(20, 0);
            fixHeaderCrc(b);
            Files.write(d, bytes);
            assertThatThrownBy(() -> ImageReader.open(d)).isInstanceOf(ImageException.class)
                    .hasMessageContaining("reserved header bytes are not zero");
            // And a 1.0 file may not set flags at all.
            b.putShort(10, (short) 0).putInt(20, 1);
            fixHeaderCrc(b);
            Files.write(d, bytes);
            assertThatThrownBy(() -> ImageReader.open(d)).hasMessageContaining("header flags is 1, expected 0");
        }
    }

    @Test
    void inspect_shows_the_chain_or_what_breaks_it() throws Exception {
        try (GuestMemory m = new GuestMemory(SIZE)) {
            Path base = full("base.img", m);
            m.fillPage(601, 1);
            Path d1 = diff("d1.img", m, base, pages(601));
            m.fillPage(602, 1);
            Path d2 = diff("d2.img", m, d1, pages(601, 602));
            String text = ImageInspector.inspect(d2, false);
            assertThat(text).contains("diff of sha256:" + java.util.HexFormat.of().formatHex(ImageHash.of(d1)) + " (d1.img)")
                    .contains(base + " <- " + d1 + " <- " + d2 + " (3 images, parents verified by SHA-256)");
            @SuppressWarnings("unchecked") var json = (java.util.Map<String, Object>) MiniJson.parse(ImageInspector.inspect(d2, true));
            assertThat(json).containsEntry("kind", "diff").containsEntry("chainOk", true);
            assertThat((List<?>) json.get("chain")).hasSize(3);
            assertThat(ImageInspector.inspect(base, false)).contains("full image").doesNotContain("chain");

            Files.delete(base);
            assertThat(ImageInspector.inspect(d2, false)).contains("chain        BROKEN: " + d1 + ": parent image " + base + " not found");
            assertThat(((java.util.Map<?, ?>) MiniJson.parse(ImageInspector.inspect(d2, true))).get("chainOk")).isEqualTo(false);
        }
    }

    private static void fixHeaderCrc(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, 4092);
        b.putInt(4092, (int) crc.getValue());
    }

    private static void assertRefused(Path top, String message) {
        assertThatThrownBy(() -> ImageChain.open(top).close())
                .isInstanceOf(ImageException.class)
                .hasMessageContaining(message)
                .hasMessageNotContaining("\n");
    }
}
