package dev.scratchvm.snapshot;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageMerge;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.image.PageMap;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;
import dev.scratchvm.vmm.Snapshots.Kind;
import dev.scratchvm.vmm.Snapshots;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Diff snapshots of a running guest (guest/tests/dirty_pages.c) under real KVM: what the guest
 * writes and what the VMM writes for it both reach the next diff, pages that became zero are
 * restored as zero, a chain of diffs rebuilds exactly the memory of a full snapshot taken at
 * the same point, and a failed write loses no dirty page.
 */
@KvmTest
class DiffSnapshotTest {
    private static final int STEPS = 5;
    private static final long MEMORY = 16L << 20;

    /** The program and its input (distinct random blocks, one per step) in {@code dir}. */
    private static Path install(Path dir) throws Exception {
        Path binary = dir.resolve("dirty_pages");
        Files.copy(GuestPrograms.build("dirty_pages", Libc.MUSL), binary, StandardCopyOption.COPY_ATTRIBUTES);
        byte[] input = new byte[STEPS * GuestMemory.PAGE_SIZE];
        new Random(42).nextBytes(input);
        Files.write(dir.resolve("input"), input);
        return binary;
    }

    private static Machine boot(Path dir) throws Exception {
        return InProcessVm.bootAndRunToSave(install(dir), dir, MEMORY);
    }

    private static void runToNextSave(Machine m) {
        Outcome o = m.run();
        assertThat(o).isInstanceOf(Outcome.SaveRequested.class);
    }

    /** Guest pages (above the VMM's 2 MiB) whose bytes equal {@code page}. */
    private static List<Long> pagesHolding(GuestMemory memory, byte[] page) {
        MemorySegment want = MemorySegment.ofArray(page);
        List<Long> found = new ArrayList<>();
        for (long p = BootLayout.GUEST_BASE / 4096; p < memory.size() / 4096; p++) {
            if (MemorySegment.mismatch(memory.segment(), p * 4096, p * 4096 + 4096, want, 0, 4096) == -1) found.add(p);
        }
        return found;
    }

    @Test
    void pagesWrittenByTheGuestAndByTheVmmAreBothInTheNextDiff(@TempDir Path dir) throws Exception {
        try (Machine m = boot(dir)) {
            Snapshots.save(m, dir.resolve("base.img"), Kind.FULL);
            assertThat(Snapshots.dirtyPages(m)).as("nothing is dirty right after a durable snapshot").isZero();
            runToNextSave(m);
            assertThat(Snapshots.dirtyPages(m)).isPositive();
            Snapshots.save(m, dir.resolve("d1.img"), Kind.DIFF);

            byte[] guestPage = new byte[4096];
            java.util.Arrays.fill(guestPage, (byte) ('A' + 1));
            byte[] vmmPage = java.util.Arrays.copyOf(Files.readAllBytes(dir.resolve("input")), 4096);
            List<Long> byGuest = pagesHolding(m.memory(), guestPage), byVmm = pagesHolding(m.memory(), vmmPage);
            assertThat(byGuest).as("the page the guest filled").hasSize(1);
            assertThat(byVmm).as("the page read(2) filled").hasSize(1);
            try (ImageReader diff = ImageReader.open(dir.resolve("d1.img"))) {
                PageMap map = diff.pageMap();
                assertThat(diff.isDiff()).isTrue();
                assertThat(diff.formatVersion()).as("1.2: the process name (comm) is 1.2 state").isEqualTo("1.2");
                assertThat(map.contains(byGuest.getFirst())).as("guest-written page stored in the diff").isTrue();
                assertThat(map.contains(byVmm.getFirst())).as("VMM-written page stored in the diff").isTrue();
                // zeroed[0] and the madvised anonymous page became zero: said explicitly.
                assertThat(map.zeroPages()).as("pages declared zero now").isGreaterThanOrEqualTo(2);
                // A diff holds what changed, not the program.
                assertThat(map.storedPages()).isLessThan(40);
            }
            try (ImageReader base = ImageReader.open(dir.resolve("base.img"))) {
                assertThat(base.isDiff()).isFalse();
                assertThat(base.formatVersion()).as("no diff, but the process name is 1.2 state").isEqualTo("1.2");
            }
        }
    }

    @Test
    void aChainOfFiveDiffsRestoresToTheMemoryOfAFullSnapshotAndMergesIntoIt(@TempDir Path dir) throws Exception {
        List<Path> chain = new ArrayList<>(List.of(dir.resolve("base.img")));
        Path full = dir.resolve("full.img");
        try (Machine m = boot(dir)) {
            Snapshots.save(m, chain.getFirst(), Kind.FULL);
            for (int i = 1; i <= STEPS; i++) {
                runToNextSave(m);
                Path diff = dir.resolve("d" + i + ".img");
                Snapshots.save(m, diff, Kind.DIFF);
                chain.add(diff);
            }
            Snapshots.save(m, full, Kind.FULL);

            try (Machine fromChain = Snapshots.restore(chain.getLast(), InProcessVm.config(dir, 0), null);
                 Machine fromFull = Snapshots.restore(full, InProcessVm.config(dir, 0), null)) {
                assertSameMemory(fromChain.memory(), fromFull.memory(), 0);
                assertSameMemory(fromChain.memory(), m.memory(), BootLayout.GUEST_BASE);
                assertThat(fromChain.capture().kernel()).isEqualTo(fromFull.capture().kernel());
                assertThat(fromChain.capture().vcpu().regs()).isEqualTo(fromFull.capture().vcpu().regs());

                Path merged = dir.resolve("merged.img");
                ImageMerge.merge(chain, merged);
                try (Machine fromMerged = Snapshots.restore(merged, InProcessVm.config(dir, 0), ImageReader.Mode.COPY)) {
                    assertSameMemory(fromMerged.memory(), fromFull.memory(), 0);
                }
                // Merging from the last diff alone follows its parents the same way.
                ImageMerge.merge(List.of(chain.getLast()), dir.resolve("merged2.img"));
                assertThat(Files.readAllBytes(dir.resolve("merged2.img"))).isEqualTo(Files.readAllBytes(merged));
                try (ImageReader r = ImageReader.open(merged)) {
                    assertThat(r.isDiff()).isFalse();
                }

                // The rebuilt guest finishes like the original would have.
                Outcome o = fromChain.run();
                assertThat(o).isInstanceOf(Outcome.Exited.class);
                assertThat(((Outcome.Exited) o).status()).isZero();
            }
        }
    }

    @Test
    void aDiffOfARestoredMachineNamesTheImageItCameFrom(@TempDir Path dir) throws Exception {
        try (Machine m = boot(dir)) {
            Snapshots.save(m, dir.resolve("base.img"), Kind.FULL);
        }
        try (Machine restored = Snapshots.restore(dir.resolve("base.img"), InProcessVm.config(dir, 0), null)) {
            runToNextSave(restored);
            Snapshots.save(restored, dir.resolve("d1.img"), Kind.DIFF);
            runToNextSave(restored);
            Snapshots.save(restored, dir.resolve("full2.img"), Kind.FULL);
            try (Machine a = Snapshots.restore(dir.resolve("d1.img"), InProcessVm.config(dir, 0), null)) {
                runToNextSave(a);
                Snapshots.save(a, dir.resolve("d2.img"), Kind.DIFF);
            }
            try (Machine chain = Snapshots.restore(dir.resolve("d2.img"), InProcessVm.config(dir, 0), null);
                 Machine full = Snapshots.restore(dir.resolve("full2.img"), InProcessVm.config(dir, 0), null)) {
                assertSameMemory(chain.memory(), full.memory(), 0);
            }
        }
    }

    @Test
    void aDiffNeedsAParent(@TempDir Path dir) throws Exception {
        try (Machine m = boot(dir)) {
            assertThatThrownBy(() -> Snapshots.save(m, dir.resolve("d.img"), Kind.DIFF))
                    .isInstanceOf(ImageException.class)
                    .hasMessageContaining("no parent image yet")
                    .hasMessageNotContaining("\n");
            assertThat(Files.exists(dir.resolve("d.img"))).isFalse();
            Snapshots.save(m, dir.resolve("base.img"), Kind.FULL);
            assertThatThrownBy(() -> Snapshots.save(m, dir.resolve("base.img"), Kind.DIFF))
                    .hasMessageContaining("would replace an image of its own parent chain");
        }
    }

    @Test
    void aFailedWriteLosesNoDirtyPage(@TempDir Path dir) throws Exception {
        List<Path> chain = new ArrayList<>(List.of(dir.resolve("base.img")));
        try (Machine m = boot(dir)) {
            Snapshots.save(m, chain.getFirst(), Kind.FULL);
            runToNextSave(m);
            long dirty = Snapshots.dirtyPages(m);
            // A real write failure: the image's directory does not exist.
            assertThatThrownBy(() -> Snapshots.save(m, dir.resolve("gone/d1.img"), Kind.DIFF))
                    .isInstanceOf(ImageException.class).hasMessageNotContaining("\n");
            assertThat(Snapshots.dirtyPages(m)).as("pending after the failure").isEqualTo(dirty);
            runToNextSave(m);
            chain.add(dir.resolve("d2.img"));
            Snapshots.save(m, chain.getLast(), Kind.DIFF);
            Snapshots.save(m, dir.resolve("full.img"), Kind.FULL);
            try (Machine a = Snapshots.restore(chain.getLast(), InProcessVm.config(dir, 0), null);
                 Machine b = Snapshots.restore(dir.resolve("full.img"), InProcessVm.config(dir, 0), null)) {
                assertSameMemory(a.memory(), b.memory(), 0);
            }
        }
    }

    @Test
    void theCliRestoresAChainAndRefusesABrokenOneWithOneLine(@TempDir Path dir) throws Exception {
        try (Machine m = boot(dir)) {
            Snapshots.save(m, dir.resolve("base.img"), Kind.FULL);
            for (int i = 1; i <= 2; i++) {
                runToNextSave(m);
                Snapshots.save(m, dir.resolve("d" + i + ".img"), Kind.DIFF);
            }
        }
        String inspect = Steps.vmm(dir, "inspect", "d2.img").stdout();
        assertThat(inspect).contains("diff of sha256:").contains("(3 images, parents verified by SHA-256)");

        Path copy = Files.createDirectory(dir.resolve("copy"));
        for (String f : List.of("base.img", "d1.img", "d2.img", "input", "dirty_pages")) {
            Files.copy(dir.resolve(f), copy.resolve(f), StandardCopyOption.COPY_ATTRIBUTES);
        }
        // The restored guest runs on through its remaining SAVEs (each saved in full over d2.img) to its end.
        var r = Steps.vmm(copy, "restore", "d2.img");
        assertThat(r.stderr()).as("%s", r).contains(Steps.RESTORED);

        Files.delete(dir.resolve("d1.img"));
        var refused = Steps.restoreRefused(dir, "d2.img");
        assertThat(refused.stderr()).contains("d2.img: parent image " + dir.resolve("d1.img") + " not found");
    }

    static void assertSameMemory(GuestMemory a, GuestMemory b, long from) {
        assertThat(a.size()).isEqualTo(b.size());
        long at = MemorySegment.mismatch(a.segment(), from, a.size(), b.segment(), from, b.size());
        assertThat(at).as("first differing byte (page 0x%x)", at < 0 ? -1 : (at + from) / 4096).isEqualTo(-1);
    }

    @SuppressWarnings("unused")
    private static byte at(GuestMemory m, long addr) {
        return m.segment().get(JAVA_BYTE, addr);
    }
}
