package dev.scratchvm.snapshot;

import dev.scratchvm.image.ImageException;
import dev.scratchvm.testing.GuestPrograms;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.Outcome;
import dev.scratchvm.vmm.Snapshots.Kind;
import dev.scratchvm.vmm.Snapshots;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Random;

/**
 * Run by {@link FullDiskTest} in a JVM of its own, inside a private mount namespace where
 * {@code args[0]} is a tmpfs too small for any image: a diff to it fails with ENOSPC, and a
 * diff taken afterwards (to {@code args[1]}, on a real disk) must still hold every page
 * changed since the last durable snapshot. Prints one line; exit status 0 iff all held.
 */
public final class FullDiskScenario {
    private FullDiskScenario() {
    }

    public static void main(String[] args) throws Exception {
        Path full = Path.of(args[0]), dir = Path.of(args[1]);
        Path binary = dir.resolve("dirty_pages");
        Files.copy(GuestPrograms.build("dirty_pages", GuestPrograms.Libc.MUSL), binary, StandardCopyOption.COPY_ATTRIBUTES);
        byte[] input = new byte[5 * 4096];
        new Random(7).nextBytes(input);
        Files.write(dir.resolve("input"), input);
        try (Machine m = InProcessVm.bootAndRunToSave(binary, dir, 16L << 20)) {
            Snapshots.save(m, dir.resolve("base.img"), Kind.FULL);
            next(m);
            long pending = Snapshots.dirtyPages(m);
            String error;
            try {
                Snapshots.save(m, full.resolve("d1.img"), Kind.DIFF);
                error = null;
            } catch (ImageException e) {
                error = e.getMessage();
            }
            if (error == null || !error.contains("No space left on device") || error.contains("\n")) {
                fail("expected one line saying the disk is full, got: " + error);
            }
            try (var left = Files.list(full)) {
                if (left.findAny().isPresent()) fail("the failed save left a file on the full file system");
            }
            if (Snapshots.dirtyPages(m) != pending) fail("dirty pages went from " + pending + " to " + Snapshots.dirtyPages(m));
            next(m);
            Snapshots.save(m, dir.resolve("d2.img"), Kind.DIFF);
            Snapshots.save(m, dir.resolve("full.img"), Kind.FULL);
            try (Machine a = Snapshots.restore(dir.resolve("d2.img"), InProcessVm.config(dir, 0), null);
                 Machine b = Snapshots.restore(dir.resolve("full.img"), InProcessVm.config(dir, 0), null)) {
                long at = MemorySegment.mismatch(a.memory().segment(), 0, a.memory().size(), b.memory().segment(), 0, b.memory().size());
                if (at != -1) fail("memory rebuilt from base + d2 differs from the full snapshot at page 0x" + Long.toHexString(at / 4096));
            }
            System.out.println("OK full disk refused: " + error);
        }
    }

    private static void next(Machine m) {
        Outcome o = m.run();
        if (!(o instanceof Outcome.SaveRequested)) fail("expected SAVE, got " + o);
    }

    private static void fail(String why) {
        System.out.println("FAILED " + why);
        System.exit(1);
    }
}
